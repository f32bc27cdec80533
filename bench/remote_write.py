"""Prometheus as a benchmark peer: a minimal remote-write client and the process it talks to.

Remote write 1.0 sends a snappy-compressed (raw block format, not framed) protobuf
``WriteRequest``::

    WriteRequest { repeated TimeSeries timeseries = 1; }
    TimeSeries   { repeated Label labels = 1; repeated Sample samples = 2; }
    Label        { string name = 1; string value = 2; }
    Sample       { double value = 1; int64 timestamp = 2; }

A benchmark sends the same series over and over with new samples, so ``BodyTemplate`` encodes
the label part of every series once and lays out a byte template with a slot for every
sample; each request then only writes the values and timestamps into their slots with numpy
fancy indexing. Timestamps must be milliseconds in ``[2**35, 2**42)`` (years 1971 to 2109) so
that every timestamp varint has the same length (6 bytes), which keeps the layout fixed.
``PrometheusProcess`` runs a real ``prometheus`` with the receiver on and answers its API.
"""

from __future__ import annotations

import http.client
import json
import struct
import subprocess
import time
import urllib.parse
import urllib.request
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import cramjam
import numpy as np
import numpy.typing as npt

from multimonx.model import Labels

TS_MIN = 2**35
"""Smallest timestamp (ms) the fixed 6-byte timestamp varint can hold."""
TS_MAX = 2**42 - 1
"""Largest timestamp (ms) the fixed 6-byte timestamp varint can hold."""

_TS_BYTES = 6
# One Sample field inside a TimeSeries: tag+len (2), value tag (1), double (8), ts tag (1), ts (6).
_SAMPLE_FIELD = 2 + 1 + 8 + 1 + _TS_BYTES
_SAMPLE_PREFIX = bytes((0x12, _SAMPLE_FIELD - 2, 0x09))
_UINT64 = 2**64 - 1


def varint(n: int) -> bytes:
    """The protobuf base-128 varint of a non-negative integer."""
    out = bytearray()
    while True:
        byte = n & 0x7F
        n >>= 7
        if n:
            out.append(byte | 0x80)
        else:
            out.append(byte)
            return bytes(out)


def _field(tag: int, payload: bytes) -> bytes:
    return bytes((tag,)) + varint(len(payload)) + payload


def encode_labels(labels: Labels) -> bytes:
    """The ``labels`` fields of one TimeSeries, sorted by name as the specification requires."""
    return b"".join(
        _field(0x0A, _field(0x0A, name.encode()) + _field(0x12, value.encode()))
        for name, value in labels.pairs
    )


def encode_write_request(
    series: Sequence[tuple[Labels, Sequence[int], Sequence[float]]],
) -> bytes:
    """A whole uncompressed WriteRequest with any timestamps (plain varints, no fixed layout):
    for tests that load a few samples rather than benchmarks that send many. Negative
    timestamps are encoded as int64 two's complement, as protobuf does."""
    parts: list[bytes] = []
    for labels, timestamps, values in series:
        samples = b"".join(
            _field(0x12, b"\x09" + struct.pack("<d", value) + b"\x10" + varint(t & _UINT64))
            for t, value in zip(timestamps, values, strict=True)
        )
        parts.append(_field(0x0A, encode_labels(labels) + samples))
    return b"".join(parts)


def timestamp_varints(ts: npt.NDArray[np.int64]) -> npt.NDArray[np.uint8]:
    """The 6-byte varints of ``ts`` (any shape), as an array with one more axis of length 6."""
    if ts.size and (int(ts.min()) < TS_MIN or int(ts.max()) > TS_MAX):
        raise ValueError("timestamps must lie in [2**35, 2**42) ms for the fixed layout")
    shifts = np.arange(0, 7 * _TS_BYTES, 7, dtype=np.int64)
    out = ((ts[..., None] >> shifts) & 0x7F).astype(np.uint8)
    out[..., :-1] |= 0x80
    return out


class BodyTemplate:
    """The uncompressed WriteRequest for fixed series with ``rounds`` samples each.

    ``render(values, timestamps)`` takes two ``(series, rounds)`` arrays and returns the
    protobuf bytes; the template itself is never modified, so one template may be rendered
    from several threads.
    """

    def __init__(self, encoded_labels: Sequence[bytes], rounds: int) -> None:
        self.series = len(encoded_labels)
        self.rounds = rounds
        parts: list[bytes] = []
        slots: list[int] = []  # offset of the first sample field of each series
        offset = 0
        blank_samples = (_SAMPLE_PREFIX + bytes(8) + b"\x10" + bytes(_TS_BYTES)) * rounds
        for lab in encoded_labels:
            body = lab + blank_samples
            head = b"\x0a" + varint(len(body))
            parts.append(head + body)
            slots.append(offset + len(head) + len(lab))
            offset += len(head) + len(body)
        self._template = np.frombuffer(b"".join(parts), dtype=np.uint8)
        starts = np.asarray(slots, dtype=np.int64)[:, None] + np.arange(rounds) * _SAMPLE_FIELD
        self._value_index = (starts[..., None] + 3 + np.arange(8)).ravel()
        self._ts_index = (starts[..., None] + 12 + np.arange(_TS_BYTES)).ravel()

    def render(
        self, values: npt.NDArray[np.float64], timestamps: npt.NDArray[np.int64]
    ) -> npt.NDArray[np.uint8]:
        """The encoded WriteRequest with these samples (arrays shaped ``(series, rounds)``)."""
        shape = (self.series, self.rounds)
        if values.shape != shape or timestamps.shape != shape:
            raise ValueError(f"expected arrays of shape {shape}")
        out = self._template.copy()
        little = np.ascontiguousarray(values, dtype="<f8")
        out[self._value_index] = little.view(np.uint8).ravel()
        out[self._ts_index] = timestamp_varints(timestamps).ravel()
        return out


