"""Dashboard queries against our server and against Prometheus 2.42 holding the same data.

A deterministic fleet of ``--hosts`` node_exporter-like hosts: per host ``--cpus`` CPUs x 8
modes of ``node_cpu_seconds_total``, ``node_load1`` and the root filesystem's size and free
bytes every 15 s over the last 70 minutes, and ``node_memory_MemTotal_bytes`` and
``node_memory_MemAvailable_bytes`` every 30 s over ``--hours``. The data ends 15 minutes in
the future, so the friendly endpoints, which ask about "now", find it all.

- Prometheus: the data is written as OpenMetrics text and turned into TSDB blocks by
  ``promtool tsdb create-blocks-from openmetrics`` (remote write is too slow for a day of data
  and its head refuses old samples), then a real ``prometheus`` serves them.
- Ours: a worker process appends the data through the storage API in time order, flushes it
  to chunks, runs the tier job once, registers the hosts and closes; it also times the queries
  on the engine in-process ("engine" column). Then a real ``multimonx server`` serves the
  directory.

Each query is sent over HTTP (``/api/v1/query``, ``/api/v1/query_range``, JSON included)
``--runs`` times to each side after one warm-up; the table shows the medians, their ratio
(ours / Prometheus, the target being at most 1.0) and whether both sides returned the same
series and points, with values equal within 1e-6 on a sample of series. The friendly
endpoints have absolute targets (current < 20 ms, 24 h history < 100 ms).

    .venv/bin/python bench/query.py --quick   # 50 hosts, 2 h: a few minutes
    .venv/bin/python bench/query.py           # 1,000 hosts x 4 CPUs, 24 h: 10-20 minutes
"""

from __future__ import annotations

import argparse
import contextlib
import functools
import gc
import json
import math
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterable, Iterator
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, TypeVar

import numpy as np
import numpy.typing as npt

from procstat import free_port
from remote_write import PrometheusProcess

Floats = npt.NDArray[np.float64]
Ints = npt.NDArray[np.int64]
T = TypeVar("T")

FAST_MS = 15_000
"""Sample interval of the CPU, load and filesystem series."""
SLOW_MS = 30_000
"""Sample interval of the memory series."""
FAST_SPAN_MS = 70 * 60_000
"""How far back the 15 s series go (the 1 h queries plus their 5 min ranges)."""
AHEAD_MS = 15 * 60_000
"""How far past the wall clock the data goes."""
SCRAPE_OFFSET_MS = 250
"""Samples lie this far past the 15 s grid the queries are evaluated on: no window ``(t -
range, t]`` then starts exactly on a sample, where Prometheus 2.x's closed windows and 3.x's
left-open ones (ours) would differ."""
HOUR_MS = 3_600_000
CPU_MODES = ("idle", "user", "system", "iowait", "irq", "softirq", "nice", "steal")
CPU_SHARE = (0.80, 0.10, 0.05, 0.02, 0.005, 0.01, 0.005, 0.01)
GIB = 2.0**30
HOST = "host-0001"


@dataclass(frozen=True, slots=True)
class FleetSpec:
    """What to generate: ``end_ms`` is the last sample time (a multiple of 30 s)."""

    hosts: int
    cpus: int
    hours: float
    end_ms: int
    seed: int = 7

    @property
    def fast_times(self) -> Ints:
        times = np.arange(self.end_ms - FAST_SPAN_MS, self.end_ms + 1, FAST_MS, dtype=np.int64)
        return times + SCRAPE_OFFSET_MS

    @property
    def slow_times(self) -> Ints:
        start = self.end_ms - int(self.hours * HOUR_MS)
        return np.arange(start, self.end_ms + 1, SLOW_MS, dtype=np.int64) + SCRAPE_OFFSET_MS


@dataclass(frozen=True, slots=True)
class Family:
    """One metric family: its type and its series as (labels, timestamps, values)."""

    name: str
    type: str
    series: list[tuple[dict[str, str], Ints, Floats]]


FamiliesFunc = Callable[[FleetSpec], Iterable[Family]]
"""What generates a fleet's data (``fleet`` here; other benchmarks bring their own)."""


def instance(host: int) -> str:
    return f"host-{host + 1:04d}"


def _rng(spec: FleetSpec, family: int, host: int) -> np.random.Generator:
    return np.random.default_rng([spec.seed, family, host])


