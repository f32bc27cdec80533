"""The Prometheus HTTP API v1 over the PromQL engine and the storage, answering as
Prometheus 2.42 does (same JSON, status codes, ``errorType`` values and messages), so that
Grafana, promtool and other Prometheus clients work unchanged.

Routes (GET, and POST with an urlencoded body where Prometheus accepts it):
``/api/v1/query``, ``/query_range``, ``/query_exemplars``, ``/format_query``, ``/series``,
``/labels``, ``/label/<name>/values``, ``/metadata``, ``/status/buildinfo``,
``/status/runtimeinfo``, ``/status/config``, ``/status/flags``, ``/rules``, ``/alerts``.

Queries run on the query threads (``web.workers``), storage reads in a worker thread, so the
event loop never waits on them.
"""

from __future__ import annotations

import functools
import logging
import os
import re
import time
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import TypeVar

import orjson
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from multimonx.ingest import MetadataStore
from multimonx.model import Labels, Matcher, valid_label_name
from multimonx.promql.ast import Expr
from multimonx.promql.engine import MAX_POINTS_PER_SERIES, Engine
from multimonx.promql.errors import EvalError, QueryTimeout
from multimonx.promql.parser import ParseError, QueryTypeError, check_query_type, parse
from multimonx.promql.printer import format_duration, format_expr
from multimonx.promql.values import QueryResult
from multimonx.rules.group import GroupStatus
from multimonx.storage import MAX_TIME_MS, MIN_TIME_MS, Querier, Storage, StorageUnavailable
from multimonx.storage.tsdb import TSDB
from multimonx.web.envelope import error_response, rfc3339
from multimonx.web.promjson import result_parts, success_body
from multimonx.web.promparams import (
    ApiError,
    ErrorType,
    Params,
    bad_data,
    duration_param,
    invalid_param,
    limit_param,
    matcher_sets,
    read_params,
    required_time_param,
    time_param,
    timeout_param,
)
from multimonx.web.rulesapi import (
    ALERT_FILTERS,
    ALERT_STATES,
    RULE_TYPES,
    alerts_data,
    rules_data,
)
from multimonx.web.workers import QueryWorkers

log = logging.getLogger(__name__)

PREFIX = "/api/v1"
TRUNCATED_WARNING = "results truncated due to limit"
TOO_MANY_SAMPLES = "query processing would load too many samples into memory in query execution"
_NS_PER_MS = 1_000_000
_GET = ["GET"]
_GET_POST = ["GET", "POST"]

Handler = Callable[[Request], Awaitable[Response]]
T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class PrometheusApi:
    """What the Prometheus API routes serve from: the engine for queries, the storage for
    series and label lookups, and what the status endpoints report. ``clock`` (Unix seconds)
    is the default evaluation time of an instant query; ``start_time`` is when the server
    started."""

    engine: Engine
    storage: Storage
    version: str
    start_time: float
    clock: Callable[[], float] = time.time
    metadata: MetadataStore = field(default_factory=MetadataStore)
    workers: QueryWorkers = field(default_factory=QueryWorkers)
    rule_groups: Callable[[], Sequence[GroupStatus]] = tuple


@dataclass(frozen=True, slots=True)
class _Answer:
    """A success: ``data`` already encoded as JSON text (or pieces of it), and any
    warnings."""

    data_json: str | bytes | list[bytes]
    warnings: list[str] = field(default_factory=list)


_ATOI = re.compile(r"[+-]?[0-9]+")


def _whole_number(params: Params, name: str) -> int:
    """An optional integer parameter (-1 when absent), as Prometheus's ``strconv.Atoi``."""
    text = params.get(name)
    if text == "":
        return -1
    if not _ATOI.fullmatch(text):  # int() would also take spaces and underscores
        raise bad_data(f"{name} must be a number")
    return int(text)


def _json(value: object) -> str:
    return orjson.dumps(value).decode()


def _limited(items: list[T], limit: int) -> tuple[list[T], list[str]]:
    """``items`` cut to ``limit`` (0: no limit) and the warning Prometheus 3.x adds."""
    if limit and len(items) > limit:
        return items[:limit], [TRUNCATED_WARNING]
    return items, []


