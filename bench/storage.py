"""Our storage beside Prometheus 2.42 on the same node_exporter-like data, in one run.

A deterministic generator makes ``--hosts`` x ``--series-per-host`` series shaped like
node_exporter's (about 40% counters with realistic increments and occasional host reboots that
reset them, 40% gauges with smooth noise, 20% constants and info metrics), one sample per series
per ``--interval`` over ``--hours`` ending a few minutes ago, produced round by round as agents
push. The same data goes:

- to a real ``prometheus`` (remote-write receiver, scraping nothing) through remote write from
  ``--senders`` threads, each owning a fixed share of the hosts;
- then to our storage (``--ours memory``: MemoryStorage with its journal, as the server runs
  it; ``--ours tsdb``: the embedded engine) in a child process (``--ours-worker``) so that its
  resident memory is its own, from the same number of threads, one commit per request-sized
  batch.

Printed for both and as ``ours/prometheus``: sustained ingest samples/s, bytes per sample on
disk, resident memory per series, and the median latency of (a) one series over 2 h, (b) one
metric of every host over 1 h as 1-minute averages at a 60 s step, (c) the latest values of one
host. Prometheus answers over HTTP (JSON included in its time), ours in-process.

    .venv/bin/python bench/storage.py --quick      # smoke run: 50 hosts, 15 min, under a minute
    .venv/bin/python bench/storage.py --ours tsdb  # 1,000 hosts x 200 series, 2 h at 5 s
"""

from __future__ import annotations

import argparse
import enum
import gc
import json
import os
import platform
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from multimonx.model import Labels, Matcher
from remote_write import (
    BodyTemplate,
    PrometheusProcess,
    RemoteWriteClient,
    compress,
    encode_labels,
)

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


def run_threads(n: int, work: Callable[[int], None]) -> float:
    """Run ``work(i)`` for i in range(n) on n threads; the wall seconds; re-raises a failure."""
    errors: list[BaseException] = []

    def guarded(i: int) -> None:
        try:
            work(i)
        except BaseException as err:  # re-raised in the caller's thread
            errors.append(err)

    threads = [threading.Thread(target=guarded, args=(i,)) for i in range(n)]
    started = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    if errors:
        raise errors[0]
    return time.perf_counter() - started


