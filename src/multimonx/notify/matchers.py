"""Alertmanager's matcher syntax (its "classic" parser, ``pkg/labels``, as in 0.25): the
strings of a route's ``matchers:`` list, the brace form of silences and API filters, and the
legacy ``match:`` / ``match_re:`` maps.

One matcher is ``<label name><op><value>`` with ``op`` one of ``=``, ``!=``, ``=~``, ``!~``
and blanks allowed around each part; the value may be double-quoted, and inside it ``\\"``,
``\\n`` and ``\\\\`` are escapes while any other backslash stands for itself. A list is
matchers separated by commas outside quotes, optionally wrapped in ``{...}``, with an
optional trailing comma: ``{severity=~"warn|crit", job!=node,}``. Regexes are RE2, anchored
at both ends.

Matchers are kept in Alertmanager's order (name, then value, then operator) and rendered as
Alertmanager renders them, so route keys built from them are Alertmanager's.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from types import MappingProxyType

from multimonx.model import Matcher, MatchType, valid_label_name


class MatcherError(ValueError):
    """Text that is not a matcher (or a list of them); the message quotes the text."""


_BLANK = "[\t\n\f\r ]"  # Go's \s
_MATCHER_RE = re.compile(
    rf"{_BLANK}*([a-zA-Z_:][a-zA-Z0-9_:]*){_BLANK}*(=~|=|!=|!~){_BLANK}*(.*?){_BLANK}*\Z",
    re.DOTALL,
)
_OPERATORS = MappingProxyType({op.value: op for op in MatchType})
_TYPE_ORDER = MappingProxyType(
    {op: rank for rank, op in enumerate(MatchType)}
)  # =, !=, =~, !~ as Go numbers them


def parse_matcher(text: str) -> Matcher:
    """One matcher such as ``severity=~"warn|crit"`` or ``job!=node``; raises MatcherError."""
    found = _MATCHER_RE.match(text)
    if found is None:
        raise MatcherError(
            f"bad matcher format: {_quote(text)} (expected <label name><op><value>, "
            'op one of =, !=, =~, !~, e.g. severity="critical")'
        )
    name, op, raw = found.groups()
    value = _unescape(raw)
    try:
        return Matcher.of(name, _OPERATORS[op], value)
    except ValueError as err:
        raise MatcherError(f"matcher {_quote(text)}: {err}") from None


def parse_matchers(text: str) -> tuple[Matcher, ...]:
    """The matchers of ``{a="b", c!~"d"}`` or ``a=b,c!~d`` (braces optional, a trailing comma
    allowed, empty text meaning none), in the order written; raises MatcherError."""
    body = text.removeprefix("{").removesuffix("}")
    return tuple(parse_matcher(token) for token in _split(body))


def legacy_matchers(
    match: Mapping[str, str] | None = None, match_re: Mapping[str, str] | None = None
) -> tuple[Matcher, ...]:
    """The matchers of the deprecated ``match:`` (equality) and ``match_re:`` (regex) maps;
    raises MatcherError for a bad label name or regex. A ``match_re`` pattern ``p`` becomes
    the value ``^(?:p)$``, as Alertmanager stores (and renders in route keys) these."""
    out: list[Matcher] = []
    for name, value in (match or {}).items():
        out.append(_legacy(name, MatchType.EQUAL, value))
    for name, pattern in (match_re or {}).items():
        out.append(_legacy(name, MatchType.REGEX, f"^(?:{pattern})$"))
    return tuple(out)


def _legacy(name: str, op: MatchType, value: str) -> Matcher:
    if not valid_label_name(name):
        raise MatcherError(f"invalid label name {_quote(name)}")
    try:
        return Matcher.of(name, op, value)
    except ValueError as err:
        raise MatcherError(f"{name}: {err}") from None


def sort_matchers(matchers: Iterable[Matcher]) -> tuple[Matcher, ...]:
    """``matchers`` in Alertmanager's order: by name, then value, then operator."""
    return tuple(sorted(matchers, key=lambda m: (m.name, m.value, _TYPE_ORDER[m.type])))


def render_matchers(matchers: Iterable[Matcher]) -> str:
    """Alertmanager's text for a matcher list: ``{a="b",c=~"d"}`` (no blanks)."""
    return "{" + ",".join(str(m) for m in matchers) + "}"


def _split(text: str) -> list[str]:
    """Split at commas outside double quotes (a backslash-escaped quote does not count). A
    blank last part is dropped, so a trailing comma is allowed; other empty parts are kept and
    then refused as matchers, as Alertmanager does."""
    parts: list[str] = []
    current: list[str] = []
    quoted = escaped = False
    for char in text:
        if char == "," and not quoted:
            parts.append("".join(current))
            current = []
            continue
        if char == '"':
            if escaped:
                escaped = False
            else:
                quoted = not quoted
        elif char == "\\":
            escaped = not escaped
        elif char != ",":
            escaped = False
        current.append(char)
    last = "".join(current).strip()
    if last:
        parts.append(last)
    return parts


def _unescape(raw: str) -> str:
    """A matcher value with its optional quotes removed and escapes undone."""
    quoted = raw.startswith('"')
    body = raw[1:] if quoted else raw
    out: list[str] = []
    escaped = False
    last = len(body) - 1
    for i, char in enumerate(body):
        if escaped:
            escaped = False
            if char == "n":
                out.append("\n")
            elif char in '"\\':
                out.append(char)
            else:  # not an escape: the backslash stands for itself
                out.append("\\" + char)
        elif char == "\\":
            if i < last:
                escaped = True
            else:
                out.append("\\")
        elif char == '"':
            if not quoted or i < last:
                raise MatcherError(f"matcher value contains unescaped double quote: {raw}")
            quoted = False
        else:
            out.append(char)
    if quoted:
        raise MatcherError(f"matcher value contains unescaped double quote: {raw}")
    return "".join(out)


def _quote(text: str) -> str:
    return json.dumps(text, ensure_ascii=False)
