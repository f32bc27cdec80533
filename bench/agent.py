"""The agent beside node_exporter on this machine, in one run.

Starts the real ``prometheus-node-exporter`` and ``multimonx agent`` (pushing to a real
``multimonx server``, as in production) at the same time, lets both work for the same window,
and prints for each: resident memory, CPU seconds per collection round (node_exporter: per
scrape, scraped once per round), and the ratios. Then it times the agent's collection rounds
in-process to print the p50/p99 collection latency.

The agent runs with a 1 s base interval and its slow collectors scaled by the same factor as
the defaults (filesystem every 6 rounds, connections every 3), so the mix of work per round is
what the default 5 s configuration does.

    .venv/bin/python bench/agent.py [--seconds 60]
"""

from __future__ import annotations

import argparse
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

from procstat import cpu_seconds, free_port


def rss_mb(pid: int) -> tuple[float, float]:
    status = dict(
        line.split(":", 1) for line in Path(f"/proc/{pid}/status").read_text().splitlines()
    )
    return int(status["VmRSS"].split()[0]) / 1024, int(status["VmHWM"].split()[0]) / 1024


def fetch(url: str) -> bytes:
    with urllib.request.urlopen(url, timeout=10) as response:
        body: bytes = response.read()
        return body


def wait_up(url: str, deadline: float = 60) -> None:
    end = time.monotonic() + deadline
    while time.monotonic() < end:
        try:
            fetch(url)
            return
        except OSError:
            time.sleep(0.1)
    raise SystemExit(f"{url} did not come up")


def metric(body: bytes, name: str) -> float:
    for line in body.decode().splitlines():
        if line.startswith(name + " "):
            return float(line.split()[1])
    raise KeyError(name)


def in_process_rounds(rounds: int) -> list[float]:
    from multimonx.agent.collectors import build_collectors
    from multimonx.agent.gather import Gatherer
    from multimonx.agent.source import SystemSource
    from multimonx.config import MetricsSection

    gatherer = Gatherer(build_collectors(MetricsSection(), SystemSource(), 5.0))
    durations = []
    now = time.time()
    for i in range(rounds):
        started = time.perf_counter()
        gatherer.run_due(now + 5.0 * i)  # every collector runs on its default schedule
        durations.append(time.perf_counter() - started)
    return durations


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=60.0)
    args = parser.parse_args()
    exporter = shutil.which("prometheus-node-exporter")
    if exporter is None:
        raise SystemExit("prometheus-node-exporter is not installed (scripts/setup --test)")

    with tempfile.TemporaryDirectory() as tmp:
        tmpdir = Path(tmp)
        ne_port, server_port, agent_port = free_port(), free_port(), free_port()
        cli = [sys.executable, "-m", "multimonx"]
        token = subprocess.run(
            [*cli, "keys", "create", "bench", "--data-dir", str(tmpdir / "server")],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.splitlines()[1]
        config = tmpdir / "agent.yml"
        config.write_text(
            f"""collector: {{interval: 1s, server_url: "http://127.0.0.1:{server_port}",
  api_key: {token}}}
web: {{listen_address: "127.0.0.1:{agent_port}"}}
metrics:
  filesystem: {{interval: 6s}}
  connections: {{interval: 3s}}
"""
        )
        quiet = subprocess.DEVNULL
        procs = [
            subprocess.Popen(
                [exporter, f"--web.listen-address=127.0.0.1:{ne_port}"], stdout=quiet, stderr=quiet
            ),
            subprocess.Popen(
                [
                    *cli,
                    "server",
                    "--data-dir",
                    str(tmpdir / "server"),
                    "--listen-address",
                    f"127.0.0.1:{server_port}",
                ],
                stdout=quiet,
                stderr=quiet,
            ),
            subprocess.Popen(
                [*cli, "agent", "--config", str(config), "--data-dir", str(tmpdir / "agent")],
                stdout=quiet,
                stderr=quiet,
            ),
        ]
        exporter_proc, _, agent_proc = procs
        try:
            ne_url = f"http://127.0.0.1:{ne_port}/metrics"
            agent_url = f"http://127.0.0.1:{agent_port}/metrics"
            wait_up(ne_url)
            wait_up(agent_url)
            fetch(ne_url)  # warm up both
            time.sleep(3)
            agent_rounds0 = metric(fetch(agent_url), "multimonx_agent_rounds_total")
            ne_cpu0, agent_cpu0 = cpu_seconds(exporter_proc.pid), cpu_seconds(agent_proc.pid)
            scrapes = 0
            end = time.monotonic() + args.seconds
            while time.monotonic() < end:
                fetch(ne_url)
                scrapes += 1
                time.sleep(max(0.0, 1.0 - (time.monotonic() % 1.0)))
            ne_cpu = cpu_seconds(exporter_proc.pid) - ne_cpu0
            agent_cpu = cpu_seconds(agent_proc.pid) - agent_cpu0
            body = fetch(agent_url)
            rounds = metric(body, "multimonx_agent_rounds_total") - agent_rounds0
            pushed = metric(body, "multimonx_agent_pushed_samples_total")
            ne_rss, ne_peak = rss_mb(exporter_proc.pid)
            agent_rss, agent_peak = rss_mb(agent_proc.pid)
        finally:
            for proc in procs:
                proc.send_signal(signal.SIGTERM)
            for proc in procs:
                proc.wait(timeout=30)

    ne_per = ne_cpu / scrapes
    agent_per = agent_cpu / rounds
    durations = in_process_rounds(200)
    p50 = statistics.median(durations) * 1000
    p99 = statistics.quantiles(durations, n=100)[98] * 1000

    print(
        f"window: {args.seconds:.0f} s; node_exporter scrapes: {scrapes}; "
        f"agent rounds: {rounds:.0f} (pushed samples: {pushed:.0f})"
    )
    print(f"{'':34}{'node_exporter':>16}{'multimonx agent':>18}{'ratio':>9}")
    print(
        f"{'resident memory (MiB)':34}{ne_rss:>16.1f}{agent_rss:>18.1f}{agent_rss / ne_rss:>9.2f}"
    )
    peak_ratio = agent_peak / ne_peak
    print(f"{'peak resident memory (MiB)':34}{ne_peak:>16.1f}{agent_peak:>18.1f}{peak_ratio:>9.2f}")
    print(
        f"{'CPU ms per scrape / per round':34}{ne_per * 1000:>16.2f}{agent_per * 1000:>18.2f}"
        f"{agent_per / ne_per:>9.2f}"
    )
    print(
        f"agent collection latency over 200 in-process rounds: p50 {p50:.1f} ms, p99 {p99:.1f} ms"
    )
    print(
        "targets: agent RSS <= 25 MB; CPU per round <= node_exporter per scrape (ratio <= 1); "
        "p99 < 50 ms"
    )


if __name__ == "__main__":
    main()
