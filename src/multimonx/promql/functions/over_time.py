"""The ``*_over_time`` family and ``double_exponential_smoothing`` (Prometheus 3.x),
vectorised over the steps of one series: every window of every step is reduced in one numpy
call over the flattened windows."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from multimonx.promql.errors import EvalError
from multimonx.promql.functions.windows import Windows, present_with, window_values
from multimonx.promql.values import Bools, Floats, Ints, RangeSeries


def _nonempty(series: RangeSeries) -> Bools:
    return present_with(series.hi - series.lo, 1)


def _reduced(series: RangeSeries, reduce: np.ufunc) -> tuple[Floats, Bools]:
    """Apply ``reduce.reduceat`` to every non-empty window."""
    windows, values = window_values(series)
    present = _nonempty(series)
    if values.size == 0:
        return np.full(series.lo.size, np.nan), present
    with np.errstate(all="ignore"):
        reduced = reduce.reduceat(values, windows.starts)
    return windows.scatter(reduced, series.lo.size), present


def sum_over_time(
    series: RangeSeries, ends: Ints, eval_ts: Ints, range_ms: int, args: Sequence[Floats]
) -> tuple[Floats, Bools]:
    """Sum of the window's values."""
    return _reduced(series, np.add)


def min_over_time(
    series: RangeSeries, ends: Ints, eval_ts: Ints, range_ms: int, args: Sequence[Floats]
) -> tuple[Floats, Bools]:
    """Smallest value; NaN only if every value is NaN (``fmin`` skips NaN like Prometheus)."""
    return _reduced(series, np.fmin)


def max_over_time(
    series: RangeSeries, ends: Ints, eval_ts: Ints, range_ms: int, args: Sequence[Floats]
) -> tuple[Floats, Bools]:
    """Largest value; NaN only if every value is NaN."""
    return _reduced(series, np.fmax)


def count_over_time(
    series: RangeSeries, ends: Ints, eval_ts: Ints, range_ms: int, args: Sequence[Floats]
) -> tuple[Floats, Bools]:
    """Number of samples in the window; from a storage tier, the sum of the raw samples
    behind its points (``RangeSeries.counts``)."""
    points = series.hi - series.lo
    if series.counts is None:
        return points.astype(np.float64), points > 0
    behind = np.concatenate(([0.0], np.cumsum(series.counts)))
    present = points > 0
    return np.where(present, behind[series.hi] - behind[series.lo], np.nan), present


def present_over_time(
    series: RangeSeries, ends: Ints, eval_ts: Ints, range_ms: int, args: Sequence[Floats]
) -> tuple[Floats, Bools]:
    """1 wherever the window holds a sample."""
    present = _nonempty(series)
    return np.where(present, 1.0, np.nan), present


def last_over_time(
    series: RangeSeries, ends: Ints, eval_ts: Ints, range_ms: int, args: Sequence[Floats]
) -> tuple[Floats, Bools]:
    """The window's newest value."""
    present = _nonempty(series)
    out = np.full(series.lo.size, np.nan)
    out[present] = series.values[series.hi[present] - 1]
    return out, present


def first_over_time(
    series: RangeSeries, ends: Ints, eval_ts: Ints, range_ms: int, args: Sequence[Floats]
) -> tuple[Floats, Bools]:
    """The window's oldest value (experimental in Prometheus 3.x)."""
    present = _nonempty(series)
    out = np.full(series.lo.size, np.nan)
    out[present] = series.values[series.lo[present]]
    return out, present


def avg_over_time(
    series: RangeSeries, ends: Ints, eval_ts: Ints, range_ms: int, args: Sequence[Floats]
) -> tuple[Floats, Bools]:
    """Mean of the window: sum divided by count, or, where that sum overflows although every
    value is finite, the sum of ``value / count`` (Prometheus switches to an incremental
    mean in that case). From a storage tier the points are per-bucket sums and the count is
    the sum of ``RangeSeries.counts``: the mean of the raw samples, not of the buckets'
    means."""
    windows, values = window_values(series)
    present = _nonempty(series)
    if values.size == 0:
        return np.full(series.lo.size, np.nan), present
    if series.counts is None:
        count = windows.counts[windows.steps].astype(np.float64)
    else:
        count = windows.sum(series.counts[windows.flat])
    with np.errstate(all="ignore"):
        total = windows.sum(values)
        mean = total / count
        overflowed = np.isinf(total) & np.logical_and.reduceat(np.isfinite(values), windows.starts)
        if overflowed.any():
            mean = np.where(overflowed, windows.sum(values / windows.spread(count)), mean)
    return windows.scatter(mean, series.lo.size), present


