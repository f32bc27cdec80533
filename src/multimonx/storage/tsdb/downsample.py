"""Downsampled tiers: per-bucket aggregates of raw samples, and how queries read them back.

The engine's tier job turns closed raw windows into 1-minute buckets (``downsample``) and
1-minute buckets into 5-minute ones (``merge``); its querier picks a tier for a query
(``choose_tier``) and turns a tier's buckets back into samples for one PromQL function
(``reconstruct``). Everything here is pure and vectorised with numpy (docs/storage.md, "Tiers
and retention").

Buckets are the half-open intervals ``[k * bucket_ms, (k + 1) * bucket_ms)`` for integer ``k``
(floor division, so negative timestamps work too), the same alignment as the engine's chunk
windows, so a closed raw window always yields whole buckets. Buckets without samples are absent.
Timestamps are expected within +/-2**62 ms (``bucket_start`` must not overflow int64).

NaN and staleness rules (Prometheus semantics):

- Staleness markers (``multimonx.model.STALE_NAN``, one specific NaN bit pattern) are not
  samples: they are left out of ``min``, ``max``, ``sum`` and ``count``, as Prometheus leaves
  them out of range vectors.
- A bucket whose last raw sample is a staleness marker records it: ``last`` is ``STALE_NAN``
  and ``timestamps`` is the marker's timestamp. Reading ``last`` back then ends the series
  where the raw data ends it (a plain selection stops showing it at once instead of for the
  5-minute lookback, and alerts resolve as they would on raw data). The price: the bucket's
  last real value is not in ``last`` (it is still in ``min``/``max``/``sum``/``count``), so a
  rate over ``last`` misses the growth of the series' final partial bucket. A bucket holding
  only staleness markers is kept (``count`` 0, ``sum`` 0.0, ``min``/``max`` NaN) so that a
  marker written after the last sample's bucket, the usual case with aligned scrapes, is not
  lost. A marker followed by samples in the same bucket (the series came back) leaves no trace.
- Ordinary NaN values are samples. ``count`` counts them and ``sum`` becomes NaN, as in
  Prometheus's ``count_over_time`` and ``sum_over_time``/``avg_over_time``. ``min``/``max``
  skip NaN unless every sample is NaN, as Prometheus's ``min_over_time``/``max_over_time`` do
  (they replace the running value when it is NaN and otherwise only on a strict ``<``/``>``).
  Like those, among equal extremes the first one wins, so a bucket holding ``0.0`` and
  ``-0.0`` keeps the sign of the earlier one.
- ``last`` is copied bit for bit (NaN payloads, -0.0). Other NaN results carry an
  unspecified payload, never the staleness marker's.
- ``sum`` adds in time order, one value at a time, starting from +0.0 (so ``-0.0`` samples sum
  to ``0.0``, as in Prometheus). Prometheus 3 uses Kahan summation, so the two can differ in
  the last bits. ``merge`` adds per-bucket sums, so its ``sum`` equals the sum of the raw
  samples only up to rounding: exactly for integral values whose partial sums stay within
  2**53 (counters, most gauges).
"""

from __future__ import annotations

import operator
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final

import numpy as np
import numpy.typing as npt

from multimonx.model import STALE_NAN

Int64Array = npt.NDArray[np.int64]
FloatArray = npt.NDArray[np.float64]

STALE_NAN_BITS: Final[int] = int(np.array([STALE_NAN], dtype=np.float64).view(np.uint64)[0])
"""The IEEE bit pattern of the staleness marker, for vectorised comparisons."""

AGGREGATE_FUNCS: Final[frozenset[str]] = frozenset(
    {"max_over_time", "min_over_time", "sum_over_time", "count_over_time", "avg_over_time"}
)
"""PromQL functions that ``reconstruct`` answers from an aggregate other than ``last``: exact
over windows of whole buckets."""

