"""Values the evaluator passes around and returns (docs/promql.md, "Evaluation model").

The evaluator works on a whole grid of evaluation timestamps at once (one for an instant
query, ``start, start+step, ..., end`` for a range query): an instant vector is a
``StepVector``, one row per series, one column per step, with a presence mask because a
series may have no sample at some steps while NaN is an ordinary sample value. A scalar is
one float per step. A range vector (matrix selector or subquery) is a ``RangeVector``: per
series, its raw samples plus, per step, the index window of the samples that step sees, all
series laid end to end in one ``SeriesBatch``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from multimonx.model import Labels

Floats = npt.NDArray[np.float64]
Ints = npt.NDArray[np.int64]
Bools = npt.NDArray[np.bool_]


@dataclass(frozen=True, slots=True)
class StepVector:
    """An instant vector at every step: ``values[i, j]`` is series ``labels[i]`` at step
    ``j``, meaningful where ``present[i, j]``. Labels are distinct (the evaluator checks)."""

    labels: list[Labels]
    values: Floats  # shape (len(labels), steps)
    present: Bools  # same shape

    @classmethod
    def empty(cls, steps: int) -> StepVector:
        """No series."""
        return cls([], np.empty((0, steps)), np.empty((0, steps), dtype=np.bool_))


@dataclass(frozen=True, slots=True)
class StepScalar:
    """A scalar at every step."""

    values: Floats  # shape (steps,)


@dataclass(frozen=True, slots=True)
class RangeSeries:
    """One series of a range vector: its samples in time order (staleness markers removed)
    and, per step ``j``, the samples ``timestamps[lo[j]:hi[j]]`` inside that step's window
    ``(t_j - range, t_j]`` (left-open, Prometheus 3.x). ``counts`` as in storage's Series
    (None for raw samples)."""

    labels: Labels
    timestamps: Ints
    values: Floats
    lo: Ints  # shape (steps,)
    hi: Ints  # shape (steps,)
    counts: Floats | None = None  # raw samples behind each point when read from a tier


@dataclass(frozen=True, slots=True)
class SeriesBatch:
    """Every series of a range vector laid end to end, so that a range function can reduce
    every window of every series in a few numpy calls (``functions.batched``).

    Series ``i`` owns the samples ``timestamps[starts[i]:stops[i]]`` (staleness markers
    removed, in time order); at step ``j`` its window holds ``[lo[i, j], hi[i, j])``, indices
    into the same flat arrays. ``counts`` is None when no series was read from a downsampled
    tier; otherwise it holds every sample's raw count (1.0 for raw series) and ``tiered[i]``
    says whether series ``i`` came from a tier (its ``RangeSeries.counts`` is then set)."""

    labels: list[Labels]
    timestamps: Ints  # all samples, series after series
    values: Floats
    starts: Ints  # shape (series,)
    stops: Ints  # shape (series,)
    lo: Ints  # shape (series, steps)
    hi: Ints  # shape (series, steps)
    counts: Floats | None = None
    tiered: Bools | None = None  # shape (series,), set when counts is

    @classmethod
    def of(cls, series: Sequence[RangeSeries], steps: int) -> SeriesBatch:
        """Lay ``series`` (each with ``steps`` windows) end to end."""
        if not series:
            no_rows = np.empty((0, steps), dtype=np.int64)
            none = np.empty(0, dtype=np.int64)
            return cls([], none, np.empty(0), none, none, no_rows, no_rows)
        lengths = np.fromiter((len(one.timestamps) for one in series), np.int64, len(series))
        stops = np.cumsum(lengths)
        starts = stops - lengths
        shift = starts[:, np.newaxis]
        counts: Floats | None = None
        tiered: Bools | None = None
        if any(one.counts is not None for one in series):
            tiered = np.array([one.counts is not None for one in series], dtype=np.bool_)
            counts = np.concatenate(
                [np.ones(len(one.values)) if one.counts is None else one.counts for one in series]
            )
        return cls(
            [one.labels for one in series],
            np.concatenate([one.timestamps for one in series]),
            np.concatenate([one.values for one in series]),
            starts,
            stops,
            np.vstack([one.lo for one in series]) + shift,
            np.vstack([one.hi for one in series]) + shift,
            counts,
            tiered,
        )

    def __len__(self) -> int:
        return len(self.labels)

    @property
    def samples(self) -> int:
        """How many samples the batch holds."""
        return int((self.stops - self.starts).sum())

    def rows(self, first: int, stop: int) -> SeriesBatch:
        """Series ``first..stop-1`` (``first < stop``), with views of just their samples
        (series are laid out in order)."""
        a, b = int(self.starts[first]), int(self.stops[stop - 1])
        return SeriesBatch(
            self.labels[first:stop],
            self.timestamps[a:b],
            self.values[a:b],
            self.starts[first:stop] - a,
            self.stops[first:stop] - a,
            self.lo[first:stop] - a,
            self.hi[first:stop] - a,
            None if self.counts is None else self.counts[a:b],
            None if self.tiered is None else self.tiered[first:stop],
        )

    def series(self, i: int) -> RangeSeries:
        """Series ``i`` on its own (views of the flat arrays)."""
        a, b = int(self.starts[i]), int(self.stops[i])
        counts = None
        if self.counts is not None and self.tiered is not None and self.tiered[i]:
            counts = self.counts[a:b]
        return RangeSeries(
            self.labels[i],
            self.timestamps[a:b],
            self.values[a:b],
            self.lo[i] - a,
            self.hi[i] - a,
            counts,
        )


@dataclass(frozen=True, slots=True)
class RangeVector:
    """A range vector at every step. Step ``j``'s window is ``(ends[j] - range_ms, ends[j]]``;
    ``ends`` is the evaluation timestamp moved by ``offset`` and ``@`` (Prometheus's
    ``rangeEnd``), ``eval_ts`` the evaluation timestamp itself (``enh.Ts``, which
    ``predict_linear`` and ``timestamp``-like functions use). Series with no sample in any
    window are left out."""

    batch: SeriesBatch
    range_ms: int
    ends: Ints  # shape (steps,)
    eval_ts: Ints  # shape (steps,)

    @property
    def series(self) -> list[RangeSeries]:
        """The series one by one (for the functions that work per series)."""
        return [self.batch.series(i) for i in range(len(self.batch))]


StepValue = StepVector | StepScalar | RangeVector | str
"""What evaluating an expression gives (a string literal stays a str)."""


@dataclass(frozen=True, slots=True)
class VectorSample:
    """One sample of an instant query's vector result."""

    labels: Labels
    t_ms: int
    value: float


@dataclass(frozen=True, slots=True)
class MatrixSeries:
    """One series of a range query's matrix result (or of an instant query of a range
    selector): its points in time order."""

    labels: Labels
    timestamps: Ints
    values: Floats


@dataclass(frozen=True, slots=True)
class QueryResult:
    """What ``Engine.instant`` / ``Engine.range`` return, shaped like the Prometheus HTTP
    API's ``data``: ``result_type`` "vector" -> ``vector``; "matrix" -> ``matrix``;
    "scalar" -> ``scalar`` as (t_ms, value); "string" -> ``string`` as (t_ms, text).
    Vectors keep the evaluator's order (sorted by labels unless sort functions or
    topk/bottomk ordered them); matrices are sorted by labels."""

    result_type: str
    vector: list[VectorSample] | None = None
    matrix: list[MatrixSeries] | None = None
    scalar: tuple[int, float] | None = None
    string: tuple[int, str] | None = None
