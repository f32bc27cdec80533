"""A deterministic generator of node_exporter-like fleet data, for the storage benchmark.

Hosts are grouped in blocks (``HostBlock``); every block draws each round from its own seed, so
the data is the same whatever the split across sender threads. Per host, about 40% counters
(realistic increments, quantised, reset by occasional host reboots), 40% gauges (AR(1) smooth
noise) and 20% constants and info metrics, labelled as node_exporter labels them.
"""

from __future__ import annotations

import enum
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from multimonx.model import Labels

Floats = npt.NDArray[np.float64]
Ints = npt.NDArray[np.int64]


class Kind(enum.Enum):
    """How a generated series moves."""

    COUNTER = "counter"
    GAUGE = "gauge"
    CONSTANT = "constant"


@dataclass(frozen=True, slots=True)
class Spec:
    """One series of every host: ``base`` is a counter's rate per second, a gauge's mean or a
    constant's value; ``spread`` a counter's idle probability per round or a gauge's relative
    amplitude; values are rounded to multiples of ``1/scale`` (0.01 s, 1024 bytes, ...)."""

    name: str
    labels: tuple[tuple[str, str], ...]
    kind: Kind
    base: float
    spread: float = 0.0
    scale: float = 1.0
    per_host: bool = True


def _kv(text: str) -> list[tuple[str, float]]:
    """``"a=1 b=2.5"`` as ``[("a", 1.0), ("b", 2.5)]``: keeps the tables below short."""
    return [(k, float(v)) for k, v in (word.split("=") for word in text.split())]


_CPU_MODES = (
    "idle=0.85 user=0.08 system=0.03 iowait=0.01 irq=0.002 softirq=0.005 nice=0.001 steal=0.002"
)
_MEMORY_MIB = (
    "MemFree=2048 MemAvailable=9000 Buffers=300 Cached=6000 SwapFree=1024 Active=5000 "
    "Inactive=3000 Active_anon=3000 Inactive_anon=500 Active_file=2000 Inactive_file=2500 "
    "Dirty=2 Writeback=0.01 AnonPages=3500 Mapped=400 Shmem=100 Slab=500 SReclaimable=350 "
    "SUnreclaim=150 KernelStack=12 PageTables=40 Committed_AS=8000 VmallocUsed=60 "
    "AnonHugePages=200 Percpu=8"
)
_NETSTAT_RATES = (
    "Tcp_ActiveOpens=2 Tcp_PassiveOpens=3 Tcp_RetransSegs=0.5 Tcp_InSegs=300 Tcp_OutSegs=320 "
    "Udp_InDatagrams=20 Udp_OutDatagrams=20 Udp_InErrors=0 TcpExt_ListenDrops=0 Icmp_InMsgs=0.2 "
    "Icmp_OutMsgs=0.2 IpExt_InOctets=2e5 IpExt_OutOctets=2e5 Tcp_InErrs=0"
)
_MISC_GAUGES = (  # name=mean; relative amplitude 0.1
    "procs_running=2 procs_blocked=0.2 netstat_Tcp_CurrEstab=40 filefd_allocated=3000 "
    "entropy_available_bits=256 nf_conntrack_entries=300 processes_threads=600 "
    "processes_pids=250 sockstat_TCP_inuse=30 sockstat_TCP_tw=20 sockstat_TCP_alloc=40 "
    "sockstat_TCP_orphan=0.3 sockstat_TCP_mem=5 sockstat_TCP_mem_bytes=20480 "
    "sockstat_UDP_inuse=5 sockstat_UDP_mem=2 sockstat_UDP_mem_bytes=8192 "
    "sockstat_sockets_used=400 sockstat_FRAG_inuse=0.1 sockstat_RAW_inuse=0.1"
)
_MOUNTS = [  # (device, fstype, mountpoint) labels and size in bytes
    ((("device", d), ("fstype", f), ("mountpoint", m)), size)
    for d, f, m, size in (
        ("/dev/vda1", "ext4", "/", 100e9),
        ("/dev/vda15", "vfat", "/boot/efi", 0.1e9),
        ("/dev/vdb1", "xfs", "/var", 500e9),
        ("tmpfs", "tmpfs", "/run", 1.6e9),
        ("tmpfs", "tmpfs", "/dev/shm", 8e9),
        ("/dev/vdb2", "ext4", "/home", 200e9),
    )
]
_VMSTAT_RATES = "pgfault=4000 pgmajfault=0.5 pgpgin=50 pgpgout=400 pswpin=0 pswpout=0 oom_kill=0"


