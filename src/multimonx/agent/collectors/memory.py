"""Memory collector: every ``/proc/meminfo`` field and node_exporter's default vmstat fields.

``node_memory_<Field>_bytes`` for fields in kB (multiplied by 1024) and ``node_memory_<Field>``
for unitless ones such as ``HugePages_Total``, exactly like node_exporter's meminfo collector.
The vmstat counters (``node_vmstat_pgpgin``, ``pswpin`` ... swap in/out comes from these) live
here rather than in the kernel collector because dashboards read them next to memory.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from multimonx.agent.collectors.base import SourceCollector
from multimonx.model import MetricFamily, MetricType

VMSTAT_FIELDS = re.compile(r"^(oom_kill|pgpg|pswp|pg.*fault).*")
"""node_exporter 1.5's default ``--collector.vmstat.fields``."""


class MemoryCollector(SourceCollector):
    """``node_memory_*`` and ``node_vmstat_*`` from a ``Source``."""

    name = "memory"

    def collect(self) -> Sequence[MetricFamily]:
        """One read of meminfo and vmstat."""
        out: list[MetricFamily] = []
        seen: set[str] = set()
        for field in self._source.meminfo():
            key = f"{field.name}_bytes" if field.kilobytes else field.name
            if key in seen:
                continue
            seen.add(key)
            value = field.value * 1024.0 if field.kilobytes else field.value
            out.append(
                MetricFamily.single(
                    f"node_memory_{key}",
                    MetricType.GAUGE,
                    f"Memory information field {key}.",
                    value,
                )
            )
        for key, value in self._source.vmstat().items():
            if VMSTAT_FIELDS.match(key):
                out.append(
                    MetricFamily.single(
                        f"node_vmstat_{key}",
                        MetricType.UNTYPED,
                        f"/proc/vmstat information field {key}.",
                        value,
                    )
                )
        return out
