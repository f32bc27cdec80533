"""Timex collector: the kernel's clock discipline, as node_exporter's timex collector reports it.

One ``adjtimex(2)`` call (read-only) per collection. ``node_timex_sync_status`` is 1 unless the
kernel returns ``TIME_ERROR`` (clock not synchronised); ``offset`` and ``pps_jitter`` are scaled
by the ``STA_NANO`` status bit; frequencies are the kernel's "ppm with a 16-bit fraction".
Nothing is reported off Linux or where a sandbox refuses the system call.
"""

from __future__ import annotations

from collections.abc import Sequence

from multimonx.agent.collectors.base import SourceCollector
from multimonx.model import MetricFamily, MetricType

_GAUGE = MetricType.GAUGE
_COUNTER = MetricType.COUNTER
# (Timex field = metric suffix, type, node_exporter 1.5's help)
FAMILIES = (
    ("sync_status", _GAUGE, "Is clock synchronized to a reliable server (1 = yes, 0 = no)."),
    ("offset_seconds", _GAUGE, "Time offset in between local system and reference clock."),
    ("frequency_adjustment_ratio", _GAUGE, "Local clock frequency adjustment."),
    ("maxerror_seconds", _GAUGE, "Maximum error in seconds."),
    ("estimated_error_seconds", _GAUGE, "Estimated error in seconds."),
    ("status", _GAUGE, "Value of the status array bits."),
    ("loop_time_constant", _GAUGE, "Phase-locked loop time constant."),
    ("tick_seconds", _GAUGE, "Seconds between clock ticks."),
    ("pps_frequency_hertz", _GAUGE, "Pulse per second frequency."),
    ("pps_jitter_seconds", _GAUGE, "Pulse per second jitter."),
    ("pps_shift_seconds", _GAUGE, "Pulse per second interval duration."),
    (
        "pps_stability_hertz",
        _GAUGE,
        "Pulse per second stability, average of recent frequency changes.",
    ),
    ("pps_jitter_total", _COUNTER, "Pulse per second count of jitter limit exceeded events."),
    ("pps_calibration_total", _COUNTER, "Pulse per second count of calibration intervals."),
    ("pps_error_total", _COUNTER, "Pulse per second count of calibration errors."),
    (
        "pps_stability_exceeded_total",
        _COUNTER,
        "Pulse per second count of stability limit exceeded events.",
    ),
    ("tai_offset_seconds", _GAUGE, "International Atomic Time (TAI) offset."),
)
"""Every ``node_timex_<suffix>`` family, in node_exporter's order."""


class TimexCollector(SourceCollector):
    """``node_timex_*`` from one ``adjtimex`` reading."""

    name = "timex"

    def collect(self) -> Sequence[MetricFamily]:
        """One ``adjtimex`` call; no families where it is unavailable."""
        timex = self._source.timex()
        if timex is None:
            return []
        return [
            MetricFamily.single(f"node_timex_{suffix}", kind, help_text, getattr(timex, suffix))
            for suffix, kind, help_text in FAMILIES
        ]