def _counters() -> list[Spec]:
    c = Kind.COUNTER
    out = [
        Spec("node_cpu_seconds_total", (("cpu", str(i)), ("mode", m)), c, r, 0.0, 100.0)
        for i in range(4)
        for m, r in _kv(_CPU_MODES)
    ]
    out += [
        Spec(f"node_{n}_total", (), c, r) for n, r in _kv("context_switches=3000 intr=2000 forks=5")
    ]
    for dev, share in (("eth0", 1.0), ("lo", 0.05), ("eth1", 0.2)):
        for d in ("receive", "transmit"):
            for what, rate, idle in (
                ("bytes", 2e5, 0.0),
                ("packets", 250, 0.0),
                ("errs", 0.01, 0.995),
                ("drop", 0.02, 0.99),
            ):
                name = f"node_network_{d}_{what}_total"
                out.append(Spec(name, (("device", dev),), c, rate * share, idle))
        if dev == "lo":
            out += [Spec(f"node_vmstat_{n}", (), c, r) for n, r in _kv(_VMSTAT_RATES)]
    for dev in ("vda", "vdb"):
        for n, r, idle, scale in (
            ("reads_completed", 3.0, 0.5, 1.0),
            ("writes_completed", 20.0, 0.1, 1.0),
            ("read_bytes", 5e4, 0.5, 1 / 512),
            ("written_bytes", 4e5, 0.1, 1 / 512),
            ("io_time_seconds", 0.02, 0.1, 1000.0),
            ("read_time_seconds", 0.005, 0.5, 1000.0),
            ("write_time_seconds", 0.05, 0.1, 1000.0),
            ("discards_completed", 0.01, 0.99, 1.0),
        ):
            out.append(Spec(f"node_disk_{n}_total", (("device", dev),), c, r, idle, scale))
    out += [
        Spec(f"node_netstat_{n}", (), c, r, 0.2 if r < 1 else 0.0) for n, r in _kv(_NETSTAT_RATES)
    ]
    return out


def _gauges() -> list[Spec]:
    g = Kind.GAUGE
    out = [
        Spec(f"node_memory_{n}_bytes", (), g, m * 2**20, 0.02, 1 / 1024)
        for n, m in _kv(_MEMORY_MIB)
    ]
    out += [Spec(f"node_load{n}", (), g, 0.8, s, 100.0) for n, s in _kv("1=0.6 5=0.3 15=0.15")]
    for labels, size in _MOUNTS:
        out.append(Spec("node_filesystem_avail_bytes", labels, g, size * 0.4, 0.001, 1 / 4096))
        out.append(Spec("node_filesystem_free_bytes", labels, g, size * 0.45, 0.001, 1 / 4096))
        out.append(Spec("node_filesystem_files_free", labels, g, size / 2e5, 0.0005))
    out += [Spec(f"node_{n}", (), g, m, 0.1) for n, m in _kv(_MISC_GAUGES)]
    out.append(Spec("node_timex_offset_seconds", (), g, 1e-4, 0.5, 1e6))
    out.append(Spec("node_timex_frequency_adjustment_ratio", (), g, 1.0, 1e-6, 1e9))
    out += [
        Spec("node_cpu_scaling_frequency_hertz", (("cpu", str(i)),), g, 2.4e9, 0.1, 1e-3)
        for i in range(4)
    ]
    out += [Spec("node_disk_io_now", (("device", d),), g, 0.3, 1.0) for d in ("vda", "vdb")]
    out += [
        Spec("node_processes_state", (("state", s),), g, m, 0.1)
        for s, m in _kv("R=2 S=240 D=0.2 I=60 Z=0.1")
    ]
    return out