def _query_failure(err: Exception) -> ApiError:
    """An engine or storage error as Prometheus's error type (``returnAPIError``)."""
    if isinstance(err, QueryTimeout):
        return ApiError(ErrorType.TIMEOUT, str(err))
    if isinstance(err, EvalError):
        return ApiError(ErrorType.EXECUTION, str(err))
    if isinstance(err, ParseError | QueryTypeError):
        return bad_data(str(err))
    if isinstance(err, StorageUnavailable):
        return ApiError(ErrorType.UNAVAILABLE, f"storage unavailable: {err}")
    raise err


class _Endpoints:
    """The handlers' logic, each taking the request's parameters and returning an _Answer
    (run in a worker thread by ``_serve``)."""

    def __init__(self, api: PrometheusApi) -> None:
        self.api = api

    # queries

    def query(self, params: Params) -> _Answer:
        now_ms = round(self.api.clock() * 1000)
        t_ms = time_param(params, "time", now_ms)
        timeout_s = timeout_param(params)
        limit = limit_param(params)
        try:
            expr = parse(params.get("query"))
        except ParseError as err:
            raise invalid_param("query", str(err)) from None
        result = self._run(
            lambda: self.api.engine.instant(expr, t_ms, timeout_s=timeout_s), timeout_s
        )
        return _query_answer(result, limit)

    def query_range(self, params: Params) -> _Answer:
        start_ms = required_time_param(params, "start")
        end_ms = required_time_param(params, "end")
        if end_ms < start_ms:
            raise invalid_param("end", "end timestamp must not be before start time")
        step_ns = duration_param(params, "step")
        step_ms = step_ns // _NS_PER_MS if step_ns > 0 else 0
        if step_ms <= 0:
            raise invalid_param(
                "step",
                "zero or negative query resolution step widths are not accepted. "
                "Try a positive integer",
            )
        if (end_ms - start_ms) * _NS_PER_MS // step_ns > MAX_POINTS_PER_SERIES:
            raise bad_data(
                "exceeded maximum resolution of 11,000 points per timeseries. "
                "Try decreasing the query resolution (?step=XX)"
            )
        timeout_s = timeout_param(params)
        limit = limit_param(params)
        expr = _range_expr(params.get("query"))
        result = self._run(
            lambda: self.api.engine.range(expr, start_ms, end_ms, step_ms, timeout_s=timeout_s),
            timeout_s,
        )
        return _query_answer(result, limit)

    def _run(self, evaluate: Callable[[], QueryResult], timeout_s: float | None) -> QueryResult:
        if timeout_s is not None and timeout_s <= 0:
            raise ApiError(ErrorType.TIMEOUT, "query timed out in query execution")
        try:
            return evaluate()
        except (EvalError, ParseError, QueryTypeError, StorageUnavailable) as err:
            raise _query_failure(err) from None
        except MemoryError:  # an array too large to allocate: a query too large to run
            raise ApiError(ErrorType.EXECUTION, TOO_MANY_SAMPLES) from None

    def query_exemplars(self, params: Params) -> _Answer:
        time_param(params, "start", MIN_TIME_MS)
        time_param(params, "end", MAX_TIME_MS)
        try:
            parse(params.get("query"))
        except ParseError as err:
            raise bad_data(str(err)) from None
        return _Answer("[]")  # exemplars are not stored

    def format_query(self, params: Params) -> _Answer:
        try:
            expr = parse(params.get("query"))
        except ParseError as err:
            raise invalid_param("query", str(err)) from None
        return _Answer(_json(format_expr(expr)))

    # series and labels

    def series(self, params: Params) -> _Answer:
        if not params.all("match[]"):
            raise bad_data("no match[] parameter provided")
        start_ms = time_param(params, "start", MIN_TIME_MS)
        end_ms = time_param(params, "end", MAX_TIME_MS)
        try:
            sets = matcher_sets(params.all("match[]"))
        except ApiError as err:
            raise invalid_param("match[]", err.message) from None
        limit = limit_param(params)
        found = self._read(start_ms, end_ms, lambda querier: _series_of(querier, sets))
        listed, warnings = _limited(found, limit)
        return _Answer(_json([dict(labels) for labels in listed]), warnings)

    def labels(self, params: Params) -> _Answer:
        start_ms = time_param(params, "start", MIN_TIME_MS)
        end_ms = time_param(params, "end", MAX_TIME_MS)
        sets = matcher_sets(params.all("match[]"))
        limit = limit_param(params)
        names = self._read(start_ms, end_ms, lambda querier: _union(querier.label_names, sets))
        listed, warnings = _limited(names, limit)
        return _Answer(_json(listed), warnings)

    def label_values(self, name: str, params: Params) -> _Answer:
        if not valid_label_name(name):
            raise bad_data(f"invalid label name: {_json(name)}")
        start_ms = time_param(params, "start", MIN_TIME_MS)
        end_ms = time_param(params, "end", MAX_TIME_MS)
        sets = matcher_sets(params.all("match[]"))
        limit = limit_param(params)
        values = self._read(
            start_ms,
            end_ms,
            lambda querier: _union(lambda ms: querier.label_values(name, ms), sets),
        )
        listed, warnings = _limited(values, limit)
        return _Answer(_json(listed), warnings)

    def _read(self, start_ms: int, end_ms: int, read: Callable[[Querier], list[T]]) -> list[T]:
        """``read(querier)`` over ``[start_ms, end_ms]`` (nothing when the range is empty)."""
        if start_ms > end_ms:
            return []
        try:
            with self.api.storage.querier(start_ms, end_ms) as querier:
                return read(querier)
        except StorageUnavailable as err:
            raise _query_failure(err) from None
        except ValueError as err:  # a matcher the storage refuses (an invalid regex)
            raise bad_data(str(err)) from None

    # metadata and status

    def metadata(self, params: Params) -> _Answer:
        found = self.api.metadata.query(
            int(self.api.clock() * 1000),
            metric=params.get("metric"),
            limit=_whole_number(params, "limit"),
            limit_per_metric=_whole_number(params, "limit_per_metric"),
        )
        return _Answer(
            _json(
                {
                    name: [{"type": m.type, "help": m.help, "unit": m.unit} for m in variants]
                    for name, variants in found.items()
                }
            )
        )

    def buildinfo(self, params: Params) -> _Answer:
        return _Answer(
            _json(
                {
                    "version": self.api.version,
                    "revision": "",
                    "branch": "",
                    "buildUser": "",
                    "buildDate": "",
                    "goVersion": "",
                }
            )
        )

    def runtimeinfo(self, params: Params) -> _Answer:
        return _Answer(
            _json(
                {
                    "startTime": rfc3339(self.api.start_time),
                    "CWD": os.getcwd(),
                    "reloadConfigSuccess": True,
                    "lastConfigTime": rfc3339(self.api.start_time),
                    "corruptionCount": 0,
                    "goroutineCount": 0,
                    "GOMAXPROCS": os.cpu_count() or 1,
                    "GOGC": "",
                    "GODEBUG": "",
                    "storageRetention": retention_text(self.api.storage),
                }
            )
        )

    def config(self, params: Params) -> _Answer:
        return _Answer('{"yaml":""}')  # no Prometheus configuration to show

    def flags(self, params: Params) -> _Answer:
        return _Answer("{}")

    def rules(self, params: Params) -> _Answer:
        rule_type = params.get("type").lower()
        if rule_type and rule_type not in RULE_TYPES:
            raise bad_data(f"not supported value {_json(rule_type)}")
        return _Answer(orjson.dumps(rules_data(self.api.rule_groups(), rule_type)))

    def alerts(self, params: Params) -> _Answer:
        labels = {
            label: params.get(name) for name, label in ALERT_FILTERS.items() if params.has(name)
        }
        state = params.get("state").lower()
        if state and state not in ALERT_STATES:
            raise bad_data(f"state must be pending or firing, not {_json(state)}")
        return _Answer(orjson.dumps(alerts_data(self.api.rule_groups(), labels, state)))


