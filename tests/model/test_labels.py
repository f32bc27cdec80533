import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from multimonx.model import LabelError, Labels, Matcher, MatchType


def test_labels_are_sorted_and_hash_equal_whatever_the_order() -> None:
    a = Labels([("b", "2"), ("__name__", "up"), ("a", "1")])
    b = Labels.of({"a": "1", "b": "2"}, __name__="up")
    assert a == b
    assert hash(a) == hash(b)
    assert a.pairs == (("__name__", "up"), ("a", "1"), ("b", "2"))
    assert a.metric_name == "up"


def test_empty_values_mean_absent() -> None:
    assert Labels.of(a="", b="1") == Labels.of(b="1")


def test_duplicate_names_are_rejected() -> None:
    with pytest.raises(LabelError, match="duplicate"):
        Labels([("a", "1"), ("a", "2")])


@pytest.mark.parametrize(
    ("labels", "reason"),
    [
        (Labels.of(a="1"), "missing metric name"),
        (Labels.of(__name__="1bad"), "invalid metric name"),
        (Labels.of(__name__="ok", **{"bad-name": "x"}), "invalid label name"),
        (Labels.of(__name__="ok", __reserved="x"), "reserved"),
        (Labels.of(__name__="ok", a="x\x00y"), "NUL"),
    ],
)
def test_validate_rejects(labels: Labels, reason: str) -> None:
    with pytest.raises(LabelError, match=reason):
        labels.validate()


def test_validate_accepts_any_utf8_value() -> None:
    Labels.of(__name__="ok", a='<script>"\\\n☃').validate()


@pytest.mark.parametrize(
    ("op", "value", "candidate", "expected"),
    [
        ("=", "node", "node", True),
        ("=", "node", "node2", False),
        ("!=", "node", "node2", True),
        ("=~", "node", "node2", False),  # fully anchored
        ("=~", "no.*", "node2", True),
        ("=~", "a|b", "b", True),
        ("!~", "a|b", "c", True),
        ("=", "", "", True),  # absent label matches the empty string
        ("=~", ".+", "", False),
        ("=~", "a.b", "a\nb", True),  # . matches newline, as in Go's (?s)
        ("=~", "(?i)node", "NoDe", True),  # a leading flag group, as Grafana users write
        ("=~", "(?i)a|b", "B", True),  # ... covers every alternative
        ("!~", "(?i)node.*", "NODE2", False),
        ("=~", "(?is)a.b", "A\nB", True),
    ],
)
def test_matcher_semantics(op: str, value: str, candidate: str, expected: bool) -> None:
    assert Matcher.of("x", op, value).matches_value(candidate) is expected


def test_matcher_on_missing_label() -> None:
    labels = Labels.of(__name__="up")
    assert Matcher.of("job", MatchType.EQUAL, "").matches(labels)
    assert not Matcher.of("job", MatchType.NOT_EQUAL, "").matches(labels)


def test_bad_regex_is_a_value_error() -> None:
    with pytest.raises(ValueError, match="invalid regular expression"):
        Matcher.of("x", "=~", "(")


_PIECES = ["a", "b", "-", ".", "\\.", "\\|", "|", ".*", "\\\\", "é", " ", "x1"]


@settings(max_examples=400)
@given(
    pattern=st.lists(st.sampled_from(_PIECES), max_size=6).map("".join),
    values=st.lists(st.text(alphabet="ab-.|\\é x1", max_size=5), max_size=12),
    negated=st.booleans(),
)
def test_regex_shortcuts_hit_what_the_regex_matches(
    pattern: str, values: list[str], negated: bool
) -> None:
    try:
        matcher = Matcher.of("l", "!~" if negated else "=~", pattern)
    except ValueError:
        return  # not a valid regex (a trailing backslash): refused as before
    regex = re.compile(f"(?s:{pattern})")
    distinct = list(dict.fromkeys(values))
    assert sorted(matcher.regex_hits(distinct)) == sorted(v for v in distinct if regex.fullmatch(v))
