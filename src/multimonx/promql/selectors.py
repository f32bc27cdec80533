"""Selecting series from storage for a grid of steps: instant vector selectors (lookback and
staleness), range vector selectors (left-open windows) and the step grids of subqueries.

All functions here work on a whole grid of evaluation timestamps at once, and the selectors
on all series at once too: the series are laid end to end and one ``searchsorted`` finds
every series' sample for every step (``_Flat``). Python loops run over series only to gather
their arrays, never over samples.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np

from multimonx.model import Labels
from multimonx.model.sample import STALE_NAN_BITS
from multimonx.promql.values import Bools, Floats, Ints, RangeSeries, SeriesBatch
from multimonx.storage.interface import Series, SeriesSet

_STALE_BITS = np.uint64(STALE_NAN_BITS)


def stale_mask(values: Floats) -> Bools:
    """Where ``values`` hold the staleness marker (bit-exact, as Prometheus compares it)."""
    return np.asarray(values.view(np.uint64) == _STALE_BITS)


@dataclass(frozen=True, slots=True)
class SelectedRows:
    """An instant vector selector over a grid: per series, the value and the timestamp of the
    sample each step sees (``timestamps`` is what ``timestamp()`` reports)."""

    labels: list[Labels]
    values: Floats  # (series, steps)
    timestamps: Ints  # (series, steps), meaningful where present
    present: Bools  # (series, steps)


_MAX_KEY = 2**62
"""Search keys (series index x time span) stay below this, far from int64's limit."""


