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
range, and reused by the requests until the grid moves on (2 minutes for 1 h). The current
values are reused while at most 10 s old (the dashboard's refresh period), so any number of
open dashboards cost one evaluation per period. The server calls ``Overview.warm`` every
``WARM_INTERVAL_S`` to compute both ahead of the requests: the next window as soon as the
grid moves, for the dashboard's default range and any range asked for in the last hour, and
the current values while the overview is watched. No request then waits for them (at 1,000
hosts the sparklines take 0.5 to 1 s, the current values 0.1 to 0.2 s). The alert
counts come from the rule manager's group statuses (``/api/v1/alerts``' source), by
``instance`` label.

If an evaluation fails the hosts are still listed, values null, with a warning (as
``/api/v1/servers`` does).
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import gzip
import logging
import math
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import Future
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

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

T = TypeVar("T")

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

WARM_RANGES = ("1h",)
"""The ranges kept computed from the server's start: the dashboard's default."""

WARM_FOR_MS = 3_600_000
"""How long after its last request any other range, and the current values, are kept
computed."""

WARM_INTERVAL_S = 5.0
"""How often the server calls ``Overview.warm``: well within the shortest step (2 min)."""

CURRENT_MAX_AGE_MS = 10_000
"""How old the current values answered may be: the dashboard's refresh period (agents push
every 5 s by default, so values are at most about 15 s old)."""

CURRENT_REFRESH_MS = 5_000
"""How old the current values ``warm`` lets them get before computing new ones: under
``CURRENT_MAX_AGE_MS`` by a warm period, so a watched overview's requests never wait."""

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


@dataclass(slots=True)
class _AlertCounts:
    """One host's active alerts, counted while reading the rule groups."""

    firing: int = 0
    pending: int = 0
    critical: int = 0
    warning: int = 0


Sparks = dict[str, dict[str, list[float | None]]]
"""``{instance: {field: SPARK_POINTS values}}``."""

Current = dict[str, dict[str, float | None]]
"""``{instance: {field: value}}``."""


