"""PromQL parser: query text to the syntax tree of ``multimonx.promql.ast`` (Prometheus 3.x).

A precedence-climbing parser over ``lexer.tokenize``. It resolves and checks what Prometheus's
parser does: operator precedence (``^`` right-associative, unary minus binding like ``*``),
``-`` folded into number literals, function and aggregation signatures, the value types of
every operand, vector matching and the ``offset``/``@`` modifiers.
"""

from __future__ import annotations

import functools
import math
import re
from dataclasses import replace

from multimonx.model import METRIC_NAME_LABEL, Matcher
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
    ValueType,
    VectorMatching,
    VectorSelector,
)
from multimonx.promql.lexer import Kind, ParseError, Token, parse_duration, tokenize
from multimonx.promql.signatures import (
    AGGREGATIONS,
    COMPARISON_OPS,
    FUNCTIONS,
    PRECEDENCE,
    SET_OPS,
)

__all__ = ["ParseError", "QueryTypeError", "check_query_type", "parse", "value_type"]

_KEYWORD_OPERATORS = frozenset({"and", "or", "unless", "atan2"})
_NOT_NAMES = frozenset({"on", "ignoring", "group_left", "group_right", "bool", "atan2"})
"""Keywords that cannot be metric names (``sum``, ``by``, ``offset``... can)."""
_UNARY_PRECEDENCE = PRECEDENCE["*"]
_MATCH_OPERATORS = frozenset({"=", "!=", "=~", "!~"})


PARSED_CACHE_SIZE = 1024
"""Distinct query texts whose syntax trees are kept: dashboards and rules send the same
queries again and again, and parsing one costs about as much as answering a small query."""


@functools.lru_cache(maxsize=PARSED_CACHE_SIZE)
def parse(text: str) -> Expr:
    """The syntax tree of a PromQL expression; raises ParseError for invalid queries. Trees
    are immutable, so those of recent texts are kept and shared."""
    try:
        return _Parser(text).run()
    except RecursionError:
        raise ParseError("expression nested too deeply", 0, text) from None


class QueryTypeError(ValueError):
    """A valid expression of a type the query cannot return (Prometheus answers bad_data)."""


def check_query_type(expr: Expr, range_query: bool) -> None:
    """Reject expressions a query cannot return, as Prometheus's engine does: a range query
    must evaluate to a scalar or an instant vector; an instant query may return any type.
    Raises QueryTypeError with Prometheus's message."""
    kind = value_type(expr)
    if range_query and kind not in (ValueType.SCALAR, ValueType.VECTOR):
        raise QueryTypeError(
            f'invalid expression type "{describe(kind)}" for range query, '
            "must be Scalar or instant Vector"
        )


