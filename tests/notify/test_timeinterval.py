"""Time intervals: each condition's syntax and its errors, and which moments a spec and a
named interval contain (end times excluded, zones, month ends, any-of-the-specs)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

import pytest

from multimonx.notify import TimeInterval, TimeIntervalError, TimeSpec
from multimonx.notify.timeinterval import (
    Range,
    TimeRange,
    parse_day_of_month_range,
    parse_location,
    parse_month_range,
    parse_time_range,
    parse_weekday_range,
    parse_year_range,
)


def at(text: str) -> float:
    """Seconds since the epoch of an ISO time in UTC."""
    return datetime.fromisoformat(text).replace(tzinfo=UTC).timestamp()


@pytest.mark.parametrize(
    ("parse", "text", "expected"),
    [
        (parse_weekday_range, "monday", (1, 1)),
        (parse_weekday_range, "Monday:FRIDAY", (1, 5)),
        (parse_weekday_range, "sunday", (0, 0)),
        (parse_weekday_range, "saturday", (6, 6)),
        (parse_day_of_month_range, "1", (1, 1)),
        (parse_day_of_month_range, "1:15", (1, 15)),
        (parse_day_of_month_range, "-1", (-1, -1)),
        (parse_day_of_month_range, "-7:-1", (-7, -1)),
        (parse_day_of_month_range, "20:-1", (20, -1)),
        (parse_day_of_month_range, "+3", (3, 3)),
        (parse_month_range, "may", (5, 5)),
        (parse_month_range, "MAY:August", (5, 8)),
        (parse_month_range, "1:march", (1, 3)),
        (parse_month_range, "12", (12, 12)),
        (parse_year_range, "2026", (2026, 2026)),
        (parse_year_range, "2026:2028", (2026, 2028)),
    ],
)
def test_ranges_parse(parse: Callable[[str], Range], text: str, expected: Range) -> None:
    assert parse(text) == expected


@pytest.mark.parametrize(
    ("parse", "text", "message"),
    [
        (parse_weekday_range, "mon", "mon is not a valid weekday"),
        (parse_weekday_range, "1", "1 is not a valid weekday"),
        (parse_weekday_range, "saturday:monday", "start day cannot be before end day"),
        (parse_weekday_range, "monday:tuesday:friday", "couldn't parse range"),
        (parse_day_of_month_range, "0", "0 is not a valid day of the month: out of range"),
        (parse_day_of_month_range, "32", "32 is not a valid day of the month: out of range"),
        (parse_day_of_month_range, "-32", "-32 is not a valid day of the month"),
        (parse_day_of_month_range, "-1:5", "end day must be negative if start day is negative"),
        (parse_day_of_month_range, "5:-30", "end day -30 is always before start day 5"),
        (parse_day_of_month_range, "10:5", "end day 5 is always before start day 10"),
        (parse_day_of_month_range, "1:", "'' is not a whole number"),
        (parse_day_of_month_range, "first", "'first' is not a whole number"),
        (parse_month_range, "jan", "jan is not a valid month"),
        (parse_month_range, "march:january", "end month january is before start month march"),
        (parse_month_range, "13", "13 is not a valid month: out of range 1..12"),
        (parse_month_range, "0:2", "0 is not a valid month"),
        (parse_year_range, "2020:2019", "end year 2019 is before start year 2020"),
        (parse_year_range, "-5", "-5 is not a valid year"),
        (parse_year_range, "abc", "'abc' is not a whole number"),
    ],
)
def test_bad_ranges_are_refused_naming_the_value(
    parse: Callable[[str], Range], text: str, message: str
) -> None:
    with pytest.raises(TimeIntervalError) as caught:
        parse(text)
    assert message in str(caught.value)


@pytest.mark.parametrize(
    ("start", "end", "expected"),
    [
        ("00:00", "24:00", TimeRange(0, 1440)),
        ("09:00", "17:30", TimeRange(540, 1050)),
        ("23:59", "24:00", TimeRange(1439, 1440)),
    ],
)
def test_times_parse(start: str, end: str, expected: TimeRange) -> None:
    assert parse_time_range(start, end) == expected


@pytest.mark.parametrize(
    ("start", "end", "message"),
    [
        ("9:00", "17:00", "couldn't parse timestamp 9:00, invalid format"),
        ("10:60", "11:00", "couldn't parse timestamp 10:60"),
        ("24:01", "24:00", "couldn't parse timestamp 24:01"),
        ("10:00", "25:00", "couldn't parse timestamp 25:00"),
        ("10:00", "10:00", "start time cannot be equal or greater than end time"),
        ("11:00", "10:00", "start time cannot be equal or greater than end time"),
        ("10:00", "", "both start and end times must be provided"),
        ("", "10:00", "both start and end times must be provided"),
    ],
)
def test_bad_times_are_refused(start: str, end: str, message: str) -> None:
    with pytest.raises(TimeIntervalError) as caught:
        parse_time_range(start, end)
    assert message in str(caught.value)


def test_locations_are_iana_zones_and_utc_is_the_default() -> None:
    assert parse_location("") is None
    assert parse_location("UTC") is None
    assert str(parse_location("Europe/Berlin")) == "Europe/Berlin"
    for bad in ("Mars/Base", "../etc/passwd", "Europe/"):
        with pytest.raises(TimeIntervalError, match="unknown time zone"):
            parse_location(bad)


WORK_HOURS = TimeSpec(times=(TimeRange(540, 1020),), weekdays=((1, 5),))
BERLIN = parse_location("Europe/Berlin")


@pytest.mark.parametrize(
    ("spec", "moment", "contained"),
    [
        (TimeSpec(), "2026-12-07T03:00:00", True),
        (WORK_HOURS, "2026-12-07T09:00:00", True),  # a Monday, start included
        (WORK_HOURS, "2026-12-07T16:59:59", True),
        (WORK_HOURS, "2026-12-07T17:00:00", False),  # end excluded
        (WORK_HOURS, "2026-12-07T08:59:59", False),
        (WORK_HOURS, "2026-12-06T12:00:00", False),  # a Sunday
        (TimeSpec(times=(TimeRange(1380, 1440),)), "2026-12-07T23:59:59", True),
        (TimeSpec(times=(TimeRange(1380, 1440),)), "2026-12-08T00:00:00", False),
        (TimeSpec(times=()), "2026-12-07T12:00:00", False),  # an empty list never holds
        # Friday 23:30 UTC is Saturday 00:30 in Berlin.
        (TimeSpec(weekdays=((6, 6),)), "2026-12-04T23:30:00", False),
        (TimeSpec(weekdays=((6, 6),), location=BERLIN), "2026-12-04T23:30:00", True),
        # In summer Berlin is UTC+2: 07:00 UTC is 09:00 there.
        (TimeSpec(times=(TimeRange(540, 600),), location=BERLIN), "2026-07-01T07:00:00", True),
        (TimeSpec(times=(TimeRange(540, 600),), location=BERLIN), "2026-12-01T07:00:00", False),
        (TimeSpec(weekdays=((0, 0), (6, 6))), "2026-12-06T12:00:00", True),
        (TimeSpec(days_of_month=((-1, -1),)), "2028-02-29T12:00:00", True),  # leap year
        (TimeSpec(days_of_month=((-1, -1),)), "2028-02-28T12:00:00", False),
        (TimeSpec(days_of_month=((-1, -1),)), "2026-02-28T12:00:00", True),
        (TimeSpec(days_of_month=((-7, -1),)), "2026-12-25T00:00:00", True),
        (TimeSpec(days_of_month=((-7, -1),)), "2026-12-24T23:59:59", False),
        (TimeSpec(days_of_month=((-31, -1),)), "2026-02-01T00:00:00", True),  # clamped
        (TimeSpec(days_of_month=((31, 31),)), "2026-04-30T12:00:00", False),  # no 31 April
        (TimeSpec(days_of_month=((25, 31),)), "2026-02-28T12:00:00", True),
        (TimeSpec(days_of_month=((1, 1),)), "2026-12-01T00:00:00", True),
        (TimeSpec(months=((12, 12),)), "2026-12-31T23:59:59", True),
        (TimeSpec(months=((1, 11),)), "2026-12-31T23:59:59", False),
        (TimeSpec(years=((2027, 2028),)), "2026-12-31T23:59:59", False),
        (TimeSpec(years=((2027, 2028),), location=BERLIN), "2026-12-31T23:59:59", True),
        (
            TimeSpec(times=(TimeRange(0, 60),), weekdays=((1, 1),), months=((12, 12),)),
            "2026-12-07T00:30:00",
            True,
        ),
        (
            TimeSpec(times=(TimeRange(0, 60),), weekdays=((2, 2),), months=((12, 12),)),
            "2026-12-07T00:30:00",
            False,
        ),
    ],
)
def test_a_spec_contains_the_moments_all_its_conditions_allow(
    spec: TimeSpec, moment: str, contained: bool
) -> None:
    assert spec.contains(at(moment)) is contained


def test_a_named_interval_contains_a_moment_if_any_spec_does() -> None:
    weekends = TimeSpec(weekdays=((0, 0), (6, 6)))
    nights = TimeSpec(times=(TimeRange(0, 420), TimeRange(1320, 1440)))
    off_hours = TimeInterval("off-hours", (weekends, nights))
    assert off_hours.contains(at("2026-12-06T12:00:00"))  # Sunday noon
    assert off_hours.contains(at("2026-12-07T23:00:00"))  # Monday night
    assert not off_hours.contains(at("2026-12-07T12:00:00"))  # Monday noon
    assert not TimeInterval("never").contains(at("2026-12-07T12:00:00"))


@pytest.mark.parametrize(
    ("tz", "expected"),
    [("Asia/Tokyo", "Asia/Tokyo"), (":Asia/Tokyo", "Asia/Tokyo"), ("", None), ("Nowhere/X", None)],
)
def test_local_is_the_zone_of_the_tz_variable(
    tz: str, expected: str | None, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TZ", tz)
    zone = parse_location("Local")
    assert (None if zone is None else str(zone)) == expected
