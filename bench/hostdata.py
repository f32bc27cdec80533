"""Generated node_exporter-like history of one host, pushed to a real server through the push
API (``POST /api/v1/metrics/collect``) as an agent would send it: the browser tests' extra
hosts (tests/browser/conftest.py) and the 24 h host of ``bench/dashboard.py``.

Each host gets the series the dashboard's host page reads (CPU per core and node_exporter
mode, load, memory and swap, the file systems of ``MOUNTS``, disk IO of ``sda``, network
bytes, packets, errors and drops on ``eth0`` and ``lo``, TCP connection states and sockets):
the last hour every 15 s (so that ``rate(...[1m])`` has data now), the hours before every
``coarse_s`` (60 s by default; 15 s gives the whole history at an agent's usual interval).
Gauges are smooth deterministic functions of time; counters add up their rates (also
functions of time) from one sample to the next, so they only grow and their ``rate()`` gives
the rates back: CPU seconds per mode summing to 1 s/s per CPU, disk some hundred KB/s,
network tens of KB/s.
A ``HostFeed`` continues a host's history (a sample every 15 s), so that its current values
(rates over the last minute) stay defined.
"""

from __future__ import annotations

import math
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass

from multimonx.model import COLLECT_PATH, MetricFamily
from multimonx.model.wire import encode_push, encode_round

GIB = 2.0**30
MODES = {
    "idle": 0.7,
    "user": 0.18,
    "system": 0.06,
    "iowait": 0.03,
    "irq": 0.005,
    "softirq": 0.01,
    "nice": 0.01,
    "steal": 0.005,
}
"""node_exporter's CPU modes and their shares of a CPU's time (the busy ones scale with load)."""
UPTIME_S = 86_400.0
"""How long each counter has been counting at its first sample's rate before the history."""

Rates = dict[tuple[str, tuple[str, ...]], float]
"""Per-second increase of each counter series: (family name, label values) -> rate."""

COUNTER_LABELS = {
    "node_cpu_seconds_total": ("cpu", "mode"),
    **{
        f"node_disk_{name}": ("device",)
        for name in (
            "read_bytes_total",
            "written_bytes_total",
            "reads_completed_total",
            "writes_completed_total",
        )
    },
    **{
        f"node_network_{direction}_{what}_total": ("device",)
        for direction in ("receive", "transmit")
        for what in ("bytes", "packets", "errs", "drop")
    },
}
MOUNTS = {"/": ("/dev/sda1", 100.0), "/boot": ("/dev/sda2", 1.0), "/home": ("/dev/sda3", 500.0)}
"""The host's ext4 file systems: mount point -> (device, size in GiB)."""
TCP_STATES = {"established": 30.0, "time_wait": 12.0, "close_wait": 1.0, "listen": 8.0}
"""``node_tcp_connection_states`` per state, at ``load`` 1."""


@dataclass(frozen=True, slots=True)
class HistoryHost:
    """A host whose history the tests push: ``end_ms`` is its last sample, ``interval_s`` the
    push interval it reports (the fleet marks it down ``3 * interval_s`` after the push),
    ``load`` scales its activity (0.5 quiet, 2.0 busy), ``hours`` of history with ``cpus``
    CPUs, sampled every ``coarse_s`` before its last hour (every 15 s in it)."""

    instance: str
    end_ms: int
    interval_s: float = 3600.0
    load: float = 1.0
    hours: float = 24.0
    cpus: int = 2
    coarse_s: float = 60.0


def sample_times(host: HistoryHost) -> Iterator[int]:
    """Every ``coarse_s`` up to an hour before ``end_ms``, then every 15 s up to ``end_ms``."""
    start = host.end_ms - int(host.hours * 3_600_000)
    fine = host.end_ms - 3_600_000
    yield from range(start, fine, int(host.coarse_s * 1000))
    yield from range(fine, host.end_ms + 1, 15_000)


def _wave(host: HistoryHost, s: float) -> float:
    """The host's activity between 0.1 and 0.9, a two-hour period, phase by its name."""
    return 0.5 + 0.4 * math.sin(s / 3600 * math.pi + len(host.instance))


