"""PromQL printing: the canonical single-line form of Prometheus's ``Expr.String()``.

``parse(format_expr(e))`` gives ``e`` back (positions aside). Numbers print as Go's ``%v``
(``1e+06``, ``+Inf``), strings as Go's ``%q``, durations as ``1h30m``, matchers sorted.
"""

from __future__ import annotations

import math
from decimal import Decimal

from multimonx.model import METRIC_NAME_LABEL, Matcher, MatchType, valid_label_name
from multimonx.model import valid_metric_name as _valid_metric_name
from multimonx.promql.ast import (
    Aggregation,
    AtModifier,
    BinaryExpr,
    Call,
    Cardinality,
    Expr,
    MatrixSelector,
    NumberLiteral,
    ParenExpr,
    StringLiteral,
    SubqueryExpr,
    UnaryExpr,
    VectorMatching,
    VectorSelector,
)

__all__ = ["format_duration", "format_expr", "go_float", "go_quote"]

_DURATION_UNITS = (
    ("y", 365 * 24 * 3600 * 1000, True),
    ("w", 7 * 24 * 3600 * 1000, True),
    ("d", 24 * 3600 * 1000, False),
    ("h", 3600 * 1000, False),
    ("m", 60 * 1000, False),
    ("s", 1000, False),
    ("ms", 1, False),
)
_GO_ESCAPES = {
    "\a": "\\a",
    "\b": "\\b",
    "\f": "\\f",
    "\n": "\\n",
    "\r": "\\r",
    "\t": "\\t",
    "\v": "\\v",
    "\\": "\\\\",
    '"': '\\"',
}


def format_expr(expr: Expr) -> str:
    """The expression as Prometheus prints it on one line."""
    match expr:
        case NumberLiteral(value=value):
            return go_float(value)
        case StringLiteral(value=value):
            return go_quote(value)
        case VectorSelector():
            return _vector_selector(expr) + _modifiers(expr.offset_ms, expr.at)
        case MatrixSelector(vector=vector, range_ms=range_ms):
            suffix = _modifiers(vector.offset_ms, vector.at)
            return f"{_vector_selector(vector)}[{format_duration(range_ms)}]{suffix}"
        case SubqueryExpr():
            step = format_duration(expr.step_ms) if expr.step_ms else ""
            suffix = _modifiers(expr.offset_ms, expr.at)
            return f"{format_expr(expr.expr)}[{format_duration(expr.range_ms)}:{step}]{suffix}"
        case Call(func=func, args=args):
            return f"{func}({', '.join(format_expr(arg) for arg in args)})"
        case Aggregation():
            return _aggregation(expr)
        case BinaryExpr():
            modifier = " bool" if expr.return_bool else ""
            matching = _matching(expr.matching)
            lhs, rhs = format_expr(expr.lhs), format_expr(expr.rhs)
            return f"{lhs} {expr.op}{modifier}{matching} {rhs}"
        case UnaryExpr(op=op, expr=inner):
            return f"{op}{format_expr(inner)}"
        case ParenExpr(expr=inner):
            return f"({format_expr(inner)})"
    raise TypeError(f"not a PromQL expression: {expr!r}")


def format_duration(ms: int) -> str:
    """A duration as Prometheus prints it: ``1h30m``, ``90d``, ``0s``; years and weeks only
    when they divide it exactly."""
    if ms == 0:
        return "0s"
    parts = []
    for unit, size, exact in _DURATION_UNITS:
        if exact and ms % size:
            continue
        count, ms = divmod(ms, size)
        if count:
            parts.append(f"{count}{unit}")
    return "".join(parts)