def _gauge(rng: np.random.Generator, size: int, mean: float, spread: float) -> Floats:
    """Smooth AR(1) noise around ``mean``."""
    noise = rng.normal(0.0, 1.0, size)
    out = np.empty(size)
    level = 0.0
    for i, step in enumerate(noise.tolist()):
        level = 0.97 * level + 0.25 * step
        out[i] = level
    return np.asarray(mean * (1.0 + spread * np.tanh(out)))


def fleet(spec: FleetSpec) -> Iterator[Family]:
    """Every family of the fleet, series by series (deterministic)."""
    fast, slow = spec.fast_times, spec.slow_times
    cpu: list[tuple[dict[str, str], Ints, Floats]] = []
    for host in range(spec.hosts):
        rng = _rng(spec, 0, host)
        for core in range(spec.cpus):
            for mode, share in zip(CPU_MODES, CPU_SHARE, strict=True):
                busy = share * 15.0 * rng.uniform(0.5, 1.5, fast.size)
                start = rng.uniform(1e4, 1e6) * share
                values = np.round(start + np.cumsum(busy), 2)
                labels = {"cpu": str(core), "instance": instance(host), "job": "node"}
                cpu.append(({**labels, "mode": mode}, fast, values))
    yield Family("node_cpu_seconds_total", "counter", cpu)
    yield Family(
        "node_load1",
        "gauge",
        [
            (_host_labels(host), fast, np.round(_gauge(_rng(spec, 1, host), fast.size, 2, 0.8), 2))
            for host in range(spec.hosts)
        ],
    )
    root = {"device": "/dev/vda1", "fstype": "ext4", "mountpoint": "/"}
    sizes = [float(100 * GIB * (1 + host % 4)) for host in range(spec.hosts)]
    yield Family(
        "node_filesystem_size_bytes",
        "gauge",
        [
            ({**_host_labels(host), **root}, fast, np.full(fast.size, sizes[host]))
            for host in range(spec.hosts)
        ],
    )
    yield Family(
        "node_filesystem_avail_bytes",
        "gauge",
        [
            (
                {**_host_labels(host), **root},
                fast,
                _pages(_gauge(_rng(spec, 2, host), fast.size, sizes[host] / 2, 0.2)),
            )
            for host in range(spec.hosts)
        ],
    )
    totals = [float(GIB * 2 ** (3 + host % 3)) for host in range(spec.hosts)]
    yield Family(
        "node_memory_MemTotal_bytes",
        "gauge",
        [
            (_host_labels(host), slow, np.full(slow.size, totals[host]))
            for host in range(spec.hosts)
        ],
    )
    yield Family(
        "node_memory_MemAvailable_bytes",
        "gauge",
        [
            (
                _host_labels(host),
                slow,
                _pages(_gauge(_rng(spec, 3, host), slow.size, totals[host] * 0.5, 0.6)),
            )
            for host in range(spec.hosts)
        ],
    )


def _pages(values: Floats) -> Floats:
    """Byte counts in whole 4 KiB pages, as the kernel reports them."""
    return np.asarray(np.round(values / 4096) * 4096)


def _host_labels(host: int) -> dict[str, str]:
    return {"instance": instance(host), "job": "node"}


# ----------------------------------------------------------------------------- the queries


@dataclass(frozen=True, slots=True)
class Query:
    """One request of the table: a PromQL query (instant at the data's end, or a range query
    ending there) sent to both sides, or a friendly endpoint of ours with a target in ms."""

    name: str
    promql: str = ""
    range_ms: int = 0
    step_ms: int = 0
    path: str = ""
    target_ms: float | None = None


QUERIES = (
    Query(
        "cpu by host, 1h/15s",
        'sum by (instance) (rate(node_cpu_seconds_total{mode!="idle"}[1m]))',
        HOUR_MS,
        15_000,
    ),
    Query(
        "cpu per core, 9 hosts",
        'rate(node_cpu_seconds_total{mode!="idle",instance=~"host-000.*"}[1m])',
        HOUR_MS,
        15_000,
    ),
    Query(
        "memory %, 24h/60s",
        "100 * (1 - node_memory_MemAvailable_bytes / node_memory_MemTotal_bytes)",
        24 * HOUR_MS,
        60_000,
    ),
    Query(
        "top-10 cpu, instant",
        'topk(10, sum by (instance) (rate(node_cpu_seconds_total{mode!="idle"}[5m])))',
    ),
    Query("one host latest", f'{{instance="{HOST}"}}'),
    Query("friendly current", path=f"/api/v1/metrics/current?host={HOST}", target_ms=20.0),
    Query(
        "friendly history 24h",
        path=f"/api/v1/metrics/history?host={HOST}&metric=memory.usage.percent&range=24h",
        target_ms=100.0,
    ),
)


