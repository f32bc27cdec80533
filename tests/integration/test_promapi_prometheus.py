"""Our Prometheus HTTP API side by side with a real Prometheus 2.42 holding the same samples.

The same list of requests (every endpoint, GET and POST, valid and invalid) goes to both
servers (``prom_fixtures.start_peers``: real processes on 127.0.0.1, stopped by PID); the
answers must have the same status code and ``errorType``, the same error message where
noted, and the same data (series, timestamps, values within 1e-6 relative). Then ``promtool
query`` must print the same against both.

Known, deliberate differences are not asked here: unknown paths answer 404 with our JSON
envelope instead of Go's text page; ``limit`` is a Prometheus 3.x parameter that 2.42 ignores;
the status endpoints describe MultiMonX, so only their fields are compared.
"""

from __future__ import annotations

import math
import subprocess
import urllib.parse
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest

from tests.integration.prom_data import SAMPLES, SCRAPE_MS
from tests.integration.prom_fixtures import Answer, Peers, start_peers

pytestmark = pytest.mark.integration

REL_TOL = 1e-6
BASE = "<server>"  # replaced by each server's URL in promtool command lines


@pytest.fixture(scope="module")
def peers(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Peers]:
    with start_peers(tmp_path_factory.mktemp("promapi")) as both:
        yield both


@dataclass(frozen=True)
class Ask:
    """One request, and how much of the answer must agree (status and errorType always)."""

    path: str
    params: dict[str, Any] = field(default_factory=dict)
    post: bool = False
    same_message: bool = True  # errors: the message text too
    same_data: bool = True  # success: the data too (else only its shape)


def _times(peers: Peers) -> tuple[str, str, str]:
    """(start, middle, end) of the data set as evaluation times, 500 ms past a second."""
    first = int(peers.dataset.series[0].timestamps[0]) // 1000
    last = first + SAMPLES * SCRAPE_MS // 1000
    return f"{first + 0.5}", f"{(first + last) // 2 + 0.5}", f"{last - 0.5}"


