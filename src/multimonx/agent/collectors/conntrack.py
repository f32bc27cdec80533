"""Conntrack collector: netfilter connection tracking, as node_exporter's conntrack collector.

``node_nf_conntrack_entries`` and ``_entries_limit`` from ``/proc/sys/net/netfilter``, and the
``node_nf_conntrack_stat_*`` gauges (node_exporter types them so) from
``/proc/net/stat/nf_conntrack`` summed over CPUs. Without the conntrack module loaded there is
nothing to report, which is not an error.
"""

from __future__ import annotations

from collections.abc import Sequence

from multimonx.agent.collectors.base import SourceCollector
from multimonx.model import MetricFamily, MetricType

STAT_HELP = {
    "found": "Number of searched entries which were successful.",
    "invalid": "Number of packets seen which can not be tracked.",
    "ignore": "Number of packets seen which are already connected to a conntrack entry.",
    "insert": "Number of entries inserted into the list.",
    "insert_failed": "Number of entries for which list insertion was attempted but failed.",
    "drop": "Number of packets dropped due to conntrack failure.",
    "early_drop": (
        "Number of dropped conntrack entries to make room for new ones, "
        "if maximum table size was reached."
    ),
    "search_restart": (
        "Number of conntrack table lookups which had to be restarted due to hashtable resizes."
    ),
}
"""node_exporter 1.5's help of each ``node_nf_conntrack_stat_<name>``."""


class ConntrackCollector(SourceCollector):
    """``node_nf_conntrack_*``."""

    name = "conntrack"

    def collect(self) -> Sequence[MetricFamily]:
        """One read of the conntrack counters; no families when conntrack is not loaded."""
        conntrack = self._source.conntrack()
        if conntrack is None:
            return []
        out = [
            MetricFamily.single(
                "node_nf_conntrack_entries",
                MetricType.GAUGE,
                "Number of currently allocated flow entries for connection tracking.",
                conntrack.entries,
            ),
            MetricFamily.single(
                "node_nf_conntrack_entries_limit",
                MetricType.GAUGE,
                "Maximum size of connection tracking table.",
                conntrack.limit,
            ),
        ]
        for name, help_text in STAT_HELP.items():
            value = conntrack.stats.get(name)
            if value is not None:
                out.append(
                    MetricFamily.single(
                        f"node_nf_conntrack_stat_{name}", MetricType.GAUGE, help_text, value
                    )
                )
        return out
