"""Our server and a real Prometheus 2.42 holding the same data, for differential tests.

``start_peers`` writes ``prom_data``'s samples once into an OpenMetrics file that ``promtool
tsdb create-blocks-from openmetrics`` turns into blocks for Prometheus, and once through our
TSDB's appender into a server data directory; then it starts both processes on 127.0.0.1
(free ports, a tmp dir each) and stops them by PID when the block ends. Both use a 5 m
lookback. Samples end hours before now, so both answer from persisted data.
"""

from __future__ import annotations

import contextlib
import json
import shutil
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from multimonx.model import Labels
from multimonx.storage.tsdb import TSDB
from tests.integration.conftest import (
    Proc,
    free_port,
    http_get,
    multimonx,
    prometheus_on_blocks,
    wait_for,
)
from tests.integration.prom_data import Dataset, generate

# Loopback only: never let an environment proxy see these requests.
_OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}))

Params = Mapping[str, str | Sequence[str]]


@dataclass(frozen=True)
class Answer:
    """One HTTP answer: status, parsed JSON body (None if not JSON), content type."""

    status: int
    body: Any
    content_type: str
    headers: Mapping[str, str] = field(default_factory=dict)
    """Every header, by lower-case name."""


@dataclass(frozen=True)
class Peer:
    """A server speaking the Prometheus HTTP API at ``base``."""

    name: str
    base: str

    def request(
        self,
        path: str,
        params: Params | None = None,
        *,
        post: bool = False,
        headers: Mapping[str, str] | None = None,
        method: str | None = None,
    ) -> Answer:
        """GET (query string) or POST (form body) ``path`` (or ``method`` with the query
        string); any HTTP status is an answer."""
        encoded = urllib.parse.urlencode(params or {}, doseq=True)
        url = f"{self.base}{path}"
        if post:
            request = urllib.request.Request(
                url,
                data=encoded.encode(),
                headers={"Content-Type": "application/x-www-form-urlencoded", **(headers or {})},
                method="POST",
            )
        else:
            request = urllib.request.Request(
                f"{url}?{encoded}" if encoded else url, headers=dict(headers or {}), method=method
            )
        try:
            with _OPENER.open(request, timeout=120) as response:
                return _answer(response.status, response.read(), response.headers)
        except urllib.error.HTTPError as err:
            return _answer(err.code, err.read(), err.headers)


def _answer(status: int, raw: bytes, headers: Any) -> Answer:
    content_type = str(headers.get("Content-Type", ""))
    try:
        body = json.loads(raw)
    except ValueError:
        body = None
    return Answer(status, body, content_type, {k.lower(): v for k, v in headers.items()})


@dataclass(frozen=True)
class Peers:
    """Prometheus and ours over the same ``dataset``."""

    prometheus: Peer
    ours: Peer
    dataset: Dataset


def _openmetrics(dataset: Dataset) -> str:
    """The samples as OpenMetrics text, each family's series together."""
    lines: list[str] = []
    for series in sorted(dataset.series, key=lambda s: s.labels["__name__"]):
        name = series.labels["__name__"]
        pairs = ",".join(f'{k}="{v}"' for k, v in series.labels.items() if k != "__name__")
        for t, v in zip(series.timestamps.tolist(), series.values.tolist(), strict=True):
            lines.append(f"{name}{{{pairs}}} {v!r} {t / 1000:.3f}")
    return "\n".join([*lines, "# EOF", ""])


def _prometheus(tmp: Path, dataset: Dataset) -> tuple[Proc, int]:
    return prometheus_on_blocks(tmp, _openmetrics(dataset), "--query.lookback-delta=5m")


def _write_ours(data_dir: Path, dataset: Dataset) -> None:
    db = TSDB.open(data_dir / "tsdb")
    try:
        appender = db.appender()
        for series in dataset.series:
            labels = Labels(series.labels.items())
            for t, v in zip(series.timestamps.tolist(), series.values.tolist(), strict=True):
                appender.append(labels, t, v)
        appender.commit()
    finally:
        db.close()


def _ours(tmp: Path, dataset: Dataset) -> tuple[Proc, int]:
    data_dir = tmp / "data"
    _write_ours(data_dir, dataset)
    # no default rule pack: the Prometheus beside it runs no rules (/api/v1/rules is compared)
    (tmp / "server.yml").write_text("query:\n  lookback_delta: 5m\nrules:\n  default_pack: false\n")
    port = free_port()
    proc = Proc(
        multimonx(
            "server",
            "--config",
            str(tmp / "server.yml"),
            "--data-dir",
            str(data_dir),
            "--listen-address",
            f"127.0.0.1:{port}",
        ),
        tmp / "server.log",
    )
    return proc, port


@contextlib.contextmanager
def start_peers(tmp: Path) -> Iterator[Peers]:
    """Both servers loaded with the data set, ready to answer; stopped when the block ends."""
    if shutil.which("prometheus") is None or shutil.which("promtool") is None:
        pytest.skip("prometheus/promtool are not installed")
    # Two hours of data ending two to three hours ago. Starting on a whole hour puts every
    # subquery step, tier bucket and Prometheus block at the same place relative to the
    # samples in every run: runs differ only in absolute time.
    start_ms = (int(time.time()) // 3600 * 3600 - 4 * 3600) * 1000
    dataset = generate(start_ms)
    (tmp / "prometheus").mkdir()
    (tmp / "ours").mkdir()
    procs: list[Proc] = []
    try:
        prom_proc, prom_port = _prometheus(tmp / "prometheus", dataset)
        procs.append(prom_proc)
        our_proc, our_port = _ours(tmp / "ours", dataset)
        procs.append(our_proc)
        prometheus = Peer("prometheus", f"http://127.0.0.1:{prom_port}")
        ours = Peer("ours", f"http://127.0.0.1:{our_port}")
        wait_for("Prometheus ready", lambda: http_get(f"{prometheus.base}/-/ready")[0] == 200)
        wait_for("our server ready", lambda: http_get(f"{ours.base}/api/v1/health")[0] == 200)
        yield Peers(prometheus, ours, dataset)
    finally:
        for proc in reversed(procs):
            proc.stop()
