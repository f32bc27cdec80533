"""Network collector: per-interface counters (netdev) and link state (netclass).

Names follow node_exporter's netdev and netclass collectors: ``node_network_receive_bytes_total``
and friends from ``/proc/net/dev`` (plus ``receive_nohandler`` from sysfs), and the netclass
gauges ``node_network_up``, ``_mtu_bytes``, ``_speed_bytes``, ``_carrier``, ``_info`` ... from
``/sys/class/net``. ``interfaces`` (exact names) limits both to those interfaces when
non-empty; ``exclude_interfaces`` are fully anchored regexes. As in node_exporter, an attribute
the kernel refuses to read (``speed`` of a virtual device) produces no sample for it.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from multimonx.agent.collectors.base import SourceCollector
from multimonx.agent.source import Source
from multimonx.config import NetworkSection
from multimonx.model import MetricFamily, MetricType

_NETDEV = (
    (
        "receive",
        (
            "bytes",
            "compressed",
            "drop",
            "errs",
            "fifo",
            "frame",
            "multicast",
            "nohandler",
            "packets",
        ),
    ),
    ("transmit", ("bytes", "carrier", "colls", "compressed", "drop", "errs", "fifo", "packets")),
)
# (metric suffix, sysfs attribute, type, scale)
_NETCLASS: tuple[tuple[str, str, MetricType, float], ...] = (
    ("address_assign_type", "addr_assign_type", MetricType.GAUGE, 1.0),
    ("carrier", "carrier", MetricType.GAUGE, 1.0),
    ("carrier_changes_total", "carrier_changes", MetricType.COUNTER, 1.0),
    ("carrier_up_changes_total", "carrier_up_count", MetricType.COUNTER, 1.0),
    ("carrier_down_changes_total", "carrier_down_count", MetricType.COUNTER, 1.0),
    ("device_id", "dev_id", MetricType.GAUGE, 1.0),
    ("dormant", "dormant", MetricType.GAUGE, 1.0),
    ("flags", "flags", MetricType.GAUGE, 1.0),
    ("iface_id", "ifindex", MetricType.GAUGE, 1.0),
    ("iface_link", "iflink", MetricType.GAUGE, 1.0),
    ("iface_link_mode", "link_mode", MetricType.GAUGE, 1.0),
    ("mtu_bytes", "mtu", MetricType.GAUGE, 1.0),
    ("name_assign_type", "name_assign_type", MetricType.GAUGE, 1.0),
    ("net_dev_group", "netdev_group", MetricType.GAUGE, 1.0),
    ("protocol_type", "type", MetricType.GAUGE, 1.0),
    ("speed_bytes", "speed", MetricType.GAUGE, 125000.0),
    ("transmit_queue_length", "tx_queue_len", MetricType.GAUGE, 1.0),
)
_INFO_LABELS = ("address", "broadcast", "device", "duplex", "ifalias", "operstate")


class NetworkCollector(SourceCollector):
    """``node_network_*`` from a ``Source``."""

    name = "network"

    def __init__(self, section: NetworkSection, source: Source, default_interval: float) -> None:
        super().__init__(section, source, default_interval)
        self._include = frozenset(section.interfaces)
        self._exclude = tuple(re.compile(p) for p in section.exclude_interfaces)

    def _wanted(self, device: str) -> bool:
        if self._include and device not in self._include:
            return False
        return not any(p.fullmatch(device) for p in self._exclude)

    def collect(self) -> Sequence[MetricFamily]:
        """One read of ``/proc/net/dev`` and ``/sys/class/net``."""
        devs = [d for d in self._source.netdev() if self._wanted(d.device)]
        out: list[MetricFamily] = []
        for direction, fields in _NETDEV:
            for field in fields:
                rows = [
                    ((d.device,), float(counters[field]))
                    for d in devs
                    if field in (counters := getattr(d, direction))
                ]
                if rows:
                    out.append(
                        MetricFamily.counter(
                            f"node_network_{direction}_{field}_total",
                            f"Network device statistic {direction}_{field}.",
                            ("device",),
                            rows,
                        )
                    )
        classes = [c for c in self._source.net_class() if self._wanted(c.device)]
        if not classes:
            return out
        for suffix, attr, kind, scale in _NETCLASS:
            rows = [
                ((c.device,), c.attributes[attr] * scale) for c in classes if attr in c.attributes
            ]
            if rows:
                out.append(
                    MetricFamily(
                        f"node_network_{suffix}",
                        kind,
                        f"Network device property: {suffix}",
                        ("device",),
                        tuple(rows),
                    )
                )
        out.append(
            MetricFamily.gauge(
                "node_network_up",
                "Value is 1 if operstate is 'up', 0 otherwise.",
                ("device",),
                [((c.device,), 1.0 if c.operstate == "up" else 0.0) for c in classes],
            )
        )
        out.append(
            MetricFamily.gauge(
                "node_network_info",
                "Non-numeric data from /sys/class/net/<iface>, value is always 1.",
                _INFO_LABELS,
                [
                    ((c.address, c.broadcast, c.device, c.duplex, c.ifalias, c.operstate), 1.0)
                    for c in classes
                ],
            )
        )
        return out
