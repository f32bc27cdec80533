"""SIGKILL a real server while several clients push, restart it, and find every acknowledged
sample stored: an answer 200 means durable."""

from __future__ import annotations

import gzip
import signal
import threading
import urllib.error
import urllib.request
from collections.abc import Callable
from pathlib import Path

import pytest

from multimonx.model import MetricFamily, encode_push, encode_round
from tests.integration.conftest import Proc, free_port, wait_for
from tests.integration.pushing import create_key, start_server, stored_series

pytestmark = pytest.mark.integration

SERIES_PER_PUSH = 100
BASE_MS = 1_700_000_000_000


def _push(port: int, token: str, client: int, step: int) -> bool:
    """One push of SERIES_PER_PUSH samples; True only if the server answered 200."""
    family = MetricFamily.gauge(
        "crash_test",
        "One sample per (client, series, step).",
        ("client", "series"),
        [((str(client), str(i)), float(step)) for i in range(SERIES_PER_PUSH)],
    )
    body = encode_push(
        {"instance": "crash-host"},
        [encode_round(BASE_MS + step * 1000, {"instance": "crash-host"}, [family])],
    )
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}/api/v1/metrics/collect",
        data=gzip.compress(body),
        headers={"Authorization": f"Bearer {token}", "Content-Encoding": "gzip"},
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return bool(response.status == 200)
    except (urllib.error.URLError, OSError):
        return False


class Load:
    """Clients pushing in a loop and recording what was acknowledged."""

    def __init__(self, port: int, token: str, clients: int) -> None:
        self.port, self.token = port, token
        self.acknowledged: set[tuple[int, int]] = set()
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._threads = [
            threading.Thread(target=self._run, args=(c,), daemon=True) for c in range(clients)
        ]
        self._next = [0] * clients

    def _run(self, client: int) -> None:
        for _ in range(100_000):  # bounded; stopped long before
            if self._stop.is_set():
                return
            step = self._next[client]
            if _push(self.port, self.token, client, step):
                with self._lock:
                    self.acknowledged.add((client, step))
                self._next[client] = step + 1

    def count(self) -> int:
        with self._lock:
            return len(self.acknowledged)

    def __enter__(self) -> Load:
        for thread in self._threads:
            thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout=30)


def test_sigkill_under_load_loses_nothing_acknowledged(
    tmp_path: Path, procs: Callable[..., Proc]
) -> None:
    data = tmp_path / "data"
    port = free_port()
    token = create_key(data, "crash-clients")
    server = start_server(procs, data, port, "server-0")
    with Load(port, token, clients=3) as load:
        for cycle in range(3):
            target = load.count() + 30
            wait_for(f"{target} acknowledged pushes", lambda: load.count() >= target)  # noqa: B023
            server.signal(signal.SIGKILL)  # while the clients keep pushing
            server.wait()
            server = start_server(procs, data, port, f"server-{cycle + 1}")
        target = load.count() + 10
        wait_for("pushes after the last restart", lambda: load.count() >= target)
    acknowledged = set(load.acknowledged)
    assert server.stop() == 0

    per_push: dict[tuple[int, int], int] = {}
    for series in stored_series(data, "crash_test"):
        assert len(series.timestamps) == len(set(series.timestamps.tolist()))
        for value in series.values.tolist():
            key = (int(series.labels["client"]), int(value))
            per_push[key] = per_push.get(key, 0) + 1
    missing = acknowledged - per_push.keys()
    assert not missing, f"{len(missing)} acknowledged pushes lost, e.g. {sorted(missing)[:5]}"
    torn = {key: n for key, n in per_push.items() if n != SERIES_PER_PUSH}
    assert not torn, f"pushes stored partly (all or nothing broken): {list(torn.items())[:5]}"