def _busy(host: HistoryHost, s: float) -> float:
    """The share of each CPU not idle."""
    return min(0.95, host.load * 0.3 * _wave(host, s))


def counter_rates(host: HistoryHost, s: float) -> Rates:
    """Every counter series' rate at ``s`` (Unix seconds); all of them >= 0."""
    busy = _busy(host, s)
    wave = _wave(host, s)
    rates: Rates = {}
    busy_share = 1 - MODES["idle"]
    for core in range(host.cpus):
        for mode, share in MODES.items():
            rate = 1 - busy if mode == "idle" else busy * share / busy_share
            rates["node_cpu_seconds_total", (str(core), mode)] = rate
    disk = {
        "read_bytes_total": 50_000.0,
        "written_bytes_total": 200_000.0,
        "reads_completed_total": 5.0,
        "writes_completed_total": 20.0,
    }
    for name, rate in disk.items():
        rates[f"node_disk_{name}", ("sda",)] = rate * host.load * (0.5 + wave)
    nets = {"eth0": 20_000 * host.load * (1 + wave), "lo": 500.0}
    for direction, share in (("receive", 1.0), ("transmit", 0.6)):
        for what, factor in (("bytes", 1.0), ("packets", 1 / 800), ("errs", 1e-6), ("drop", 1e-5)):
            for device, rate in nets.items():
                sent = share if device != "lo" else 1.0  # the loopback receives what it sends
                rates[f"node_network_{direction}_{what}_total", (device,)] = rate * factor * sent
    return rates


class HostFeed:
    """One host's samples in time order, continued as long as the tests run: its history
    (``sample_times``), then, on ``push_until``, a sample every ``STEP_MS`` after its last.

    Counters start at ``UPTIME_S`` times their first rate and grow by the mean of the rates at
    both ends of each step times its length, so they never go back."""

    STEP_MS = 15_000

    def __init__(self, host: HistoryHost) -> None:
        self.host = host
        self._totals: Rates = {}
        self._last: tuple[float, Rates] | None = None
        self.last_ms: int | None = None

    def sample(self, t_ms: int) -> list[MetricFamily]:
        """The host's families at ``t_ms``, which must be after the previous sample's."""
        s = t_ms / 1000
        rates = counter_rates(self.host, s)
        if self._last is None:
            self._totals = {key: rate * UPTIME_S for key, rate in rates.items()}
        else:
            last_s, last_rates = self._last
            if s <= last_s:
                raise ValueError(f"{self.host.instance}: sample at {t_ms} ms is not the newest")
            for key, rate in rates.items():
                self._totals[key] += (rate + last_rates[key]) / 2 * (s - last_s)
        self._last = s, rates
        self.last_ms = t_ms
        return families(self.host, s, self._totals)

    def push_history(self, base_url: str, token: str) -> int:
        """Push the host's whole history; the number of rounds pushed."""
        return self._push(base_url, token, list(sample_times(self.host)))

    def push_until(self, base_url: str, token: str, end_ms: int) -> int:
        """Push a sample every ``STEP_MS`` after the last pushed, up to ``end_ms``; the
        number of rounds pushed (0 when the next one is not due yet)."""
        if self.last_ms is None:
            raise ValueError(f"{self.host.instance}: push its history first")
        times = list(range(self.last_ms + self.STEP_MS, end_ms + 1, self.STEP_MS))
        return self._push(base_url, token, times) if times else 0

    def _push(self, base_url: str, token: str, times: list[int], per_push: int = 300) -> int:
        agent = {
            "instance": self.host.instance,
            "version": "0.0.0-history",
            "interval_seconds": self.host.interval_s,
            "spool_bytes": 0,
            "dropped_samples": 0,
            "push_errors": 0,
        }
        labels = {"instance": self.host.instance, "job": "node"}
        rounds = [encode_round(t, labels, self.sample(t)) for t in times]
        for i in range(0, len(rounds), per_push):
            body = encode_push(agent, rounds[i : i + per_push])
            request = urllib.request.Request(
                base_url + COLLECT_PATH,
                data=body,
                method="POST",
                headers={"Content-Type": "application/json", "Authorization": f"Bearer {token}"},
            )
            with urllib.request.urlopen(request, timeout=60) as response:
                if response.status != 200:
                    raise RuntimeError(f"push of {self.host.instance}: HTTP {response.status}")
        return len(rounds)


