"""The source seam's contract: the ``Source`` protocol (at the end) and the values it returns,
frozen, slotted, free of psutil and of any OS detail.

Each class is one reading of the machine (a ``/proc`` file, a sysfs directory, a system call)
in the units the collectors export, so that ``SystemSource`` and ``RecordedSource`` return the
same types and the collectors' golden tests can replay a recording without the machine.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Protocol


@dataclass(frozen=True, slots=True)
class CpuTimes:
    """Seconds one core spent in each mode since boot (``/proc/stat`` divided by USER_HZ)."""

    cpu: str
    user: float
    nice: float
    system: float
    idle: float
    iowait: float
    irq: float
    softirq: float
    steal: float
    guest: float
    guest_nice: float


@dataclass(frozen=True, slots=True)
class CpuFrequency:
    """One core's cpufreq scaling frequencies in hertz (None where the kernel hides them)."""

    cpu: str
    current_hz: float | None
    min_hz: float | None
    max_hz: float | None


@dataclass(frozen=True, slots=True)
class CpuCount:
    """Logical and physical core counts (physical is None when the OS does not say)."""

    logical: int
    physical: int | None


@dataclass(frozen=True, slots=True)
class LoadAverage:
    """The 1, 5 and 15 minute load averages."""

    load1: float
    load5: float
    load15: float


@dataclass(frozen=True, slots=True)
class MeminfoField:
    """One ``/proc/meminfo`` line; ``kilobytes`` says the value carried the ``kB`` unit."""

    name: str
    value: float
    kilobytes: bool


@dataclass(frozen=True, slots=True)
class Mount:
    """One mounted filesystem as the mount table lists it."""

    device: str
    mountpoint: str
    fstype: str
    options: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class FsUsage:
    """``statfs`` of one mount: sizes in bytes, inode counts."""

    size_bytes: float
    free_bytes: float
    avail_bytes: float
    files: float
    files_free: float


@dataclass(frozen=True, slots=True)
class DiskStats:
    """One ``/proc/diskstats`` line: every counter after the device name, in kernel order."""

    major: int
    minor: int
    device: str
    counters: tuple[int, ...]


@dataclass(frozen=True, slots=True)
class NetDevStats:
    """One interface's ``/proc/net/dev`` counters keyed by column name (``bytes``, ``drop``...).

    ``receive`` may also hold ``nohandler`` (from sysfs) on Linux.
    """

    device: str
    receive: Mapping[str, int]
    transmit: Mapping[str, int]


@dataclass(frozen=True, slots=True)
class NetClass:
    """``/sys/class/net/<device>``: text attributes and the numeric ones that could be read."""

    device: str
    operstate: str
    address: str
    broadcast: str
    duplex: str
    ifalias: str
    attributes: Mapping[str, int]


@dataclass(frozen=True, slots=True)
class SocketStats:
    """``/proc/net/sockstat`` and ``sockstat6``: sockets in use, per-protocol fields, page size."""

    sockets_used: int | None
    protocols: Mapping[str, Mapping[str, int]]
    page_size: int


@dataclass(frozen=True, slots=True)
class TcpConnections:
    """TCP sockets counted by state, with the bytes queued in their send and receive queues."""

    states: Mapping[str, int]
    tx_queued_bytes: int
    rx_queued_bytes: int


@dataclass(frozen=True, slots=True)
class KernelStat:
    """The scalar lines of ``/proc/stat``."""

    boot_time: float
    context_switches: float
    interrupts: float
    forks: float
    procs_running: float
    procs_blocked: float


@dataclass(frozen=True, slots=True)
class FileFd:
    """Allocated and maximum file handles (``/proc/sys/fs/file-nr``)."""

    allocated: float
    maximum: float


@dataclass(frozen=True, slots=True)
class Entropy:
    """The kernel entropy pool's available bits and size."""

    available_bits: float
    pool_size_bits: float


@dataclass(frozen=True, slots=True)
class Pressure:
    """Cumulative pressure stall seconds of one resource (``some``; ``full`` where present)."""

    resource: str
    some_seconds: float
    full_seconds: float | None


@dataclass(frozen=True, slots=True)
class Uname:
    """The ``uname`` system call's fields plus the NIS domain name."""

    sysname: str
    nodename: str
    release: str
    version: str
    machine: str
    domainname: str


@dataclass(frozen=True, slots=True)
class Temperature:
    """One temperature sensor in degrees Celsius."""

    chip: str
    sensor: str
    celsius: float
    high: float | None
    critical: float | None


@dataclass(frozen=True, slots=True)
class Fan:
    """One fan's speed."""

    chip: str
    sensor: str
    rpm: float


@dataclass(frozen=True, slots=True)
class Sensors:
    """Every temperature and fan reading the OS exposes (empty on VMs)."""

    temperatures: tuple[Temperature, ...]
    fans: tuple[Fan, ...]


@dataclass(frozen=True, slots=True)
class ProcessSample:
    """One process: cumulative CPU seconds (user+system) and resident memory."""

    pid: int
    name: str
    cpu_seconds: float
    rss_bytes: float


