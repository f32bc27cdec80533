"""Named time intervals (Alertmanager's ``time_intervals`` and the deprecated
``mute_time_intervals``): when a route is muted (``mute_time_intervals``) or active
(``active_time_intervals``).

A named interval is a list of specs; it contains a moment if any spec does. A spec is a set
of conditions in its ``location`` (an IANA zone, UTC by default) that must all hold; an
absent condition always holds:

- ``times``: ``start_time``/``end_time`` ``HH:MM`` pairs, the end excluded, ``24:00`` allowed;
- ``weekdays``: ``monday``, ``saturday:sunday``... (names, any case);
- ``days_of_month``: ``1``, ``1:5``, ``-1`` (the last day), ``-3:-1``; ranges are clamped to
  the month's length;
- ``months``: ``january``, ``1``, ``may:august``, ``1:3``;
- ``years``: ``2026``, ``2026:2028``.

Validation follows Alertmanager 0.25 and words its errors the same way, with two deliberate
additions: month numbers outside 1..12 and years below 1 are refused (Alertmanager accepts
them, and they can never match).
"""

from __future__ import annotations

import calendar
import os
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, tzinfo
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError


class TimeIntervalError(ValueError):
    """A time interval value that cannot be used; the message quotes the value."""


Range = tuple[int, int]
"""An inclusive range of weekdays (0 = Sunday), days of month, months or years."""


@dataclass(frozen=True, slots=True)
class TimeRange:
    """Minutes of the day from ``start`` (included) to ``end`` (excluded), 0..1440."""

    start: int
    end: int


@dataclass(frozen=True, slots=True)
class TimeSpec:
    """One entry of a named interval (Alertmanager's ``timeinterval.TimeInterval``). Each
    condition is None when absent (always holds); an empty tuple never holds. ``location``
    None is UTC; ``location_name`` is the zone as written."""

    times: tuple[TimeRange, ...] | None = None
    weekdays: tuple[Range, ...] | None = None
    days_of_month: tuple[Range, ...] | None = None
    months: tuple[Range, ...] | None = None
    years: tuple[Range, ...] | None = None
    location: tzinfo | None = None
    location_name: str = "UTC"

    def contains(self, t: float) -> bool:
        """Whether the moment ``t`` (seconds since the epoch) satisfies every condition."""
        now = datetime.fromtimestamp(t, self.location or UTC)
        if self.times is not None:
            minute = now.hour * 60 + now.minute
            if not any(r.start <= minute < r.end for r in self.times):
                return False
        if self.days_of_month is not None and not _in_days_of_month(now, self.days_of_month):
            return False
        if self.months is not None and not _in_ranges(now.month, self.months):
            return False
        weekday = (now.weekday() + 1) % 7  # Sunday = 0, as Go counts
        if self.weekdays is not None and not _in_ranges(weekday, self.weekdays):
            return False
        return self.years is None or _in_ranges(now.year, self.years)


@dataclass(frozen=True, slots=True)
class TimeInterval:
    """A named list of specs; contains a moment if any spec does (none if the list is
    empty)."""

    name: str
    specs: tuple[TimeSpec, ...] = ()

    def contains(self, t: float) -> bool:
        """Whether the moment ``t`` (seconds since the epoch) is in the interval."""
        return any(spec.contains(t) for spec in self.specs)


WEEKDAYS = ("sunday", "monday", "tuesday", "wednesday", "thursday", "friday", "saturday")
MONTHS = (
    "january",
    "february",
    "march",
    "april",
    "may",
    "june",
    "july",
    "august",
    "september",
    "october",
    "november",
    "december",
)
_TIME_RE = re.compile(r"(?:[01][0-9]|2[0-3]):[0-5][0-9]|24:00")
_INT_RE = re.compile(r"[+-]?[0-9]+")


def parse_time_range(start: str, end: str) -> TimeRange:
    """A ``times`` entry from its ``start_time`` and ``end_time`` texts."""
    if not start or not end:
        raise TimeIntervalError("both start and end times must be provided")
    first, last = _minutes(start), _minutes(end)
    if first >= last:
        raise TimeIntervalError(
            f"start time cannot be equal or greater than end time ({start} >= {end})"
        )
    return TimeRange(first, last)


def parse_weekday_range(text: str) -> Range:
    """``monday`` or ``monday:friday`` (any case) as weekday numbers, Sunday = 0."""
    begin, end = _range(text, _weekday)
    if begin > end:
        raise TimeIntervalError(f"start day cannot be before end day: {text}")
    return begin, end


