"""UDP queues collector: bytes waiting in UDP sockets, as node_exporter's udp_queues collector.

``node_udp_queues{ip="v4"|"v6",queue="rx"|"tx"}``: the ``tx_queue`` and ``rx_queue`` columns of
``/proc/net/udp`` and ``udp6`` summed (all sockets, any state).
"""

from __future__ import annotations

from collections.abc import Sequence

from multimonx.agent.collectors.base import SourceCollector
from multimonx.model import MetricFamily


class UdpQueuesCollector(SourceCollector):
    """``node_udp_queues{ip,queue}``."""

    name = "udp_queues"

    def collect(self) -> Sequence[MetricFamily]:
        """One read of each UDP table; no families without them."""
        queues = self._source.udp_queues()
        if not queues:
            return []
        rows: list[tuple[tuple[str, ...], float]] = []
        for q in queues:
            rows.append(((q.ip, "rx"), q.rx_bytes))
            rows.append(((q.ip, "tx"), q.tx_bytes))
        return [
            MetricFamily.gauge(
                "node_udp_queues",
                "Number of allocated memory in the kernel for UDP datagrams in bytes.",
                ("ip", "queue"),
                rows,
            )
        ]
