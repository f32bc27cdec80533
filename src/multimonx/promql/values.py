"""Values the evaluator passes around and returns (docs/promql.md, "Evaluation model").

The evaluator works on a whole grid of evaluation timestamps at once (one for an instant
query, ``start, start+step, ..., end`` for a range query): an instant vector is a
``StepVector``, one row per series, one column per step, with a presence mask because a
series may have no sample at some steps while NaN is an ordinary sample value. A scalar is
one float per step. A range vector (matrix selector or subquery) is a ``RangeVector``: per
series, its raw samples plus, per step, the index window of the samples that step sees.
"""

from __future__ import annotations

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
class RangeVector:
    """A range vector at every step. Step ``j``'s window is ``(ends[j] - range_ms, ends[j]]``;
    ``ends`` is the evaluation timestamp moved by ``offset`` and ``@`` (Prometheus's
    ``rangeEnd``), ``eval_ts`` the evaluation timestamp itself (``enh.Ts``, which
    ``predict_linear`` and ``timestamp``-like functions use)."""

    series: list[RangeSeries]
    range_ms: int
    ends: Ints  # shape (steps,)
    eval_ts: Ints  # shape (steps,)


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