_BYTE_UNITS = (("TiB", 1 << 40), ("GiB", 1 << 30), ("MiB", 1 << 20), ("KiB", 1 << 10))


def _bytes_text(size: int) -> str:
    """``512MiB``: the largest binary unit that divides ``size``, else bytes (``1000B``)."""
    unit, scale = next(((u, s) for u, s in _BYTE_UNITS if size % s == 0), ("B", 1))
    return f"{size // scale}{unit}"


def retention_text(storage: Storage) -> str:
    """How long ``storage`` keeps data, for ``/status/runtimeinfo`` (Prometheus writes
    ``15d`` or ``15d or 10GiB``): per tier for the TSDB; in-memory storage keeps everything."""
    if not isinstance(storage, TSDB):
        return "unlimited"
    options = storage.options
    text = (
        f"raw {format_duration(options.raw_retention_ms)}, "
        f"1m {format_duration(options.minute_retention_ms)}, "
        f"5m {format_duration(options.five_minute_retention_ms)}"
    )
    if options.max_bytes is not None:
        text += f" or {_bytes_text(options.max_bytes)}"
    return text


def _range_expr(text: str) -> Expr:
    """A range query's expression; Prometheus reports its errors without a parameter name."""
    try:
        expr = parse(text)
        check_query_type(expr, range_query=True)
    except (ParseError, QueryTypeError) as err:
        raise bad_data(str(err)) from None
    return expr