@dataclass(slots=True)
class _Flat:
    """Selected series laid end to end, with the series each sample belongs to (``owner``).
    Irregular times are searched with a key per sample: series ``i``'s sample at ``t`` has
    the key ``i * span + (t - base)``, so one ``searchsorted`` over ``keys`` finds, for every
    series and every step at once, where a time falls among that series' samples (keys of
    one series never reach the next one's); regular grids are counted (``_after_grid``)."""

    labels: list[Labels]
    timestamps: Ints
    values: Floats
    counts: Floats | None
    tiered: Bools | None
    starts: Ints  # first sample of each series
    stops: Ints
    owner: Ints
    base: int
    span: int
    _keys: Ints | None = None

    @property
    def keys(self) -> Ints:
        """The search keys (built on first use)."""
        if self._keys is None:
            self._keys = self.owner * self.span + (self.timestamps - self.base)
        return self._keys

    @classmethod
    def of(cls, found: SeriesSet, low: int, high: int) -> _Flat | None:
        """Lay ``found`` out for searches of times in ``[low, high]``; None when the keys
        would overflow int64 (then search series by series)."""
        timestamps = found.timestamps
        base = min(low, int(timestamps.min())) if timestamps.size else low
        span = max(high, int(timestamps.max()) if timestamps.size else high) - base + 1
        if len(found) * span >= _MAX_KEY:
            return None
        owner = np.repeat(np.arange(len(found), dtype=np.int64), found.stops - found.starts)
        return cls(
            found.labels,
            timestamps,
            found.values,
            found.counts,
            found.tiered,
            found.starts,
            found.stops,
            owner,
            base,
            span,
        )

    def after(self, times: Ints) -> Ints:
        """For every series (rows) and time (columns), the index of its first sample after
        that time (its ``stops`` when there is none)."""
        steps = len(times)
        if steps >= _COUNTING_MIN_STEPS:
            step = int(times[1] - times[0])
            if step > 0 and bool((np.diff(times) == step).all()):
                return self._after_grid(int(times[0]), step, steps)
        rows = np.arange(len(self.labels), dtype=np.int64)[:, np.newaxis] * self.span
        found = np.searchsorted(self.keys, rows + (times - self.base), side="right")
        return found.astype(np.int64)

    def _after_grid(self, first: int, step: int, steps: int) -> Ints:
        """``after`` for the regular grid ``first, first + step, ...`` (``steps`` times) by
        counting instead of searching: a sample at ``t`` is at or before every grid time from
        ``ceil((t - first) / step)`` on, so one ``bincount`` of (series, that grid index)
        and a running sum along each row give every answer in a few passes over the samples
        (a binary search per series and step costs several times more at fleet scale)."""
        rows = len(self.labels)
        owner = self.owner * (steps + 1)
        first_grid = -((first - self.timestamps) // step)
        np.clip(first_grid, 0, steps, out=first_grid)
        owner += first_grid
        counts = np.bincount(owner, minlength=rows * (steps + 1)).reshape(rows, steps + 1)
        found = np.cumsum(counts[:, :steps], axis=1)
        found += self.starts[:, np.newaxis]
        return found


_COUNTING_MIN_STEPS = 16
"""Grids with at least this many steps are answered by ``_Flat._after_grid``."""


def instant_rows(
    series: SeriesSet | Sequence[Series], at_ts: Ints, lookback_ms: int
) -> SelectedRows:
    """For each step ``t`` of ``at_ts`` (already moved by offset and ``@``), the newest sample of
    each series in ``(t - lookback, t]``, absent if there is none or it is a staleness
    marker (Prometheus 3.x: the lookback window is left-open). Series present at no step are
    left out."""
    found = series if isinstance(series, SeriesSet) else SeriesSet.of(series)
    flat = _Flat.of(found, int(at_ts.min()) - lookback_ms, int(at_ts.max())) if found else None
    if flat is None:
        return _instant_rows_one_by_one(found.series(), at_ts, lookback_ms)
    idx = flat.after(at_ts) - 1
    safe = np.maximum(idx, 0)
    ts = flat.timestamps[safe]
    vs = flat.values[safe]
    present = (idx >= flat.starts[:, np.newaxis]) & (ts > at_ts - lookback_ms) & ~stale_mask(vs)
    keep = present.any(axis=1)
    if keep.all():
        return SelectedRows(flat.labels, vs, ts, present)
    rows = np.flatnonzero(keep)
    labels = [flat.labels[i] for i in rows.tolist()]
    return SelectedRows(labels, vs[rows], ts[rows], present[rows])


def _instant_rows_one_by_one(
    series: Sequence[Series], at_ts: Ints, lookback_ms: int
) -> SelectedRows:
    """``instant_rows`` searching each series on its own (for time spans too wide to key)."""
    labels: list[Labels] = []
    rows_v: list[Floats] = []
    rows_t: list[Ints] = []
    rows_p: list[Bools] = []
    for one in series:
        if len(one) == 0:
            continue
        idx = np.searchsorted(one.timestamps, at_ts, side="right") - 1
        safe = np.maximum(idx, 0)
        ts = one.timestamps[safe]
        vs = one.values[safe]
        present = (idx >= 0) & (ts > at_ts - lookback_ms) & ~stale_mask(vs)
        if not present.any():
            continue
        labels.append(one.labels)
        rows_v.append(vs)
        rows_t.append(ts)
        rows_p.append(present)
    steps = len(at_ts)
    if not labels:
        return SelectedRows(
            [],
            np.empty((0, steps)),
            np.empty((0, steps), dtype=np.int64),
            np.empty((0, steps), dtype=np.bool_),
        )
    return SelectedRows(labels, np.vstack(rows_v), np.vstack(rows_t), np.vstack(rows_p))


def range_batch(series: SeriesSet | Sequence[Series], ends: Ints, range_ms: int) -> SeriesBatch:
    """``range_series`` for all series at once, as one SeriesBatch: staleness markers removed,
    windows ``(end - range, end]`` found by one search over every series' samples."""
    steps = len(ends)
    found = series if isinstance(series, SeriesSet) else SeriesSet.of(series)
    stale = stale_mask(found.values)
    if stale.any():
        found = _without(found, ~stale)
    flat = _Flat.of(found, int(ends.min()) - range_ms, int(ends.max())) if found else None
    if flat is None:
        return SeriesBatch.of(range_series(found.series(), ends, range_ms), steps)
    lo, hi = _window_bounds(flat, ends, range_ms)
    keep = (hi > lo).any(axis=1)
    rows = np.flatnonzero(keep)
    labels = flat.labels if keep.all() else [flat.labels[i] for i in rows.tolist()]
    tiered = None if flat.tiered is None else flat.tiered[rows]
    return SeriesBatch(
        labels,
        flat.timestamps,
        flat.values,
        flat.starts[rows],
        flat.stops[rows],
        lo[rows],
        hi[rows],
        flat.counts,
        tiered,
    )


def _window_bounds(flat: _Flat, ends: Ints, range_ms: int) -> tuple[Ints, Ints]:
    """Per series and step, the first sample after the window's start and after its end. On a
    regular grid whose step divides the range, a window starts where the window ``range /
    step`` steps earlier ended, so one search over the grid extended back by the range finds
    both."""
    steps = len(ends)
    step = int(ends[1] - ends[0]) if steps > 1 else 0
    back = range_ms // step if step > 0 else steps
    if back >= steps or range_ms % step or not (np.diff(ends) == step).all():
        return flat.after(ends - range_ms), flat.after(ends)
    found = flat.after(np.arange(int(ends[0]) - range_ms, int(ends[-1]) + 1, step))
    return found[:, :steps], found[:, back:]


def _without(found: SeriesSet, keep: Bools) -> SeriesSet:
    """``found`` with only the samples ``keep`` marks; series left empty are dropped."""
    kept = np.zeros(found.samples + 1, dtype=np.int64)
    np.cumsum(keep, out=kept[1:])
    starts, stops = kept[found.starts], kept[found.stops]
    rows = np.flatnonzero(stops > starts)
    labels = found.labels if len(rows) == len(found) else [found.labels[i] for i in rows.tolist()]
    return SeriesSet(
        labels,
        found.timestamps[keep],
        found.values[keep],
        starts[rows],
        stops[rows],
        None if found.counts is None else found.counts[keep],
        None if found.tiered is None else found.tiered[rows],
    )


def range_series(series: Iterable[Series], ends: Ints, range_ms: int) -> list[RangeSeries]:
    """Each series with staleness markers removed and, per step, the index window of its
    samples in ``(end - range, end]``; series with no sample in any window are left out."""
    out: list[RangeSeries] = []
    for one in series:
        keep = ~stale_mask(one.values)
        everything = bool(keep.all())
        ts = one.timestamps if everything else one.timestamps[keep]
        vs = one.values if everything else one.values[keep]
        found = windows(one.labels, ts, vs, ends, range_ms)
        if found is not None:
            if one.counts is not None:
                counts = one.counts if everything else one.counts[keep]
                found = dataclasses.replace(found, counts=counts)
            out.append(found)
    return out


def windows(
    labels: Labels, timestamps: Ints, values: Floats, ends: Ints, range_ms: int
) -> RangeSeries | None:
    """``timestamps``/``values`` as a RangeSeries with windows ``(end - range, end]`` per step,
    or None when no window holds a sample."""
    lo = np.searchsorted(timestamps, ends - range_ms, side="right").astype(np.int64)
    hi = np.searchsorted(timestamps, ends, side="right").astype(np.int64)
    if not (hi > lo).any():
        return None
    return RangeSeries(labels, timestamps, values, lo, hi)


def go_div(a: int, b: int) -> int:
    """Integer division truncating toward zero, as Go's ``/`` on int64."""
    q = abs(a) // abs(b)
    return q if (a >= 0) == (b > 0) else -q


def subquery_grid(first_ms: int, last_ms: int, range_ms: int, step_ms: int) -> Ints:
    """The inner evaluation timestamps of a subquery whose outer window ends run from
    ``first_ms`` to ``last_ms``: multiples of ``step_ms`` after ``first_ms - range`` up to
    ``last_ms`` (Prometheus aligns subquery steps to absolute time)."""
    low = first_ms - range_ms
    start = step_ms * go_div(low, step_ms)
    if start <= low:
        start += step_ms
    if start > last_ms:
        return np.empty(0, dtype=np.int64)
    return np.arange(start, last_ms + 1, step_ms, dtype=np.int64)


def matrix_of_rows(
    labels: Sequence[Labels], values: Floats, present: Bools, grid: Ints
) -> list[tuple[Labels, Ints, Floats]]:
    """The present points of each row of a step grid, as (labels, timestamps, values); a row
    present at every step (the usual case) shares ``grid`` and a view of its values."""
    out: list[tuple[Labels, Ints, Floats]] = []
    full: list[bool] = np.asarray(present.all(axis=1)).tolist()
    some: list[bool] = np.asarray(present.any(axis=1)).tolist()
    for i, row_labels in enumerate(labels):
        if full[i]:
            out.append((row_labels, grid, values[i]))
        elif some[i]:
            mask = present[i]
            out.append((row_labels, grid[mask], values[i][mask]))
    return out
