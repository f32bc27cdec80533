"""Label matchers (``=``, ``!=``, ``=~``, ``!~``) with Prometheus semantics.

Regular expressions are fully anchored, as in Prometheus: ``job=~"node"`` matches only the value
``node``, not ``node2``. A missing label has the value ``""``, so ``{foo=""}`` selects series
without ``foo`` and ``{foo!=""}`` selects series that have it.
"""

from __future__ import annotations

import enum
import re
from dataclasses import dataclass, field

from multimonx.model.labels import Labels


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
    _regex: re.Pattern[str] | None = field(default=None, compare=False, repr=False)

    @classmethod
    def of(cls, name: str, op: MatchType | str, value: str) -> Matcher:
        """A matcher; raises ValueError for an unknown operator or an invalid regex."""
        match_type = op if isinstance(op, MatchType) else MatchType(op)
        regex = None
        if match_type in (MatchType.REGEX, MatchType.NOT_REGEX):
            try:
                regex = re.compile(_python_regex(value))
            except re.error as err:
                raise ValueError(f"invalid regular expression {value!r}: {err}") from err
        return cls(name, match_type, value, regex)

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


_LEADING_FLAGS = re.compile(r"\(\?([ims]+)\)")


def _python_regex(value: str) -> str:
    """A label matcher's RE2 pattern as a Python one: fully anchored by ``fullmatch``, ``.``
    matching newlines as in Prometheus, and a leading flag group such as ``(?i)``, which Go
    allows and Grafana users write, scoped over the rest (Python refuses global flags that
    are not at the very start)."""
    flags = _LEADING_FLAGS.match(value)
    if flags is not None:
        return f"(?s:(?{flags.group(1)}:{value[flags.end() :]}))"
    return f"(?s:{value})"
