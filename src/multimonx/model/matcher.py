"""Label matchers (``=``, ``!=``, ``=~``, ``!~``) with Prometheus semantics.

Regular expressions are fully anchored, as in Prometheus: ``job=~"node"`` matches only the value
``node``, not ``node2``; they have RE2 (Go) syntax and semantics (``model.regex``). A missing
label has the value ``""``, so ``{foo=""}`` selects series without ``foo`` and ``{foo!=""}``
selects series that have it.
"""

from __future__ import annotations

import enum
import re
from collections.abc import Iterable, Set
from dataclasses import dataclass, field

from multimonx.model.labels import Labels
from multimonx.model.regex import Regex, RegexError, compile_regex


class MatchType(enum.Enum):
    """The four matcher operators of PromQL."""

    EQUAL = "="
    NOT_EQUAL = "!="
    REGEX = "=~"
    NOT_REGEX = "!~"


@dataclass(frozen=True, slots=True)
class Matcher:
    """One label matcher. Build with ``Matcher.of(name, op, value)`` to get regexes checked."""

    name: str
    type: MatchType
    value: str
    _regex: Regex | None = field(default=None, compare=False, repr=False)
    literals: tuple[str, ...] | None = field(default=None, compare=False, repr=False)
    """For a regex that is an alternation of literal strings (``a|b|c``, what Grafana's
    multi-value variables send), the strings it matches; None otherwise."""
    prefix: str | None = field(default=None, compare=False, repr=False)
    """For a regex that is a literal followed by ``.*`` (``web-.*``), the literal: the regex
    matches exactly the values starting with it. None otherwise."""

    @classmethod
    def of(cls, name: str, op: MatchType | str, value: str) -> Matcher:
        """A matcher; raises ValueError for an unknown operator or an invalid regex."""
        match_type = op if isinstance(op, MatchType) else MatchType(op)
        if match_type not in (MatchType.REGEX, MatchType.NOT_REGEX):
            return cls(name, match_type, value)
        try:
            regex = compile_regex(value)
        except RegexError as err:
            raise ValueError(f"invalid regular expression {value!r}: {err}") from err
        literals = prefix = None
        if _LITERALS.fullmatch(value):
            literals = tuple(dict.fromkeys(_alternatives(value)))
        elif value.endswith(".*") and _LITERAL.fullmatch(value[:-2]):
            prefix = _alternatives(value[:-2])[0]
        return cls(name, match_type, value, regex, literals, prefix)

    def regex_hits(self, values: Iterable[str]) -> list[str]:
        """Of ``values``, those this matcher's regex matches (whatever the operator): by
        lookup for literal alternations, by prefix for ``literal.*``, else one regex test
        per value."""
        if self.literals is not None:
            wanted = set(values) if not isinstance(values, Set) else values
            return [one for one in self.literals if one in wanted]
        if self.prefix is not None:
            prefix = self.prefix
            return [one for one in values if one.startswith(prefix)]
        assert self._regex is not None, "regex matchers must be built with Matcher.of"
        fullmatch = self._regex.fullmatch
        return [one for one in values if fullmatch(one) is not None]

    def matches_value(self, value: str) -> bool:
        """Whether a label value (``""`` when the label is absent) satisfies this matcher."""
        if self.type is MatchType.EQUAL:
            return value == self.value
        if self.type is MatchType.NOT_EQUAL:
            return value != self.value
        assert self._regex is not None, "regex matchers must be built with Matcher.of"
        hit = self._regex.fullmatch(value) is not None
        return hit if self.type is MatchType.REGEX else not hit

    def matches(self, labels: Labels) -> bool:
        """Whether a label set satisfies this matcher."""
        return self.matches_value(labels.get(self.name, ""))

    def __str__(self) -> str:
        escaped = self.value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
        return f'{self.name}{self.type.value}"{escaped}"'


_LITERAL_CHAR = r"(?:[\w\-:/@ ,;=]|\\[^\w\s])"
_LITERAL = re.compile(f"{_LITERAL_CHAR}*")
_LITERALS = re.compile(f"{_LITERAL_CHAR}*(?:\\|{_LITERAL_CHAR}*)*")
"""A regex made of literal characters (escaped punctuation included) and ``|`` only."""


_TOKEN = re.compile(r"\\(.)|([^|\\])|(\|)", re.DOTALL)


def _alternatives(value: str) -> list[str]:
    """The strings a ``_LITERALS`` pattern matches: split at ``|``, escapes undone."""
    parts: list[list[str]] = [[]]
    for escaped, char, bar in _TOKEN.findall(value):
        if bar:
            parts.append([])
        else:
            parts[-1].append(escaped or char)
    return ["".join(one) for one in parts]