def _requests(peers: Peers) -> list[Ask]:
    start, mid, end = _times(peers)
    early = f"{float(mid) - 600}"
    rng = {"start": early, "end": mid, "step": "15"}
    return [
        # instant queries
        Ask("/api/v1/query", {"query": "up", "time": mid}),
        Ask("/api/v1/query", {"query": "node_load1", "time": mid}, post=True),
        Ask("/api/v1/query", {"query": "sum by (instance) (rate(node_cpu_seconds_total[5m]))",
                              "time": mid}),
        Ask("/api/v1/query", {"query": 'node_cpu_seconds_total{mode="idle",cpu="0"}[1m]',
                              "time": mid}),
        Ask("/api/v1/query", {"query": "1e-7", "time": mid}),
        Ask("/api/v1/query", {"query": "vector(1e21) / 3", "time": mid}),
        Ask("/api/v1/query", {"query": "-1/0", "time": "1.05"}),
        Ask("/api/v1/query", {"query": '"some text"', "time": "1435781451.781"}),
        Ask("/api/v1/query", {"query": "time()", "time": "2015-07-01T20:10:51.781Z"}),
        Ask("/api/v1/query", {"query": "up", "time": start, "timeout": "1m30s"}),
        Ask("/api/v1/query", {"query": "topk(2, node_load1)", "time": end}),
        Ask("/api/v1/query", {"query": "nothing_here", "time": mid}),
        Ask("/api/v1/query", {"time": mid}),
        Ask("/api/v1/query", {"query": "foo{", "time": mid}),
        # Our parser places "unclosed left parenthesis" at the parenthesis, 2.42 at the end.
        Ask("/api/v1/query", {"query": "sum(rate(up[5m])", "time": mid}, same_message=False),
        Ask("/api/v1/query", {"query": "rate(up)", "time": mid}),
        Ask("/api/v1/query", {"query": "up", "time": "yesterday"}),
        Ask("/api/v1/query", {"query": "up", "timeout": "soon"}),
        # 2.42 may time out while the query waits in its queue, which says so.
        Ask("/api/v1/query", {"query": "up", "time": mid, "timeout": "0"}, same_message=False),
        Ask("/api/v1/query", {"query": 'label_replace(up, "a", "b", "c", "(")', "time": mid}),
        # range queries
        Ask("/api/v1/query_range", {"query": "up", **rng}),
        Ask("/api/v1/query_range", {"query": "rate(node_network_receive_bytes_total[2m])",
                                    **rng}, post=True),
        Ask("/api/v1/query_range", {"query": "1.5", "start": "1", "end": "3", "step": "0.5"}),
        Ask("/api/v1/query_range", {"query": "time()", "start": "1.001", "end": "3",
                                    "step": "1.0005"}),
        Ask("/api/v1/query_range", {"query": "up"}),
        Ask("/api/v1/query_range", {"query": "up", "start": mid}),
        Ask("/api/v1/query_range", {"query": "up", "start": mid, "end": mid}),
        Ask("/api/v1/query_range", {"query": "up", "start": "x", "end": mid, "step": "15"}),
        Ask("/api/v1/query_range", {"query": "up", "start": mid, "end": early, "step": "15"}),
        Ask("/api/v1/query_range", {"query": "up", **rng, "step": "0"}),
        Ask("/api/v1/query_range", {"query": "up", **rng, "step": "-15s"}),
        Ask("/api/v1/query_range", {"query": "up", **rng, "step": "abc"}),
        Ask("/api/v1/query_range", {"query": "up", "start": "0", "end": "20000", "step": "1"}),
        Ask("/api/v1/query_range", {"query": "up", **rng, "timeout": "x"}),
        Ask("/api/v1/query_range", {"query": "up{", **rng}),
        Ask("/api/v1/query_range", {"query": "up[5m]", **rng}),
        Ask("/api/v1/query_range", {"query": '"text"', **rng}),
        # series, labels, values
        Ask("/api/v1/series", {"match[]": "up"}),
        Ask("/api/v1/series", {"match[]": ["node_load1", 'up{instance="host-a:9100"}']},
            post=True),
        Ask("/api/v1/series", {"match[]": "up", "start": early, "end": mid}),
        Ask("/api/v1/series", {"match[]": "up", "start": "10", "end": "20"}),
        Ask("/api/v1/series", {"match[]": "up", "start": "20", "end": "10"}),
        Ask("/api/v1/series", {}),
        Ask("/api/v1/series", {"match[]": "up{"}),
        Ask("/api/v1/series", {"match[]": '{job=~".*"}'}, same_message=False),
        Ask("/api/v1/series", {"match[]": "rate(up[5m])"}, same_message=False),
        Ask("/api/v1/series", {"match[]": "up", "start": "x"}),
        Ask("/api/v1/labels"),
        Ask("/api/v1/labels", {"match[]": "node_load1"}, post=True),
        Ask("/api/v1/labels", {"match[]": ['{__name__=~"node_disk.*"}', "up"]}),
        Ask("/api/v1/labels", {"start": "10", "end": "20"}),
        Ask("/api/v1/labels", {"match[]": "up{"}),
        Ask("/api/v1/labels", {"end": "x"}),
        Ask("/api/v1/label/__name__/values"),
        Ask("/api/v1/label/instance/values", {"match[]": "node_load1"}),
        Ask("/api/v1/label/mode/values", {"start": early, "end": mid}),
        Ask("/api/v1/label/no_such_label/values"),
        Ask("/api/v1/label/1bad/values"),
        Ask("/api/v1/label/job/values", {"match[]": "up{"}),
        Ask("/api/v1/label/job/values", {"start": "x"}),
        # the rest
        Ask("/api/v1/metadata"),
        Ask("/api/v1/metadata", {"metric": "up"}),
        Ask("/api/v1/metadata", {"limit": "x"}),
        Ask("/api/v1/query_exemplars", {"query": "up", "start": early, "end": mid}),
        Ask("/api/v1/query_exemplars", {"query": "up{"}),
        Ask("/api/v1/query_exemplars", {"query": "up", "start": "x"}),
        Ask("/api/v1/format_query", {"query": "sum(rate(up[5m]))by(job)"}),
        Ask("/api/v1/format_query", {"query": 'up{job="node"}  offset 5m'}, post=True),
        Ask("/api/v1/format_query", {"query": "1 2"}),
        Ask("/api/v1/status/buildinfo", same_data=False),
        Ask("/api/v1/status/runtimeinfo", same_data=False),
        Ask("/api/v1/status/config", same_data=False),
        Ask("/api/v1/rules"),
        Ask("/api/v1/alerts"),
    ]  # fmt: skip