def _variance(series: RangeSeries) -> tuple[Floats, Bools]:
    """Population variance (two-pass: mean, then mean squared deviation)."""
    windows, values = window_values(series)
    present = _nonempty(series)
    if values.size == 0:
        return np.full(series.lo.size, np.nan), present
    count = windows.counts[windows.steps].astype(np.float64)
    with np.errstate(all="ignore"):
        mean = windows.sum(values) / count
        deviation = values - mean[windows.owner]
        variance = windows.sum(deviation * deviation) / count
    return windows.scatter(variance, series.lo.size), present


def stdvar_over_time(
    series: RangeSeries, ends: Ints, eval_ts: Ints, range_ms: int, args: Sequence[Floats]
) -> tuple[Floats, Bools]:
    """Population variance of the window's values."""
    return _variance(series)


def stddev_over_time(
    series: RangeSeries, ends: Ints, eval_ts: Ints, range_ms: int, args: Sequence[Floats]
) -> tuple[Floats, Bools]:
    """Population standard deviation of the window's values."""
    variance, present = _variance(series)
    with np.errstate(all="ignore"):
        return np.sqrt(variance), present


def _window_quantile(windows: Windows, values: Floats, phi: Floats) -> Floats:
    """Prometheus's ``quantile`` (linear interpolation between closest ranks, NaN sorted
    first) of every non-empty window; ``phi`` has one value per non-empty window."""
    order = np.lexsort((values, ~np.isnan(values), windows.owner))
    ordered = values[order]
    n = windows.counts[windows.steps].astype(np.float64)
    with np.errstate(all="ignore"):
        rank = phi * (n - 1)
        lower = np.maximum(0.0, np.floor(rank))
        upper = np.minimum(n - 1, lower + 1)
        weight = rank - np.floor(rank)
    safe = np.isfinite(rank) & (phi >= 0) & (phi <= 1)
    lower_i = windows.starts + np.where(safe, lower, 0).astype(np.int64)
    upper_i = windows.starts + np.where(safe, upper, 0).astype(np.int64)
    result = ordered[lower_i] * (1 - weight) + ordered[upper_i] * weight
    result = np.where(phi < 0, -np.inf, np.where(phi > 1, np.inf, result))
    return np.where(np.isnan(phi), np.nan, result)


def quantile_over_time(
    series: RangeSeries, ends: Ints, eval_ts: Ints, range_ms: int, args: Sequence[Floats]
) -> tuple[Floats, Bools]:
    """The ``args[0]``-quantile of the window's values (phi < 0: -Inf, phi > 1: +Inf)."""
    windows, values = window_values(series)
    present = _nonempty(series)
    if values.size == 0:
        return np.full(series.lo.size, np.nan), present
    with np.errstate(all="ignore"):
        result = _window_quantile(windows, values, args[0][windows.steps])
    return windows.scatter(result, series.lo.size), present


def mad_over_time(
    series: RangeSeries, ends: Ints, eval_ts: Ints, range_ms: int, args: Sequence[Floats]
) -> tuple[Floats, Bools]:
    """Median absolute deviation from the window's median."""
    windows, values = window_values(series)
    present = _nonempty(series)
    if values.size == 0:
        return np.full(series.lo.size, np.nan), present
    half = np.full(windows.steps.size, 0.5)
    with np.errstate(all="ignore"):
        median = _window_quantile(windows, values, half)
        deviations = np.abs(values - median[windows.owner])
        result = _window_quantile(windows, deviations, half)
    return windows.scatter(result, series.lo.size), present


def double_exponential_smoothing(
    series: RangeSeries, ends: Ints, eval_ts: Ints, range_ms: int, args: Sequence[Floats]
) -> tuple[Floats, Bools]:
    """Holt's linear smoothing with smoothing factor ``args[0]`` and trend factor ``args[1]``
    (both strictly between 0 and 1, else an error). The recurrence runs sample by sample, so
    this one loops in Python per step."""
    lo, hi = series.lo, series.hi
    present = present_with(hi - lo, 2)
    out = np.full(lo.size, np.nan)
    for step in np.flatnonzero(present):
        sf, tf = float(args[0][step]), float(args[1][step])
        if not 0 < sf < 1:
            raise EvalError(f"invalid smoothing factor. Expected: 0 < sf < 1, got: {sf:f}")
        if not 0 < tf < 1:
            raise EvalError(f"invalid trend factor. Expected: 0 < tf < 1, got: {tf:f}")
        out[step] = _smooth(series.values[lo[step] : hi[step]].tolist(), sf, tf)
    return out, present


def _smooth(values: list[float], sf: float, tf: float) -> float:
    """The last smoothed value of Prometheus's double exponential smoothing."""
    s0, s1, trend = 0.0, values[0], values[1] - values[0]
    for i in range(1, len(values)):
        if i > 1:
            trend = tf * (s1 - s0) + (1 - tf) * trend
        s0, s1 = s1, sf * values[i] + (1 - sf) * (s1 + trend)
    return s1
