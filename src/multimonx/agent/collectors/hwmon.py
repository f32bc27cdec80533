"""Hardware monitoring collector: temperatures and fans (node_exporter's hwmon names).

Readings come from psutil's ``sensors_temperatures``/``sensors_fans`` through the ``Source``.
``chip`` is the driver name psutil reports (``coretemp``) and ``sensor`` its label
(``Core 0``) or ``tempN``/``fanN``; node_exporter derives ``chip`` from the sysfs device path
instead (``platform_coretemp_0``), so the label values differ while the names and label names
match. A machine without sensors (most VMs) makes the collector unavailable.
"""

from __future__ import annotations

from collections.abc import Sequence

from multimonx.agent.collectors.base import CollectorUnavailable, SourceCollector
from multimonx.agent.source import Source
from multimonx.config import SimpleSection
from multimonx.model import MetricFamily

_LABELS = ("chip", "sensor")


class HwmonCollector(SourceCollector):
    """``node_hwmon_temp_celsius``, ``_temp_max_celsius``, ``_temp_crit_celsius``, ``_fan_rpm``."""

    name = "hwmon"

    def __init__(self, section: SimpleSection, source: Source, default_interval: float) -> None:
        super().__init__(section, source, default_interval)
        sensors = source.sensors()
        if not sensors.temperatures and not sensors.fans:
            raise CollectorUnavailable("hwmon: this machine exposes no temperature or fan sensors")

    def collect(self) -> Sequence[MetricFamily]:
        """One read of every sensor."""
        s = self._source.sensors()
        out = [
            MetricFamily.gauge(
                "node_hwmon_temp_celsius",
                "Hardware monitor for temperature (input)",
                _LABELS,
                [((t.chip, t.sensor), t.celsius) for t in s.temperatures],
            )
        ]
        for attr, name, what in (
            ("high", "node_hwmon_temp_max_celsius", "max"),
            ("critical", "node_hwmon_temp_crit_celsius", "crit"),
        ):
            rows = [
                ((t.chip, t.sensor), v)
                for t in s.temperatures
                if (v := getattr(t, attr)) is not None
            ]
            if rows:
                out.append(
                    MetricFamily.gauge(
                        name, f"Hardware monitor for temperature ({what})", _LABELS, rows
                    )
                )
        if s.fans:
            out.append(
                MetricFamily.gauge(
                    "node_hwmon_fan_rpm",
                    "Hardware monitor for fan revolutions per minute (input)",
                    _LABELS,
                    [((f.chip, f.sensor), f.rpm) for f in s.fans],
                )
            )
        return out
