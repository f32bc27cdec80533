"""Binary operators over step grids: arithmetic, comparisons (filtering or ``bool``), the set
operators ``and``/``or``/``unless``, and vector matching with ``on``/``ignoring`` and
``group_left``/``group_right`` (Prometheus 3.x semantics, float samples).

Every operation works on all steps at once: the sides are matched through a (signature,
step) index, so the only Python loops run over series, never over samples.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from multimonx.model import METRIC_NAME_LABEL, Labels
from multimonx.promql.ast import BinaryExpr, Cardinality, VectorMatching
from multimonx.promql.errors import EvalError
from multimonx.promql.labelmemo import WITHOUT_NAME
from multimonx.promql.signatures import ARITHMETIC_OPS, COMPARISON_OPS, SET_OPS
from multimonx.promql.values import Bools, Floats, Ints, StepScalar, StepValue, StepVector

SAME_LABELSET = "vector cannot contain metrics with the same labelset"


_ARITHMETIC: dict[str, np.ufunc] = {
    "+": np.add,
    "-": np.subtract,
    "*": np.multiply,
    "/": np.divide,
    "%": np.fmod,  # Go's math.Mod: the result takes the dividend's sign
    "^": np.power,
    "atan2": np.arctan2,
}
_COMPARISON: dict[str, np.ufunc] = {
    "==": np.equal,
    "!=": np.not_equal,
    ">": np.greater,
    "<": np.less,
    ">=": np.greater_equal,
    "<=": np.less_equal,
}


def arithmetic(op: str, lhs: Floats, rhs: Floats) -> Floats:
    """``lhs op rhs`` with IEEE results (``x/0`` is ±Inf or NaN; ``%`` is Go's math.Mod)."""
    ufunc = _ARITHMETIC.get(op)
    if ufunc is None:
        raise EvalError(f"operator {op!r} is not an arithmetic operator")
    with np.errstate(all="ignore"):
        result: Floats = ufunc(lhs, rhs)
    return result


def comparison(op: str, lhs: Floats, rhs: Floats) -> Bools:
    """``lhs op rhs`` elementwise (NaN compares unequal to everything, itself included)."""
    ufunc = _COMPARISON.get(op)
    if ufunc is None:
        raise EvalError(f"operator {op!r} is not a comparison operator")
    with np.errstate(all="ignore"):
        result: Bools = ufunc(lhs, rhs)
    return result


def merge_rows(
    labels: Sequence[Labels], values: Floats, present: Bools, message: str = SAME_LABELSET
) -> StepVector:
    """Rows with equal label sets merged into one (they may hold different steps); raises
    EvalError(``message``) if two of them are present at the same step. Rows present at no
    step are dropped."""
    keep = present.any(axis=1)
    if not keep.all():
        labels = [labels[i] for i in np.flatnonzero(keep).tolist()]
        values, present = values[keep], present[keep]
    index: dict[Labels, int] = {}
    ids = np.fromiter(
        (index.setdefault(one, len(index)) for one in labels), dtype=np.int64, count=len(labels)
    )
    if len(index) == len(labels):
        return StepVector(list(labels), values, present)
    counts = np.zeros((len(index), present.shape[1]), dtype=np.int64)
    np.add.at(counts, ids, present.astype(np.int64))
    if (counts > 1).any():
        raise EvalError(message)
    rows, cols = np.nonzero(present)
    out_values = np.zeros(counts.shape)
    out_present = np.zeros(counts.shape, dtype=np.bool_)
    out_values[ids[rows], cols] = values[rows, cols]
    out_present[ids[rows], cols] = True
    return StepVector(list(index), out_values, out_present)


def without_name(labels: Sequence[Labels]) -> list[Labels]:
    """``labels`` with ``__name__`` removed (memoised, see ``labelmemo``)."""
    return WITHOUT_NAME.map(labels)


def binary(expr: BinaryExpr, lhs: StepValue, rhs: StepValue) -> StepVector | StepScalar:
    """Evaluate ``expr`` given the values of its two sides."""
    op = expr.op
    if isinstance(lhs, StepScalar) and isinstance(rhs, StepScalar):
        if op in COMPARISON_OPS:
            return StepScalar(comparison(op, lhs.values, rhs.values).astype(np.float64))
        return StepScalar(arithmetic(op, lhs.values, rhs.values))
    if isinstance(lhs, StepVector) and isinstance(rhs, StepScalar):
        return _vector_scalar(op, lhs, rhs.values, swap=False, return_bool=expr.return_bool)
    if isinstance(lhs, StepScalar) and isinstance(rhs, StepVector):
        return _vector_scalar(op, rhs, lhs.values, swap=True, return_bool=expr.return_bool)
    if isinstance(lhs, StepVector) and isinstance(rhs, StepVector):
        default = Cardinality.MANY_TO_MANY if op in SET_OPS else Cardinality.ONE_TO_ONE
        matching = expr.matching or VectorMatching(card=default)
        if op in SET_OPS:
            return _set_operation(op, lhs, rhs, matching)
        return _vector_vector(op, lhs, rhs, matching, expr.return_bool)
    raise EvalError(f"operator {op!r} is not defined between these operand types")


def _vector_scalar(
    op: str, vector: StepVector, scalar: Floats, *, swap: bool, return_bool: bool
) -> StepVector:
    """``vector op scalar`` (or ``scalar op vector`` with ``swap``); a comparison filter keeps
    the vector's value whichever side it is on."""
    lv, rv = vector.values, scalar[np.newaxis, :]
    if swap:
        lv, rv = rv, lv
    if op in ARITHMETIC_OPS:
        return merge_rows(without_name(vector.labels), arithmetic(op, lv, rv), vector.present)
    keep = comparison(op, lv, rv)
    if return_bool:
        return merge_rows(without_name(vector.labels), keep.astype(np.float64), vector.present)
    return merge_rows(vector.labels, vector.values, vector.present & keep)


def _signatures(
    sides: Sequence[Sequence[Labels]], matching: VectorMatching
) -> tuple[list[Ints], list[tuple[tuple[str, str], ...]]]:
    """Per side, the matching-signature id of each row, and the signatures by id."""
    names = frozenset(matching.labels)
    index: dict[tuple[tuple[str, str], ...], int] = {}
    out: list[Ints] = []
    for labels in sides:
        ids = []
        for one in labels:
            if matching.on:
                sig = tuple((n, v) for n, v in one.pairs if n in names)
            else:
                sig = tuple(
                    (n, v) for n, v in one.pairs if n not in names and n != METRIC_NAME_LABEL
                )
            ids.append(index.setdefault(sig, len(index)))
        out.append(np.asarray(ids, dtype=np.int64))
    return out, list(index)


def _present_by_signature(sig: Ints, present: Bools, count: int) -> Ints:
    """How many rows of each signature are present at each step."""
    counts = np.zeros((count, present.shape[1]), dtype=np.int64)
    np.add.at(counts, sig, present.astype(np.int64))
    return counts


def _set_operation(
    op: str, lhs: StepVector, rhs: StepVector, matching: VectorMatching
) -> StepVector:
    """``and``, ``or`` and ``unless``, decided step by step."""
    (lsig, rsig), sigs = _signatures([lhs.labels, rhs.labels], matching)
    if op == "and":
        on_right = _present_by_signature(rsig, rhs.present, len(sigs)) > 0
        return merge_rows(lhs.labels, lhs.values, lhs.present & on_right[lsig])
    if op == "unless":
        on_right = _present_by_signature(rsig, rhs.present, len(sigs)) > 0
        return merge_rows(lhs.labels, lhs.values, lhs.present & ~on_right[lsig])
    on_left = _present_by_signature(lsig, lhs.present, len(sigs)) > 0
    return merge_rows(
        [*lhs.labels, *rhs.labels],
        np.vstack((lhs.values, rhs.values)),
        np.vstack((lhs.present, rhs.present & ~on_left[rsig])),
    )


def _signature_text(sig: tuple[tuple[str, str], ...]) -> str:
    inner = ", ".join(f'{n}="{v}"' for n, v in sig)
    return "{" + inner + "}"


def _vector_vector(
    op: str, lhs: StepVector, rhs: StepVector, matching: VectorMatching, return_bool: bool
) -> StepVector:
    """Arithmetic or comparison between two vectors: each row of the "many" side pairs with
    the row of the "one" side that has its signature at that step."""
    one_to_many = matching.card is Cardinality.ONE_TO_MANY
    many, one = (rhs, lhs) if one_to_many else (lhs, rhs)
    (msig, osig), sigs = _signatures([many.labels, one.labels], matching)
    steps = many.values.shape[1]
    if not many.labels or not one.labels:
        return StepVector.empty(steps)
    counts = _present_by_signature(osig, one.present, len(sigs))
    if (counts > 1).any():
        sig_id, step = (int(x[0]) for x in np.nonzero(counts > 1))
        rows = np.flatnonzero((osig == sig_id) & one.present[:, step])
        side = "left" if one_to_many else "right"
        raise EvalError(
            f"found duplicate series for the match group {_signature_text(sigs[sig_id])} on "
            f"the {side} hand-side of the operation: [{one.labels[rows[0]]}, "
            f"{one.labels[rows[1]]}];many-to-many matching not allowed: matching labels must "
            "be unique on one side"
        )
    index = np.full((len(sigs), steps), -1, dtype=np.int64)
    rows, cols = np.nonzero(one.present)
    index[osig[rows], cols] = rows
    match = index[msig]
    valid = many.present & (match >= 0)
    if (
        matching.card is Cardinality.ONE_TO_ONE
        and (_present_by_signature(msig, valid, len(sigs)) > 1).any()
    ):
        raise EvalError(
            "multiple matches for labels: many-to-one matching must be explicit "
            "(group_left/group_right)"
        )
    mrow, col = np.nonzero(valid)
    orow = match[mrow, col]
    mv, ov = many.values[mrow, col], one.values[orow, col]
    lv, rv = (ov, mv) if one_to_many else (mv, ov)
    if op in ARITHMETIC_OPS:
        values, keep = arithmetic(op, lv, rv), np.ones(len(lv), dtype=np.bool_)
    elif return_bool:
        values, keep = comparison(op, lv, rv).astype(np.float64), np.ones(len(lv), np.bool_)
    else:
        values, keep = lv, comparison(op, lv, rv)
    pair = mrow * len(one.labels) + orow
    pairs, out_row = np.unique(pair, return_inverse=True)
    out_values = np.zeros((len(pairs), steps))
    out_present = np.zeros((len(pairs), steps), dtype=np.bool_)
    out_values[out_row, col] = values
    out_present[out_row, col] = keep
    drop_name = op in ARITHMETIC_OPS or return_bool
    labels = [
        _result_labels(
            many.labels[p // len(one.labels)], one.labels[p % len(one.labels)], matching, drop_name
        )
        for p in pairs.tolist()
    ]
    message = SAME_LABELSET
    if matching.card is not Cardinality.ONE_TO_ONE:
        message = "multiple matches for labels: grouping labels must ensure unique matches"
    return merge_rows(labels, out_values, out_present, message)


def _result_labels(many: Labels, one: Labels, matching: VectorMatching, drop_name: bool) -> Labels:
    """The labels of a result row (Prometheus's resultMetric)."""
    pairs = dict(many.pairs)
    if drop_name:
        pairs.pop(METRIC_NAME_LABEL, None)
    if matching.card is Cardinality.ONE_TO_ONE:
        if matching.on:
            pairs = {n: v for n, v in pairs.items() if n in matching.labels}
        else:
            for name in matching.labels:
                pairs.pop(name, None)
    for name in matching.include:
        value = one.get(name, "")
        if value:
            pairs[name] = value
        else:
            pairs.pop(name, None)
    return Labels(pairs.items())