def _close(a: str, b: str) -> bool:
    x, y = float(a), float(b)
    if math.isnan(x) or math.isnan(y):
        return math.isnan(x) and math.isnan(y)
    return x == y or math.isclose(x, y, rel_tol=REL_TOL)


def _same_points(ours: list[Any], theirs: list[Any]) -> bool:
    return len(ours) == len(theirs) and all(
        a[0] == b[0] and _close(a[1], b[1]) for a, b in zip(ours, theirs, strict=True)
    )


def _same_query_data(ours: dict[str, Any], theirs: dict[str, Any]) -> bool:
    if ours["resultType"] != theirs["resultType"]:
        return False
    kind, a, b = ours["resultType"], ours["result"], theirs["result"]
    if kind == "string":
        return bool(a == b)
    if kind == "scalar":
        return _same_points([a], [b])
    key = "value" if kind == "vector" else "values"
    if [one["metric"] for one in a] != [one["metric"] for one in b]:
        return False
    if kind == "vector":
        return _same_points([one[key] for one in a], [one[key] for one in b])
    return all(_same_points(x[key], y[key]) for x, y in zip(a, b, strict=True))


def _compare(ask: Ask, ours: Answer, theirs: Answer) -> list[str]:
    """What differs between the two answers (empty: they agree)."""
    if ours.status != theirs.status:
        return [f"status {ours.status} != {theirs.status}: {ours.body} / {theirs.body}"]
    if ours.body is None or theirs.body is None:
        return [] if ours.body == theirs.body else [f"body {ours.body} / {theirs.body}"]
    if theirs.body["status"] == "error":
        problems = []
        if ours.body.get("errorType") != theirs.body["errorType"]:
            problems.append(f"errorType {ours.body.get('errorType')} != {theirs.body}")
        if ask.same_message and ours.body.get("error") != theirs.body["error"]:
            problems.append(f"error {ours.body.get('error')!r} != {theirs.body['error']!r}")
        return problems
    a, b = ours.body["data"], theirs.body["data"]
    if not ask.same_data:
        same = type(a) is type(b) and (not isinstance(a, dict) or set(a) == set(b))
        return [] if same else [f"shape {a} / {b}"]
    if ask.path.startswith("/api/v1/query") and "resultType" in b:
        return [] if _same_query_data(a, b) else [f"data {a} / {b}"]
    return [] if a == b else [f"data {a} / {b}"]


def test_every_endpoint_answers_like_prometheus(peers: Peers) -> None:
    failures: list[str] = []
    asks = _requests(peers)
    for ask in asks:
        ours = peers.ours.request(ask.path, ask.params, post=ask.post)
        theirs = peers.prometheus.request(ask.path, ask.params, post=ask.post)
        failures += [f"{ask.path} {ask.params}: {p}" for p in _compare(ask, ours, theirs)]
    assert not failures, "\n".join(failures)
    assert len(asks) > 60


@pytest.mark.parametrize(
    ("path", "method", "status"),
    [("/api/v1/no_such_endpoint", False, 404), ("/api/v1/status/buildinfo", True, 405)],
)
def test_unknown_paths_and_methods_have_prometheus_status(
    peers: Peers, path: str, method: bool, status: int
) -> None:
    assert peers.ours.request(path, post=method).status == status
    assert peers.prometheus.request(path, post=method).status == status