class Overview:
    """``GET /api/v1/overview`` (``routes``), with its expressions built once, the latest
    sparklines of each range and the latest current values, each computed on a query thread
    (``_Latest``).

    - Sparklines: when the grid has moved on by one step, the previous window is answered
      while the new one is computed (the answer's ``timestamps`` say which window it is). A
      request that finds no window within a step of its grid waits for one.
    - Current values are answered while at most ``CURRENT_MAX_AGE_MS`` old (the answer's
      ``current_time`` says when they are for), else computed, once for all the requests
      waiting.

    ``warm``, called by the server every ``WARM_INTERVAL_S``, computes both ahead of the
    requests, so that a dashboard's request does not wait for them."""

    def __init__(self, api: OverviewApi) -> None:
        self.api = api
        self.current_parts = [
            (field_name, _host_level(api.catalog, name)) for field_name, name in CURRENT.items()
        ]
        self.windows = {
            range_name: _Latest(
                api.workers,
                functools.partial(self._sparks, range_name, step_ms),
                f"the {range_name} sparklines",
            )
            for range_name, step_ms in _steps().items()
        }
        self.spark_parts = {
            range_name: [
                (name, widen_ranges(_host_level(api.catalog, CURRENT[name]), step_ms))
                for name in SPARKS
            ]
            for range_name, step_ms in _steps().items()
        }
        self.current = _Latest(api.workers, self._current, "the current values")
        # When each range was last asked for (ms); the server's start counts as a request of
        # the dashboard's default range.
        self.asked: dict[str, int] = {WARM_RANGES[0]: int(api.clock() * 1000)}
        self.lock = threading.Lock()  # guards asked

    def routes(self) -> list[BaseRoute]:
        """The route of ``GET /api/v1/overview``."""
        return [Route(OVERVIEW_PATH, self.overview, methods=["GET"])]

    def warm(self) -> None:
        """Start computing in the background what the next requests will need:

        - the sparklines of every range kept warm (the ``WARM_RANGES`` always, the others for
          ``WARM_FOR_MS`` after their last request) whose window is behind the grid;
        - the current values, when ``CURRENT_REFRESH_MS`` old, while any range was asked for
          within ``WARM_FOR_MS``.

        Cheap when nothing is due."""
        now_ms = int(self.api.clock() * 1000)
        with self.lock:
            recent = {n for n, t in self.asked.items() if now_ms - t < WARM_FOR_MS}
        for name, latest in self.windows.items():
            if name in WARM_RANGES or name in recent:
                step_ms = RANGES[name] // SPARK_POINTS
                end_ms = now_ms - now_ms % step_ms
                kept = latest.kept()
                if kept is None or kept.at_ms < end_ms:
                    latest.refresh(end_ms)
        if recent:
            kept_current = self.current.kept()
            if kept_current is None or now_ms - kept_current.at_ms >= CURRENT_REFRESH_MS:
                self.current.refresh(now_ms)

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
        with self.lock:
            self.asked[range_name] = now_ms
        window: _Kept[Sparks] = _Kept(end_ms, {})
        current: _Kept[Current] = _Kept(now_ms, {})
        try:
            window, current = await asyncio.gather(
                self._window(range_name, end_ms, step_ms), self._current_values(now_ms)
            )
        except (EvalError, StorageUnavailable) as err:
            body["warnings"] = [f"values unavailable: {err}"]
        sparks = window.value
        start_ms = window.at_ms - (SPARK_POINTS - 1) * step_ms
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
                    "current": current.value.get(instance) or dict.fromkeys(CURRENT),
                    "spark": {
                        "cpu": spark.get("cpu", empty_spark),
                        "memory": spark.get("memory", empty_spark),
                        "net": _net(spark),
                    },
                }
            )
        body["data"] = {
            "time": now_ms / 1000,
            "current_time": current.at_ms / 1000,
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

    async def _window(self, range_name: str, end_ms: int, step_ms: int) -> _Kept[Sparks]:
        """The sparklines for the grid ending at ``end_ms``: the kept window if it is that
        one or the one before (then the next is computed in the background), else the one
        computed for it."""
        latest = self.windows[range_name]
        kept = latest.kept()
        if kept is not None and end_ms - step_ms <= kept.at_ms <= end_ms:
            if kept.at_ms < end_ms:
                latest.refresh(end_ms)
            return kept
        return await latest.get(end_ms, oldest_ms=end_ms)

    async def _current_values(self, now_ms: int) -> _Kept[Current]:
        """The kept current values while at most ``CURRENT_MAX_AGE_MS`` old, else new ones."""
        kept = self.current.kept()
        if kept is not None and now_ms - kept.at_ms <= CURRENT_MAX_AGE_MS:
            return kept
        return await self.current.get(now_ms, oldest_ms=now_ms - CURRENT_MAX_AGE_MS)

    def _current(self, t_ms: int) -> Current:
        """``{instance: {field: value}}`` at ``t_ms``: one query per field (cheaper than one
        combined query, whose ``or`` would match every field's series again)."""
        out: Current = {}
        for name, expr in self.current_parts:
            for sample in self.api.engine.instant(expr, t_ms).vector or ():
                host = sample.labels.get(HOST_LABEL, "")
                out.setdefault(host, dict.fromkeys(CURRENT))[name] = _round(sample.value, name)
        return out

    def _sparks(self, range_name: str, step_ms: int, end_ms: int) -> Sparks:
        """The sparklines of the window ending at ``end_ms``, None where a step has no
        point."""
        start_ms = end_ms - (SPARK_POINTS - 1) * step_ms
        out: Sparks = {}
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


@dataclass(frozen=True, slots=True)
class _Kept(Generic[T]):
    """A computed value and the time (ms) it is for."""

    at_ms: int
    value: T


class _Latest(Generic[T]):
    """The latest value of ``compute(at_ms)`` (for the newest ``at_ms`` computed), and the
    computation in progress, on the query threads: requests that need a value at the same
    time share one computation, and a failed one is logged and leaves the kept value."""

    def __init__(self, workers: QueryWorkers, compute: Callable[[int], T], what: str) -> None:
        self.workers = workers
        self.compute = compute
        self.what = what
        self.lock = threading.Lock()  # guards latest and running
        self.latest: _Kept[T] | None = None
        self.running: tuple[int, Future[T]] | None = None

    def kept(self) -> _Kept[T] | None:
        """The newest value computed, if any."""
        with self.lock:
            return self.latest

    async def get(self, at_ms: int, *, oldest_ms: int) -> _Kept[T]:
        """The value for ``at_ms``, from the computation in progress if that one is for
        ``oldest_ms`` or later, else from a new one."""
        start_ms, future = self._start(at_ms, oldest_ms)
        return _Kept(start_ms, await asyncio.wrap_future(future))

    def refresh(self, at_ms: int) -> None:
        """Compute the value for ``at_ms`` in the background, unless a computation is in
        progress (or the workers are closed: the server is stopping)."""
        with contextlib.suppress(RuntimeError):
            self._start(at_ms, oldest_ms=None)

    def _start(self, at_ms: int, oldest_ms: int | None) -> tuple[int, Future[T]]:
        """The computation to wait for: the one in progress if it is for ``oldest_ms`` or
        later (None: any will do), else a new one for ``at_ms``."""
        with self.lock:
            if self.running is not None and (oldest_ms is None or self.running[0] >= oldest_ms):
                return self.running
            future = self.workers.submit(self.compute, at_ms)
            self.running = (at_ms, future)
        future.add_done_callback(functools.partial(self._done, at_ms))
        return at_ms, future

    def _done(self, at_ms: int, future: Future[T]) -> None:
        """Keep the value (unless a newer one is kept) and end the computation."""
        failed = future.cancelled() or future.exception() is not None
        with self.lock:
            if self.running is not None and self.running[1] is future:
                self.running = None
            if not failed and (self.latest is None or self.latest.at_ms < at_ms):
                self.latest = _Kept(at_ms, future.result())
        if failed:
            reason = "cancelled" if future.cancelled() else future.exception()
            log.warning("overview: %s were not computed: %s", self.what, reason)


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
