"""The agent's only window on the machine: the real machine behind the ``Source`` seam.

Collectors never read the machine themselves; they call a ``Source`` (the protocol lives in
``multimonx.agent.readings`` and is re-exported here), whose methods return the frozen values
of that module (never psutil types). ``SystemSource`` reads the
running machine: on Linux from ``/proc`` and ``/sys`` exactly as node_exporter does (so the
numbers match it), and through psutil elsewhere. ``multimonx.agent.recorded`` replays a
recording of it for the golden tests.

This is the only module of MultiMonX that imports psutil, and it imports it lazily, where it
is used: on Linux only ``sensors`` and ``processes`` (optional collectors, off by default) need
it, so the default agent never loads psutil and saves its ~4 MB of resident memory. Python's
module cache makes every import after the first a dictionary lookup. ctypes, which only the
``timex`` reading needs (for ``adjtimex(2)``), is imported the same way.
"""

from __future__ import annotations

import errno
import os
import sys
import time
from collections.abc import Callable

from multimonx.agent import adjtimex, procfs, sockdiag
from multimonx.agent.readings import (
    Conntrack,
    CpuCount,
    CpuFrequency,
    CpuTimes,
    DiskStats,
    Entropy,
    Fan,
    FileFd,
    FsUsage,
    KernelStat,
    LoadAverage,
    MeminfoField,
    Mount,
    NetClass,
    NetDevStats,
    Pressure,
    ProcessSample,
    Sensors,
    SocketStats,
    Softnet,
    Source,
    TcpConnections,
    Temperature,
    Timex,
    UdpQueues,
    Uname,
)

__all__ = ["Source", "SystemSource"]