class _Parser:
    """Parses one query; holds the token list and a cursor."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.tokens = tokenize(text)
        self.index = 0

    # -- cursor ---------------------------------------------------------------------------

    def peek(self, ahead: int = 0) -> Token:
        return self.tokens[min(self.index + ahead, len(self.tokens) - 1)]

    def advance(self) -> Token:
        token = self.peek()
        self.index += 1
        return token

    def error(self, message: str, pos: int) -> ParseError:
        return ParseError(message, pos, self.text)

    def unexpected(self, token: Token, context: str = "") -> ParseError:
        where = f" in {context}" if context else ""
        return self.error(f"unexpected {token.describe()}{where}", token.pos)

    def expect(self, kind: Kind, context: str) -> Token:
        token = self.peek()
        if token.kind is not kind:
            raise self.unexpected(token, context)
        return self.advance()

    def is_keyword(self, token: Token, *words: str) -> bool:
        return token.kind is Kind.IDENTIFIER and token.text.lower() in words

    # -- expressions ----------------------------------------------------------------------

    def run(self) -> Expr:
        if self.peek().kind is Kind.EOF:
            raise self.error("no expression found in input", 0)
        expr = self.expression(0)
        token = self.peek()
        if token.kind is not Kind.EOF:
            raise self.unexpected(token)
        return expr

    def binary_operator(self) -> str | None:
        token = self.peek()
        if token.kind is Kind.OPERATOR and token.text in PRECEDENCE:
            return token.text
        if self.is_keyword(token, *_KEYWORD_OPERATORS):
            return token.text.lower()
        if token.kind is Kind.OPERATOR and token.text == "=":
            raise self.error('unexpected "=" (did you mean "=="?)', token.pos)
        return None

    def expression(self, min_precedence: int) -> Expr:
        lhs = self.unary()
        while (op := self.binary_operator()) is not None and PRECEDENCE[op] >= min_precedence:
            op_token = self.advance()
            return_bool, matching = self.binary_modifiers()
            next_precedence = PRECEDENCE[op] + (0 if op == "^" else 1)
            rhs = self.expression(next_precedence)
            draft = BinaryExpr(op, lhs, rhs, return_bool, matching, lhs.pos)
            lhs = self.binary(draft, op_token.pos)
        return lhs

    def binary(self, draft: BinaryExpr, op_pos: int) -> BinaryExpr:
        """``draft`` checked, with the vector matching Prometheus keeps."""
        try:
            kept = check_binary(draft)
        except ValueError as err:
            raise self.error(str(err), op_pos) from None
        return replace(draft, matching=kept)

    def binary_modifiers(self) -> tuple[bool, VectorMatching]:
        """``bool``, ``on``/``ignoring (labels)`` and ``group_left``/``group_right (labels)``."""
        return_bool = False
        if self.is_keyword(self.peek(), "bool"):
            self.advance()
            return_bool = True
        if not self.is_keyword(self.peek(), "on", "ignoring"):
            return return_bool, VectorMatching()
        on = self.advance().text.lower() == "on"
        labels = self.label_list("grouping")
        card = Cardinality.ONE_TO_ONE
        include: tuple[str, ...] = ()
        if self.is_keyword(self.peek(), "group_left", "group_right"):
            left = self.advance().text.lower() == "group_left"
            card = Cardinality.MANY_TO_ONE if left else Cardinality.ONE_TO_MANY
            if self.peek().kind is Kind.LEFT_PAREN:
                include = self.label_list("grouping")
        return return_bool, VectorMatching(card, on, labels, include)

    def unary(self) -> Expr:
        token = self.peek()
        if token.kind is not Kind.OPERATOR or token.text not in ("+", "-"):
            return self.postfix(self.primary())
        self.advance()
        operand = self.expression(_UNARY_PRECEDENCE + 1)
        if isinstance(operand, NumberLiteral):
            value = -operand.value if token.text == "-" else operand.value
            return NumberLiteral(value, token.pos)
        kind = value_type(operand)
        if kind not in (ValueType.SCALAR, ValueType.VECTOR):
            raise self.error(
                "unary expression only allowed on expressions of type scalar or instant vector, "
                f'got "{describe(kind)}"',
                token.pos,
            )
        return UnaryExpr("-" if token.text == "-" else "+", operand, token.pos)

    def primary(self) -> Expr:
        token = self.peek()
        if token.kind is Kind.NUMBER:
            self.advance()
            return NumberLiteral(self.number(token), token.pos)
        if token.kind is Kind.DURATION:
            return NumberLiteral(self.duration("number") / 1000.0, token.pos)
        if token.kind is Kind.STRING:
            self.advance()
            return StringLiteral(token.text, token.pos)
        if token.kind is Kind.LEFT_PAREN:
            self.advance()
            inner = self.expression(0)
            self.expect(Kind.RIGHT_PAREN, "parenthesized expression")
            return ParenExpr(inner, token.pos)
        if token.kind is Kind.LEFT_BRACE:
            return self.vector_selector(None, token.pos)
        if token.kind is Kind.IDENTIFIER:
            return self.identifier_expression(token)
        raise self.unexpected(token)

    def identifier_expression(self, token: Token) -> Expr:
        """An aggregation, ``Inf``/``NaN``, a function call or a metric name. Most keywords
        (``sum``, ``by``, ``and``, ``offset``...) are metric names where nothing else fits."""
        word = token.text.lower()
        after = self.peek(1)
        grouped = after.kind is Kind.LEFT_PAREN or self.is_keyword(after, "by", "without")
        if word in AGGREGATIONS and grouped:
            return self.aggregation(token)
        if word in ("inf", "nan"):
            self.advance()
            return NumberLiteral(_number(word), token.pos)
        if word in _NOT_NAMES:
            raise self.unexpected(token)
        if after.kind is Kind.LEFT_PAREN:
            return self.call(token)
        self.advance()
        return self.vector_selector(token.text, token.pos)

    def number(self, token: Token) -> float:
        try:
            return _number(token.text)
        except ValueError as err:
            raise self.error(str(err), token.pos) from None

    # -- postfix modifiers: [range], [range:step], offset, @ --------------------------------

    def postfix(self, expr: Expr) -> Expr:
        while True:
            token = self.peek()
            if token.kind is Kind.LEFT_BRACKET:
                expr = self.range_or_subquery(expr)
            elif self.is_keyword(token, "offset"):
                self.advance()
                expr = self.with_offset(expr, self.signed_duration("offset"), token.pos)
            elif token.kind is Kind.AT:
                self.advance()
                expr = self.with_at(expr, self.at_value(), token.pos)
            else:
                return expr

    def range_or_subquery(self, expr: Expr) -> Expr:
        open_pos = self.advance().pos
        range_ms = self.duration("range")
        if self.peek().kind is Kind.COLON:
            self.advance()
            step = None if self.peek().kind is Kind.RIGHT_BRACKET else self.duration("subquery")
            self.expect(Kind.RIGHT_BRACKET, "subquery selector")
            kind = value_type(expr)
            if kind is not ValueType.VECTOR:
                raise self.error(
                    f"subquery is only allowed on instant vector, got {kind.value} instead",
                    expr.pos,
                )
            return SubqueryExpr(expr, range_ms, step, pos=expr.pos)
        self.expect(Kind.RIGHT_BRACKET, "matrix selector")
        if not isinstance(expr, VectorSelector):
            raise self.error("ranges only allowed for vector selectors", open_pos)
        if expr.offset_ms:
            raise self.error("no offset modifiers allowed before range", open_pos)
        if expr.at is not None:
            raise self.error("no @ modifiers allowed before range", open_pos)
        return MatrixSelector(expr, range_ms, expr.pos)

    def with_offset(self, expr: Expr, offset_ms: int, pos: int) -> Expr:
        target = expr.vector if isinstance(expr, MatrixSelector) else expr
        if not isinstance(target, VectorSelector | SubqueryExpr):
            raise self.error(
                "offset modifier must be preceded by an instant vector selector "
                "or range vector selector or a subquery",
                pos,
            )
        if target.offset_ms:
            raise self.error("offset may not be set multiple times", pos)
        if isinstance(target, SubqueryExpr):
            return SubqueryExpr(
                target.expr, target.range_ms, target.step_ms, offset_ms, target.at, target.pos
            )
        vector = VectorSelector(target.name, target.matchers, offset_ms, target.at, target.pos)
        return (
            MatrixSelector(vector, expr.range_ms, expr.pos)
            if isinstance(expr, MatrixSelector)
            else vector
        )

    def with_at(self, expr: Expr, at: AtModifier, pos: int) -> Expr:
        target = expr.vector if isinstance(expr, MatrixSelector) else expr
        if not isinstance(target, VectorSelector | SubqueryExpr):
            raise self.error(
                "@ modifier must be preceded by an instant vector selector "
                "or range vector selector or a subquery",
                pos,
            )
        if target.at is not None:
            raise self.error("@ <timestamp> may not be set multiple times", pos)
        if isinstance(target, SubqueryExpr):
            return SubqueryExpr(
                target.expr, target.range_ms, target.step_ms, target.offset_ms, at, target.pos
            )
        vector = VectorSelector(target.name, target.matchers, target.offset_ms, at, target.pos)
        return (
            MatrixSelector(vector, expr.range_ms, expr.pos)
            if isinstance(expr, MatrixSelector)
            else vector
        )

    def at_value(self) -> AtModifier:
        """The argument of ``@``: a (signed) number of seconds, ``start()`` or ``end()``."""
        token = self.peek()
        if self.is_keyword(token, "start", "end") and self.peek(1).kind is Kind.LEFT_PAREN:
            self.advance()
            self.advance()
            self.expect(Kind.RIGHT_PAREN, "@ modifier")
            return "start" if token.text.lower() == "start" else "end"
        sign = self.sign()
        number = self.peek()
        infinite = number.kind is Kind.IDENTIFIER and number.text.lower() in ("inf", "nan")
        if infinite or number.kind is Kind.NUMBER:
            seconds = self.number(number)
        else:
            raise self.unexpected(number, "@ modifier")
        self.advance()
        seconds *= sign
        if not math.isfinite(seconds) or abs(seconds) > 9.2e15:
            raise self.error(f"timestamp out of bounds for @ modifier: {seconds:f}", token.pos)
        return _round(seconds * 1000)

    def sign(self) -> int:
        token = self.peek()
        if token.kind is Kind.OPERATOR and token.text in ("+", "-"):
            self.advance()
            return -1 if token.text == "-" else 1
        return 1

    def signed_duration(self, context: str) -> int:
        """``5m`` or ``-5m`` (an offset may be negative, not explicitly positive)."""
        token = self.peek()
        if token.kind is Kind.OPERATOR and token.text == "-":
            self.advance()
            return -self.duration(context)
        return self.duration(context)

    def duration(self, context: str) -> int:
        """A duration in ms: ``5m``, ``1h30m``, or (3.x) a number of seconds."""
        token = self.peek()
        if token.kind is Kind.DURATION:
            ms = parse_duration(token.text)
        elif token.kind is Kind.NUMBER:
            seconds = self.number(token)
            if not math.isfinite(seconds) or seconds < 0:
                raise self.error(f"invalid duration {token.text!r}", token.pos)
            ms = _round(seconds * 1000)
        else:
            raise self.unexpected(token, context)
        if ms == 0:
            raise self.error("duration must be greater than 0", token.pos)
        self.advance()
        return ms

    # -- selectors ------------------------------------------------------------------------

    def vector_selector(self, name: str | None, pos: int) -> VectorSelector:
        matchers: list[Matcher] = []
        if self.peek().kind is Kind.LEFT_BRACE:
            matchers = self.label_matchers(name)
        if name is not None:
            matchers.append(Matcher.of(METRIC_NAME_LABEL, "=", name))
        if not any(not m.matches_value("") for m in matchers):
            raise self.error("vector selector must contain at least one non-empty matcher", pos)
        return VectorSelector(name, tuple(matchers), pos=pos)

    def label_matchers(self, name: str | None) -> list[Matcher]:
        """``{...}``; a bare string (3.x ``{"my.metric"}``) is a ``__name__`` matcher. With a
        ``name`` written before the braces, no matcher may name the metric again."""
        self.advance()
        matchers: list[Matcher] = []
        while self.peek().kind is not Kind.RIGHT_BRACE:
            label = self.peek()
            if label.kind not in (Kind.IDENTIFIER, Kind.STRING):
                raise self.unexpected(label, "label matching")
            self.advance()
            if label.kind is Kind.STRING and self.peek().kind in (Kind.COMMA, Kind.RIGHT_BRACE):
                matchers.append(Matcher.of(METRIC_NAME_LABEL, "=", label.text))
            else:
                matchers.append(self.label_matcher(label))
            if name is not None and matchers[-1].name == METRIC_NAME_LABEL:
                raise self.error(
                    f'metric name must not be set twice: "{name}" or "{matchers[-1].value}"',
                    label.pos,
                )
            if self.peek().kind is not Kind.COMMA:
                break
            self.advance()
        self.expect(Kind.RIGHT_BRACE, "label matching")
        return matchers

    def label_matcher(self, label: Token) -> Matcher:
        op = self.peek()
        if op.kind is not Kind.OPERATOR or op.text not in _MATCH_OPERATORS:
            raise self.unexpected(op, 'label matching, expected one of "=", "!=", "=~" or "!~"')
        self.advance()
        value = self.expect(Kind.STRING, "label matching, expected string")
        try:
            return Matcher.of(label.text, op.text, value.text)
        except ValueError as err:
            raise self.error(str(err), value.pos) from None

    def label_list(self, context: str) -> tuple[str, ...]:
        """``(a, b, "c.d")`` with an optional trailing comma."""
        self.expect(Kind.LEFT_PAREN, context)
        labels: list[str] = []
        while self.peek().kind is not Kind.RIGHT_PAREN:
            token = self.peek()
            if token.kind is Kind.STRING or (
                token.kind is Kind.IDENTIFIER and ":" not in token.text
            ):
                labels.append(self.advance().text)
            elif token.kind is Kind.IDENTIFIER:
                raise self.error(f'invalid label name for grouping: "{token.text}"', token.pos)
            else:
                raise self.unexpected(token, context)
            if self.peek().kind is not Kind.COMMA:
                break
            self.advance()
        self.expect(Kind.RIGHT_PAREN, context)
        return tuple(labels)

    # -- calls and aggregations -----------------------------------------------------------

    def arguments(self, context: str) -> list[Expr]:
        self.expect(Kind.LEFT_PAREN, context)
        args: list[Expr] = []
        while self.peek().kind is not Kind.RIGHT_PAREN:
            args.append(self.expression(0))
            if self.peek().kind is not Kind.COMMA:
                break
            comma = self.advance()
            if self.peek().kind is Kind.RIGHT_PAREN:
                raise self.error("trailing commas not allowed in function call args", comma.pos)
        self.expect(Kind.RIGHT_PAREN, context)
        return args

    def call(self, token: Token) -> Call:
        signature = FUNCTIONS.get(token.text)
        if signature is None:
            raise self.error(f'unknown function with name "{token.text}"', token.pos)
        self.advance()
        args = self.arguments("function call")
        if not signature.accepts(len(args)):
            raise self.error(_arity_message(token.text, len(args)), token.pos)
        for index, arg in enumerate(args):
            want = signature.args[min(index, len(signature.args) - 1)]
            self.check_type(arg, want, f'call to function "{token.text}"')
        return Call(token.text, tuple(args), token.pos)

    def aggregation(self, token: Token) -> Aggregation:
        op = self.advance().text.lower()
        grouping, without = self.grouping_clause()
        if self.peek().kind is not Kind.LEFT_PAREN:
            raise self.unexpected(self.peek(), "aggregation")
        args = self.arguments("aggregation")
        if not grouping and not without:
            grouping, without = self.grouping_clause()
        param_type = AGGREGATIONS[op]
        wanted = 1 if param_type is None else 2
        if not args:
            raise self.error("no arguments for aggregate expression provided", token.pos)
        if len(args) != wanted:
            raise self.error(
                "wrong number of arguments for aggregate expression provided, "
                f"expected {wanted}, got {len(args)}",
                token.pos,
            )
        self.check_type(args[-1], ValueType.VECTOR, "aggregation expression")
        param = None
        if param_type is not None:
            param = args[0]
            self.check_type(param, param_type, "aggregation parameter")
        return Aggregation(op, args[-1], param, grouping, without, token.pos)

    def grouping_clause(self) -> tuple[tuple[str, ...], bool]:
        if not self.is_keyword(self.peek(), "by", "without"):
            return (), False
        without = self.advance().text.lower() == "without"
        return self.label_list("grouping"), without

    def check_type(self, expr: Expr, want: ValueType, context: str) -> None:
        try:
            expect_type(expr, want, context)
        except ValueError as err:
            raise self.error(str(err), expr.pos) from None


def _arity_message(name: str, count: int) -> str:
    signature = FUNCTIONS[name]
    least = len(signature.args) - signature.optional
    if signature.variadic == 0 and signature.optional == 0:
        return f'expected {least} argument(s) in call to "{name}", got {count}'
    if count < least:
        return f'expected at least {least} argument(s) in call to "{name}", got {count}'
    most = len(signature.args) + signature.variadic
    return f'expected at most {most} argument(s) in call to "{name}", got {count}'


_INT64_MAX = 2**63 - 1


def _integer(text: str) -> int | None:
    """The value of an integer literal as Go's ``ParseInt(text, 0, 64)`` reads it (``0x1f``
    hexadecimal, ``017`` octal), or None when it does not read it."""
    if text[:2].lower() == "0x":
        value = int(text[2:], 16)
    elif re.fullmatch(r"0[0-7]+", text):
        value = int(text, 8)
    elif re.fullmatch(r"[0-9]+", text) and not re.fullmatch(r"0[0-9]+", text):
        value = int(text)
    else:
        return None
    return value if value <= _INT64_MAX else None


def _number(text: str) -> float:
    """A number literal's value as Prometheus reads it: an integer first (so ``010`` is 8),
    then a float (``1.5e3``, ``Inf``, ``NaN``). Raises ValueError for out-of-range values."""
    integer = _integer(text)
    if integer is not None:
        return float(integer)
    if text[:2].lower() == "0x":
        raise ValueError(f"error parsing number: {text!r}: invalid syntax")
    value = float(text)
    if math.isinf(value) and text.lower().lstrip("+-") not in ("inf", "infinity"):
        raise ValueError(f"error parsing number: {text!r}: value out of range")
    return value


def _round(value: float) -> int:
    """Round half away from zero, as Go's ``math.Round``."""
    return int(math.copysign(math.floor(abs(value) + 0.5), value))


