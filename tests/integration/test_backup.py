"""Backup while a real server ingests, then restore: nothing acknowledged before the backup
started is missing, and damaged backups are refused."""

from __future__ import annotations

import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.integration.conftest import Proc, free_port, multimonx, wait_for
from tests.integration.pushing import (
    agent_metric,
    create_key,
    runs_without_gaps,
    start_server,
    stored_rounds,
    write_agent_config,
)

pytestmark = pytest.mark.integration


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        multimonx(*args), capture_output=True, text=True, timeout=120, check=False
    )


def test_backup_under_load_and_restore(tmp_path: Path, procs: Callable[..., Proc]) -> None:
    data, spool, copy, restored = (tmp_path / n for n in ("data", "spool", "copy", "restored"))
    port = free_port()
    token = create_key(data, "backup-agent")
    server = start_server(procs, data, port, "server")
    config = tmp_path / "agent.yml"
    agent_port = write_agent_config(config, port, token, interval="200ms")
    agent = procs(multimonx("agent", "--config", str(config), "--data-dir", str(spool)), "agent")
    wait_for(
        "20 rounds pushed",
        lambda: (agent_metric(agent_port, "multimonx_agent_rounds_total") or 0) >= 20,
    )
    rounds = agent_metric(agent_port, "multimonx_agent_rounds_total") or 0
    waiting = agent_metric(agent_port, "multimonx_agent_spool_rounds") or 0
    acknowledged_before = rounds - waiting - 1  # minus one round possibly in flight

    result = _cli("backup", str(copy), "--data-dir", str(data))  # the server keeps ingesting
    assert result.returncode == 0, result.stderr
    assert "backed up" in result.stdout
    agent.stop()
    server.stop()

    refused = _cli("restore", str(copy), "--data-dir", str(data))
    assert refused.returncode == 2
    assert "--force" in refused.stderr

    result = _cli("restore", str(copy), "--data-dir", str(restored))
    assert result.returncode == 0, result.stderr
    runs = runs_without_gaps(stored_rounds(restored))
    assert len(runs) == 1
    assert runs[0] >= acknowledged_before


def test_a_damaged_backup_is_refused(tmp_path: Path) -> None:
    data, copy = tmp_path / "data", tmp_path / "copy"
    create_key(data, "k")
    assert _cli("backup", str(copy), "--data-dir", str(data)).returncode == 0
    metadata = copy / "metadata.db"
    raw = bytearray(metadata.read_bytes())
    raw[len(raw) // 2] ^= 0xFF
    metadata.write_bytes(bytes(raw))
    result = _cli("restore", str(copy), "--data-dir", str(tmp_path / "elsewhere"))
    assert result.returncode == 2
    assert "checksum" in result.stderr
    assert "Traceback" not in result.stderr


def test_backup_needs_an_empty_target(tmp_path: Path) -> None:
    data, copy = tmp_path / "data", tmp_path / "copy"
    create_key(data, "k")
    copy.mkdir()
    (copy / "something").write_text("x")
    result = _cli("backup", str(copy), "--data-dir", str(data))
    assert result.returncode == 2
    assert "not empty" in result.stderr
