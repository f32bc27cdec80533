"""The dashboard's files (``web.dashboard``) as the app serves them: index.html for the
dashboard's paths with its security headers, the bundle with cache headers by URL, no way out
of the built directory, a 503 telling the operator what to do when nothing was built, and no
API path shadowed. Over a small fake build in ``tmp_path``; requests go in-process, the
traversal ones as raw ASGI scopes (an HTTP client would normalise their dot segments)."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from multimonx.config import IngestSection
from multimonx.ingest import FleetRegistry
from multimonx.storage import MemoryStorage
from multimonx.web import create_app
from multimonx.web.dashboard import CONTENT_SECURITY_POLICY

INDEX = b'<!doctype html><div id="app"></div><script type="module" src="/assets/app.js?v=1">'
SECRET = b"do-not-serve-me"


@pytest.fixture
def static(tmp_path: Path) -> Path:
    """A built dashboard, with a file beside it and one in its directory that
    ``/assets`` must never reach."""
    root = tmp_path / "static"
    (root / "assets").mkdir(parents=True)
    (root / "index.html").write_bytes(INDEX)
    (root / "assets" / "app.js").write_bytes(b"console.log(1)")
    (root / "assets" / "app.css").write_bytes(b"body{}")
    (root / "secret.txt").write_bytes(SECRET)
    (tmp_path / "secret.txt").write_bytes(SECRET)
    return root


@pytest.fixture
def storage() -> Iterator[MemoryStorage]:
    s = MemoryStorage()
    yield s
    s.close()


def make_app(storage: MemoryStorage, static: Path) -> Any:
    return create_app(
        storage=storage,
        keys=None,
        fleet=FleetRegistry(),
        ingest_config=IngestSection(require_api_key=False),
        dashboard_dir=static,
    )


def request(app: Any, method: str, url: str) -> httpx.Response:
    async def go() -> httpx.Response:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as c:
            return await c.request(method, url)

    return asyncio.run(go())


def raw_get(app: Any, path: str) -> tuple[int, bytes]:
    """GET ``path`` as a raw ASGI scope, exactly as given (no normalisation)."""
    status = 0
    body = b""

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        nonlocal status, body
        if message["type"] == "http.response.start":
            status = message["status"]
        elif message["type"] == "http.response.body":
            body += message.get("body", b"")

    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "GET",
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "root_path": "",
        "query_string": b"",
        "headers": [(b"host", b"test")],
        "client": ("127.0.0.1", 1),
        "server": ("test", 80),
    }
    asyncio.run(app(scope, receive, send))
    return status, body


@pytest.mark.parametrize(
    "path",
    ["/", "/hosts/web-1", "/hosts/web%2F1", "/hosts/a/b", "/alerts", "/explore", "/agents"],
)
def test_dashboard_paths_answer_index_html_with_security_headers(
    storage: MemoryStorage, static: Path, path: str
) -> None:
    resp = request(make_app(storage, static), "GET", path)
    assert resp.status_code == 200
    assert resp.content == INDEX
    assert resp.headers["content-type"] == "text/html; charset=utf-8"
    assert resp.headers["cache-control"] == "no-cache"
    assert resp.headers["x-content-type-options"] == "nosniff"
    assert resp.headers["referrer-policy"] == "no-referrer"
    csp = resp.headers["content-security-policy"]
    assert csp == CONTENT_SECURITY_POLICY
    directives = dict(d.split(" ", 1) for d in csp.split("; "))
    assert directives["default-src"] == "'self'"
    assert directives["script-src"] == "'self'"  # no inline script, no eval
    assert "unsafe" not in csp


def test_index_answers_head(storage: MemoryStorage, static: Path) -> None:
    resp = request(make_app(storage, static), "HEAD", "/")
    assert resp.status_code == 200
    assert resp.content == b""


@pytest.mark.parametrize(
    ("url", "cache_control"),
    [
        ("/assets/app.js?v=0123456789abcdef", "public, max-age=31536000, immutable"),
        ("/assets/app.css?x=1&v=1", "public, max-age=31536000, immutable"),
        ("/assets/app.js", "no-cache"),
        ("/assets/app.js?version=1", "no-cache"),
    ],
)
def test_assets_are_cached_for_long_only_under_a_versioned_url(
    storage: MemoryStorage, static: Path, url: str, cache_control: str
) -> None:
    resp = request(make_app(storage, static), "GET", url)
    assert resp.status_code == 200
    assert resp.headers["cache-control"] == cache_control
    assert resp.headers["x-content-type-options"] == "nosniff"
    assert resp.headers["etag"]


@pytest.mark.parametrize(
    ("url", "media_type"),
    [("/assets/app.js", "text/javascript"), ("/assets/app.css", "text/css")],
)
def test_assets_have_their_media_types(
    storage: MemoryStorage, static: Path, url: str, media_type: str
) -> None:
    resp = request(make_app(storage, static), "GET", url)
    assert resp.headers["content-type"].split(";")[0] == media_type


@pytest.mark.parametrize(
    "path",
    [
        "/assets/../secret.txt",
        "/assets/../../secret.txt",
        "/assets/%2e%2e/secret.txt",
        "/assets/%2e%2e%2fsecret.txt",
        "/assets/..%2fsecret.txt",
        "/assets/..\\secret.txt",
        "/assets//etc/passwd",
        "/assets/%2fetc%2fpasswd",
        "/assets/\\etc\\passwd",
        "/assets/./../index.html",
        "/assets/missing.js",
        "/assets/",
        "/assets/\x00",
    ],
)
def test_assets_never_leave_the_built_directory(
    storage: MemoryStorage, static: Path, path: str
) -> None:
    status, body = raw_get(make_app(storage, static), path)
    assert status == 404, path
    assert SECRET not in body
    assert b"root:" not in body
    assert INDEX not in body


def test_the_traversal_is_refused_over_http_too(storage: MemoryStorage, static: Path) -> None:
    for url in ("/assets/%2e%2e/secret.txt", "/assets/..%2Fsecret.txt"):
        resp = request(make_app(storage, static), "GET", url)
        assert resp.status_code == 404, url
        assert SECRET not in resp.content


def test_a_dashboard_never_built_answers_503_saying_what_to_run(
    storage: MemoryStorage, tmp_path: Path
) -> None:
    app = make_app(storage, tmp_path / "never-built")
    for path in ("/", "/hosts/web-1", "/alerts"):
        resp = request(app, "GET", path)
        assert resp.status_code == 503
        assert resp.headers["content-type"].startswith("text/plain")
        assert "scripts/setup" in resp.text
    assert request(app, "GET", "/assets/app.js").status_code == 404
    assert request(app, "GET", "/api/v1/health").status_code == 200


@pytest.mark.parametrize(
    ("method", "path", "status", "content_type"),
    [
        ("GET", "/api/v1/health", 200, "application/json"),
        ("GET", "/api/v1/no-such-api", 404, "application/json"),
        ("GET", "/api/v2/no-such-api", 404, "application/json"),
        ("GET", "/metrics", 200, "text/plain"),
        ("GET", "/-/reload", 404, "application/json"),
        ("GET", "/hostsx", 404, "application/json"),
        ("GET", "/index.html", 404, "application/json"),
        ("POST", "/", 405, "application/json"),
        ("POST", "/hosts/web-1", 405, "application/json"),
    ],
)
def test_the_dashboard_shadows_no_other_path(
    storage: MemoryStorage, static: Path, method: str, path: str, status: int, content_type: str
) -> None:
    resp = request(make_app(storage, static), method, path)
    assert resp.status_code == status
    assert resp.headers["content-type"].startswith(content_type)
    assert INDEX not in resp.content


def test_no_dashboard_routes_without_a_directory(storage: MemoryStorage) -> None:
    app = create_app(
        storage=storage,
        keys=None,
        fleet=FleetRegistry(),
        ingest_config=IngestSection(require_api_key=False),
        dashboard_dir=None,
    )
    assert request(app, "GET", "/").status_code == 404
