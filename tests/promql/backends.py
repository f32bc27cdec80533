"""Backends the script runner drives: our engine over MemoryStorage, and a real Prometheus.

``PrometheusBackend`` is the reference: a Debian ``prometheus`` 2.42 on 127.0.0.1 with the
remote-write receiver on, fed through bench/remote_write.py's encoder and queried over
its HTTP API. It proves that a script's expectations are what Prometheus computes.
"""

from __future__ import annotations

import importlib
import importlib.util
import json
import shutil
import socket
import subprocess
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Sequence
from pathlib import Path
from types import ModuleType
from typing import Any, Protocol, cast

import numpy as np

from multimonx.model import Labels
from multimonx.promql.values import MatrixSeries, QueryResult, VectorSample
from multimonx.storage.memory import MemoryStorage

REPO = Path(__file__).resolve().parents[2]
LOOKBACK = "5m"
_HEAD_MIN_VALID_MS = 3_600_000  # Prometheus's head rejects samples older than max_t - 1h


class EngineMissingError(RuntimeError):
    """multimonx.promql.engine cannot be imported yet."""


class QueryError(RuntimeError):
    """A backend rejected a query; the message is the backend's."""


# --- ours ---------------------------------------------------------------------------------


class _Engine(Protocol):
    def instant(self, query: str, t_ms: int) -> QueryResult: ...

    def range(self, query: str, start_ms: int, end_ms: int, step_ms: int) -> QueryResult: ...


def engine_factory() -> Callable[[MemoryStorage], _Engine]:
    """The Engine class, imported lazily; EngineMissingError while it is not written."""
    try:
        module = importlib.import_module("multimonx.promql.engine")
    except ImportError as err:
        raise EngineMissingError(f"engine not built yet ({err})") from err
    engine = getattr(module, "Engine", None)
    if engine is None:
        raise EngineMissingError("engine not built yet (no Engine class)")
    return cast(Callable[[MemoryStorage], _Engine], engine)


class OursBackend:
    """multimonx's Engine over a fresh MemoryStorage."""

    def __init__(self) -> None:
        self._factory = engine_factory()
        self._storage = MemoryStorage()
        self._engine = self._factory(self._storage)

    def load(self, samples: list[tuple[Labels, int, float]]) -> None:
        """Append and commit the samples."""
        appender = self._storage.appender()
        for labels, t_ms, value in samples:
            appender.append(labels, t_ms, value)
        appender.commit()

    def clear(self) -> None:
        """Start again on an empty storage."""
        self._storage.close()
        self._storage = MemoryStorage()
        self._engine = self._factory(self._storage)

    def instant(self, query: str, t_ms: int) -> QueryResult:
        """Ask the engine."""
        return self._engine.instant(query, t_ms)

    def range(self, query: str, start_ms: int, end_ms: int, step_ms: int) -> QueryResult:
        """Ask the engine."""
        return self._engine.range(query, start_ms, end_ms, step_ms)

    def close(self) -> None:
        """Close the storage."""
        self._storage.close()


# --- real Prometheus ----------------------------------------------------------------------


