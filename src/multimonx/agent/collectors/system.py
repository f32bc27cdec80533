"""System collector: identity and process table summary of the host.

node_exporter's names: ``node_boot_time_seconds``, ``node_time_seconds``, ``node_procs_running``,
``node_procs_blocked`` (stat/time collectors), ``node_uname_info``, ``node_os_info`` and
``node_os_version`` (os collector), ``node_processes_pids`` (processes collector, off by
default there). ``multimonx_system_uptime_seconds`` has no node_exporter equivalent (it is
``node_time_seconds - node_boot_time_seconds`` there, which needs two series at query time).
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from multimonx.agent.collectors.base import SourceCollector
from multimonx.model import MetricFamily, MetricType

OS_INFO_FIELDS = (
    "build_id",
    "id",
    "id_like",
    "image_id",
    "image_version",
    "name",
    "pretty_name",
    "variant",
    "variant_id",
    "version",
    "version_codename",
    "version_id",
)
"""The os-release keys node_exporter 1.5 puts on ``node_os_info``, lower-cased."""
_MAJOR_MINOR = re.compile(r"^(\d+)(\.\d+)?")


class SystemCollector(SourceCollector):
    """``node_boot_time_seconds``, ``node_uname_info``, ``node_os_info`` and friends."""

    name = "system"

    def collect(self) -> Sequence[MetricFamily]:
        """Clock, boot time, process counts, uname and os-release."""
        src = self._source
        stat = src.kernel_stat()
        u = src.uname()
        osr = src.os_release()
        out = [
            MetricFamily.single(
                "node_boot_time_seconds",
                MetricType.GAUGE,
                "Node boot time, in unixtime.",
                stat.boot_time,
            ),
            MetricFamily.single(
                "node_time_seconds",
                MetricType.GAUGE,
                "System time in seconds since epoch (1970).",
                src.clock(),
            ),
            MetricFamily.single(
                "node_procs_running",
                MetricType.GAUGE,
                "Number of processes in runnable state.",
                stat.procs_running,
            ),
            MetricFamily.single(
                "node_procs_blocked",
                MetricType.GAUGE,
                "Number of processes blocked waiting for I/O to complete.",
                stat.procs_blocked,
            ),
            MetricFamily.single(
                "node_processes_pids",
                MetricType.GAUGE,
                "Number of PIDs",
                float(src.process_count()),
            ),
            MetricFamily.single(
                "multimonx_system_uptime_seconds",
                MetricType.GAUGE,
                "Seconds since the host booted.",
                src.uptime(),
            ),
            MetricFamily.gauge(
                "node_uname_info",
                "Labeled system information as provided by the uname system call.",
                ("domainname", "machine", "nodename", "release", "sysname", "version"),
                [((u.domainname, u.machine, u.nodename, u.release, u.sysname, u.version), 1.0)],
            ),
            MetricFamily.gauge(
                "node_os_info",
                "A metric with a constant '1' value labeled by " + ", ".join(OS_INFO_FIELDS) + ".",
                OS_INFO_FIELDS,
                [(tuple(osr.get(k.upper(), "") for k in OS_INFO_FIELDS), 1.0)],
            ),
        ]
        match = _MAJOR_MINOR.match(osr.get("VERSION_ID", ""))
        if match:
            out.append(
                MetricFamily.gauge(
                    "node_os_version",
                    "Metric containing the major.minor part of the OS version.",
                    ("id", "id_like", "name"),
                    [
                        (
                            (osr.get("ID", ""), osr.get("ID_LIKE", ""), osr.get("NAME", "")),
                            float(match.group(0)),
                        )
                    ],
                )
            )
        return out
