"""The server's HTTP app: push ingest, health, the server's own metrics, the routes of the
Prometheus HTTP API (``web.promapi``), of the friendly REST API (``web.friendly``: servers,
metrics current/history/catalog, OpenAPI description), of the dashboard's overview
(``web.overview``) and the dashboard itself (``web.dashboard``: ``/``, its pages, ``/assets``).

Routes:
- ``POST /api/v1/metrics/collect``: a push from an agent (``multimonx.model.wire``).
- ``GET /api/v1/health``: liveness plus storage counters.
- ``GET /metrics``: the server's own metrics, Prometheus text format.

Responses use the Prometheus API envelope: ``{"status": "success", "data": ...}`` or
``{"status": "error", "errorType": ..., "error": ...}``. Requests are logged as method, path
and status only: never bodies, never tokens.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from pathlib import Path

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from multimonx import __version__
from multimonx.config import IngestSection
from multimonx.ingest import FleetRegistry, Ingester, IngestError
from multimonx.model import COLLECT_PATH, TEXT_CONTENT_TYPE, MetricFamily, render_text
from multimonx.model.regex import compile_regex
from multimonx.promql.catalog import load_catalog
from multimonx.promql.engine import Engine
from multimonx.rules.group import GroupStatus
from multimonx.storage import KeyStore, Storage, StorageStats, StorageUnavailable
from multimonx.web.dashboard import STATIC_DIR, dashboard_routes
from multimonx.web.envelope import error_response, json_response
from multimonx.web.friendly import FriendlyApi, friendly_routes
from multimonx.web.overview import Overview, OverviewApi
from multimonx.web.promapi import PrometheusApi, prometheus_routes
from multimonx.web.selfmetrics import ServerMetrics
from multimonx.web.workers import QueryWorkers

log = logging.getLogger(__name__)

RETRY_AFTER_SECONDS = 5
_BEARER = "bearer "


class _BodyTooLargeError(Exception):
    pass


async def _read_body(request: Request, limit: int) -> bytes:
    """The raw request body, refusing (413) to buffer more than ``limit`` bytes."""
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise _BodyTooLargeError
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise _BodyTooLargeError
        chunks.append(chunk)
    return b"".join(chunks)


class _Handlers:
    """The route handlers and the state they share (one instance per app)."""

    def __init__(
        self,
        *,
        storage: Storage,
        keys: KeyStore | None,
        fleet: FleetRegistry,
        ingester: Ingester,
        metrics: ServerMetrics,
        storage_metrics: Callable[[], Sequence[MetricFamily]],
        version: str,
        clock: Callable[[], float],
    ) -> None:
        self.storage = storage
        self.storage_metrics = storage_metrics
        self.keys = keys
        self.fleet = fleet
        self.ingester = ingester
        self.metrics = metrics
        self.version = version
        self.clock = clock
        self.started = clock()

    def _reject(
        self, status: int, error_type: str, message: str, headers: dict[str, str] | None = None
    ) -> Response:
        self.metrics.rejected(error_type)
        return error_response(status, error_type, message, headers)

    async def _authenticate(self, request: Request) -> tuple[str, Response | None]:
        """(agent name, None) or ("", an error response)."""
        header = request.headers.get("authorization", "")
        token = header[len(_BEARER) :].strip() if header.lower().startswith(_BEARER) else ""
        required = self.ingester.limits.require_api_key
        if self.keys is None or not token:
            if required:
                return "", self._reject(
                    401,
                    "unauthorized",
                    "an API key is required (Authorization: Bearer ...)",
                    {"WWW-Authenticate": 'Bearer realm="multimonx"'},
                )
            return "", None
        key = await run_in_threadpool(self.keys.lookup, token)
        if key is None:
            if required:
                return "", self._reject(
                    401,
                    "unauthorized",
                    "invalid API key",
                    {"WWW-Authenticate": 'Bearer realm="multimonx", error="invalid_token"'},
                )
            return "", None
        if key.is_revoked:
            return "", self._reject(403, "forbidden", f"API key {key.key_id} is revoked")
        await run_in_threadpool(self.keys.verify, token)
        return key.name, None

    async def collect(self, request: Request) -> Response:
        agent, denied = await self._authenticate(request)
        if denied is not None:
            return denied
        limits = self.ingester.limits
        try:
            body = await _read_body(request, limits.max_body_bytes)
        except _BodyTooLargeError:
            return self._reject(
                413, "too_large", f"body exceeds the {limits.max_body_bytes}-byte limit"
            )
        encoding = request.headers.get("content-encoding")
        try:
            result = await run_in_threadpool(self.ingester.ingest, body, encoding, agent=agent)
        except IngestError as err:
            return self._reject(err.status, err.error_type, str(err))
        except StorageUnavailable as err:
            log.warning("ingest: storage unavailable: %s", err)
            return self._reject(
                503,
                "unavailable",
                f"storage unavailable: {err}",
                {"Retry-After": str(RETRY_AFTER_SECONDS)},
            )
        self.metrics.ingested(result)
        return json_response(
            {
                "status": "success",
                "data": {
                    "samples": result.appended,
                    "duplicates": result.duplicates,
                    "conflicts": result.conflicts,
                },
            }
        )

    async def health(self, request: Request) -> Response:
        try:
            stats = await run_in_threadpool(self.storage.stats)
        except StorageUnavailable as err:
            return error_response(
                503,
                "unavailable",
                f"storage unavailable: {err}",
                {"Retry-After": str(RETRY_AFTER_SECONDS)},
            )
        return json_response(
            {
                "status": "success",
                "data": {
                    "status": "ok",
                    "version": self.version,
                    "uptime_seconds": round(self.clock() - self.started, 3),
                    "series": stats.series,
                    "samples": stats.samples,
                },
            }
        )

    async def own_metrics(self, request: Request) -> Response:
        stats: StorageStats | None
        extra: Sequence[MetricFamily] = ()
        try:
            stats = await run_in_threadpool(self.storage.stats)
            extra = await run_in_threadpool(self.storage_metrics)
        except StorageUnavailable:
            stats = None
        text = render_text([*self.metrics.families(stats), *extra])
        return Response(text, media_type=TEXT_CONTENT_TYPE)


class _AccessLog:
    """ASGI middleware: counts requests by route, and logs method, path and status at debug
    level (as Prometheus logs no request by default: a fleet's pushes alone would be dozens
    of lines a second, and formatting them cost a small query a tenth of its time)."""

    def __init__(self, app: ASGIApp, metrics: ServerMetrics, routes: frozenset[str]) -> None:
        self.app = app
        self.metrics = metrics
        self.routes = routes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        status = 500

        async def capture(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
            await send(message)

        try:
            await self.app(scope, receive, capture)
        finally:
            path = str(scope.get("path", ""))
            handler = path if path in self.routes else "other"
            method = str(scope.get("method", ""))
            self.metrics.request(method, handler, status)
            log.debug("%s %s %d", method, path, status)


_CORS_HEADERS = (
    (b"access-control-allow-headers", b"Accept, Authorization, Content-Type, Origin"),
    (b"access-control-allow-methods", b"GET, POST, OPTIONS"),
    (b"access-control-expose-headers", b"Date"),
    (b"vary", b"Origin"),
)


class _Cors:
    """ASGI middleware: cross-origin reads of the API, as Prometheus allows them
    (``httputil.SetCORS``, ``--web.cors.origin``). A request under ``/api/v1/`` that carries
    an ``Origin`` gets the allowed headers and methods, and ``Access-Control-Allow-Origin``:
    ``*`` when any origin is allowed (``.*``), else the origin itself if the fully anchored
    regex matches it. ``OPTIONS`` (a browser's preflight) on any such path answers 204 No
    Content, as Prometheus does. The agents' push endpoint is left out."""

    def __init__(self, app: ASGIApp, origin: str) -> None:
        self.app = app
        self.any_origin = origin == ".*"
        self.regex = compile_regex(origin)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = str(scope.get("path", ""))
        if scope["type"] != "http" or not path.startswith("/api/v1/") or path == COLLECT_PATH:
            await self.app(scope, receive, send)
            return
        origin = next((v for k, v in scope.get("headers", ()) if k == b"origin"), None)
        extra = self._headers(origin)
        if scope.get("method") == "OPTIONS":
            await send({"type": "http.response.start", "status": 204, "headers": extra})
            await send({"type": "http.response.body", "body": b""})
            return
        if not extra:
            await self.app(scope, receive, send)
            return

        async def with_cors(message: Message) -> None:
            if message["type"] == "http.response.start":
                message = {**message, "headers": [*message.get("headers", ()), *extra]}
            await send(message)

        await self.app(scope, receive, with_cors)

    def _headers(self, origin: bytes | None) -> list[tuple[bytes, bytes]]:
        if not origin:
            return []
        headers = list(_CORS_HEADERS)
        if self.any_origin:
            headers.append((b"access-control-allow-origin", b"*"))
        elif self.regex.fullmatch(origin.decode("latin-1")) is not None:
            headers.append((b"access-control-allow-origin", origin))
        return headers


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    error_type = "not_found" if exc.status_code == 404 else "bad_data"
    return error_response(exc.status_code, error_type, str(exc.detail), exc.headers)


def create_app(
    *,
    storage: Storage,
    keys: KeyStore | None,
    fleet: FleetRegistry,
    ingest_config: IngestSection,
    ingester: Ingester | None = None,
    engine: Engine | None = None,
    metrics: ServerMetrics | None = None,
    storage_metrics: Callable[[], Sequence[MetricFamily]] = tuple,
    version: str = __version__,
    cors_origin: str = ".*",
    query_workers: QueryWorkers | None = None,
    rule_groups: Callable[[], Sequence[GroupStatus]] = tuple,
    extra_routes: Sequence[BaseRoute] = (),
    dashboard_dir: Path | None = STATIC_DIR,
    clock: Callable[[], float] = time.time,
) -> Starlette:
    """The server's ASGI app over the given parts (built and owned by the caller).

    ``keys`` may be None only when ``ingest_config.require_api_key`` is false. ``ingester``
    defaults to one over ``storage`` and ``fleet``, ``engine`` to a PromQL engine over
    ``storage`` with Prometheus's default limits; ``cors_origin`` is the regex of browser
    origins allowed to read the API (``_Cors``); ``query_workers`` are the threads queries run
    in (default: Prometheus's 20); ``rule_groups`` gives the rule groups' state for
    ``/api/v1/rules`` and ``/api/v1/alerts``; ``extra_routes`` are the routes of parts the
    composition root built (alert history, silences, notifications); ``dashboard_dir`` holds
    the built dashboard served at ``/`` (None: no dashboard routes); ``clock`` (Unix seconds)
    is a test seam. ``app.state.overview`` is the overview's ``Overview``, whose ``warm`` the
    caller may run periodically.
    """
    if keys is None and ingest_config.require_api_key:
        raise ValueError("require_api_key is set but no key store was given")
    ingester = ingester or Ingester(storage, fleet, ingest_config, clock=clock)
    engine = engine or Engine(storage)
    metrics = metrics or ServerMetrics()
    workers = query_workers or QueryWorkers()
    catalog = load_catalog()
    h = _Handlers(
        storage=storage,
        keys=keys,
        fleet=fleet,
        ingester=ingester,
        metrics=metrics,
        storage_metrics=storage_metrics,
        version=version,
        clock=clock,
    )
    overview = Overview(
        OverviewApi(
            engine, fleet, rule_groups=rule_groups, catalog=catalog, clock=clock, workers=workers
        )
    )
    routes: list[BaseRoute] = [
        Route(COLLECT_PATH, h.collect, methods=["POST"]),
        Route("/api/v1/health", h.health, methods=["GET"]),
        Route("/metrics", h.own_metrics, methods=["GET"]),
        *prometheus_routes(
            PrometheusApi(
                engine,
                storage,
                version,
                clock(),
                clock=clock,
                metadata=ingester.metadata,
                workers=workers,
                rule_groups=rule_groups,
            )
        ),
        *friendly_routes(
            FriendlyApi(
                engine, fleet, catalog=catalog, clock=clock, version=version, workers=workers
            )
        ),
        *overview.routes(),
        *extra_routes,
        *(dashboard_routes(dashboard_dir) if dashboard_dir is not None else ()),
    ]
    app = Starlette(routes=routes, exception_handlers={HTTPException: _http_error})
    app.state.overview = overview  # its owner calls overview.warm() periodically
    paths = frozenset(r.path for r in routes if isinstance(r, Route))
    app.add_middleware(_Cors, origin=cors_origin)
    app.add_middleware(_AccessLog, metrics=metrics, routes=paths)
    return app