def _constants() -> list[Spec]:
    k = Kind.CONSTANT
    out = [
        Spec(
            "node_uname_info",
            (("machine", "x86_64"), ("release", "6.1.0-18-amd64"), ("sysname", "Linux")),
            k,
            1.0,
            per_host=False,
        ),
        Spec("node_os_info", (("id", "debian"), ("version_id", "12")), k, 1.0, per_host=False),
        Spec("node_exporter_build_info", (("version", "1.5.0"),), k, 1.0, per_host=False),
        Spec("node_boot_time_seconds", (), k, 0.0),
        Spec("node_os_version", (("id", "debian"),), k, 12.0, per_host=False),
    ]
    mem = (
        "MemTotal=16000 SwapTotal=2048 HugePages_Total=0 Hugepagesize=2 CmaTotal=0 VmallocTotal=3e7"
    )
    out += [Spec(f"node_memory_{n}_bytes", (), k, m * 2**20, scale=1 / 1024) for n, m in _kv(mem)]
    fixed = "filefd_maximum=9.2e18 entropy_pool_size_bits=256 nf_conntrack_entries_limit=262144"
    out += [Spec(f"node_{n}", (), k, v, per_host=False) for n, v in _kv(fixed)]
    for dev, mtu in (("eth0", 1500), ("lo", 65536)):
        net = f"up=1 mtu_bytes={mtu} carrier=1 speed_bytes=1.25e9 iface_id=2 address_assign_type=0"
        out += [
            Spec(f"node_network_{n}", (("device", dev),), k, v, per_host=False) for n, v in _kv(net)
        ]
    for labels, size in _MOUNTS:
        out.append(Spec("node_filesystem_size_bytes", labels, k, size, scale=1 / 4096))
        out.append(Spec("node_filesystem_files", labels, k, size / 1.6e4))
        out.append(Spec("node_filesystem_readonly", labels, k, 0.0, per_host=False))
    return out


def host_specs(series_per_host: int) -> list[Spec]:
    """The series of one host: 40% counters, 40% gauges, the rest constants (padded if short)."""
    n_counters = n_gauges = round(series_per_host * 0.4)
    n_constants = series_per_host - n_counters - n_gauges
    out: list[Spec] = []
    for pool, n, kind in (
        (_counters(), n_counters, Kind.COUNTER),
        (_gauges(), n_gauges, Kind.GAUGE),
        (_constants(), n_constants, Kind.CONSTANT),
    ):
        pool += [Spec(f"node_textfile_{kind.value}_{i}", (), kind, 10.0, 0.1) for i in range(n)]
        out += pool[:n]
    return out