# -- types ----------------------------------------------------------------------------------

_DOCUMENTED = {
    ValueType.SCALAR: "scalar",
    ValueType.VECTOR: "instant vector",
    ValueType.MATRIX: "range vector",
    ValueType.STRING: "string",
}


def describe(kind: ValueType) -> str:
    """A value type as Prometheus's messages name it (``range vector``)."""
    return _DOCUMENTED[kind]


def value_type(expr: Expr) -> ValueType:
    """What ``expr`` evaluates to."""
    match expr:
        case NumberLiteral():
            return ValueType.SCALAR
        case StringLiteral():
            return ValueType.STRING
        case VectorSelector() | Aggregation():
            return ValueType.VECTOR
        case MatrixSelector() | SubqueryExpr():
            return ValueType.MATRIX
        case Call(func=func):
            return FUNCTIONS[func].returns
        case BinaryExpr(lhs=lhs, rhs=rhs):
            both_scalar = (
                value_type(lhs) is ValueType.SCALAR and value_type(rhs) is ValueType.SCALAR
            )
            return ValueType.SCALAR if both_scalar else ValueType.VECTOR
        case UnaryExpr(expr=inner) | ParenExpr(expr=inner):
            return value_type(inner)
    raise TypeError(f"not a PromQL expression: {expr!r}")


