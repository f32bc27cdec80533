"""Softnet collector: per-CPU packet processing counters from ``/proc/net/softnet_stat``.

node_exporter 1.5's softnet collector: ``node_softnet_{processed,dropped,times_squeezed}_total``
labelled ``cpu`` with the line number of the file (one line per online CPU).
"""

from __future__ import annotations

from collections.abc import Sequence

from multimonx.agent.collectors.base import SourceCollector
from multimonx.model import MetricFamily


class SoftnetCollector(SourceCollector):
    """``node_softnet_*_total{cpu}``."""

    name = "softnet"

    def collect(self) -> Sequence[MetricFamily]:
        """One read of ``softnet_stat``; no families without it."""
        stats = self._source.softnet()
        if not stats:
            return []
        return [
            MetricFamily.counter(
                "node_softnet_processed_total",
                "Number of processed packets",
                ("cpu",),
                [((s.cpu,), s.processed) for s in stats],
            ),
            MetricFamily.counter(
                "node_softnet_dropped_total",
                "Number of dropped packets",
                ("cpu",),
                [((s.cpu,), s.dropped) for s in stats],
            ),
            MetricFamily.counter(
                "node_softnet_times_squeezed_total",
                "Number of times processing packets ran out of quota",
                ("cpu",),
                [((s.cpu,), s.times_squeezed) for s in stats],
            ),
        ]
