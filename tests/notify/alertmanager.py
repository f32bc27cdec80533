"""A real Alertmanager 0.25 on 127.0.0.1 for differential tests, stopped by PID."""

from __future__ import annotations

import json
import shutil
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from tests.integration.conftest import Proc, free_port, wait_for

BINARY = "/usr/bin/prometheus-alertmanager"
_OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}))


class Alertmanager:
    """A running Alertmanager: its base URL and its API."""

    def __init__(self, base: str) -> None:
        self.base = base

    def post_alerts(self, alerts: list[dict[str, Any]]) -> None:
        request = urllib.request.Request(
            f"{self.base}/api/v2/alerts",
            data=json.dumps(alerts).encode(),
            headers={"Content-Type": "application/json"},
            method="POST",
        )
        with _OPENER.open(request, timeout=30) as response:
            assert response.status == 200

    def alerts(self) -> list[dict[str, Any]]:
        with _OPENER.open(f"{self.base}/api/v2/alerts", timeout=30) as response:
            return list(json.loads(response.read()))


@contextmanager
def alertmanager(tmp_path: Path, config: str, external_url: str = "") -> Iterator[Alertmanager]:
    """Alertmanager with ``config`` (YAML) in ``tmp_path``, no clustering; skips the test
    when the binary is missing."""
    if shutil.which(BINARY) is None:
        pytest.skip(f"{BINARY} is not installed")
    (tmp_path / "alertmanager.yml").write_text(config)
    port = free_port()
    args = [
        BINARY,
        f"--config.file={tmp_path / 'alertmanager.yml'}",
        f"--storage.path={tmp_path / 'am-data'}",
        f"--web.listen-address=127.0.0.1:{port}",
        "--cluster.listen-address=",
    ]
    if external_url:
        args += [f"--web.external-url={external_url}", "--web.route-prefix=/"]
    proc = Proc(args, tmp_path / "alertmanager.log")
    base = f"http://127.0.0.1:{port}"
    try:

        def ready() -> bool:
            with _OPENER.open(f"{base}/-/ready", timeout=5) as response:
                return bool(response.status == 200)

        wait_for("Alertmanager to be ready", ready)
        yield Alertmanager(base)
    finally:
        proc.stop()
