"""Helpers shared by the push tests: a server and agents as real processes."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

from multimonx.model import Matcher
from multimonx.storage import Journal, MemoryStorage, Series, Storage
from multimonx.storage.tsdb import TSDB
from tests.integration.conftest import Proc, free_port, get_json, http_get, multimonx, wait_for

INSTANCE = "push-test-host"


def create_key(data_dir: Path, name: str) -> str:
    """Create an API key with the real CLI and return its token."""
    import subprocess

    out = subprocess.run(
        multimonx("keys", "create", name, "--data-dir", str(data_dir)),
        check=True,
        capture_output=True,
        text=True,
        timeout=60,
    ).stdout
    match = re.search(r"^(mmx_\S+)$", out, re.MULTILINE)
    assert match, out
    return match.group(1)


def start_server(start: Callable[..., Proc], data_dir: Path, port: int, name: str) -> Proc:
    """Start ``multimonx server`` and wait until it answers health checks."""
    proc = start(
        multimonx("server", "--data-dir", str(data_dir), "--listen-address", f"127.0.0.1:{port}"),
        name,
    )
    wait_for("server health", lambda: http_get(f"http://127.0.0.1:{port}/api/v1/health")[0] == 200)
    return proc


def write_agent_config(
    path: Path, server_port: int, token: str, *, interval: str = "1s", rounds_per_push: int = 120
) -> int:
    """Write an agent config that pushes every ``interval``; returns its /metrics port."""
    port = free_port()
    path.write_text(
        f"""
collector:
  interval: {interval}
  server_url: http://127.0.0.1:{server_port}
  api_key: {token}
  instance: {INSTANCE}
  timeout: 5s
spool:
  backoff_initial: 100ms
  backoff_max: 1s
  max_rounds_per_push: {rounds_per_push}
web:
  listen_address: 127.0.0.1:{port}
metrics:
  filesystem: {{enabled: false}}
  connections: {{enabled: false}}
"""
    )
    return port


def agent_metric(port: int, name: str) -> float | None:
    """One sample from the agent's /metrics, named as rendered (``name{label="v"}``)."""
    status, body = http_get(f"http://127.0.0.1:{port}/metrics")
    if status != 200:
        return None
    for line in body.decode().splitlines():
        if line.startswith(name + " "):
            return float(line.split()[1])
    return None


def host_seen(server_port: int) -> bool:
    """Whether the server lists the test host."""
    servers = get_json(f"http://127.0.0.1:{server_port}/api/v1/servers")["data"]
    return any(s["instance"] == INSTANCE for s in servers)


def stored_series(data_dir: Path, metric: str) -> list[Series]:
    """Every stored series of ``metric``, read from a stopped server's data directory (the
    embedded engine's, or the memory engine's journal)."""
    storage: Storage
    if (data_dir / "tsdb").is_dir():
        storage = TSDB.open(data_dir / "tsdb")
    else:
        storage = MemoryStorage(Journal(data_dir / "journal.db"))
    try:
        with storage.querier(0, 2**62) as querier:
            return list(querier.select([Matcher.of("__name__", "=", metric)]))
    finally:
        storage.close()


def stored_rounds(data_dir: Path) -> list[tuple[int, float]]:
    """(timestamp, value) of the agent's round counter as the (stopped) server stored it."""
    series = stored_series(data_dir, "multimonx_agent_rounds_total")
    assert len(series) == 1, series
    return list(zip(series[0].timestamps.tolist(), series[0].values.tolist(), strict=True))


def runs_without_gaps(points: list[tuple[int, float]]) -> list[int]:
    """Split the round counter into agent runs (it restarts at 1) and check each run has
    every round 1..k; returns k per run."""
    runs: list[list[int]] = []
    for _, value in points:
        if not runs or value <= runs[-1][-1]:
            runs.append([])
        runs[-1].append(int(value))
    for run in runs:
        assert run == list(range(1, len(run) + 1)), f"rounds missing: {_gaps(run)}"
    return [len(r) for r in runs]


def _gaps(run: list[int]) -> list[int]:
    return sorted(set(range(run[0], run[-1] + 1)) - set(run))[:20]