def parse_day_of_month_range(text: str) -> Range:
    """``1``, ``1:15``, ``-1`` (the month's last day) or ``-7:-1``."""
    begin, end = _range(text, _number)
    for day in (begin, end):
        if day == 0 or not -31 <= day <= 31:
            raise TimeIntervalError(f"{day} is not a valid day of the month: out of range")
    if begin < 0 < end:
        raise TimeIntervalError(f"end day must be negative if start day is negative: {text}")
    # Negative days depend on the month's length; refuse what no month (28 days and up) allows.
    if (begin + 28 if begin < 0 else begin) > (end + 28 if end < 0 else end):
        raise TimeIntervalError(f"end day {end} is always before start day {begin}")
    return begin, end


def parse_month_range(text: str) -> Range:
    """``may``, ``5``, ``may:august`` or ``5:8`` (names in any case)."""
    begin, end = _range(text, _month)
    for month in (begin, end):
        if not 1 <= month <= 12:
            raise TimeIntervalError(f"{month} is not a valid month: out of range 1..12")
    if begin > end:
        raise TimeIntervalError(
            f"end month {MONTHS[end - 1]} is before start month {MONTHS[begin - 1]}"
        )
    return begin, end


def parse_year_range(text: str) -> Range:
    """``2026`` or ``2026:2028``."""
    begin, end = _range(text, _number)
    if begin < 1 or end < 1:
        raise TimeIntervalError(f"{text} is not a valid year: years start at 1")
    if begin > end:
        raise TimeIntervalError(f"end year {end} is before start year {begin}")
    return begin, end


def parse_location(text: str) -> tzinfo | None:
    """The zone of an IANA name (``Europe/Berlin``); ``UTC`` or empty text is UTC (None);
    ``Local`` is the machine's zone, as Go finds it (``$TZ``, else ``/etc/localtime``, else
    UTC)."""
    if text in ("", "UTC"):
        return None
    if text == "Local":
        return _local_zone()
    try:
        return ZoneInfo(text)
    except (ZoneInfoNotFoundError, ValueError):
        raise TimeIntervalError(f"unknown time zone {text}") from None


def _local_zone() -> tzinfo | None:
    name = os.environ.get("TZ")
    try:
        if name is not None:
            return ZoneInfo(name.removeprefix(":")) if name.removeprefix(":") else None
        with open("/etc/localtime", "rb") as file:
            return ZoneInfo.from_file(file, key="Local")
    except (OSError, ValueError, ZoneInfoNotFoundError):
        return None


def _minutes(text: str) -> int:
    if _TIME_RE.fullmatch(text) is None:
        raise TimeIntervalError(f"couldn't parse timestamp {text}, invalid format (want HH:MM)")
    hours, minutes = text.split(":")
    return int(hours) * 60 + int(minutes)


def _range(text: str, member: Callable[[str], int]) -> Range:
    lowered = text.lower()
    if ":" not in lowered:
        one = member(lowered)
        return one, one
    parts = lowered.split(":")
    if len(parts) != 2:
        raise TimeIntervalError(f"couldn't parse range {text}, invalid format")
    return member(parts[0]), member(parts[1])


def _number(text: str) -> int:
    if _INT_RE.fullmatch(text) is None:
        raise TimeIntervalError(f"{text!r} is not a whole number")
    return int(text)


def _weekday(text: str) -> int:
    if text not in WEEKDAYS:
        raise TimeIntervalError(f"{text} is not a valid weekday (sunday, monday... saturday)")
    return WEEKDAYS.index(text)


def _month(text: str) -> int:
    if text in MONTHS:
        return MONTHS.index(text) + 1
    if _INT_RE.fullmatch(text) is None:
        raise TimeIntervalError(f"{text} is not a valid month (january... december, or 1..12)")
    return int(text)


def _in_ranges(value: int, ranges: tuple[Range, ...]) -> bool:
    return any(begin <= value <= end for begin, end in ranges)


def _in_days_of_month(now: datetime, ranges: tuple[Range, ...]) -> bool:
    length = calendar.monthrange(now.year, now.month)[1]
    for begin, end in ranges:
        first = length + begin + 1 if begin < 0 else begin
        last = length + end + 1 if end < 0 else end
        if first > length:  # a day this month does not have
            continue
        first = max(-length, min(first, length))
        last = max(-length, min(last, length))
        if first <= now.day <= last:
            return True
    return False