def go_float(value: float) -> str:
    """A float as Go's ``fmt.Sprint`` prints it (shortest digits, ``%g`` style, ``+Inf``)."""
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "+Inf" if value > 0 else "-Inf"
    if value == 0:
        return "-0" if math.copysign(1.0, value) < 0 else "0"
    sign, digits, exponent = Decimal(repr(value)).normalize().as_tuple()
    assert isinstance(exponent, int)
    text = "".join(map(str, digits))
    point = len(text) + exponent  # digits before the decimal point
    exp10 = point - 1
    prefix = "-" if sign else ""
    if exp10 < -4 or exp10 >= 6:  # Go %v switches to %e here
        mantissa = text[0] + ("." + text[1:] if len(text) > 1 else "")
        return f"{prefix}{mantissa}e{'-' if exp10 < 0 else '+'}{abs(exp10):02d}"
    if point <= 0:
        return f"{prefix}0.{'0' * -point}{text}"
    if point >= len(text):
        return prefix + text + "0" * (point - len(text))
    return f"{prefix}{text[:point]}.{text[point:]}"


def go_quote(value: str) -> str:
    """A string as Go's ``strconv.Quote`` writes it."""
    out = ['"']
    for char in value:
        if char in _GO_ESCAPES:
            out.append(_GO_ESCAPES[char])
        elif char.isprintable() or char == " ":
            out.append(char)
        elif ord(char) < 0x80:
            out.append(f"\\x{ord(char):02x}")
        elif ord(char) <= 0xFFFF:
            out.append(f"\\u{ord(char):04x}")
        else:
            out.append(f"\\U{ord(char):08x}")
    out.append('"')
    return "".join(out)


def _label_name(name: str) -> str:
    """A label name, quoted when it is outside the classic charset (3.x UTF-8 names)."""
    return name if valid_label_name(name) else go_quote(name)


def _matcher(matcher: Matcher) -> str:
    return f"{_label_name(matcher.name)}{matcher.type.value}{go_quote(matcher.value)}"


def _vector_selector(selector: VectorSelector) -> str:
    """``name{matchers}`` without modifiers; the name matcher is left out when the name is
    written, and names outside the classic charset go inside the braces as ``"name"``."""
    name = selector.name or ""
    shown = [
        _matcher(m)
        for m in selector.matchers
        if not (m.name == METRIC_NAME_LABEL and m.type is MatchType.EQUAL and m.value == name)
    ]
    shown.sort()
    if name and not _valid_metric_name(name):
        shown.insert(0, go_quote(name))
        name = ""
    if not shown:
        return name
    return f"{name}{{{','.join(shown)}}}"


def _modifiers(offset_ms: int, at: AtModifier) -> str:
    """`` @ <t>`` then `` offset <d>``, in Prometheus's order."""
    text = ""
    if isinstance(at, int):
        text += f" @ {at / 1000:.3f}"
    elif at is not None:
        text += f" @ {at}()"
    if offset_ms > 0:
        text += f" offset {format_duration(offset_ms)}"
    elif offset_ms < 0:
        text += f" offset -{format_duration(-offset_ms)}"
    return text


def _aggregation(expr: Aggregation) -> str:
    text = expr.op
    if expr.without:
        text += f" without ({', '.join(map(_label_name, expr.grouping))}) "
    elif expr.grouping:
        text += f" by ({', '.join(map(_label_name, expr.grouping))}) "
    param = f"{format_expr(expr.param)}, " if expr.param is not None else ""
    return f"{text}({param}{format_expr(expr.expr)})"


def _matching(matching: VectorMatching | None) -> str:
    """`` on (a) group_left (b)``; nothing for default matching."""
    if matching is None:
        return ""
    grouped = matching.card in (Cardinality.MANY_TO_ONE, Cardinality.ONE_TO_MANY)
    if not (matching.on or matching.labels or grouped):
        return ""
    text = (
        f" {'on' if matching.on else 'ignoring'} ({', '.join(map(_label_name, matching.labels))})"
    )
    if grouped:
        side = "left" if matching.card is Cardinality.MANY_TO_ONE else "right"
        text += f" group_{side} ({', '.join(map(_label_name, matching.include))})"
    return text
