"""Top processes collector: the N busiest processes by CPU and by resident memory.

No established exporter owns this shape (process-exporter groups by name), so the names carry
the ``multimonx_`` prefix: ``multimonx_process_top_cpu_ratio{rank,pid,name}`` is the share of
one core the process used since the previous sample (1.0 = one core fully busy), and
``multimonx_process_top_memory_bytes{rank,pid,name}`` its resident set size. ``rank`` (1 is the
top) keeps a "top N" panel's series stable as processes come and go. Walking the process table
costs ~10 ms, so this runs every 60 s by default, never each round; the first collection has
no previous sample and reports memory only.
"""

from __future__ import annotations

from collections.abc import Sequence

from multimonx.agent.collectors.base import SourceCollector
from multimonx.agent.source import Source
from multimonx.config import ProcessesSection
from multimonx.model import MetricFamily

_LABELS = ("rank", "pid", "name")


class ProcessesCollector(SourceCollector):
    """Top-N processes by CPU share and by memory, from two successive samples."""

    name = "processes"

    def __init__(self, section: ProcessesSection, source: Source, default_interval: float) -> None:
        super().__init__(section, source, default_interval)
        self._top = max(1, section.top)
        self._previous: dict[tuple[int, str], float] = {}
        self._previous_time: float | None = None

    def collect(self) -> Sequence[MetricFamily]:
        """Sample the process table and rank it against the previous sample."""
        now = self._source.clock()
        procs = self._source.processes()
        out = []
        by_mem = sorted(procs, key=lambda p: (-p.rss_bytes, p.pid))[: self._top]
        out.append(
            MetricFamily.gauge(
                "multimonx_process_top_memory_bytes",
                "Resident memory of the top processes by memory.",
                _LABELS,
                [((str(i), str(p.pid), p.name), p.rss_bytes) for i, p in enumerate(by_mem, 1)],
            )
        )
        if self._previous_time is not None and now > self._previous_time:
            elapsed = now - self._previous_time
            shares = []
            for p in procs:
                before = self._previous.get((p.pid, p.name))
                if before is not None:
                    shares.append((max(0.0, p.cpu_seconds - before) / elapsed, p))
            shares.sort(key=lambda s: (-s[0], s[1].pid))
            out.append(
                MetricFamily.gauge(
                    "multimonx_process_top_cpu_ratio",
                    "CPU used by the top processes since the previous sample, in cores.",
                    _LABELS,
                    [
                        ((str(i), str(p.pid), p.name), share)
                        for i, (share, p) in enumerate(shares[: self._top], 1)
                    ],
                )
            )
        self._previous = {(p.pid, p.name): p.cpu_seconds for p in procs}
        self._previous_time = now
        return out
