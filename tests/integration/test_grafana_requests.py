"""The requests Grafana's Prometheus data source (Grafana 9 to 11) sends, replayed against our
server and a real Prometheus 2.42 holding the same data (``prom_fixtures``).

Shapes follow Grafana's data source: the health check ``1+1`` instant query, buildinfo (flavor
and version detection), ``/api/v1/labels`` and ``/api/v1/label/<name>/values`` with
``start``/``end`` (whole seconds, the range rounded to the minute) and ``match[]`` for the
query editor and template variables, ``/api/v1/series`` with ``limit`` for the metrics
browser, metadata, exemplars, and queries sent as POST form bodies (Grafana's default HTTP
method): range queries whose start and end are multiples of the step, instant queries for
tables, ``$__rate_interval`` windows (``max(4 * scrape interval, step + scrape interval)``).

Each answer must be what Grafana's response parser reads (``status``, ``data.resultType``,
``result[].metric``, ``values``/``value`` as ``[number, "string"]``, ``errorType``/``error``,
optional ``warnings``), and must agree with Prometheus's.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Iterator
from typing import Any

import pytest

from tests.integration.prom_data import SAMPLES, SCRAPE_MS
from tests.integration.prom_fixtures import Answer, Params, Peers, start_peers

pytestmark = pytest.mark.integration

SCRAPE_S = SCRAPE_MS // 1000
REL_TOL = 1e-6
BUILDINFO_KEYS = {"version", "revision", "branch", "buildUser", "buildDate", "goVersion"}


@pytest.fixture(scope="module")
def peers(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Peers]:
    with start_peers(tmp_path_factory.mktemp("grafana")) as started:
        yield started


def _range(peers: Peers) -> tuple[int, int]:
    """The dashboard's time range as Grafana sends it to the metadata endpoints: whole
    seconds, rounded out to the minute, covering the data."""
    start = peers.dataset.start_ms // 60_000 * 60
    end = (peers.dataset.start_ms + SAMPLES * SCRAPE_MS) // 60_000 * 60 + 60
    return start, end


def _both(peers: Peers, path: str, params: Params, *, post: bool = False) -> tuple[Answer, Answer]:
    return (
        peers.prometheus.request(path, params, post=post),
        peers.ours.request(path, params, post=post),
    )


# --- what Grafana's parser reads ------------------------------------------------------------


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _is_sample_string(value: Any) -> bool:
    if not isinstance(value, str):
        return False
    try:
        float(value)
    except ValueError:
        return False
    return True


def _point_ok(point: Any) -> bool:
    return (
        isinstance(point, list)
        and len(point) == 2
        and _is_number(point[0])
        and _is_sample_string(point[1])
    )


def _metric_ok(metric: Any) -> bool:
    return isinstance(metric, dict) and all(
        isinstance(k, str) and isinstance(v, str) for k, v in metric.items()
    )


def grafana_parse_problems(answer: Answer) -> list[str]:
    """What Grafana's Prometheus response parser would trip over in a query answer."""
    problems: list[str] = []
    if not answer.content_type.startswith("application/json"):
        problems.append(f"Content-Type {answer.content_type!r}")
    body = answer.body
    if not isinstance(body, dict) or body.get("status") not in ("success", "error"):
        return [*problems, f"no status: {body!r}"]
    if "warnings" in body and not all(isinstance(w, str) for w in body["warnings"]):
        problems.append("warnings are not strings")
    if body["status"] == "error":
        if not isinstance(body.get("errorType"), str) or not isinstance(body.get("error"), str):
            problems.append(f"error without errorType/error strings: {body}")
        return problems
    data = body.get("data")
    if not isinstance(data, dict) or "resultType" not in data or "result" not in data:
        return [*problems, f"data without resultType/result: {data!r}"]
    kind, result = data["resultType"], data["result"]
    if kind in ("scalar", "string"):
        ok = isinstance(result, list) and len(result) == 2 and _is_number(result[0])
        ok = ok and (isinstance(result[1], str) if kind == "string" else _point_ok(result))
        return problems if ok else [*problems, f"bad {kind}: {result!r}"]
    if not isinstance(result, list):
        return [*problems, f"result is not a list: {result!r}"]
    for series in result:
        if not isinstance(series, dict) or not _metric_ok(series.get("metric")):
            problems.append(f"series without a metric object: {series!r}")
        elif kind == "vector" and not _point_ok(series.get("value")):
            problems.append(f"bad vector value: {series!r}")
        elif kind == "matrix":
            values = series.get("values")
            if not isinstance(values, list) or not all(_point_ok(p) for p in values):
                problems.append(f"bad matrix values: {series!r}")
            elif any(a[0] >= b[0] for a, b in itertools.pairwise(values)):
                problems.append("matrix timestamps not increasing")
    return problems


