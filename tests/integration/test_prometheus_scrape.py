"""A real Prometheus scrapes the agent and answers queries on its data."""

from __future__ import annotations

import shutil
import subprocess
import urllib.parse
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.integration.conftest import (
    Proc,
    free_port,
    get_json,
    http_get,
    multimonx,
    start_prometheus,
    wait_for,
)
from tests.integration.pushing import create_key, start_server, write_agent_config

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
    prom_port = _prometheus(procs, tmp_path, agent_port)
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


def _prometheus(procs: Callable[..., Proc], tmp_path: Path, agent_port: int) -> int:
    """A real Prometheus scraping the agent every second; its port."""
    return start_prometheus(
        procs,
        tmp_path,
        f"""
global: {{scrape_interval: 1s, scrape_timeout: 1s}}
scrape_configs:
  - job_name: node
    static_configs: [{{targets: ["127.0.0.1:{agent_port}"]}}]
""",
    )


def _text_name(name: str, entries: list[dict[str, str]], ours: dict[str, Any]) -> str:
    """An OpenMetrics counter family's name as the text format writes it (``_total``)."""
    counter = entries[0]["type"] == "counter"
    return name + "_total" if counter and name + "_total" in ours else name


def test_metadata_matches_what_prometheus_scrapes_from_the_same_agent(
    tmp_path: Path, procs: Callable[..., Proc]
) -> None:
    """One agent pushes to our server and is scraped by Prometheus: ``/api/v1/metadata``
    gives the same TYPE and HELP for every family both know. Prometheus 2.42 scrapes the
    agent in OpenMetrics, whose counter families drop ``_total``; ours keeps the name the
    text format gives (as Prometheus shows node_exporter's, which it scrapes as text)."""
    server_port = free_port()
    token = create_key(tmp_path, "metadata")
    start_server(procs, tmp_path, server_port, "server")
    agent_dir = tmp_path / "agent"
    agent_dir.mkdir()
    agent_port = write_agent_config(agent_dir / "agent.yml", server_port, token)
    procs(
        multimonx("agent", "--config", str(agent_dir / "agent.yml"), "--data-dir", str(agent_dir)),
        "agent",
    )
    prom_port = _prometheus(procs, tmp_path, agent_port)
    wanted = ("node_cpu_seconds_total", "node_load1", "node_memory_MemTotal_bytes")

    def both() -> tuple[dict[str, Any], dict[str, Any]] | None:
        scraped = get_json(f"http://127.0.0.1:{prom_port}/api/v1/metadata")["data"]
        ours = get_json(f"http://127.0.0.1:{server_port}/api/v1/metadata")["data"]
        theirs = {_text_name(name, entries, ours): entries for name, entries in scraped.items()}
        return (theirs, ours) if all(n in theirs and n in ours for n in wanted) else None

    theirs, ours = wait_for("metadata on both sides", both)
    shared = sorted(set(theirs) & set(ours))
    assert len(shared) >= 50, shared
    # Prometheus lists the variants of a name in no set order; each name has one here.
    differ = {n: (theirs[n], ours[n]) for n in shared if sorted(theirs[n], key=str) != ours[n]}
    assert differ == {}
    types = {ours[n][0]["type"] for n in shared}
    assert {"counter", "gauge"} <= types
    one = get_json(
        f"http://127.0.0.1:{server_port}/api/v1/metadata?metric=node_load1&limit_per_metric=1"
    )["data"]
    assert one == {"node_load1": theirs["node_load1"]}


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
