"""The PromQL printer: Prometheus's canonical one-line form, and parse/print round trips."""

from __future__ import annotations

import math
from dataclasses import fields, replace

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from multimonx.model import Matcher
from multimonx.promql.ast import Expr, NumberLiteral, StringLiteral
from multimonx.promql.parser import parse
from multimonx.promql.printer import format_duration, format_expr, go_float, go_quote
from tests.promql.test_parser import VALID

FORMATTED: list[tuple[str, str]] = [
    ("sum(rate(x[5m])) by (job)", "sum by (job) (rate(x[5m]))"),
    ("sum without(a,b)(x)", "sum without (a, b) (x)"),
    ("sum by () (x)", "sum(x)"),
    ("sum without () (x)", "sum without () (x)"),
    ("topk(3,x)by(a)", "topk by (a) (3, x)"),
    ("SUM(x)", "sum(x)"),
    ('x{b="2",a="1"}', 'x{a="1",b="2"}'),
    ('x{a=~"b", a!~"c", a!="d"}', 'x{a!="d",a!~"c",a=~"b"}'),
    ('{__name__="x"}', '{__name__="x"}'),
    ('{__name__="x", a="b"}', '{__name__="x",a="b"}'),
    ("x{}", "x"),
    ("x[90m]", "x[1h30m]"),
    ("x[7d]", "x[1w]"),
    ("x[8d]", "x[8d]"),
    ("x[365d]", "x[1y]"),
    ("x[366d]", "x[366d]"),
    ("x[1500ms]", "x[1s500ms]"),
    ("x[60s:60s]", "x[1m:1m]"),
    ("x offset 5m @ 100", "x @ 100.000 offset 5m"),
    ("x offset -90s", "x offset -1m30s"),
    ("x[5m] offset 1h @ end()", "x[5m] @ end() offset 1h"),
    ("x @ 1609746000.123", "x @ 1609746000.123"),
    ("rate(x[5m])[30m:] offset 1m @ start()", "rate(x[5m])[30m:] @ start() offset 1m"),
    ("a+on(b)group_left(c)d", "a + on (b) group_left (c) d"),
    ("a*ignoring(b)group_right d", "a * ignoring (b) group_right () d"),
    ("a and on() b", "a and on () b"),
    ("a + ignoring() b", "a + b"),
    ("a>bool 1", "a > bool 1"),
    ("1+2*3", "1 + 2 * 3"),
    ("-  x", "-x"),
    ("-(1)", "-(1)"),
    ("- 1", "-1"),
    ("1e6", "1e+06"),
    ("1.5e-7", "1.5e-07"),
    ("0x1F", "31"),
    ("inf", "+Inf"),
    ("-INF", "-Inf"),
    ("nan", "NaN"),
    ("5m", "300"),
    ("'it\\'s'", '"it\'s"'),
    ("`C:\\dir`", '"C:\\\\dir"'),
    ('"\\x07\\u00e9\\U0001F600"', '"\\aé😀"'),
    ('{"my.metric", "a.b"="c"}', '{"a.b"="c",__name__="my.metric"}'),
    ('{"up"}', '{__name__="up"}'),
    ('sum by ("a.b", c) (x)', 'sum by ("a.b", c) (x)'),
    ("x[300]", "x[5m]"),
    ("x # comment", "x"),
    # Prometheus 2.42 prints ``a + c`` here, dropping the group modifier; we keep it.
    ("a + ignoring () group_left (b) c", "a + ignoring () group_left (b) c"),
]


@pytest.mark.parametrize(("query", "formatted"), FORMATTED)
def test_format_expr_gives_prometheus_canonical_form(query: str, formatted: str) -> None:
    assert format_expr(parse(query)) == formatted


def _normalized(expr: Expr) -> Expr:
    """The tree without positions and with matchers in a fixed order (the printer sorts
    matchers, the parser keeps them as written, as Prometheus does)."""
    changes: dict[str, object] = {"pos": 0} if hasattr(expr, "pos") else {}
    for field in fields(expr):
        value = getattr(expr, field.name)
        if field.name == "matchers":
            changes[field.name] = tuple(sorted(value, key=str))
        elif isinstance(value, tuple) and value and not isinstance(value[0], str | Matcher):
            changes[field.name] = tuple(_normalized(v) for v in value)
        elif hasattr(value, "pos"):
            changes[field.name] = _normalized(value)
    return replace(expr, **changes)  # type: ignore[arg-type]


@pytest.mark.parametrize("query", VALID)
def test_corpus_round_trips(query: str) -> None:
    expr = parse(query)
    text = format_expr(expr)
    assert repr(_normalized(parse(text))) == repr(_normalized(expr))  # repr: NaN == NaN
    assert format_expr(parse(text)) == text


@pytest.mark.parametrize(
    ("ms", "text"),
    [
        (0, "0s"),
        (1, "1ms"),
        (1000, "1s"),
        (90_000, "1m30s"),
        (5_400_000, "1h30m"),
        (86_400_000, "1d"),
        (604_800_000, "1w"),
        (691_200_000, "8d"),
        (31_536_000_000, "1y"),
        (31_536_000_000 + 86_400_000, "366d"),
        (93_784_005, "1d2h3m4s5ms"),
    ],
)
def test_format_duration(ms: int, text: str) -> None:
    assert format_duration(ms) == text


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (0.0, "0"),
        (-0.0, "-0"),
        (1.0, "1"),
        (-2.5, "-2.5"),
        (100000.0, "100000"),
        (999999.0, "999999"),
        (1e6, "1e+06"),
        (123456789.0, "1.23456789e+08"),
        (0.0001, "0.0001"),
        (0.00001, "1e-05"),
        (1e300, "1e+300"),
        (1.7976931348623157e308, "1.7976931348623157e+308"),
        (5e-324, "5e-324"),
        (0.1, "0.1"),
        (math.inf, "+Inf"),
        (-math.inf, "-Inf"),
        (math.nan, "NaN"),
    ],
)
def test_go_float(value: float, text: str) -> None:
    assert go_float(value) == text