def _same_values(a: str, b: str) -> bool:
    x, y = float(a), float(b)
    if math.isnan(x) or math.isnan(y):
        return math.isnan(x) and math.isnan(y)
    return math.isclose(x, y, rel_tol=REL_TOL, abs_tol=1e-9)


def _series_by_metric(data: dict[str, Any]) -> dict[tuple[tuple[str, str], ...], Any]:
    field = "values" if data["resultType"] == "matrix" else "value"
    return {tuple(sorted(s["metric"].items())): s[field] for s in data["result"]}


def assert_same_query_answer(theirs: Answer, ours: Answer) -> None:
    """Both parse for Grafana and carry the same result (values within 1e-6)."""
    assert grafana_parse_problems(theirs) == [], theirs
    assert grafana_parse_problems(ours) == [], ours
    assert ours.status == theirs.status, (theirs.body, ours.body)
    if theirs.body["status"] == "error":
        assert ours.body["errorType"] == theirs.body["errorType"]
        return
    t_data, o_data = theirs.body["data"], ours.body["data"]
    assert o_data["resultType"] == t_data["resultType"]
    if t_data["resultType"] in ("scalar", "string"):
        assert o_data["result"][0] == t_data["result"][0]
        assert _same_values(o_data["result"][1], t_data["result"][1]), (t_data, o_data)
        return
    t_series, o_series = _series_by_metric(t_data), _series_by_metric(o_data)
    assert o_series.keys() == t_series.keys()
    for metric, t_found in t_series.items():
        t_points, o_points = t_found, o_series[metric]
        if t_data["resultType"] == "vector":
            t_points, o_points = [t_points], [o_points]
        assert [p[0] for p in o_points] == [p[0] for p in t_points], metric
        assert all(_same_values(o[1], t[1]) for o, t in zip(o_points, t_points, strict=True)), (
            metric
        )


def _list_data(answer: Answer) -> list[Any]:
    """The ``data`` list of a successful metadata-endpoint answer."""
    assert answer.status == 200, answer.body
    assert answer.content_type.startswith("application/json")
    assert answer.body["status"] == "success"
    data = answer.body["data"]
    assert isinstance(data, list)
    return data


# --- data source setup: health check and version detection -----------------------------------


@pytest.mark.parametrize("post", [False, True], ids=["GET", "POST"])
def test_health_check_query(peers: Peers, post: bool) -> None:
    now = f"{peers.dataset.end_ms / 1000:.3f}"
    theirs, ours = _both(peers, "/api/v1/query", {"query": "1+1", "time": now}, post=post)
    assert_same_query_answer(theirs, ours)
    assert ours.body["data"] == {"resultType": "scalar", "result": [float(now), "2"]}


def test_buildinfo_has_the_fields_grafana_reads(peers: Peers) -> None:
    theirs, ours = _both(peers, "/api/v1/status/buildinfo", {})
    assert theirs.status == ours.status == 200
    assert ours.body["status"] == "success"
    assert set(ours.body["data"]) >= BUILDINFO_KEYS == set(theirs.body["data"]) & BUILDINFO_KEYS
    assert all(isinstance(ours.body["data"][key], str) for key in BUILDINFO_KEYS)
    major = ours.body["data"]["version"].split(".")[0]
    assert major.isdigit(), "Grafana parses a semantic version from data.version"


# --- query editor: label names, label values, series, metadata -------------------------------


@pytest.mark.parametrize("post", [False, True], ids=["GET", "POST"])
def test_label_names_for_the_editor(peers: Peers, post: bool) -> None:
    start, end = _range(peers)
    params = {"start": str(start), "end": str(end)}
    theirs, ours = _both(peers, "/api/v1/labels", params, post=post)
    names = _list_data(ours)
    assert names == sorted(names)
    assert names == _list_data(theirs)


