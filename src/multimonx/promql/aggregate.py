"""Aggregation operators over step grids (Prometheus 3.x semantics, float samples).

Rows are grouped by their ``by``/``without`` label key once; every step is then computed at
once: reductions with ``np.<ufunc>.reduceat`` over rows sorted by group, rankings
(``topk``, ``bottomk``, ``quantile``, ``limitk``) with one sort per group along the series
axis.
"""

from __future__ import annotations

import hashlib
import math

import numpy as np

from multimonx.model import Labels, valid_label_name
from multimonx.promql.ast import Aggregation
from multimonx.promql.binary import merge_rows
from multimonx.promql.errors import EvalError
from multimonx.promql.labelmemo import distinct_objects, group_key, group_memo
from multimonx.promql.values import Bools, Floats, Ints, StepScalar, StepVector

_REDUCERS = frozenset({"sum", "avg", "count", "min", "max", "group", "stddev", "stdvar"})
_INT64_MAX = 2.0**63


def _group_ids(vector: StepVector, node: Aggregation) -> tuple[Ints, list[Labels]]:
    """Each row's group id (groups numbered in order of first appearance) and group labels.
    The group keys come from a memo that interns them, so rows are grouped by object
    identity in numpy; should the memo be emptied meanwhile, by value."""
    memo = group_memo(node.grouping, node.without)
    generation = memo.generation
    keys = memo.map(vector.labels)
    if memo.generation == generation:
        ids, firsts = distinct_objects(keys)
        return ids, [keys[i] for i in firsts]
    index: dict[Labels, int] = {}
    by_value = np.fromiter(
        (index.setdefault(one, len(index)) for one in keys), dtype=np.int64, count=len(keys)
    )
    return by_value, list(index)


def aggregate(node: Aggregation, vector: StepVector, param: StepScalar | str | None) -> StepVector:
    """Evaluate the aggregation ``node`` over ``vector``; ``param`` is the evaluated leading
    parameter of topk, bottomk, quantile, count_values, limitk and limit_ratio. Rows of
    topk/bottomk come out ranked within each group (the instant query order)."""
    steps = vector.values.shape[1]
    if not vector.labels:
        return StepVector.empty(steps)
    op = node.op
    if op == "count_values":
        assert isinstance(param, str)
        return _count_values(param, vector, node)
    ids, groups = _group_ids(vector, node)
    if op in _REDUCERS:
        return _reduce(op, vector, ids, groups)
    assert isinstance(param, StepScalar)
    if op in ("topk", "bottomk", "limitk"):
        return _top(op, _k_per_step(param.values), vector, ids, len(groups))
    if op == "quantile":
        return _quantile(param.values, vector, ids, groups)
    if op == "limit_ratio":
        return _limit_ratio(param.values, vector)
    raise EvalError(f"unknown aggregation {op!r}")


def _reduce(op: str, vector: StepVector, ids: Ints, groups: list[Labels]) -> StepVector:
    """sum, avg, count, min, max, group, stddev and stdvar."""
    order = np.argsort(ids, kind="stable")
    sorted_ids = ids[order]
    starts = np.concatenate(([0], np.flatnonzero(np.diff(sorted_ids)) + 1))
    present = vector.present[order]
    values = vector.values[order]
    count = np.add.reduceat(present.astype(np.float64), starts, axis=0)
    out_present = count > 0
    masked = np.where(present, values, 0.0)
    with np.errstate(all="ignore"):
        if op == "count":
            result = count
        elif op == "group":
            result = np.ones_like(count)
        elif op == "sum":
            result = np.add.reduceat(masked, starts, axis=0)
        elif op == "min":
            result = np.fmin.reduceat(np.where(present, values, np.nan), starts, axis=0)
        elif op == "max":
            result = np.fmax.reduceat(np.where(present, values, np.nan), starts, axis=0)
        elif op == "avg":
            result = _average(masked, count, starts, sorted_ids)
        else:
            mean = _average(masked, count, starts, sorted_ids)
            deviation = np.where(present, values - mean[sorted_ids], 0.0)
            result = np.add.reduceat(deviation * deviation, starts, axis=0) / count
            if op == "stddev":
                result = np.sqrt(result)
    labels = [groups[int(g)] for g in sorted_ids[starts]]
    return merge_rows(labels, result, out_present)


def _average(masked: Floats, count: Floats, starts: Ints, sorted_ids: Ints) -> Floats:
    """Group means; where the plain sum overflows, a sum of pre-divided values (as Prometheus
    3.x switches to an incremental mean)."""
    total = np.add.reduceat(masked, starts, axis=0)
    mean: Floats = total / count
    finite_inputs = np.logical_and.reduceat(np.isfinite(masked), starts, axis=0)
    overflow = np.isinf(mean) & finite_inputs
    if overflow.any():
        scaled = np.add.reduceat(masked / count[sorted_ids], starts, axis=0)
        mean = np.where(overflow, scaled, mean)
    return mean


def _k_per_step(values: Floats) -> Ints:
    """The integer parameter of topk/bottomk/limitk at each step."""
    bad = np.isnan(values) | (np.abs(values) >= _INT64_MAX)
    if bad.any():
        raise EvalError(f"Scalar value {format_value(float(values[bad][0]))} overflows int64")
    return values.astype(np.int64)