@dataclass(frozen=True, slots=True)
class DataConfig:
    """What to generate; the same values give bit-identical data in every process."""

    hosts: int
    series_per_host: int
    hours: float
    interval_ms: int
    end_ms: int
    seed: int = 42
    block_hosts: int = 25
    rounds_per_batch: int = 1

    @property
    def rounds(self) -> int:
        return int(self.hours * 3_600_000 // self.interval_ms)

    @property
    def start_ms(self) -> int:
        return self.end_ms - self.rounds * self.interval_ms

    @property
    def samples(self) -> int:
        return self.rounds * self.hosts * self.series_per_host

    def batches(self) -> list[tuple[int, int]]:
        """(first round, round count) of each request-sized batch, in time order."""
        step = self.rounds_per_batch
        return [(r, min(step, self.rounds - r)) for r in range(0, self.rounds, step)]


class HostBlock:
    """The series of ``block_hosts`` consecutive hosts and their state, advanced round by round.

    Each round draws from its own seed (seed, block, round), so the data does not depend on
    which thread or process generates which block. Not thread-safe: one owner per block.
    """

    def __init__(self, cfg: DataConfig, block: int, specs: Sequence[Spec]) -> None:
        self.cfg, self.block = cfg, block
        first = block * cfg.block_hosts
        hosts = range(first, min(first + cfg.block_hosts, cfg.hosts))
        self.hosts, per = len(hosts), len(specs)
        self.labels = [
            Labels(
                (
                    ("__name__", s.name),
                    ("instance", f"host-{h + 1:04d}"),
                    ("job", "node"),
                    *s.labels,
                )
            )
            for h in hosts
            for s in specs
        ]
        rng = np.random.default_rng([cfg.seed, block, 0])
        n = self.hosts * per
        kind = np.array([s.kind.value for s in specs] * self.hosts)
        self._c, self._g, self._k = (np.flatnonzero(kind == k.value) for k in Kind)
        base = np.tile([s.base for s in specs], self.hosts)
        spread = np.tile([s.spread for s in specs], self.hosts)
        self._scale = np.tile([s.scale for s in specs], self.hosts)
        vary = np.tile([s.per_host for s in specs], self.hosts)
        base = np.where(vary, base * rng.lognormal(0.0, 0.4, n), base)
        self._host_of = np.repeat(np.arange(self.hosts), per)
        uptime_s = rng.uniform(86_400, 100 * 86_400, self.hosts)[self._host_of]
        self._rate, self._idle = base[self._c], spread[self._c]
        self._count = self._quantize(self._rate * uptime_s[self._c], self._c)
        self._mean, self._amp = base[self._g], base[self._g] * spread[self._g]
        self._z = rng.standard_normal(len(self._g))
        self._values = self._quantize(base, np.arange(n))
        boot = np.array([s.name == "node_boot_time_seconds" for s in specs] * self.hosts)
        self._values[boot] = np.round(cfg.start_ms / 1000 - uptime_s[boot])
        self._phase = rng.integers(0, cfg.interval_ms, self.hosts)[self._host_of]

    def _quantize(self, x: Floats, idx: Ints) -> Floats:
        scale = self._scale[idx]
        out: Floats = np.round(x * scale) / scale
        return out

    def step(self, rnd: int) -> Floats:
        """The values of round ``rnd`` (rounds must be stepped in order, once each)."""
        rng = np.random.default_rng([self.cfg.seed, self.block, rnd + 1])
        dt = self.cfg.interval_ms / 1000
        noise = rng.standard_normal(len(self._values))
        busy = rng.random(len(self._c)) >= self._idle
        inc = self._rate * dt * np.exp(0.3 * noise[self._c]) * busy
        count = self._quantize(self._count + inc, self._c)
        reboot = rng.random(self.hosts) < dt / (2 * 86_400)  # one reboot per host per 2 days
        if reboot.any():
            hit = reboot[self._host_of[self._c]]
            count[hit] = self._quantize(inc[hit], self._c[hit])
        self._count = count
        self._z = 0.9 * self._z + 0.436 * noise[self._g]
        gauge = self._quantize(np.maximum(self._mean + self._amp * self._z, 0.0), self._g)
        values = self._values.copy()
        values[self._c], values[self._g] = count, gauge
        return values

    def batch(self, first: int, rounds: int) -> tuple[Floats, Ints]:
        """Values and timestamps of ``rounds`` rounds from ``first``, shaped (series, rounds)."""
        values = np.stack([self.step(r) for r in range(first, first + rounds)], axis=1)
        ticks = self.cfg.start_ms + np.arange(first, first + rounds) * self.cfg.interval_ms
        return values, (self._phase[:, None] + ticks[None, :]).astype(np.int64)


def make_blocks(cfg: DataConfig) -> list[HostBlock]:
    """Every host block of the fleet."""
    specs = host_specs(cfg.series_per_host)
    return [HostBlock(cfg, b, specs) for b in range(-(-cfg.hosts // cfg.block_hosts))]