LAST_FUNCS: Final[frozenset[str]] = frozenset(
    {"last_over_time", "present_over_time", "absent_over_time"}
)
"""Range functions answered from ``last`` that need one point per window: exact over windows
of whole buckets (but see the staleness rule in the module docstring)."""

TWO_POINT_FUNCS: Final[frozenset[str]] = frozenset(
    {
        "rate",
        "increase",
        "delta",
        "irate",
        "idelta",
        "deriv",
        "predict_linear",
        "resets",
        "changes",
    }
)
"""Range functions answered from ``last`` that need two points per window: over a tier they
see the raw samples thinned to one per bucket (``reconstruct``), as with a scrape interval
as long as the bucket."""


@dataclass(frozen=True, slots=True, eq=False)
class Aggregates:
    """The buckets of one series in a downsampled tier, one array element per bucket.

    ``timestamps``: int64 ms of the bucket's last raw sample (a staleness marker included), so
    "latest value" queries keep exact times; strictly increasing. ``bucket_start``: int64 ms,
    the bucket's aligned start. ``min``/``max``/``sum``/``count``: float64 aggregates of the
    bucket's samples, staleness markers excluded. ``last``: float64, the bucket's last raw
    value, bit for bit, ``STALE_NAN`` when the series went stale at the end of the bucket. See
    the module docstring for the NaN rules. Treat the arrays as read-only.
    """

    timestamps: Int64Array
    bucket_start: Int64Array
    min: FloatArray
    max: FloatArray
    sum: FloatArray
    count: FloatArray
    last: FloatArray

    def __post_init__(self) -> None:
        n = self.timestamps.shape
        for name in ("timestamps", "bucket_start"):
            array = getattr(self, name)
            if array.dtype != np.int64 or array.ndim != 1 or array.shape != n:
                raise ValueError(f"{name} must be a 1-D int64 array as long as timestamps")
        for name in ("min", "max", "sum", "count", "last"):
            array = getattr(self, name)
            if array.dtype != np.float64 or array.ndim != 1 or array.shape != n:
                raise ValueError(f"{name} must be a 1-D float64 array as long as timestamps")

    def __len__(self) -> int:
        return int(self.timestamps.shape[0])

    @classmethod
    def empty(cls) -> Aggregates:
        """No buckets (a series without samples in the range)."""
        ints = np.empty(0, dtype=np.int64)
        floats = np.empty(0, dtype=np.float64)
        return cls(ints, ints, floats, floats, floats, floats, floats)


@dataclass(frozen=True, slots=True)
class Tier:
    """One storage tier: ``bucket_ms`` 0 for raw samples, ``retention_ms`` how far back it
    holds data (its rows older than ``now - retention_ms`` are deleted)."""

    name: str
    bucket_ms: int
    retention_ms: int

    def __post_init__(self) -> None:
        if self.bucket_ms < 0:
            raise ValueError(f"tier {self.name!r}: bucket_ms must not be negative")
        if self.retention_ms <= 0:
            raise ValueError(f"tier {self.name!r}: retention_ms must be positive")


@dataclass(frozen=True, slots=True)
class TierChoice:
    """The tier a select reads, and how well it fits.

    ``covers_start``: the tier still holds data for the start of the range (False when no tier
    does: the oldest part of the answer is missing whatever we read). ``fits``: the tier
    answers the select as raw samples would (``answers``); False when the data that would has
    expired, e.g. a 15 s step or a ``quantile_over_time`` over data older than the raw
    retention: points then come one per bucket and the answer is approximate.
    """

    tier: Tier
    covers_start: bool
    fits: bool


def stale_mask(values: FloatArray) -> npt.NDArray[np.bool_]:
    """Which values are the staleness marker (bitwise, not merely NaN)."""
    bits: npt.NDArray[np.uint64] = np.asarray(values, dtype=np.float64).view(np.uint64)
    return np.equal(bits, np.uint64(STALE_NAN_BITS))


