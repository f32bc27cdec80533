"""Rule evaluation: the default rule pack over a fleet, ours against Prometheus 2.42.

The default pack (``src/multimonx/rules/default_rules.yml``: one group of 10 alerting rules
over node_exporter's metric names) is evaluated over a deterministic fleet of ``--hosts``
hosts: per host ``--cpus`` CPUs x 8 modes of ``node_cpu_seconds_total``, memory total and
available, four file systems (ext4 ``/``, vfat ``/boot/efi``, xfs ``/var`` and a tmpfs
``/run`` that the rules filter out), received and transmitted packets, drops and errors of
``eth0`` and ``lo`` (filtered out), and ``up``, every 15 s. The file system series reach back
80 minutes (``predict_linear(...[1h])``), the others 35; all end 15 minutes in the future, so
both servers, which evaluate at "now", find full windows. One host in 50 is hot for each kind
of rule (2 % of the fleet each): CPU, memory, a root file system filling up, iowait, packet
loss, ``up == 0``; every rule then returns alerts.

- Prometheus: the data is written as OpenMetrics and turned into blocks by ``promtool``
  (``bench/query.py``'s building blocks), then a real ``prometheus`` evaluates the same rule
  file every ``--interval`` seconds (out-of-order window on, so that its ``ALERTS`` samples
  are stored behind the blocks' data like ours).
- Ours: a worker process appends the data through the storage API in time order, flushing
  as a server would (what ended 5 minutes before now goes to chunks, the rest stays in the
  head and its log). Then a real ``multimonx server`` on that directory evaluates the default
  pack every ``--interval`` seconds (``rules.evaluation_interval``).

Both servers' ``evaluationTime`` of the group (and of each rule) is read from
``/api/v1/rules`` over ``--runs`` evaluations after the first one: that is the figure that
counts (target: under 1 s per round at 1,000 hosts). Then, to explain it, the group is
evaluated in this process on the same directory (opened as the server opens it) with
``GroupState.eval`` at a fixed timestamp, storing its output as the server does, ``--runs``
times after a warm-up; per-rule times come from ``GroupState.status()``.

    .venv/bin/python bench/rule_eval.py --quick   # 50 hosts: about a minute
    .venv/bin/python bench/rule_eval.py           # 1,000 hosts x 4 CPUs: 2 to 5 minutes
"""

from __future__ import annotations

import argparse
import enum
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from dataclasses import asdict, dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np

from procstat import cpu_seconds, free_port, machine_cpu_seconds
from query import (
    AHEAD_MS,
    CPU_MODES,
    CPU_SHARE,
    FAST_MS,
    GIB,
    SCRAPE_OFFSET_MS,
    Family,
    FleetSpec,
    Floats,
    Ints,
    get,
    instance,
    multimonx_server,
    prepare_prometheus,
)
from remote_write import PrometheusProcess

MINUTE_MS = 60_000
FS_SPAN_MS = 80 * MINUTE_MS
"""How far back the file system series go: predict_linear's 1 h window, the 15 min ahead,
and a margin for the time the benchmark takes."""
SPAN_MS = 35 * MINUTE_MS
"""How far back the other series go: 20 minutes before "now" (5 min rate windows while the
benchmark runs) and the 15 min ahead."""
TARGET_S = 1.0
"""The issue's target: one evaluation round of the default pack at 1,000 hosts."""
SERVER, PROMETHEUS, IN_PROCESS = (
    "ours: server (/api/v1/rules)",
    "prometheus 2.42 (/api/v1/rules)",
    "ours: in-process (GroupState.eval)",
)
"""The sides of the table."""
ROLES = 50
"""Host ``i`` plays role ``i % ROLES``: the first few roles are hot hosts (one kind each)."""


class Role(enum.IntEnum):
    """What crosses a threshold on a hot host (``host % ROLES``); other hosts are calm."""

    CPU = 0
    MEMORY = 1
    DISK = 2
    IOWAIT = 3
    PACKET_LOSS = 4
    DOWN = 5


def role(host: int) -> Role | None:
    """The hot role of ``host``, None for a calm host."""
    r = host % ROLES
    return Role(r) if r < len(Role) else None