def promql_params(query: Query, spec: FleetSpec) -> tuple[str, dict[str, str]]:
    """The API path and parameters of a PromQL query."""
    end_s = spec.end_ms / 1000
    if not query.range_ms:
        return "/api/v1/query", {"query": query.promql, "time": f"{end_s:.3f}"}
    hours = min(query.range_ms, int(spec.hours * HOUR_MS))
    return "/api/v1/query_range", {
        "query": query.promql,
        "start": f"{end_s - hours / 1000:.3f}",
        "end": f"{end_s:.3f}",
        "step": f"{query.step_ms / 1000:g}",
    }


def get(base: str, path: str, params: dict[str, str] | None = None) -> tuple[int, bytes]:
    """GET ``base + path`` with ``params``; (status, body) whatever the status."""
    url = base + path + (f"?{urllib.parse.urlencode(params)}" if params else "")
    try:
        with urllib.request.urlopen(url, timeout=600) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as err:
        return err.code, err.read()


def timed(fn: Callable[[], T], runs: int) -> tuple[float, T]:
    """Median wall milliseconds of ``fn`` over ``runs`` calls after one warm-up call, and what
    its last call returned."""
    result = fn()
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        result = fn()
        times.append((time.perf_counter() - started) * 1000)
    return statistics.median(times), result


def measure(base: str, spec: FleetSpec, runs: int, *, friendly: bool) -> dict[str, Any]:
    """Median latency, status and last answer of every query against one server."""
    out: dict[str, Any] = {}
    for query in QUERIES:
        if query.path and not friendly:
            continue
        if query.path:
            path, params = query.path, None
        else:
            path, params = promql_params(query, spec)
        ms, (status, body) = timed(functools.partial(get, base, path, params), runs)
        out[query.name] = {"ms": ms, "status": status, "body": body}
    return out


# ----------------------------------------------------------------------------- Prometheus


def write_openmetrics(spec: FleetSpec, path: Path, families: FamiliesFunc = fleet) -> int:
    """The fleet (``families(spec)``, this benchmark's by default) as OpenMetrics text;
    returns the number of samples."""
    samples = 0
    with path.open("w") as out:
        for family in families(spec):
            out.write(f"# TYPE {family.name} {family.type}\n")
            stamps: dict[int, list[str]] = {}  # the families' series share their time arrays
            for labels, ts, vs in family.series:
                pairs = ",".join(f'{k}="{v}"' for k, v in sorted(labels.items()))
                prefix = f"{family.name}{{{pairs}}} "
                seconds = stamps.get(id(ts))
                if seconds is None:
                    seconds = [f"{t // 1000}.{t % 1000:03d}" for t in ts.tolist()]
                    stamps[id(ts)] = seconds
                out.write(
                    "".join(
                        f"{prefix}{v!r} {t}\n" for v, t in zip(vs.tolist(), seconds, strict=True)
                    )
                )
                samples += len(seconds)
        out.write("# EOF\n")
    return samples


def prepare_prometheus(
    spec: FleetSpec, tmp: Path, families: FamiliesFunc = fleet
) -> dict[str, Any]:
    """Write Prometheus's blocks of ``families(spec)``; the time it took and the sample
    count."""
    data = tmp / "prometheus" / "data"
    data.mkdir(parents=True)
    text = tmp / "fleet.om"
    t0 = time.perf_counter()
    samples = write_openmetrics(spec, text, families)
    t1 = time.perf_counter()
    subprocess.run(
        ["promtool", "tsdb", "create-blocks-from", "openmetrics", str(text), str(data)],
        check=True,
        capture_output=True,
    )
    t2 = time.perf_counter()
    text.unlink()
    return {"samples": samples, "text_s": t1 - t0, "promtool_s": t2 - t1}


def run_prometheus(spec: FleetSpec, tmp: Path, runs: int) -> dict[str, Any]:
    with PrometheusProcess(tmp / "prometheus" / "data", free_port()) as prom:
        prom.wait_ready(deadline_s=300)
        return measure(f"http://127.0.0.1:{prom.port}", spec, runs, friendly=False)