@pytest.mark.parametrize(
    "match",
    ["node_load1", 'node_cpu_seconds_total{instance="host-a:9100"}', '{__name__=~"node_disk_.*"}'],
)
def test_label_names_of_a_metric(peers: Peers, match: str) -> None:
    start, end = _range(peers)
    params = {"start": str(start), "end": str(end), "match[]": match}
    theirs, ours = _both(peers, "/api/v1/labels", params, post=True)
    assert _list_data(ours) == _list_data(theirs)


@pytest.mark.parametrize(
    ("name", "match"),
    [
        ("job", None),
        ("instance", None),
        ("__name__", None),
        ("__name__", '{job="node"}'),
        ("__name__", '{instance="host-c:9100",__name__=~"node_.*"}'),
        ("job", "node_uname_info"),  # label_values(node_uname_info, job)
        ("nodename", 'node_uname_info{job="node"}'),
        ("instance", 'node_uname_info{job="node", nodename="host-b"}'),
        ("mountpoint", 'node_filesystem_size_bytes{fstype!="rootfs"}'),
        ("le", "http_request_duration_seconds_bucket"),
        ("nonexistent", None),
    ],
)
def test_label_values_for_the_editor_and_template_variables(
    peers: Peers, name: str, match: str | None
) -> None:
    start, end = _range(peers)
    params: dict[str, str] = {"start": str(start), "end": str(end)}
    if match is not None:
        params["match[]"] = match
    theirs, ours = _both(peers, f"/api/v1/label/{name}/values", params)
    values = _list_data(ours)
    assert values == sorted(values)
    assert values == _list_data(theirs)


@pytest.mark.parametrize(
    "matches",
    [
        ["node_load1"],
        ['node_network_receive_bytes_total{device=~"eth.*"}'],
        ["node_load1", "node_load5"],
        ['up{instance="host-c:9100"}'],
    ],
)
@pytest.mark.parametrize("post", [False, True], ids=["GET", "POST"])
def test_series_lookup(peers: Peers, matches: list[str], post: bool) -> None:
    """The metrics browser's series lookup (Grafana POSTs it when so configured)."""
    start, end = _range(peers)
    params = {"start": str(start), "end": str(end), "match[]": matches, "limit": "40000"}
    theirs, ours = _both(peers, "/api/v1/series", params, post=post)
    series = _list_data(ours)
    assert all(isinstance(s, dict) and "__name__" in s for s in series)
    key = lambda s: sorted(s.items())  # noqa: E731
    assert sorted(series, key=key) == sorted(_list_data(theirs), key=key)


def test_series_lookup_without_match_is_rejected_as_prometheus_does(peers: Peers) -> None:
    start, end = _range(peers)
    theirs, ours = _both(peers, "/api/v1/series", {"start": str(start), "end": str(end)})
    assert theirs.status == ours.status == 400
    assert ours.body["status"] == "error"
    assert ours.body["errorType"] == theirs.body["errorType"] == "bad_data"


def test_metadata_has_the_shape_grafana_reads(peers: Peers) -> None:
    theirs, ours = _both(peers, "/api/v1/metadata", {})
    assert theirs.status == ours.status == 200
    assert ours.body["status"] == "success"
    metadata = ours.body["data"]
    assert isinstance(metadata, dict)
    for name, entries in metadata.items():
        assert isinstance(name, str)
        assert isinstance(entries, list)
        assert entries
        for entry in entries:
            assert {"type", "help", "unit"} <= set(entry), entry
            assert all(isinstance(entry[k], str) for k in ("type", "help", "unit"))


def test_exemplars_query_answers_an_empty_list(peers: Peers) -> None:
    start, end = _range(peers)
    params = {"query": "rate(node_load1[1m])", "start": str(start), "end": str(end)}
    theirs, ours = _both(peers, "/api/v1/query_exemplars", params, post=True)
    assert theirs.status == ours.status == 200
    assert ours.body == theirs.body == {"status": "success", "data": []}


# --- panels: aligned range queries, table instant queries -------------------------------------


def _rate_interval(step_s: int) -> str:
    """Grafana's ``$__rate_interval`` for a 15 s scrape interval."""
    return f"{max(4 * SCRAPE_S, step_s + SCRAPE_S)}s"