def proc_status(pid: int, key: str) -> int:
    """A ``kB`` field of /proc/PID/status, in bytes."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(key + ":"):
            return int(line.split()[1]) * 1024
    raise KeyError(key)


def dir_bytes(path: Path) -> int:
    """Total size of the files under ``path``."""
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


def median_ms(fn: Callable[[], int], runs: int) -> tuple[float, int]:
    """Median wall milliseconds of ``fn`` over ``runs`` calls, and what its last call returned."""
    times, result = [], 0
    for _ in range(runs):
        started = time.perf_counter()
        result = fn()
        times.append((time.perf_counter() - started) * 1000)
    return statistics.median(times), result


QUERY_SERIES = (
    ("__name__", "node_cpu_seconds_total"),
    ("instance", "host-0001"),
    ("cpu", "0"),
    ("mode", "user"),
)
"""(a): one series, read raw over 2 h."""
QUERY_METRIC = "node_load1"
"""(b): one metric of every host, averaged per minute over 1 h at a 60 s step."""
QUERY_HOST = "host-0001"
"""(c): every latest value of this instance."""
HOUR_MS = 3_600_000


# ----------------------------------------------------------------------------- ours (child)


def open_ours(kind: str, data_dir: Path) -> Any:
    """The storage under test (typed loosely: the tsdb module may not exist yet)."""
    if kind == "tsdb":
        from multimonx.storage.tsdb import TSDB  # type: ignore[attr-defined,unused-ignore]

        return TSDB.open(data_dir)
    from multimonx.storage import Journal, MemoryStorage

    return MemoryStorage(Journal(data_dir / "journal.db"))


def ours_worker(args: argparse.Namespace) -> dict[str, Any]:
    """Ingest and query in this process; the measurements as a JSON-able dict."""
    cfg = DataConfig(**json.loads(args.ours_worker))
    data_dir = Path(args.data_dir)
    blocks = make_blocks(cfg)
    gc.collect()
    rss_before = proc_status(os.getpid(), "VmRSS")
    storage = open_ours(args.ours, data_dir)
    gen_cpu = [0.0] * args.senders

    def ingest(i: int) -> None:
        mine = blocks[i :: args.senders]
        for first, rounds in cfg.batches():
            for block in mine:
                t0 = time.thread_time()
                values, stamps = block.batch(first, rounds)
                rows = zip(block.labels, stamps.tolist(), values.tolist(), strict=True)
                gen_cpu[i] += time.thread_time() - t0
                app = storage.appender()
                for labels, ts, vs in rows:
                    for t, v in zip(ts, vs, strict=True):
                        app.append(labels, t, v)
                app.commit()

    cpu0 = time.process_time()
    wall = run_threads(args.senders, ingest)
    cpu = time.process_time() - cpu0
    stats = storage.stats()
    gc.collect()
    rss = proc_status(os.getpid(), "VmRSS") - rss_before
    disk_ingest = dir_bytes(data_dir)
    end = cfg.end_ms

    def one_series() -> int:
        with storage.querier(end - 2 * HOUR_MS, end) as q:
            found = list(q.select([Matcher.of(n, "=", v) for n, v in QUERY_SERIES]))
            return sum(len(np.asarray(s.values)) for s in found)

    def metric_avg() -> int:
        grid = np.arange(end - HOUR_MS, end + 1, 60_000, dtype=np.int64)
        with storage.querier(end - HOUR_MS - 60_000, end) as q:
            rows = []
            for s in q.select([Matcher.of("__name__", "=", QUERY_METRIC)]):
                csum = np.concatenate(([0.0], np.cumsum(s.values)))
                lo = np.searchsorted(s.timestamps, grid - 60_000, side="left")
                hi = np.searchsorted(s.timestamps, grid, side="right")
                with np.errstate(invalid="ignore", divide="ignore"):
                    rows.append((csum[hi] - csum[lo]) / (hi - lo))
            return int(np.isfinite(np.array(rows)).sum())

    def host_latest() -> int:
        with storage.querier(end - 300_000, end) as q:
            latest = [
                (s.labels, int(s.timestamps[-1]), float(s.values[-1]))
                for s in q.select([Matcher.of("instance", "=", QUERY_HOST)])
            ]
            return len(latest)

    queries = {
        name: median_ms(fn, args.query_runs)
        for name, fn in (("a", one_series), ("b", metric_avg), ("c", host_latest))
    }
    with storage.querier(end - 2 * HOUR_MS, end) as q:
        picked = list(q.select([Matcher.of(n, "=", v) for n, v in QUERY_SERIES]))
        series_a = [
            [t, v]
            for s in picked
            for t, v in zip(s.timestamps.tolist(), s.values.tolist(), strict=True)
        ]
    storage.close()
    return {
        "samples": stats.samples,
        "series": stats.series,
        "wall_s": wall,
        "cpu_s": cpu,
        "gen_cpu_s": sum(gen_cpu),
        "rss_delta": rss,
        "disk_ingest": disk_ingest,
        "disk_closed": dir_bytes(data_dir),
        "series_a": series_a,
        "queries": queries,
    }


def run_ours(args: argparse.Namespace, cfg: DataConfig, tmp: Path) -> dict[str, Any]:
    """Run the worker in a child process and return what it measured."""
    cmd = [
        sys.executable,
        __file__,
        "--ours-worker",
        json.dumps(asdict(cfg)),
        "--ours",
        args.ours,
        "--data-dir",
        str(tmp / "ours"),
        "--senders",
        str(args.senders),
        "--query-runs",
        str(args.query_runs),
    ]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=args.timeout, check=False)
    if proc.returncode != 0:
        raise SystemExit(f"ours worker failed ({proc.returncode}):\n{proc.stderr[-3000:]}")
    result: dict[str, Any] = json.loads(proc.stdout.strip().splitlines()[-1])
    return result


# ----------------------------------------------------------------------------- Prometheus


def run_prometheus(args: argparse.Namespace, cfg: DataConfig, tmp: Path) -> dict[str, Any]:
    """Send the data to a real Prometheus by remote write, then measure it the same way."""
    blocks = make_blocks(cfg)
    encoded = [[encode_labels(labels) for labels in b.labels] for b in blocks]
    with PrometheusProcess(tmp / "prometheus" / "data", free_port()) as prom:
        prom.wait_ready()
        gen_cpu = [0.0] * args.senders

        def send(i: int) -> None:
            client = RemoteWriteClient("127.0.0.1", prom.port)
            templates: dict[tuple[int, int], BodyTemplate] = {}
            try:
                for first, rounds in cfg.batches():
                    for block in blocks[i :: args.senders]:
                        t0 = time.thread_time()
                        key = (block.block, rounds)
                        if key not in templates:
                            templates[key] = BodyTemplate(encoded[block.block], rounds)
                        body = compress(templates[key].render(*block.batch(first, rounds)))
                        gen_cpu[i] += time.thread_time() - t0
                        client.send(body)
            finally:
                client.close()

        rss0 = proc_status(prom.pid, "VmRSS")
        cpu0 = cpu_seconds(prom.pid)
        own0 = time.process_time()
        wall = run_threads(args.senders, send)
        cpu = cpu_seconds(prom.pid) - cpu0
        sender_cpu = time.process_time() - own0
        rss = proc_status(prom.pid, "VmRSS")
        rss_delta = rss - rss0
        samples = prom.metric_sum("prometheus_tsdb_head_samples_appended_total")
        series = prom.metric_sum("prometheus_tsdb_head_series")
        disk_ingest = dir_bytes(prom.data_dir)
        end_s = f"{cfg.end_ms / 1000:.3f}"
        selector = ",".join(f'{n}="{v}"' for n, v in QUERY_SERIES[1:])
        series_q = f"{QUERY_SERIES[0][1]}{{{selector}}}[2h]"

        def one_series() -> int:
            result = prom.api("/api/v1/query", query=series_q, time=end_s)["result"]
            return sum(len(r["values"]) for r in result)

        def metric_avg() -> int:
            result = prom.api(
                "/api/v1/query_range",
                query=f"avg_over_time({QUERY_METRIC}[1m])",
                start=f"{(cfg.end_ms - HOUR_MS) / 1000:.3f}",
                end=end_s,
                step="60",
            )["result"]
            return sum(len(r["values"]) for r in result)

        def host_latest() -> int:
            query = f'{{instance="{QUERY_HOST}"}}'
            return len(prom.api("/api/v1/query", query=query, time=end_s)["result"])

        queries = {
            name: median_ms(fn, args.query_runs)
            for name, fn in (("a", one_series), ("b", metric_avg), ("c", host_latest))
        }
        picked = prom.api("/api/v1/query", query=series_q, time=end_s)["result"]
        series_a = [[round(float(t) * 1000), float(v)] for r in picked for t, v in r["values"]]
        snap = prom.api("/api/v1/admin/tsdb/snapshot", method="POST")["name"]
        block_bytes = dir_bytes(prom.data_dir / "snapshots" / snap)
    return {
        "samples": samples,
        "series": series,
        "wall_s": wall,
        "cpu_s": cpu,
        "gen_cpu_s": sum(gen_cpu),
        "sender_cpu_s": sender_cpu,
        "rss": rss,
        "rss_delta": rss_delta,
        "disk_ingest": disk_ingest,
        "disk_closed": block_bytes,
        "series_a": series_a,
        "queries": queries,
    }


def free_port() -> int:
    """A free TCP port on 127.0.0.1."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def cpu_seconds(pid: int) -> float:
    """User plus system CPU seconds of a process so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


# ----------------------------------------------------------------------------- report


def report(
    args: argparse.Namespace, cfg: DataConfig, prom: dict[str, Any], ours: dict[str, Any]
) -> None:
    """Print the configuration, the machine and the side-by-side table."""
    version = subprocess.run(
        ["prometheus", "--version"], capture_output=True, text=True, check=False
    ).stdout.split("\n", 1)[0]
    print(
        f"data: {cfg.hosts} hosts x {cfg.series_per_host} series = "
        f"{cfg.hosts * cfg.series_per_host:,} series, {cfg.hours:g} h at "
        f"{cfg.interval_ms / 1000:g} s ({cfg.rounds} rounds), {cfg.samples:,} samples, "
        f"{args.senders} senders, {cfg.rounds_per_batch} round(s) x {cfg.block_hosts} hosts "
        f"per request/commit, seed {cfg.seed}"
    )
    print(
        f"machine: nproc {os.cpu_count()}, Python {platform.python_version()}, {version}; "
        f"ours = {args.ours}"
    )
    n = cfg.samples
    series = cfg.hosts * cfg.series_per_host
    rows: list[tuple[str, float, float, str]] = [
        ("ingest samples/s (wall)", n / prom["wall_s"], n / ours["wall_s"], ">= 1.0"),
        (
            "ingest CPU-s per 1M samples",
            prom["cpu_s"] / n * 1e6,
            ours["cpu_s"] / n * 1e6,
            "<= 1.0 (info)",
        ),
        (
            "bytes/sample on disk after ingest",
            prom["disk_ingest"] / n,
            ours["disk_ingest"] / n,
            "<= 1.0",
        ),
        ("bytes/sample at rest", prom["disk_closed"] / n, ours["disk_closed"] / n, "<= 1.0"),
        (
            "resident bytes per series (delta)",
            prom["rss_delta"] / series,
            ours["rss_delta"] / series,
            "<= 1.0",
        ),
    ]
    labels = {
        "a": "(a) one series, 2 h raw, ms",
        "b": "(b) all hosts 1 h 1-min avg, ms",
        "c": "(c) latest values of one host, ms",
    }
    rows += [(labels[q], prom["queries"][q][0], ours["queries"][q][0], "<= 1.0") for q in "abc"]
    print(f"\n{'':36} {'prometheus':>14} {'ours':>14} {'ours/prom':>10}  target")
    for name, p, o, target in rows:
        ratio = f"{o / p:10.2f}" if p else f"{'n/a':>10}"
        print(f"{name:36} {p:14,.2f} {o:14,.2f} {ratio}  {target}")
    same = "identical" if prom["series_a"] == ours["series_a"] else "DIFFERENT"
    checks = " ".join(f"{q}={prom['queries'][q][1]}/{ours['queries'][q][1]}" for q in "abc")
    print(
        f"\nchecks (prometheus/ours): samples {prom['samples']:,.0f}/{ours['samples']:,}, "
        f"series {prom['series']:,.0f}/{ours['series']:,}, points {checks}; "
        f"series (a) timestamps and values {same}"
    )
    print(
        f"notes: Prometheus used {prom['cpu_s']:.1f} CPU-s; its senders (this process) "
        f"{prom['sender_cpu_s']:.1f} CPU-s of which generation+encoding "
        f"{prom['gen_cpu_s']:.1f}; ours' CPU includes its generation ({ours['gen_cpu_s']:.1f} "
        "CPU-s). Disk after ingest: Prometheus TSDB dir incl. WAL, ours data dir; at rest: "
        "Prometheus snapshot block of the head (chunks+index), ours data dir after close(). "
        "Memory: VmRSS growth from before ingest to after it / series (Prometheus "
        f"total VmRSS {prom['rss'] / 2**20:.0f} MiB). Queries: median of {args.query_runs}, "
        "Prometheus over HTTP incl. JSON, "
        "ours in-process (querier + select + numpy)."
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--hosts", type=int, default=1000)
    parser.add_argument("--series-per-host", type=int, default=200)
    parser.add_argument("--hours", type=float, default=2.0)
    parser.add_argument("--interval", default="5s", help="sample interval, e.g. 5s, 15s, 1m")
    parser.add_argument("--quick", action="store_true", help="smoke run: 50 hosts, 15 minutes")
    parser.add_argument("--ours", choices=("memory", "tsdb"), default="memory")
    parser.add_argument("--senders", type=int, default=2, help="sender / appender threads")
    parser.add_argument("--rounds-per-batch", type=int, default=1)
    parser.add_argument("--block-hosts", type=int, default=25, help="hosts per request/commit")
    parser.add_argument("--query-runs", type=int, default=20)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--timeout", type=float, default=6 * 3600, help="per side, seconds")
    parser.add_argument("--ours-worker", help=argparse.SUPPRESS)
    parser.add_argument("--data-dir", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.ours_worker:
        print(json.dumps(ours_worker(args)))
        return
    if args.quick:
        args.hosts, args.hours = 50, 0.25
    if args.ours == "tsdb":
        try:
            from multimonx.storage.tsdb import TSDB  # type: ignore[attr-defined,unused-ignore]  # noqa: F401
        except ImportError as err:
            print(f"SKIPPED: --ours tsdb needs multimonx.storage.tsdb.TSDB, not importable: {err}")
            return
    interval_ms = parse_interval(args.interval)
    now = int(time.time() * 1000)
    cfg = DataConfig(
        args.hosts,
        args.series_per_host,
        args.hours,
        interval_ms,
        end_ms=now - now % interval_ms - 180_000,
        seed=args.seed,
        block_hosts=args.block_hosts,
        rounds_per_batch=args.rounds_per_batch,
    )
    with tempfile.TemporaryDirectory(prefix="mmx-storagebench-") as tmp:
        prom = run_prometheus(args, cfg, Path(tmp))
        ours = run_ours(args, cfg, Path(tmp))
    report(args, cfg, prom, ours)


def parse_interval(text: str) -> int:
    """Milliseconds of ``5s``, ``15s``, ``1m`` or a bare number of seconds (at least 5 s)."""
    units = {"ms": 1, "s": 1000, "m": 60_000}
    unit = next((u for u in ("ms", "s", "m") if text.endswith(u)), "s")
    number = text[: -len(unit)] if text.endswith(unit) else text
    ms = int(float(number) * units[unit])
    if ms < 5000:
        raise SystemExit(f"--interval {text}: the benchmark is defined for 5 s or larger")
    return ms


if __name__ == "__main__":
    main()
