"""The time window of a friendly history query (``/api/v1/metrics/history``).

Either ``range`` (one of ``RANGES``, ending now) or ``start``/``end`` (Unix seconds or RFC 3339,
as Prometheus's API takes them; ``end`` defaults to now), with an optional ``step`` (a duration
such as ``5m``, or seconds). The default step gives about 300 points: the span divided by 300,
rounded down to a multiple of 15 s, at least 15 s; so a 7 d or 30 d window is coarse enough for
the storage to answer from a downsampled tier. Without ``range`` and ``start``, the window is
the last hour. With ``range``, the window is aligned to the
step (its last point is the newest step boundary), so points stay put between refreshes.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime

from multimonx.promql.engine import MAX_POINTS_PER_SERIES
from multimonx.promql.lexer import parse_duration

RANGES = {
    "1h": 3_600_000,
    "6h": 21_600_000,
    "24h": 86_400_000,
    "7d": 604_800_000,
    "30d": 2_592_000_000,
}
"""The named windows ``range`` accepts, in milliseconds."""
DEFAULT_POINTS = 300
"""About how many points a window without ``step`` gets."""
STEP_QUANTUM_MS = 15_000
"""Default steps are multiples of this (and never finer)."""


_NUMBER = re.compile(r"[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?|[-+]?(?i:nan|inf|infinity)")


class WindowError(ValueError):
    """The parameters do not describe a window (the message says which and why)."""


@dataclass(frozen=True, slots=True)
class HistoryWindow:
    """A range query's ``start``, ``end`` and ``step``, in milliseconds."""

    start_ms: int
    end_ms: int
    step_ms: int


def default_step_ms(span_ms: int) -> int:
    """The step giving about ``DEFAULT_POINTS`` points over ``span_ms``."""
    quanta = span_ms // DEFAULT_POINTS // STEP_QUANTUM_MS
    return max(1, quanta) * STEP_QUANTUM_MS


def history_window(params: Mapping[str, str], now_ms: int) -> HistoryWindow:
    """The window that ``range`` or ``start``/``end``, and ``step``, describe."""
    named = params.get("range")
    if named is not None and ("start" in params or "end" in params):
        raise WindowError("give either 'range' or 'start'/'end', not both")
    if "end" in params and "start" not in params:
        raise WindowError("'end' needs 'start'")
    step_ms = _step(params["step"]) if "step" in params else None
    if named is not None or "start" not in params:
        return _named_window(named or "1h", step_ms, now_ms)
    start_ms = parse_time(params["start"], "start")
    end_ms = parse_time(params["end"], "end") if "end" in params else now_ms
    if end_ms < start_ms:
        raise WindowError("'end' must not be before 'start'")
    step_ms = step_ms or default_step_ms(end_ms - start_ms)
    return _checked(HistoryWindow(start_ms, end_ms, step_ms))


def _named_window(name: str, step_ms: int | None, now_ms: int) -> HistoryWindow:
    span_ms = RANGES.get(name)
    if span_ms is None:
        raise WindowError(f"invalid range {name!r}: one of {', '.join(RANGES)}")
    step_ms = step_ms or default_step_ms(span_ms)
    end_ms = now_ms - now_ms % step_ms
    return _checked(HistoryWindow(end_ms - span_ms, end_ms, step_ms))


def _checked(window: HistoryWindow) -> HistoryWindow:
    if (window.end_ms - window.start_ms) // window.step_ms > MAX_POINTS_PER_SERIES:
        raise WindowError(
            f"more than {MAX_POINTS_PER_SERIES} points per series: choose a larger 'step'"
        )
    return window


def _step(text: str) -> int:
    """A step: a Prometheus duration (``5m``) or a number of seconds, positive."""
    try:
        step_ms = parse_duration(text)
    except ValueError:
        step_ms = _seconds_ms(text, "step")
    if step_ms <= 0:
        raise WindowError("'step' must be positive")
    return step_ms


def parse_time(text: str, name: str) -> int:
    """Milliseconds of a time given as Unix seconds or RFC 3339 text."""
    if _NUMBER.fullmatch(text.strip()):
        return _seconds_ms(text, name)
    try:
        stamp = datetime.fromisoformat(text.replace("Z", "+00:00").replace("z", "+00:00"))
    except ValueError:
        raise WindowError(f"invalid {name!r}: {text!r} is no Unix time nor RFC 3339") from None
    if stamp.tzinfo is None:
        raise WindowError(f"invalid {name!r}: {text!r} has no time zone")
    return round(stamp.timestamp() * 1000)


def _seconds_ms(text: str, name: str) -> int:
    try:
        seconds = float(text)
    except ValueError:
        raise WindowError(f"invalid {name!r}: {text!r} is not a number") from None
    if not math.isfinite(seconds) or abs(seconds) > 1e13:
        raise WindowError(f"invalid {name!r}: {text!r} is out of range")
    return round(seconds * 1000)