EXPECTED = {
    "HostDown": Role.DOWN,
    "HostCpuHigh": Role.CPU,
    "HostCpuCritical": Role.CPU,
    "HostMemoryHigh": Role.MEMORY,
    "HostMemoryCritical": Role.MEMORY,
    "HostDiskHigh": Role.DISK,
    "HostDiskCritical": Role.DISK,
    "HostDiskWillFillIn4Hours": Role.DISK,
    "HostIowaitHigh": Role.IOWAIT,
    "HostPacketLoss": Role.PACKET_LOSS,
}
"""Which hosts each default rule alerts on."""

_CPU_HOT = (0.02, 0.85, 0.08, 0.01, 0.005, 0.01, 0.005, 0.02)  # 98 % busy
_CPU_IOWAIT = (0.25, 0.08, 0.04, 0.60, 0.005, 0.01, 0.005, 0.01)  # 60 % iowait, 75 % busy
_MOUNTS = (  # device, fstype, mountpoint, size in GiB, free share
    ("/dev/vda1", "ext4", "/", 100.0, 0.55),
    ("/dev/vda15", "vfat", "/boot/efi", 0.5, 0.9),
    ("/dev/vdb1", "xfs", "/var", 500.0, 0.4),
    ("tmpfs", "tmpfs", "/run", 1.5, 0.03),  # full, but the rules leave tmpfs out
)
_NET = (("eth0", 500.0), ("lo", 100.0))  # device, packets per second each way


def rule_fleet(spec: FleetSpec) -> Iterator[Family]:
    """Every family the default rules read, series by series (deterministic)."""
    end = spec.end_ms + SCRAPE_OFFSET_MS
    times = np.arange(end - SPAN_MS, end + 1, FAST_MS, dtype=np.int64)
    fs_times = np.arange(end - FS_SPAN_MS, end + 1, FAST_MS, dtype=np.int64)
    hosts = range(spec.hosts)
    yield Family("node_cpu_seconds_total", "counter", [s for h in hosts for s in _cpu(spec, h)])
    totals = [GIB * 2 ** (3 + h % 3) for h in hosts]
    yield Family(
        "node_memory_MemTotal_bytes",
        "gauge",
        [(_labels(h), times, np.full(times.size, totals[h])) for h in hosts],
    )
    yield Family(
        "node_memory_MemAvailable_bytes",
        "gauge",
        [(_labels(h), times, _memory_available(spec, h, times, totals[h])) for h in hosts],
    )
    yield Family("node_filesystem_size_bytes", "gauge", list(_filesystems(spec, fs_times, "size")))
    yield Family(
        "node_filesystem_avail_bytes", "gauge", list(_filesystems(spec, fs_times, "avail"))
    )
    for direction in ("receive", "transmit"):
        for what in ("packets", "drop", "errs"):
            name = f"node_network_{direction}_{what}_total"
            yield Family(name, "counter", list(_network(spec, times, direction, what)))
    yield Family(
        "up",
        "gauge",
        [
            (_labels(h), times, np.full(times.size, 0.0 if role(h) is Role.DOWN else 1.0))
            for h in hosts
        ],
    )


def _labels(host: int) -> dict[str, str]:
    return {"instance": instance(host), "job": "node"}


def _rng(spec: FleetSpec, *key: int) -> np.random.Generator:
    return np.random.default_rng([spec.seed, *key])


def _cpu(spec: FleetSpec, host: int) -> Iterator[tuple[dict[str, str], Ints, Floats]]:
    end = spec.end_ms + SCRAPE_OFFSET_MS
    times = np.arange(end - SPAN_MS, end + 1, FAST_MS, dtype=np.int64)
    hot = role(host)
    shares = np.array(
        _CPU_HOT if hot is Role.CPU else _CPU_IOWAIT if hot is Role.IOWAIT else CPU_SHARE
    )
    rng = _rng(spec, 0, host)
    busy = shares[None, :, None] * 15.0 * rng.uniform(0.9, 1.1, (spec.cpus, 8, times.size))
    start = rng.uniform(1e4, 1e6, (spec.cpus, 8, 1)) * shares[None, :, None]
    values = np.round(start + np.cumsum(busy, axis=2), 2)
    for core in range(spec.cpus):
        for m, mode in enumerate(CPU_MODES):
            labels = {"cpu": str(core), **_labels(host), "mode": mode}
            yield labels, times, values[core, m]


