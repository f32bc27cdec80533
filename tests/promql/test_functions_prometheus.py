"""Differential test: our functions against a real Prometheus 2.42 on the same samples.

Samples sit at 15 s intervals plus a few hundred milliseconds of jitter, and evaluation times
are whole seconds, so no sample lies exactly on a window's start: there 2.x's closed windows
and 3.x's left-open ones agree. Counters start high, so 2.x's and 3.x's different order of
the zero-point and the half-interval limits of rate extrapolation cannot matter."""

from __future__ import annotations

import json
import math
import shutil
import time
import urllib.parse
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
import pytest

from multimonx.model import Labels
from multimonx.promql.functions import INSTANT_FUNCTIONS, RANGE_FUNCTIONS
from multimonx.promql.values import Bools, Floats, Ints, StepScalar, StepValue, StepVector
from tests.integration.conftest import get_json, http_get, prometheus_on_blocks, wait_for
from tests.promql.test_functions_range import range_series

pytestmark = pytest.mark.integration

SAMPLES = 240
STEP_MS = 15_000
LOOKBACK_MS = 300_000
BOUNDS = ["0.1", "0.5", "1", "+Inf"]


@dataclass(frozen=True)
class Loaded:
    """What was loaded into Prometheus, and where it listens."""

    port: int
    timestamps: Ints
    series: dict[str, Floats]


def _samples(start_ms: int) -> tuple[Ints, dict[str, Floats]]:
    rng = np.random.default_rng(42)
    timestamps = start_ms + np.arange(SAMPLES) * STEP_MS + rng.integers(1, 900, SAMPLES)
    counter = 1000 + np.cumsum(rng.integers(0, 50, SAMPLES)).astype(float)
    counter[150:] -= counter[150] - 3  # a counter reset
    gauge = np.round(np.sin(np.arange(SAMPLES) / 9) * 2 + rng.normal(0, 0.3, SAMPLES), 3)
    series = {'c_total{job="a"}': counter, 'g{job="a"}': gauge}
    increments = rng.integers(0, 5, (SAMPLES, len(BOUNDS)))
    cumulative = np.cumsum(np.cumsum(increments, axis=1), axis=0).astype(float)
    for i, bound in enumerate(BOUNDS):
        series[f'h_bucket{{job="a",le="{bound}"}}'] = cumulative[:, i]
    return timestamps, series


def _openmetrics(timestamps: Ints, series: dict[str, Floats]) -> str:
    lines = []
    for name, values in series.items():
        for t, v in zip(timestamps.tolist(), values.tolist(), strict=True):
            lines.append(f"{name} {v!r} {t / 1000:.3f}")
    return "\n".join([*lines, "# EOF", ""])


@pytest.fixture(scope="module")
def prometheus(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Loaded]:
    if shutil.which("prometheus") is None or shutil.which("promtool") is None:
        pytest.skip("prometheus/promtool are not installed")
    tmp = tmp_path_factory.mktemp("prometheus")
    start_ms = (int(time.time()) - 4 * 3600) // 60 * 60 * 1000
    timestamps, series = _samples(start_ms)
    proc, port = prometheus_on_blocks(tmp, _openmetrics(timestamps, series))
    try:
        wait_for(
            "Prometheus to answer", lambda: http_get(f"http://127.0.0.1:{port}/-/ready")[0] == 200
        )
        yield Loaded(port, timestamps, series)
    finally:
        proc.stop()


def _query_range(loaded: Loaded, expr: str, ends: Ints) -> dict[int, float]:
    params = {
        "query": expr,
        "start": f"{ends[0] / 1000:.3f}",
        "end": f"{ends[-1] / 1000:.3f}",
        "step": f"{(ends[1] - ends[0]) / 1000:.3f}",
    }
    url = f"http://127.0.0.1:{loaded.port}/api/v1/query_range?" + urllib.parse.urlencode(params)
    result = get_json(url)["data"]["result"]
    assert len(result) <= 1, json.dumps(result)[:500]
    if not result:
        return {}
    return {round(float(t) * 1000): float(v) for t, v in result[0]["values"]}


def _grid(loaded: Loaded) -> Ints:
    first = int(loaded.timestamps[0]) // 1000 * 1000 + 1000
    return np.arange(first - 60_000, int(loaded.timestamps[-1]) + 400_000, 37_000, dtype=np.int64)


def _compare(expected: dict[int, float], ends: Ints, values: Floats, present: Bools) -> None:
    ours = {int(t): float(v) for t, v, p in zip(ends, values, present, strict=True) if p}
    assert ours.keys() == expected.keys()
    for t, theirs in expected.items():
        if math.isnan(theirs):
            assert math.isnan(ours[t]), t
        else:
            assert ours[t] == pytest.approx(theirs, rel=1e-6, abs=1e-9), t


