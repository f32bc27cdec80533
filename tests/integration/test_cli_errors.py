"""Bad configuration and bad command lines give clear errors, never tracebacks."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from tests.integration.conftest import multimonx

pytestmark = pytest.mark.integration


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(multimonx(*args), capture_output=True, text=True, timeout=60, check=False)


@pytest.mark.parametrize(
    ("config", "message"),
    [
        ("collector: {intervall: 5s}\n", "collector.intervall: unknown key"),
        ("metrics: {cpu: {enabled: perhaps}}\n", "metrics.cpu.enabled: expected true or false"),
        ("web: {allow: [not-a-network]}\n", "not an address or network"),
        ("collector: {api_key: '${MMX_UNSET_FOR_TEST}'}\n", "MMX_UNSET_FOR_TEST is not set"),
    ],
)
def test_bad_agent_config(tmp_path: Path, config: str, message: str) -> None:
    path = tmp_path / "agent.yml"
    path.write_text(config)
    result = _run("agent", "--config", str(path), "--data-dir", str(tmp_path), "--check-config")
    if "allow" in config:  # checked when the endpoint is built, not by the loader
        result = _run("agent", "--config", str(path), "--data-dir", str(tmp_path))
    assert result.returncode == 2
    assert message in result.stderr
    assert "Traceback" not in result.stderr


def test_good_agent_config_checks_ok(tmp_path: Path) -> None:
    path = tmp_path / "agent.yml"
    path.write_text("collector: {interval: 10s}\n")
    result = _run("agent", "--config", str(path), "--check-config")
    assert result.returncode == 0, result.stderr
    assert "OK" in result.stdout


def test_keys_lifecycle(tmp_path: Path) -> None:
    created = _run("keys", "create", "web-fleet", "--data-dir", str(tmp_path))
    assert created.returncode == 0, created.stderr
    token = created.stdout.splitlines()[1]
    key_id = token.split("_")[1]
    listed = _run("keys", "list", "--data-dir", str(tmp_path))
    assert "web-fleet" in listed.stdout
    assert token not in listed.stdout  # tokens are never shown again
    assert token.split("_")[2] not in (tmp_path / "metadata.db").read_bytes().decode("latin-1")
    revoked = _run("keys", "revoke", key_id, "--data-dir", str(tmp_path))
    assert revoked.returncode == 0
    unknown = _run("keys", "revoke", "000000000000", "--data-dir", str(tmp_path))
    assert unknown.returncode == 2
    assert "no API key" in unknown.stderr
