"""CPU collector: seconds per core and mode, scaling frequencies, load averages, core counts.

The core count is ``multimonx_cpu_cores{type}`` (node_exporter has none; a ``_count`` suffix
would trip promtool's lint).

Names follow node_exporter's ``cpu``, ``cpufreq`` and ``loadavg`` collectors. With
``per_cpu: false`` the per-core families are replaced by ``multimonx_cpu_seconds_total{mode}``
and ``multimonx_cpu_guest_seconds_total{mode}`` (the sum over cores): node_exporter has no
aggregated form, and inventing ``cpu="all"`` under its name would break every dashboard that
sums over ``cpu``. Keep the default (``per_cpu: true``) for node_exporter dashboards; turn it
off only to cut series on hosts with hundreds of cores.
"""

from __future__ import annotations

from collections.abc import Sequence

from multimonx.agent.collectors.base import SourceCollector
from multimonx.agent.source import Source
from multimonx.config import CpuSection
from multimonx.model import MetricFamily, MetricType

MODES = ("idle", "iowait", "irq", "nice", "softirq", "steal", "system", "user")
"""node_exporter's ``mode`` label values, in its (alphabetical) order."""


class CpuCollector(SourceCollector):
    """``node_cpu_*``, ``node_load*`` and ``multimonx_cpu_cores`` from a ``Source``."""

    name = "cpu"

    def __init__(self, section: CpuSection, source: Source, default_interval: float) -> None:
        super().__init__(section, source, default_interval)
        self._per_cpu = section.per_cpu
        count = source.cpu_count()
        rows: list[tuple[tuple[str, ...], float]] = [(("logical",), float(count.logical))]
        if count.physical is not None:
            rows.append((("physical",), float(count.physical)))
        self._count = MetricFamily.gauge(
            "multimonx_cpu_cores",
            "Number of CPU cores by type (logical or physical).",
            ("type",),
            rows,
        )

    def collect(self) -> Sequence[MetricFamily]:
        """One read of the per-core times, frequencies and load averages."""
        cores = self._source.cpu_times_per_core()
        out: list[MetricFamily] = []
        if self._per_cpu:
            out.append(
                MetricFamily.counter(
                    "node_cpu_seconds_total",
                    "Seconds the CPUs spent in each mode.",
                    ("cpu", "mode"),
                    [((c.cpu, m), getattr(c, m)) for c in cores for m in MODES],
                )
            )
            out.append(
                MetricFamily.counter(
                    "node_cpu_guest_seconds_total",
                    "Seconds the CPUs spent in guests (VMs) for each mode.",
                    ("cpu", "mode"),
                    [
                        r
                        for c in cores
                        for r in (((c.cpu, "nice"), c.guest_nice), ((c.cpu, "user"), c.guest))
                    ],
                )
            )
        else:
            out.append(
                MetricFamily.counter(
                    "multimonx_cpu_seconds_total",
                    "Seconds all CPUs together spent in each mode (per_cpu disabled).",
                    ("mode",),
                    [((m,), sum(getattr(c, m) for c in cores)) for m in MODES],
                )
            )
            out.append(
                MetricFamily.counter(
                    "multimonx_cpu_guest_seconds_total",
                    "Seconds all CPUs together spent in guests (VMs) for each mode.",
                    ("mode",),
                    [
                        (("nice",), sum(c.guest_nice for c in cores)),
                        (("user",), sum(c.guest for c in cores)),
                    ],
                )
            )
        freqs = self._source.cpu_freq()
        for attr, name, help_text in (
            (
                "current_hz",
                "node_cpu_scaling_frequency_hertz",
                "Current scaled CPU thread frequency in hertz.",
            ),
            (
                "min_hz",
                "node_cpu_scaling_frequency_min_hertz",
                "Minimum scaled CPU thread frequency in hertz.",
            ),
            (
                "max_hz",
                "node_cpu_scaling_frequency_max_hertz",
                "Maximum scaled CPU thread frequency in hertz.",
            ),
        ):
            rows = [((f.cpu,), value) for f in freqs if (value := getattr(f, attr)) is not None]
            if rows:
                out.append(MetricFamily.gauge(name, help_text, ("cpu",), rows))
        load = self._source.load_average()
        out.append(
            MetricFamily.single("node_load1", MetricType.GAUGE, "1m load average.", load.load1)
        )
        out.append(
            MetricFamily.single("node_load5", MetricType.GAUGE, "5m load average.", load.load5)
        )
        out.append(
            MetricFamily.single("node_load15", MetricType.GAUGE, "15m load average.", load.load15)
        )
        out.append(self._count)
        return out
