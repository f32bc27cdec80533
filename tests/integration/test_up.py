"""`multimonx up`: server and local agent together, data kept across restarts."""

from __future__ import annotations

import re
import signal
import socket
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.integration.conftest import Proc, free_port, get_json, http_get, multimonx, wait_for

pytestmark = pytest.mark.integration


def _up(procs: Callable[..., Proc], data: Path, port: int, agent_port: int, name: str) -> Proc:
    return procs(
        multimonx(
            "up",
            "--data-dir",
            str(data),
            "--listen-address",
            f"127.0.0.1:{port}",
            "--agent-listen-address",
            f"127.0.0.1:{agent_port}",
            "--interval",
            "1s",
        ),
        name,
    )


def _this_host(port: int) -> dict[str, object] | None:
    servers = get_json(f"http://127.0.0.1:{port}/api/v1/servers")["data"]
    hosts = [s for s in servers if s["instance"] == socket.gethostname()]
    return hosts[0] if hosts else None


def test_up_brings_server_and_agent_and_keeps_data(
    tmp_path: Path, procs: Callable[..., Proc]
) -> None:
    data = tmp_path / "data"
    port, agent_port = free_port(), free_port()
    up = _up(procs, data, port, agent_port, "up-1")
    wait_for("the URLs to be printed", lambda: "Press Ctrl-C" in up.output())
    assert f"http://127.0.0.1:{port}" in up.output()
    assert f"http://127.0.0.1:{agent_port}/metrics" in up.output()

    host = wait_for("this machine's samples on the server", lambda: _this_host(port))
    assert host["status"] == "up"
    status, body = http_get(f"http://127.0.0.1:{agent_port}/metrics")
    assert status == 200
    assert b"node_cpu_seconds_total" in body

    up.signal(signal.SIGINT)
    assert up.wait() == 0
    assert "Traceback" not in up.output()
    key_file = data / "local-agent.key"
    token = key_file.read_text().strip()
    assert key_file.stat().st_mode & 0o777 == 0o600

    up2 = _up(procs, data, port, agent_port, "up-2")
    wait_for("restart", lambda: "Press Ctrl-C" in up2.output())
    restarted = _this_host(port)  # known from stored data before the agent's first push
    assert restarted is not None
    assert key_file.read_text().strip() == token
    up2.signal(signal.SIGINT)
    assert up2.wait() == 0


def test_help_everywhere() -> None:
    import subprocess

    for args in ([], ["up"], ["server"], ["agent"], ["keys"], ["keys", "create"]):
        out = subprocess.run(
            multimonx(*args, "--help"), capture_output=True, text=True, timeout=60, check=True
        ).stdout
        assert re.search(r"usage: multimonx", out)
