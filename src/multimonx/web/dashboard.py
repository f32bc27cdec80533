"""The web dashboard's files, as ``ui/build.mjs`` builds them into ``STATIC_DIR``
(``scripts/setup`` runs the build; the directory is generated, never committed).

Routes:
- ``GET /`` and the dashboard's own paths (``/hosts/<instance>``, ``/alerts``, ``/explore``,
  ``/agents``): ``index.html``, which loads the bundle; the page then routes in the browser
  (History API). Sent with ``Cache-Control: no-cache`` and the security headers
  ``HTML_HEADERS``: a Content-Security-Policy allowing only this server's own scripts, styles,
  images and API calls (no inline script), ``nosniff``, no referrer, no framing. A directory
  never built answers 503 with a line telling the operator to run ``scripts/setup``.
- ``GET /assets/<file>``: the bundle (``app.js``, ``app.css``, their source maps), served by
  Starlette's ``StaticFiles`` (which refuses ``..``, encoded or not, and absolute paths).
  ``index.html`` names them with ``?v=<content hash>``: such a request is cached for a year
  (``immutable``); one without ``v`` is revalidated every time (``no-cache``, ETag).

None of these paths is under ``/api/``, ``/metrics`` or ``/-/``: the dashboard never shadows
an API route, whatever order the routes are mounted in.
"""

from __future__ import annotations

import os
from pathlib import Path

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.types import Scope

STATIC_DIR = Path(__file__).parent / "static"
"""Where ``ui/build.mjs`` writes the dashboard: ``index.html`` and ``assets/``."""

PAGE_PATHS = ("/", "/hosts/{instance:path}", "/alerts", "/explore", "/agents")
"""The dashboard's client-side routes: each answers ``index.html``."""

CONTENT_SECURITY_POLICY = "; ".join(
    (
        "default-src 'self'",
        "script-src 'self'",
        # uPlot sizes and positions its elements through the CSSOM (element.style), which a
        # policy does not restrict: no 'unsafe-inline' is needed
        "style-src 'self'",
        "img-src 'self' data:",
        "connect-src 'self'",
        "object-src 'none'",
        "base-uri 'none'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    )
)

HTML_HEADERS = {
    "Cache-Control": "no-cache",
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
}
"""The headers of every ``index.html`` answer."""

IMMUTABLE = "public, max-age=31536000, immutable"

NOT_BUILT = (
    "The MultiMonX dashboard has not been built on this server.\n"
    "Run scripts/setup in the source tree (it needs Node.js and npm), then reload this page.\n"
    "The APIs under /api/ work without it.\n"
)


def dashboard_routes(static_dir: Path = STATIC_DIR) -> list[BaseRoute]:
    """The routes of the dashboard's pages and assets over the built files in
    ``static_dir`` (which may not exist yet: it is looked at on each request)."""
    index = _Index(static_dir / "index.html")
    return [
        *(Route(path, index.page, methods=["GET"]) for path in PAGE_PATHS),
        Mount("/assets", app=_Assets(directory=static_dir / "assets", check_dir=False)),
    ]


class _Index:
    """Answers ``index.html``, read on each request so that a rebuild shows at once."""

    def __init__(self, path: Path) -> None:
        self.path = path

    async def page(self, request: Request) -> Response:
        try:
            html = await run_in_threadpool(self.path.read_bytes)
        except FileNotFoundError:
            return PlainTextResponse(NOT_BUILT, status_code=503, headers={"Retry-After": "60"})
        return Response(html, media_type="text/html; charset=utf-8", headers=HTML_HEADERS)


class _Assets(StaticFiles):
    """``StaticFiles`` with cache headers by URL (hash-versioned or not) and ``nosniff``;
    a missing directory is a 404, not an error (the dashboard was never built)."""

    async def check_config(self) -> None:
        return

    def file_response(
        self,
        full_path: str | os.PathLike[str],
        stat_result: os.stat_result,
        scope: Scope,
        status_code: int = 200,
    ) -> Response:
        response = super().file_response(full_path, stat_result, scope, status_code)
        versioned = any(part.startswith(b"v=") for part in scope["query_string"].split(b"&"))
        response.headers["Cache-Control"] = IMMUTABLE if versioned else "no-cache"
        response.headers["X-Content-Type-Options"] = "nosniff"
        return response
