"""Regular expressions as Prometheus runs them: RE2 syntax (Go's ``regexp`` package), ``.``
matching newlines (Prometheus 3), and matching in time linear in the text.

Label matchers and ``label_replace`` take patterns from queries, so from anyone who can
query. Python's ``re`` backtracks: ``(a+)+b`` against a long label value takes exponential
time, inside one C call that holds the GIL, so a single query could freeze the whole server
(ingestion included) beyond any query timeout. RE2 (``google-re2``) never backtracks, and
accepts and refuses what Go accepts and refuses (no lookaround or backreferences; ``\\d``,
``\\w`` and ``\\s`` are ASCII). Callers anchor with ``fullmatch``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Protocol, cast

import re2  # type: ignore[import-untyped]


class RegexMatch(Protocol):
    """A successful match."""

    def group(self, key: int | str = 0, /) -> str | None:
        """The text of a group (None if it took no part in the match)."""


class Regex(Protocol):
    """A compiled pattern."""

    @property
    def groups(self) -> int:
        """How many capturing groups it has."""

    @property
    def groupindex(self) -> Mapping[str, int]:
        """The numbers of its named groups."""

    def fullmatch(self, text: str, /) -> RegexMatch | None:
        """The match of the whole of ``text``, or None."""


class RegexError(ValueError):
    """A pattern RE2 (and so Prometheus) refuses; the message is RE2's."""


_OPTIONS = re2.Options()
_OPTIONS.log_errors = False  # errors come back as exceptions, not as lines on stderr
_OPTIONS.dot_nl = True


def compile_regex(pattern: str) -> Regex:
    """``pattern`` compiled with RE2; raises RegexError."""
    try:
        return cast(Regex, re2.compile(pattern, _OPTIONS))
    except re2.error as err:
        detail = err.args[0] if err.args else err
        text = detail.decode(errors="replace") if isinstance(detail, bytes) else str(detail)
        raise RegexError(text) from None
