"""Alertmanager's matcher syntax: one matcher, lists in braces or bare, the legacy maps,
Alertmanager's order and rendering, and errors that quote the offending text."""

from __future__ import annotations

import pytest

from multimonx.model import Labels, MatchType
from multimonx.notify import MatcherError, parse_matcher, parse_matchers
from multimonx.notify.matchers import legacy_matchers, render_matchers, sort_matchers

EQ, NE, RE, NRE = MatchType.EQUAL, MatchType.NOT_EQUAL, MatchType.REGEX, MatchType.NOT_REGEX


@pytest.mark.parametrize(
    ("text", "name", "op", "value"),
    [
        ('alertname="Watchdog"', "alertname", EQ, "Watchdog"),
        ('severity=~"warn|crit"', "severity", RE, "warn|crit"),
        ("job!=node", "job", NE, "node"),
        ('job!~"node.*"', "job", NRE, "node.*"),
        ('  job  !~  "node"  ', "job", NRE, "node"),
        ("foo=", "foo", EQ, ""),
        ('foo=""', "foo", EQ, ""),
        ("foo=a b", "foo", EQ, "a b"),
        ("a:b_c=x", "a:b_c", EQ, "x"),
        ("foo==bar", "foo", EQ, "=bar"),
        ('foo="a\\"b"', "foo", EQ, 'a"b'),
        ('foo="a\\nb"', "foo", EQ, "a\nb"),
        ('foo="a\\\\b"', "foo", EQ, "a\\b"),
        ('foo="a\\tb"', "foo", EQ, "a\\tb"),
        ("foo=bar\\", "foo", EQ, "bar\\"),
        ('foo="a,b"', "foo", EQ, "a,b"),
        ('foo="日本"', "foo", EQ, "日本"),
        ('foo="multi\nline"', "foo", EQ, "multi\nline"),
    ],
)
def test_one_matcher_parses(text: str, name: str, op: MatchType, value: str) -> None:
    matcher = parse_matcher(text)
    assert (matcher.name, matcher.type, matcher.value) == (name, op, value)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("1foo=bar", 'bad matcher format: "1foo=bar"'),
        ("foo", 'bad matcher format: "foo"'),
        ("", 'bad matcher format: ""'),
        ("fö=bar", 'bad matcher format: "fö=bar"'),
        ("=bar", 'bad matcher format: "=bar"'),
        ('foo="bar', 'matcher value contains unescaped double quote: "bar'),
        ('foo=ba"r', 'matcher value contains unescaped double quote: ba"r'),
        ('foo="a"b"', 'matcher value contains unescaped double quote: "a"b"'),
        ('foo="bar\\"', 'matcher value contains unescaped double quote: "bar\\"'),
        ("foo=~(", 'matcher "foo=~(": invalid regular expression'),
        ('foo!~"a**"', 'matcher "foo!~\\"a**\\"": invalid regular expression'),
    ],
)
def test_a_bad_matcher_is_refused_naming_the_text(text: str, message: str) -> None:
    with pytest.raises(MatcherError) as caught:
        parse_matcher(text)
    assert message in str(caught.value)
    assert isinstance(caught.value, ValueError)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('{a="b", c!~"d"}', [("a", EQ, "b"), ("c", NRE, "d")]),
        ("a=b,c!~d", [("a", EQ, "b"), ("c", NRE, "d")]),
        ("a=b, c!~d ,", [("a", EQ, "b"), ("c", NRE, "d")]),
        ('{foo = "bar", dings != "bums", }', [("foo", EQ, "bar"), ("dings", NE, "bums")]),
        ('{quote="She said: \\"Hi, all!\\""}', [("quote", EQ, 'She said: "Hi, all!"')]),
        ('a="x,y",b=~"1|2"', [("a", EQ, "x,y"), ("b", RE, "1|2")]),
        ('statuscode=~"5.."', [("statuscode", RE, "5..")]),
        ("{a=b}}", [("a", EQ, "b}")]),
        ("{}", []),
        ("", []),
        ("  ", []),
    ],
)
def test_a_matcher_list_parses_in_the_order_written(
    text: str, expected: list[tuple[str, MatchType, str]]
) -> None:
    assert [(m.name, m.type, m.value) for m in parse_matchers(text)] == expected


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("foo=a,b", 'bad matcher format: "b"'),
        ("a=b,,c=d", 'bad matcher format: ""'),
        ('{a="b}', "unescaped double quote"),
        ("{a=b, 9=x}", 'bad matcher format: "9=x"'),
        ("{a=b, 9=x, c=d}", 'bad matcher format: " 9=x"'),
    ],
)
def test_a_bad_matcher_list_is_refused(text: str, message: str) -> None:
    with pytest.raises(MatcherError) as caught:
        parse_matchers(text)
    assert message in str(caught.value)


@pytest.mark.parametrize(
    ("text", "labels", "matches"),
    [
        ('severity=~"warn"', {"severity": "warning"}, False),
        ('severity=~"warn.*"', {"severity": "warning"}, True),
        ('severity!~"warn|crit"', {"severity": "info"}, True),
        ('severity!~"warn|crit"', {}, True),
        ('team=""', {}, True),
        ('team!=""', {}, False),
        ("team!=db", {"team": "web"}, True),
    ],
)
def test_matchers_match_with_anchored_regexes(
    text: str, labels: dict[str, str], matches: bool
) -> None:
    assert parse_matcher(text).matches(Labels.of(labels)) is matches


def test_the_legacy_maps_become_equality_and_anchored_regex_matchers() -> None:
    eq, regex = legacy_matchers({"team": "db"}, {"service": "mysql|mariadb"})
    assert (eq.name, eq.type, eq.value) == ("team", EQ, "db")
    assert (regex.name, regex.type, regex.value) == ("service", RE, "^(?:mysql|mariadb)$")
    assert regex.matches(Labels.of(service="mariadb"))
    assert not regex.matches(Labels.of(service="mysql2"))


@pytest.mark.parametrize(
    ("match", "match_re", "message"),
    [
        ({"a-b": "x"}, None, 'invalid label name "a-b"'),
        (None, {"1a": "x"}, 'invalid label name "1a"'),
        (None, {"a": "(x"}, "a: invalid regular expression"),
    ],
)
def test_the_legacy_maps_refuse_bad_names_and_regexes(
    match: dict[str, str] | None, match_re: dict[str, str] | None, message: str
) -> None:
    with pytest.raises(MatcherError) as caught:
        legacy_matchers(match, match_re)
    assert message in str(caught.value)


def test_matchers_sort_and_render_as_alertmanager_does() -> None:
    matchers = parse_matchers('{z="1", a!="x", a="x", a=~"x", a="b", q="say \\"hi\\"\\n"}')
    assert render_matchers(sort_matchers(matchers)) == (
        '{a="b",a="x",a!="x",a=~"x",q="say \\"hi\\"\\n",z="1"}'
    )
    assert render_matchers(()) == "{}"