def _query_answer(result: QueryResult, limit: int) -> _Answer:
    """A query result cut to ``limit`` series (Prometheus 3.x), encoded."""
    warnings: list[str] = []
    if result.vector is not None:
        samples, warnings = _limited(result.vector, limit)
        result = QueryResult("vector", vector=samples)
    elif result.matrix is not None:
        series, warnings = _limited(result.matrix, limit)
        result = QueryResult("matrix", matrix=series)
    return _Answer(result_parts(result), warnings)


def _union(
    read: Callable[[Sequence[Matcher]], list[str]], sets: list[tuple[Matcher, ...]]
) -> list[str]:
    """Sorted union of ``read(matchers)`` over the matcher sets (everything when none)."""
    if not sets:
        return read(())
    found: set[str] = set()
    for matchers in sets:
        found.update(read(matchers))
    return sorted(found)


def _series_of(querier: Querier, sets: list[tuple[Matcher, ...]]) -> list[Labels]:
    """Sorted distinct label sets of the series matching any of the matcher sets."""
    found: set[Labels] = set()
    for matchers in sets:
        found.update(querier.series_labels(matchers))
    return sorted(found)


def _respond(answer: _Answer) -> Response:
    return Response(success_body(answer.data_json, answer.warnings), media_type="application/json")


Runner = Callable[[Callable[[Params], _Answer], Params], Awaitable[_Answer]]
"""How a handler runs its endpoint off the event loop: ``await run(endpoint, params)``."""


def _serve(endpoint: Callable[[Params], _Answer], run: Runner = run_in_threadpool) -> Handler:
    """A handler: read the parameters, run ``endpoint`` off the event loop with ``run``
    (a worker thread by default), answer."""

    async def handle(request: Request) -> Response:
        try:
            params = await read_params(request)
            answer = await run(endpoint, params)
        except ApiError as err:
            return error_response(err.error_type.status, err.error_type.value, err.message)
        except Exception:  # a bug: report it without a traceback to the client
            log.exception("%s %s failed", request.method, request.url.path)
            return error_response(500, ErrorType.INTERNAL.value, "internal error")
        return _respond(answer)

    return handle


def prometheus_routes(api: PrometheusApi) -> list[BaseRoute]:
    """The routes of the Prometheus HTTP API v1 (``/api/v1/query``, ``/api/v1/series``...)."""
    e = _Endpoints(api)

    async def label_values(request: Request) -> Response:
        name = str(request.path_params["name"])
        return await _serve(functools.partial(e.label_values, name))(request)

    routes: list[BaseRoute] = [
        Route(PREFIX + path, _serve(endpoint, api.workers.run), methods=_GET_POST)
        for path, endpoint in (("/query", e.query), ("/query_range", e.query_range))
    ]
    table: Iterable[tuple[str, Callable[[Params], _Answer], list[str]]] = (
        ("/query_exemplars", e.query_exemplars, _GET_POST),
        ("/format_query", e.format_query, _GET_POST),
        ("/series", e.series, _GET_POST),
        ("/labels", e.labels, _GET_POST),
        ("/metadata", e.metadata, _GET),
        ("/status/buildinfo", e.buildinfo, _GET),
        ("/status/runtimeinfo", e.runtimeinfo, _GET),
        ("/status/config", e.config, _GET),
        ("/status/flags", e.flags, _GET),
        ("/rules", e.rules, _GET),
        ("/alerts", e.alerts, _GET),
    )
    routes += [
        Route(PREFIX + path, _serve(endpoint), methods=methods) for path, endpoint, methods in table
    ]
    routes.append(Route(PREFIX + "/label/{name}/values", label_values, methods=_GET))
    return routes
