"""Samples, timestamps and the staleness marker.

Timestamps are int64 milliseconds since the Unix epoch; values are float64. The staleness
marker is the specific NaN bit pattern Prometheus uses (0x7ff0000000000002); it is distinct
from an ordinary NaN, which is a legitimate sample value.
"""

from __future__ import annotations

import math
import struct
import time
from dataclasses import dataclass

STALE_NAN_BITS = 0x7FF0000000000002
STALE_NAN: float = struct.unpack("<d", struct.pack("<Q", STALE_NAN_BITS))[0]


def is_stale_nan(value: float) -> bool:
    """Whether ``value`` is the staleness marker (not merely any NaN)."""
    return math.isnan(value) and struct.pack("<d", value) == struct.pack("<Q", STALE_NAN_BITS)


def same_value(a: float, b: float) -> bool:
    """Bitwise float equality: NaN equals the same NaN, -0.0 differs from 0.0."""
    return struct.pack("<d", a) == struct.pack("<d", b)


def now_ms() -> int:
    """The current wall-clock time in milliseconds."""
    return time.time_ns() // 1_000_000


@dataclass(frozen=True, slots=True)
class Sample:
    """One (timestamp, value) point of a series."""

    timestamp_ms: int
    value: float
