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
  batch. The worker runs as ``multimonx server`` would: its garbage-collector settings
  (``tune_gc``) and the engine's flushes of closed windows, driven by the data's time
  (``DataTimeFlush``) since hours of data arrive in minutes.

Printed for both and as ``ours/prometheus``: sustained ingest samples/s, bytes per sample on
disk, resident memory per series, and the median latency of (a) one series over 2 h, (b) one
metric of every host over 1 h as 1-minute averages at a 60 s step, (c) the latest values of one
host. Prometheus answers over HTTP (JSON included in its time), ours in-process.

    .venv/bin/python bench/storage.py --quick      # smoke run: 50 hosts, 15 min, under a minute
    .venv/bin/python bench/storage.py --ours tsdb  # 1,000 hosts x 200 series, 2 h at 5 s
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import asdict
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from multimonx.cli.gctune import tune_gc
from multimonx.model import Matcher
from nodegen import DataConfig, make_blocks
from procstat import cpu_seconds, free_port, proc_status
from remote_write import (
    BodyTemplate,
    PrometheusProcess,
    RemoteWriteClient,
    compress,
    encode_labels,
)

Floats = npt.NDArray[np.float64]
Ints = npt.NDArray[np.int64]


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


class DataTimeFlush:
    """The engine's background flush, driven by the data's clock instead of the wall's.

    The server flushes every minute the windows that ended ``flush_delay`` ago. The benchmark
    replays hours of data in minutes, so here the senders report how far their data has got
    and, each time the slowest of them has advanced another ``FLUSH_EVERY_MS`` of data time,
    one of them runs ``flush(now_ms=that time)`` in its own thread: the same work, in the same
    process, at the same points of the data as a server ingesting it live would do it.
    """

    FLUSH_EVERY_MS = 60_000

    def __init__(self, storage: Any, start_ms: int, senders: int) -> None:
        self._flush = getattr(storage, "flush", None)
        self._progress = [start_ms] * senders
        self._done = start_ms
        self._lock = threading.Lock()
        self.seconds = 0.0

    def reached(self, sender: int, data_ms: int) -> None:
        """``sender`` has appended everything before ``data_ms``."""
        self._progress[sender] = data_ms
        now = min(self._progress)
        if self._flush is None or now - self._done < self.FLUSH_EVERY_MS:
            return
        if not self._lock.acquire(blocking=False):
            return  # another sender is flushing
        try:
            if now - self._done >= self.FLUSH_EVERY_MS:
                t0 = time.perf_counter()
                self._flush(now_ms=now)
                self.seconds += time.perf_counter() - t0
                self._done = now
        finally:
            self._lock.release()


def ours_worker(args: argparse.Namespace) -> dict[str, Any]:
    """Ingest and query in this process; the measurements as a JSON-able dict."""
    cfg = DataConfig(**json.loads(args.ours_worker))
    data_dir = Path(args.data_dir)
    blocks = make_blocks(cfg)
    gc.collect()
    rss_before = proc_status(os.getpid(), "VmRSS")
    storage = open_ours(args.ours, data_dir)
    tune_gc()  # as `multimonx server` does once its storage is open
    gen_cpu = [0.0] * args.senders
    flusher = DataTimeFlush(storage, cfg.start_ms, args.senders)

    def ingest(i: int) -> None:
        mine = blocks[i :: args.senders]
        for first, rounds in cfg.batches():
            flusher.reached(i, cfg.start_ms + first * cfg.interval_ms)
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
        # avg_over_time(node_load1[1m]) at a 60 s step, every series in one vectorised pass
        # (as a PromQL engine evaluates range functions): series i's samples get the key
        # i * span + (t - base), so one searchsorted finds every window of every series.
        base = end - HOUR_MS - 60_000
        span = np.int64(end - base + 1)
        grid = np.arange(end - HOUR_MS, end + 1, 60_000, dtype=np.int64) - base
        with storage.querier(base, end) as q:
            found = list(q.select([Matcher.of("__name__", "=", QUERY_METRIC)]))
        if not found:
            return 0
        lengths = np.array([len(s.timestamps) for s in found], dtype=np.int64)
        owner = np.repeat(np.arange(len(found), dtype=np.int64), lengths)
        keys = owner * span + (np.concatenate([s.timestamps for s in found]) - base)
        csum = np.concatenate(([0.0], np.cumsum(np.concatenate([s.values for s in found]))))
        ends = (np.arange(len(found), dtype=np.int64)[:, None] * span + grid).ravel()
        lo = np.searchsorted(keys, ends - 60_000, side="left")
        hi = np.searchsorted(keys, ends, side="right")
        with np.errstate(invalid="ignore", divide="ignore"):
            avg = (csum[hi] - csum[lo]) / (hi - lo)
        return int(np.isfinite(avg).sum())

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
    if hasattr(storage, "flush"):
        # "At rest" is compared with Prometheus's snapshot of its whole head as a block, so
        # write every window as chunks here too (the engine would otherwise keep the newest
        # half hour in its log until the windows close).
        storage.flush(now_ms=end + 10 * HOUR_MS)
    storage.close()
    return {
        "samples": stats.samples,
        "series": stats.series,
        "wall_s": wall,
        "cpu_s": cpu,
        "gen_cpu_s": sum(gen_cpu),
        "flush_s": flusher.seconds,
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
        f"CPU-s) and its flushes of closed windows to chunks ({ours.get('flush_s', 0.0):.1f} s, "
        "run by data time as the server runs them by wall time). "
        "Disk after ingest: Prometheus TSDB dir incl. WAL, ours data dir; at rest: "
        "Prometheus snapshot block of the head (chunks+index), ours data dir after flushing every "
        "window and close(). "
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