def _memory_available(spec: FleetSpec, host: int, times: Ints, total: float) -> Floats:
    rng = _rng(spec, 1, host)
    level = 0.03 if role(host) is Role.MEMORY else 0.5
    phase = rng.uniform(0, 2 * np.pi)
    wave = np.sin(phase + 2 * np.pi * (times - times[0]) / (20 * MINUTE_MS))
    share = level * (1 + 0.2 * wave + 0.02 * rng.standard_normal(times.size))
    return np.asarray(np.round(total * share / 4096) * 4096)


def _filesystems(
    spec: FleetSpec, times: Ints, what: str
) -> Iterator[tuple[dict[str, str], Ints, Floats]]:
    """Size or free bytes of every mount: steady, but the root of a DISK host fills up (12 %
    free 80 minutes before the end, 4 % at the end: over 90 % full and, at that rate, full
    within the hour)."""
    for host in range(spec.hosts):
        for m, (device, fstype, mountpoint, gib, free) in enumerate(_MOUNTS):
            labels = {**_labels(host), "device": device, "fstype": fstype}
            labels["mountpoint"] = mountpoint
            size = gib * GIB
            if what == "size":
                yield labels, times, np.full(times.size, size)
                continue
            if role(host) is Role.DISK and mountpoint == "/":
                share = np.linspace(0.12, 0.04, times.size)
            else:
                jitter = _rng(spec, 2, host, m).normal(0.0, 1e-5, times.size)
                share = free * (1 + np.cumsum(jitter))
            yield labels, times, np.asarray(np.round(size * share / 4096) * 4096)


def _network(
    spec: FleetSpec, times: Ints, direction: str, what: str
) -> Iterator[tuple[dict[str, str], Ints, Floats]]:
    """Packet, drop and error counters: drops are 0.002 % of the packets (5 % on a
    PACKET_LOSS host's eth0), errors rarer still."""
    key = ("receive", "transmit").index(direction) * 3 + ("packets", "drop", "errs").index(what)
    for host in range(spec.hosts):
        rng = _rng(spec, 3, host, key)
        for device, pps in _NET:
            if what == "packets":
                rate = pps
            elif what == "drop":
                lossy = role(host) is Role.PACKET_LOSS and device == "eth0"
                rate = pps * (0.05 if lossy else 2e-5)
            else:
                rate = pps * 1e-6
            counts = rng.poisson(rate * FAST_MS / 1000, times.size)
            start = float(rng.integers(0, 10**9) * (rate / pps))
            yield {"device": device, **_labels(host)}, times, start + np.cumsum(counts, dtype=float)


# ----------------------------------------------------------------------------- ours: loading


def load_ours(spec: FleetSpec, data_dir: Path) -> dict[str, Any]:
    """Append the fleet to our TSDB in ``data_dir`` in time order, flushing as a running
    server would have by now, and close it; the sample and series counts and seconds taken."""
    from multimonx.cli.gctune import tune_malloc
    from multimonx.cli.server import TSDB_DIR
    from multimonx.model import Labels
    from multimonx.storage.journal import JournalSync
    from multimonx.storage.tsdb import TSDB, TSDBOptions

    tune_malloc()  # as `multimonx server` does
    db = TSDB.open(data_dir / TSDB_DIR, options=TSDBOptions(log_sync=JournalSync.NORMAL))
    series = [
        (Labels({"__name__": family.name, **labels}.items()), ts, vs)
        for family in rule_fleet(spec)
        for labels, ts, vs in family.series
    ]
    now = int(time.time() * 1000)
    started = time.perf_counter()
    step = 10 * MINUTE_MS
    for lo in range(spec.end_ms - FS_SPAN_MS, spec.end_ms + 1, step):
        app = db.appender()
        for labels, ts, vs in series:
            i, j = np.searchsorted(ts, [lo, lo + step])
            for t, v in zip(ts[i:j].tolist(), vs[i:j].tolist(), strict=True):
                app.append(labels, t, v)
        app.commit()
        db.flush(now_ms=min(lo + step, now))
    db.flush(now_ms=int(time.time() * 1000))
    stats = db.stats()
    db.close()
    return {
        "samples": stats.samples,
        "series": stats.series,
        "load_s": time.perf_counter() - started,
    }