PANEL_QUERIES = [
    '100 - (avg by (instance) (rate(node_cpu_seconds_total{mode="idle"}[$__rate_interval])) * 100)',
    "node_memory_MemAvailable_bytes / node_memory_MemTotal_bytes * 100",
    'sum by (instance) (rate(node_network_receive_bytes_total{device!="lo"}[$__rate_interval]))',
    "node_load1",
    'node_filesystem_avail_bytes{mountpoint="/",fstype!="rootfs"}',
    "histogram_quantile(0.95, sum by (le) (rate(http_request_duration_seconds_bucket"
    "[$__rate_interval])))",
    "up",
]


@pytest.mark.parametrize("step_s", [15, 30])
@pytest.mark.parametrize("query", PANEL_QUERIES)
def test_range_query_with_aligned_steps(peers: Peers, query: str, step_s: int) -> None:
    """A panel over the last 90 minutes of data: Grafana aligns start and end down to a
    multiple of the step and POSTs the form."""
    expr = query.replace("$__rate_interval", _rate_interval(step_s))
    to_s = (peers.dataset.start_ms + SAMPLES * SCRAPE_MS) // 1000
    start = (to_s - 90 * 60) // step_s * step_s
    end = to_s // step_s * step_s
    params = {"query": expr, "start": str(start), "end": str(end), "step": str(step_s)}
    theirs, ours = _both(peers, "/api/v1/query_range", params, post=True)
    assert_same_query_answer(theirs, ours)
    assert ours.body["data"]["resultType"] == "matrix"
    assert ours.body["data"]["result"], "the panel shows data"
    for series in ours.body["data"]["result"]:
        stamps = [p[0] for p in series["values"]]
        assert all(start <= t <= end and t % step_s == 0 for t in stamps), stamps[:5]


def test_coarse_step_answers_keep_grafanas_shape(peers: Peers) -> None:
    """A 6-hour dashboard asks for a 1-minute step: our server may then answer from its
    1-minute tier, so only the shape and the points' times are compared."""
    step_s = 60
    expr = f"sum by (instance) (rate(node_cpu_seconds_total[{_rate_interval(step_s)}]))"
    to_s = (peers.dataset.start_ms + SAMPLES * SCRAPE_MS) // 1000
    start, end = (to_s - 6 * 3600) // step_s * step_s, to_s // step_s * step_s
    params = {"query": expr, "start": str(start), "end": str(end), "step": str(step_s)}
    theirs, ours = _both(peers, "/api/v1/query_range", params, post=True)
    assert grafana_parse_problems(ours) == []
    t_series, o_series = (
        _series_by_metric(theirs.body["data"]),
        _series_by_metric(ours.body["data"]),
    )
    assert o_series.keys() == t_series.keys()
    for metric, points in t_series.items():
        assert [p[0] for p in o_series[metric]] == [p[0] for p in points]


@pytest.mark.parametrize(
    "query",
    [
        "node_load1",
        'sort_desc(sum by (instance) (rate(node_cpu_seconds_total{mode!="idle"}[1m])))',
        'node_uname_info{job="node"}',
        "count(up)",
        "scalar(count(up))",
        "nonexistent_metric",
    ],
)
def test_instant_query_for_tables(peers: Peers, query: str) -> None:
    """Table panels and stat panels send an instant query at the range's end (POST)."""
    at = f"{(peers.dataset.start_ms + (SAMPLES - 10) * SCRAPE_MS) // 1000}"
    theirs, ours = _both(peers, "/api/v1/query", {"query": query, "time": at}, post=True)
    assert_same_query_answer(theirs, ours)
    if query.startswith("sort_desc"):
        values = [float(s["value"][1]) for s in ours.body["data"]["result"]]
        assert values == sorted(values, reverse=True)


@pytest.mark.parametrize(
    ("path", "params"),
    [
        ("/api/v1/query", {"query": "sum(rate(node_load1[5m])"}),
        ("/api/v1/query", {"query": "rate(node_load1)"}),
        ("/api/v1/query_range", {"query": "node_load1", "start": "10", "end": "5", "step": "15"}),
        ("/api/v1/query_range", {"query": "node_load1", "start": "0", "end": "100", "step": "0"}),
        ("/api/v1/query_range", {"query": "node_load1", "start": "x", "end": "100", "step": "15"}),
    ],
)
def test_errors_carry_what_grafana_shows(peers: Peers, path: str, params: dict[str, str]) -> None:
    theirs, ours = _both(peers, path, params, post=True)
    assert grafana_parse_problems(ours) == []
    assert ours.status == theirs.status == 400
    assert ours.body["errorType"] == theirs.body["errorType"] == "bad_data"
