"""Disk collector: block device IO counters (node_exporter 1.5's diskstats names).

Reads every counter of ``/proc/diskstats`` once per collection; sectors are 512 bytes and times
are milliseconds in the kernel, bytes and seconds here. Devices fully matching one of
``exclude_devices`` (loop, ram, partitions by default) are skipped. Discard counters need
Linux 4.18 and flush counters 5.5; older kernels simply lack those families' rows.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from multimonx.agent.collectors.base import SourceCollector
from multimonx.agent.source import Source
from multimonx.config import DiskSection
from multimonx.model import MetricFamily, MetricType

# (name, help, type, counter index in /proc/diskstats after the device name, scale)
_FIELDS: tuple[tuple[str, str, MetricType, int, float], ...] = (
    (
        "node_disk_reads_completed_total",
        "The total number of reads completed successfully.",
        MetricType.COUNTER,
        0,
        1.0,
    ),
    (
        "node_disk_reads_merged_total",
        "The total number of reads merged.",
        MetricType.COUNTER,
        1,
        1.0,
    ),
    (
        "node_disk_read_bytes_total",
        "The total number of bytes read successfully.",
        MetricType.COUNTER,
        2,
        512.0,
    ),
    (
        "node_disk_read_time_seconds_total",
        "The total number of seconds spent by all reads.",
        MetricType.COUNTER,
        3,
        0.001,
    ),
    (
        "node_disk_writes_completed_total",
        "The total number of writes completed successfully.",
        MetricType.COUNTER,
        4,
        1.0,
    ),
    ("node_disk_writes_merged_total", "The number of writes merged.", MetricType.COUNTER, 5, 1.0),
    (
        "node_disk_written_bytes_total",
        "The total number of bytes written successfully.",
        MetricType.COUNTER,
        6,
        512.0,
    ),
    (
        "node_disk_write_time_seconds_total",
        "This is the total number of seconds spent by all writes.",
        MetricType.COUNTER,
        7,
        0.001,
    ),
    ("node_disk_io_now", "The number of I/Os currently in progress.", MetricType.GAUGE, 8, 1.0),
    (
        "node_disk_io_time_seconds_total",
        "Total seconds spent doing I/Os.",
        MetricType.COUNTER,
        9,
        0.001,
    ),
    (
        "node_disk_io_time_weighted_seconds_total",
        "The weighted # of seconds spent doing I/Os.",
        MetricType.COUNTER,
        10,
        0.001,
    ),
    (
        "node_disk_discards_completed_total",
        "The total number of discards completed successfully.",
        MetricType.COUNTER,
        11,
        1.0,
    ),
    (
        "node_disk_discards_merged_total",
        "The total number of discards merged.",
        MetricType.COUNTER,
        12,
        1.0,
    ),
    (
        "node_disk_discarded_sectors_total",
        "The total number of sectors discarded successfully.",
        MetricType.COUNTER,
        13,
        1.0,
    ),
    (
        "node_disk_discard_time_seconds_total",
        "This is the total number of seconds spent by all discards.",
        MetricType.COUNTER,
        14,
        0.001,
    ),
    (
        "node_disk_flush_requests_total",
        "The total number of flush requests completed successfully",
        MetricType.COUNTER,
        15,
        1.0,
    ),
    (
        "node_disk_flush_requests_time_seconds_total",
        "This is the total number of seconds spent by all flush requests.",
        MetricType.COUNTER,
        16,
        0.001,
    ),
)


class DiskCollector(SourceCollector):
    """``node_disk_*`` from a ``Source``."""

    name = "disk"

    def __init__(self, section: DiskSection, source: Source, default_interval: float) -> None:
        super().__init__(section, source, default_interval)
        self._exclude = tuple(re.compile(p) for p in section.exclude_devices)

    def collect(self) -> Sequence[MetricFamily]:
        """One read of the diskstats table."""
        disks = [
            d
            for d in self._source.diskstats()
            if not any(p.fullmatch(d.device) for p in self._exclude)
        ]
        out = []
        for name, help_text, kind, index, scale in _FIELDS:
            rows = [
                ((d.device,), d.counters[index] * scale) for d in disks if len(d.counters) > index
            ]
            if rows:
                out.append(MetricFamily(name, kind, help_text, ("device",), tuple(rows)))
        out.append(
            MetricFamily.gauge(
                "node_disk_info",
                "Info of /sys/block/<block_device>.",
                ("device", "major", "minor"),
                [((d.device, str(d.major), str(d.minor)), 1.0) for d in disks],
            )
        )
        return out
