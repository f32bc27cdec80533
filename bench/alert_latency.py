"""Alert latency: from a threshold crossing in the data to the notification arriving at a
local webhook receiver, for MultiMonX beside Prometheus 2.42 + Alertmanager 0.25 with the
same rule and the same route.

- Ours: a real ``multimonx server`` evaluating the rule ``bench_value > 50`` (``for`` as
  given) every ``--interval``, with a notification configuration routing every alert to a
  webhook on this process (``group_wait`` as given). The value is pushed every second through
  the push API, as an agent pushes.
- Reference: a real ``prometheus`` scraping the same value from this process every second,
  evaluating the same rule at the same interval and sending alerts to a real
  ``prometheus-alertmanager`` with the same route, whose webhook is the same receiver.

Each trial uses a new ``instance`` label (so a new alert and a new group on both sides),
raises the value from 10 to 90 at one moment on both sides (a random moment of the
evaluation interval, so neither side's grid is favoured), and records when each side's
firing notification for that instance arrives. The floor is the configured delay:
evaluation interval + ``for`` + ``group_wait`` (an evaluation may come up to one interval
after the crossing). The target is ours within one evaluation interval of that floor.

    .venv/bin/python bench/alert_latency.py              # 5 trials, 5 s interval, for 10 s
    .venv/bin/python bench/alert_latency.py --quick      # 2 trials
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from multimonx.model import MetricFamily, encode_push, encode_round
from procstat import free_port

HOT, COLD = 90.0, 10.0


@dataclass
class Shared:
    """What the bench's own HTTP server serves and records: the current value per instance
    (scraped by Prometheus) and the arrival time of each firing notification, by side and
    instance."""

    values: dict[str, float] = field(default_factory=dict)
    arrivals: dict[tuple[str, str], float] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)
    arrived: threading.Condition = field(init=False)

    def __post_init__(self) -> None:
        self.arrived = threading.Condition(self.lock)

    def exposition(self) -> bytes:
        with self.lock:
            lines = ["# TYPE bench_value gauge"]
            lines += [f'bench_value{{instance="{i}"}} {v}' for i, v in self.values.items()]
        return ("\n".join(lines) + "\n").encode()

    def notified(self, side: str, payload: dict[str, Any]) -> None:
        now = time.time()
        with self.arrived:
            for alert in payload.get("alerts", []):
                key = (side, alert["labels"].get("instance", ""))
                if alert["status"] == "firing" and key not in self.arrivals:
                    self.arrivals[key] = now
            self.arrived.notify_all()

    def wait(self, keys: list[tuple[str, str]], deadline_s: float) -> None:
        end = time.monotonic() + deadline_s
        with self.arrived:
            while not all(k in self.arrivals for k in keys):
                left = end - time.monotonic()
                if left <= 0:
                    missing = [k for k in keys if k not in self.arrivals]
                    raise TimeoutError(f"no notification for {missing} in {deadline_s} s")
                self.arrived.wait(left)


def serve(shared: Shared, port: int) -> ThreadingHTTPServer:
    """``/metrics`` for Prometheus, ``/ours`` and ``/reference`` for the webhooks."""

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            body = shared.exposition()
            self.send_response(200)
            self.send_header("Content-Type", "text/plain; version=0.0.4")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def do_POST(self) -> None:
            payload = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            shared.notified(self.path.strip("/"), payload)
            self.send_response(200)
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


RULES = """groups:
  - name: bench
    interval: {interval}s
    rules:
      - alert: BenchHot
        expr: bench_value > 50
        for: {for_}s
        labels: {{severity: warning}}
        annotations: {{summary: "{{{{ $labels.instance }}}} at {{{{ $value }}}}"}}
"""

ROUTE = """route:
  receiver: bench
  group_by: [alertname, instance]
  group_wait: {group_wait}s
  group_interval: 1m
  repeat_interval: 1h
receivers:
  - name: bench
    webhook_configs:
      - url: http://127.0.0.1:{port}/{side}
