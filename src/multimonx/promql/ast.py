"""The PromQL syntax tree (Prometheus 3.x), shared by the parser, the evaluator and printing.

Nodes are frozen dataclasses. Durations and timestamps are int milliseconds. ``pos`` is the
character offset of the node's first character in the query text (for error messages).
The parser resolves what Prometheus's parser resolves: types are checked
(``multimonx.promql.signatures``), ``VectorSelector.name`` is also present as a
``__name__`` matcher, and number literals are floats (``0x1f``, ``1e3``, ``Inf``, ``NaN``,
and durations such as ``5m`` where a number is expected, in seconds).
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import Literal

from multimonx.model import Matcher


class ValueType(enum.Enum):
    """What an expression evaluates to."""

    SCALAR = "scalar"
    VECTOR = "vector"
    MATRIX = "matrix"
    STRING = "string"


AtModifier = int | Literal["start", "end"] | None
"""``@ <timestamp>`` in ms, ``@ start()``, ``@ end()``, or no ``@``."""


@dataclass(frozen=True, slots=True)
class NumberLiteral:
    """A float literal (``1``, ``1.5e3``, ``0x1F``, ``Inf``, ``NaN``; a duration in seconds)."""

    value: float
    pos: int = 0


@dataclass(frozen=True, slots=True)
class StringLiteral:
    """A string literal, unescaped (Go rules: ``"..."``, ``'...'`` or raw `` `...` ``)."""

    value: str
    pos: int = 0


@dataclass(frozen=True, slots=True)
class VectorSelector:
    """``name{matchers} offset <d> @ <t>``: an instant vector selector.

    ``matchers`` include ``__name__="name"`` when a name was written before the braces.
    ``offset_ms`` may be negative (``offset -5m``).
    """

    name: str | None
    matchers: tuple[Matcher, ...]
    offset_ms: int = 0
    at: AtModifier = None
    pos: int = 0


@dataclass(frozen=True, slots=True)
class MatrixSelector:
    """``selector[range]``: a range vector selector (offset and @ live on ``vector``)."""

    vector: VectorSelector
    range_ms: int
    pos: int = 0


@dataclass(frozen=True, slots=True)
class SubqueryExpr:
    """``expr[range:step] offset <d> @ <t>``; ``step_ms`` None means the default resolution."""

    expr: Expr
    range_ms: int
    step_ms: int | None
    offset_ms: int = 0
    at: AtModifier = None
    pos: int = 0


@dataclass(frozen=True, slots=True)
class Call:
    """``func(args...)``; ``func`` is a name from ``signatures.FUNCTIONS``."""

    func: str
    args: tuple[Expr, ...]
    pos: int = 0


@dataclass(frozen=True, slots=True)
class Aggregation:
    """``op [by|without (labels)] ([param,] expr)``; ``param`` for topk, bottomk, quantile,
    count_values, limitk and limit_ratio. ``without`` False with empty ``grouping`` means no
    grouping clause (all series into one group)."""

    op: str
    expr: Expr
    param: Expr | None = None
    grouping: tuple[str, ...] = ()
    without: bool = False
    pos: int = 0


class Cardinality(enum.Enum):
    """How samples of two vectors pair up in a binary operation."""

    ONE_TO_ONE = "one-to-one"
    MANY_TO_ONE = "many-to-one"  # group_left
    ONE_TO_MANY = "one-to-many"  # group_right
    MANY_TO_MANY = "many-to-many"  # and, or, unless


@dataclass(frozen=True, slots=True)
class VectorMatching:
    """``on(labels)`` / ``ignoring(labels)`` and ``group_left(include)`` /
    ``group_right(include)`` of a binary operation between two vectors. ``on`` False with
    empty ``labels`` is the default (match on all labels but the metric name)."""

    card: Cardinality = Cardinality.ONE_TO_ONE
    on: bool = False
    labels: tuple[str, ...] = ()
    include: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class BinaryExpr:
    """``lhs op lhs``. ``op`` is one of ``+ - * / % ^ atan2 == != > < >= <= and or unless``;
    ``return_bool`` for ``op bool``; ``matching`` is set when both sides are vectors."""

    op: str
    lhs: Expr
    rhs: Expr
    return_bool: bool = False
    matching: VectorMatching | None = None
    pos: int = 0


@dataclass(frozen=True, slots=True)
class UnaryExpr:
    """``-expr`` or ``+expr``."""

    op: Literal["-", "+"]
    expr: Expr
    pos: int = 0


@dataclass(frozen=True, slots=True)
class ParenExpr:
    """``(expr)``, kept so that printing gives the query back as written."""

    expr: Expr
    pos: int = 0


Expr = (
    NumberLiteral
    | StringLiteral
    | VectorSelector
    | MatrixSelector
    | SubqueryExpr
    | Call
    | Aggregation
    | BinaryExpr
    | UnaryExpr
    | ParenExpr
)
"""Any PromQL expression."""
