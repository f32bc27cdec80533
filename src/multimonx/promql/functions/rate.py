"""Range functions over counters and gauges: rate, increase, delta, irate, idelta, deriv,
predict_linear, changes and resets (Prometheus 3.x ``promql/functions.go``), vectorised over
the steps of one series."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from multimonx.promql.functions.windows import Windows, present_with, window_values
from multimonx.promql.values import Bools, Floats, Ints, RangeSeries

MS_PER_S = 1000.0


def _extrapolated_rate(
    series: RangeSeries, ends: Ints, range_ms: int, *, is_counter: bool, is_rate: bool
) -> tuple[Floats, Bools]:
    with np.errstate(all="ignore"):  # NaN and Inf samples propagate as in Go
        return _extrapolate(series, ends, range_ms, is_counter=is_counter, is_rate=is_rate)


def _extrapolate(
    series: RangeSeries, ends: Ints, range_ms: int, *, is_counter: bool, is_rate: bool
) -> tuple[Floats, Bools]:
    """Prometheus's ``extrapolatedRate``: last minus first (plus counter-reset corrections),
    extrapolated towards the window edges by at most half the average sample interval beyond
    1.1 intervals, and for counters never below zero."""
    lo, hi = series.lo, series.hi
    present = present_with(hi - lo, 2)
    out = np.full(lo.size, np.nan)
    if not present.any():
        return out, present
    first_i, last_i = lo[present], hi[present] - 1
    first_v, last_v = series.values[first_i], series.values[last_i]
    first_t, last_t = series.timestamps[first_i], series.timestamps[last_i]
    result = last_v - first_v
    if is_counter:  # only windows holding a reset are added to (as Go does: -0 stays -0)
        reset, corrections = _reset_corrections(series)
        result = np.where(reset[present], result + corrections[present], result)
    range_start = ends[present] - range_ms
    to_start = (first_t - range_start) / MS_PER_S
    to_end = (ends[present] - last_t) / MS_PER_S
    sampled = (last_t - first_t) / MS_PER_S
    average = sampled / (last_i - first_i)
    threshold = average * 1.1
    to_start = np.where(to_start >= threshold, average / 2, to_start)
    if is_counter:
        to_zero = np.where((result > 0) & (first_v >= 0), sampled * (first_v / result), to_start)
        to_start = np.where(to_zero < to_start, to_zero, to_start)
    to_end = np.where(to_end >= threshold, average / 2, to_end)
    factor = (sampled + to_start + to_end) / sampled
    if is_rate:
        factor = factor / (range_ms / MS_PER_S)
    out[present] = result * factor
    return out, present


def _reset_corrections(series: RangeSeries) -> tuple[Bools, Floats]:
    """Per step, whether the window holds a counter reset, and the sum of the values just
    before each reset inside it."""
    windows, values = window_values(series)
    previous = np.empty_like(values)
    previous[1:] = values[:-1]
    drop = values < previous
    drop[windows.starts] = False  # a window's first sample has no predecessor in it
    dropped = np.where(drop, previous, 0.0)
    resets = windows.scatter(windows.sum(drop.astype(np.float64)), series.lo.size)
    return resets > 0, windows.scatter(windows.sum(dropped), series.lo.size)


def rate(
    series: RangeSeries, ends: Ints, eval_ts: Ints, range_ms: int, args: Sequence[Floats]
) -> tuple[Floats, Bools]:
    """Per-second increase of a counter, extrapolated to the window."""
    return _extrapolated_rate(series, ends, range_ms, is_counter=True, is_rate=True)


def increase(
    series: RangeSeries, ends: Ints, eval_ts: Ints, range_ms: int, args: Sequence[Floats]
) -> tuple[Floats, Bools]:
    """Increase of a counter over the window, extrapolated."""
    return _extrapolated_rate(series, ends, range_ms, is_counter=True, is_rate=False)


def delta(
    series: RangeSeries, ends: Ints, eval_ts: Ints, range_ms: int, args: Sequence[Floats]
) -> tuple[Floats, Bools]:
    """Difference of a gauge over the window, extrapolated."""
    return _extrapolated_rate(series, ends, range_ms, is_counter=False, is_rate=False)


def _instant_value(series: RangeSeries, *, is_rate: bool) -> tuple[Floats, Bools]:
    """``irate``/``idelta``: from the last two samples of each window."""
    lo, hi = series.lo, series.hi
    present = present_with(hi - lo, 2)
    out = np.full(lo.size, np.nan)
    last_i = hi[present] - 1
    current, previous = series.values[last_i], series.values[last_i - 1]
    with np.errstate(all="ignore"):
        result = current - previous
        if is_rate:
            result = np.where(current < previous, current, result)
            interval = (series.timestamps[last_i] - series.timestamps[last_i - 1]) / MS_PER_S
            result = result / interval
    out[present] = result
    return out, present


def irate(
    series: RangeSeries, ends: Ints, eval_ts: Ints, range_ms: int, args: Sequence[Floats]
) -> tuple[Floats, Bools]:
    """Per-second rate from the last two samples (a drop counts as a reset)."""
    return _instant_value(series, is_rate=True)


def idelta(
    series: RangeSeries, ends: Ints, eval_ts: Ints, range_ms: int, args: Sequence[Floats]
) -> tuple[Floats, Bools]:
    """Difference of the last two samples."""
    return _instant_value(series, is_rate=False)


def linear_regression(
    timestamps: Ints, windows: Windows, values: Floats, origin_ms: Ints
) -> tuple[Floats, Floats]:
    """Least-squares slope (per second) and intercept at ``origin_ms`` (one per non-empty
    window) of the windows over ``timestamps`` (``values`` already gathered by
    ``windows.flat``), as Prometheus's ``linearRegression``: a constant window gives slope 0
    (NaN if the constant is infinite). Shared with the batched forms, so both sum in the
    same order."""
    x = (timestamps[windows.flat] - origin_ms[windows.owner]) / MS_PER_S
    n = windows.counts[windows.steps].astype(np.float64)
    with np.errstate(all="ignore"):
        sum_x, sum_y = windows.sum(x), windows.sum(values)
        sum_xy, sum_x2 = windows.sum(x * values), windows.sum(x * x)
        cov_xy = sum_xy - sum_x * sum_y / n
        var_x = sum_x2 - sum_x * sum_x / n
        slope = cov_xy / var_x
        intercept = sum_y / n - slope * sum_x / n
    first = values[windows.starts]
    differs = values != first[windows.owner]
    constant = ~np.logical_or.reduceat(differs, windows.starts)
    const_slope = np.where(np.isinf(first), np.nan, 0.0)
    const_intercept = np.where(np.isinf(first), np.nan, first)
    slope = np.where(constant, const_slope, slope)
    intercept = np.where(constant, const_intercept, intercept)
    return slope, intercept


def deriv(
    series: RangeSeries, ends: Ints, eval_ts: Ints, range_ms: int, args: Sequence[Floats]
) -> tuple[Floats, Bools]:
    """Per-second slope of a least-squares line through the window."""
    windows, values = window_values(series)
    present = present_with(windows.counts, 2)
    out = np.full(series.lo.size, np.nan)
    if windows.flat.size:
        origin = series.timestamps[series.lo[windows.steps]]
        slope, _ = linear_regression(series.timestamps, windows, values, origin)
        out = windows.scatter(slope, series.lo.size)
    return out, present


def predict_linear(
    series: RangeSeries, ends: Ints, eval_ts: Ints, range_ms: int, args: Sequence[Floats]
) -> tuple[Floats, Bools]:
    """Value of the least-squares line ``args[0]`` seconds after the evaluation time."""
    windows, values = window_values(series)
    present = present_with(windows.counts, 2)
    out = np.full(series.lo.size, np.nan)
    if windows.flat.size:
        slope, intercept = linear_regression(
            series.timestamps, windows, values, eval_ts[windows.steps]
        )
        out = windows.scatter(slope * args[0][windows.steps] + intercept, series.lo.size)
    return out, present


def _count_pairs(series: RangeSeries, flags: Bools) -> tuple[Floats, Bools]:
    """Per step, how many adjacent sample pairs inside the window have ``flags`` set;
    ``flags[i]`` describes the pair ``(i - 1, i)``."""
    counted = np.concatenate(([0], np.cumsum(flags[1:], dtype=np.int64)))
    lo, hi = series.lo, series.hi
    present = hi > lo
    out = np.full(lo.size, np.nan)
    out[present] = counted[hi[present] - 1] - counted[lo[present]]
    return out, present


def changes(
    series: RangeSeries, ends: Ints, eval_ts: Ints, range_ms: int, args: Sequence[Floats]
) -> tuple[Floats, Bools]:
    """How often the value changed within the window (NaN to NaN is no change)."""
    values = series.values
    flags = np.zeros(values.size, dtype=np.bool_)
    flags[1:] = (values[1:] != values[:-1]) & ~(np.isnan(values[1:]) & np.isnan(values[:-1]))
    return _count_pairs(series, flags)


def resets(
    series: RangeSeries, ends: Ints, eval_ts: Ints, range_ms: int, args: Sequence[Floats]
) -> tuple[Floats, Bools]:
    """How often the value dropped within the window (counter resets)."""
    values = series.values
    flags = np.zeros(values.size, dtype=np.bool_)
    flags[1:] = values[1:] < values[:-1]
    return _count_pairs(series, flags)