@pytest.mark.parametrize(
    ("value", "text"),
    [
        ("plain", '"plain"'),
        ('q"b\\', '"q\\"b\\\\"'),
        ("\n\t\r\a\b\f\v", '"\\n\\t\\r\\a\\b\\f\\v"'),
        ("\x00\x7f", '"\\x00\\x7f"'),
        ("\x85\u2028", '"\\u0085\\u2028"'),
        ("é😀 ", '"é😀 "'),
        ("'", '"\'"'),
    ],
)
def test_go_quote(value: str, text: str) -> None:
    assert go_quote(value) == text


@given(st.floats())
def test_numbers_round_trip(value: float) -> None:
    parsed = parse(format_expr(NumberLiteral(value)))
    assert isinstance(parsed, NumberLiteral)
    if math.isnan(value):
        assert math.isnan(parsed.value)
    else:
        assert parsed.value == value
        assert math.copysign(1.0, parsed.value) == math.copysign(1.0, value)


@given(st.text())
def test_strings_round_trip(value: str) -> None:
    assert parse(format_expr(StringLiteral(value))) == StringLiteral(value)


_NAMES = st.sampled_from(["up", "node_cpu_seconds_total", "job:rate5m", "sum", "my.metric"])
_LABELS = st.sampled_from(["job", "instance", "mode", "a.b", "le"])
_DURATIONS = st.sampled_from(["1ms", "30s", "5m", "1h30m", "1d", "1w", "2y", "90"])
_MATCH_OPS = st.sampled_from(["=", "!=", "=~", "!~"])


@st.composite
def _selectors(draw: st.DrawFn) -> str:
    label_name = draw(_LABELS)
    label = label_name if "." not in label_name else f'"{label_name}"'
    value = go_quote(draw(st.text(alphabet='ab.*|\\"\n é', max_size=6)).replace("\\", ""))
    op = draw(_MATCH_OPS)
    if op in ("=~", "!~"):
        value = go_quote(draw(st.sampled_from(["a.*", "b|c", ".+", "x"])))
    name = draw(_NAMES)
    matchers = f"{label}{op}{value}"
    if "." in name:
        return draw(st.sampled_from([f'{{"{name}"}}', f'{{"{name}", {matchers}}}']))
    return draw(st.sampled_from([name, f"{name}{{{matchers}}}"]))


def _modifiers() -> st.SearchStrategy[str]:
    offset = st.sampled_from(["", " offset 5m", " offset -1h", " offset 90"])
    at = st.sampled_from(["", " @ 100", " @ -1.5", " @ start()", " @ end()"])
    return st.tuples(offset, at).map(lambda pair: pair[0] + pair[1])


@st.composite
def _vectors(draw: st.DrawFn, depth: int = 3) -> str:
    base = draw(_selectors()) + draw(_modifiers())
    if depth == 0:
        return base
    inner = _vectors(depth - 1)
    scalar = st.sampled_from(["1", "-2.5", "time()", "scalar(up)", "1e6", "NaN", "5m"])
    matrix = _selectors().flatmap(
        lambda sel: st.tuples(_DURATIONS, _modifiers()).map(
            lambda pair: f"{sel}[{pair[0]}]{pair[1]}"
        )
    )
    choices = [
        st.just(base),
        st.tuples(st.sampled_from(["rate", "delta", "max_over_time"]), matrix).map(
            lambda p: f"{p[0]}({p[1]})"
        ),
        st.tuples(
            st.sampled_from(["sum", "avg", "max"]),
            st.sampled_from(["", " by (job)", " without (a)"]),
            inner,
        ).map(lambda p: f"{p[0]}{p[1]} ({p[2]})"),
        st.tuples(scalar, inner).map(lambda p: f"topk({p[0]}, {p[1]})"),
        st.tuples(
            inner,
            st.sampled_from(
                ["+", "-", "*", "/", "^", "%", "atan2", "> bool", "<", "and", "or", "unless"]
            ),
            inner,
        ).map(lambda p: f"({p[0]}) {p[1]} ({p[2]})"),
        st.tuples(
            inner,
            st.sampled_from(["+ on (job) group_left (mode)", "/ ignoring (a)", "* on ()"]),
            inner,
        ).map(lambda p: f"({p[0]}) {p[1]} ({p[2]})"),
        st.tuples(inner, st.sampled_from(["+", "*", "^", "==", "> bool"]), scalar).map(
            lambda p: f"({p[0]}) {p[1]} ({p[2]})"
        ),
        inner.map(lambda v: f"-{v}"),
        inner.map(lambda v: f"({v})"),
        st.tuples(inner, _DURATIONS, st.sampled_from(["", "1m", "10s"]), _modifiers()).map(
            lambda p: f"max_over_time(({p[0]})[{p[1]}:{p[2]}]{p[3]})"
        ),
    ]
    return draw(st.one_of(choices))


@settings(max_examples=300, deadline=None)
@given(_vectors())
def test_generated_queries_round_trip(query: str) -> None:
    expr = parse(query)
    text = format_expr(expr)
    assert repr(_normalized(parse(text))) == repr(_normalized(expr))  # repr: NaN == NaN
    assert format_expr(parse(text)) == text
