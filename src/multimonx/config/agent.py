"""Typed configuration of the agent (``multimonx agent --config FILE``).

The top-level sections follow the original specification (``collector``, ``metrics``) and add
``spool`` (the on-disk push buffer) and ``web`` (the ``/metrics`` endpoint). Defaults are the
embedded ones ``multimonx up`` runs with.
"""

from __future__ import annotations

import socket
from dataclasses import dataclass, field

from multimonx.config.loader import ByteSize, Duration, parse_listen_address

DEFAULT_AGENT_PORT = 9471
DEFAULT_SERVER_PORT = 9470


def _hostname() -> str:
    return socket.gethostname()


@dataclass(frozen=True, slots=True)
class CollectorSection:
    """How often to collect, where to push, and how this host is labelled."""

    interval: Duration = 5.0
    server_url: str | None = None
    api_key: str | None = None
    instance: str = field(default_factory=_hostname)
    job: str = "node"
    labels: dict[str, str] = field(default_factory=dict)
    timeout: Duration = 10.0

    def __post_init__(self) -> None:
        if self.interval < 0.1:
            raise ValueError("collector.interval must be at least 100ms")
        if not self.instance:
            raise ValueError("collector.instance must not be empty")
        if self.server_url is not None and not self.server_url.startswith(("http://", "https://")):
            raise ValueError(
                f"collector.server_url must start with http:// or https://, got {self.server_url!r}"
            )


@dataclass(frozen=True, slots=True)
class SpoolSection:
    """The on-disk buffer that holds collection rounds until the server has stored them."""

    directory: str | None = None
    max_bytes: ByteSize = 256 * 2**20
    max_rounds_per_push: int = 120
    backoff_initial: Duration = 1.0
    backoff_max: Duration = 60.0

    def __post_init__(self) -> None:
        if self.max_bytes < 64 * 1024:
            raise ValueError("spool.max_bytes must be at least 64KiB")
        if self.max_rounds_per_push < 1:
            raise ValueError("spool.max_rounds_per_push must be at least 1")
        if self.backoff_initial <= 0 or self.backoff_max < self.backoff_initial:
            raise ValueError("spool.backoff_initial must be > 0 and <= spool.backoff_max")


@dataclass(frozen=True, slots=True)
class BasicAuth:
    """A username and password for HTTP basic authentication."""

    username: str
    password: str


@dataclass(frozen=True, slots=True)
class WebSection:
    """The agent's ``/metrics`` endpoint for Prometheus-style pull."""

    enabled: bool = True
    listen_address: str = f"127.0.0.1:{DEFAULT_AGENT_PORT}"
    bearer_token: str | None = None
    basic_auth: BasicAuth | None = None
    allow: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        try:
            parse_listen_address(self.listen_address)
        except ValueError as err:
            raise ValueError(f"web.listen_address: {err}") from None


@dataclass(frozen=True, slots=True)
class CpuSection:
    """CPU seconds per core and mode, frequency, load averages."""

    enabled: bool = True
    per_cpu: bool = True
    interval: Duration | None = None


@dataclass(frozen=True, slots=True)
class SimpleSection:
    """A collector with no options beyond on/off and an interval override."""

    enabled: bool = True
    interval: Duration | None = None


@dataclass(frozen=True, slots=True)
class FilesystemSection:
    """Filesystem size and free space per mount (node_exporter's defaults for exclusions)."""

    enabled: bool = True
    interval: Duration | None = 30.0
    mount_timeout: Duration = 5.0
    exclude_fstypes: str = (
        "^(autofs|binfmt_misc|bpf|cgroup2?|configfs|debugfs|devpts|devtmpfs|fusectl|hugetlbfs"
        "|iso9660|mqueue|nsfs|overlay|proc|procfs|pstore|rpc_pipefs|securityfs|selinuxfs"
        "|squashfs|sysfs|tracefs)$"
    )
    exclude_mountpoints: str = (
        "^/(dev|proc|run/credentials/.+|sys|var/lib/docker/.+|var/lib/containers/storage/.+)($|/)"
    )


@dataclass(frozen=True, slots=True)
class DiskSection:
    """Block device IO counters. ``exclude_devices`` are fully anchored regexes; as in the
    original specification they also exclude filesystems whose device or type matches."""

    enabled: bool = True
    interval: Duration | None = None
    exclude_devices: tuple[str, ...] = (
        r"(ram|loop|fd|zram)\d+",
        r"(h|s|v|xv)d[a-z]+\d+",
        r"nvme\d+n\d+p\d+",
        r"mmcblk\d+p\d+",
    )


@dataclass(frozen=True, slots=True)
class NetworkSection:
    """Per-interface network counters; empty ``interfaces`` means every interface."""

    enabled: bool = True
    interval: Duration | None = None
    interfaces: tuple[str, ...] = ()
    exclude_interfaces: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class ProcessesSection:
    """Top-N processes by CPU and by memory, sampled rarely because it is expensive."""

    enabled: bool = False
    interval: Duration | None = 60.0
    top: int = 10


@dataclass(frozen=True, slots=True)
class SmartSection:
    """SMART health through ``smartctl --json`` (smartctl_exporter names)."""

    enabled: bool = False
    interval: Duration | None = 300.0
    smartctl_path: str = "smartctl"
    devices: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class MetricsSection:
    """Which collectors run; each has ``enabled`` and an optional ``interval`` override."""

    cpu: CpuSection = field(default_factory=CpuSection)
    memory: SimpleSection = field(default_factory=SimpleSection)
    filesystem: FilesystemSection = field(default_factory=FilesystemSection)
    disk: DiskSection = field(default_factory=DiskSection)
    network: NetworkSection = field(default_factory=NetworkSection)
    connections: SimpleSection = field(default_factory=lambda: SimpleSection(interval=15.0))
    system: SimpleSection = field(default_factory=SimpleSection)
    kernel: SimpleSection = field(default_factory=SimpleSection)
    timex: SimpleSection = field(default_factory=SimpleSection)
    softnet: SimpleSection = field(default_factory=SimpleSection)
    conntrack: SimpleSection = field(default_factory=SimpleSection)
    udp_queues: SimpleSection = field(default_factory=SimpleSection)
    arp: SimpleSection = field(default_factory=SimpleSection)
    hwmon: SimpleSection = field(default_factory=lambda: SimpleSection(enabled=False))
    processes: ProcessesSection = field(default_factory=ProcessesSection)
    gpu: SimpleSection = field(default_factory=lambda: SimpleSection(enabled=False))
    smart: SmartSection = field(default_factory=SmartSection)


@dataclass(frozen=True, slots=True)
class AgentConfig:
    """The whole agent configuration."""

    collector: CollectorSection = field(default_factory=CollectorSection)
    spool: SpoolSection = field(default_factory=SpoolSection)
    web: WebSection = field(default_factory=WebSection)
    metrics: MetricsSection = field(default_factory=MetricsSection)
