"""Per-step sample windows of one series, flattened so that numpy can reduce every window
of every step in one call (``np.add.reduceat`` over the concatenated windows)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from multimonx.promql.values import Bools, Floats, Ints, RangeSeries


@dataclass(frozen=True, slots=True)
class Windows:
    """The windows ``[lo[j], hi[j])`` of the non-empty steps, laid end to end.

    ``flat`` holds, for every window in turn, the indices of its samples; ``starts`` the
    offset in ``flat`` where each non-empty window begins; ``owner`` the window (among the
    non-empty ones) each entry of ``flat`` belongs to; ``steps`` the step index of each
    non-empty window."""

    counts: Ints  # samples per step, all steps
    steps: Ints  # step index of each non-empty window
    flat: Ints
    starts: Ints
    owner: Ints

    @classmethod
    def of(cls, lo: Ints, hi: Ints) -> Windows:
        """Flatten the windows ``[lo, hi)``."""
        counts = (hi - lo).astype(np.int64)
        steps = np.flatnonzero(counts > 0)
        sizes = counts[steps]
        ends = np.cumsum(sizes)
        starts = ends - sizes
        owner = np.repeat(np.arange(steps.size), sizes)
        flat = np.arange(int(ends[-1]) if ends.size else 0) - np.repeat(starts - lo[steps], sizes)
        return cls(counts, steps, flat, starts, owner)

    def sum(self, per_sample: Floats) -> Floats:
        """Sum of ``per_sample`` (indexed like ``flat``) over each non-empty window."""
        if self.flat.size == 0:
            return np.zeros(0)
        with np.errstate(all="ignore"):  # inf - inf is NaN, as in Go
            return np.add.reduceat(per_sample, self.starts)

    def spread(self, per_window: Floats | Ints) -> Floats:
        """Repeat one value per non-empty window to every sample of that window."""
        return np.asarray(per_window, dtype=np.float64)[self.owner]

    def scatter(self, per_window: Floats, steps_total: int) -> Floats:
        """Per-step array with ``per_window`` at the non-empty steps and NaN elsewhere."""
        out = np.full(steps_total, np.nan)
        out[self.steps] = per_window
        return out


def present_with(counts: Ints, least: int) -> Bools:
    """Steps whose window holds at least ``least`` samples."""
    return np.asarray(counts >= least, dtype=np.bool_)


def window_values(series: RangeSeries) -> tuple[Windows, Floats]:
    """The flattened windows of ``series`` and the values they hold."""
    windows = Windows.of(series.lo, series.hi)
    return windows, series.values[windows.flat]
