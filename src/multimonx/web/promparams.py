"""Request parameters of the Prometheus HTTP API, read and checked as Prometheus 2.42 does
(``web/api/v1/api.go``): form values from the URL and an urlencoded POST body, times as Unix
seconds or RFC 3339, durations as seconds or ``1m30s``, series selectors for ``match[]``.
Every problem raises ApiError with Prometheus's ``errorType`` and message.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import Enum
from urllib.parse import parse_qsl

from starlette.requests import Request

from multimonx.model import Matcher
from multimonx.promql.ast import VectorSelector
from multimonx.promql.lexer import parse_duration
from multimonx.promql.parser import ParseError, parse

MAX_FORM_BYTES = 10 << 20
"""The largest urlencoded body read (Go's ``http.Request.ParseForm`` limit)."""

MIN_TIME_MS = -9_223_309_901_257_974_000
"""Prometheus's ``MinTime`` in milliseconds: the earliest time a parameter may name."""
MAX_TIME_MS = 9_223_309_901_257_974_999
"""Prometheus's ``MaxTime`` in milliseconds: the latest time a parameter may name."""
MIN_TIME_TEXT = "-292273086-05-16T16:47:06Z"
"""``MinTime`` as Prometheus formats it; clients send it to mean "from the beginning"."""
MAX_TIME_TEXT = "292277025-08-18T07:12:54.999999999Z"
"""``MaxTime`` as Prometheus formats it; clients send it to mean "until the end"."""

_NS_PER_S = 1_000_000_000
_NS_PER_MS = 1_000_000
_MAX_DURATION_NS = 2**63 - 1
_RFC3339_RE = re.compile(
    r"(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?(Z|([+-])(\d{2}):(\d{2}))"
)
_GO_FLOAT_RE = re.compile(r"[+-]?(?:inf|infinity|nan|[0-9_.]+(?:e[+-]?[0-9_]+)?)", re.IGNORECASE)


class ErrorType(Enum):
    """Prometheus's ``errorType`` values and the HTTP status each answers with."""

    BAD_DATA = "bad_data"
    EXECUTION = "execution"
    TIMEOUT = "timeout"
    UNAVAILABLE = "unavailable"
    INTERNAL = "internal"
    NOT_FOUND = "not_found"

    @property
    def status(self) -> int:
        """The HTTP status of an error of this type."""
        return _STATUS[self]


_STATUS = {
    ErrorType.BAD_DATA: 400,
    ErrorType.EXECUTION: 422,
    ErrorType.TIMEOUT: 503,
    ErrorType.UNAVAILABLE: 503,
    ErrorType.INTERNAL: 500,
    ErrorType.NOT_FOUND: 404,
}


class ApiError(Exception):
    """A request the API answers with an error envelope."""

    def __init__(self, error_type: ErrorType, message: str) -> None:
        super().__init__(message)
        self.error_type = error_type
        self.message = message


def bad_data(message: str) -> ApiError:
    """A ``bad_data`` (400) error."""
    return ApiError(ErrorType.BAD_DATA, message)


def invalid_param(name: str, message: str) -> ApiError:
    """Prometheus's ``invalid parameter "<name>": <message>`` bad_data error."""
    return bad_data(f'invalid parameter "{name}": {message}')


@dataclass(frozen=True, slots=True)
class Params:
    """A request's form values: the POST body's first, then the URL's (Go's ``r.Form``)."""

    pairs: tuple[tuple[str, str], ...]

    def get(self, name: str) -> str:
        """The first value of ``name``, ``""`` when absent (Go's ``FormValue``)."""
        return next((value for key, value in self.pairs if key == name), "")

    def has(self, name: str) -> bool:
        """Whether ``name`` was given with a non-empty value."""
        return self.get(name) != ""

    def all(self, name: str) -> list[str]:
        """Every value of ``name``, in order (``r.Form["match[]"]``)."""
        return [value for key, value in self.pairs if key == name]


async def read_params(request: Request) -> Params:
    """The merged form values of ``request``; an urlencoded POST body over 10 MiB is bad_data."""
    body: list[tuple[str, str]] = []
    content_type = request.headers.get("content-type", "")
    if request.method == "POST" and content_type.startswith("application/x-www-form-urlencoded"):
        raw = bytearray()
        async for chunk in request.stream():
            raw += chunk
            if len(raw) > MAX_FORM_BYTES:
                raise bad_data("error parsing form values: http: POST too large")
        body = parse_qsl(raw.decode("utf-8", "replace"), keep_blank_values=True)
    return Params((*body, *request.query_params.multi_items()))


# -- numbers and times -----------------------------------------------------------------------


def _go_float(text: str) -> float | None:
    """``text`` as Go's ``strconv.ParseFloat`` reads it (decimal forms), None if it is not a
    number."""
    if _GO_FLOAT_RE.fullmatch(text) is None:
        return None
    try:
        return float(text)
    except ValueError:
        return None


def _quoted(text: str) -> str:
    """``text`` in double quotes, as Go's ``%q`` prints simple strings."""
    escaped = text.replace("\\", "\\\\").replace('"', '\\"')
    return f'"{escaped}"'


def _time_error(text: str) -> str:
    return f"cannot parse {_quoted(text)} to a valid timestamp"


def _rfc3339_ms(text: str) -> int | None:
    """Milliseconds of an RFC 3339 time (Go's ``time.RFC3339Nano`` layout), None if it is not
    one."""
    match = _RFC3339_RE.fullmatch(text)
    if match is None:
        return None
    year, month, day, hour, minute, second = (int(part) for part in match.groups()[:6])
    fraction = (match.group(7) or "").ljust(9, "0")
    offset = timedelta()
    if match.group(8) != "Z":
        hours, minutes = int(match.group(10)), int(match.group(11))
        if hours > 23 or minutes > 59:
            return None
        offset = timedelta(hours=hours, minutes=minutes)
        if match.group(9) == "-":
            offset = -offset
    try:
        stamp = datetime(year, month, day, hour, minute, second, tzinfo=UTC) - offset
    except (ValueError, OverflowError):
        return None
    epoch = datetime(1970, 1, 1, tzinfo=UTC)
    seconds = (stamp - epoch) // timedelta(seconds=1)
    return seconds * 1000 + int(fraction) // _NS_PER_MS


def parse_time(text: str) -> int:
    """Milliseconds of a time parameter: Unix seconds (rounded to the millisecond), RFC 3339,
    or Prometheus's min/max time texts. Raises ApiError (bad_data, Prometheus's message)."""
    number = _go_float(text)
    if number is not None:
        if not math.isfinite(number) or abs(number) > MAX_TIME_MS / 1000:
            raise bad_data(_time_error(text))
        fraction, whole = math.modf(number)
        millis = math.floor(abs(fraction) * 1000 + 0.5)
        t_ms = int(whole) * 1000 + (millis if fraction >= 0 else -millis)
    elif text == MIN_TIME_TEXT:
        t_ms = MIN_TIME_MS
    elif text == MAX_TIME_TEXT:
        t_ms = MAX_TIME_MS
    else:
        parsed = _rfc3339_ms(text)
        if parsed is None:
            raise bad_data(_time_error(text))
        t_ms = parsed
    if not MIN_TIME_MS <= t_ms <= MAX_TIME_MS:
        raise bad_data(_time_error(text))
    return t_ms


def time_param(params: Params, name: str, default_ms: int) -> int:
    """An optional time parameter (``parseTimeParam``): ``default_ms`` when absent."""
    text = params.get(name)
    if text == "":
        return default_ms
    try:
        return parse_time(text)
    except ApiError as err:
        raise invalid_param(name, f"Invalid time value for '{name}': {err.message}") from None


def required_time_param(params: Params, name: str) -> int:
    """A required time parameter (``query_range``'s start and end)."""
    try:
        return parse_time(params.get(name))
    except ApiError as err:
        raise invalid_param(name, err.message) from None


def parse_duration_ns(text: str) -> int:
    """Nanoseconds of a duration parameter: float seconds (may be negative) or a Prometheus
    duration such as ``1m30s``. Raises ApiError (bad_data, Prometheus's message)."""
    number = _go_float(text)
    if number is not None and not math.isnan(number):
        nanos = number * _NS_PER_S
        if abs(nanos) > _MAX_DURATION_NS:
            raise bad_data(f"cannot parse {_quoted(text)} to a valid duration. It overflows int64")
        return int(nanos)
    try:
        nanos = parse_duration(text) * _NS_PER_MS
    except ValueError:
        nanos = -1
    if nanos < 0 or nanos > _MAX_DURATION_NS or text == "":
        raise bad_data(f"cannot parse {_quoted(text)} to a valid duration")
    return nanos


def duration_param(params: Params, name: str) -> int:
    """A duration parameter in nanoseconds (``""`` is invalid, as in Prometheus)."""
    try:
        return parse_duration_ns(params.get(name))
    except ApiError as err:
        raise invalid_param(name, err.message) from None


def timeout_param(params: Params) -> float | None:
    """The ``timeout`` parameter in seconds, None when absent."""
    if not params.has("timeout"):
        return None
    return duration_param(params, "timeout") / _NS_PER_S


def limit_param(params: Params) -> int:
    """The ``limit`` parameter (Prometheus 3.x): the most series or names to return, 0 for
    no limit."""
    text = params.get("limit")
    if text == "":
        return 0
    try:
        limit = int(text)
    except ValueError:
        raise invalid_param("limit", f"cannot parse {_quoted(text)} to a valid limit") from None
    if limit < 0:
        raise invalid_param("limit", "limit must be non-negative")
    return limit


# -- selectors -------------------------------------------------------------------------------


def parse_selector(text: str) -> tuple[Matcher, ...]:
    """The matchers of a series selector such as ``up{job="node"}``; raises ParseError (with
    Prometheus's position prefix) for anything else."""
    expr = parse(text)
    if not isinstance(expr, VectorSelector) or expr.offset_ms or expr.at is not None:
        raise ParseError("expected a series selector", 0, text)
    return expr.matchers


def matcher_sets(texts: list[str]) -> list[tuple[Matcher, ...]]:
    """The matchers of every ``match[]`` value (``parseMatchersParam``). Raises ApiError
    (bad_data) with Prometheus's message, without the parameter prefix."""
    sets: list[tuple[Matcher, ...]] = []
    for text in texts:
        try:
            sets.append(parse_selector(text))
        except ParseError as err:
            raise bad_data(str(err)) from None
    for matchers in sets:
        if all(one.matches_value("") for one in matchers):
            raise bad_data("match[] must contain at least one non-empty matcher")
    return sets
