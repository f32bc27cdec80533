"""``histogram_quantile`` over classic histograms (series with an ``le`` label), with
Prometheus 3.x's ``BucketQuantile``: buckets grouped by every label but ``le``, equal
bounds merged, counts forced monotonic, linear interpolation inside the
bucket that holds the rank."""

from __future__ import annotations

import math
import sys
from collections.abc import Sequence

import numpy as np

from multimonx.model import METRIC_NAME_LABEL, Labels
from multimonx.promql.errors import EvalError
from multimonx.promql.functions.labels import merge_same_labels
from multimonx.promql.values import Bools, Floats, Ints, StepScalar, StepValue, StepVector

BUCKET_LABEL = "le"
SMALL_DELTA_TOLERANCE = 1e-12
_MIN_NORMAL = sys.float_info.min


def _parse_bound(text: str) -> float | None:
    """An ``le`` value as Go's ``strconv.ParseFloat`` reads it, or None."""
    if "_" in text:  # Python accepts digit separators, Go does not
        return None
    try:
        return float(text)
    except ValueError:
        return None


def _almost_equal(a: Floats, b: Floats, epsilon: float) -> Bools:
    """Prometheus's ``almost.Equal`` elementwise (relative difference below ``epsilon``)."""
    with np.errstate(all="ignore"):
        abs_sum = np.abs(a) + np.abs(b)
        diff = np.abs(a - b)
        tiny = (a == 0) | (b == 0) | (abs_sum < _MIN_NORMAL)
        relative = diff / np.minimum(abs_sum, sys.float_info.max) < epsilon
        return np.asarray((a == b) | np.where(tiny, diff < epsilon * _MIN_NORMAL, relative))


def _monotonic(counts: Floats) -> Floats:
    """Counts with small float noise and decreases smoothed out, bucket by bucket."""
    fixed = counts.copy()
    previous = fixed[0].copy()
    for i in range(1, fixed.shape[0]):
        current = fixed[i]
        same = current == previous
        noise = ~same & _almost_equal(previous, current, SMALL_DELTA_TOLERANCE)
        lower = ~same & ~noise & (current < previous)
        replaced = noise | lower
        fixed[i] = np.where(replaced, previous, current)
        previous = np.where(same | replaced, previous, current)
    return fixed


def bucket_quantile(q: Floats, bounds: Floats, counts: Floats) -> Floats:
    """The ``q``-quantile per step of one histogram: ``bounds`` sorted ascending and
    distinct, ``counts[i, j]`` the cumulative count of bucket ``i`` at step ``j``."""
    steps = q.shape[0]
    if bounds.size < 2 or not math.isinf(bounds[-1]) or bounds[-1] < 0:
        result = np.full(steps, np.nan)
    else:
        counts = _monotonic(counts)
        with np.errstate(all="ignore"):
            rank = q * counts[-1]
            reached = counts[:-1] >= rank
            b = np.where(reached.any(axis=0), np.argmax(reached, axis=0), bounds.size - 1)
            inner = np.minimum(b, bounds.size - 2)
            below = np.maximum(inner - 1, 0)
            columns = np.arange(steps)
            start = np.where(inner > 0, bounds[below], 0.0)
            below_count = np.where(inner > 0, counts[below, columns], 0.0)
            width_count = counts[inner, columns] - below_count
            result = start + (bounds[inner] - start) * ((rank - below_count) / width_count)
        result = np.where(b == bounds.size - 1, bounds[-2], result)
        result = np.where((b == 0) & (bounds[0] <= 0), bounds[0], result)
        result = np.where(counts[-1] == 0, np.nan, result)
    result = np.where(q < 0, -np.inf, np.where(q > 1, np.inf, result))
    return np.where(np.isnan(q), np.nan, result)


def _groups(vector: StepVector) -> dict[Labels, list[tuple[float, int]]]:
    """Bucket rows by their histogram: every label but ``le`` (the metric name included, so
    two histograms that differ only by name stay apart, as in Prometheus)."""
    groups: dict[Labels, list[tuple[float, int]]] = {}
    for row, label_set in enumerate(vector.labels):
        if BUCKET_LABEL not in label_set:
            continue
        bound = _parse_bound(label_set[BUCKET_LABEL])
        if bound is None:
            continue
        key = label_set.without(BUCKET_LABEL)
        groups.setdefault(key, []).append((bound, row))
    return groups


def _histogram_steps(
    q: Floats, vector: StepVector, members: list[tuple[float, int]]
) -> tuple[Floats, Bools]:
    """One histogram's quantile per step. Steps with the same set of present buckets are
    computed together."""
    members.sort()
    bounds_all = np.array([b for b, _ in members])
    rows = np.array([r for _, r in members])
    present = vector.present[rows]
    out = np.full(q.size, np.nan)
    has_any = present.any(axis=0)
    patterns, inverse = np.unique(present.T, axis=0, return_inverse=True)
    for index, pattern in enumerate(patterns):
        cols = np.flatnonzero(inverse.ravel() == index)
        if not pattern.any():
            continue
        bounds, start = np.unique(bounds_all[pattern], return_index=True)
        counts = np.add.reduceat(vector.values[rows[pattern]][:, cols], start, axis=0)
        out[cols] = bucket_quantile(q[cols], bounds, counts)
    return out, has_any


def histogram_quantile(args: Sequence[StepValue], eval_ts: Ints) -> StepValue:
    """``histogram_quantile(q, buckets)`` over classic histograms."""
    if not isinstance(args[0], StepScalar) or not isinstance(args[1], StepVector):
        raise EvalError("histogram_quantile() expects a scalar and an instant vector")
    q, vector = args[0].values, args[1]
    labels, values, present = [], [], []
    for key, members in _groups(vector).items():
        result, has = _histogram_steps(q, vector, members)
        labels.append(key.without(METRIC_NAME_LABEL))
        values.append(result)
        present.append(has)
    if not labels:
        return StepVector.empty(eval_ts.size)
    return merge_same_labels(labels, StepVector(labels, np.array(values), np.array(present)))
