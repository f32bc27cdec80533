"""The agent process's own metrics, under the names every Prometheus client library uses
(``process_cpu_seconds_total``, ``process_resident_memory_bytes``, ``process_open_fds``, ...),
so the "process" panels of node_exporter dashboards show the agent."""

from __future__ import annotations

import os
import resource
import time

from multimonx.model import MetricFamily, MetricType

_UNLIMITED = float(2**64 - 1)  # what client_golang reports for an unlimited rlimit


def _limit(kind: int) -> float:
    soft, _ = resource.getrlimit(kind)
    return _UNLIMITED if soft == resource.RLIM_INFINITY else float(soft)


class ProcessMetrics:
    """Reads the current process's CPU, memory and file descriptors when asked."""

    def __init__(self) -> None:
        self._start_time = time.time()
        self._page_size = os.sysconf("SC_PAGE_SIZE") if hasattr(os, "sysconf") else 4096

    def families(self) -> list[MetricFamily]:
        """The process families; memory and descriptors only where ``/proc/self`` exists."""
        usage = resource.getrusage(resource.RUSAGE_SELF)
        out = [
            MetricFamily.single(
                "process_cpu_seconds_total",
                MetricType.COUNTER,
                "Total user and system CPU time spent in seconds.",
                usage.ru_utime + usage.ru_stime,
            ),
            MetricFamily.single(
                "process_start_time_seconds",
                MetricType.GAUGE,
                "Start time of the process since unix epoch in seconds.",
                self._start_time,
            ),
            MetricFamily.single(
                "process_max_fds",
                MetricType.GAUGE,
                "Maximum number of open file descriptors.",
                _limit(resource.RLIMIT_NOFILE),
            ),
            MetricFamily.single(
                "process_virtual_memory_max_bytes",
                MetricType.GAUGE,
                "Maximum amount of virtual memory available in bytes.",
                _limit(resource.RLIMIT_AS),
            ),
        ]
        try:
            with open("/proc/self/statm", encoding="ascii") as statm:
                virtual_pages, resident_pages = (int(x) for x in statm.read().split()[:2])
            open_fds = len(os.listdir("/proc/self/fd"))
        except OSError:
            return out
        out += [
            MetricFamily.single(
                "process_resident_memory_bytes",
                MetricType.GAUGE,
                "Resident memory size in bytes.",
                resident_pages * self._page_size,
            ),
            MetricFamily.single(
                "process_virtual_memory_bytes",
                MetricType.GAUGE,
                "Virtual memory size in bytes.",
                virtual_pages * self._page_size,
            ),
            MetricFamily.single(
                "process_open_fds", MetricType.GAUGE, "Number of open file descriptors.", open_fds
            ),
        ]
        return out