# ----------------------------------------------------------------------------- ours


def ours_worker(spec: FleetSpec, data_dir: Path, runs: int) -> dict[str, Any]:
    """Load the fleet into our storage in time order, time the engine on it, register the
    hosts, close. Runs in its own process (``--ours-worker``)."""
    from multimonx.cli.gctune import tune_malloc
    from multimonx.cli.keys import METADATA_FILE
    from multimonx.cli.server import TSDB_DIR
    from multimonx.ingest import FleetRegistry
    from multimonx.model import Labels
    from multimonx.promql.engine import Engine
    from multimonx.storage import HostStore
    from multimonx.storage.tsdb import TSDB, TSDBOptions
    from multimonx.storage.tsdb.tiers import TierJob

    tune_malloc()  # as `multimonx server` does
    options = TSDBOptions(raw_retention_ms=3 * 24 * HOUR_MS, minute_retention_ms=14 * 24 * HOUR_MS)
    db = TSDB.open(data_dir / TSDB_DIR, options=options)
    series = [
        (Labels({"__name__": family.name, **labels}.items()), ts, vs)
        for family in fleet(spec)
        for labels, ts, vs in family.series
    ]
    t0 = time.perf_counter()
    start = spec.end_ms - int(spec.hours * HOUR_MS)
    for chunk_start in range(start, spec.end_ms + 1, 30 * 60_000):
        chunk_end = chunk_start + 30 * 60_000
        app = db.appender()
        for labels, ts, vs in series:
            lo, hi = np.searchsorted(ts, [chunk_start, chunk_end])
            for t, v in zip(ts[lo:hi].tolist(), vs[lo:hi].tolist(), strict=True):
                app.append(labels, t, v)
        app.commit()
        db.flush(now_ms=chunk_end)
    db.flush(now_ms=spec.end_ms + 10 * HOUR_MS)
    load_s = time.perf_counter() - t0
    t1 = time.perf_counter()
    TierJob(data_dir / TSDB_DIR / "chunks.db", options).run_once(int(time.time() * 1000))
    tier_s = time.perf_counter() - t1
    fleet_registry = FleetRegistry()
    fleet_registry.seed(db)
    hosts = HostStore(data_dir / METADATA_FILE)
    hosts.save(fleet_registry.snapshot())
    del series
    gc.collect()
    engine = Engine(db, timeout_s=600)
    engine_ms: dict[str, float] = {}
    for query in QUERIES:
        if query.path:
            continue
        end = spec.end_ms
        call: Callable[[], object]
        if query.range_ms:
            first = end - min(query.range_ms, int(spec.hours * HOUR_MS))
            call = functools.partial(engine.range, query.promql, first, end, query.step_ms)
        else:
            call = functools.partial(engine.instant, query.promql, end)
        engine_ms[query.name] = timed(call, runs)[0]
    stats = db.stats()
    db.close()
    return {
        "samples": stats.samples,
        "series": stats.series,
        "load_s": load_s,
        "tier_s": tier_s,
        "engine_ms": engine_ms,
    }


def prepare_ours(spec: FleetSpec, tmp: Path, runs: int, timeout: float) -> dict[str, Any]:
    cmd = [
        sys.executable,
        __file__,
        "--ours-worker",
        json.dumps(asdict(spec)),
        "--data-dir",
        str(tmp / "ours"),
        "--runs",
        str(runs),
    ]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, check=False)
    if proc.returncode != 0:
        raise SystemExit(f"ours worker failed ({proc.returncode}):\n{proc.stderr[-3000:]}")
    result: dict[str, Any] = json.loads(proc.stdout.strip().splitlines()[-1])
    return result