def prepare_ours(spec: FleetSpec, tmp: Path) -> dict[str, Any]:
    """``load_ours`` in a worker process (a fresh heap, and the server opens the directory
    afterwards as after a restart)."""
    cmd = [sys.executable, __file__, "--ours-worker", json.dumps(asdict(spec)), str(tmp / "ours")]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=3600, check=False)
    if proc.returncode != 0:
        raise SystemExit(f"ours worker failed ({proc.returncode}):\n{proc.stderr[-3000:]}")
    result: dict[str, Any] = json.loads(proc.stdout.strip().splitlines()[-1])
    return result


# ----------------------------------------------------------------------------- rounds


@dataclass(slots=True)
class Rounds:
    """Evaluation rounds of the group on one side: the group's seconds per round, each
    rule's seconds per round, each rule's active alerts in the last round, and the share of
    the machine's CPU that other processes took meanwhile (this benchmark and the evaluating
    process left out): how much the figures were disturbed on a shared machine."""

    seconds: list[float] = field(default_factory=list)
    rules: dict[str, list[float]] = field(default_factory=dict)
    alerts: dict[str, int] = field(default_factory=dict)
    others: float = 0.0

    def add(self, seconds: float, rules: Sequence[tuple[str, float, int]]) -> None:
        """One round: the group's time and each rule's (name, seconds, active alerts)."""
        self.seconds.append(seconds)
        for name, rule_s, alerts in rules:
            self.rules.setdefault(name, []).append(rule_s)
            self.alerts[name] = alerts

    def median(self, rule: str = "") -> float:
        """The median seconds of the group, or of one rule."""
        values = self.rules.get(rule, []) if rule else self.seconds
        return statistics.median(values) if values else float("nan")


class OthersMeter:
    """The share of the machine's CPU that processes other than ``pids`` use from now on."""

    def __init__(self, *pids: int) -> None:
        self.pids = pids
        self.start = self._read()

    def _read(self) -> tuple[float, float, float]:
        busy, total = machine_cpu_seconds()
        return busy, total, sum(cpu_seconds(pid) for pid in self.pids)

    def share(self) -> float:
        """Others' CPU seconds over the machine's (all CPUs) since construction."""
        (b0, t0, o0), (b1, t1, o1) = self.start, self._read()
        return max(0.0, (b1 - b0) - (o1 - o0)) / (t1 - t0) if t1 > t0 else 0.0


def api_rounds(base: str, pid: int, rounds: int, interval_s: float) -> Rounds:
    """``rounds`` evaluations of the (only) rule group read from ``base``'s
    ``/api/v1/rules`` (served by process ``pid``), after its first one (a warm-up: series
    are created, state restored)."""
    out = Rounds()
    meter: OthersMeter | None = None
    last = ""
    seen = 0
    deadline = time.monotonic() + 300 + (rounds + 2) * max(interval_s, 30.0)
    while len(out.seconds) < rounds:
        if time.monotonic() > deadline:
            raise SystemExit(f"{base}: only {len(out.seconds)} evaluations before the deadline")
        status, body = get(base, "/api/v1/rules")
        group = json.loads(body)["data"]["groups"][0] if status == 200 else None
        if (
            group
            and group["lastEvaluation"] != last
            and not group["lastEvaluation"].startswith("0001-")
        ):
            last = group["lastEvaluation"]
            seen += 1
            if seen == 1:
                meter = OthersMeter(os.getpid(), pid)
            else:
                out.add(
                    group["evaluationTime"],
                    [(r["name"], r["evaluationTime"], len(r["alerts"])) for r in group["rules"]],
                )
        time.sleep(min(1.0, interval_s / 4))
    out.others = meter.share() if meter else 0.0
    return out


def run_ours(tmp: Path, rounds: int, interval_s: float) -> Rounds:
    """``multimonx server`` evaluating the default pack every ``interval_s``."""
    settings = f"rules:\n  evaluation_interval: {interval_s:g}s\n"
    with multimonx_server(tmp, settings) as (base, pid):
        return api_rounds(base, pid, rounds, interval_s)