def expect_type(expr: Expr, want: ValueType, context: str) -> None:
    """Raise ValueError unless ``expr`` has type ``want`` (Prometheus converts nothing)."""
    got = value_type(expr)
    if got is not want:
        raise ValueError(f"expected type {describe(want)} in {context}, got {describe(got)}")


def check_binary(expr: BinaryExpr) -> VectorMatching | None:
    """Check a binary operation as Prometheus does; returns the vector matching to keep
    (None unless both sides are instant vectors). Raises ValueError."""
    op, lhs, rhs, return_bool = expr.op, expr.lhs, expr.rhs, expr.return_bool
    matching = expr.matching or VectorMatching()
    left, right = value_type(lhs), value_type(rhs)
    if return_bool and op not in COMPARISON_OPS:
        raise ValueError("bool modifier can only be used on comparison operators")
    scalars = left is ValueType.SCALAR and right is ValueType.SCALAR
    if op in COMPARISON_OPS and not return_bool and scalars:
        raise ValueError("comparisons between scalars must use BOOL modifier")
    if matching.on:
        for label in matching.labels:
            if label in matching.include:
                raise ValueError(f'label "{label}" must not occur in ON and GROUP clause at once')
    for kind in (left, right):
        if kind not in (ValueType.SCALAR, ValueType.VECTOR):
            raise ValueError("binary expression must contain only scalar and instant vector types")
    if left is not ValueType.VECTOR or right is not ValueType.VECTOR:
        if matching.labels:
            raise ValueError("vector matching only allowed between instant vectors")
        if op in SET_OPS:
            raise ValueError(f'set operator "{op}" not allowed in binary scalar expression')
        return None
    if op not in SET_OPS:
        return matching
    if matching.card is not Cardinality.ONE_TO_ONE:
        raise ValueError(f'no grouping allowed for "{op}" operation')
    return VectorMatching(Cardinality.MANY_TO_MANY, matching.on, matching.labels, matching.include)
