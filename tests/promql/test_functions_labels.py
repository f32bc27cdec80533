"""label_replace, label_join, Go-style template expansion and the sort family."""

from __future__ import annotations

import math

import pytest

from multimonx.model import Labels
from multimonx.model.regex import compile_regex
from multimonx.promql.errors import EvalError
from multimonx.promql.functions import expand
from multimonx.promql.functions.labels import natural_less
from tests.promql.test_functions_instant import rows, run, vector

nan = math.nan
SERIES = Labels.of(__name__="up", instance="host-12:9100", job="node")


@pytest.mark.parametrize(
    ("template", "expected"),
    [
        ("$1", "host"),
        ("${1}", "host"),
        ("$1x", ""),  # the name is "1x": no such group
        ("${1}x", "hostx"),
        ("$2-$1", "12-host"),
        ("$name", "host"),
        ("${name}!", "host!"),
        ("$$1", "$1"),
        ("$", "$"),
        ("${1", "${1"),
        ("$-", "$-"),
        ("$01", ""),  # leading zero: a name, not a number
        ("$9", ""),
        ("$0", "host-12"),
        ("plain", "plain"),
    ],
)
def test_expand_like_go(template: str, expected: str) -> None:
    regex = compile_regex(r"(?P<name>[a-z]+)-(\d+)")
    match = regex.fullmatch("host-12")
    assert match is not None
    assert expand(template, regex, match) == expected


def test_label_replace_sets_the_destination_where_the_anchored_regex_matches() -> None:
    out = rows(run("label_replace", vector({SERIES: [1]}), "host", "$1", "instance", "(.*):.*"))
    assert out == {SERIES.with_labels({"host": "host-12"}): [1]}


def test_label_replace_leaves_unmatched_series_alone() -> None:
    # anchored: "host" alone does not match "host-12:9100"
    out = rows(run("label_replace", vector({SERIES: [1]}), "x", "y", "instance", "host"))
    assert out == {SERIES: [1]}


def test_label_replace_with_empty_result_deletes_the_label() -> None:
    out = rows(run("label_replace", vector({SERIES: [1]}), "job", "", "job", ".*"))
    assert out == {SERIES.without("job"): [1]}


def test_label_replace_of_a_missing_source_matches_the_empty_string() -> None:
    out = rows(run("label_replace", vector({SERIES: [1]}), "dst", "empty", "nope", ""))
    assert out == {SERIES.with_labels({"dst": "empty"}): [1]}


def test_label_replace_errors() -> None:
    v = vector({SERIES: [1]})
    with pytest.raises(EvalError, match="invalid regular expression"):
        run("label_replace", v, "dst", "$1", "job", "(")
    with pytest.raises(EvalError, match="invalid destination label name"):
        run("label_replace", v, "", "$1", "job", "(.*)")


def test_label_replace_collisions() -> None:
    a, b = Labels.of(job="a", x="1"), Labels.of(job="a", x="2")
    merged = run("label_replace", vector({a: [1, None], b: [None, 2]}), "x", "", "x", ".*", steps=2)
    assert rows(merged) == {Labels.of(job="a"): [1, 2]}
    with pytest.raises(EvalError, match="same labelset"):
        run("label_replace", vector({a: [1, 1], b: [None, 2]}), "x", "", "x", ".*", steps=2)


def test_label_join() -> None:
    out = rows(run("label_join", vector({SERIES: [1]}), "both", "/", "job", "missing", "instance"))
    assert out == {SERIES.with_labels({"both": "node//host-12:9100"}): [1]}
    with pytest.raises(EvalError, match="invalid source label name"):
        run("label_join", vector({SERIES: [1]}), "dst", ",", "")
    with pytest.raises(EvalError, match="invalid destination label name"):
        run("label_join", vector({SERIES: [1]}), "", ",", "job")


def test_sort_and_sort_desc_put_nan_last() -> None:
    a, b, c, d = (Labels.of(i=name) for name in "abcd")
    v = vector({a: [3], b: [nan], c: [1], d: [2]})
    ordered = run("sort", v)
    assert [ls["i"] for ls in rows(ordered)] == ["c", "d", "a", "b"]
    ordered = run("sort_desc", v)
    assert [ls["i"] for ls in rows(ordered)] == ["a", "d", "c", "b"]


@pytest.mark.parametrize(
    ("a", "b", "less"),
    [
        ("a9", "a10", True),
        ("a10", "a9", False),
        ("a", "b", True),
        ("a1b", "a1c", True),
        ("x", "x1", True),
        ("10", "9", False),
        ("abc", "abd", True),
    ],
)
def test_natural_order(a: str, b: str, less: bool) -> None:
    assert natural_less(a, b) is less


def test_sort_by_label_uses_natural_order_then_the_label_set() -> None:
    names = ["node10", "node9", "node1"]
    v = vector({Labels.of(host=n, x=x): [1] for n in names for x in ("2", "1")})
    ordered = list(rows(run("sort_by_label", v, "host")))
    assert [(ls["host"], ls["x"]) for ls in ordered] == [
        ("node1", "1"),
        ("node1", "2"),
        ("node9", "1"),
        ("node9", "2"),
        ("node10", "1"),
        ("node10", "2"),
    ]
    reverse = list(rows(run("sort_by_label_desc", v, "host")))
    assert reverse == ordered[::-1]