def _remote_write() -> ModuleType:
    """bench/remote_write.py (bench/ is a directory of scripts, not a package)."""
    spec = importlib.util.spec_from_file_location(
        "multimonx_bench_remote_write", REPO / "bench" / "remote_write.py"
    )
    if spec is None or spec.loader is None:
        raise RuntimeError("cannot load bench/remote_write.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _seconds(t_ms: int) -> str:
    return f"{t_ms / 1000:.3f}"


def _ms(seconds: float) -> int:
    return round(seconds * 1000)


class PrometheusBackend:
    """A real ``prometheus`` scraping nothing, its TSDB under ``work_dir``, stopped by PID.

    Samples go in by remote write. The TSDB head rejects samples older than one hour before
    its newest, so a load that reaches further back restarts Prometheus on an empty data
    directory and sends everything loaded since the last ``clear``, oldest sample first.
    """

    def __init__(self, work_dir: Path, binary: str = "prometheus") -> None:
        self._work_dir = work_dir
        self._binary = binary
        self._rw = _remote_write()
        self._loaded: list[tuple[Labels, int, float]] = []
        self._max_t: int | None = None
        self._proc: subprocess.Popen[bytes] | None = None
        self._port = 0
        self.restarts = 0
        self._start()

    # lifecycle

    def _start(self) -> None:
        data = self._work_dir / "data"
        shutil.rmtree(data, ignore_errors=True)
        data.mkdir(parents=True)
        config = self._work_dir / "prometheus.yml"
        config.write_text("global:\n  scrape_interval: 1h\nscrape_configs: []\n")
        self._port = _free_port()
        with (self._work_dir / "prometheus.log").open("ab") as log:
            self._proc = subprocess.Popen(
                [
                    self._binary,
                    f"--config.file={config}",
                    f"--storage.tsdb.path={data}",
                    f"--web.listen-address=127.0.0.1:{self._port}",
                    "--web.enable-remote-write-receiver",
                    f"--query.lookback-delta={LOOKBACK}",
                ],
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        self._wait_ready()
        self._max_t = None

    def _wait_ready(self, deadline_s: float = 60.0) -> None:
        assert self._proc is not None
        end = time.monotonic() + deadline_s
        while time.monotonic() < end:
            if self._proc.poll() is not None:
                raise RuntimeError(f"prometheus exited with {self._proc.returncode}")
            try:
                with urllib.request.urlopen(self._url("/-/ready"), timeout=5):
                    return
            except OSError:
                time.sleep(0.05)  # polling a starting process, not waiting out a race
        raise RuntimeError("prometheus did not become ready")

    def close(self) -> None:
        """Stop the process by PID (SIGTERM, then SIGKILL); idempotent."""
        proc, self._proc = self._proc, None
        if proc is None or proc.poll() is not None:
            return
        proc.terminate()
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=30)

    def _restart(self) -> None:
        self.close()
        self.restarts += 1
        self._start()

    # Backend

    def clear(self) -> None:
        """Restart on an empty data directory."""
        self._loaded = []
        self._restart()

    def load(self, samples: list[tuple[Labels, int, float]]) -> None:
        """Remote-write the samples (restarting first if they reach too far back)."""
        if not samples:
            return
        self._loaded.extend(samples)
        oldest = min(t for _, t, _ in samples)
        if self._max_t is not None and oldest <= self._max_t - _HEAD_MIN_VALID_MS:
            self._restart()
            samples = self._loaded
        self._send(samples)

    def _send(self, samples: Sequence[tuple[Labels, int, float]]) -> None:
        by_series: dict[Labels, dict[int, float]] = {}
        for labels, t_ms, value in samples:
            by_series.setdefault(labels, {})[t_ms] = value
        # The first sample appended sets the head's lower bound: send the oldest series first.
        series = sorted(
            ((labels, sorted(points.items())) for labels, points in by_series.items()),
            key=lambda item: item[1][0][0],
        )
        body = self._rw.encode_write_request(
            [(labels, [t for t, _ in pts], [v for _, v in pts]) for labels, pts in series]
        )
        client = self._rw.RemoteWriteClient("127.0.0.1", self._port)
        try:
            client.send(self._rw.compress(np.frombuffer(body, dtype=np.uint8)))
        finally:
            client.close()
        newest = max(t for _, t, _ in samples)
        self._max_t = newest if self._max_t is None else max(self._max_t, newest)

    def instant(self, query: str, t_ms: int) -> QueryResult:
        """GET /api/v1/query."""
        data = self._api("/api/v1/query", query=query, time=_seconds(t_ms))
        return _to_result(data)

    def range(self, query: str, start_ms: int, end_ms: int, step_ms: int) -> QueryResult:
        """GET /api/v1/query_range."""
        data = self._api(
            "/api/v1/query_range",
            query=query,
            start=_seconds(start_ms),
            end=_seconds(end_ms),
            step=_seconds(step_ms),
        )
        return _to_result(data)

    # HTTP

    def _url(self, path: str, **params: str) -> str:
        query = f"?{urllib.parse.urlencode(params)}" if params else ""
        return f"http://127.0.0.1:{self._port}{path}{query}"

    def _api(self, path: str, **params: str) -> Any:
        try:
            with urllib.request.urlopen(self._url(path, **params), timeout=60) as response:
                answer = json.loads(response.read())
        except urllib.error.HTTPError as err:
            body = err.read()
            try:
                message = json.loads(body)["error"]
            except (ValueError, KeyError):
                message = body.decode(errors="replace")
            raise QueryError(str(message)) from None
        return answer["data"]


def _to_result(data: Any) -> QueryResult:
    """An /api/v1 ``data`` object as a QueryResult."""
    kind = data["resultType"]
    result = data["result"]
    if kind == "vector":
        return QueryResult(
            kind,
            vector=[
                VectorSample(
                    Labels(item["metric"].items()), _ms(item["value"][0]), float(item["value"][1])
                )
                for item in result
            ],
        )
    if kind == "matrix":
        return QueryResult(
            kind,
            matrix=[
                MatrixSeries(
                    Labels(item["metric"].items()),
                    np.array([_ms(t) for t, _ in item["values"]], dtype=np.int64),
                    np.array([float(v) for _, v in item["values"]], dtype=np.float64),
                )
                for item in result
            ],
        )
    if kind == "scalar":
        return QueryResult(kind, scalar=(_ms(result[0]), float(result[1])))
    return QueryResult(kind, string=(_ms(result[0]), str(result[1])))
