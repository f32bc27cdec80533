"""The PromQL parser: what it accepts, the tree it builds and the errors it reports."""

from __future__ import annotations

import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from multimonx.model import Matcher
from multimonx.promql.ast import (
    Aggregation,
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
from multimonx.promql.parser import (
    ParseError,
    QueryTypeError,
    check_query_type,
    parse,
    value_type,
)
from multimonx.promql.signatures import AGGREGATIONS, FUNCTIONS, STR, S, V


def _sample_argument(kind: ValueType) -> str:
    return {S: "0.5", V: "up", STR: '"lbl"'}.get(kind, "up[5m]")


def _call_of(name: str) -> str:
    args = FUNCTIONS[name].args
    if name in ("label_replace",):
        return 'label_replace(up, "dst", "$1", "src", "(.*)")'
    return f"{name}({', '.join(_sample_argument(kind) for kind in args)})"


def _aggregation_of(op: str) -> str:
    param = AGGREGATIONS[op]
    prefix = "" if param is None else f"{_sample_argument(param)}, "
    return f"{op} by (job) ({prefix}rate(x[5m]))"


NEW_IN_3X = frozenset(
    {"limitk", "limit_ratio", "double_exponential_smoothing", "mad_over_time", "first_over_time"}
    | {"sort_by_label", "sort_by_label_desc"}
)
"""Functions and aggregations that Prometheus 2.42 does not know."""

FUNCTION_CALLS = [_call_of(name) for name in sorted(FUNCTIONS) if name not in NEW_IN_3X]
AGGREGATION_CALLS = [_aggregation_of(op) for op in sorted(AGGREGATIONS) if op not in NEW_IN_3X]

SHARED_VALID = [
    # literals
    "1",
    "1.5",
    ".5",
    "5.",
    "1e3",
    "1E-3",
    "0x1F",
    "Inf",
    "-inf",
    "NaN",
    "+1",
    "-1",
    "1000000",
    "123456.7",
    "0.0001",
    "0.00001",
    '"string"',
    "'single'",
    "`raw \\n`",
    '"esc \\n \\t \\" \\\\ \\x41 \\u00e9"',
    # selectors
    "up",
    "node:cpu:rate5m",
    ":leading_colon",
    'up{job="a"}',
    'up{job="a",}',
    '{job="a"}',
    '{__name__="up"}',
    '{__name__=~"up|down"}',
    'up{job!="a", instance=~"x.*", mode!~"idle|iowait"}',
    'up{job=~"a", job=~"b"}',
    "up{}",
    'up{on="x", by="y", sum="z"}',
    "up[5m]",
    "up[1h30m]",
    "up[90s]",
    "up[1d]",
    "up[2w]",
    "up[1y]",
    "up[100ms]",
    "up[1m30s500ms]",
    "up offset 5m",
    "up offset -5m",
    "up[5m] offset 1w",
    "up @ 1609746000",
    "up @ 1609746000.5",
    "up @ -100",
    "up @ start()",
    "up @ end()",
    "up @ 100 offset 5m",
    "up offset 5m @ 100",
    "up[5m] @ end() offset 10m",
    # subqueries
    "rate(x[5m])[30m:1m]",
    "rate(x[5m])[30m:]",
    "up[30m:1m] offset 5m",
    "up[30m:1m] @ 100",
    "max_over_time(rate(x[5m])[1h:5m])",
    "sum(up)[10m:]",
    "(up + 1)[5m:1m]",
    # operators
    "1 + 2",
    "1 + 2 * 3 ^ 2 ^ 2",
    "-2 ^ 2",
    "a or b and c",
    "a unless b or c",
    "a - b - c",
    "a / b * c % d",
    "2 ^ 3 ^ 2",
    "a atan2 b",
    "up == 1",
    "up != bool 1",
    "1 < bool 2",
    "up > on (job) group_left (instance) other",
    "up * ignoring (instance) group_right other",
    "up * on () other",
    "up / on (a, b) group_left other",
    "up and on (job) other",
    "up or ignoring (job) other",
    "up unless other",
    "up >= bool other",
    "-up",
    "- -up",
    "-(up)",
    "+up",
    "up * -1",
    "2 ^ -1 * 3",
    "(1 + 2) * 3",
    "((up))",
    # aggregations
    "sum(up)",
    "sum by (job) (up)",
    "sum(up) by (job)",
    "sum without (instance) (up)",
    "sum(up) without (instance)",
    "sum by () (up)",
    "avg by (job, instance,) (up)",
    "SUM BY (job) (up)",
    "topk(3, up)",
    "bottomk by (job) (3, up)",
    "quantile(0.9, up)",
    'count_values("value", up)',
    "topk(scalar(foo), up)",
    # keywords that are metric names where nothing else fits
    "sum",
    "SUM",
    "by",
    "without",
    "and",
    "or",
    "unless",
    "offset",
    "start",
    "end",
    "rate",
    "sum offset 5m",
    'sum{a="b"}',
    "and and or",
    # @ timestamps round half away from zero to milliseconds
    "up @ 1.0005",
    "up @ 2.0005",
    "up @ -1.5",
    "up @ 1e10",
    # numbers as Go prints them
    "-0",
    "0.1",
    "1e21",
    "1e300",
    "999999",
    "123456789",
    "1234567.5",
    "1e-5",
    "0x10",
    "010",
    "0755",
    "09",
    "00.5",
    '"a\\x00b\\u00e9\\U0001F600"',
    '"tab\there"',
    'up{a="\\u2028"}',
    # modifiers and selectors in less common places
    "x offset 1m[5m:]",
    "x @ 100 [5m:]",
    "x offset 1m @ start() [5m:]",
    "(x offset 1m)[5m:]",
    '{a="b"}[5m] offset 1m',
    'rate({__name__="x"}[5m])',
    'x{on="a", offset="b", bool="c"}',
    "x[1y2w]",
    "x[1h60m]",
    "x[100000s]",
    # grouping: keywords as label names, duplicates allowed (as in Prometheus)
    "sum by (on, bool, offset, sum) (x)",
    "sum by (__name__) (x)",
    "sum by (job, job) (up)",
    "a + on (x, x) b",
    "count(x) by ()",
    "max by (a) (x) > on (a) group_left max(y)",
    "a == bool on (x) group_left b",
    # unary signs
    "--1",
    "+-1",
    "-x ^ 2",
    "1 ^ -2 ^ 3",
    "'a\"b'",
    # comments and layout
    "up # trailing comment",
    "sum(\n  up # the metric\n)",
    *FUNCTION_CALLS,
    *AGGREGATION_CALLS,
]
"""Valid queries that Prometheus 2.42 also accepts (and formats as we do)."""

VALID_3X_ONLY = [
    "5m",
    "up offset 300",
    "up[300]",
    'up{"a.b"="c"}',
    '{"my.metric"}',
    '{"my.metric", "a.b"="c"}',
    '{"a", "b"}',
    "up[5m:60]",
    "up offset -90",
    'sum by ("a.b") (up)',
    'sort_by_label_desc(up, "job", "instance")',
    *(_call_of(name) for name in sorted(NEW_IN_3X) if name in FUNCTIONS),
    *(_aggregation_of(op) for op in sorted(NEW_IN_3X) if op in AGGREGATIONS),
]
"""Valid in Prometheus 3.x but unknown to 2.42."""

VALID = SHARED_VALID + VALID_3X_ONLY

INVALID: list[tuple[str, str]] = [
    ("", "no expression found in input"),
    ("# only a comment", "no expression found in input"),
    ("sum(", "unclosed left parenthesis"),
    ("sum(up))", "unexpected right parenthesis"),
    ("up{", "unexpected end of input"),
    ('up{job="a"', "unexpected end of input"),
    ("up{job}", 'unexpected "}"'),
    ('up{job=~"("}', "invalid regular expression"),
    ('up{job=="a"}', 'unexpected "=="'),
    ('{job=""}', "vector selector must contain at least one non-empty matcher"),
    ('{job=~".*"}', "vector selector must contain at least one non-empty matcher"),
    ("{}", "vector selector must contain at least one non-empty matcher"),
    ('up{__name__="down"}', "metric name must not be set twice"),
    ('up{"b"}', "metric name must not be set twice"),
    ('up{__name__=~"b"}', "metric name must not be set twice"),
    ("up offset +5m", 'unexpected "+" in offset'),
    ("up @ 5m", 'unexpected duration "5m" in @ modifier'),
    ('"unterminated', "unterminated quoted string"),
    ('"bad \\q escape"', "unknown escape sequence"),
    ("1 +", "unexpected end of input"),
    ("up +* up", 'unexpected "*"'),
    ("up = 1", "did you mean"),
    ("up ! 1", "unexpected character after '!'"),
    ("up $ 1", "unexpected character"),
    ("1.5m", "bad number or duration syntax"),
    ("up[5x]", "bad number or duration syntax"),
    ("up[1m1h]", "bad number or duration syntax"),
    ("up[5m", "unexpected end of input"),
    ("up[]", 'unexpected "]"'),
    ("rate(up)", 'expected type range vector in call to function "rate", got instant vector'),
    ("abs(up[5m])", 'expected type instant vector in call to function "abs", got range vector'),
    ("rate(up[5m], 1)", 'expected 1 argument(s) in call to "rate", got 2'),
    ("time(1)", 'expected 0 argument(s) in call to "time", got 1'),
    ("round(up, 1, 2)", 'expected at most 2 argument(s) in call to "round", got 3'),
    ("label_join(up)", 'expected at least 4 argument(s) in call to "label_join", got 1'),
    ("clamp(up, 1)", 'expected 3 argument(s) in call to "clamp", got 2'),
    ('histogram_quantile("0.9", up)', "expected type scalar in call to function"),
    ('label_replace(up, 1, "a", "b", "c")', "expected type string in call to function"),
    ("vector(up)", "expected type scalar in call"),
    ("rate(x[5m],)", "trailing commas not allowed"),
    ("nosuchfunc(up)", 'unknown function with name "nosuchfunc"'),
    ("sum(up[5m])", "expected type instant vector in aggregation expression, got range vector"),
    ("sum()", "no arguments for aggregate expression provided"),
    ("sum(up, up)", "wrong number of arguments for aggregate expression provided, expected 1"),
    ("topk(up)", "wrong number of arguments for aggregate expression provided, expected 2"),
    ('topk("3", up)', "expected type scalar in aggregation parameter, got string"),
    ("count_values(1, up)", "expected type string in aggregation parameter, got scalar"),
    ("sum by (job)", "unexpected end of input in aggregation"),
    ("sum by job (up)", 'unexpected identifier "job"'),
    ("sum by (a:b) (up)", "invalid label name for grouping"),
    ("on", "unexpected <on>"),
    ("bool", "unexpected <bool>"),
    ("atan2", "unexpected <atan2>"),
    ("sum by", "unexpected end of input in grouping"),
    ("sum by (job) (up) offset 5m", "offset modifier must be preceded"),
    ("up[0s]", "duration must be greater than 0"),
    ("up[5m:0s]", "duration must be greater than 0"),
    ("up offset 0s", "duration must be greater than 0"),
    ("up[5m:1m:2m]", 'unexpected ":"'),
    ("up @ start", "in @ modifier"),
    ('inf{a="b"}', 'unexpected "{"'),
    ("sum(x) by (a) without (b)", "unexpected <without>"),
    ("1 == 1", "comparisons between scalars must use BOOL modifier"),
    ("up + bool up", "bool modifier can only be used on comparison operators"),
    ("1 and 1", 'set operator "and" not allowed in binary scalar expression'),
    ("up and 1", 'set operator "and" not allowed in binary scalar expression'),
    ("up + on (job) 1", "vector matching only allowed between instant vectors"),
    ("up and on (job) group_left other", 'no grouping allowed for "and" operation'),
    ("up + on (a) group_left (a) other", 'label "a" must not occur in ON and GROUP clause at once'),
    ("up + group_left other", "unexpected <group_left>"),
    ("up[5m] + 1", "binary expression must contain only scalar and instant vector types"),
    ('"a" + 1', "binary expression must contain only scalar and instant vector types"),
    ("-up[5m]", "unary expression only allowed on expressions of type scalar or instant vector"),
    ('-"a"', "unary expression only allowed on expressions of type scalar or instant vector"),
    ("rate(x[5m])[5m]", "ranges only allowed for vector selectors"),
    ("(up)[5m]", "ranges only allowed for vector selectors"),
    ("up offset 5m [5m]", "no offset modifiers allowed before range"),
    ("up @ 100 [5m]", "no @ modifiers allowed before range"),
    ("up[5m][10m:1m]", "subquery is only allowed on instant vector, got matrix"),
    ("sum(up) offset 5m", "offset modifier must be preceded by an instant vector selector"),
    ("1 offset 5m", "offset modifier must be preceded by an instant vector selector"),
    ("up offset 5m offset 1m", "offset may not be set multiple times"),
    ("rate(x[5m]) @ 100", "@ modifier must be preceded by an instant vector selector"),
    ("up @ 100 @ 200", "@ <timestamp> may not be set multiple times"),
    ("up @ Inf", "timestamp out of bounds for @ modifier"),
    ("up @ middle()", "unexpected identifier"),
    ("up offset", "unexpected end of input"),
    ("up by", "unexpected <by>"),
    ("1e400", "error parsing number"),
    ("0x1ffffffffffffffffff", "error parsing number"),
    ("1_000", "bad number or duration syntax"),
    ("x + bool y", "bool modifier can only be used on comparison operators"),
    ("a and bool b", "bool modifier can only be used on comparison operators"),
    ('{__name__!="x"}', "vector selector must contain at least one non-empty matcher"),
    ("1 2", 'unexpected number "2"'),
    ("x y", 'unexpected identifier "y"'),
    ('"a" "b"', 'unexpected string "b"'),
    ("[5m]", 'unexpected "["'),
    ("@ 100", 'unexpected "@"'),
    ("x[5m] [5m]", "ranges only allowed for vector selectors"),
    ("topk(1, 2, x)", "expected 2, got 3"),
    ("x and on (a) group_left y", 'no grouping allowed for "and" operation'),
    ("sum(x) sum(y)", 'unexpected identifier "sum"'),
]
"""Invalid queries and a substring of the error message."""


@pytest.mark.parametrize("query", VALID)
def test_valid_queries_parse(query: str) -> None:
    parse(query)


@pytest.mark.parametrize(("query", "message"), INVALID)
def test_invalid_queries_are_rejected(query: str, message: str) -> None:
    with pytest.raises(ParseError) as caught:
        parse(query)
    assert message in str(caught.value)
    assert isinstance(caught.value, ValueError)
    assert 0 <= caught.value.pos <= len(query)


def test_error_message_has_prometheus_position_prefix() -> None:
    with pytest.raises(ParseError) as caught:
        parse("sum(up) +")
    assert str(caught.value) == "1:10: parse error: unexpected end of input"
    assert caught.value.pos == 9


@pytest.mark.parametrize(
    ("query", "message"),
    [  # what promtool 2.42 prints for these: the end of the input, not the parenthesis
        ("sum(up", "1:7: parse error: unclosed left parenthesis"),
        ("sum by (job) (up", "1:17: parse error: unclosed left parenthesis"),
        ("(up", "1:4: parse error: unclosed left parenthesis"),
        ("rate(up[5m]", "1:12: parse error: unclosed left parenthesis"),
    ],
)
def test_an_unclosed_parenthesis_is_reported_where_the_input_ends(query: str, message: str) -> None:
    with pytest.raises(ParseError) as caught:
        parse(query)
    assert str(caught.value) == message


def test_error_position_counts_lines_and_columns() -> None:
    with pytest.raises(ParseError) as caught:
        parse("sum(\n  up $)")
    assert str(caught.value).startswith("2:6: parse error: unexpected character")


def _strip(expr: Expr) -> Expr:
    """The tree with every ``pos`` set to 0, for comparing shapes."""
    from dataclasses import fields, replace

    changes: dict[str, object] = {"pos": 0}
    for field in fields(expr):
        value = getattr(expr, field.name)
        if isinstance(value, tuple) and value and not isinstance(value[0], str | Matcher):
            changes[field.name] = tuple(_strip(v) for v in value)
        elif hasattr(value, "pos"):
            changes[field.name] = _strip(value)
    return replace(expr, **changes)  # type: ignore[arg-type]


def _num(value: float) -> NumberLiteral:
    return NumberLiteral(value)


def _sel(name: str) -> VectorSelector:
    return VectorSelector(name, (Matcher.of("__name__", "=", name),))


def _bin(op: str, lhs: Expr, rhs: Expr, vectors: bool = False) -> BinaryExpr:
    card = Cardinality.MANY_TO_MANY if op in ("and", "or", "unless") else Cardinality.ONE_TO_ONE
    return BinaryExpr(op, lhs, rhs, matching=VectorMatching(card) if vectors else None)


PRECEDENCE_CASES: list[tuple[str, Expr]] = [
    (
        "1 + 2 * 3 ^ 2 ^ 2",
        _bin("+", _num(1), _bin("*", _num(2), _bin("^", _num(3), _bin("^", _num(2), _num(2))))),
    ),
    ("-2 ^ 2", UnaryExpr("-", _bin("^", _num(2), _num(2)))),
    ("-2 * 3", _bin("*", _num(-2), _num(3))),
    ("2 ^ -1 * 3", _bin("*", _bin("^", _num(2), _num(-1)), _num(3))),
    ("a or b and c", _bin("or", _sel("a"), _bin("and", _sel("b"), _sel("c"), True), True)),
    ("a and b or c", _bin("or", _bin("and", _sel("a"), _sel("b"), True), _sel("c"), True)),
    ("1 - 2 - 3", _bin("-", _bin("-", _num(1), _num(2)), _num(3))),
    ("1 / 2 % 3", _bin("%", _bin("/", _num(1), _num(2)), _num(3))),
    (
        "a > bool b + 1",
        BinaryExpr(">", _sel("a"), _bin("+", _sel("b"), _num(1)), True, VectorMatching()),
    ),
    ("a atan2 b * c", _bin("*", _bin("atan2", _sel("a"), _sel("b"), True), _sel("c"), True)),
    ("-a * b", _bin("*", UnaryExpr("-", _sel("a")), _sel("b"), True)),
    ("- -1", _num(1)),
    ("-(1)", UnaryExpr("-", ParenExpr(_num(1)))),
]


@pytest.mark.parametrize(("query", "tree"), PRECEDENCE_CASES)
def test_precedence_and_associativity(query: str, tree: Expr) -> None:
    assert _strip(parse(query)) == tree


TREE_CASES: list[tuple[str, Expr]] = [
    ("0x1F", _num(31)),
    ("010", _num(8)),
    ("09", _num(9)),
    ("00.5", _num(0.5)),
    ("99999999999999999999", _num(1e20)),
    ("5m", _num(300)),
    ("1h30m", _num(5400)),
    ('"a\\tb"', StringLiteral("a\tb")),
    ("`a\\tb`", StringLiteral("a\\tb")),
    ("'it\\'s'", StringLiteral("it's")),
    (
        'up{job="a"}',
        VectorSelector("up", (Matcher.of("job", "=", "a"), Matcher.of("__name__", "=", "up"))),
    ),
    ('{__name__="up"}', VectorSelector(None, (Matcher.of("__name__", "=", "up"),))),
    ('{"my.metric"}', VectorSelector(None, (Matcher.of("__name__", "=", "my.metric"),))),
    (
        '{"a", "b"}',
        VectorSelector(None, (Matcher.of("__name__", "=", "a"), Matcher.of("__name__", "=", "b"))),
    ),
    ("up offset -5m", VectorSelector("up", _sel("up").matchers, offset_ms=-300_000)),
    ("up @ 1.5", VectorSelector("up", _sel("up").matchers, at=1500)),
    (
        "up[1h] offset 1m @ end()",
        MatrixSelector(VectorSelector("up", _sel("up").matchers, 60_000, "end"), 3_600_000),
    ),
    ("up[5m:]", SubqueryExpr(_sel("up"), 300_000, None)),
    ("up[5m:30s] @ start()", SubqueryExpr(_sel("up"), 300_000, 30_000, at="start")),
    ("up[300]", MatrixSelector(_sel("up"), 300_000)),
    ("sum(up) by (job)", Aggregation("sum", _sel("up"), grouping=("job",))),
    ("sum without () (up)", Aggregation("sum", _sel("up"), without=True)),
    ("topk(3, up)", Aggregation("topk", _sel("up"), _num(3))),
    ('count_values("v", up)', Aggregation("count_values", _sel("up"), StringLiteral("v"))),
    ("time()", Call("time", ())),
    (
        "a / on (x) group_left (y) b",
        BinaryExpr(
            "/",
            _sel("a"),
            _sel("b"),
            matching=VectorMatching(Cardinality.MANY_TO_ONE, True, ("x",), ("y",)),
        ),
    ),
    (
        "a + ignoring (x) group_right b",
        BinaryExpr(
            "+",
            _sel("a"),
            _sel("b"),
            matching=VectorMatching(Cardinality.ONE_TO_MANY, False, ("x",)),
        ),
    ),
    ("a + on () 1", BinaryExpr("+", _sel("a"), _num(1))),
]


@pytest.mark.parametrize(("query", "tree"), TREE_CASES)
def test_parse_builds_the_tree_prometheus_builds(query: str, tree: Expr) -> None:
    assert _strip(parse(query)) == tree


def test_nan_literal_is_nan() -> None:
    literal = parse("nAn")
    assert isinstance(literal, NumberLiteral)
    assert math.isnan(literal.value)


def test_positions_point_at_node_starts() -> None:
    expr = parse("sum(up) + rate(x[5m])")
    assert isinstance(expr, BinaryExpr)
    assert (expr.pos, expr.lhs.pos, expr.rhs.pos) == (0, 0, 10)


@pytest.mark.parametrize(
    ("query", "kind"),
    [
        ("1", ValueType.SCALAR),
        ('"a"', ValueType.STRING),
        ("up", ValueType.VECTOR),
        ("up[5m]", ValueType.MATRIX),
        ("up[5m:]", ValueType.MATRIX),
        ("rate(up[5m])", ValueType.VECTOR),
        ("scalar(up)", ValueType.SCALAR),
        ("time() + 1", ValueType.SCALAR),
        ("up + 1", ValueType.VECTOR),
        ("-(time())", ValueType.SCALAR),
        ("sum(up)", ValueType.VECTOR),
    ],
)
def test_value_type(query: str, kind: ValueType) -> None:
    assert value_type(parse(query)) is kind


@pytest.mark.parametrize("query", ["1", "up", '"a"', "up[5m]"])
def test_instant_queries_accept_every_type(query: str) -> None:
    check_query_type(parse(query), range_query=False)


@pytest.mark.parametrize("query", ["1", "up", "sum(rate(x[5m]))"])
def test_range_queries_accept_scalars_and_vectors(query: str) -> None:
    check_query_type(parse(query), range_query=True)


@pytest.mark.parametrize(("query", "kind"), [('"a"', "string"), ("up[5m]", "range vector")])
def test_range_queries_reject_strings_and_matrices(query: str, kind: str) -> None:
    with pytest.raises(QueryTypeError, match=f'^invalid expression type "{kind}" for range query'):
        check_query_type(parse(query), range_query=True)


_QUERY_ALPHABET = st.sampled_from(
    [
        *"abxyz_:019.e+-*/%^=!~<>(){}[],@\"'`# \n",
        *("sum", "by", "rate", "offset", "on", "group_left", "bool", "and", "5m", "Inf"),
    ]
)


@settings(max_examples=500, deadline=None)
@given(st.lists(_QUERY_ALPHABET, max_size=30).map("".join))
def test_arbitrary_text_parses_or_raises_parse_error(text: str) -> None:
    try:
        value_type(parse(text))
    except ParseError as err:
        if not 0 <= err.pos <= len(text):
            pytest.fail(f"position {err.pos} outside {text!r}")


def test_too_deep_nesting_is_a_parse_error_not_a_crash() -> None:
    """Prometheus accepts any depth; we stop where Python's stack ends (a few hundred)."""
    with pytest.raises(ParseError, match="expression nested too deeply"):
        parse("(" * 2000 + "1" + ")" * 2000)
    parse("(" * 100 + "1" + ")" * 100)