def run_prometheus(tmp: Path, rounds: int, interval_s: float) -> Rounds:
    """Prometheus evaluating the same rule file every ``interval_s``."""
    rule_file = tmp / "default_rules.yml"
    pack = resources.files("multimonx.rules").joinpath("default_rules.yml")
    rule_file.write_text(pack.read_text(encoding="utf-8"))
    config = (
        f"global:\n  scrape_interval: 1h\n  evaluation_interval: {interval_s:g}s\n"
        f"rule_files: ['{rule_file}']\nscrape_configs: []\n"
        "storage:\n  tsdb:\n    out_of_order_time_window: 2h\n"
    )
    with PrometheusProcess(tmp / "prometheus" / "data", free_port(), config=config) as prom:
        prom.wait_ready(deadline_s=300)
        return api_rounds(f"http://127.0.0.1:{prom.port}", prom.pid, rounds, interval_s)


def eval_in_process(data_dir: Path, t_ms: int, runs: int, interval_s: float) -> Rounds:
    """The default group evaluated at ``t_ms`` on the TSDB in ``data_dir`` (opened as the
    server opens it), ``runs`` times after a warm-up, each rule's output stored as the
    server stores it."""
    from multimonx.cli.gctune import tune_malloc
    from multimonx.cli.server import StorageRuntime
    from multimonx.config import StorageSection
    from multimonx.promql.engine import Engine
    from multimonx.rules.alerting import AlertState, OutputSample, RuleEvalError
    from multimonx.rules.defaults import default_pack
    from multimonx.rules.group import GroupState
    from multimonx.rules.query import engine_query
    from multimonx.rules.rulefile import rule_name
    from multimonx.storage import StorageError

    tune_malloc()
    runtime = StorageRuntime(StorageSection(sync="interval"), data_dir)
    storage = runtime.storage

    def append(samples: Sequence[OutputSample]) -> None:  # cli/rules.py's rule_manager's
        app = storage.appender()
        for sample in samples:
            app.append(sample.labels, sample.t_ms, sample.value)
        try:
            app.commit()
        except StorageError as err:
            raise RuleEvalError(f"storing the rule's samples failed: {err}") from None

    try:
        (group,) = default_pack()
        state = GroupState(group, default_interval_ms=round(interval_s * 1000))
        query = engine_query(Engine(storage))
        state.eval(t_ms, query, append)  # warm-up
        out = Rounds()
        meter = OthersMeter(os.getpid())
        for _ in range(runs):
            state.eval(t_ms, query, append)
            status = state.status()
            out.add(
                status.eval_seconds,
                [
                    (
                        rule_name(r.rule),
                        r.eval_seconds,
                        sum(a.state is not AlertState.INACTIVE for a in r.alerts),
                    )
                    for r in status.rules
                ],
            )
        out.others = meter.share()
        rules = state.status().rules
        errors = [f"{rule_name(r.rule)}: {r.last_error}" for r in rules if r.last_error]
        if errors:
            raise SystemExit("in-process evaluation failed:\n" + "\n".join(errors))
        return out
    finally:
        runtime.close()


# ----------------------------------------------------------------------------- report


