"""The friendly REST API of the original specification, over the metric catalog
(``multimonx.promql.catalog``) and the fleet registry. docs/api.md describes it.

Routes:
- ``GET /api/v1/servers``: every host seen, up or down, with its current CPU, memory and disk
  usage (three fleet-wide queries in one engine pass, never one query per host; if that
  evaluation fails, the hosts are still listed, without values, with a warning).
- ``GET /api/v1/metrics/current?host=``: every catalog metric of one host, now, in one engine
  pass over that host's series only.
- ``GET /api/v1/metrics/history?host=&metric=&range=`` (or ``start``/``end``/``step``): one
  catalog metric of one host as a range query.
- ``GET /api/v1/metrics/catalog``: the catalog.
- ``GET /api/v1/openapi.json``: the OpenAPI description of this REST API.

A host name reaches PromQL only as an ``instance="<host>"`` matcher added to the syntax tree,
never as query text; an unknown host is a 404 before any query runs.
"""

from __future__ import annotations

import math
import re
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from multimonx.ingest import FleetRegistry, HostView
from multimonx.promql.ast import Aggregation, Expr
from multimonx.promql.catalog import (
    HOST_LABEL,
    METRIC_LABEL,
    Catalog,
    CatalogEntry,
    MetricKind,
    combine,
    for_host,
    load_catalog,
    widen_ranges,
)
from multimonx.promql.engine import Engine
from multimonx.promql.errors import EvalError, QueryTimeout
from multimonx.promql.values import QueryResult
from multimonx.storage import StorageUnavailable
from multimonx.web.envelope import error_response, json_response, rfc3339
from multimonx.web.history import HistoryWindow, WindowError, history_window
from multimonx.web.openapi import openapi_document
from multimonx.web.workers import QueryWorkers

_DIGITS = re.compile(r"(\d+)")

SERVER_METRICS = ("cpu.usage.total", "memory.usage.percent", "disk.usage.percent")
"""The catalog metrics ``/api/v1/servers`` shows per host. A per-item metric (disk usage per
file system) shows its highest value: the fullest file system."""


@dataclass(frozen=True, slots=True)
class FriendlyApi:
    """What the friendly routes serve from. ``clock`` (Unix seconds) says what "now" is;
    ``version`` goes into the OpenAPI description."""

    engine: Engine
    fleet: FleetRegistry
    catalog: Catalog = field(default_factory=load_catalog)
    clock: Callable[[], float] = time.time
    version: str = ""
    workers: QueryWorkers = field(default_factory=QueryWorkers)


def friendly_routes(api: FriendlyApi) -> list[BaseRoute]:
    """The routes of ``/api/v1/servers``, ``/api/v1/metrics/{current,history,catalog}`` and
    ``/api/v1/openapi.json``."""
    h = _Handlers(api)
    return [
        Route("/api/v1/servers", h.servers, methods=["GET"]),
        Route("/api/v1/metrics/current", h.current, methods=["GET"]),
        Route("/api/v1/metrics/history", h.history, methods=["GET"]),
        Route("/api/v1/metrics/catalog", h.catalog, methods=["GET"]),
        Route("/api/v1/openapi.json", h.openapi, methods=["GET"]),
    ]