@contextlib.contextmanager
def multimonx_server(tmp: Path, settings: str = "") -> Iterator[tuple[str, int]]:
    """``multimonx server`` over ``tmp / "ours"`` (the worker's directory), its config being
    this benchmark's plus ``settings`` (YAML, top-level sections); yields its base URL and PID
    once it is healthy and stops it by PID on exit."""
    port = free_port()
    data_dir = tmp / "ours"
    config = tmp / "server.yml"
    config.write_text(
        f"listen_address: 127.0.0.1:{port}\n"
        "storage:\n  sync: interval\n"
        "  retention: {raw: 3d, one_minute: 14d, five_minutes: 90d}\n"
        "query:\n  timeout: 10m\n" + settings
    )
    binary = shutil.which("multimonx", path=str(Path(sys.executable).parent)) or "multimonx"
    log = (tmp / "server.log").open("wb")
    proc = subprocess.Popen(
        [binary, "server", "--config", str(config), "--data-dir", str(data_dir)],
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 300
        while True:
            if proc.poll() is not None:
                raise SystemExit(f"multimonx server exited with {proc.returncode}, see its log")
            try:
                if get(base, "/api/v1/health")[0] == 200:
                    break
            except OSError:
                pass
            if time.monotonic() > deadline:
                raise SystemExit("multimonx server did not become healthy in 300 s")
            time.sleep(0.2)
        yield base, proc.pid
    finally:
        proc.terminate()
        try:
            proc.wait(60)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        log.close()


def run_ours(spec: FleetSpec, tmp: Path, runs: int) -> dict[str, Any]:
    """Start ``multimonx server`` over the prepared directory and measure it."""
    with multimonx_server(tmp) as (base, _):
        return measure(base, spec, runs, friendly=True)


# ----------------------------------------------------------------------------- report


def shape(body: bytes) -> tuple[int, int, dict[str, list[tuple[float, float]]]] | None:
    """Series count, point count and points by labels of a /api/v1 JSON answer."""
    try:
        data = json.loads(body)["data"]
    except (ValueError, KeyError, TypeError):
        return None
    series: dict[str, list[tuple[float, float]]] = {}
    for one in data.get("result", []):
        key = json.dumps(one.get("metric", {}), sort_keys=True)
        if "values" in one:
            series[key] = [(float(t), float(v)) for t, v in one["values"]]
        else:
            t, v = one["value"]
            series[key] = [(float(t), float(v))]
    return len(series), sum(len(p) for p in series.values()), series


def check(prom_body: bytes, ours_body: bytes) -> str:
    """Whether both answers hold the same series and points, values within 1e-6."""
    theirs, ours = shape(prom_body), shape(ours_body)
    if theirs is None or ours is None:
        return "no data" if ours is None else "prometheus: no data"
    if theirs[:2] != ours[:2]:
        return f"differs: {ours[0]}/{ours[1]} vs {theirs[0]}/{theirs[1]} series/points"
    for key in sorted(theirs[2])[:: max(1, len(theirs[2]) // 25)]:
        mine = ours[2].get(key)
        if mine is None:
            return f"missing series {key}"
        for (t1, v1), (t2, v2) in zip(theirs[2][key], mine, strict=True):
            both_nan = math.isnan(v1) and math.isnan(v2)
            same = both_nan or v1 == v2 or math.isclose(v1, v2, rel_tol=1e-6)
            if t1 != t2 or not same:
                return f"differs at {key} t={t1}: {v2} vs {v1}"
    return f"ok ({ours[0]} series, {ours[1]} points)"


def report(
    args: argparse.Namespace,
    spec: FleetSpec,
    prep: dict[str, Any],
    prom: dict[str, Any],
    ours: dict[str, Any],
    loaded: dict[str, Any],
) -> None:
    print(
        f"\n{spec.hosts} hosts x {spec.cpus} CPUs, {spec.hours:g} h; {prep['samples']:,} samples "
        f"({loaded['series']:,} series in ours). Prometheus blocks: text "
        f"{prep['text_s']:.0f} s + promtool {prep['promtool_s']:.0f} s; ours load "
        f"{loaded['load_s']:.0f} s + tiers {loaded['tier_s']:.0f} s. Median of {args.runs} runs.\n"
    )
    header = f"{'query':<22} {'prometheus ms':>14} {'ours ms':>10} {'ratio':>7} {'target':>8} "
    header += f"{'engine ms':>10}  check"
    print(header)
    print("-" * len(header))
    for query in QUERIES:
        mine = ours[query.name]
        engine = loaded["engine_ms"].get(query.name)
        engine_text = f"{engine:10.1f}" if engine is not None else f"{'':>10}"
        status = "" if mine["status"] == 200 else f"HTTP {mine['status']}: "
        if query.path:
            target = f"<{query.target_ms:g} ms"
            verdict = "ok" if mine["ms"] < (query.target_ms or 0) else "over target"
            print(
                f"{query.name:<22} {'-':>14} {mine['ms']:10.1f} {'-':>7} {target:>8} "
                f"{engine_text}  {status}{verdict if not status else mine['body'][:80]!r}"
            )
            continue
        theirs = prom[query.name]
        ratio = mine["ms"] / theirs["ms"] if theirs["ms"] else math.inf
        verdict = check(theirs["body"], mine["body"]) if not status else repr(mine["body"][:80])
        print(
            f"{query.name:<22} {theirs['ms']:14.1f} {mine['ms']:10.1f} {ratio:7.2f} "
            f"{'<=1.0':>8} {engine_text}  {status}{verdict}"
        )
    print(
        "\nprometheus/ours ms: HTTP round trip incl. JSON (urllib, one connection per request); "
        "engine ms: our Engine in-process on the same store, no HTTP/JSON."
    )


def prepared(
    args: argparse.Namespace, spec: FleetSpec
) -> tuple[FleetSpec, dict[str, Any], dict[str, Any]]:
    """The fleet, Prometheus's preparation and our load figures of ``args.data``: read back
    when an earlier run prepared the same fleet there and its data still reaches the present
    (the friendly endpoints answer for "now"), else prepared now. The engine figures of a
    reused directory are those of the run that prepared it."""
    record = args.data / "prepared.json"
    if record.exists():
        saved = json.loads(record.read_text())
        again = FleetSpec(**saved["spec"])
        current = time.time() * 1000 < again.end_ms - 60_000
        if current and (again.hosts, again.cpus, again.hours) == (
            spec.hosts,
            spec.cpus,
            spec.hours,
        ):
            print(f"reusing the data prepared in {args.data}", flush=True)
            return again, saved["prep"], saved["loaded"]
    if args.data.exists():
        shutil.rmtree(args.data)
    args.data.mkdir(parents=True)
    print(f"preparing Prometheus's blocks in {args.data} ...", flush=True)
    prep = prepare_prometheus(spec, args.data)
    print("loading ours ...", flush=True)
    loaded = prepare_ours(spec, args.data, args.runs, args.timeout)
    record.write_text(json.dumps({"spec": asdict(spec), "prep": prep, "loaded": loaded}))
    return spec, prep, loaded


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--hosts", type=int, default=1000)
    parser.add_argument("--cpus", type=int, default=4)
    parser.add_argument("--hours", type=float, default=24.0)
    parser.add_argument("--runs", type=int, default=5, help="timed runs per query and side")
    parser.add_argument("--quick", action="store_true", help="50 hosts, 2 h, 3 runs")
    parser.add_argument("--keep", action="store_true", help="keep the data directories")
    parser.add_argument(
        "--data",
        type=Path,
        help="prepare both sides' data here once, and reuse it on later runs with the same fleet",
    )
    parser.add_argument("--timeout", type=float, default=3600, help="for loading ours, seconds")
    parser.add_argument("--ours-worker", help=argparse.SUPPRESS)
    parser.add_argument("--data-dir", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.ours_worker:
        spec = FleetSpec(**json.loads(args.ours_worker))
        print(json.dumps(ours_worker(spec, Path(args.data_dir), args.runs)))
        return
    if args.quick:
        args.hosts, args.hours, args.runs = 50, 2.0, 3
    now = int(time.time() * 1000) + AHEAD_MS
    spec = FleetSpec(args.hosts, args.cpus, args.hours, end_ms=now - now % SLOW_MS)
    if args.data:
        spec, prep, loaded = prepared(args, spec)
        prom = run_prometheus(spec, args.data, args.runs)
        ours = run_ours(spec, args.data, args.runs)
        report(args, spec, prep, prom, ours, loaded)
        return
    tmp = Path(tempfile.mkdtemp(prefix="mmx-querybench-"))
    try:
        print(f"preparing Prometheus's blocks in {tmp} ...", flush=True)
        prep = prepare_prometheus(spec, tmp)
        print("loading ours ...", flush=True)
        loaded = prepare_ours(spec, tmp, args.runs, args.timeout)
        print("querying Prometheus ...", flush=True)
        prom = run_prometheus(spec, tmp, args.runs)
        print("querying ours ...", flush=True)
        ours = run_ours(spec, tmp, args.runs)
    finally:
        if not args.keep:
            shutil.rmtree(tmp, ignore_errors=True)
    report(args, spec, prep, prom, ours, loaded)


if __name__ == "__main__":
    main()
