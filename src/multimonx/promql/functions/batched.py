"""Range functions over every series of a range vector at once (``values.SeriesBatch``).

The per-series functions (``rate.py``, ``over_time.py``) cost a few dozen numpy calls per
series, which dominates once a selector matches tens of thousands of series. The functions
here compute the same results for all series and all steps in the same few numpy calls: the
windows ``[lo, hi)`` index one flat array holding every series' samples, elementwise formulas
run over all (series, step) windows at once, and reductions run ``reduceat`` over the windows
laid end to end (``windows.Windows``), in the same order as the per-series functions, so the
results are bit-for-bit theirs. Series read from a downsampled tier (``counts``) are handed to
the per-series ``avg_over_time`` and ``count_over_time``, which own that arithmetic.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

from multimonx.promql.functions import over_time
from multimonx.promql.functions.protocols import RangeFunction
from multimonx.promql.functions.rate import MS_PER_S, linear_regression
from multimonx.promql.functions.windows import Windows
from multimonx.promql.values import Bools, Floats, Ints, SeriesBatch

BatchedRangeFunction = Callable[
    [SeriesBatch, Ints, Ints, int, Sequence[Floats]], tuple[Floats, Bools]
]
"""``fn(batch, ends, eval_ts, range_ms, args) -> (values, present)``: a RangeFunction over
every series of ``batch`` at once; both results have shape (series, steps)."""


# -- counters and gauges: rate, increase, delta, irate, idelta, changes, resets ------------------


def _extrapolated_rate(
    batch: SeriesBatch, ends: Ints, range_ms: int, *, is_counter: bool, is_rate: bool
) -> tuple[Floats, Bools]:
    """Prometheus's ``extrapolatedRate`` for every window with at least two samples. When
    every window has two, the formula runs on the (series, steps) grid as it is; otherwise on
    the windows that have, gathered."""
    present = np.asarray(batch.hi - batch.lo >= 2)
    if present.all():
        out = _extrapolate(batch, batch.lo, batch.hi - 1, ends, range_ms, is_counter, is_rate)
        return out, present
    out = np.full(batch.lo.shape, np.nan)
    if present.any():
        end = np.broadcast_to(ends, present.shape)[present]
        first_i, last_i = batch.lo[present], batch.hi[present] - 1
        out[present] = _extrapolate(batch, first_i, last_i, end, range_ms, is_counter, is_rate)
    return out, present


def _extrapolate(  # noqa: PLR0917 - the parameters of Prometheus's extrapolatedRate
    batch: SeriesBatch,
    first_i: Ints,
    last_i: Ints,
    end: Ints,
    range_ms: int,
    is_counter: bool,
    is_rate: bool,
) -> Floats:
    """The formula of ``rate._extrapolate`` for windows ``[first_i, last_i]`` ending at
    ``end`` (any shapes that broadcast together): last minus first (plus counter-reset
    corrections), extrapolated towards the window edges by at most half the average sample
    interval beyond 1.1 intervals, and for counters never below zero."""
    # In place where it can be: each pass over a fleet's windows costs milliseconds. The
    # operations are Go's, in Go's order, but for commuted additions and multiplications.
    with np.errstate(all="ignore"):  # NaN and Inf samples propagate as in Go
        first_v, result = batch.values[first_i], batch.values[last_i]
        result -= first_v
        found = _reset_corrections(batch, first_i, last_i + 1) if is_counter else None
        if found is not None:  # only windows holding a reset are added to (-0 stays -0)
            reset, corrections = found
            np.add(result, corrections, out=result, where=reset)
        first_t, last_t = batch.timestamps[first_i], batch.timestamps[last_i]
        sampled = (last_t - first_t) / MS_PER_S
        first_t -= end - range_ms
        to_start = np.divide(first_t, MS_PER_S)
        np.subtract(end, last_t, out=last_t)
        to_end = np.divide(last_t, MS_PER_S)
        half = sampled / (last_i - first_i)  # the average interval, halved below
        threshold = half * 1.1
        half *= 0.5
        np.copyto(to_start, half, where=to_start >= threshold)
        if is_counter:  # never extrapolated below zero
            to_zero = first_v / result
            to_zero *= sampled
            counting = result > 0
            counting &= first_v >= 0
            np.minimum(to_start, to_zero, out=to_start, where=counting)
        np.copyto(to_end, half, where=to_end >= threshold)
        factor = to_start
        factor += sampled
        factor += to_end
        factor /= sampled
        if is_rate:
            factor /= range_ms / MS_PER_S
        result *= factor
    return result


def _reset_corrections(batch: SeriesBatch, lo: Ints, hi: Ints) -> tuple[Bools, Floats] | None:
    """Per window ``[lo, hi)`` (arrays of any shape), whether it holds a counter reset and
    the sum of the values just before each reset in it; None when no window holds one.
    Resets are rare: the windows holding one are found by searching the positions of the
    resets, the others get 0, and only the former are summed (in window order, as
    ``rate._reset_corrections`` sums them)."""
    values = batch.values
    drop = values[1:] < values[:-1]  # drop[i - 1]: values[i] < values[i - 1]
    # where one series ends and the next begins is no reset (and no window holds both)
    starts = batch.starts[batch.starts > 0]
    drop[starts - 1] = False
    after_drop = np.flatnonzero(drop) + 1
    if after_drop.size == 0:
        return None
    # a window holds a reset if some such i has lo < i < hi
    has_reset = np.searchsorted(after_drop, hi - 1, side="right") > np.searchsorted(
        after_drop, lo, side="right"
    )
    if not has_reset.any():
        return None
    out = np.zeros(lo.shape)
    windows = Windows.of(lo[has_reset], hi[has_reset])
    inside = values[windows.flat]
    previous = np.empty_like(inside)
    previous[1:] = inside[:-1]
    dropped = np.where(inside < previous, previous, 0.0)
    dropped[windows.starts] = 0.0  # a window's first sample has no predecessor in it
    out[has_reset] = windows.sum(dropped)
    return has_reset, out


def rate(
    batch: SeriesBatch, ends: Ints, eval_ts: Ints, range_ms: int, args: Sequence[Floats]
) -> tuple[Floats, Bools]:
    """``rate.rate`` over every series."""
    return _extrapolated_rate(batch, ends, range_ms, is_counter=True, is_rate=True)


def increase(
    batch: SeriesBatch, ends: Ints, eval_ts: Ints, range_ms: int, args: Sequence[Floats]
) -> tuple[Floats, Bools]:
    """``rate.increase`` over every series."""
    return _extrapolated_rate(batch, ends, range_ms, is_counter=True, is_rate=False)


def delta(
    batch: SeriesBatch, ends: Ints, eval_ts: Ints, range_ms: int, args: Sequence[Floats]
) -> tuple[Floats, Bools]:
    """``rate.delta`` over every series."""
    return _extrapolated_rate(batch, ends, range_ms, is_counter=False, is_rate=False)


def _instant_value(batch: SeriesBatch, *, is_rate: bool) -> tuple[Floats, Bools]:
    """``irate``/``idelta`` from the last two samples of every window."""
    present = np.asarray(batch.hi - batch.lo >= 2)
    out = np.full(batch.lo.shape, np.nan)
    last_i = batch.hi[present] - 1
    current, previous = batch.values[last_i], batch.values[last_i - 1]
    with np.errstate(all="ignore"):
        result = current - previous
        if is_rate:
            result = np.where(current < previous, current, result)
            interval = (batch.timestamps[last_i] - batch.timestamps[last_i - 1]) / MS_PER_S
            result = result / interval
    out[present] = result
    return out, present


def irate(
    batch: SeriesBatch, ends: Ints, eval_ts: Ints, range_ms: int, args: Sequence[Floats]
) -> tuple[Floats, Bools]:
    """``rate.irate`` over every series."""
    return _instant_value(batch, is_rate=True)


def idelta(
    batch: SeriesBatch, ends: Ints, eval_ts: Ints, range_ms: int, args: Sequence[Floats]
) -> tuple[Floats, Bools]:
    """``rate.idelta`` over every series."""
    return _instant_value(batch, is_rate=False)


def _count_pairs(batch: SeriesBatch, flags: Bools) -> tuple[Floats, Bools]:
    """Per window, how many adjacent sample pairs inside it have ``flags`` set (``flags[i]``
    describes the pair ``(i - 1, i)``; a pair across two series is never inside a window)."""
    counted = np.concatenate(([0], np.cumsum(flags[1:], dtype=np.int64)))
    present = np.asarray(batch.hi > batch.lo)
    out = np.full(batch.lo.shape, np.nan)
    out[present] = counted[batch.hi[present] - 1] - counted[batch.lo[present]]
    return out, present


def changes(
    batch: SeriesBatch, ends: Ints, eval_ts: Ints, range_ms: int, args: Sequence[Floats]
) -> tuple[Floats, Bools]:
    """``rate.changes`` over every series."""
    values = batch.values
    flags = np.zeros(values.size, dtype=np.bool_)
    flags[1:] = (values[1:] != values[:-1]) & ~(np.isnan(values[1:]) & np.isnan(values[:-1]))
    return _count_pairs(batch, flags)


def resets(
    batch: SeriesBatch, ends: Ints, eval_ts: Ints, range_ms: int, args: Sequence[Floats]
) -> tuple[Floats, Bools]:
    """``rate.resets`` over every series."""
    values = batch.values
    flags = np.zeros(values.size, dtype=np.bool_)
    flags[1:] = values[1:] < values[:-1]
    return _count_pairs(batch, flags)


# -- least squares: deriv, predict_linear --------------------------------------------------------


def _regression(
    batch: SeriesBatch, origin_of: Callable[[Windows], Ints]
) -> tuple[Windows, Floats, Floats, Bools]:
    """``rate.linear_regression`` over every (series, step) window at once, with the origin
    ``origin_of(windows)`` per non-empty window; the windows, slopes, intercepts and which
    steps have the two samples a line needs."""
    windows = _flat_windows(batch)
    present = np.asarray(batch.hi - batch.lo >= 2)
    if windows.flat.size == 0:
        return windows, np.zeros(0), np.zeros(0), present
    values = batch.values[windows.flat]
    slope, intercept = linear_regression(batch.timestamps, windows, values, origin_of(windows))
    return windows, slope, intercept, present


def deriv(
    batch: SeriesBatch, ends: Ints, eval_ts: Ints, range_ms: int, args: Sequence[Floats]
) -> tuple[Floats, Bools]:
    """``rate.deriv`` over every series: the slope with the window's first sample as
    origin."""
    first = batch.lo.ravel()
    windows, slope, _, present = _regression(batch, lambda w: batch.timestamps[first[w.steps]])
    return windows.scatter(slope, present.size).reshape(present.shape), present


def predict_linear(
    batch: SeriesBatch, ends: Ints, eval_ts: Ints, range_ms: int, args: Sequence[Floats]
) -> tuple[Floats, Bools]:
    """``rate.predict_linear`` over every series: the line ``args[0]`` seconds after the
    evaluation time."""
    steps = batch.lo.shape[1]
    windows, slope, intercept, present = _regression(batch, lambda w: eval_ts[w.steps % steps])
    predicted = slope * args[0][windows.steps % steps] + intercept
    return windows.scatter(predicted, present.size).reshape(present.shape), present


# -- the *_over_time family -------------------------------------------------------------------


def _flat_windows(batch: SeriesBatch) -> Windows:
    """Every (series, step) window laid end to end; ``steps`` index the raveled grid."""
    return Windows.of(batch.lo.ravel(), batch.hi.ravel())


def _reduced(batch: SeriesBatch, reduce: np.ufunc) -> tuple[Floats, Bools]:
    """``reduce.reduceat`` over every non-empty window (``over_time._reduced``)."""
    present = np.asarray(batch.hi > batch.lo)
    windows = _flat_windows(batch)
    if windows.flat.size == 0:
        return np.full(present.shape, np.nan), present
    with np.errstate(all="ignore"):
        reduced = reduce.reduceat(batch.values[windows.flat], windows.starts)
    return windows.scatter(reduced, present.size).reshape(present.shape), present


def sum_over_time(
    batch: SeriesBatch, ends: Ints, eval_ts: Ints, range_ms: int, args: Sequence[Floats]
) -> tuple[Floats, Bools]:
    """``over_time.sum_over_time`` over every series."""
    return _reduced(batch, np.add)


def min_over_time(
    batch: SeriesBatch, ends: Ints, eval_ts: Ints, range_ms: int, args: Sequence[Floats]
) -> tuple[Floats, Bools]:
    """``over_time.min_over_time`` over every series."""
    return _reduced(batch, np.fmin)


def max_over_time(
    batch: SeriesBatch, ends: Ints, eval_ts: Ints, range_ms: int, args: Sequence[Floats]
) -> tuple[Floats, Bools]:
    """``over_time.max_over_time`` over every series."""
    return _reduced(batch, np.fmax)


def last_over_time(
    batch: SeriesBatch, ends: Ints, eval_ts: Ints, range_ms: int, args: Sequence[Floats]
) -> tuple[Floats, Bools]:
    """``over_time.last_over_time`` over every series."""
    present = np.asarray(batch.hi > batch.lo)
    out = np.full(present.shape, np.nan)
    out[present] = batch.values[batch.hi[present] - 1]
    return out, present


def first_over_time(
    batch: SeriesBatch, ends: Ints, eval_ts: Ints, range_ms: int, args: Sequence[Floats]
) -> tuple[Floats, Bools]:
    """``over_time.first_over_time`` over every series."""
    present = np.asarray(batch.hi > batch.lo)
    out = np.full(present.shape, np.nan)
    out[present] = batch.values[batch.lo[present]]
    return out, present


def present_over_time(
    batch: SeriesBatch, ends: Ints, eval_ts: Ints, range_ms: int, args: Sequence[Floats]
) -> tuple[Floats, Bools]:
    """``over_time.present_over_time`` over every series."""
    present = np.asarray(batch.hi > batch.lo)
    return np.where(present, 1.0, np.nan), present


def count_over_time(
    batch: SeriesBatch, ends: Ints, eval_ts: Ints, range_ms: int, args: Sequence[Floats]
) -> tuple[Floats, Bools]:
    """``over_time.count_over_time`` over every series (tiered series through it)."""
    counts = batch.hi - batch.lo
    values, present = counts.astype(np.float64), np.asarray(counts > 0)
    _tiered_one_by_one(
        over_time.count_over_time, batch, (values, present), (ends, eval_ts, range_ms, args)
    )
    return values, present


def avg_over_time(
    batch: SeriesBatch, ends: Ints, eval_ts: Ints, range_ms: int, args: Sequence[Floats]
) -> tuple[Floats, Bools]:
    """``over_time.avg_over_time`` over every series (tiered series through it): the sum over
    the count, or the sum of ``value / count`` where that sum overflows although every value
    is finite."""
    present = np.asarray(batch.hi > batch.lo)
    windows = _flat_windows(batch)
    out = np.full(present.shape, np.nan)
    if windows.flat.size:
        values = batch.values[windows.flat]
        count = windows.counts[windows.steps].astype(np.float64)
        with np.errstate(all="ignore"):
            total = windows.sum(values)
            mean = total / count
            finite = np.logical_and.reduceat(np.isfinite(values), windows.starts)
            overflowed = np.isinf(total) & finite
            if overflowed.any():
                mean = np.where(overflowed, windows.sum(values / windows.spread(count)), mean)
        out = windows.scatter(mean, present.size).reshape(present.shape)
    _tiered_one_by_one(
        over_time.avg_over_time, batch, (out, present), (ends, eval_ts, range_ms, args)
    )
    return out, present


def _tiered_one_by_one(
    function: RangeFunction,
    batch: SeriesBatch,
    into: tuple[Floats, Bools],
    call: tuple[Ints, Ints, int, Sequence[Floats]],
) -> None:
    """Overwrite the rows of series read from a downsampled tier with ``function``'s answer
    for each of them on its own; ``call`` is (ends, eval_ts, range_ms, args)."""
    if batch.tiered is None:
        return
    for row in np.flatnonzero(batch.tiered).tolist():
        into[0][row], into[1][row] = function(batch.series(row), *call)


BATCHED_RANGE_FUNCTIONS: dict[str, BatchedRangeFunction] = {
    "rate": rate,
    "increase": increase,
    "delta": delta,
    "irate": irate,
    "idelta": idelta,
    "changes": changes,
    "resets": resets,
    "deriv": deriv,
    "predict_linear": predict_linear,
    "sum_over_time": sum_over_time,
    "min_over_time": min_over_time,
    "max_over_time": max_over_time,
    "avg_over_time": avg_over_time,
    "count_over_time": count_over_time,
    "last_over_time": last_over_time,
    "first_over_time": first_over_time,
    "present_over_time": present_over_time,
}
"""Range functions with a batched form; the evaluator uses it instead of calling the
per-series function of ``RANGE_FUNCTIONS`` once per series."""
