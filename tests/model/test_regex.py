"""Regexes from queries run on RE2, as Prometheus runs them on Go's regexp: linear time
whatever the pattern, Go's syntax accepted and refused, ASCII classes, ``.`` matching
newlines."""

from __future__ import annotations

import time

import pytest

from multimonx.model import Matcher
from multimonx.model.regex import RegexError, compile_regex


@pytest.mark.parametrize("pattern", ["(a+)+b", "(a|aa)+b", "(.*a){20}b", "(a*)*b"])
def test_patterns_that_backtrack_exponentially_stay_linear(pattern: str) -> None:
    """Python's re takes longer than the universe's age on these; RE2 some microseconds."""
    value = "a" * 20_000
    matcher = Matcher.of("instance", "=~", pattern)
    started = time.monotonic()
    assert not matcher.matches_value(value)
    assert matcher.regex_hits([value, value + "b"]) == [value + "b"]
    assert time.monotonic() - started < 5  # generous for a loaded machine; milliseconds here


@pytest.mark.parametrize(
    "pattern",
    ["(?i)web.*", r"\pL+", "[[:alpha:]]+", r"\Qa.b\E", "(?P<x>a)b", "a{2,1000}", "(?U)a+"],
)
def test_go_syntax_is_accepted(pattern: str) -> None:
    compile_regex(pattern)


@pytest.mark.parametrize(
    ("pattern", "message"),
    [
        ("(?=a)", "invalid perl operator"),  # lookahead: Go has none
        ("(?<!a)b", "invalid perl operator"),
        (r"(a)\1", "invalid escape sequence"),  # backreference
        ("a{1001}", "invalid repetition size"),  # Go's limit is 1000 too
        ("(a", "missing )"),
        ("a**", "bad repetition operator"),
    ],
)
def test_what_go_refuses_is_refused_with_re2s_reason(pattern: str, message: str) -> None:
    with pytest.raises(RegexError, match=message.replace("(", r"\(").replace(")", r"\)")):
        compile_regex(pattern)
    with pytest.raises(ValueError, match="invalid regular expression"):
        Matcher.of("job", "=~", pattern)


def test_classes_are_ascii_and_dot_matches_newline() -> None:
    assert compile_regex(r"\d+").fullmatch("123") is not None
    assert compile_regex(r"\d+").fullmatch("١٢٣") is None  # Arabic-Indic digits, as in Go
    assert compile_regex(r"\w+").fullmatch("héllo") is None
    assert compile_regex("a.b").fullmatch("a\nb") is not None  # Prometheus 3
    assert Matcher.of("x", "=~", "(?i)WEB-.*").matches_value("web-1")
    match = compile_regex("(?P<host>[^:]+):(\\d+)").fullmatch("é-1:9100")
    assert match is not None
    assert (match.group("host"), match.group(2), match.group(0)) == ("é-1", "9100", "é-1:9100")
