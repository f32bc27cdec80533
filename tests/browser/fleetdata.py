"""Generated node_exporter-like history for the browser tests' extra hosts, pushed to a real
server through the push API (``POST /api/v1/metrics/collect``) as an agent would send it.

Each host gets the series the dashboard's pages read (CPU per core and mode, load, memory and
swap, one file system, disk IO, network on ``eth0`` and ``lo``, sockets), as smooth
deterministic functions of time: the last hour every 15 s (so that ``rate(...[1m])`` has data
now), the 23 hours before every 60 s.
"""

from __future__ import annotations

import math
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass

from multimonx.model import COLLECT_PATH, MetricFamily
from multimonx.model.wire import encode_push, encode_round

GIB = 2.0**30
MODES = {"idle": 0.7, "user": 0.2, "system": 0.07, "iowait": 0.03}


@dataclass(frozen=True, slots=True)
class HistoryHost:
    """A host whose history the tests push: ``end_ms`` is its last sample, ``interval_s`` the
    push interval it reports (the fleet marks it down ``3 * interval_s`` after the push),
    ``load`` scales its activity (0.5 quiet, 2.0 busy)."""

    instance: str
    end_ms: int
    interval_s: float = 3600.0
    load: float = 1.0
    hours: float = 24.0
    cpus: int = 2


def sample_times(host: HistoryHost) -> Iterator[int]:
    """Every 60 s up to an hour before ``end_ms``, then every 15 s up to ``end_ms``."""
    start = host.end_ms - int(host.hours * 3_600_000)
    fine = host.end_ms - 3_600_000
    yield from range(start, fine, 60_000)
    yield from range(fine, host.end_ms + 1, 15_000)


def families(host: HistoryHost, t_ms: int) -> list[MetricFamily]:
    """The host's families at ``t_ms``: counters are the integrals of smooth rates."""
    s = t_ms / 1000
    wave = 0.5 + 0.4 * math.sin(s / 3600 * math.pi + len(host.instance))
    busy = min(0.95, host.load * 0.3 * wave)
    cpu_rows = []
    for core in range(host.cpus):
        for mode, share in MODES.items():
            rate = 1 - busy if mode == "idle" else busy * share / (1 - MODES["idle"])
            cpu_rows.append(((str(core), mode), round(s * rate + 1000 * (core + 1), 3)))
    mem_total = 8 * GIB
    avail = mem_total * (0.8 - 0.5 * busy)
    size = 100 * GIB
    net_rate = 20_000 * host.load * (1 + wave)
    nets = [("eth0", net_rate), ("lo", 500.0)]
    return [
        MetricFamily.counter(
            "node_cpu_seconds_total", "CPU seconds", ("cpu", "mode"), tuple(cpu_rows)
        ),
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
        *_filesystem(size, size * (0.6 - 0.2 * wave)),
        *_counters(
            "node_disk",
            "device",
            [("sda", s)],
            {
                "read_bytes_total": 50_000 * host.load,
                "written_bytes_total": 200_000 * host.load,
                "reads_completed_total": 5 * host.load,
                "writes_completed_total": 20 * host.load,
            },
        ),
        *_network(nets, s),
        MetricFamily.gauge("node_sockstat_TCP_inuse", "tcp", (), [((), 40 * host.load)]),
        MetricFamily.gauge("node_netstat_Tcp_CurrEstab", "tcp", (), [((), 30 * host.load)]),
    ]


def _filesystem(size: float, avail: float) -> list[MetricFamily]:
    labels = ("device", "fstype", "mountpoint")
    row = ("/dev/sda1", "ext4", "/")
    return [
        MetricFamily.gauge("node_filesystem_size_bytes", "fs", labels, [(row, size)]),
        MetricFamily.gauge("node_filesystem_avail_bytes", "fs", labels, [(row, avail)]),
        MetricFamily.gauge("node_filesystem_free_bytes", "fs", labels, [(row, avail * 1.05)]),
        MetricFamily.gauge("node_filesystem_files", "fs", labels, [(row, 6_553_600.0)]),
        MetricFamily.gauge("node_filesystem_files_free", "fs", labels, [(row, 6_000_000.0)]),
    ]


def _counters(
    prefix: str, label: str, items: list[tuple[str, float]], rates: dict[str, float]
) -> list[MetricFamily]:
    return [
        MetricFamily.counter(
            f"{prefix}_{name}", name, (label,), [((item,), round(s * rate)) for item, s in items]
        )
        for name, rate in rates.items()
    ]


def _network(nets: list[tuple[str, float]], s: float) -> list[MetricFamily]:
    out = []
    for direction in ("receive", "transmit"):
        for what, factor in (("bytes", 1.0), ("packets", 1 / 800), ("errs", 1e-6)):
            rows = [((dev,), round(s * rate * factor, 3)) for dev, rate in nets]
            name = f"node_network_{direction}_{what}_total"
            out.append(MetricFamily.counter(name, name, ("device",), rows))
    return out


def push_history(base_url: str, token: str, host: HistoryHost, rounds_per_push: int = 300) -> int:
    """Push ``host``'s whole history in time order, ``rounds_per_push`` rounds a request;
    returns the number of rounds. Raises on any answer other than 200."""
    agent = {
        "instance": host.instance,
        "version": "0.0.0-history",
        "interval_seconds": host.interval_s,
        "spool_bytes": 0,
        "dropped_samples": 0,
        "push_errors": 0,
    }
    labels = {"instance": host.instance, "job": "node"}
    rounds = [encode_round(t, labels, families(host, t)) for t in sample_times(host)]
    for i in range(0, len(rounds), rounds_per_push):
        body = encode_push(agent, rounds[i : i + rounds_per_push])
        request = urllib.request.Request(
            base_url + COLLECT_PATH,
            data=body,
            method="POST",
            headers={"Content-Type": "application/json", "Authorization": f"Bearer {token}"},
        )
        with urllib.request.urlopen(request, timeout=60) as response:
            if response.status != 200:
                raise RuntimeError(f"push of {host.instance}: HTTP {response.status}")
    return len(rounds)
