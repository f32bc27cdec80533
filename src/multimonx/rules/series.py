"""The series notation of ``promtool test rules`` (and of PromQL test scripts): a series
description ``metric{a="b"}`` and its values ``0+10x3 _ stale 5x2``.

``a+bxn`` is the n+1 values ``a, a+b, ..., a+n*b`` (``a-bxn`` counts down); ``axn`` is ``a``
n+1 times; ``_`` is no sample and ``_xn`` n of them; ``stale`` is a staleness marker. Values
are decimal numbers, ``Inf`` or ``NaN``, with a sign: never hexadecimal, which would make
``0x30`` (0, 31 times) ambiguous, as Prometheus's lexer decides too.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from multimonx.model import STALE_NAN, Labels
from multimonx.model.matcher import MatchType
from multimonx.promql.ast import VectorSelector
from multimonx.promql.lexer import ParseError
from multimonx.promql.parser import parse

_DECIMAL = r"[+-]?(?:inf|nan|(?:\d+\.?\d*|\.\d+)(?:e[+-]?\d+)?)"
_NUMBER_RE = re.compile(r"[+-]?0x[0-9a-f]+|" + _DECIMAL, re.IGNORECASE)
# No hexadecimal in series values, as in Prometheus's lexer: ``0x30`` is 0 repeated.
_ITEM_RE = re.compile(
    rf"(?P<base>{_DECIMAL})(?:(?P<step>[+-](?:\d+\.?\d*|\.\d+)(?:e[+-]?\d+)?)?x(?P<n>\d+))?",
    re.IGNORECASE,
)
_BLANKS_RE = re.compile(r"_(?:x(\d+))?")


def is_number(text: str) -> bool:
    """Whether ``text`` is a PromQL number literal."""
    return _NUMBER_RE.fullmatch(text) is not None


def parse_number(text: str) -> float:
    """A PromQL number literal (decimal, hex, Inf, NaN, with an optional sign)."""
    if not is_number(text):
        raise ValueError(f"bad number {text!r}")
    body = text.lstrip("+-")
    value = float(int(body, 16)) if body.lower().startswith("0x") else float(body)
    return -value if text.startswith("-") else value


def expand_values(tokens: Sequence[str]) -> tuple[float | None, ...]:
    """Expand series notation tokens (``1+2x3 _x2 stale 5x1``) into values (None: ``_``)."""
    out: list[float | None] = []
    for token in tokens:
        out.extend(_expand_token(token))
    return tuple(out)


def _expand_token(token: str) -> list[float | None]:
    if token == "stale":  # noqa: S105 - the staleness marker's notation, not a secret
        return [STALE_NAN]
    blanks = _BLANKS_RE.fullmatch(token)
    if blanks is not None:
        return [None] * int(blanks.group(1) or 1)
    item = _ITEM_RE.fullmatch(token)
    if item is None:
        raise ValueError(f"bad series value {token!r}")
    base = parse_number(item.group("base"))
    if item.group("n") is None:
        return [base]
    step = float(item.group("step") or 0)
    return [base + i * step for i in range(int(item.group("n")) + 1)]


def parse_series(text: str) -> Labels:
    """The label set of a series description (``metric{a="b"}``, ``{__name__="m"}``), read
    as PromQL reads a selector of equality matchers, as promtool does."""
    try:
        expr = parse(text)
    except ParseError as err:
        raise ValueError(f"bad series {text!r}: {err}") from None
    if not isinstance(expr, VectorSelector) or expr.offset_ms or expr.at is not None:
        raise ValueError(f"bad series {text!r}: not a plain series description")
    pairs = []
    for matcher in expr.matchers:
        if matcher.type is not MatchType.EQUAL:
            raise ValueError(f"bad series {text!r}: only = matchers describe a series")
        pairs.append((matcher.name, matcher.value))
    return Labels(pairs)
