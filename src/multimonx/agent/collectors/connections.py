"""Connections collector: netstat counters, socket usage and TCP connection states.

``node_netstat_*`` follow node_exporter's netstat collector with its default field regex
(untyped, ``Proto_Field``), ``node_sockstat_*`` its sockstat collector (``mem`` pages also as
``mem_bytes``; UDP socket counts are ``node_sockstat_UDP_inuse`` / ``UDP6_inuse``), and
``node_tcp_connection_states{state}`` its tcpstat collector (off by default in node_exporter):
one row per state that has sockets, plus the summed ``rx_queued_bytes``/``tx_queued_bytes``.
States are counted through netlink sock_diag like node_exporter (falling back to
``/proc/net/tcp{,6}`` where netlink is refused; then listeners' ``tx_queued_bytes`` read 0
instead of their backlog), never from psutil's per-connection table.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from multimonx.agent.collectors.base import SourceCollector
from multimonx.model import MetricFamily, MetricType

NETSTAT_FIELDS = re.compile(
    r"^(.*_(InErrors|InErrs)|Ip_Forwarding|Ip(6|Ext)_(InOctets|OutOctets)|Icmp6?_(InMsgs|OutMsgs)"
    r"|TcpExt_(Listen.*|Syncookies.*|TCPSynRetrans|TCPTimeouts)"
    r"|Tcp_(ActiveOpens|InSegs|OutSegs|OutRsts|PassiveOpens|RetransSegs|CurrEstab)"
    r"|Udp6?_(InDatagrams|OutDatagrams|NoPorts|RcvbufErrors|SndbufErrors))$"
)
"""node_exporter 1.5's default ``--collector.netstat.fields``."""


class ConnectionsCollector(SourceCollector):
    """``node_netstat_*``, ``node_sockstat_*`` and ``node_tcp_connection_states``."""

    name = "connections"

    def collect(self) -> Sequence[MetricFamily]:
        """One read of the protocol counters, sockstat and the TCP tables."""
        out: list[MetricFamily] = []
        for key, value in self._source.netstat().items():
            if NETSTAT_FIELDS.match(key):
                out.append(
                    MetricFamily.single(
                        f"node_netstat_{key}",
                        MetricType.UNTYPED,
                        f"Statistic {key.replace('_', '', 1)}.",
                        value,
                    )
                )
        sock = self._source.sockstat()
        if sock.sockets_used is not None:
            out.append(
                MetricFamily.single(
                    "node_sockstat_sockets_used",
                    MetricType.GAUGE,
                    "Number of IPv4 sockets in use.",
                    float(sock.sockets_used),
                )
            )
        for proto, fields in sock.protocols.items():
            for field, value in fields.items():
                out.append(_sockstat(proto, field, float(value)))
                if field == "mem":
                    out.append(_sockstat(proto, "mem_bytes", float(value * sock.page_size)))
        tcp = self._source.tcp_connections()
        rows = [((state,), float(count)) for state, count in sorted(tcp.states.items())]
        rows += [
            (("rx_queued_bytes",), float(tcp.rx_queued_bytes)),
            (("tx_queued_bytes",), float(tcp.tx_queued_bytes)),
        ]
        out.append(
            MetricFamily.gauge(
                "node_tcp_connection_states", "Number of connection states.", ("state",), rows
            )
        )
        return out


def _sockstat(proto: str, field: str, value: float) -> MetricFamily:
    return MetricFamily.single(
        f"node_sockstat_{proto}_{field}",
        MetricType.GAUGE,
        f"Number of {proto} sockets in state {field}.",
        value,
    )