class _Handlers:
    """The route handlers, with the expressions they evaluate built once."""

    def __init__(self, api: FriendlyApi) -> None:
        self.api = api
        self.current_expr = api.catalog.combined()
        self.servers_expr = _servers_expr(api.catalog)
        self.catalog_json = [_entry_json(e) for e in api.catalog]
        self.openapi_json = openapi_document(api.version)

    async def servers(self, request: Request) -> Response:
        with_metrics = request.query_params.get("metrics", "true")
        if with_metrics not in ("true", "false"):
            return _bad_data(f"invalid parameter 'metrics': {with_metrics!r}: true or false")
        hosts = self.api.fleet.hosts()
        if with_metrics == "false":  # the list alone: no evaluation over the fleet
            return json_response({"status": "success", "data": [_host_json(v) for v in hosts]})
        t_ms = _now_ms(self.api.clock)
        body: dict[str, Any] = {"status": "success"}
        try:
            result = await self.api.workers.run(self.api.engine.instant, self.servers_expr, t_ms)
            latest = _by_host(result)
        except (EvalError, StorageUnavailable) as err:
            # the fleet list is still worth having: values unknown, and a warning says why
            latest = {}
            body["warnings"] = [f"current values unavailable: {err}"]
        body["data"] = [
            {**_host_json(view), "metrics": latest.get(view.info.instance, _no_values())}
            for view in hosts
        ]
        return json_response(body)

    async def current(self, request: Request) -> Response:
        host = self._host(request)
        if isinstance(host, Response):
            return host
        t_ms = _now_ms(self.api.clock)
        expr = for_host(self.current_expr, host)
        try:
            result = await self.api.workers.run(self.api.engine.instant, expr, t_ms)
        except (EvalError, StorageUnavailable) as err:
            return _query_error(err)
        data = {
            "host": host,
            "time": t_ms / 1000,
            "metrics": _current_metrics(self.api.catalog, result),
        }
        return json_response({"status": "success", "data": data})

    async def history(self, request: Request) -> Response:
        host = self._host(request)
        if isinstance(host, Response):
            return host
        entry = self._entry(request.query_params.get("metric"))
        if isinstance(entry, Response):
            return entry
        try:
            window = history_window(request.query_params, _now_ms(self.api.clock))
        except WindowError as err:
            return _bad_data(str(err))
        expr = for_host(entry.query, host)
        if entry.kind is MetricKind.RATE:
            expr = widen_ranges(expr, window.step_ms)
        try:
            result = await self.api.workers.run(
                self.api.engine.range, expr, window.start_ms, window.end_ms, window.step_ms
            )
        except (EvalError, StorageUnavailable) as err:
            return _query_error(err)
        return json_response(
            {"status": "success", "data": _history_json(host, entry, window, result)}
        )

    async def catalog(self, request: Request) -> Response:
        return json_response({"status": "success", "data": self.catalog_json})

    async def openapi(self, request: Request) -> Response:
        return json_response(self.openapi_json)

    def _host(self, request: Request) -> str | Response:
        """The ``host`` parameter naming a known host, or the error response."""
        host = request.query_params.get("host")
        if not host:
            return _bad_data("missing parameter 'host'")
        if self.api.fleet.get(host) is None:
            return error_response(
                404, "not_found", f"unknown host {host!r}; /api/v1/servers lists the hosts"
            )
        return host

    def _entry(self, name: str | None) -> CatalogEntry | Response:
        """The catalog entry called ``name``, or the error response."""
        if not name:
            return _bad_data("missing parameter 'metric'")
        entry = self.api.catalog.get(name)
        if entry is None:
            return error_response(
                404,
                "not_found",
                f"unknown metric {name!r}; /api/v1/metrics/catalog lists the "
                f"{len(self.api.catalog)} metrics",
            )
        return entry


def _host_json(view: HostView) -> dict[str, Any]:
    """What the fleet registry knows about one host, as ``/api/v1/servers`` shows it."""
    info = view.info
    newest_s = None if info.newest_sample_ms is None else info.newest_sample_ms / 1000
    return {
        "instance": info.instance,
        "job": info.job,
        "status": view.status.value,
        "agent": info.agent,
        "agent_version": info.agent_version,
        "interval_seconds": info.interval_seconds,
        "last_push": rfc3339(info.last_push),
        "last_push_unix": info.last_push,
        "newest_sample": rfc3339(newest_s),
        "newest_sample_unix": newest_s,
        "spool_bytes": info.spool_bytes,
        "dropped_samples": info.dropped_samples,
        "push_errors": info.push_errors,
    }


def _servers_expr(catalog: Catalog) -> Expr:
    """One fleet-wide expression for ``SERVER_METRICS``, one value per host each."""
    parts: list[tuple[str, Expr]] = []
    for name in SERVER_METRICS:
        entry = catalog.get(name)
        if entry is None:
            continue
        query = entry.query
        if entry.per_item:
            query = Aggregation("max", query, grouping=(HOST_LABEL,))
        parts.append((name, query))
    return combine(parts)


