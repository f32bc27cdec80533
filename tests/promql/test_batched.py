"""The batched range functions and selectors give exactly what their per-series forms give.

Random series (empty and single-sample windows, counter resets, NaN, ±Inf, staleness markers,
series read from a tier) go through both paths; results must match bit for bit (NaN matching
NaN). The engine is also run with and without its batched functions, with the batch split
into many small chunks, on random stored data.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from multimonx.model import Labels
from multimonx.model.sample import STALE_NAN
from multimonx.promql import engine as engine_module
from multimonx.promql.engine import Engine, FunctionRegistry
from multimonx.promql.functions import BATCHED_RANGE_FUNCTIONS, RANGE_FUNCTIONS
from multimonx.promql.selectors import (
    _COUNTING_MIN_STEPS,
    _Flat,
    _instant_rows_one_by_one,
    instant_rows,
    range_batch,
    range_series,
)
from multimonx.promql.values import Floats, Ints, QueryResult, SeriesBatch
from multimonx.storage import MemoryStorage
from multimonx.storage.interface import Series, SeriesSet, select_sets_of

SECOND = 1000
SPECIALS = (math.nan, math.inf, -math.inf, 0.0, -0.0)


@st.composite
def sample_values(draw: st.DrawFn, size: int) -> list[float]:
    """A counter with occasional resets, a gauge, or either sprinkled with special values."""
    kind = draw(st.sampled_from(["counter", "gauge", "specials"]))
    if kind == "gauge":
        return draw(st.lists(st.floats(-1e6, 1e6), min_size=size, max_size=size))
    steps = draw(st.lists(st.integers(0, 50), min_size=size, max_size=size))
    values = np.cumsum(np.asarray(steps, dtype=np.float64))
    for reset in draw(st.lists(st.integers(0, max(size - 1, 0)), max_size=3)):
        if size:
            values[reset:] -= values[reset]
    out: list[float] = values.tolist()
    if kind == "specials":
        for at in draw(st.lists(st.integers(0, max(size - 1, 0)), max_size=4)):
            if size:
                out[at] = draw(st.sampled_from(SPECIALS))
    return out


@st.composite
def stored_series(draw: st.DrawFn, index: int, *, tiers: bool) -> Series:
    """One series of up to 40 samples at irregular times in the first 10 minutes."""
    times = sorted(draw(st.sets(st.integers(0, 600), max_size=40)))
    values = draw(sample_values(len(times)))
    stale = draw(st.booleans())
    if times and stale:
        values[draw(st.integers(0, len(times) - 1))] = STALE_NAN
    counts = None
    if tiers and draw(st.booleans()):
        counts = np.asarray(
            draw(st.lists(st.integers(1, 60), min_size=len(times), max_size=len(times))),
            dtype=np.float64,
        )
    return Series(
        Labels.of(__name__="m", i=str(index)),
        np.asarray(times, dtype=np.int64) * SECOND,
        np.asarray(values, dtype=np.float64),
        counts,
    )


@st.composite
def query_grid(draw: st.DrawFn) -> tuple[Ints, int]:
    """Window ends (a regular grid, sometimes one step) and a range."""
    start = draw(st.integers(0, 600)) * SECOND
    step = draw(st.sampled_from([1, 5, 15, 30, 60])) * SECOND
    steps = draw(st.integers(1, 30))
    range_ms = draw(st.sampled_from([1, 10, 15, 30, 60, 120, 300])) * SECOND
    return np.arange(start, start + steps * step, step, dtype=np.int64), range_ms


@st.composite
def many_series(draw: st.DrawFn, *, tiers: bool = False) -> list[Series]:
    count = draw(st.integers(0, 6))
    return [draw(stored_series(i, tiers=tiers)) for i in range(count)]


def same_floats(actual: Floats, expected: Floats) -> bool:
    """Equal bit for bit, except that any NaN matches any NaN."""
    both_nan = np.isnan(actual) & np.isnan(expected)
    bits_equal = actual.view(np.uint64) == expected.view(np.uint64)
    return bool((both_nan | bits_equal).all())


def scalar_args(name: str, steps: int) -> list[Floats]:
    if name == "predict_linear":
        return [np.linspace(-3600.0, 14_400.0, steps)]  # a different horizon per step
    return [np.full(steps, 0.5)] if name == "quantile_over_time" else []


@pytest.mark.parametrize("name", sorted(BATCHED_RANGE_FUNCTIONS))
@settings(max_examples=150, deadline=None)
@given(series=many_series(tiers=True), grid=query_grid())
def test_batched_function_matches_per_series(
    name: str, series: list[Series], grid: tuple[Ints, int]
) -> None:
    ends, range_ms = grid
    one_by_one = range_series(series, ends, range_ms)
    batch = SeriesBatch.of(one_by_one, len(ends))
    args = scalar_args(name, len(ends))
    values, present = BATCHED_RANGE_FUNCTIONS[name](batch, ends, ends, range_ms, args)
    assert values.shape == present.shape == (len(one_by_one), len(ends))
    for row, one in enumerate(one_by_one):
        expected_v, expected_p = RANGE_FUNCTIONS[name](one, ends, ends, range_ms, args)
        assert (present[row] == expected_p).all()
        assert same_floats(values[row][expected_p], expected_v[expected_p])


@settings(max_examples=200, deadline=None)
@given(series=many_series(tiers=True), grid=query_grid())
def test_range_batch_matches_range_series(series: list[Series], grid: tuple[Ints, int]) -> None:
    ends, range_ms = grid
    expected = range_series(series, ends, range_ms)
    batch = range_batch(series, ends, range_ms)
    assert batch.labels == [one.labels for one in expected]
    for row, one in enumerate(expected):
        got = batch.series(row)
        assert (got.timestamps == one.timestamps).all()
        assert same_floats(got.values, one.values)
        assert (got.lo == one.lo).all()
        assert (got.hi == one.hi).all()
        if one.counts is None:
            assert got.counts is None
        else:
            assert got.counts is not None
            assert (got.counts == one.counts).all()


@settings(max_examples=200, deadline=None)
@given(series=many_series(), grid=query_grid(), lookback_s=st.sampled_from([1, 30, 300]))
def test_instant_rows_matches_series_by_series(
    series: list[Series], grid: tuple[Ints, int], lookback_s: int
) -> None:
    at_ts, _ = grid
    got = instant_rows(series, at_ts, lookback_s * SECOND)
    expected = _instant_rows_one_by_one(series, at_ts, lookback_s * SECOND)
    assert got.labels == expected.labels
    assert (got.present == expected.present).all()
    assert same_floats(got.values[got.present], expected.values[expected.present])
    assert (got.timestamps[got.present] == expected.timestamps[expected.present]).all()


@settings(max_examples=200, deadline=None)
@given(
    series=many_series(),
    first=st.integers(-100, 700),
    step=st.integers(1, 90),
    steps=st.integers(_COUNTING_MIN_STEPS, 60),
)
def test_counting_finds_what_searching_finds(
    series: list[Series], first: int, step: int, steps: int
) -> None:
    found = SeriesSet.of(series)
    times = (first + step * np.arange(steps, dtype=np.int64)) * SECOND
    flat = _Flat.of(found, int(times[0]), int(times[-1]))
    assert flat is not None
    counted = flat.after(times)  # a regular grid this long is counted
    irregular = times.copy()
    irregular[-1] += 1  # ... and an irregular one searched
    searched = flat.after(irregular)
    assert (counted[:, :-1] == searched[:, :-1]).all()
    for row, (a, b) in enumerate(zip(found.starts, found.stops, strict=True)):
        expected = a + np.searchsorted(found.timestamps[a:b], times, side="right")
        assert (counted[row] == expected).all()


def test_series_set_groups_concatenate_and_truncate() -> None:
    series = [
        Series(Labels.of(i=str(i)), np.arange(1, i + 2, dtype=np.int64), np.full(i + 1, i * 1.0))
        for i in range(5)
    ]
    parts = list(select_sets_of(series))
    assert len(parts) == 1
    whole = SeriesSet.concat(
        [SeriesSet.of(series[:2]), SeriesSet.empty(), SeriesSet.of(series[2:])]
    )
    assert whole.labels == [one.labels for one in series]
    assert whole.starts.tolist() == [0, 1, 3, 6, 10]
    assert whole.stops.tolist() == [1, 3, 6, 10, 15]
    first_two = whole.head(2)
    assert first_two.samples == 3
    assert [one.values.tolist() for one in first_two.series()] == [[0.0], [1.0, 1.0]]


def test_batch_rows_are_views_of_their_own_samples() -> None:
    series = [
        Series(Labels.of(i=str(i)), np.arange(1, 4, dtype=np.int64) * SECOND, np.full(3, i * 1.0))
        for i in range(3)
    ]
    ends = np.asarray([3 * SECOND], dtype=np.int64)
    batch = range_batch(series, ends, 10 * SECOND)
    middle = batch.rows(1, 2)
    assert middle.labels == [Labels.of(i="1")]
    assert middle.values.tolist() == [1.0, 1.0, 1.0]
    assert middle.lo.tolist() == [[0]]
    assert middle.hi.tolist() == [[3]]


# -- the engine with and without its batched functions ------------------------------------------

QUERIES = (
    "rate(m[1m])",
    "sum by (i) (rate(m[2m]))",
    "irate(m[30s])",
    "increase(m[5m])",
    "delta(m[1m])",
    "avg_over_time(m[1m])",
    "max_over_time(m[2m]) - min_over_time(m[2m])",
    "count_over_time(m[90s])",
    "resets(m[5m]) + changes(m[5m])",
    "last_over_time(m[1m] offset 30s)",
    "sum_over_time(rate(m[1m])[3m:30s])",
)


def _stored(series: Sequence[Series]) -> MemoryStorage:
    storage = MemoryStorage()
    app = storage.appender()
    for one in series:
        for t, v in zip(one.timestamps.tolist(), one.values.tolist(), strict=True):
            app.append(one.labels, t, v)
    app.commit()
    return storage


def _points(result: QueryResult) -> list[tuple[Labels, list[int], Floats]]:
    assert result.matrix is not None
    return [(one.labels, one.timestamps.tolist(), one.values) for one in result.matrix]


@pytest.mark.parametrize("query", QUERIES)
@settings(max_examples=40, deadline=None)
@given(series=many_series(), grid=query_grid())
def test_engine_batched_matches_per_series(
    query: str, series: list[Series], grid: tuple[Ints, int]
) -> None:
    ends, _ = grid
    storage = _stored(series)
    default = FunctionRegistry.default()
    per_series = FunctionRegistry(
        default.range_functions, default.instant_functions, default.keeps_metric_name
    )
    start, end = int(ends[0]), int(ends[-1])
    step = int(ends[1] - ends[0]) if len(ends) > 1 else SECOND
    expected = _points(Engine(storage, functions=per_series).range(query, start, end, step))
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(engine_module, "BATCH_WINDOW_SAMPLES", 7)  # many chunks
        got = _points(Engine(storage).range(query, start, end, step))
    assert [(labels, ts) for labels, ts, _ in got] == [(labels, ts) for labels, ts, _ in expected]
    for (_, _, got_v), (_, _, expected_v) in zip(got, expected, strict=True):
        assert same_floats(got_v, expected_v)


@pytest.mark.parametrize("batched", [True, False])
def test_only_windows_holding_a_reset_get_corrections(batched: bool) -> None:
    """Go adds a correction per reset, nothing elsewhere: a window whose increase is -0 stays
    -0 (adding 0.0 would make it +0), in the batched form and in the per-series reference."""
    storage = MemoryStorage()
    app = storage.appender()
    for t, v in ((0, 0.0), (15_000, -0.0), (30_000, 5.0), (45_000, 1.0), (60_000, 2.0)):
        app.append(Labels.of(__name__="m", i="0"), t, v)
    app.commit()
    default = FunctionRegistry.default()
    functions = (
        default
        if batched
        else FunctionRegistry(
            default.range_functions, default.instant_functions, default.keeps_metric_name
        )
    )
    engine = Engine(storage, functions=functions)
    no_reset = engine.instant("increase(m[20s])", 15_000).vector or []
    assert math.copysign(1.0, no_reset[0].value) == -1.0  # -0 - 0 = -0, extrapolated: still -0
    with_reset = engine.instant("increase(m[40s])", 60_000).vector or []
    assert with_reset[0].value > 0  # 5 -> 1 is a reset: 5 is added back
