"""Disk full: ingest fails with a clear 503, stored data stays intact, and ingest recovers once
space returns. The data directory is a small tmpfs the test mounts (root only)."""

from __future__ import annotations

import gzip
import json
import os
import subprocess
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from multimonx.model import MetricFamily, encode_push, encode_round
from tests.integration.conftest import Proc, free_port, wait_for
from tests.integration.pushing import create_key, start_server, stored_series

pytestmark = pytest.mark.integration

FILESYSTEM_BYTES = 6 * 2**20
FILLER_BYTES = 4 * 2**20


@pytest.fixture
def small_filesystem(tmp_path: Path) -> Iterator[Path]:
    """A tmpfs of a few MiB mounted for this test and unmounted after it."""
    if os.geteuid() != 0:
        pytest.skip("mounting a size-limited tmpfs needs root")
    mountpoint = tmp_path / "small"
    mountpoint.mkdir()
    subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={FILESYSTEM_BYTES}", "tmpfs", str(mountpoint)],
        check=True,
        timeout=30,
    )
    try:
        yield mountpoint
    finally:
        subprocess.run(["umount", "-l", str(mountpoint)], check=False, timeout=30)


def _push(port: int, token: str, timestamp_ms: int, padding: str) -> tuple[int, dict[str, str]]:
    family = MetricFamily.gauge(
        "disk_full_test",
        "Filler.",
        ("i", "pad"),
        [((str(i), padding), float(i)) for i in range(50)],
    )
    body = encode_push(
        {"instance": "df-host"}, [encode_round(timestamp_ms, {"instance": "df-host"}, [family])]
    )
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}/api/v1/metrics/collect",
        data=gzip.compress(body),
        headers={
            "Authorization": f"Bearer {token}",
            "Content-Encoding": "gzip",
            "Content-Type": "application/json",
        },
    )
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as err:
        return err.code, json.loads(err.read())


def test_disk_full_gives_503_keeps_data_and_recovers(
    small_filesystem: Path, procs: Callable[..., Proc]
) -> None:
    data = small_filesystem / "data"
    filler = small_filesystem / "filler"
    filler.write_bytes(bytes(FILLER_BYTES))
    port = free_port()
    token = create_key(data, "df-agent")
    server = start_server(procs, data, port, "server")

    padding = "x" * 2000  # distinct series with long labels fill the log quickly
    accepted = 0
    status, answer = 200, dict[str, str]()
    for step in range(2000):  # bounded: the filesystem fills long before this
        status, answer = _push(port, token, 1_700_000_000_000 + step * 1000, f"{padding}{step}")
        if status != 200:
            break
        accepted += 1
    assert status == 503, answer
    assert answer["errorType"] == "unavailable"
    assert "storage unavailable" in answer["error"]
    assert accepted > 0

    filler.unlink()  # space returns
    recovered = wait_for(
        "ingest to succeed again",
        lambda: _push(port, token, 1_700_000_000_000 + 10_000_000, "after")[0] == 200,
    )
    assert recovered
    assert server.stop() == 0
    stored = stored_series(data, "disk_full_test")
    assert len(stored) == 50 * (accepted + 1)  # everything acknowledged, nothing refused