def report(
    spec: FleetSpec,
    prep: dict[str, Any],
    loaded: dict[str, Any],
    sides: dict[str, Rounds],
    interval_s: float,
) -> None:
    print(
        f"\n{spec.hosts} hosts x {spec.cpus} CPUs: {loaded['series']:,} series, "
        f"{prep['samples']:,} samples; one host in {ROLES} hot per kind of rule. Prometheus "
        f"blocks: text {prep['text_s']:.0f} s + promtool {prep['promtool_s']:.0f} s; ours "
        f"load {loaded['load_s']:.0f} s. Evaluation interval {interval_s:g} s.\n"
    )
    header = f"{'side':<42} {'median s':>9} {'max s':>8} {'rounds':>7} {'alerts':>7} {'others':>7}"
    print(header)
    print("-" * len(header))
    for name, rounds in sides.items():
        print(
            f"{name:<42} {rounds.median():9.3f} {max(rounds.seconds):8.3f} "
            f"{len(rounds.seconds):7d} {sum(rounds.alerts.values()):7d} {rounds.others:7.0%}"
        )
    prom, ours = sides[PROMETHEUS], sides[SERVER]
    ratio = ours.median() / prom.median() if prom.median() else float("inf")
    print(f"\nratio ours/prometheus (server medians): {ratio:.1f}")
    if spec.hosts >= 1000:
        verdict = "met" if ours.median() < TARGET_S else "NOT met"
    else:
        verdict = "applies to 1,000 hosts or more"
    print(
        f"target: < {TARGET_S:g} s per round at 1,000 hosts: {verdict} "
        f"(ours {ours.median():.3f} s at {spec.hosts:,} hosts)"
    )
    names = sorted(ours.rules, key=ours.median, reverse=True)
    columns = list(sides)
    print(f"\n{'rule: median s, alerts':<26}" + "".join(f"{c.split(' (')[0]:>26}" for c in columns))
    for name in names:
        cells = "".join(
            f"{sides[c].median(name):18.3f}{sides[c].alerts.get(name, 0):8d}" for c in columns
        )
        print(f"{name:<26}{cells}")
    print(
        "\nserver rows: evaluationTime of the group per evaluation, read from /api/v1/rules "
        "(first evaluation skipped); in-process: GroupState.eval at a fixed timestamp, "
        "output stored as the server stores it. others: share of the machine's CPU "
        f"({os.cpu_count()} CPUs) that other processes took during the rounds."
    )


def fleet_spec(hosts: int, cpus: int, now_ms: int) -> FleetSpec:
    """The fleet of a run starting at ``now_ms``: its data ends ``AHEAD_MS`` later."""
    end = now_ms + AHEAD_MS
    return FleetSpec(hosts, cpus, FS_SPAN_MS / 3_600_000, end_ms=end - end % 30_000)


def run_all(
    spec: FleetSpec, tmp: Path, runs: int, interval_s: float, eval_ms: int
) -> tuple[dict[str, Any], dict[str, Any], dict[str, Rounds]]:
    """Prepare both sides' data in ``tmp`` and measure: Prometheus's preparation, our load,
    and the rounds of each side (the in-process ones at ``eval_ms``)."""
    print(f"preparing Prometheus's blocks in {tmp} ...", flush=True)
    prep = prepare_prometheus(spec, tmp, rule_fleet)
    print("loading ours ...", flush=True)
    loaded = prepare_ours(spec, tmp)
    if time.time() * 1000 > spec.end_ms - 5 * MINUTE_MS:
        print("warning: the data ends within 5 minutes; the servers' windows shrink")
    sides: dict[str, Rounds] = {}
    print("evaluating on ours (multimonx server) ...", flush=True)
    sides[SERVER] = run_ours(tmp, runs, interval_s)
    print("evaluating on Prometheus ...", flush=True)
    sides[PROMETHEUS] = run_prometheus(tmp, runs, interval_s)
    print("evaluating in-process ...", flush=True)
    sides[IN_PROCESS] = eval_in_process(tmp / "ours", eval_ms, runs, interval_s)
    return prep, loaded, sides


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--hosts", type=int, default=1000)
    parser.add_argument("--cpus", type=int, default=4)
    parser.add_argument("--runs", type=int, default=5, help="timed rounds per side (>= 5)")
    parser.add_argument("--interval", type=float, default=5.0, help="evaluation interval, s")
    parser.add_argument("--quick", action="store_true", help="50 hosts")
    parser.add_argument("--keep", action="store_true", help="keep the data directories")
    parser.add_argument("--ours-worker", nargs=2, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.ours_worker:
        spec = FleetSpec(**json.loads(args.ours_worker[0]))
        print(json.dumps(load_ours(spec, Path(args.ours_worker[1]))))
        return
    if args.quick:
        args.hosts = 50
    now = int(time.time() * 1000)
    spec = fleet_spec(args.hosts, args.cpus, now)
    eval_ms = now - now % FAST_MS  # in-process: on the 15 s grid, full windows behind it
    tmp = Path(tempfile.mkdtemp(prefix="mmx-rulebench-"))
    try:
        prep, loaded, sides = run_all(spec, tmp, args.runs, args.interval, eval_ms)
    finally:
        if not args.keep:
            shutil.rmtree(tmp, ignore_errors=True)
    report(spec, prep, loaded, sides, args.interval)


if __name__ == "__main__":
    main()
