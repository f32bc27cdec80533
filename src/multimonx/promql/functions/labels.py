"""Label-changing functions (``label_replace``, ``label_join``), the sort family, and the
shared step of dropping ``__name__`` and merging series that end up with equal labels."""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Sequence

import numpy as np

from multimonx.model import METRIC_NAME_LABEL, Labels
from multimonx.model.regex import Regex, RegexError, RegexMatch, compile_regex
from multimonx.promql.errors import EvalError
from multimonx.promql.values import Ints, StepValue, StepVector

_NAME_CHARS = re.compile(r"\w+")  # letters, digits, underscore (Unicode), as Go's Expand
_CHUNKS = re.compile(r"[0-9]+|[^0-9]+")


def merge_same_labels(labels: list[Labels], vector: StepVector) -> StepVector:
    """``vector`` relabelled to ``labels``; rows that now share a label set are merged, which
    is an error where two of them have a sample at the same step (Prometheus: "vector cannot
    contain metrics with the same labelset")."""
    rows: dict[Labels, list[int]] = {}
    for row, label_set in enumerate(labels):
        rows.setdefault(label_set, []).append(row)
    if len(rows) == len(labels):
        return StepVector(labels, vector.values, vector.present)
    values = np.full((len(rows), vector.values.shape[1]), np.nan)
    present = np.zeros(values.shape, dtype=np.bool_)
    for out_row, members in enumerate(rows.values()):
        taken = vector.present[members]
        if (taken.sum(axis=0) > 1).any():
            raise EvalError("vector cannot contain metrics with the same labelset")
        for member in members:
            mask = vector.present[member]
            values[out_row, mask] = vector.values[member, mask]
        present[out_row] = taken.any(axis=0)
    return StepVector(list(rows), values, present)


def drop_metric_name(vector: StepVector) -> StepVector:
    """``vector`` without ``__name__`` (what most functions do to their input's labels)."""
    return merge_same_labels([ls.without(METRIC_NAME_LABEL) for ls in vector.labels], vector)


def _string(arg: StepValue) -> str:
    if not isinstance(arg, str):
        raise EvalError(f"expected a string argument, got {type(arg).__name__}")
    return arg


def _vector(arg: StepValue) -> StepVector:
    if not isinstance(arg, StepVector):
        raise EvalError(f"expected an instant vector argument, got {type(arg).__name__}")
    return arg


def _check_label_name(name: str, function: str, role: str) -> None:
    """Prometheus 3.x accepts any non-empty UTF-8 label name."""
    if not name:
        raise EvalError(f"invalid {role} label name in {function}(): {name}")


def expand(template: str, regex: Regex, match: RegexMatch) -> str:
    """Go's ``regexp.Expand``: ``$1``, ``${1}``, ``$name``, ``${name}``, ``$$``; a name is the
    longest run of letters, digits and ``_``; unknown groups expand to nothing; a malformed
    reference leaves the ``$`` as text."""
    out: list[str] = []
    rest = template
    while (dollar := rest.find("$")) >= 0:
        out.append(rest[:dollar])
        rest = rest[dollar + 1 :]
        if rest.startswith("$"):
            out.append("$")
            rest = rest[1:]
            continue
        name, after = _reference(rest)
        if name is None:
            out.append("$")
            continue
        out.append(_group(regex, match, name))
        rest = after
    out.append(rest)
    return "".join(out)


def _reference(text: str) -> tuple[str | None, str]:
    """Split a group reference (after its ``$``) from the text that follows it."""
    brace = text.startswith("{")
    body = text[1:] if brace else text
    found = _NAME_CHARS.match(body)
    if found is None:
        return None, text
    name, after = found.group(), body[found.end() :]
    if brace:
        if not after.startswith("}"):
            return None, text
        after = after[1:]
    return name, after


def _group(regex: Regex, match: RegexMatch, name: str) -> str:
    """The text of group ``name`` (a number without leading zeros, or a group name)."""
    if name.isascii() and name.isdigit() and (name == "0" or not name.startswith("0")):
        number = int(name)
        if number <= regex.groups:
            return match.group(number) or ""
        return ""
    if name in regex.groupindex:
        return match.group(name) or ""
    return ""


