"""The values a ``Source`` returns: frozen, slotted, free of psutil and of any OS detail.

Each class is one reading of the machine (a ``/proc`` file, a sysfs directory, a system call)
in the units the collectors export, so that ``SystemSource`` and ``RecordedSource`` return the
same types and the collectors' golden tests can replay a recording without the machine.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass


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