RANGE_CASES = [
    ("rate", "c_total", "1m", ()),
    ("rate", "c_total", "5m", ()),
    ("increase", "c_total", "2m", ()),
    ("delta", "g", "2m", ()),
    ("irate", "c_total", "1m", ()),
    ("idelta", "g", "1m", ()),
    ("deriv", "g", "5m", ()),
    ("predict_linear", "g", "5m", (600.0,)),
    ("changes", "g", "5m", ()),
    ("resets", "c_total", "10m", ()),
    ("sum_over_time", "g", "5m", ()),
    ("avg_over_time", "g", "5m", ()),
    ("min_over_time", "g", "2m", ()),
    ("max_over_time", "g", "2m", ()),
    ("count_over_time", "g", "1m", ()),
    ("last_over_time", "g", "1m", ()),
    ("present_over_time", "g", "1m", ()),
    ("stddev_over_time", "g", "5m", ()),
    ("stdvar_over_time", "g", "5m", ()),
    ("quantile_over_time", "g", "5m", (0.3,)),
    ("double_exponential_smoothing", "g", "5m", (0.3, 0.6)),
]


@pytest.mark.parametrize(("name", "metric", "window", "args"), RANGE_CASES)
def test_range_functions_match_prometheus(
    prometheus: Loaded, name: str, metric: str, window: str, args: tuple[float, ...]
) -> None:
    range_ms = int(window[:-1]) * 60_000
    ends = _grid(prometheus)
    selector = f'{metric}{{job="a"}}[{window}]'
    prom_name = "holt_winters" if name == "double_exponential_smoothing" else name
    call = {
        "quantile_over_time": f"{prom_name}({args[0] if args else ''}, {selector})",
    }.get(name, f"{prom_name}({', '.join([selector, *map(str, args)])})")
    expected = _query_range(prometheus, call, ends)
    values = prometheus.series[f'{metric}{{job="a"}}']
    series = range_series(prometheus.timestamps.tolist(), values.tolist(), ends.tolist(), range_ms)
    scalars = [np.full(ends.size, a) for a in args]
    out, present = RANGE_FUNCTIONS[name](series, ends, ends, range_ms, scalars)
    assert expected, "Prometheus returned nothing"
    _compare(expected, ends, out, present)


def _instant_vector(loaded: Loaded, names: list[str], ends: Ints) -> StepVector:
    """What an instant selector sees at each step: the newest sample within the lookback."""
    labels, rows, present = [], [], []
    for name in names:
        metric, _, rest = name.partition("{")
        pairs = [p.split("=") for p in rest.rstrip("}").split(",")]
        labels.append(Labels.of({k: v.strip('"') for k, v in pairs}, __name__=metric))
        index = np.searchsorted(loaded.timestamps, ends, side="right") - 1
        seen = (index >= 0) & (ends - loaded.timestamps[np.maximum(index, 0)] < LOOKBACK_MS)
        rows.append(np.where(seen, loaded.series[name][np.maximum(index, 0)], np.nan))
        present.append(seen)
    return StepVector(labels, np.array(rows), np.array(present))


INSTANT_CASES: list[tuple[str, str, list[float]]] = [
    ("abs(g)", "abs", []),
    ("sgn(g)", "sgn", []),
    ("exp(g)", "exp", []),
    ("round(g, 0.3)", "round", [0.3]),
    ("clamp(g, -0.5, 0.7)", "clamp", [-0.5, 0.7]),
    ("clamp_min(g, 0.2)", "clamp_min", [0.2]),
    ("clamp_max(g, 0.2)", "clamp_max", [0.2]),
]


@pytest.mark.parametrize(("expr", "name", "extra"), INSTANT_CASES)
def test_instant_functions_match_prometheus(
    prometheus: Loaded, expr: str, name: str, extra: list[float]
) -> None:
    ends = _grid(prometheus)
    expected = _query_range(prometheus, expr, ends)
    vector = _instant_vector(prometheus, ['g{job="a"}'], ends)
    args: list[StepValue] = [vector, *(StepScalar(np.full(ends.size, a)) for a in extra)]
    out = INSTANT_FUNCTIONS[name](args, ends)
    assert isinstance(out, StepVector)
    assert out.labels == [Labels.of(job="a")]
    _compare(expected, ends, out.values[0], out.present[0])


@pytest.mark.parametrize("q", [0.0, 0.25, 0.5, 0.9, 0.99, 1.0])
def test_histogram_quantile_matches_prometheus(prometheus: Loaded, q: float) -> None:
    ends = _grid(prometheus)
    expected = _query_range(prometheus, f"histogram_quantile({q}, h_bucket)", ends)
    names = [f'h_bucket{{job="a",le="{b}"}}' for b in BOUNDS]
    vector = _instant_vector(prometheus, names, ends)
    out = INSTANT_FUNCTIONS["histogram_quantile"]([StepScalar(np.full(ends.size, q)), vector], ends)
    assert isinstance(out, StepVector)
    assert out.labels == [Labels.of(job="a")]
    _compare(expected, ends, out.values[0], out.present[0])


def test_label_replace_matches_prometheus(prometheus: Loaded) -> None:
    ends = _grid(prometheus)[:1] + 600_000
    url = f"http://127.0.0.1:{prometheus.port}/api/v1/query?" + urllib.parse.urlencode(
        {"query": 'label_replace(g, "x", "$1-${1}y-$2", "job", "(a)(.*)")', "time": ends[0] / 1000}
    )
    [theirs] = get_json(url)["data"]["result"]
    vector = _instant_vector(prometheus, ['g{job="a"}'], ends)
    out = INSTANT_FUNCTIONS["label_replace"]([vector, "x", "$1-${1}y-$2", "job", "(a)(.*)"], ends)
    assert isinstance(out, StepVector)
    assert dict(out.labels[0]) == theirs["metric"]
