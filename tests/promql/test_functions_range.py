"""Range functions: hand-computed cases and properties against a naive per-step reference."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from multimonx.model import Labels
from multimonx.promql.errors import EvalError
from multimonx.promql.functions import KEEPS_METRIC_NAME, RANGE_FUNCTIONS
from multimonx.promql.values import RangeSeries
from tests.promql.test_functions_reference import REFERENCES


def range_series(
    timestamps: list[int], values: list[float], ends: list[int], range_ms: int
) -> RangeSeries:
    """A series with left-open windows ``(end - range, end]`` as the evaluator builds them."""
    ts = np.asarray(timestamps, dtype=np.int64)
    end = np.asarray(ends, dtype=np.int64)
    return RangeSeries(
        Labels.of(__name__="m"),
        ts,
        np.asarray(values, dtype=np.float64),
        np.searchsorted(ts, end - range_ms, side="right").astype(np.int64),
        np.searchsorted(ts, end, side="right").astype(np.int64),
    )


def call(
    name: str,
    timestamps: list[int],
    values: list[float],
    ends: list[int],
    range_ms: int,
    *args: float,
) -> list[float | None]:
    """Run a range function; None where it gives no output."""
    series = range_series(timestamps, values, ends, range_ms)
    end = np.asarray(ends, dtype=np.int64)
    scalars = [np.full(end.size, a) for a in args]
    out, present = RANGE_FUNCTIONS[name](series, end, end, range_ms, scalars)
    assert out.shape == present.shape == end.shape
    return [float(v) if p else None for v, p in zip(out, present, strict=True)]


def same(actual: float | None, expected: float | None, scale: float = 1.0) -> bool:
    if actual is None or expected is None:
        return actual is expected
    if math.isnan(expected):
        return math.isnan(actual)
    if math.isinf(expected):
        return actual == expected
    return math.isclose(actual, expected, rel_tol=1e-9, abs_tol=1e-9 * scale)


S = 1000  # ms per second


@pytest.mark.parametrize(
    ("name", "values", "expected"),
    [
        # window (0s, 40s] holds 10s..40s: 10, 20, 5 (reset), 15 -> raw increase 25,
        # extrapolated 10s back to the window start (within 1.1 intervals): x 40/30
        ("increase", [0, 10, 20, 5, 15], 25 * 40 / 30),
        ("rate", [0, 10, 20, 5, 15], 25 * 40 / 30 / 40),
        ("delta", [0, 10, 20, 5, 15], 5 * 40 / 30),
        ("irate", [0, 10, 20, 5, 15], 1.0),  # 5 -> 15 over 10s
        ("irate", [0, 10, 20, 30, 5], 0.5),  # reset: the new value over 10s
        ("idelta", [0, 10, 20, 30, 5], -25.0),
        ("changes", [0, 10, 10, 5, 5], 1.0),  # window starts at 10s
        ("resets", [0, 10, 20, 5, 15], 1.0),
        ("deriv", [0, 10, 20, 30, 40], 1.0),
        ("sum_over_time", [0, 1, 2, 3, 4], 10.0),
        ("avg_over_time", [0, 1, 2, 3, 4], 2.5),
        ("count_over_time", [0, 1, 2, 3, 4], 4.0),
        ("min_over_time", [0, 3, 1, 4, 2], 1.0),
        ("max_over_time", [9, 3, 1, 4, 2], 4.0),
        ("last_over_time", [0, 3, 1, 4, 2], 2.0),
        ("first_over_time", [0, 3, 1, 4, 2], 3.0),
        ("present_over_time", [0, 3, 1, 4, 2], 1.0),
        ("stdvar_over_time", [0, 1, 3, 5, 7], 5.0),  # mean 4, deviations 9+1+1+9
        ("stddev_over_time", [0, 1, 3, 5, 7], math.sqrt(5.0)),
        ("mad_over_time", [0, 1, 2, 4, 9], 1.5),  # median 3; |d| 2,1,1,6 -> 1.5
    ],
)
def test_hand_computed_at_40s_over_40s(name: str, values: list[float], expected: float) -> None:
    timestamps = [0, 10 * S, 20 * S, 30 * S, 40 * S]
    [actual] = call(name, timestamps, values, [40 * S], 40 * S)
    assert actual == pytest.approx(expected, rel=1e-12)


def test_counter_extrapolation_stops_at_zero() -> None:
    # (0s, 60s] holds 20s..60s with 1, 11, 21, 31, 41: the start gap (20s) exceeds 1.1
    # intervals so extrapolation would be 5s, but the counter reaches zero 1s earlier.
    timestamps = [t * S for t in (20, 30, 40, 50, 60)]
    [increase] = call("increase", timestamps, [1, 11, 21, 31, 41], [60 * S], 60 * S)
    assert increase == pytest.approx(40 * 41 / 40)
    [delta] = call("delta", timestamps, [1, 11, 21, 31, 41], [60 * S], 60 * S)
    assert delta == pytest.approx(40 * 45 / 40)  # gauges extrapolate by half an interval


def test_extrapolation_to_the_end_is_limited_to_half_an_interval() -> None:
    # samples 0s..30s, window (0s, 60s]: 10s..30s; end gap 30s > 1.1 * 10s -> 5s
    timestamps = [0, 10 * S, 20 * S, 30 * S]
    [increase] = call("increase", timestamps, [0, 10, 20, 30], [60 * S], 60 * S)
    # start gap 10s (< 11s) but zero crossing at 10s before the first sample: min is 10s
    assert increase == pytest.approx(20 * (20 + 10 + 5) / 20)


def test_window_is_left_open() -> None:
    timestamps = [0, 10 * S, 20 * S]
    assert call("count_over_time", timestamps, [1, 2, 3], [20 * S], 20 * S) == [2.0]
    assert call("count_over_time", timestamps, [1, 2, 3], [20 * S], 20 * S + 1) == [3.0]


@pytest.mark.parametrize(
    "name", ["rate", "increase", "delta", "irate", "idelta", "deriv", "predict_linear"]
)
def test_two_samples_needed(name: str) -> None:
    timestamps = [0, 10 * S, 100 * S]
    out = call(name, timestamps, [1, 2, 3], [5 * S, 10 * S, 50 * S, 100 * S], 10 * S, 60.0)
    assert out[0] is None  # one sample
    assert out[1] is None  # one sample (0 is outside the left-open window)
    assert out[2] is None  # empty window
    assert out[3] is None


@pytest.mark.parametrize("name", sorted(set(RANGE_FUNCTIONS) - {"double_exponential_smoothing"}))
def test_empty_window_gives_no_output(name: str) -> None:
    assert call(name, [0], [1.0], [100 * S], 10 * S, 0.5) == [None]


def test_single_sample_windows() -> None:
    ts, v = [10 * S], [7.0]
    assert call("changes", ts, v, [10 * S], 5 * S) == [0.0]
    assert call("resets", ts, v, [10 * S], 5 * S) == [0.0]
    assert call("stddev_over_time", ts, v, [10 * S], 5 * S) == [0.0]
    assert call("quantile_over_time", ts, v, [10 * S], 5 * S, 0.9) == [7.0]


def test_nan_and_infinity() -> None:
    ts = [10 * S, 20 * S, 30 * S]
    nan, inf = math.nan, math.inf
    assert call("max_over_time", ts, [nan, 1, nan], [30 * S], 30 * S) == [1.0]
    assert call("min_over_time", ts, [nan, 1, -2], [30 * S], 30 * S) == [-2.0]
    [all_nan] = call("max_over_time", ts, [nan, nan, nan], [30 * S], 30 * S)
    assert all_nan is not None
    assert math.isnan(all_nan)
    [mixed] = call("sum_over_time", ts, [inf, 1, -inf], [30 * S], 30 * S)
    assert mixed is not None
    assert math.isnan(mixed)
    assert call("sum_over_time", ts, [inf, 1, 2], [30 * S], 30 * S) == [inf]
    assert call("changes", ts, [nan, nan, 1], [30 * S], 30 * S) == [1.0]
    assert call("avg_over_time", ts, [1e308, 1e308, 1e308], [30 * S], 30 * S) == [
        pytest.approx(1e308)
    ]


def test_constant_series_regression() -> None:
    ts = [10 * S, 20 * S, 30 * S]
    assert call("deriv", ts, [5, 5, 5], [30 * S], 30 * S) == [0.0]
    assert call("predict_linear", ts, [5, 5, 5], [30 * S], 30 * S, 600.0) == [5.0]
    [inf_slope] = call("deriv", ts, [math.inf] * 3, [30 * S], 30 * S)
    assert inf_slope is not None
    assert math.isnan(inf_slope)


def test_predict_linear_intercept_is_at_evaluation_time() -> None:
    series = range_series([10 * S, 20 * S, 30 * S], [1, 2, 3], [30 * S], 30 * S)
    ends, eval_ts = np.array([30 * S]), np.array([40 * S])  # as with offset 10s
    out, present = RANGE_FUNCTIONS["predict_linear"](
        series, ends, eval_ts, 30 * S, [np.array([10.0])]
    )
    assert present.tolist() == [True]
    assert out[0] == pytest.approx(5.0)  # 4 at eval time, +1 per 10s


@pytest.mark.parametrize(
    ("phi", "expected"),
    [(0.0, 1.0), (0.5, 2.5), (0.25, 1.75), (1.0, 4.0), (-0.1, -math.inf), (1.1, math.inf)],
)
def test_quantile_over_time(phi: float, expected: float) -> None:
    ts = [t * S for t in (1, 2, 3, 4)]
    assert call("quantile_over_time", ts, [4, 1, 3, 2], [4 * S], 4 * S, phi) == [expected]


def test_quantile_nan_phi_and_nan_values() -> None:
    ts = [t * S for t in (1, 2, 3)]
    [nan_phi] = call("quantile_over_time", ts, [1, 2, 3], [3 * S], 3 * S, math.nan)
    assert nan_phi is not None
    assert math.isnan(nan_phi)
    # NaN sorts first: [NaN, 1, 2] at phi 1 is 2
    assert call("quantile_over_time", ts, [math.nan, 2, 1], [3 * S], 3 * S, 1.0) == [2.0]


def test_double_exponential_smoothing() -> None:
    ts = [t * S for t in (1, 2, 3)]
    assert call("double_exponential_smoothing", ts, [1, 2, 4], [3 * S], 3 * S, 0.5, 0.5) == [3.5]
    assert call("double_exponential_smoothing", ts, [1, 2, 4], [1 * S], 3 * S, 0.5, 0.5) == [None]
    with pytest.raises(EvalError, match="smoothing factor"):
        call("double_exponential_smoothing", ts, [1, 2, 4], [3 * S], 3 * S, 1.0, 0.5)
    with pytest.raises(EvalError, match="trend factor"):
        call("double_exponential_smoothing", ts, [1, 2, 4], [3 * S], 3 * S, 0.5, 0.0)


def test_metric_name_kept_only_by_last_and_first() -> None:
    assert {"last_over_time", "first_over_time"} == KEEPS_METRIC_NAME


@st.composite
def scenarios(draw: st.DrawFn, special: bool) -> tuple[list[int], list[float], list[int], int]:
    gaps = draw(st.lists(st.integers(1, 30_000), min_size=0, max_size=40))
    start = draw(st.integers(-100_000, 100_000))
    timestamps = list(np.cumsum([start, *gaps]).tolist())
    finite = st.one_of(
        st.integers(-1000, 1000).map(float),
        st.floats(-1e6, 1e6, allow_nan=False, allow_infinity=False),
    )
    values_strategy = st.one_of(finite, st.sampled_from([math.nan, math.inf, -math.inf]))
    values = draw(
        st.lists(
            values_strategy if special else finite,
            min_size=len(timestamps),
            max_size=len(timestamps),
        )
    )
    range_ms = draw(st.integers(1, 200_000))
    first_end = draw(st.integers(start - 50_000, timestamps[-1] + 50_000))
    step = draw(st.integers(1, 60_000))
    steps = draw(st.integers(1, 30))
    ends = [first_end + i * step for i in range(steps)]
    return timestamps, values, ends, range_ms


def check_against_reference(
    name: str, scenario: tuple[list[int], list[float], list[int], int], arg: float
) -> None:
    timestamps, values, ends, range_ms = scenario
    actual = call(name, timestamps, values, ends, range_ms, arg)
    for end, got in zip(ends, actual, strict=True):
        window = [
            (t, v) for t, v in zip(timestamps, values, strict=True) if end - range_ms < t <= end
        ]
        expected = REFERENCES[name](window, end, end, range_ms, arg)
        finite = [abs(v) for _, v in window if math.isfinite(v)]
        scale = max(finite, default=1.0) + 1.0
        assert same(got, expected, scale), (name, end, window, got, expected)


@settings(max_examples=60, deadline=None)
@given(
    name=st.sampled_from(sorted(REFERENCES)),
    scenario=scenarios(special=False),
    arg=st.floats(-0.2, 1.2),
)
def test_matches_reference_on_finite_values(
    name: str, scenario: tuple[list[int], list[float], list[int], int], arg: float
) -> None:
    check_against_reference(name, scenario, arg)


@settings(max_examples=60, deadline=None)
@given(
    name=st.sampled_from(sorted(REFERENCES)),
    scenario=scenarios(special=True),
    arg=st.floats(0, 1),
)
def test_matches_reference_with_nan_and_infinity(
    name: str, scenario: tuple[list[int], list[float], list[int], int], arg: float
) -> None:
    check_against_reference(name, scenario, arg)
