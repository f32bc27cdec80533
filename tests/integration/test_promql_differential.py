"""Differential test: the same PromQL through the HTTP API of our server and of Prometheus 2.42.

Both hold ``prom_data``'s samples (see ``prom_fixtures``). Every query below runs as an
instant query at several times and as range queries with several steps, on both; the answers
must agree: same status and result type, same series (labels), same timestamps, values
within a relative tolerance of 1e-6 (NaN equals NaN), and for ``sort*`` queries the same order
of values. Errors must be errors on both sides with the same ``errorType``.

Evaluation times sit at 500 ms past a whole second and samples never do, so Prometheus 2.x's
closed range windows and our 3.x left-open ones select the same samples (prom_data's
docstring). Steps stay below one minute: a coarser step lets our server answer from a
downsampled tier by design, which Prometheus has no equivalent of.

What 2.42 and 3.x (our semantics) do differently is listed in ``EQUIVALENT`` (the same question
spelled for 2.42) and ``OURS_ONLY`` (functions 2.42 lacks), what our downsampled tiers answer
approximately by design in ``APPROXIMATE``, each with its reason; any other difference fails.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.integration.conftest import bench_module
from tests.integration.prom_data import APPEARS_AT, DOWN_AT, REBOOT_AT, SAMPLES, SCRAPE_MS
from tests.integration.prom_fixtures import Answer, Peer, Peers, start_peers

pytestmark = pytest.mark.integration

DASHBOARD = Path(__file__).resolve().parents[3] / "shared" / "compat" / "node-exporter-full.json"
REL_TOL = 1e-6
ABS_TOL = 1e-9  # for results that are zero up to rounding (a stddev of equal values, ...)
MINUTE_MS = 60_000

# --- the queries ---------------------------------------------------------------------------

CPU_RATE = "rate(node_cpu_seconds_total[5m])"
BUCKETS = "http_request_duration_seconds_bucket"

SELECTORS = [
    "node_load1",
    'node_cpu_seconds_total{mode="user"}',
    'node_cpu_seconds_total{mode=~"user|system",cpu!="0"}',
    'node_memory_MemAvailable_bytes{instance=~"host-(a|c).*"}',
    '{__name__=~"node_load.*"}',
    '{__name__=~"node_load1|up", instance!="host-b:9100"}',
    'node_filesystem_avail_bytes{fstype!="rootfs"}',
    'node_network_receive_bytes_total{device!~"lo|eth1"}',
    'node_network_receive_bytes_total{device="eth1"}',
    "up",
    'node_load1{instance="host-c:9100"}',
    "node_hwmon_temp_celsius",
    f'{BUCKETS}{{handler="/metrics",instance="host-b:9100"}}',
    "nonexistent_metric",
    "node_load1[2m]",
]

RANGE_FUNCTIONS = [
    *(
        f"{f}({sel})"
        for f in ("rate", "irate", "increase")
        for sel in (
            "node_network_receive_bytes_total[5m]",
            'node_cpu_seconds_total{mode="user"}[1m]',
            "node_vmstat_pgmajfault[10m]",
            "node_network_receive_errs_total[3m]",
            f'{BUCKETS}{{le="0.1"}}[2m]',
        )
    ),
    *(
        f"{f}({sel})"
        for f in ("delta", "idelta", "deriv", "changes", "resets")
        for sel in (
            "node_load1[10m]",
            "node_hwmon_temp_celsius[5m]",
            "node_memory_MemAvailable_bytes[3m]",
            "node_boot_time_seconds[30m]",
        )
    ),
    *(
        f"{f}_over_time({sel})"
        for f in (
            "avg",
            "min",
            "max",
            "sum",
            "count",
            "stddev",
            "stdvar",
            "last",
            "present",
        )
        for sel in ("node_load1[10m]", "node_hwmon_temp_celsius[5m]", "node_procs_running[3m]")
    ),
    "quantile_over_time(0.1, node_load1[10m])",
    "quantile_over_time(0.9, node_hwmon_temp_celsius[5m])",
    "quantile_over_time(0.5, node_memory_MemFree_bytes[7m])",
    "quantile_over_time(0, node_load1[2m])",
    "quantile_over_time(1.5, node_load1[2m])",
    "predict_linear(node_memory_MemAvailable_bytes[3m], 3600)",
    'predict_linear(node_filesystem_avail_bytes{fstype!="rootfs"}[30m], 4 * 3600)',
    "absent_over_time(nonexistent_metric[5m])",
    'absent_over_time(node_load1{instance="host-c:9100"}[5m])',
    'absent_over_time(up{job="node",instance="host-z"}[1m])',
]

INSTANT_FUNCTIONS = [
    *(
        f"{f}(node_load1)"
        for f in ("abs", "ceil", "floor", "round", "exp", "ln", "log2", "log10", "sqrt")
    ),
    *(f"{f}(node_load1 / 10)" for f in ("sin", "cos", "tan", "asin", "acos", "atan")),
    *(f"{f}(node_load1 / 10)" for f in ("sinh", "cosh", "tanh", "asinh", "atanh")),
    "acosh(node_load1 + 1)",
    "deg(node_load1)",
    "rad(node_load1)",
    "pi()",
    "abs(-node_load1)",
    "sgn(node_load1 - 2)",
    "round(node_load1, 0.25)",
    "round(node_memory_MemAvailable_bytes, 1e6)",
    "clamp(node_load1, 1, 2)",
    "clamp(node_load1, 2, 1)",
    "clamp_min(node_load1, 1.5)",
    "clamp_max(node_load1, 1.5)",
    "ln(node_load1 - 2)",
    "sqrt(node_load1 - 2)",
    "timestamp(node_load1)",
    "timestamp(rate(node_cpu_seconds_total[5m]))",
    *(
        f"{f}(node_boot_time_seconds)"
        for f in (
            "year",
            "month",
            "day_of_month",
            "day_of_week",
            "day_of_year",
            "days_in_month",
            "hour",
            "minute",
        )
    ),
    "year()",
    "month()",
    "day_of_month()",
    "hour()",
    "minute()",
    "days_in_month()",
    "time()",
    "time() - node_boot_time_seconds",
    "vector(time())",
    "vector(1)",
    "scalar(sum(node_load1))",
    "scalar(node_load1)",
    "scalar(nonexistent_metric)",
    "sort(node_load1)",
    "sort_desc(node_load1)",
    "sort(node_hwmon_temp_celsius)",
    "sort_desc(node_hwmon_temp_celsius)",
    'label_replace(node_load1, "host", "$1", "instance", "(.*):.*")',
    'label_replace(node_load1, "host", "$1", "instance", "nomatch(.*)")',
    'label_replace(node_load1, "instance", "", "instance", ".*")',
    'label_replace(up, "port", "$2", "instance", "([^:]+):(.*)")',
    'label_join(node_load1, "combo", "-", "job", "instance")',
    'label_join(node_load1, "job", "", "instance")',
    *(
        f"histogram_quantile({q}, sum by (le) (rate({BUCKETS}[5m])))"
        for q in ("0", "0.5", "0.9", "0.99", "1", "1.5", "-0.5")
    ),
    f"histogram_quantile(0.9, sum by (le, instance) (rate({BUCKETS}[5m])))",
    f"histogram_quantile(0.75, sum by (le, handler) (rate({BUCKETS}[10m])))",
    f'histogram_quantile(0.5, {BUCKETS}{{handler="/metrics"}})',
    f"histogram_quantile(0.5, rate({BUCKETS}[1m]))",
    "absent(nonexistent_metric)",
    'absent(nonexistent_metric{job="x",instance=~"y.*"})',
    "absent(node_load1)",
    'absent(up{instance="host-c:9100"})',
    "absent(sum(nonexistent_metric))",
]

AGGREGATIONS = [
    *(
        f"{agg}{grouping}({CPU_RATE})"
        for agg in ("sum", "avg", "min", "max", "count", "group", "stddev", "stdvar")
        for grouping in ("", " by (instance)", " without (cpu)", " by (mode, instance)")
    ),
    *(f"{agg} by (instance) (node_hwmon_temp_celsius)" for agg in ("sum", "avg", "min", "max")),
    "sum(node_memory_MemAvailable_bytes) by (job)",
    "sum by () (node_load1)",
    "count without (instance, job) (node_load1)",
    "sum by (nonexistent) (node_load1)",
    f"topk(3, {CPU_RATE})",
    f"topk by (instance) (2, {CPU_RATE})",
    "bottomk(2, node_load1)",
    "bottomk without (cpu) (1, node_cpu_seconds_total)",
    "topk(2, node_hwmon_temp_celsius)",
    "topk(0, node_load1)",
    f"quantile(0.5, {CPU_RATE})",
    f"quantile by (mode) (0.9, {CPU_RATE})",
    "quantile(0, node_load1)",
    "quantile(1.5, node_load1)",
    'count_values("v", node_procs_running)',
    'count_values by (instance) ("v", node_tcp_connection_states)',
    'count_values("state", node_tcp_connection_states)',
    "count(count by (cpu, instance) (node_cpu_seconds_total))",
    f"sum(sum by (instance) ({CPU_RATE}))",
]

BINARY = [
    "node_load1 + 1",
    "2 * node_load1",
    "node_load1 / 0",
    "-node_load1",
    "node_load1 % 0.7",
    "node_load1 ^ 2",
    "2 ^ node_load1",
    "node_load1 > 1.5",
    "node_load1 > bool 1.5",
    "1.5 < node_load1",
    "node_load1 == bool node_load5",
    "node_load1 != node_load5",
    "node_load1 >= on(instance) node_load5",
    "node_memory_MemAvailable_bytes / node_memory_MemTotal_bytes",
    "100 * (1 - node_memory_MemAvailable_bytes / node_memory_MemTotal_bytes)",
    "node_load1 - on(instance) node_load5",
    "node_load1 / ignoring(job) node_load15",
    f"{CPU_RATE} / on(instance) group_left count by (instance) "
    '(node_cpu_seconds_total{mode="idle"})',
    "node_filesystem_avail_bytes * on(instance) group_left(nodename) node_uname_info",
    "node_uname_info * on(instance) group_right(nodename, release) node_load1",
    "node_network_receive_bytes_total > on(instance, device) group_left "
    "node_network_transmit_bytes_total",
    "node_filesystem_avail_bytes < node_filesystem_size_bytes * 0.6",
    "node_filesystem_avail_bytes < bool ignoring(fstype) node_filesystem_size_bytes * 0.6",
    "node_load1 and node_load5 > 2",
    "node_load1 and on(instance) (node_load5 > 2)",
    "node_load1 or node_load5",
    "node_load1 or on(instance) up",
    "node_load1 unless on(instance) node_load5 > 2",
    'up unless on(instance) node_load1{instance="host-a:9100"}',
    "vector(1) or node_load1",
    "(node_load1 > 2) or (node_load1 < 1)",
    "node_load1 and ignoring(job) up",
    "1 + 2 * 3",
    "2 ^ 3 ^ 2",
    "5 % 3",
    "1 > bool 2",
    "-(2 + 3) * 4",
    'scalar(up{instance="host-a:9100"}) * 3',
    "node_cpu_seconds_total + on(instance) node_load1",
    "node_load1 + on(instance) group_left node_cpu_seconds_total",
    "node_load1 and 1",
    "sum(rate(node_network_receive_bytes_total[5m])) by (instance) "
    "/ sum(rate(node_network_receive_packets_total[5m])) by (instance)",
    "node_tcp_connection_states > on(instance) group_left node_load1 * 10",
]

TIME_MODIFIERS = [
    "node_load1 offset 10m",
    "node_load1 offset -5m",
    "rate(node_network_receive_bytes_total[5m] offset 30m)",
    "sum(node_load1 offset 1h)",
    "node_load1 @ {at}",
    "node_load1 @ {at} offset 5m",
    "node_load1 @ start()",
    "node_load1 @ end()",
    "rate(node_cpu_seconds_total[5m] @ end())",
    "timestamp(node_load1 @ start())",
    "node_load1 - node_load1 offset 1m",
    "sum_over_time(node_load1[5m] @ {at})",
]

SUBQUERIES = [
    "max_over_time(rate(node_network_receive_bytes_total[1m])[10m:1m])",
    "avg_over_time(node_load1[30m:])",
    "deriv(sum(node_memory_MemAvailable_bytes)[15m:30s])",
    "min_over_time(node_load1[10m:1m] offset 5m)",
    'rate(node_cpu_seconds_total{mode="idle"}[5m:15s])',
    "max_over_time((node_load1 > 2)[20m:2m])",
    "last_over_time(node_load1[5m:1m] @ {at})",
    "sum_over_time(sum(node_tcp_connection_states)[10m:20s])",
    "count_over_time(up[10m:1m])",
    "changes((node_load1 > 1.5)[30m:30s])",
    "quantile_over_time(0.5, rate(node_disk_read_bytes_total[2m])[20m:1m])",
]

LITERALS_AND_ERRORS = [
    '"hello"',
    "42",
    "-1.5e3",
    "NaN",
    "Inf",
    "-Inf",
    "0x1f",
    "rate(node_load1)",
    "sum(",
    "node_load1 +",
    'label_replace(node_load1, "x", "$1", "instance", "(")',
    "histogram_quantile(0.5, node_load1)",
    "count(up)",
    "timestamp(up)",
    "up == 1",
    "node_load1{}",
]

# --- documented 2.42 / 3.x differences -----------------------------------------------------

_HOLT_WINTERS = "3.0 renamed holt_winters to double_exponential_smoothing; same computation"
_ATAN2 = (
    "atan2 drops the metric name since 2.46 (prometheus#12595); 2.42 keeps it, so its answer "
    "is compared with the name removed"
)
_STDDEV_NAN = (
    "3.x gives NaN for the stddev/stdvar of a group whose only value is NaN or Inf, 2.42 "
    "gives 0; adding 0 * the group's sum carries the NaN through 2.42 too"
)
_OPEN_SUBQUERY = (
    "a subquery's window is left-open in 3.x: an inner [5m:1m] evaluated at a multiple of "
    "1m (the outer subquery's steps) holds 5 points, 2.42's closed window 6; on 2.42 a "
    "[4m59s:1m] window holds the same 5"
)

EQUIVALENT = {
    "double_exponential_smoothing(node_load1[10m], 0.3, 0.6)": (
        "holt_winters(node_load1[10m], 0.3, 0.6)",
        _HOLT_WINTERS,
    ),
    "double_exponential_smoothing(node_memory_MemAvailable_bytes[20m], 0.5, 0.1)": (
        "holt_winters(node_memory_MemAvailable_bytes[20m], 0.5, 0.1)",
        _HOLT_WINTERS,
    ),
    "node_load1 atan2 node_load5": (
        'label_replace(node_load1 atan2 node_load5, "__name__", "", "", "")',
        _ATAN2,
    ),
    "node_load1 atan2 0.5": ('label_replace(node_load1 atan2 0.5, "__name__", "", "", "")', _ATAN2),
    "stddev by (instance) (node_hwmon_temp_celsius)": (
        "stddev by (instance) (node_hwmon_temp_celsius)"
        " + 0 * sum by (instance) (node_hwmon_temp_celsius)",
        _STDDEV_NAN,
    ),
    "stdvar by (instance) (node_hwmon_temp_celsius)": (
        "stdvar by (instance) (node_hwmon_temp_celsius)"
        " + 0 * sum by (instance) (node_hwmon_temp_celsius)",
        _STDDEV_NAN,
    ),
    "max_over_time(avg_over_time(node_load1[5m:1m])[10m:1m])": (
        "max_over_time(avg_over_time(node_load1[4m59s:1m])[10m:1m])",
        _OPEN_SUBQUERY,
    ),
}
"""Our query -> (the same question asked of 2.42, why it must be asked differently)."""

APPROXIMATE: dict[str, tuple[float, str]] = {}
"""Queries our design answers approximately: (relative tolerance, why). None today: a
downsampled tier answers only ranges that raw retention no longer covers, and this data is
recent (storage ``coarse_step_tiers``)."""

OURS_ONLY = {
    "mad_over_time(node_load1[10m])": "experimental since 2.47, not in 2.42",
    "first_over_time(node_load1[10m])": "new in 3.x",
    'sort_by_label(node_load1, "instance")': "experimental since 2.47, not in 2.42",
    'sort_by_label_desc(node_cpu_seconds_total, "cpu", "mode")': "experimental since 2.47",
    "limitk(2, node_load1)": "new in 3.x (experimental)",
    "limit_ratio(0.5, node_load1)": "new in 3.x (experimental)",
}
"""Queries 2.42 cannot answer: ours must answer them without an error."""

# --- evaluation times ----------------------------------------------------------------------


@dataclass(frozen=True)
class Evaluation:
    """An instant (``step_ms`` None) or range evaluation; times 500 ms past a second."""

    start_ms: int
    end_ms: int
    step_ms: int | None = None

    def params(self) -> dict[str, str]:
        """The time parameters of the API request."""
        if self.step_ms is None:
            return {"time": _seconds(self.start_ms)}
        return {
            "start": _seconds(self.start_ms),
            "end": _seconds(self.end_ms),
            "step": _seconds(self.step_ms),
        }

    @property
    def path(self) -> str:
        """The API endpoint that evaluates it."""
        return "/api/v1/query" if self.step_ms is None else "/api/v1/query_range"

    def __str__(self) -> str:
        if self.step_ms is None:
            return f"instant@{self.start_ms}"
        return f"range[{self.start_ms}..{self.end_ms} step {self.step_ms}]"


def _seconds(t_ms: int) -> str:
    return f"{t_ms / 1000:.3f}"


def _evaluations(start_ms: int) -> list[Evaluation]:
    """Instant queries: mid-run, after host-b's reboot, while host-c is going stale, and
    after the last sample (lookback still covers it); range queries over the whole span,
    around the reboot, and from before host-c goes down to past the end of all data."""
    half = 500

    def instant(ms: int) -> Evaluation:
        return Evaluation(start_ms + ms + half, start_ms + ms + half)

    last = SAMPLES * SCRAPE_MS
    return [
        instant(45 * MINUTE_MS + 7_000),
        instant(REBOOT_AT * SCRAPE_MS + 10 * MINUTE_MS + 3_000),
        instant(DOWN_AT * SCRAPE_MS + 2 * MINUTE_MS + 11_000),
        instant(last + 3 * MINUTE_MS + 1_000),
        Evaluation(start_ms + 10 * MINUTE_MS + half, start_ms + last + 8 * MINUTE_MS, 55_000),
        Evaluation(
            start_ms + (APPEARS_AT * SCRAPE_MS) - MINUTE_MS + half,
            start_ms + (REBOOT_AT * SCRAPE_MS) + 10 * MINUTE_MS,
            15_000,
        ),
        Evaluation(
            start_ms + (DOWN_AT * SCRAPE_MS) - 20 * MINUTE_MS + half,
            start_ms + last + 10 * MINUTE_MS,
            37_000,
        ),
    ]


def _dashboard_queries() -> list[str]:
    """The node-exporter-full dashboard's expressions over metrics we generate, Grafana's
    variables substituted."""
    if not DASHBOARD.exists():
        return []
    dashboard = json.loads(DASHBOARD.read_text())
    variables = {
        "node": "host-a:9100",
        "job": "node",
        "__rate_interval": "1m",
        "__interval": "30s",
        "__range": "1h",
        "__range_s": "3600",
        "__range_ms": "3600000",
    }
    found: set[str] = set()
    for expr in bench_module("dashboard_coverage").panel_expressions(dashboard):
        query = re.sub(
            r"\$\{(\w+)(?::[^}]*)?\}|\[\[(\w+)\]\]|\$(\w+)",
            lambda m: variables.get(next(g for g in m.groups() if g), m.group(0)),
            expr,
        )
        if "$" not in query:
            found.add(query)
    return sorted(found)


def _with_data(queries: list[str], metric_names: set[str]) -> list[str]:
    """The queries that name at least one metric of the data set."""
    words = re.compile(r"[a-zA-Z_:][a-zA-Z0-9_:]*")
    return [q for q in queries if metric_names & set(words.findall(q))]


# --- comparison ----------------------------------------------------------------------------


def _close(a: float, b: float, rel_tol: float) -> bool:
    if math.isnan(a) or math.isnan(b):
        return math.isnan(a) and math.isnan(b)
    return math.isclose(a, b, rel_tol=rel_tol, abs_tol=ABS_TOL)


def _key(metric: dict[str, str]) -> str:
    return json.dumps(sorted(metric.items()))


def _value(point: list[Any]) -> tuple[float, float]:
    return float(point[0]), float(point[1])


def compare(theirs: Answer, ours: Answer, ordered: bool, rel_tol: float = REL_TOL) -> str | None:
    """Why two answers differ, or None when they agree (values within ``rel_tol``)."""
    if theirs.status != ours.status:
        return f"HTTP {theirs.status} vs ours {ours.status}: {theirs.body} / {ours.body}"
    if theirs.body is None or ours.body is None:
        return "not JSON"
    if theirs.body["status"] != "success":
        if theirs.body.get("errorType") != ours.body.get("errorType"):
            return f"errorType {theirs.body.get('errorType')} vs ours {ours.body.get('errorType')}"
        return None
    t_data, o_data = theirs.body["data"], ours.body["data"]
    if t_data["resultType"] != o_data["resultType"]:
        return f"resultType {t_data['resultType']} vs ours {o_data['resultType']}"
    kind = t_data["resultType"]
    if kind in ("scalar", "string"):
        return _compare_points([t_data["result"]], [o_data["result"]], rel_tol, kind == "string")
    return _compare_series(kind, t_data["result"], o_data["result"], ordered, rel_tol)


def _compare_points(
    theirs: list[Any], ours: list[Any], rel_tol: float, strings: bool = False
) -> str | None:
    if len(theirs) != len(ours):
        return f"{len(theirs)} points vs ours {len(ours)}"
    for t, o in zip(theirs, ours, strict=True):
        if strings:
            if t != o:
                return f"{t} vs ours {o}"
            continue
        (tt, tv), (ot, ov) = _value(t), _value(o)
        if tt != ot or not _close(tv, ov, rel_tol):
            return f"point {t} vs ours {o}"
    return None


def _compare_series(
    kind: str, theirs: list[Any], ours: list[Any], ordered: bool, rel_tol: float
) -> str | None:
    field = "value" if kind == "vector" else "values"
    t_by = {_key(s["metric"]): s for s in theirs}
    o_by = {_key(s["metric"]): s for s in ours}
    if len(o_by) != len(ours):
        return "ours has duplicate series"
    if t_by.keys() != o_by.keys():
        return (
            f"series only in Prometheus: {sorted(t_by.keys() - o_by.keys())[:3]}; "
            f"only in ours: {sorted(o_by.keys() - t_by.keys())[:3]}"
        )
    for key, series in t_by.items():
        t_points = [series[field]] if kind == "vector" else series[field]
        o_points = [o_by[key][field]] if kind == "vector" else o_by[key][field]
        why = _compare_points(t_points, o_points, rel_tol)
        if why:
            return f"{key}: {why}"
    if ordered:
        t_values = [float(s["value"][1]) for s in theirs]
        o_values = [float(s["value"][1]) for s in ours]
        if not all(_close(a, b, rel_tol) for a, b in zip(t_values, o_values, strict=True)):
            return f"order {t_values} vs ours {o_values}"
    return None


# --- the test ------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def peers(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Peers]:
    with start_peers(tmp_path_factory.mktemp("differential")) as started:
        yield started


@dataclass(frozen=True)
class Case:
    """One query at one evaluation, as each side spells it."""

    ours: str
    theirs: str
    evaluation: Evaluation


def _ask(peer: Peer, query: str, evaluation: Evaluation) -> Answer:
    return peer.request(evaluation.path, {"query": query, **evaluation.params()}, post=True)


def _cases(peers: Peers) -> list[Case]:
    at = _seconds(peers.dataset.start_ms + 50 * MINUTE_MS + 500)
    queries = [
        *SELECTORS,
        *RANGE_FUNCTIONS,
        *INSTANT_FUNCTIONS,
        *AGGREGATIONS,
        *BINARY,
        *TIME_MODIFIERS,
        *SUBQUERIES,
        *LITERALS_AND_ERRORS,
        *_with_data(_dashboard_queries(), peers.dataset.metric_names()),
    ]
    pairs = [
        *((q, q) for q in queries),
        *((q, spelled) for q, (spelled, _) in EQUIVALENT.items()),
        *((q, q) for q in APPROXIMATE),
    ]
    return [
        Case(ours.replace("{at}", at), theirs.replace("{at}", at), evaluation)
        for ours, theirs in dict(pairs).items()
        for evaluation in _evaluations(peers.dataset.start_ms)
    ]


def _difference(peers: Peers, case: Case) -> str | None:
    theirs = _ask(peers.prometheus, case.theirs, case.evaluation)
    ours = _ask(peers.ours, case.ours, case.evaluation)
    ordered = case.evaluation.step_ms is None and case.ours.startswith("sort")
    rel_tol = APPROXIMATE[case.ours][0] if case.ours in APPROXIMATE else REL_TOL
    return compare(theirs, ours, ordered, rel_tol)


def test_queries_answer_as_prometheus_answers_them(peers: Peers) -> None:
    cases = _cases(peers)
    assert len({c.ours for c in cases}) >= 200
    with ThreadPoolExecutor(max_workers=4) as pool:
        differences = list(pool.map(lambda c: _difference(peers, c), cases))
    failures = [
        f"{case.ours!r} {case.evaluation}: {why}"
        for case, why in zip(cases, differences, strict=True)
        if why is not None
    ]
    queries = {c.ours for c in cases}
    failed = {c.ours for c, why in zip(cases, differences, strict=True) if why is not None}
    print(f"\n{len(queries)} queries, {len(cases)} evaluations, {len(failed)} queries differ")
    assert not failures, "\n".join(failures[:60])


@pytest.mark.parametrize("query", sorted(OURS_ONLY))
def test_queries_new_in_3x_are_answered(peers: Peers, query: str) -> None:
    for evaluation in _evaluations(peers.dataset.start_ms):
        answer = _ask(peers.ours, query, evaluation)
        assert answer.status == 200, (OURS_ONLY[query], answer.body)
        assert answer.body["status"] == "success"


def test_documented_differences_are_real(peers: Peers) -> None:
    """Each ``EQUIVALENT`` entry is needed: asked as written, 2.42 answers differently."""
    evaluations = _evaluations(peers.dataset.start_ms)
    for query, (_, reason) in EQUIVALENT.items():
        differs = any(
            compare(_ask(peers.prometheus, query, e), _ask(peers.ours, query, e), False)
            for e in evaluations
        )
        assert differs, f"{query!r} now answers as 2.42 does; drop it from EQUIVALENT ({reason})"