def history(host: HistoryHost) -> Iterator[tuple[int, list[MetricFamily]]]:
    """The host's history in time order: (time in ms, families at that time)."""
    feed = HostFeed(host)
    for t_ms in sample_times(host):
        yield t_ms, feed.sample(t_ms)


def families(host: HistoryHost, s: float, totals: Rates) -> list[MetricFamily]:
    """The host's families at ``s`` (Unix seconds), with the counters' ``totals``."""
    busy = _busy(host, s)
    wave = _wave(host, s)
    mem_total = 8 * GIB
    avail = mem_total * (0.8 - 0.5 * busy)
    counters = [
        MetricFamily.counter(
            name,
            name,
            labels,
            [(row, round(value, 3)) for (family, row), value in totals.items() if family == name],
        )
        for name, labels in COUNTER_LABELS.items()
    ]
    return [
        *counters,
        MetricFamily.gauge("node_load1", "load 1m", (), [((), round(4 * busy, 2))]),
        MetricFamily.gauge("node_load5", "load 5m", (), [((), round(3.5 * busy, 2))]),
        MetricFamily.gauge("node_load15", "load 15m", (), [((), round(3 * busy, 2))]),
        MetricFamily.gauge("node_memory_MemTotal_bytes", "mem", (), [((), mem_total)]),
        MetricFamily.gauge("node_memory_MemAvailable_bytes", "mem", (), [((), avail)]),
        MetricFamily.gauge("node_memory_MemFree_bytes", "mem", (), [((), avail * 0.4)]),
        MetricFamily.gauge("node_memory_Buffers_bytes", "mem", (), [((), 0.2 * GIB)]),
        MetricFamily.gauge("node_memory_Cached_bytes", "mem", (), [((), avail * 0.5)]),
        MetricFamily.gauge("node_memory_SwapTotal_bytes", "swap", (), [((), 2 * GIB)]),
        MetricFamily.gauge("node_memory_SwapFree_bytes", "swap", (), [((), 1.5 * GIB)]),
        *_filesystems(wave),
        MetricFamily.gauge(
            "node_tcp_connection_states",
            "tcp",
            ("state",),
            [((state,), round(n * host.load * (0.5 + wave))) for state, n in TCP_STATES.items()],
        ),
        MetricFamily.gauge("node_sockstat_TCP_inuse", "tcp", (), [((), 40 * host.load)]),
        MetricFamily.gauge("node_netstat_Tcp_CurrEstab", "tcp", (), [((), 30 * host.load)]),
    ]


def _filesystems(wave: float) -> list[MetricFamily]:
    """``MOUNTS``' file systems, between 40 % and 80 % used as ``wave`` goes."""
    labels = ("device", "fstype", "mountpoint")
    rows = [((device, "ext4", mount), size * GIB) for mount, (device, size) in MOUNTS.items()]
    avail = [(row, size * (0.6 - 0.2 * wave - 0.1 * i)) for i, (row, size) in enumerate(rows)]
    return [
        MetricFamily.gauge("node_filesystem_size_bytes", "fs", labels, rows),
        MetricFamily.gauge("node_filesystem_avail_bytes", "fs", labels, avail),
        MetricFamily.gauge(
            "node_filesystem_free_bytes", "fs", labels, [(r, a * 1.05) for r, a in avail]
        ),
        MetricFamily.gauge(
            "node_filesystem_files", "fs", labels, [(r, 6_553_600.0) for r, _ in rows]
        ),
        MetricFamily.gauge(
            "node_filesystem_files_free", "fs", labels, [(r, 6_000_000.0) for r, _ in rows]
        ),
    ]


def push_history(base_url: str, token: str, host: HistoryHost) -> HostFeed:
    """Push ``host``'s whole history in time order; its feed, to continue it. Raises on any
    answer other than 200."""
    feed = HostFeed(host)
    feed.push_history(base_url, token)
    return feed
