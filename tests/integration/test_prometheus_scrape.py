"""A real Prometheus scrapes the agent and answers queries on its data."""

from __future__ import annotations

import shutil
import subprocess
import urllib.parse
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.integration.conftest import Proc, free_port, get_json, http_get, multimonx, wait_for

pytestmark = pytest.mark.integration


def _start_agent(procs: Callable[..., Proc], tmp_path: Path) -> int:
    port = free_port()
    config = tmp_path / "agent.yml"
    config.write_text(f"collector: {{interval: 1s}}\nweb: {{listen_address: 127.0.0.1:{port}}}\n")
    procs(multimonx("agent", "--config", str(config), "--data-dir", str(tmp_path)), "agent")
    wait_for("agent /metrics", lambda: http_get(f"http://127.0.0.1:{port}/metrics")[0] == 200)
    return port


def _query(prom_port: int, expr: str) -> list[dict[str, object]]:
    url = f"http://127.0.0.1:{prom_port}/api/v1/query?" + urllib.parse.urlencode({"query": expr})
    result: list[dict[str, object]] = get_json(url)["data"]["result"]
    return result


def test_prometheus_scrapes_the_agent(tmp_path: Path, procs: Callable[..., Proc]) -> None:
    agent_port = _start_agent(procs, tmp_path)
    prom_port = free_port()
    (tmp_path / "prometheus.yml").write_text(
        f"""
global: {{scrape_interval: 1s, scrape_timeout: 1s}}
scrape_configs:
  - job_name: node
    static_configs: [{{targets: ["127.0.0.1:{agent_port}"]}}]
"""
    )
    procs(
        [
            shutil.which("prometheus") or "prometheus",
            f"--config.file={tmp_path / 'prometheus.yml'}",
            f"--storage.tsdb.path={tmp_path / 'tsdb'}",
            f"--web.listen-address=127.0.0.1:{prom_port}",
        ],
        "prometheus",
    )
    up = wait_for("Prometheus to scrape the agent", lambda: _query(prom_port, "up == 1") or None)
    assert up[0]["metric"]["job"] == "node"  # type: ignore[index]
    idle = wait_for(
        "a rate over the agent's CPU counters",
        lambda: (
            _query(prom_port, 'sum by (instance) (rate(node_cpu_seconds_total{mode="idle"}[5s]))')
            or None
        ),
    )
    assert float(idle[0]["value"][1]) >= 0  # type: ignore[index]
    memory = _query(prom_port, "node_memory_MemTotal_bytes")
    assert float(memory[0]["value"][1]) > 0  # type: ignore[index]
    targets = get_json(f"http://127.0.0.1:{prom_port}/api/v1/targets")["data"]["activeTargets"]
    assert targets[0]["health"] == "up", targets[0].get("lastError")


def test_promtool_finds_no_problem_in_live_metrics(
    tmp_path: Path, procs: Callable[..., Proc]
) -> None:
    agent_port = _start_agent(procs, tmp_path)
    status, body = http_get(f"http://127.0.0.1:{agent_port}/metrics")
    assert status == 200
    result = subprocess.run(
        [shutil.which("promtool") or "promtool", "check", "metrics"],
        input=body,
        capture_output=True,
        timeout=60,
        check=False,
    )
    problems = result.stdout.decode() + result.stderr.decode()
    # The only lints allowed are the ones node_exporter's own output gets for the same names
    # (raw kernel counters it exposes as untyped or gauges); none for our own metrics.
    ours = [line for line in problems.splitlines() if line.startswith("multimonx_")]
    assert ours == []
    assert result.returncode == 0 or all(
        line.startswith("node_") for line in problems.splitlines() if line.strip()
    ), problems