def compress(body: npt.NDArray[np.uint8]) -> bytes:
    """Snappy raw-block compression, the body encoding remote write requires."""
    return bytes(cramjam.snappy.compress_raw(body.data))


class RemoteWriteClient:
    """One keep-alive HTTP connection posting remote-write bodies; one per sender thread."""

    def __init__(self, host: str, port: int, path: str = "/api/v1/write") -> None:
        self._conn = http.client.HTTPConnection(host, port, timeout=120)
        self._path = path

    def send(self, compressed: bytes) -> None:
        """POST one compressed WriteRequest; raises RuntimeError unless the receiver says 2xx."""
        self._conn.request(
            "POST",
            self._path,
            body=compressed,
            headers={
                "Content-Encoding": "snappy",
                "Content-Type": "application/x-protobuf",
                "X-Prometheus-Remote-Write-Version": "0.1.0",
            },
        )
        response = self._conn.getresponse()
        detail = response.read()
        if not 200 <= response.status < 300:
            raise RuntimeError(f"remote write got HTTP {response.status}: {detail[:300]!r}")

    def close(self) -> None:
        """Close the connection."""
        self._conn.close()


class PrometheusProcess:
    """A real ``prometheus`` on 127.0.0.1 scraping nothing, with the remote-write receiver and
    the admin API on, its TSDB in ``data_dir``, ``config`` its configuration file's text.
    Use as a context manager: it is stopped by PID (SIGTERM, then SIGKILL after 30 s) on
    exit."""

    def __init__(
        self,
        data_dir: Path,
        port: int,
        binary: str = "prometheus",
        *,
        config: str = "global:\n  scrape_interval: 1h\nscrape_configs: []\n",
    ) -> None:
        self.data_dir, self.port = data_dir, port
        data_dir.mkdir(parents=True, exist_ok=True)
        config_file = data_dir.parent / "prometheus.yml"
        config_file.write_text(config)
        self._log = (data_dir.parent / "prometheus.log").open("wb")
        self.proc = subprocess.Popen(
            [
                binary,
                f"--config.file={config_file}",
                f"--storage.tsdb.path={data_dir}",
                f"--web.listen-address=127.0.0.1:{port}",
                "--web.enable-remote-write-receiver",
                "--web.enable-admin-api",
            ],
            stdout=self._log,
            stderr=subprocess.STDOUT,
        )

    def __enter__(self) -> PrometheusProcess:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def pid(self) -> int:
        return self.proc.pid

    def url(self, path: str, **params: str) -> str:
        """The URL of ``path`` with query ``params``."""
        query = f"?{urllib.parse.urlencode(params)}" if params else ""
        return f"http://127.0.0.1:{self.port}{path}{query}"

    def get(self, path: str, method: str = "GET", **params: str) -> bytes:
        """The body of one request (raises on an HTTP error)."""
        request = urllib.request.Request(self.url(path, **params), method=method)
        with urllib.request.urlopen(request, timeout=300) as response:
            body: bytes = response.read()
            return body

    def api(self, path: str, method: str = "GET", **params: str) -> Any:
        """The ``data`` of a /api/v1 JSON answer."""
        return json.loads(self.get(path, method, **params))["data"]

    def wait_ready(self, deadline_s: float = 60.0) -> None:
        """Poll /-/ready until it answers; raises RuntimeError if it does not in time."""
        end = time.monotonic() + deadline_s
        while time.monotonic() < end:
            if self.proc.poll() is not None:
                raise RuntimeError(f"prometheus exited with {self.proc.returncode}")
            try:
                self.get("/-/ready")
                return
            except OSError:
                time.sleep(0.1)
        raise RuntimeError("prometheus did not become ready")

    def metric_sum(self, name: str) -> float:
        """The sum of every sample of ``name`` on Prometheus's own /metrics."""
        total = 0.0
        for line in self.get("/metrics").decode().splitlines():
            if line.startswith((name + " ", name + "{")):
                total += float(line.rsplit(" ", 1)[1])
        return total

    def stop(self) -> None:
        """Stop the process by PID; idempotent."""
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=30)
        self._log.close()
