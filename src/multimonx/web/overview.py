"""``GET /api/v1/overview?range=1h|6h|24h``: the dashboard's fleet overview in one answer.

For every host the fleet registry knows: its status (up/down), its active alerts counted by
state and severity, its current CPU, memory and disk usage and network traffic, and
sparklines of CPU, memory and network over the range. docs/api.md describes the shape.

The values come from fleet-wide queries, never one query per host: one instant query per
``current`` field (the catalog's ``cpu.usage.total``, ``memory.usage.percent``,
``disk.usage.percent`` at its fullest file system, ``network.io.bytes.recv`` and
``network.io.bytes.sent``) and one range query per sparkline field (CPU, memory, the two
network rates) with ``SPARK_POINTS`` points, their rate windows widened to the step (each point
then covers its whole step, as a host's history does). The sparklines' grid is aligned to
multiples of the step, so every point lies in the past: they are computed once per step and
range, and reused by the requests until the grid moves on (2 minutes for 1 h). The alert
counts come from the rule manager's group statuses (``/api/v1/alerts``' source), by
``instance`` label.

If an evaluation fails the hosts are still listed, values null, with a warning (as
``/api/v1/servers`` does).
"""

from __future__ import annotations

import asyncio
import gzip
import logging
import math
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import Future
from dataclasses import dataclass, field
from typing import Any

import orjson
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from multimonx.ingest import FleetRegistry, HostStatus
from multimonx.promql.ast import Aggregation, Expr
from multimonx.promql.catalog import (
    HOST_LABEL,
    Catalog,
    load_catalog,
    widen_ranges,
)
from multimonx.promql.engine import Engine
from multimonx.promql.errors import EvalError
from multimonx.rules.alerting import AlertState
from multimonx.rules.group import GroupStatus
from multimonx.storage import StorageUnavailable
from multimonx.web.envelope import error_response
from multimonx.web.workers import QueryWorkers

log = logging.getLogger(__name__)

OVERVIEW_PATH = "/api/v1/overview"

RANGES = {"1h": 3_600_000, "6h": 6 * 3_600_000, "24h": 24 * 3_600_000}
"""The ranges ``?range=`` accepts, in milliseconds."""

SPARK_POINTS = 30
"""Points per sparkline: the step is the range divided by this."""

CURRENT = {
    "cpu": "cpu.usage.total",
    "memory": "memory.usage.percent",
    "disk": "disk.usage.percent",
    "net_rx": "network.io.bytes.recv",
    "net_tx": "network.io.bytes.sent",
}
"""The ``current`` fields and the catalog metric each one shows (a per-item metric, disk
usage per file system, shows its highest value)."""

GZIP_MIN_BYTES = 1024
"""Answers at least this long are gzip-compressed for clients that accept it (a browser
always does): 1,000 hosts make about 800 KB of JSON, a fifth of that compressed."""

SPARKS = ("cpu", "memory", "net_rx", "net_tx")
"""The fields whose history the range query fetches; ``net_rx + net_tx`` is the ``net``
sparkline."""


class OverviewError(ValueError):
    """A catalog lacks a metric the overview needs."""


@dataclass(frozen=True, slots=True)
class OverviewApi:
    """What ``/api/v1/overview`` serves from: the engine and catalog for the values, the
    fleet for the hosts and their status, ``rule_groups`` for the alerts; ``clock`` (Unix
    seconds) says what "now" is."""

    engine: Engine
    fleet: FleetRegistry
    rule_groups: Callable[[], Sequence[GroupStatus]] = tuple
    catalog: Catalog = field(default_factory=load_catalog)
    clock: Callable[[], float] = time.time
    workers: QueryWorkers = field(default_factory=QueryWorkers)


def overview_routes(api: OverviewApi) -> list[BaseRoute]:
    """The route of ``GET /api/v1/overview``."""
    return [Route(OVERVIEW_PATH, _Handler(api).overview, methods=["GET"])]


@dataclass(slots=True)
class _AlertCounts:
    """One host's active alerts, counted while reading the rule groups."""

    firing: int = 0
    pending: int = 0
    critical: int = 0
    warning: int = 0


