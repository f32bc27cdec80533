"""The OpenAPI description: well formed (OpenAPI 3.1 structure, every reference resolves),
served at /api/v1/openapi.json, and in step with the app as the server mounts it (with the
alerting routes): every documented path and method is routed, and every ``/api/v1`` route
outside Prometheus's and Alertmanager's HTTP APIs is documented."""

from __future__ import annotations

import asyncio
import re
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import httpx
import pytest
from starlette.routing import BaseRoute, Route

from multimonx.config import IngestSection
from multimonx.ingest import FleetRegistry
from multimonx.notify import Dispatcher, NotificationLog, RouteOpts, Silences
from multimonx.notify import Route as NotifyRoute
from multimonx.notify.config import NotifyConfig, ReceiverConfig
from multimonx.promql.engine import Engine
from multimonx.storage import MemoryStorage
from multimonx.storage.alerthistory import AlertHistory
from multimonx.storage.rulestore import RuleStore
from multimonx.web import create_app
from multimonx.web.alerthistory import alert_history_routes
from multimonx.web.amapi import am_routes
from multimonx.web.lifecycle import lifecycle_routes
from multimonx.web.openapi import openapi_document
from multimonx.web.promapi import PrometheusApi, prometheus_routes
from multimonx.web.rulesrest import AlertRulesApi, alert_rule_routes

METHODS = {"get", "put", "post", "delete", "options", "head", "patch", "trace"}
PARAMETER_PLACES = {"query", "header", "path", "cookie"}


@pytest.fixture
def storage() -> Iterator[MemoryStorage]:
    s = MemoryStorage()
    yield s
    s.close()


@pytest.fixture
def doc() -> dict[str, Any]:
    return openapi_document("9.9.9")


@pytest.fixture
def alerting_routes(tmp_path: Path) -> Iterator[list[BaseRoute]]:
    """The routes the server mounts beside the app's own (``extra_routes``), built as
    ``multimonx.cli.alerting`` builds them, over real stores in ``tmp_path``."""
    metadata = tmp_path / "metadata.db"
    history = AlertHistory(metadata)
    store = RuleStore(metadata)
    silences = Silences(None)
    nflog = NotificationLog(None)
    config = NotifyConfig(
        route=NotifyRoute(RouteOpts(receiver="default")),
        receivers={"default": ReceiverConfig("default")},
    )
    dispatcher = Dispatcher(config, {}, nflog=nflog, silences=silences)
    yield [
        *alert_history_routes(history, lambda: 0.0),
        *alert_rule_routes(AlertRulesApi(store, lambda rules: None, lambda: {"default"})),
        *lifecycle_routes(lambda: ""),
        *am_routes(dispatcher, silences),
    ]
    dispatcher.stop()
    silences.close()
    nflog.close()
    store.close()
    history.close()


def app_routes(storage: MemoryStorage, extra_routes: Sequence[BaseRoute]) -> dict[str, set[str]]:
    """Path -> methods of the app's routes with ``extra_routes`` mounted, leaving out the
    APIs the server implements as other projects define and document them: Prometheus's
    HTTP API, Prometheus's lifecycle API (``/-/reload``) and Alertmanager's API v2
    (``/api/v2/*``)."""
    app = create_app(
        storage=storage,
        keys=None,
        fleet=FleetRegistry(),
        ingest_config=IngestSection(require_api_key=False),
        extra_routes=extra_routes,
    )
    engine = Engine(storage)
    foreign = {
        r.path
        for r in prometheus_routes(PrometheusApi(engine, storage, "0", 0.0))
        if isinstance(r, Route)
    }
    # Like Prometheus's HTTP API, Prometheus's lifecycle API (/-/reload) and Alertmanager's
    # API v2 (am_routes' /api/v2/*) are documented by those projects, not in our document.
    foreign |= {r.path for r in lifecycle_routes(lambda: "") if isinstance(r, Route)}
    foreign |= {
        r.path for r in extra_routes if isinstance(r, Route) and r.path.startswith("/api/v2/")
    }
    routes: dict[str, set[str]] = {}
    for route in app.routes:
        if isinstance(route, Route) and route.path not in foreign:
            methods = {m.lower() for m in route.methods or ()} - {"head"}
            routes.setdefault(route.path, set()).update(methods)
    return routes


def refs(node: Any) -> Iterator[str]:
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "$ref":
                yield value
            else:
                yield from refs(value)
    elif isinstance(node, list):
        for item in node:
            yield from refs(item)


def resolve(doc: dict[str, Any], ref: str) -> Any:
    assert ref.startswith("#/"), ref
    node: Any = doc
    for part in ref[2:].split("/"):
        assert isinstance(node, dict), ref
        assert part in node, ref
        node = node[part]
    return node


def test_document_has_the_openapi_31_shape(doc: dict[str, Any]) -> None:
    assert re.fullmatch(r"3\.1\.\d+", doc["openapi"])
    assert doc["info"]["title"]
    assert doc["info"]["version"] == "9.9.9"
    assert "Prometheus" in doc["info"]["description"]
    assert "/api/v1/query" in doc["info"]["description"]
    operation_ids: list[str] = []
    for path, item in doc["paths"].items():
        assert path.startswith("/")
        assert set(item) <= METHODS, path
        for method, op in item.items():
            operation_ids.append(op["operationId"])
            assert op["summary"], (path, method)
            assert op["responses"], (path, method)
            for code in op["responses"]:
                assert code == "default" or re.fullmatch(r"[1-5]\d\d", code), (path, code)
            for given in op.get("parameters", []):
                param = resolve(doc, given["$ref"]) if "$ref" in given else given
                assert param["in"] in PARAMETER_PLACES
                assert param["name"]
                assert "schema" in param
    assert len(operation_ids) == len(set(operation_ids))


def test_every_reference_resolves(doc: dict[str, Any]) -> None:
    found = list(refs(doc))
    assert found
    for ref in found:
        resolve(doc, ref)


def test_documented_paths_are_routed_and_routes_documented(
    doc: dict[str, Any], storage: MemoryStorage, alerting_routes: list[BaseRoute]
) -> None:
    routes = app_routes(storage, alerting_routes)
    documented = {path: set(item) for path, item in doc["paths"].items()}
    for path, methods in documented.items():
        assert methods <= routes.get(path, set()), f"{path} is documented but not routed"
    for path, methods in routes.items():
        if path.startswith("/api/v1/"):
            assert methods <= documented.get(path, set()), f"{path} is routed but undocumented"
    assert "/api/v1/metrics/current" in documented
    for path in ("/api/v1/alerts/rules", "/api/v1/alerts/history", "/api/v1/notifications"):
        assert path in routes, f"{path} is not mounted: the test lost the server's routes"
    assert "/-/reload" not in routes
    assert not any(path.startswith("/api/v2/") for path in routes)


def test_served_as_json_with_the_server_version(storage: MemoryStorage) -> None:
    app = create_app(
        storage=storage,
        keys=None,
        fleet=FleetRegistry(),
        ingest_config=IngestSection(require_api_key=False),
        version="1.2.3",
    )

    async def go() -> httpx.Response:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as c:
            return await c.get("/api/v1/openapi.json")

    resp = asyncio.run(go())
    assert resp.status_code == 200
    assert resp.headers["content-type"] == "application/json"
    body = resp.json()
    assert body == openapi_document("1.2.3")
    assert body["info"]["version"] == "1.2.3"
