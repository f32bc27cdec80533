"""One collector per subsystem, each reading the machine only through a ``Source``.

``build_collectors`` turns the ``metrics`` section of the agent configuration into the list of
enabled collectors. An enabled optional collector whose hardware or tool is missing raises
``CollectorUnavailable`` from its constructor; ``build_collectors`` wraps it in an
``UnavailableCollector`` so the gatherer logs it once and carries on.

The modules of the optional collectors (``hwmon``, ``processes``, ``gpu``, ``smart``: off by
default) are imported only when one is enabled, or when one of their names is first taken
from this package, so that the default agent does not load their machinery (``subprocess``
for smartctl, NVML for GPUs) into its small memory budget.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

from multimonx.agent.collectors.arp import ArpCollector
from multimonx.agent.collectors.base import Collector, CollectorError, CollectorUnavailable
from multimonx.agent.collectors.connections import ConnectionsCollector
from multimonx.agent.collectors.conntrack import ConntrackCollector
from multimonx.agent.collectors.cpu import CpuCollector
from multimonx.agent.collectors.disk import DiskCollector
from multimonx.agent.collectors.filesystem import FilesystemCollector
from multimonx.agent.collectors.kernel import KernelCollector
from multimonx.agent.collectors.memory import MemoryCollector
from multimonx.agent.collectors.network import NetworkCollector
from multimonx.agent.collectors.softnet import SoftnetCollector
from multimonx.agent.collectors.system import SystemCollector
from multimonx.agent.collectors.timex import TimexCollector
from multimonx.agent.collectors.udp_queues import UdpQueuesCollector
from multimonx.agent.source import Source
from multimonx.config import MetricsSection
from multimonx.model import MetricFamily

if TYPE_CHECKING:  # imported on first use by ``__getattr__`` below
    from multimonx.agent.collectors.gpu import GpuCollector
    from multimonx.agent.collectors.hwmon import HwmonCollector
    from multimonx.agent.collectors.processes import ProcessesCollector
    from multimonx.agent.collectors.smart import SmartCollector, parse_smartctl

COLLECTOR_NAMES = (
    "cpu",
    "memory",
    "filesystem",
    "disk",
    "network",
    "connections",
    "system",
    "kernel",
    "timex",
    "softnet",
    "conntrack",
    "udp_queues",
    "arp",
    "hwmon",
    "processes",
    "gpu",
    "smart",
)
"""Every collector, in the order of ``MetricsSection``; all but the last four (``hwmon``,
``processes``, ``gpu``, ``smart``) are on by default."""


def _factories(
    metrics: MetricsSection, source: Source, base: float
) -> dict[str, Callable[[], Collector]]:
    def hwmon() -> Collector:
        from multimonx.agent.collectors.hwmon import HwmonCollector

        return HwmonCollector(metrics.hwmon, source, base)

    def processes() -> Collector:
        from multimonx.agent.collectors.processes import ProcessesCollector

        return ProcessesCollector(metrics.processes, source, base)

    def gpu() -> Collector:
        from multimonx.agent.collectors.gpu import GpuCollector

        return GpuCollector(metrics.gpu, source, base)

    def smart() -> Collector:
        from multimonx.agent.collectors.smart import SmartCollector

        return SmartCollector(metrics.smart, source, base)

    return {
        "cpu": lambda: CpuCollector(metrics.cpu, source, base),
        "memory": lambda: MemoryCollector(metrics.memory, source, base),
        "filesystem": lambda: FilesystemCollector(
            metrics.filesystem, source, base, exclude_devices=metrics.disk.exclude_devices
        ),
        "disk": lambda: DiskCollector(metrics.disk, source, base),
        "network": lambda: NetworkCollector(metrics.network, source, base),
        "connections": lambda: ConnectionsCollector(metrics.connections, source, base),
        "system": lambda: SystemCollector(metrics.system, source, base),
        "kernel": lambda: KernelCollector(metrics.kernel, source, base),
        "timex": lambda: TimexCollector(metrics.timex, source, base),
        "softnet": lambda: SoftnetCollector(metrics.softnet, source, base),
        "conntrack": lambda: ConntrackCollector(metrics.conntrack, source, base),
        "udp_queues": lambda: UdpQueuesCollector(metrics.udp_queues, source, base),
        "arp": lambda: ArpCollector(metrics.arp, source, base),
        "hwmon": hwmon,
        "processes": processes,
        "gpu": gpu,
        "smart": smart,
    }


class UnavailableCollector:
    """Stands in for a collector whose constructor raised ``CollectorUnavailable``.

    Its first ``collect`` re-raises that error, so the gatherer logs the message once and
    stops scheduling it, exactly as for a collector that finds out late.
    """

    def __init__(self, name: str, error: CollectorUnavailable) -> None:
        self.name = name
        self.error = error

    @property
    def interval(self) -> float:
        """Due at once, so the error is reported in the first round."""
        return 0.1

    def collect(self) -> Sequence[MetricFamily]:
        """Raise the constructor's error."""
        raise self.error


def build_collectors(
    metrics: MetricsSection, source: Source, base_interval: float
) -> list[Collector]:
    """The enabled collectors in ``COLLECTOR_NAMES`` order, never raising for missing hardware.

    An enabled collector that is unavailable here (no sensors, no GPU, no smartctl) becomes an
    ``UnavailableCollector`` carrying the reason.
    """
    collectors: list[Collector] = []
    factories = _factories(metrics, source, base_interval)
    for name in COLLECTOR_NAMES:
        if not getattr(metrics, name).enabled:
            continue
        try:
            collectors.append(factories[name]())
        except CollectorUnavailable as err:
            collectors.append(UnavailableCollector(name, err))
    return collectors


def __getattr__(name: str) -> object:
    """The optional collectors' public names, importing their module on first use (PEP 562)."""
    if name == "HwmonCollector":
        from multimonx.agent.collectors.hwmon import HwmonCollector

        return HwmonCollector
    if name == "ProcessesCollector":
        from multimonx.agent.collectors.processes import ProcessesCollector

        return ProcessesCollector
    if name == "GpuCollector":
        from multimonx.agent.collectors.gpu import GpuCollector

        return GpuCollector
    if name in ("SmartCollector", "parse_smartctl"):
        from multimonx.agent.collectors import smart

        return getattr(smart, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = [
    "COLLECTOR_NAMES",
    "ArpCollector",
    "Collector",
    "CollectorError",
    "CollectorUnavailable",
    "ConnectionsCollector",
    "ConntrackCollector",
    "CpuCollector",
    "DiskCollector",
    "FilesystemCollector",
    "GpuCollector",
    "HwmonCollector",
    "KernelCollector",
    "MemoryCollector",
    "NetworkCollector",
    "ProcessesCollector",
    "SmartCollector",
    "SoftnetCollector",
    "SystemCollector",
    "TimexCollector",
    "UdpQueuesCollector",
    "UnavailableCollector",
    "build_collectors",
    "parse_smartctl",
]