class _Handler:
    """The handler, with its expressions built once and the latest sparklines of each range
    (``_SparkWindow``). When the grid has moved on by one step, the previous window is
    answered while the new one is computed on a query thread (the answer's ``timestamps``
    say which window it is): only a range never asked for, or not for more than a step,
    waits for its sparklines."""

    def __init__(self, api: OverviewApi) -> None:
        self.api = api
        self.current_parts = [
            (field_name, _host_level(api.catalog, name)) for field_name, name in CURRENT.items()
        ]
        self.spark_parts = {
            range_name: [
                (name, widen_ranges(_host_level(api.catalog, CURRENT[name]), step_ms))
                for name in SPARKS
            ]
            for range_name, step_ms in _steps().items()
        }
        self.sparks: dict[str, _SparkWindow] = {}
        self.refreshing: set[str] = set()
        self.lock = threading.Lock()  # guards sparks and refreshing

    async def overview(self, request: Request) -> Response:
        range_name = request.query_params.get("range", "1h")
        range_ms = RANGES.get(range_name)
        if range_ms is None:
            return error_response(
                400, "bad_data", f"invalid range {range_name!r}: one of {', '.join(RANGES)}"
            )
        now_ms = int(self.api.clock() * 1000)
        step_ms = range_ms // SPARK_POINTS
        end_ms = now_ms - now_ms % step_ms
        body: dict[str, Any] = {"status": "success"}
        current: dict[str, dict[str, float | None]] = {}
        with self.lock:
            cached = self.sparks.get(range_name)
        window = _SparkWindow(end_ms, {})
        try:
            if cached is not None and end_ms - step_ms <= cached.end_ms <= end_ms:
                if cached.end_ms < end_ms:
                    self._refresh(range_name, end_ms, step_ms)
                window = cached
                current = await self.api.workers.run(self._current, now_ms)
            else:
                current, by_host = await asyncio.gather(
                    self.api.workers.run(self._current, now_ms),
                    self.api.workers.run(self._sparks, range_name, end_ms, step_ms),
                )
                window = _SparkWindow(end_ms, by_host)
                self._store(range_name, window)
        except (EvalError, StorageUnavailable) as err:
            body["warnings"] = [f"values unavailable: {err}"]
        sparks = window.by_host
        start_ms = window.end_ms - (SPARK_POINTS - 1) * step_ms
        alerts, firing, pending = _alerts_by_host(self.api.rule_groups())
        hosts = []
        up = alerting = 0
        empty_spark: list[float | None] = [None] * SPARK_POINTS
        for view in self.api.fleet.hosts():
            instance = view.info.instance
            counts = alerts.get(instance, _AlertCounts())
            up += view.status is HostStatus.UP
            alerting += counts.firing > 0
            spark = sparks.get(instance, {})
            hosts.append(
                {
                    "instance": instance,
                    "job": view.info.job,
                    "status": view.status.value,
                    "alerts": {
                        "firing": counts.firing,
                        "pending": counts.pending,
                        "critical": counts.critical,
                        "warning": counts.warning,
                    },
                    "current": current.get(instance) or dict.fromkeys(CURRENT),
                    "spark": {
                        "cpu": spark.get("cpu", empty_spark),
                        "memory": spark.get("memory", empty_spark),
                        "net": _net(spark),
                    },
                }
            )
        body["data"] = {
            "time": now_ms / 1000,
            "range": range_name,
            "step": step_ms / 1000,
            "timestamps": [(start_ms + i * step_ms) / 1000 for i in range(SPARK_POINTS)],
            "hosts": hosts,
            "totals": {
                "hosts": len(hosts),
                "up": up,
                "down": len(hosts) - up,
                "alerting": alerting,
                "firing": firing,
                "pending": pending,
            },
        }
        return _json(request, body)

    def _current(self, t_ms: int) -> dict[str, dict[str, float | None]]:
        """``{instance: {field: value}}`` at ``t_ms``: one query per field (cheaper than one
        combined query, whose ``or`` would match every field's series again)."""
        out: dict[str, dict[str, float | None]] = {}
        for name, expr in self.current_parts:
            for sample in self.api.engine.instant(expr, t_ms).vector or ():
                host = sample.labels.get(HOST_LABEL, "")
                out.setdefault(host, dict.fromkeys(CURRENT))[name] = _round(sample.value, name)
        return out

    def _sparks(
        self, range_name: str, end_ms: int, step_ms: int
    ) -> dict[str, dict[str, list[float | None]]]:
        """``{instance: {field: SPARK_POINTS values}}`` of the window ending at ``end_ms``,
        None where a step has no point."""
        start_ms = end_ms - (SPARK_POINTS - 1) * step_ms
        out: dict[str, dict[str, list[float | None]]] = {}
        for name, expr in self.spark_parts[range_name]:
            result = self.api.engine.range(expr, start_ms, end_ms, step_ms)
            for series in result.matrix or ():
                host = series.labels.get(HOST_LABEL, "")
                points: list[float | None] = [None] * SPARK_POINTS
                slots = ((series.timestamps - start_ms) // step_ms).tolist()
                for slot, value in zip(slots, series.values.tolist(), strict=True):
                    if 0 <= slot < SPARK_POINTS:
                        points[slot] = _round(value, name)
                out.setdefault(host, {})[name] = points
        return out

    def _store(self, range_name: str, window: _SparkWindow) -> None:
        """Keep ``window`` unless a newer one of the range is already kept."""
        with self.lock:
            kept = self.sparks.get(range_name)
            if kept is None or kept.end_ms < window.end_ms:
                self.sparks[range_name] = window

    def _refresh(self, range_name: str, end_ms: int, step_ms: int) -> None:
        """Compute the window ending at ``end_ms`` in the background, unless one of the
        range is being computed already."""
        with self.lock:
            if range_name in self.refreshing:
                return
            self.refreshing.add(range_name)

        def done(future: Future[dict[str, dict[str, list[float | None]]]]) -> None:
            with self.lock:
                self.refreshing.discard(range_name)
            error = None if future.cancelled() else future.exception()
            if future.cancelled() or error is not None:
                log.warning("overview: the %s sparklines were not computed: %s", range_name, error)
                return
            self._store(range_name, _SparkWindow(end_ms, future.result()))

        try:
            self.api.workers.submit(self._sparks, range_name, end_ms, step_ms).add_done_callback(
                done
            )
        except RuntimeError:  # the workers are closed: the server is stopping
            with self.lock:
                self.refreshing.discard(range_name)


@dataclass(frozen=True, slots=True)
class _SparkWindow:
    """The sparklines of one range ending at ``end_ms``: every point of them lies in the
    past, so they are reused until the grid moves on by a step (2 min for 1 h), and answered
    for one more step while their successor is computed; only the current values are
    evaluated on every request."""

    end_ms: int
    by_host: dict[str, dict[str, list[float | None]]]


def _json(request: Request, body: dict[str, Any]) -> Response:
    """``body`` as JSON, gzip-compressed (fastest level) when the client accepts it."""
    raw = orjson.dumps(body)
    headers = {"Vary": "Accept-Encoding"}
    if len(raw) >= GZIP_MIN_BYTES and "gzip" in request.headers.get("accept-encoding", ""):
        headers["Content-Encoding"] = "gzip"
        raw = gzip.compress(raw, compresslevel=1)
    return Response(raw, headers=headers, media_type="application/json")


def _steps() -> dict[str, int]:
    """Each range's sparkline step, milliseconds."""
    return {name: range_ms // SPARK_POINTS for name, range_ms in RANGES.items()}


def _host_level(catalog: Catalog, name: str) -> Expr:
    """The catalog metric ``name`` with one series per host."""
    entry = catalog.get(name)
    if entry is None:
        raise OverviewError(f"the metric catalog has no {name!r}")
    if entry.per_item:
        return Aggregation("max", entry.query, grouping=(HOST_LABEL,))
    return entry.query


def _round(value: float, field_name: str) -> float | None:
    """A JSON number (None for NaN and the infinities), percentages to 0.01 and rates to
    0.1 byte/s: more digits than a dashboard shows only cost bytes."""
    if not math.isfinite(value):
        return None
    return round(value, 1 if field_name.startswith("net") else 2)


def _net(spark: dict[str, list[float | None]]) -> list[float | None]:
    """Received plus sent bytes/s per point (None where neither is known)."""
    rx = spark.get("net_rx")
    tx = spark.get("net_tx")
    if rx is None and tx is None:
        return [None] * SPARK_POINTS
    out: list[float | None] = []
    for a, b in zip(rx or [None] * SPARK_POINTS, tx or [None] * SPARK_POINTS, strict=True):
        out.append(None if a is None and b is None else round((a or 0.0) + (b or 0.0), 1))
    return out


def _alerts_by_host(
    groups: Sequence[GroupStatus],
) -> tuple[dict[str, _AlertCounts], int, int]:
    """Active alerts per ``instance`` label, and the fleet's firing and pending totals
    (alerts without an ``instance`` count only there)."""
    by_host: dict[str, _AlertCounts] = {}
    firing = pending = 0
    for status in groups:
        for rule in status.rules:
            for alert in rule.alerts:
                if alert.state is AlertState.INACTIVE:
                    continue
                is_firing = alert.state is AlertState.FIRING
                firing += is_firing
                pending += not is_firing
                instance = alert.labels.get(HOST_LABEL, "")
                if not instance:
                    continue
                counts = by_host.setdefault(instance, _AlertCounts())
                if not is_firing:
                    counts.pending += 1
                    continue
                counts.firing += 1
                severity = alert.labels.get("severity", "")
                counts.critical += severity == "critical"
                counts.warning += severity == "warning"
    return by_host, firing, pending