def label_replace(args: Sequence[StepValue], eval_ts: Ints) -> StepValue:
    """``label_replace(v, dst, replacement, src, regex)``: where the fully anchored ``regex``
    matches the value of ``src``, set ``dst`` to the expanded replacement."""
    vector = _vector(args[0])
    dst, replacement, src, pattern = (_string(a) for a in args[1:5])
    try:
        regex = compile_regex(pattern)
    except RegexError as err:
        raise EvalError(f"invalid regular expression in label_replace(): {pattern}") from err
    _check_label_name(dst, "label_replace", "destination")
    labels = []
    for label_set in vector.labels:
        match = regex.fullmatch(label_set.get(src, ""))
        replaced = {dst: expand(replacement, regex, match)} if match is not None else {}
        labels.append(label_set.with_labels(replaced) if replaced else label_set)
    return merge_same_labels(labels, vector)


def label_join(args: Sequence[StepValue], eval_ts: Ints) -> StepValue:
    """``label_join(v, dst, separator, src...)``: set ``dst`` to the source labels' values
    joined by ``separator``."""
    vector = _vector(args[0])
    dst, separator = _string(args[1]), _string(args[2])
    sources = [_string(a) for a in args[3:]]
    for source in sources:
        _check_label_name(source, "label_join", "source")
    _check_label_name(dst, "label_join", "destination")
    labels = [
        ls.with_labels({dst: separator.join(ls.get(s, "") for s in sources)})
        for ls in vector.labels
    ]
    return merge_same_labels(labels, vector)


def _reordered(vector: StepVector, order: Sequence[int]) -> StepVector:
    index = np.asarray(order, dtype=np.int64)
    return StepVector(
        [vector.labels[i] for i in order], vector.values[index], vector.present[index]
    )


def _by_value(args: Sequence[StepValue], descending: bool) -> StepVector:
    """Rows ordered by their value at the first step, NaN (and absent rows) last; ties keep
    the input order. Only an instant query's result shows this order."""
    vector = _vector(args[0])
    if not vector.labels or vector.values.shape[1] == 0:
        return vector
    column = vector.values[:, 0]
    key = -column if descending else column
    missing = np.isnan(column) | ~vector.present[:, 0]
    order = np.lexsort((np.where(missing, 0.0, key), missing))
    return _reordered(vector, order.tolist())


def sort(args: Sequence[StepValue], eval_ts: Ints) -> StepValue:
    """Ascending by value."""
    return _by_value(args, descending=False)


def sort_desc(args: Sequence[StepValue], eval_ts: Ints) -> StepValue:
    """Descending by value."""
    return _by_value(args, descending=True)


def natural_less(a: str, b: str) -> bool:
    """``natsort.Compare`` as Prometheus 3.x uses it: digit runs compare as integers, other
    runs as strings, chunk by chunk."""
    chunks_a: list[str] = _CHUNKS.findall(a)
    chunks_b: list[str] = _CHUNKS.findall(b)
    for i, chunk_a in enumerate(chunks_a):
        if i >= len(chunks_b):
            return False
        chunk_b = chunks_b[i]
        both_numeric = (
            chunk_a[0].isascii()
            and chunk_a[0].isdigit()
            and chunk_b[0].isascii()
            and chunk_b[0].isdigit()
        )
        if both_numeric and int(chunk_a) != int(chunk_b):
            return int(chunk_a) < int(chunk_b)
        if not both_numeric and chunk_a != chunk_b:
            return chunk_a < chunk_b
        if i == len(chunks_a) - 1:
            return True
        if i == len(chunks_b) - 1:
            return False
    return False


def _label_comparator(names: Sequence[str]) -> Callable[[Labels, Labels], int]:
    def compare(a: Labels, b: Labels) -> int:
        """-1, 0 or 1 as ``a`` sorts before, with or after ``b``."""
        for name in names:
            va, vb = a.get(name, ""), b.get(name, "")
            if va != vb:
                return -1 if natural_less(va, vb) else 1
        return -1 if a < b else (1 if b < a else 0)

    return compare


def _by_label(args: Sequence[StepValue], descending: bool) -> StepVector:
    vector = _vector(args[0])
    names = [_string(a) for a in args[1:]]
    compare = _label_comparator(names)
    rows: list[int] = list(range(len(vector.labels)))

    def by_rows(i: int, j: int) -> int:
        return compare(vector.labels[i], vector.labels[j])

    order = sorted(rows, key=functools.cmp_to_key(by_rows), reverse=descending)
    return _reordered(vector, order)


def sort_by_label(args: Sequence[StepValue], eval_ts: Ints) -> StepValue:
    """Ascending by the given labels' values in natural order, then by the whole label set."""
    return _by_label(args, descending=False)


def sort_by_label_desc(args: Sequence[StepValue], eval_ts: Ints) -> StepValue:
    """Descending counterpart of ``sort_by_label``."""
    return _by_label(args, descending=True)
