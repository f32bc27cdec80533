"""Selecting series from storage for a grid of steps: instant vector selectors (lookback and
staleness), range vector selectors (left-open windows) and the step grids of subqueries.

All functions here work on a whole grid of evaluation timestamps at once; the only Python
loops run over series, never over samples.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np

from multimonx.model import Labels
from multimonx.model.sample import STALE_NAN_BITS
from multimonx.promql.values import Bools, Floats, Ints, RangeSeries
from multimonx.storage.interface import Series

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


def instant_rows(series: Iterable[Series], at_ts: Ints, lookback_ms: int) -> SelectedRows:
    """For each step ``t`` of ``at_ts`` (already moved by offset and ``@``), the newest sample of
    each series in ``(t - lookback, t]``, absent if there is none or it is a staleness
    marker (Prometheus 3.x: the lookback window is left-open)."""
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
    """The present points of each row of a step grid, as (labels, timestamps, values)."""
    out: list[tuple[Labels, Ints, Floats]] = []
    for i, row_labels in enumerate(labels):
        mask = present[i]
        if mask.any():
            out.append((row_labels, grid[mask], values[i][mask]))
    return out