"""


@contextmanager
def process(args: list[str], log: Path) -> Iterator[subprocess.Popen[bytes]]:
    """A child process, stopped by PID on exit."""
    with log.open("wb") as out:
        proc = subprocess.Popen(args, stdout=out, stderr=subprocess.STDOUT)
        try:
            yield proc
        finally:
            proc.terminate()
            try:
                proc.wait(30)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


def wait_http(url: str, deadline_s: float = 60.0) -> None:
    end = time.monotonic() + deadline_s
    while True:
        try:
            with urllib.request.urlopen(url, timeout=5):
                return
        except OSError:
            if time.monotonic() > end:
                raise
            time.sleep(0.1)


def push_loop(shared: Shared, url: str, stop: threading.Event) -> None:
    """Push every instance's current value every second, as agents do."""
    while not stop.wait(1.0 - time.time() % 1.0):
        now_ms = int(time.time() * 1000)
        with shared.lock:
            values = dict(shared.values)
        rounds = [
            encode_round(
                now_ms,
                {"instance": instance, "job": "bench"},
                [MetricFamily.gauge("bench_value", "The bench's value.", (), [((), value)])],
            )
            for instance, value in values.items()
        ]
        for instance, body in zip(values, rounds, strict=True):
            data = encode_push({"instance": instance, "interval_seconds": 1.0}, [body])
            request = urllib.request.Request(
                url, data=data, headers={"Content-Type": "application/json"}
            )
            try:
                with urllib.request.urlopen(request, timeout=10):
                    pass
            except OSError as err:
                print(f"push failed: {err}", file=sys.stderr)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=5)
    parser.add_argument("--interval", type=int, default=5, help="evaluation interval, s")
    parser.add_argument("--for", dest="for_", type=int, default=10, help="the rule's for, s")
    parser.add_argument("--group-wait", type=int, default=2, help="group_wait, s")
    parser.add_argument("--quick", action="store_true", help="2 trials")
    parser.add_argument("--seed", type=int, default=1, help="of the crossings' timing")
    args = parser.parse_args()
    trials = 2 if args.quick else args.trials
    floor = args.interval + args.for_ + args.group_wait

    shared = Shared()
    port = free_port()
    http = serve(shared, port)
    with tempfile.TemporaryDirectory(prefix="alert-latency-") as tmp_text:
        tmp = Path(tmp_text)
        (tmp / "rules.yml").write_text(RULES.format(interval=args.interval, for_=args.for_))
        for side in ("ours", "reference"):
            (tmp / f"{side}.yml").write_text(
                ROUTE.format(group_wait=args.group_wait, port=port, side=side)
            )
        ours_port, prom_port, am_port = free_port(), free_port(), free_port()
        (tmp / "server.yml").write_text(
            f"listen_address: 127.0.0.1:{ours_port}\n"
            "ingest: {require_api_key: false}\n"
            f"rules: {{files: ['{tmp / 'rules.yml'}'], default_pack: false}}\n"
            f"alerting: {{config_file: '{tmp / 'ours.yml'}'}}\n"
        )
        (tmp / "prometheus.yml").write_text(
            f"global: {{scrape_interval: 1s, evaluation_interval: {args.interval}s}}\n"
            f"rule_files: ['{tmp / 'rules.yml'}']\n"
            "alerting:\n  alertmanagers:\n"
            f"    - static_configs: [{{targets: ['127.0.0.1:{am_port}']}}]\n"
            "scrape_configs:\n  - job_name: bench\n"
            f"    static_configs: [{{targets: ['127.0.0.1:{port}']}}]\n"
            "    honor_labels: true\n"
        )
        server_args = [
            sys.executable,
            "-m",
            "multimonx",
            "server",
            "--config",
            str(tmp / "server.yml"),
            "--data-dir",
            str(tmp / "ours-data"),
        ]
        am_args = [
            "prometheus-alertmanager",
            f"--config.file={tmp / 'reference.yml'}",
            f"--storage.path={tmp / 'am-data'}",
            f"--web.listen-address=127.0.0.1:{am_port}",
            "--cluster.listen-address=",
        ]
        prom_args = [
            "prometheus",
            f"--config.file={tmp / 'prometheus.yml'}",
            f"--storage.tsdb.path={tmp / 'prom-data'}",
            f"--web.listen-address=127.0.0.1:{prom_port}",
        ]
        stop = threading.Event()
        with (
            process(server_args, tmp / "server.log"),
            process(am_args, tmp / "alertmanager.log"),
            process(prom_args, tmp / "prometheus.log"),
        ):
            wait_http(f"http://127.0.0.1:{ours_port}/api/v1/health")
            wait_http(f"http://127.0.0.1:{am_port}/-/ready")
            wait_http(f"http://127.0.0.1:{prom_port}/-/ready")
            pusher = threading.Thread(
                target=push_loop,
                args=(shared, f"http://127.0.0.1:{ours_port}/api/v1/metrics/collect", stop),
                daemon=True,
            )
            pusher.start()
            latencies: dict[str, list[float]] = {"ours": [], "reference": []}
            phase = random.Random(args.seed)
            try:
                for trial in range(trials):
                    instance = f"trial-{trial}"
                    with shared.lock:
                        shared.values[instance] = COLD
                    # Both sides see it cold for a while; the random part puts the crossing
                    # at a different point of the two evaluation grids in each trial.
                    time.sleep(3 * args.interval + phase.uniform(0, args.interval))
                    with shared.lock:
                        shared.values[instance] = HOT
                        crossed = time.time()
                    keys = [("ours", instance), ("reference", instance)]
                    shared.wait(keys, deadline_s=10 * floor + 60)
                    for side, _ in keys:
                        latencies[side].append(shared.arrivals[(side, instance)] - crossed)
                    print(
                        f"trial {trial}: ours {latencies['ours'][-1]:.2f} s, "
                        f"Prometheus + Alertmanager {latencies['reference'][-1]:.2f} s",
                        flush=True,
                    )
            finally:
                stop.set()
                pusher.join(timeout=30)
                http.shutdown()
    ours, ref = latencies["ours"], latencies["reference"]
    print()
    print(
        f"floor (interval {args.interval} s + for {args.for_} s + group_wait "
        f"{args.group_wait} s): {floor} s; target: ours at most {floor + args.interval} s"
    )
    print(f"{'side':<28}{'median s':>10}{'max s':>10}")
    print(f"{'MultiMonX':<28}{statistics.median(ours):>10.2f}{max(ours):>10.2f}")
    print(f"{'Prometheus + Alertmanager':<28}{statistics.median(ref):>10.2f}{max(ref):>10.2f}")
    print(
        f"ratio ours / reference (median): {statistics.median(ours) / statistics.median(ref):.2f}"
    )
    verdict = "met" if max(ours) <= floor + args.interval else "MISSED"
    print(f"target {verdict}: slowest of ours {max(ours):.2f} s vs {floor + args.interval} s")


if __name__ == "__main__":
    main()