def _top(op: str, k: Ints, vector: StepVector, ids: Ints, group_count: int) -> StepVector:
    """topk, bottomk (NaN ranks last in both) and limitk (the first k series present)."""
    selected = np.zeros_like(vector.present)
    order_rows: list[int] = []
    for group in range(group_count):
        rows = np.flatnonzero(ids == group)
        present = vector.present[rows]
        if op == "limitk":
            rank = np.cumsum(present, axis=0) - 1
            selected[rows] = present & (rank < k)
            order_rows.extend(rows.tolist())
            continue
        values = vector.values[rows]
        key = -values if op == "topk" else values
        ranking = np.lexsort((key, np.isnan(values), ~present), axis=0)
        rank = np.empty_like(ranking)
        np.put_along_axis(rank, ranking, np.arange(len(rows))[:, np.newaxis], axis=0)
        selected[rows] = present & (rank < k)
        order_rows.extend(rows[ranking[:, 0]].tolist())
    ordered = np.asarray(order_rows, dtype=np.int64)
    keep = selected[ordered].any(axis=1)
    ordered = ordered[keep]
    return StepVector(
        [vector.labels[i] for i in ordered.tolist()],
        vector.values[ordered],
        selected[ordered],
    )


def _quantile(phi: Floats, vector: StepVector, ids: Ints, groups: list[Labels]) -> StepVector:
    """The phi-quantile of each group at each step, interpolated as Prometheus does (NaN
    sorts first; phi < 0 gives -Inf and phi > 1 +Inf)."""
    steps = vector.values.shape[1]
    out_values = np.full((len(groups), steps), np.nan)
    out_present = np.zeros((len(groups), steps), dtype=np.bool_)
    columns = np.arange(steps)
    for group in range(len(groups)):
        rows = np.flatnonzero(ids == group)
        present = vector.present[rows]
        values = vector.values[rows]
        ranking = np.lexsort((values, ~np.isnan(values), ~present), axis=0)
        ordered = np.take_along_axis(values, ranking, axis=0)
        n = present.sum(axis=0)
        with np.errstate(all="ignore"):
            rank = phi * (n - 1)
            lower = np.clip(np.floor(np.nan_to_num(rank)), 0, np.maximum(n - 1, 0)).astype(int)
            upper = np.minimum(lower + 1, np.maximum(n - 1, 0))
            weight = rank - np.floor(rank)
            low_v = ordered[lower, columns]
            high_v = ordered[upper, columns]
            result = low_v * (1 - weight) + high_v * weight
        result = np.where(phi < 0, -np.inf, np.where(phi > 1, np.inf, result))
        result = np.where(np.isnan(phi), np.nan, result)
        out_values[group] = result
        out_present[group] = n > 0
    return merge_rows(groups, out_values, out_present)


def format_value(value: float) -> str:
    """A float as Go's ``strconv.FormatFloat(v, 'f', -1, 64)`` writes it."""
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "+Inf" if value > 0 else "-Inf"
    return np.format_float_positional(value, unique=True, trim="-")


def _count_values(label: str, vector: StepVector, node: Aggregation) -> StepVector:
    """How many series have each distinct value, per group. The value label is set before
    grouping (so it may replace a grouping label) and ``by`` keeps it, as in Prometheus."""
    if not valid_label_name(label):
        raise EvalError(f'invalid label name "{label}"')
    grouping = node.grouping if node.without else (*node.grouping, label)
    rows, cols = np.nonzero(vector.present)
    distinct, value_id = np.unique(vector.values[rows, cols], return_inverse=True)
    texts = [format_value(float(v)) for v in distinct]
    pairs, pair_of_sample = np.unique(rows * len(texts) + value_id, return_inverse=True)
    index: dict[Labels, int] = {}
    out_of_pair = np.asarray(
        [
            index.setdefault(
                group_key(
                    vector.labels[p // len(texts)].with_labels({label: texts[p % len(texts)]}),
                    grouping,
                    node.without,
                ),
                len(index),
            )
            for p in pairs.tolist()
        ],
        dtype=np.int64,
    )
    counts = np.zeros((len(index), vector.values.shape[1]))
    np.add.at(counts, (out_of_pair[pair_of_sample], cols), 1.0)
    return StepVector(list(index), counts, counts > 0)


def _sample_offset(labels: Labels) -> float:
    """A stable pseudo-random position in [0, 1) for a series (limit_ratio's sampling)."""
    digest = hashlib.blake2b(repr(labels.pairs).encode(), digest_size=8).digest()
    return int.from_bytes(digest, "little") / 2.0**64


def _limit_ratio(ratio: Floats, vector: StepVector) -> StepVector:
    """A deterministic sample of about ``|ratio|`` of the series; a negative ratio selects
    the complement of the same positive ratio's sample."""
    if np.isnan(ratio).any():
        raise EvalError("Ratio value NaN is not allowed in limit_ratio")
    ratio = np.clip(ratio, -1.0, 1.0)
    offset = np.asarray([_sample_offset(one) for one in vector.labels])[:, np.newaxis]
    chosen: Bools = np.where(ratio >= 0, offset < ratio, offset >= 1.0 + ratio)
    return merge_rows(vector.labels, vector.values, vector.present & chosen)