@dataclass(frozen=True, slots=True)
class Timex:
    """The kernel clock discipline from ``adjtimex(2)``, in node_exporter's timex units.

    Each field is named after the ``node_timex_<field>`` metric it becomes: seconds, hertz,
    ratios and counts as node_exporter converts them (``status`` is the raw bit mask,
    ``sync_status`` 1 when the kernel does not report ``TIME_ERROR``).
    """

    sync_status: float
    offset_seconds: float
    frequency_adjustment_ratio: float
    maxerror_seconds: float
    estimated_error_seconds: float
    status: float
    loop_time_constant: float
    tick_seconds: float
    pps_frequency_hertz: float
    pps_jitter_seconds: float
    pps_shift_seconds: float
    pps_stability_hertz: float
    pps_jitter_total: float
    pps_calibration_total: float
    pps_error_total: float
    pps_stability_exceeded_total: float
    tai_offset_seconds: float


@dataclass(frozen=True, slots=True)
class Softnet:
    """One line of ``/proc/net/softnet_stat``: a CPU's packet processing counters.

    ``cpu`` is the line number, as node_exporter 1.5 labels it (the kernel prints one line per
    online CPU, so it differs from the CPU id only when CPUs are offline).
    """

    cpu: str
    processed: float
    dropped: float
    times_squeezed: float


@dataclass(frozen=True, slots=True)
class Conntrack:
    """Netfilter connection tracking: entries in use, the table's limit, and the statistics of
    ``/proc/net/stat/nf_conntrack`` summed over CPUs (empty when that file is missing)."""

    entries: float
    limit: float
    stats: Mapping[str, float]


@dataclass(frozen=True, slots=True)
class UdpQueues:
    """Bytes queued in the UDP sockets of one IP version (``/proc/net/udp`` or ``udp6``)."""

    ip: str
    tx_bytes: float
    rx_bytes: float


class Source(Protocol):
    """Everything the collectors read from the machine, as plain frozen values.

    Static facts (``cpu_count``, ``uname``, ``os_release``) may be cached by an implementation;
    every other method reads afresh. Methods raise ``OSError`` when the interface they read is
    missing; ``statvfs`` may block indefinitely on a dead network mount, so its callers bound
    it. An implementation is used from the gatherer's thread plus the filesystem collector's
    ``statvfs`` workers, so ``statvfs`` must be thread-safe.
    """

    def cpu_times_per_core(self) -> tuple[CpuTimes, ...]:
        """Per-core mode seconds."""
        ...

    def cpu_freq(self) -> tuple[CpuFrequency, ...]:
        """Per-core scaling frequencies (empty when the kernel has no cpufreq)."""
        ...

    def cpu_count(self) -> CpuCount:
        """Logical and physical cores."""
        ...

    def load_average(self) -> LoadAverage:
        """Load averages."""
        ...

    def meminfo(self) -> tuple[MeminfoField, ...]:
        """Every memory field (on Linux all of ``/proc/meminfo``)."""
        ...

    def vmstat(self) -> Mapping[str, float]:
        """``/proc/vmstat`` (empty off Linux)."""
        ...

    def mounts(self) -> tuple[Mount, ...]:
        """The mount table."""
        ...

    def statvfs(self, mountpoint: str) -> FsUsage:
        """Size and inodes of one mount; may block on a hung mount."""
        ...

    def diskstats(self) -> tuple[DiskStats, ...]:
        """Block device IO counters."""
        ...

    def netdev(self) -> tuple[NetDevStats, ...]:
        """Per-interface traffic counters."""
        ...

    def net_class(self) -> tuple[NetClass, ...]:
        """Per-interface state from ``/sys/class/net`` (empty off Linux)."""
        ...

    def netstat(self) -> Mapping[str, float]:
        """Protocol counters as ``Proto_Field`` (``Tcp_CurrEstab``); empty off Linux."""
        ...

    def sockstat(self) -> SocketStats:
        """Socket usage per protocol."""
        ...

    def tcp_connections(self) -> TcpConnections:
        """TCP sockets by state."""
        ...

    def kernel_stat(self) -> KernelStat:
        """Boot time, context switches, interrupts, forks, running and blocked processes."""
        ...

    def filefd(self) -> FileFd | None:
        """File handle usage, None off Linux."""
        ...

    def entropy(self) -> Entropy | None:
        """Entropy pool, None off Linux."""
        ...

    def pressure(self) -> tuple[Pressure, ...]:
        """Pressure stall information (empty without ``/proc/pressure``)."""
        ...

    def uname(self) -> Uname:
        """Kernel identification."""
        ...

    def os_release(self) -> Mapping[str, str]:
        """``/etc/os-release`` fields (synthesised from ``platform`` off Linux)."""
        ...

    def process_count(self) -> int:
        """Number of processes."""
        ...

    def uptime(self) -> float:
        """Seconds since boot."""
        ...

    def clock(self) -> float:
        """Wall clock, seconds since the epoch."""
        ...

    def sensors(self) -> Sensors:
        """Temperatures and fans."""
        ...

    def processes(self) -> tuple[ProcessSample, ...]:
        """Every process's CPU seconds and memory; expensive (~10 ms), call rarely."""
        ...

    def timex(self) -> Timex | None:
        """The kernel clock discipline (``adjtimex(2)``); None off Linux or where it is refused."""
        ...

    def softnet(self) -> tuple[Softnet, ...]:
        """Per-CPU packet processing counters (empty without ``/proc/net/softnet_stat``)."""
        ...

    def conntrack(self) -> Conntrack | None:
        """Connection tracking table usage; None when netfilter conntrack is not loaded."""
        ...

    def udp_queues(self) -> tuple[UdpQueues, ...]:
        """Bytes queued in UDP sockets, per IP version (empty off Linux)."""
        ...

    def arp_entries(self) -> Mapping[str, int]:
        """ARP (IPv4 neighbour) entries per device (empty off Linux)."""
        ...