def _no_values() -> dict[str, float | None]:
    return dict.fromkeys(SERVER_METRICS)


def _by_host(result: QueryResult) -> dict[str, dict[str, float | None]]:
    """``{instance: {metric: value}}`` from the fleet-wide servers query."""
    out: dict[str, dict[str, float | None]] = {}
    for sample in result.vector or ():
        host = sample.labels.get(HOST_LABEL, "")
        values = out.setdefault(host, _no_values())
        values[sample.labels.get(METRIC_LABEL, "")] = _number(sample.value)
    return out


def _current_metrics(catalog: Catalog, result: QueryResult) -> dict[str, dict[str, Any]]:
    """Every catalog metric: ``{"value", "unit"}`` for a host-level metric (value None
    without data), ``{"values": [{"labels", "value"}...], "unit"}`` for a per-item one."""
    found: dict[str, list[tuple[Mapping[str, str], float]]] = {}
    for sample in result.vector or ():
        found.setdefault(sample.labels.get(METRIC_LABEL, ""), []).append(
            (sample.labels, sample.value)
        )
    metrics: dict[str, dict[str, Any]] = {}
    for entry in catalog:
        rows = found.get(entry.name, [])
        if entry.per_item:
            named = sorted(
                ((_item_labels(entry, labels), value) for labels, value in rows),
                key=lambda row: [_natural(v) for v in row[0].values()],
            )
            items = [{"labels": labels, "value": _number(value)} for labels, value in named]
            metrics[entry.name] = {"unit": entry.unit, "values": items}
        else:
            value = _number(rows[0][1]) if rows else None
            metrics[entry.name] = {"unit": entry.unit, "value": value}
    return metrics


def _history_json(
    host: str, entry: CatalogEntry, window: HistoryWindow, result: QueryResult
) -> dict[str, Any]:
    series = [
        {
            "labels": _item_labels(entry, s.labels),
            "points": [
                [t / 1000, _number(v)]
                for t, v in zip(s.timestamps.tolist(), s.values.tolist(), strict=True)
            ],
        }
        for s in result.matrix or ()
    ]
    return {
        "host": host,
        "metric": entry.name,
        "unit": entry.unit,
        "start": window.start_ms / 1000,
        "end": window.end_ms / 1000,
        "step": window.step_ms / 1000,
        "series": series,
    }


def _entry_json(entry: CatalogEntry) -> dict[str, Any]:
    return {
        "name": entry.name,
        "unit": entry.unit,
        "kind": entry.kind.value,
        "labels": list(entry.labels),
        "description": entry.description,
        "expr": entry.expr,
    }


def _item_labels(entry: CatalogEntry, labels: Mapping[str, str]) -> dict[str, str]:
    """The labels that name an item of ``entry`` (the others are the host's or ours)."""
    return {name: labels[name] for name in entry.labels if name in labels}


def _natural(text: str) -> list[tuple[int, str]]:
    """A sort key putting ``cpu="2"`` before ``cpu="10"`` (digit runs compare by length
    first, so that any length of digits sorts without converting it to a number)."""
    return [
        (len(part.lstrip("0")), part) if i % 2 else (-1, part)
        for i, part in enumerate(_DIGITS.split(text))
    ]


def _number(value: float) -> float | None:
    """A JSON number; None for NaN and the infinities (no value, e.g. 0/0)."""
    return value if math.isfinite(value) else None


def _now_ms(clock: Callable[[], float]) -> int:
    return int(clock() * 1000)


def _bad_data(message: str) -> Response:
    return error_response(400, "bad_data", message)


def _query_error(err: Exception) -> Response:
    """The response for a failed evaluation (never a traceback, never a 500)."""
    if isinstance(err, QueryTimeout):
        return error_response(503, "timeout", str(err))
    if isinstance(err, StorageUnavailable):
        return error_response(503, "unavailable", f"storage unavailable: {err}")
    return error_response(422, "execution", str(err))