def downsample(timestamps: Int64Array, values: FloatArray, bucket_ms: int) -> Aggregates:
    """Aggregate raw samples (strictly increasing timestamps) into aligned buckets of
    ``bucket_ms``: the tier job's raw -> 1m step."""
    _check_bucket(bucket_ms)
    ts = np.asarray(timestamps, dtype=np.int64)
    vals = np.asarray(values, dtype=np.float64)
    if ts.ndim != 1 or vals.shape != ts.shape:
        raise ValueError("timestamps and values must be 1-D arrays of the same length")
    if ts.size > 1 and not bool(np.all(ts[1:] > ts[:-1])):
        raise ValueError("timestamps must be strictly increasing")
    real = ~stale_mask(vals)
    return _combine(
        ts // bucket_ms,
        bucket_ms,
        ts,
        mins=vals,
        maxs=vals,
        sums=vals,
        counts=real.astype(np.float64),
        lasts=vals,
        real=real,
    )


def merge(aggs: Aggregates, bucket_ms: int) -> Aggregates:
    """Re-aggregate finer buckets into coarser ones (1m -> 5m): min of mins, max of maxes, sum
    of sums, sum of counts, last of lasts with its timestamp. ``bucket_ms`` must be a multiple
    of the finer bucket size; the result equals ``downsample`` of the raw samples except for
    ``sum`` rounding (module docstring)."""
    _check_bucket(bucket_ms)
    ts = aggs.timestamps
    if ts.size > 1 and not bool(np.all(ts[1:] > ts[:-1])):
        raise ValueError("aggregate timestamps must be strictly increasing")
    group = aggs.bucket_start // bucket_ms
    if not bool(np.all(group == ts // bucket_ms)):
        raise ValueError("bucket_ms must be a multiple of the aggregates' bucket size")
    return _combine(
        group,
        bucket_ms,
        ts,
        mins=aggs.min,
        maxs=aggs.max,
        sums=aggs.sum,
        counts=aggs.count,
        lasts=aggs.last,
        real=aggs.count > 0,
    )


def least_buckets(func: str | None) -> int | None:
    """How many bucket points a range function needs in each window to be answered from a
    tier (``AGGREGATE_FUNCS`` and ``LAST_FUNCS`` one, ``TWO_POINT_FUNCS`` two), or None when
    bucket aggregates cannot give its answer (``quantile_over_time``, ``stddev_over_time``,
    ``first_over_time``, ... and any function not named here)."""
    if func in AGGREGATE_FUNCS or func in LAST_FUNCS:
        return 1
    if func in TWO_POINT_FUNCS:
        return 2
    return None


def answers(tier: Tier, end_ms: int, step_ms: int, range_ms: int | None, func: str | None) -> bool:
    """Whether ``tier`` answers a select as its raw samples would.

    The select evaluates at ``end_ms``, ``end_ms - step_ms``, ...; ``range_ms`` is the range
    of a range selector (None for an instant selector) and ``func`` the function reading it.
    Raw samples always do. A tier does when every evaluation time is a bucket boundary (the
    step a multiple of the bucket, ``end_ms`` aligned), so that each window holds whole
    buckets, and, for a range selector, when the range is a multiple of the bucket holding
    enough buckets for ``func`` (``least_buckets``). An instant selector reads ``last``: the
    newest sample before a bucket boundary is the last of the bucket ending there.
    ``reconstruct`` says what "as raw samples would" means at the edges.
    """
    bucket = tier.bucket_ms
    if bucket == 0:
        return True
    if step_ms <= 0 or step_ms % bucket or end_ms % bucket:
        return False
    if range_ms is None:
        return True
    least = least_buckets(func)
    return least is not None and range_ms % bucket == 0 and range_ms >= least * bucket


def choose_tier(
    start_ms: int,
    end_ms: int,
    step_ms: int,
    now_ms: int,
    tiers: Sequence[Tier],
    *,
    range_ms: int | None = None,
    func: str | None = None,
) -> TierChoice:
    """The tier a select over ``[start_ms, end_ms]`` with ``step_ms`` (and ``range_ms``,
    ``func``, as in ``answers``) should read.

    The coarsest tier that ``answers`` the select and whose retention still covers the start
    (``now_ms - retention_ms <= start_ms``); raw samples answer everything, so this is raw at
    worst while they are kept. Once finer data has expired and no covering tier answers, the
    finest tier that covers the start (raw data older than its retention exists only as 1m
    buckets, even for a 15 s step); if no tier covers the start, the one that reaches back
    furthest (finest on ties). Instant queries pass ``step_ms`` 0 and so read raw data when
    it is kept. The newest samples exist only in the raw tier until the tier job has
    processed their window; the caller fills the end of a range from raw data.
    """
    if not tiers:
        raise ValueError("no tiers")
    if end_ms < start_ms:
        raise ValueError("end_ms must not be before start_ms")
    if step_ms < 0:
        raise ValueError("step_ms must not be negative")
    by_bucket = sorted(tiers, key=lambda tier: tier.bucket_ms)
    covering = [tier for tier in by_bucket if now_ms - tier.retention_ms <= start_ms]
    fitting = [tier for tier in covering if answers(tier, end_ms, step_ms, range_ms, func)]
    if fitting:
        return TierChoice(fitting[-1], covers_start=True, fits=True)
    if covering:
        return TierChoice(covering[0], covers_start=True, fits=False)
    longest = max(by_bucket, key=lambda tier: tier.retention_ms)  # first (finest) on ties
    fits = answers(longest, end_ms, step_ms, range_ms, func)
    return TierChoice(longest, covers_start=False, fits=fits)


def reconstruct(aggs: Aggregates, func: str | None) -> tuple[Int64Array, FloatArray, FloatArray]:
    """The points a querier hands to the PromQL engine for ``func`` from a tier, one per
    bucket at the bucket's last timestamp, as (timestamps, values, counts): ``counts`` is
    each bucket's ``count``, the raw samples it aggregates (``Series.counts``).

    ``max_over_time`` -> ``max``, ``min_over_time`` -> ``min``, ``sum_over_time`` and
    ``avg_over_time`` -> ``sum``, ``count_over_time`` -> ``count``; these skip buckets
    holding only staleness markers. Anything else (plain selection, ``rate``, ``increase``,
    ``irate``, ``delta``, ``last_over_time``, ...) -> ``last`` of every bucket, staleness
    markers included, so the engine's usual staleness handling applies. The querier passes
    ``func`` None for an instant selector (inside a subquery its hint names the function
    reading the subquery, not one reading these points).

    The per-bucket values are exact for a window of exactly one bucket. Over wider windows
    the engine combines them as ``merge`` does: max of maxes and min of mins (what
    max/min_over_time do anyway), sum of sums, *sum* of counts (count_over_time sums
    ``counts``, not the points) and the summed sums over the summed counts for averages
    (avg_over_time divides by ``counts``; a mean of per-bucket means would be wrong when
    buckets hold different numbers of samples). Windows that do not start on a bucket
    boundary shift by up to one bucket (``answers`` keeps such selects on raw data while it
    is kept). PromQL windows are left-open, ``(t - range, t]``, while buckets are
    ``[start, end)``: a raw sample exactly on a bucket boundary is seen by the tier one window
    early (scrapes aligned to whole minutes make every window one sample off; scrape
    offsets, as Prometheus spreads them, avoid it).

    Why ``last`` serves counters: ``rate``/``increase`` over raw samples only look at the
    values at sample timestamps, and add back the previous value at each drop (a reset).
    ``last`` is the raw sample at the bucket's last timestamp, so the tier gives exactly the
    raw series thinned to one sample per bucket, and rate over it equals rate over the raw
    samples at those timestamps. A reset between two buckets' last samples shows as a drop of
    ``last`` and is corrected as Prometheus corrects one between two scrapes. A reset inside
    a bucket after which the counter grows past the previous bucket's ``last`` before the
    bucket ends is invisible, and the increase before the reset is lost: exactly what
    Prometheus would see with a scrape interval as long as the bucket.
    """
    if func not in AGGREGATE_FUNCS:
        return aggs.timestamps.copy(), aggs.last.copy(), aggs.count.copy()
    keep = aggs.count > 0
    ts, counts = aggs.timestamps[keep], aggs.count[keep]
    if func == "max_over_time":
        return ts, aggs.max[keep], counts
    if func == "min_over_time":
        return ts, aggs.min[keep], counts
    if func == "count_over_time":
        return ts, counts.copy(), counts
    return ts, aggs.sum[keep], counts  # sum_over_time, avg_over_time


def _check_bucket(bucket_ms: int) -> None:
    if operator.index(bucket_ms) <= 0:
        raise ValueError("bucket_ms must be positive")


def _run_starts(keys: npt.NDArray[np.int64]) -> npt.NDArray[np.intp]:
    """Indices where each run of equal, sorted keys begins."""
    if keys.size == 0:
        return np.empty(0, dtype=np.intp)
    return np.concatenate(([0], np.flatnonzero(keys[1:] != keys[:-1]) + 1)).astype(np.intp)


def _combine(
    group: Int64Array,
    bucket_ms: int,
    ts: Int64Array,
    *,
    mins: FloatArray,
    maxs: FloatArray,
    sums: FloatArray,
    counts: FloatArray,
    lasts: FloatArray,
    real: npt.NDArray[np.bool_],
) -> Aggregates:
    """Aggregate rows (raw samples as one-sample buckets, or finer buckets) by ``group``, the
    coarse bucket number of each row (sorted); ``real`` marks rows holding samples."""
    n = int(ts.shape[0])
    if n == 0:
        return Aggregates.empty()
    starts = _run_starts(group)
    nb = int(starts.shape[0])
    lengths = np.diff(np.append(starts, n))
    seg = np.repeat(np.arange(nb, dtype=np.intp), lengths)
    last_idx = starts + lengths - 1
    seg_real = seg[real]
    # bincount adds the weights one at a time in index order: a plain sequential sum.
    total = np.bincount(seg_real, weights=sums[real], minlength=nb).astype(np.float64)
    count = np.bincount(seg, weights=counts, minlength=nb).astype(np.float64)
    low = np.full(nb, np.nan)
    high = np.full(nb, np.nan)
    real_starts = _run_starts(seg_real.astype(np.int64))
    if real_starts.size:
        owners = seg_real[real_starts]
        low[owners] = _first_extreme(mins[real], real_starts, np.fmin)
        high[owners] = _first_extreme(maxs[real], real_starts, np.fmax)
    return Aggregates(
        timestamps=ts[last_idx].astype(np.int64),
        bucket_start=(group[starts] * bucket_ms).astype(np.int64),
        min=low,
        max=high,
        sum=total,
        count=count,
        last=lasts[last_idx].astype(np.float64),
    )


def _first_extreme(
    values: FloatArray, starts: npt.NDArray[np.intp], reducer: np.ufunc
) -> FloatArray:
    """Per segment (``starts``, all non-empty), the first value equal to the NaN-skipping
    extreme (so +/-0.0 ties keep the earlier sign), NaN when the segment is all NaN."""
    n = int(values.shape[0])
    extreme = reducer.reduceat(values, starts)
    seg = np.repeat(np.arange(starts.shape[0]), np.diff(np.append(starts, n)))
    positions = np.where(values == extreme[seg], np.arange(n), n)
    first = np.minimum.reduceat(positions, starts)
    out = np.full(starts.shape[0], np.nan)
    found = first < n
    out[found] = values[first[found]]
    return out
