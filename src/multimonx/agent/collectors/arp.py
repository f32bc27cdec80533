"""ARP collector: IPv4 neighbour table entries per device, as node_exporter's arp collector.

``node_arp_entries{device}`` counts the lines of ``/proc/net/arp`` per device, incomplete
entries included, as node_exporter 1.5 does.
"""

from __future__ import annotations

from collections.abc import Sequence

from multimonx.agent.collectors.base import SourceCollector
from multimonx.model import MetricFamily


class ArpCollector(SourceCollector):
    """``node_arp_entries{device}``."""

    name = "arp"

    def collect(self) -> Sequence[MetricFamily]:
        """One read of the ARP table; no families when it is empty or missing."""
        entries = self._source.arp_entries()
        if not entries:
            return []
        return [
            MetricFamily.gauge(
                "node_arp_entries",
                "ARP entries by device",
                ("device",),
                [((device,), float(n)) for device, n in sorted(entries.items())],
            )
        ]
