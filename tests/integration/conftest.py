"""Real processes for integration tests: started on 127.0.0.1, stopped by PID."""

from __future__ import annotations

import importlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path
from types import ModuleType
from typing import Any, TypeVar

import pytest

T = TypeVar("T")

DEADLINE = 60.0


def free_port() -> int:
    """A TCP port on 127.0.0.1 that was free a moment ago."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_for(
    what: str, probe: Callable[[], T | None], deadline: float = DEADLINE, every: float = 0.1
) -> T:
    """Poll ``probe`` until it returns something other than None/False, or fail."""
    end = time.monotonic() + deadline
    last_error: BaseException | None = None
    while time.monotonic() < end:
        try:
            result = probe()
            if result is not None and result is not False:
                return result
        except (OSError, ValueError, KeyError, urllib.error.URLError) as err:
            last_error = err
        time.sleep(every)
    pytest.fail(f"timed out after {deadline:.0f}s waiting for {what} (last error: {last_error})")


def http_get(url: str, headers: dict[str, str] | None = None) -> tuple[int, bytes]:
    """GET a URL; returns (status, body) for any HTTP status."""
    request = urllib.request.Request(url, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as err:
        return err.code, err.read()


def get_json(url: str) -> Any:
    """GET a URL that answers 200 with JSON."""
    status, body = http_get(url)
    if status != 200:
        raise ValueError(f"{url}: HTTP {status}")
    return json.loads(body)


class Proc:
    """A child process with its output captured to a file, stopped by PID."""

    def __init__(self, args: list[str], log_path: Path, env: dict[str, str] | None = None) -> None:
        self.args = args
        self.log_path = log_path
        self._log = log_path.open("ab")
        self.popen = subprocess.Popen(
            args,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            env={**os.environ, **(env or {})},
            start_new_session=True,
        )

    @property
    def pid(self) -> int:
        return self.popen.pid

    def output(self) -> str:
        return self.log_path.read_text(errors="replace")

    def signal(self, signum: int) -> None:
        if self.popen.poll() is None:
            os.kill(self.pid, signum)

    def wait(self, timeout: float = DEADLINE) -> int:
        return self.popen.wait(timeout=timeout)

    def stop(self, timeout: float = 30.0) -> int | None:
        """SIGTERM, then SIGKILL if it does not exit in time; returns the exit status."""
        if self.popen.poll() is None:
            self.signal(signal.SIGTERM)
            try:
                self.popen.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.signal(signal.SIGKILL)
                self.popen.wait(timeout=timeout)
        self._log.close()
        return self.popen.returncode


def prometheus_on_blocks(tmp: Path, openmetrics: str, *flags: str) -> tuple[Proc, int]:
    """A real Prometheus on 127.0.0.1 serving ``openmetrics`` (text ending in ``# EOF``) turned
    into TSDB blocks by ``promtool tsdb create-blocks-from openmetrics`` in ``tmp``, with no
    scrape targets; returns it and its port (the caller waits for it and stops it)."""
    (tmp / "data.om").write_text(openmetrics)
    subprocess.run(
        [
            "promtool",
            "tsdb",
            "create-blocks-from",
            "openmetrics",
            str(tmp / "data.om"),
            str(tmp / "tsdb"),
        ],
        check=True,
        capture_output=True,
        timeout=300,
    )
    (tmp / "prometheus.yml").write_text("global: {}\n")
    port = free_port()
    proc = Proc(
        [
            "prometheus",
            f"--config.file={tmp / 'prometheus.yml'}",
            f"--storage.tsdb.path={tmp / 'tsdb'}",
            f"--web.listen-address=127.0.0.1:{port}",
            *flags,
        ],
        tmp / "prometheus.log",
    )
    return proc, port


def start_prometheus(
    procs: Callable[..., Proc], tmp_path: Path, config: str, data: str = "prometheus-data"
) -> int:
    """A real Prometheus on 127.0.0.1 started with ``config`` (its YAML) and its data in
    ``tmp_path / data``, stopped when the test ends; its port (the caller waits for it)."""
    port = free_port()
    (tmp_path / "prometheus.yml").write_text(config)
    procs(
        [
            shutil.which("prometheus") or "prometheus",
            f"--config.file={tmp_path / 'prometheus.yml'}",
            f"--storage.tsdb.path={tmp_path / data}",
            f"--web.listen-address=127.0.0.1:{port}",
        ],
        "prometheus",
    )
    return port


def bench_module(name: str) -> ModuleType:
    """A script of ``bench/`` as a module (the scripts import their sibling helpers by name,
    so ``bench/`` goes on ``sys.path``)."""
    bench = str(Path(__file__).resolve().parents[2] / "bench")
    if bench not in sys.path:
        sys.path.insert(0, bench)
    return importlib.import_module(name)


def multimonx(*args: str) -> list[str]:
    """The command line that runs ``multimonx`` from this interpreter's environment."""
    return [sys.executable, "-m", "multimonx", *args]


@pytest.fixture
def procs(tmp_path: Path) -> Iterator[Callable[..., Proc]]:
    """Start processes that are stopped (by PID) when the test ends."""
    started: list[Proc] = []

    def start(args: list[str], name: str, env: dict[str, str] | None = None) -> Proc:
        proc = Proc(args, tmp_path / f"{name}.log", env)
        started.append(proc)
        return proc

    yield start
    for proc in reversed(started):
        proc.stop()