def _raw(base: str, path: str, params: dict[str, str]) -> bytes:
    url = f"{base}{path}?{urllib.parse.urlencode(params)}"
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))  # loopback only
    with opener.open(url, timeout=120) as response:
        body: bytes = response.read()
        return body


def test_query_answers_are_byte_identical(peers: Peers) -> None:
    """Numbers are written with the same digits (JSON parsing above would hide that)."""
    start, mid, _ = _times(peers)
    asks = [
        ("/api/v1/query", {"query": "node_load1", "time": mid}),
        ("/api/v1/query", {"query": "rate(node_network_receive_bytes_total[5m])", "time": mid}),
        ("/api/v1/query", {"query": "vector(1e-7) or vector(-1e21) or vector(1/3)", "time": mid}),
        ("/api/v1/query", {"query": "node_load1 / 1e30", "time": start}),
        ("/api/v1/query", {"query": "scalar(sum(up)) / 7", "time": "1.05"}),
        ("/api/v1/query", {"query": 'node_load1{instance="host-a:9100"}[1m]', "time": mid}),
        ("/api/v1/query_range",
         {"query": "node_memory_MemAvailable_bytes / 3", "start": start,
          "end": f"{float(start) + 600}", "step": "15"}),
        ("/api/v1/query_range", {"query": "time()", "start": "1.001", "end": "3",
                                 "step": "1.0005"}),
        ("/api/v1/series", {"match[]": "node_load1"}),
        ("/api/v1/labels", {}),
    ]  # fmt: skip
    for path, params in asks:
        ours = _raw(peers.ours.base, path, params)
        theirs = _raw(peers.prometheus.base, path, params)
        assert ours == theirs, (path, params)


def _promtool(*args: str) -> str:
    done = subprocess.run(
        ["promtool", "query", *args], capture_output=True, text=True, timeout=120, check=False
    )
    return f"exit {done.returncode}\n{done.stdout}{done.stderr}"


def test_promtool_prints_the_same_against_both(peers: Peers) -> None:
    start, mid, _ = _times(peers)
    early = f"{float(mid) - 120}"
    commands = [
        ("instant", "--time", mid, BASE, "node_load1"),
        ("instant", "--time", mid, BASE, "sum by (instance) (node_load1) > 0"),
        ("instant", "--time", mid, BASE, "scalar(sum(up))"),
        ("instant", BASE, "up{"),
        ("range", "--start", early, "--end", mid, "--step", "30s", BASE,
         'node_load1{instance="host-a:9100"}'),
        ("series", "--match", "up", BASE),
        ("labels", BASE, "instance"),
    ]  # fmt: skip
    for command in commands:
        ours = _promtool(*(peers.ours.base if arg == BASE else arg for arg in command))
        theirs = _promtool(*(peers.prometheus.base if arg == BASE else arg for arg in command))
        assert ours == theirs, command
        assert ours.startswith("exit 0") or command[-1] == "up{"
    assert start


def _cors(answer: Answer) -> dict[str, str]:
    return {
        k: v for k, v in answer.headers.items() if k.startswith("access-control") or k == "vary"
    }


def test_cross_origin_reads_are_allowed_like_prometheus(peers: Peers) -> None:
    """Prometheus's default ``--web.cors.origin='.*'``: the same CORS headers on a read with
    an Origin, none without, and a preflight ``OPTIONS`` answered 200."""
    origin = {"Origin": "https://grafana.example.com"}
    for path in ("/api/v1/labels", "/api/v1/query"):
        ours = peers.ours.request(path, {"query": "up"}, headers=origin)
        theirs = peers.prometheus.request(path, {"query": "up"}, headers=origin)
        assert ours.status == theirs.status == 200
        assert _cors(ours) == _cors(theirs) != {}
        assert _cors(peers.ours.request(path, {"query": "up"})) == {}
    for path in ("/api/v1/query_range", "/api/v1/series"):
        ours = peers.ours.request(path, headers=origin, method="OPTIONS")
        theirs = peers.prometheus.request(path, headers=origin, method="OPTIONS")
        assert (ours.status, ours.body) == (theirs.status, theirs.body)
        assert _cors(ours) == _cors(theirs)