class SystemSource:
    """The running machine: ``/proc`` and ``/sys`` on Linux, psutil elsewhere.

    ``proc`` and ``sys`` point at the kernel file systems (node_exporter's ``--path.procfs``
    and ``--path.sysfs``); static facts are read once, here.
    """

    def __init__(self, proc: str = "/proc", sys_path: str = "/sys") -> None:
        self._proc = proc
        self._sys = sys_path
        self._linux = sys.platform.startswith("linux") and os.path.isdir(f"{proc}/self")
        cpu_base = f"{sys_path}/devices/system/cpu"
        cpus: list[str] = []
        if self._linux and os.path.isdir(cpu_base):
            cpus = [n[3:] for n in os.listdir(cpu_base) if n[:3] == "cpu" and n[3:].isdigit()]
            cpus.sort(key=int)
        self._cpu_count = self._read_cpu_count(cpu_base, cpus)
        self._uname = self._read_uname()
        self._os_release = self._read_os_release()
        self._page_size = os.sysconf("SC_PAGE_SIZE") if hasattr(os, "sysconf") else 4096
        self._adjtimex: Callable[[], tuple[int, dict[str, int]]] | None = None
        self._freq_dirs = tuple(
            (cpu, f"{cpu_base}/cpu{cpu}/cpufreq")
            for cpu in cpus
            if os.path.isdir(f"{cpu_base}/cpu{cpu}/cpufreq")
        )

    def _read_cpu_count(self, cpu_base: str, cpus: list[str]) -> CpuCount:
        """Online cores from sysfs, physical cores from the topology (psutil off Linux)."""
        if not self._linux:
            import psutil

            return CpuCount(psutil.cpu_count(logical=True) or 1, psutil.cpu_count(logical=False))
        online = procfs.read_optional(f"{cpu_base}/online")
        logical = procfs.count_cpu_list(online) if online else 0
        return CpuCount(logical or os.cpu_count() or 1, self._physical_cores(cpu_base, cpus))

    def _physical_cores(self, cpu_base: str, cpus: list[str]) -> int | None:
        """Distinct cores: sysfs topology ids, else ``/proc/cpuinfo``, else None.

        A core is identified by its whole path in the topology (package, die and cluster where
        the kernel has them, then ``core_id``), as ``core_id`` alone repeats across packages,
        and on arm64 across clusters. SMT siblings share that path, so they count once.
        """
        cores: set[tuple[str | None, ...]] = set()
        for cpu in cpus:
            ids = tuple(
                procfs.read_optional(f"{cpu_base}/cpu{cpu}/topology/{name}")
                for name in ("physical_package_id", "die_id", "cluster_id", "core_id")
            )
            if ids[0] is not None and ids[-1] is not None:
                cores.add(ids)
        if cores:
            return len(cores)
        try:
            return procfs.count_cpuinfo_cores(procfs.read_text(f"{self._proc}/cpuinfo"))
        except OSError:
            return None

    def _read_uname(self) -> Uname:
        if not self._linux:
            import platform

            p = platform.uname()
            return Uname(p.system, p.node, p.release, p.version, p.machine, "(none)")
        u = os.uname()
        domain = procfs.read_optional(f"{self._proc}/sys/kernel/domainname") or "(none)"
        return Uname(u.sysname, u.nodename, u.release, u.version, u.machine, domain)

    def _read_os_release(self) -> dict[str, str]:
        for path in ("/etc/os-release", "/usr/lib/os-release"):
            try:
                return procfs.parse_os_release(procfs.read_text(path))
            except OSError:
                continue
        import platform

        name = platform.system()
        version = platform.mac_ver()[0] if name == "Darwin" else platform.version()
        return {
            "ID": name.lower(),
            "NAME": name,
            "PRETTY_NAME": f"{name} {version}",
            "VERSION": version,
            "VERSION_ID": version,
        }

    def cpu_times_per_core(self) -> tuple[CpuTimes, ...]:
        """Per-core mode seconds."""
        if self._linux:
            cores, _ = procfs.parse_stat(procfs.read_text(f"{self._proc}/stat"))
            return tuple(CpuTimes(cpu, *ticks) for cpu, ticks in cores)
        import psutil

        out = []
        for i, t in enumerate(psutil.cpu_times(percpu=True)):
            values = [float(getattr(t, m, 0.0)) for m in _CPU_FIELDS]
            out.append(CpuTimes(str(i), *values))
        return tuple(out)

    def cpu_freq(self) -> tuple[CpuFrequency, ...]:
        """Per-core scaling frequencies (kHz in sysfs, hertz here)."""
        out = []
        for cpu, path in self._freq_dirs:
            values = []
            for name in ("scaling_cur_freq", "scaling_min_freq", "scaling_max_freq"):
                text = procfs.read_optional(f"{path}/{name}")
                values.append(float(text) * 1000.0 if text and text.isdigit() else None)
            out.append(CpuFrequency(cpu, *values))
        return tuple(out)

    def cpu_count(self) -> CpuCount:
        """Logical and physical cores, read at start."""
        return self._cpu_count

    def load_average(self) -> LoadAverage:
        """Load averages (``/proc/loadavg`` on Linux)."""
        if self._linux:
            parts = procfs.read_text(f"{self._proc}/loadavg").split()
            return LoadAverage(float(parts[0]), float(parts[1]), float(parts[2]))
        import psutil

        return LoadAverage(*psutil.getloadavg())

    def meminfo(self) -> tuple[MeminfoField, ...]:
        """All of ``/proc/meminfo``, or the fields psutil knows elsewhere."""
        if self._linux:
            text = procfs.read_text(f"{self._proc}/meminfo")
            return tuple(MeminfoField(*f) for f in procfs.parse_meminfo(text))
        import psutil

        vm = psutil.virtual_memory()
        swap = psutil.swap_memory()
        pairs: list[tuple[str, int | None]] = [
            ("MemTotal", vm.total),
            ("MemFree", vm.free),
            ("MemAvailable", vm.available),
        ]
        pairs += [
            (n, getattr(vm, n.lower(), None)) for n in ("Buffers", "Cached", "Active", "Inactive")
        ]
        pairs += [("SwapTotal", swap.total), ("SwapFree", swap.free)]
        return tuple(MeminfoField(n, v / 1024.0, True) for n, v in pairs if v is not None)

    def vmstat(self) -> dict[str, float]:
        """``/proc/vmstat``."""
        if not self._linux:
            return {}
        return procfs.parse_key_value(procfs.read_text(f"{self._proc}/vmstat"))

    def mounts(self) -> tuple[Mount, ...]:
        """``/proc/1/mounts`` as node_exporter reads it (``/proc/mounts`` as fallback)."""
        if self._linux:
            for path in (f"{self._proc}/1/mounts", f"{self._proc}/mounts"):
                try:
                    text = procfs.read_text(path)
                except OSError:
                    continue
                return tuple(Mount(*m) for m in procfs.parse_mounts(text))
        import psutil

        return tuple(
            Mount(p.device, p.mountpoint, p.fstype, tuple(p.opts.split(",")))
            for p in psutil.disk_partitions(all=True)
        )

    def statvfs(self, mountpoint: str) -> FsUsage:
        """``statvfs`` of one mount (blocks as long as the file system does)."""
        if hasattr(os, "statvfs"):
            st = os.statvfs(mountpoint)
            size = st.f_bsize
            return FsUsage(
                float(st.f_blocks * size),
                float(st.f_bfree * size),
                float(st.f_bavail * size),
                float(st.f_files),
                float(st.f_ffree),
            )
        import psutil

        usage = psutil.disk_usage(mountpoint)
        return FsUsage(float(usage.total), float(usage.free), float(usage.free), 0.0, 0.0)

    def diskstats(self) -> tuple[DiskStats, ...]:
        """``/proc/diskstats``; elsewhere psutil's per-disk counters mapped to the same slots."""
        if self._linux:
            text = procfs.read_text(f"{self._proc}/diskstats")
            return tuple(DiskStats(*d) for d in procfs.parse_diskstats(text))
        import psutil

        out = []
        for name, c in (psutil.disk_io_counters(perdisk=True) or {}).items():
            counters = (
                c.read_count,
                getattr(c, "read_merged_count", 0),
                c.read_bytes // 512,
                c.read_time,
                c.write_count,
                getattr(c, "write_merged_count", 0),
                c.write_bytes // 512,
                c.write_time,
                0,
                getattr(c, "busy_time", 0),
                0,
            )
            out.append(DiskStats(0, 0, name, tuple(int(v) for v in counters)))
        return tuple(out)

    def netdev(self) -> tuple[NetDevStats, ...]:
        """``/proc/net/dev`` plus sysfs ``rx_nohandler``; psutil elsewhere."""
        if self._linux:
            out = []
            for name, rx, tx in procfs.parse_netdev(procfs.read_text(f"{self._proc}/net/dev")):
                nohandler = procfs.read_optional(
                    f"{self._sys}/class/net/{name}/statistics/rx_nohandler"
                )
                if nohandler is not None and nohandler.isdigit():
                    rx["nohandler"] = int(nohandler)
                out.append(NetDevStats(name, rx, tx))
            return tuple(out)
        import psutil

        return tuple(
            NetDevStats(
                name,
                {
                    "bytes": c.bytes_recv,
                    "packets": c.packets_recv,
                    "errs": c.errin,
                    "drop": c.dropin,
                },
                {
                    "bytes": c.bytes_sent,
                    "packets": c.packets_sent,
                    "errs": c.errout,
                    "drop": c.dropout,
                },
            )
            for name, c in psutil.net_io_counters(pernic=True).items()
        )

    def net_class(self) -> tuple[NetClass, ...]:
        """``/sys/class/net/*``: the attributes node_exporter's netclass collector reads."""
        base = f"{self._sys}/class/net"
        if not self._linux or not os.path.isdir(base):
            return ()
        out = []
        for dev in sorted(os.listdir(base)):
            path = f"{base}/{dev}"
            attrs: dict[str, int] = {}
            for attr in _NETCLASS_NUMERIC:
                text = procfs.read_optional(f"{path}/{attr}")
                if text:
                    try:
                        attrs[attr] = int(text, 0)
                    except ValueError:
                        continue
            operstate, address, broadcast, duplex, ifalias = (
                procfs.read_optional(f"{path}/{a}") or "" for a in _NETCLASS_TEXT
            )
            out.append(NetClass(dev, operstate, address, broadcast, duplex, ifalias, attrs))
        return tuple(out)

    def netstat(self) -> dict[str, float]:
        """``/proc/net/netstat``, ``/proc/net/snmp`` and ``/proc/net/snmp6`` merged."""
        if not self._linux:
            return {}
        out: dict[str, float] = {}
        for name, parse in (
            ("netstat", procfs.parse_snmp),
            ("snmp", procfs.parse_snmp),
            ("snmp6", procfs.parse_snmp6),
        ):
            try:
                out.update(parse(procfs.read_text(f"{self._proc}/net/{name}")))
            except OSError:
                continue
        return out

    def sockstat(self) -> SocketStats:
        """``/proc/net/sockstat`` and ``sockstat6``."""
        if not self._linux:
            return SocketStats(None, {}, self._page_size)
        used, protocols = procfs.parse_sockstat(procfs.read_text(f"{self._proc}/net/sockstat"))
        try:
            _, v6 = procfs.parse_sockstat(procfs.read_text(f"{self._proc}/net/sockstat6"))
            protocols.update(v6)
        except OSError:
            pass
        return SocketStats(used, protocols, self._page_size)

    def tcp_connections(self) -> TcpConnections:
        """TCP states through netlink sock_diag (0.5 ms), else counted from
        ``/proc/net/tcp{,6}`` (10 ms on a large machine); never psutil's costly table walk."""
        counts: dict[str, int] = {}
        tx = rx = 0
        if self._linux and self._proc == "/proc":
            try:
                counts, rx, tx = sockdiag.tcp_states()
                return TcpConnections(counts, tx, rx)
            except OSError:
                counts, tx, rx = {}, 0, 0  # a sandbox refusing netlink: read the files
        if self._linux:
            for name in ("tcp", "tcp6"):
                try:
                    text = procfs.read_text(f"{self._proc}/net/{name}")
                except OSError:
                    continue
                t, r = procfs.count_tcp_states(text, counts)
                tx += t
                rx += r
        return TcpConnections(counts, tx, rx)

    def kernel_stat(self) -> KernelStat:
        """``/proc/stat`` scalars; elsewhere what psutil offers (zeros for the rest)."""
        if self._linux:
            _, s = procfs.parse_stat(procfs.read_text(f"{self._proc}/stat"))
            return KernelStat(
                s.get("btime", 0.0),
                s.get("ctxt", 0.0),
                s.get("intr", 0.0),
                s.get("processes", 0.0),
                s.get("procs_running", 0.0),
                s.get("procs_blocked", 0.0),
            )
        import psutil

        c = psutil.cpu_stats()
        return KernelStat(
            psutil.boot_time(), float(c.ctx_switches), float(c.interrupts), 0.0, 0.0, 0.0
        )

    def filefd(self) -> FileFd | None:
        """``/proc/sys/fs/file-nr``."""
        text = procfs.read_optional(f"{self._proc}/sys/fs/file-nr") if self._linux else None
        if not text:
            return None
        parts = text.split()
        return FileFd(float(parts[0]), float(parts[2]))

    def entropy(self) -> Entropy | None:
        """``/proc/sys/kernel/random/{entropy_avail,poolsize}``."""
        if not self._linux:
            return None
        avail = procfs.read_optional(f"{self._proc}/sys/kernel/random/entropy_avail")
        pool = procfs.read_optional(f"{self._proc}/sys/kernel/random/poolsize")
        if avail is None or pool is None:
            return None
        return Entropy(float(avail), float(pool))

    def pressure(self) -> tuple[Pressure, ...]:
        """``/proc/pressure/{cpu,io,memory}``."""
        out = []
        if self._linux:
            for resource in ("cpu", "io", "memory"):
                text = procfs.read_optional(f"{self._proc}/pressure/{resource}")
                if text:
                    values = procfs.parse_pressure(text)
                    out.append(Pressure(resource, values.get("some", 0.0), values.get("full")))
        return tuple(out)

    def uname(self) -> Uname:
        """Read at start."""
        return self._uname

    def os_release(self) -> dict[str, str]:
        """Read at start."""
        return self._os_release

    def process_count(self) -> int:
        """Numeric entries of ``/proc``; psutil elsewhere."""
        if self._linux:
            return sum(1 for name in os.listdir(self._proc) if name.isdigit())
        import psutil

        return len(psutil.pids())

    def uptime(self) -> float:
        """``/proc/uptime``; elsewhere now minus boot time."""
        if self._linux:
            return float(procfs.read_text(f"{self._proc}/uptime").split()[0])
        import psutil

        return time.time() - psutil.boot_time()

    def clock(self) -> float:
        """``time.time()``."""
        return time.time()

    def sensors(self) -> Sensors:
        """psutil's temperatures and fans (each empty where psutil cannot read them here)."""
        import psutil

        temps: list[Temperature] = []
        fans: list[Fan] = []
        read_temps = getattr(psutil, "sensors_temperatures", None)
        read_fans = getattr(psutil, "sensors_fans", None)
        if read_temps is not None:
            for chip, entries in read_temps().items():
                for i, t in enumerate(entries):
                    label = t.label or f"temp{i + 1}"
                    temps.append(Temperature(chip, label, t.current, t.high, t.critical))
        if read_fans is not None:
            for chip, fan_entries in read_fans().items():
                for i, f in enumerate(fan_entries):
                    fans.append(Fan(chip, f.label or f"fan{i + 1}", float(f.current)))
        return Sensors(tuple(temps), tuple(fans))

    def processes(self) -> tuple[ProcessSample, ...]:
        """One pass over the process table."""
        import psutil

        out = []
        for p in psutil.process_iter(["pid", "name", "cpu_times", "memory_info"]):
            info = p.info
            cpu = info.get("cpu_times")
            mem = info.get("memory_info")
            if cpu is None or mem is None:
                continue
            out.append(
                ProcessSample(
                    info["pid"],
                    info.get("name") or "",
                    float(cpu.user + cpu.system),
                    float(mem.rss),
                )
            )
        return tuple(out)

    def timex(self) -> Timex | None:
        """``adjtimex(2)`` in read-only mode (``modes`` 0, no privilege needed) through ctypes,
        loaded on the first call; None off Linux or where the system call is refused."""
        if not self._linux:
            return None
        if self._adjtimex is None:
            self._adjtimex = adjtimex.load()
        try:
            state, fields = self._adjtimex()
        except OSError as err:
            if err.errno in (errno.EPERM, errno.EACCES, errno.ENOSYS):
                return None  # a seccomp sandbox, or a C library without adjtimex
            raise
        return Timex(**procfs.decode_timex(state, fields))

    def softnet(self) -> tuple[Softnet, ...]:
        """``/proc/net/softnet_stat``, labelled by line number like node_exporter 1.5."""
        if not self._linux:
            return ()
        try:
            text = procfs.read_text(f"{self._proc}/net/softnet_stat")
        except OSError:
            return ()
        return tuple(
            Softnet(str(i), float(p), float(d), float(s))
            for i, (p, d, s) in enumerate(procfs.parse_softnet(text))
        )

    def conntrack(self) -> Conntrack | None:
        """``nf_conntrack_{count,max}`` of ``/proc/sys/net/netfilter`` and the statistics of
        ``/proc/net/stat/nf_conntrack`` (empty when only that file is missing)."""
        if not self._linux:
            return None
        base = f"{self._proc}/sys/net/netfilter"
        count = procfs.read_optional(f"{base}/nf_conntrack_count")
        limit = procfs.read_optional(f"{base}/nf_conntrack_max")
        if not count or not limit or not count.isdigit() or not limit.isdigit():
            return None
        try:
            stats = procfs.parse_conntrack_stat(
                procfs.read_text(f"{self._proc}/net/stat/nf_conntrack")
            )
        except (OSError, ValueError):
            stats = {}
        return Conntrack(float(count), float(limit), {k: float(v) for k, v in stats.items()})

    def udp_queues(self) -> tuple[UdpQueues, ...]:
        """``/proc/net/udp`` then ``udp6``, stopping at the first missing one as node_exporter
        does (a few dozen microseconds each: the kernel walks its UDP hash table)."""
        out: list[UdpQueues] = []
        if self._linux:
            for ip, name in (("v4", "udp"), ("v6", "udp6")):
                try:
                    text = procfs.read_text(f"{self._proc}/net/{name}")
                except OSError:
                    break
                tx, rx = procfs.sum_socket_queues(text)
                out.append(UdpQueues(ip, float(tx), float(rx)))
        return tuple(out)

    def arp_entries(self) -> dict[str, int]:
        """``/proc/net/arp`` counted per device."""
        if not self._linux:
            return {}
        try:
            return procfs.count_arp_entries(procfs.read_text(f"{self._proc}/net/arp"))
        except OSError:
            return {}


_CPU_FIELDS = (
    "user",
    "nice",
    "system",
    "idle",
    "iowait",
    "irq",
    "softirq",
    "steal",
    "guest",
    "guest_nice",
)
_NETCLASS_TEXT = ("operstate", "address", "broadcast", "duplex", "ifalias")
_NETCLASS_NUMERIC = (
    "addr_assign_type",
    "carrier",
    "carrier_changes",
    "carrier_up_count",
    "carrier_down_count",
    "dev_id",
    "dormant",
    "flags",
    "ifindex",
    "iflink",
    "link_mode",
    "mtu",
    "name_assign_type",
    "netdev_group",
    "speed",
    "tx_queue_len",
    "type",
)
