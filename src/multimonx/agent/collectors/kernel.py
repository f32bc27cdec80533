"""Kernel collector: scheduler counters, file handles, entropy and pressure stall information.

node_exporter's names from its stat, filefd, entropy and pressure collectors. The vmstat
counters are reported by the memory collector.
"""

from __future__ import annotations

from collections.abc import Sequence

from multimonx.agent.collectors.base import SourceCollector
from multimonx.model import MetricFamily, MetricType

# resource -> ((which, metric suffix, help), ...); which is "some" or "full"
_PRESSURE = {
    "cpu": (("some", "waiting", "Total time in seconds that processes have waited for CPU time"),),
    "io": (
        (
            "some",
            "waiting",
            "Total time in seconds that processes have waited due to IO congestion",
        ),
        (
            "full",
            "stalled",
            "Total time in seconds no process could make progress due to IO congestion",
        ),
    ),
    "memory": (
        ("some", "waiting", "Total time in seconds that processes have waited for memory"),
        (
            "full",
            "stalled",
            "Total time in seconds no process could make progress due to memory congestion",
        ),
    ),
}


class KernelCollector(SourceCollector):
    """Context switches, interrupts, forks, file handles, entropy and pressure stalls."""

    name = "kernel"

    def collect(self) -> Sequence[MetricFamily]:
        """One read of ``/proc/stat``, file-nr, the entropy pool and ``/proc/pressure``."""
        stat = self._source.kernel_stat()
        out = [
            MetricFamily.single(
                "node_context_switches_total",
                MetricType.COUNTER,
                "Total number of context switches.",
                stat.context_switches,
            ),
            MetricFamily.single(
                "node_intr_total",
                MetricType.COUNTER,
                "Total number of interrupts serviced.",
                stat.interrupts,
            ),
            MetricFamily.single(
                "node_forks_total", MetricType.COUNTER, "Total number of forks.", stat.forks
            ),
        ]
        fd = self._source.filefd()
        if fd is not None:
            out.append(
                MetricFamily.single(
                    "node_filefd_allocated",
                    MetricType.GAUGE,
                    "File descriptor statistics: allocated.",
                    fd.allocated,
                )
            )
            out.append(
                MetricFamily.single(
                    "node_filefd_maximum",
                    MetricType.GAUGE,
                    "File descriptor statistics: maximum.",
                    fd.maximum,
                )
            )
        entropy = self._source.entropy()
        if entropy is not None:
            out.append(
                MetricFamily.single(
                    "node_entropy_available_bits",
                    MetricType.GAUGE,
                    "Bits of available entropy.",
                    entropy.available_bits,
                )
            )
            out.append(
                MetricFamily.single(
                    "node_entropy_pool_size_bits",
                    MetricType.GAUGE,
                    "Bits of entropy pool.",
                    entropy.pool_size_bits,
                )
            )
        for p in self._source.pressure():
            for which, suffix, help_text in _PRESSURE.get(p.resource, ()):
                value = p.some_seconds if which == "some" else p.full_seconds
                if value is not None:
                    out.append(
                        MetricFamily.single(
                            f"node_pressure_{p.resource}_{suffix}_seconds_total",
                            MetricType.COUNTER,
                            help_text,
                            value,
                        )
                    )
        return out
