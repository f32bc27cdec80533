"""The pusher against a real HTTP server on 127.0.0.1 that answers scripted status codes."""

from __future__ import annotations

import gzip
import json
import random
import socket
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from email.utils import formatdate
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from multimonx.agent.push import Pusher, parse_retry_after
from multimonx.agent.spool import Spool
from multimonx.model import COLLECT_PATH, MetricFamily, encode_round

DEADLINE = 60.0


def wait_until(condition: Callable[[], bool], what: str, timeout: float = DEADLINE) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.01)


@dataclass(frozen=True, slots=True)
class Received:
    """One request as the test server saw it."""

    path: str
    headers: Mapping[str, str]
    payload: dict[str, Any]
    at: float

    @property
    def timestamps(self) -> list[int]:
        return [r["timestamp"] for r in self.payload["rounds"]]


@dataclass(frozen=True, slots=True)
class Reply:
    status: int = 200
    headers: Mapping[str, str] = field(default_factory=dict)
    body: bytes = b""


class Receiver:
    """A ThreadingHTTPServer that records requests and answers from a script (then 200)."""

    def __init__(self, port: int = 0, *, keep_alive: bool = False) -> None:
        self.requests: list[Received] = []
        self.client_ports: list[int] = []
        self.drop_silently = False  # close a kept-alive connection without saying so
        self.script: deque[Reply] = deque()
        self.respond: Callable[[Received], Reply] | None = None
        self.release = threading.Event()
        self.hold = False
        self._lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1" if keep_alive else "HTTP/1.0"

            def log_message(self, format: str, *args: object) -> None:
                pass

            def do_POST(self) -> None:
                raw = self.rfile.read(int(self.headers["Content-Length"]))
                if self.headers.get("Content-Encoding") == "gzip":
                    raw = gzip.decompress(raw)
                got = Received(self.path, dict(self.headers), json.loads(raw), time.monotonic())
                with receiver._lock:
                    receiver.requests.append(got)
                    receiver.client_ports.append(self.client_address[1])
                    if receiver.respond is not None:
                        reply = receiver.respond(got)
                    else:
                        reply = receiver.script.popleft() if receiver.script else Reply()
                if receiver.hold:
                    receiver.release.wait(DEADLINE)
                self.send_response(reply.status)
                for name, value in reply.headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(reply.body)))
                self.end_headers()
                self.wfile.write(reply.body)
                if receiver.drop_silently:
                    self.close_connection = True

        self.server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
        self.port = self.server.server_address[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self._thread = threading.Thread(
            target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self._thread.start()

    def count(self) -> int:
        with self._lock:
            return len(self.requests)

    def close(self) -> None:
        self.release.set()
        self.server.shutdown()
        self.server.server_close()
        self._thread.join(DEADLINE)


class RecordingRandom(random.Random):
    """Jitter source that always picks the ceiling and remembers every ceiling asked for."""

    def __init__(self) -> None:
        super().__init__(0)
        self.ceilings: list[float] = []

    def uniform(self, a: float, b: float) -> float:
        self.ceilings.append(b)
        return b


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    r = Receiver()
    yield r
    r.close()


@pytest.fixture
def spool(tmp_path: Path) -> Iterator[Spool]:
    s = Spool(tmp_path / "spool.db", 2**30)
    yield s
    s.close()


PusherFactory = Callable[..., Pusher]


@pytest.fixture
def make_pusher(spool: Spool) -> Iterator[PusherFactory]:
    started: list[Pusher] = []

    def make(url: str, **overrides: Any) -> Pusher:
        options: dict[str, Any] = {
            "api_key": "s3cret",
            "agent_info": lambda: {"instance": "web-1", "version": "test"},
            "timeout": 30.0,
            "max_rounds": 10,
            "backoff_initial": 0.001,
            "backoff_max": 0.01,
        }
        options.update(overrides)
        api_key = options.pop("api_key")
        pusher = Pusher(spool, url, api_key, **options)
        pusher.start()
        started.append(pusher)
        return pusher

    yield make
    for pusher in started:
        pusher.stop(timeout=DEADLINE)


def add_rounds(spool: Spool, count: int, start_ms: int = 1_732_240_000_000) -> list[int]:
    """Append ``count`` rounds (round i has i+1 samples); return their timestamps."""
    stamps = []
    for i in range(count):
        ts = start_ms + 5000 * i
        family = MetricFamily.gauge(
            "node_load1", "1m load average.", ["n"], [((str(j),), j * 0.5) for j in range(i + 1)]
        )
        spool.append(encode_round(ts, {"instance": "web-1", "job": "node"}, [family]), i + 1)
        stamps.append(ts)
    return stamps


def values(pusher: Pusher) -> dict[str, float]:
    """Self-metrics as {name or name{code}: value}."""
    out = {}
    for family in pusher.families():
        for labels, value in family.samples:
            key = family.name + (f"{{{labels[0]}}}" if labels else "")
            out[key] = value
    return out


def drained(spool: Spool) -> Callable[[], bool]:
    return lambda: spool.records == 0


def pusher_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name == "multimonx-pusher"]


# Format and headers.


def test_request_is_gzip_wire_format_with_rounds_in_original_order(
    receiver: Receiver, spool: Spool, make_pusher: PusherFactory
) -> None:
    stamps = add_rounds(spool, 5)
    make_pusher(receiver.url)
    wait_until(drained(spool), "spool drained")
    (request,) = receiver.requests
    assert request.path == COLLECT_PATH
    assert request.headers["Content-Encoding"] == "gzip"
    assert request.headers["Content-Type"] == "application/json"
    assert request.headers["User-Agent"].startswith("multimonx-agent/")
    assert request.payload["version"] == 1
    assert request.timestamps == stamps
    assert request.payload["rounds"][2]["families"][0]["samples"] == [
        [["0"], 0.0],
        [["1"], 0.5],
        [["2"], 1.0],
    ]
    agent = request.payload["agent"]
    assert agent["instance"] == "web-1"
    assert {"spool_bytes", "dropped_samples", "push_errors"} <= agent.keys()
    assert agent["spool_bytes"] == 0  # every spooled round is in this request


def test_the_reported_backlog_is_what_waits_behind_the_request(
    receiver: Receiver, spool: Spool, make_pusher: PusherFactory
) -> None:
    add_rounds(spool, 12)
    records = spool.peek(12)
    behind = sum(record.stored_bytes for record in records[5:])
    last = sum(record.stored_bytes for record in records[10:])
    make_pusher(receiver.url, max_rounds=5)
    wait_until(drained(spool), "spool drained")
    reported = [r.payload["agent"]["spool_bytes"] for r in receiver.requests]
    assert reported[:3] == [behind, last, 0]  # 7 rounds behind, then 2, then none


@pytest.mark.parametrize(
    ("api_key", "suffix", "authorization", "path"),
    [
        ("s3cret", "", "Bearer s3cret", COLLECT_PATH),
        (None, "", None, COLLECT_PATH),
        ("", "/", None, COLLECT_PATH),
        ("k", "/monitor/", "Bearer k", "/monitor" + COLLECT_PATH),
    ],
)
def test_authorization_header_and_base_path(
    receiver: Receiver,
    spool: Spool,
    make_pusher: PusherFactory,
    api_key: str | None,
    suffix: str,
    authorization: str | None,
    path: str,
) -> None:
    add_rounds(spool, 1)
    make_pusher(receiver.url + suffix, api_key=api_key)
    wait_until(drained(spool), "spool drained")
    (request,) = receiver.requests
    assert request.headers.get("Authorization") == authorization
    assert request.path == path


def test_batches_are_at_most_max_rounds_and_replay_in_order(
    receiver: Receiver, spool: Spool, make_pusher: PusherFactory
) -> None:
    stamps = add_rounds(spool, 23)
    make_pusher(receiver.url, max_rounds=5)
    wait_until(drained(spool), "spool drained")
    assert [len(r.timestamps) for r in receiver.requests] == [5, 5, 5, 5, 3]
    assert [ts for r in receiver.requests for ts in r.timestamps] == stamps


def test_wake_pushes_rounds_appended_later(
    receiver: Receiver, spool: Spool, make_pusher: PusherFactory
) -> None:
    def pushed(n: int) -> Callable[[], bool]:
        return lambda: receiver.count() >= n and spool.records == 0

    pusher = make_pusher(receiver.url)
    for i in range(3):
        add_rounds(spool, 1, start_ms=1000 * i)
        pusher.wake()
        wait_until(pushed(i + 1), "round pushed")
    assert [ts for r in receiver.requests for ts in r.timestamps] == [0, 1000, 2000]


@pytest.mark.parametrize("drop_silently", [False, True])
def test_keep_alive_connection_is_reused_and_a_stale_one_replaced(
    spool: Spool, make_pusher: PusherFactory, drop_silently: bool
) -> None:
    server = Receiver(keep_alive=True)
    server.drop_silently = drop_silently
    try:
        pusher = make_pusher(server.url)
        for i in range(3):
            add_rounds(spool, 1, start_ms=1000 * i)
            pusher.wake()
            wait_until(lambda: spool.records == 0, "round pushed")
        assert [ts for r in server.requests for ts in r.timestamps] == [0, 1000, 2000]
        assert (len(set(server.client_ports)) == 1) is not drop_silently
        assert values(pusher)["multimonx_agent_push_errors_total"] == 0
    finally:
        pusher.stop(timeout=DEADLINE)
        server.close()


# Status codes.


@pytest.mark.parametrize("status", [400, 401, 403, 404, 422])
def test_client_errors_are_rejected_not_retried(
    receiver: Receiver, spool: Spool, make_pusher: PusherFactory, status: int
) -> None:
    receiver.script.append(Reply(status, body=b"bad label name '__x'"))
    add_rounds(spool, 2)  # 1 + 2 samples
    pusher = make_pusher(receiver.url)
    wait_until(drained(spool), "batch rejected")
    add_rounds(spool, 1, start_ms=99_000)
    pusher.wake()
    wait_until(lambda: receiver.count() == 2 and spool.records == 0, "next round pushed")
    assert [r.timestamps for r in receiver.requests][1] == [99_000]
    metrics = values(pusher)
    assert metrics["multimonx_agent_push_rejected_samples_total"] == 3
    assert metrics["multimonx_agent_pushed_samples_total"] == 1
    assert metrics["multimonx_agent_push_requests_total{4xx}"] == 1
    assert metrics["multimonx_agent_push_requests_total{2xx}"] == 1
    assert metrics["multimonx_agent_push_errors_total"] == 1


@pytest.mark.parametrize(
    ("status", "code"), [(429, "429"), (500, "5xx"), (502, "5xx"), (503, "5xx"), (408, "4xx")]
)
def test_retryable_statuses_keep_the_batch_until_stored(
    receiver: Receiver, spool: Spool, make_pusher: PusherFactory, status: int, code: str
) -> None:
    receiver.script.extend([Reply(status), Reply(status)])
    stamps = add_rounds(spool, 3)
    pusher = make_pusher(receiver.url)
    wait_until(drained(spool), "batch stored after retries")
    assert [r.timestamps for r in receiver.requests] == [stamps] * 3
    errors = [r.payload["agent"]["push_errors"] for r in receiver.requests]
    assert errors == [0, 1, 2]
    metrics = values(pusher)
    assert metrics[f"multimonx_agent_push_requests_total{{{code}}}"] == 2
    assert metrics["multimonx_agent_push_requests_total{2xx}"] == 1
    assert metrics["multimonx_agent_push_errors_total"] == 2
    assert metrics["multimonx_agent_pushed_samples_total"] == 6
    assert metrics["multimonx_agent_push_rejected_samples_total"] == 0


@pytest.mark.parametrize("status", [429, 503])
def test_retry_after_is_honoured_instead_of_jitter(
    receiver: Receiver, spool: Spool, make_pusher: PusherFactory, status: int
) -> None:
    receiver.script.append(Reply(status, {"Retry-After": "1"}))
    add_rounds(spool, 1)
    rng = RecordingRandom()
    make_pusher(receiver.url, backoff_max=30.0, rng=rng)
    wait_until(drained(spool), "stored after Retry-After")
    first, second = receiver.requests
    assert second.at - first.at >= 1.0
    assert rng.ceilings == []


def test_retry_after_is_capped_at_backoff_max(
    receiver: Receiver, spool: Spool, make_pusher: PusherFactory
) -> None:
    receiver.script.append(Reply(429, {"Retry-After": "3600"}))
    add_rounds(spool, 1)
    make_pusher(receiver.url, backoff_max=0.05)
    wait_until(drained(spool), "stored well before an hour")
    assert receiver.count() == 2


def test_backoff_doubles_to_the_cap_and_resets_after_success(
    receiver: Receiver, spool: Spool, make_pusher: PusherFactory
) -> None:
    receiver.script.extend([Reply(500)] * 6)
    add_rounds(spool, 1)
    rng = RecordingRandom()
    pusher = make_pusher(receiver.url, backoff_initial=0.001, backoff_max=0.008, rng=rng)
    wait_until(drained(spool), "stored after six failures")
    assert rng.ceilings == [0.001, 0.002, 0.004, 0.008, 0.008, 0.008]

    receiver.script.extend([Reply(502)] * 2)
    add_rounds(spool, 1)
    pusher.wake()
    wait_until(lambda: receiver.count() == 10, "stored after two more failures")
    assert rng.ceilings[6:] == [0.001, 0.002]


def test_network_errors_are_retried_until_the_server_is_back(
    spool: Spool, make_pusher: PusherFactory
) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    stamps = add_rounds(spool, 4)
    pusher = make_pusher(f"http://127.0.0.1:{port}", backoff_max=0.05)
    wait_until(
        lambda: values(pusher)["multimonx_agent_push_requests_total{error}"] >= 3,
        "several connection failures",
    )
    assert spool.records == 4
    server = Receiver(port)
    try:
        wait_until(drained(spool), "spool replayed")
        assert [ts for r in server.requests for ts in r.timestamps] == stamps
    finally:
        server.close()
    assert values(pusher)["multimonx_agent_pushed_samples_total"] == 10


def test_payload_too_large_halves_the_batch(
    receiver: Receiver, spool: Spool, make_pusher: PusherFactory
) -> None:
    receiver.respond = lambda got: Reply(413) if len(got.timestamps) > 2 else Reply()
    stamps = add_rounds(spool, 7)
    pusher = make_pusher(receiver.url, max_rounds=8)
    wait_until(drained(spool), "spool drained in smaller batches")
    sizes = [len(r.timestamps) for r in receiver.requests]
    assert sizes[:3] == [7, 3, 1]
    stored = [ts for r in receiver.requests if len(r.timestamps) <= 2 for ts in r.timestamps]
    assert stored == stamps
    assert values(pusher)["multimonx_agent_push_rejected_samples_total"] == 0


def test_single_round_too_large_is_rejected(
    receiver: Receiver, spool: Spool, make_pusher: PusherFactory
) -> None:
    receiver.respond = lambda got: Reply(413, body=b"too big")
    add_rounds(spool, 3)  # 6 samples
    pusher = make_pusher(receiver.url, max_rounds=4)
    wait_until(drained(spool), "every round rejected")
    assert [len(r.timestamps) for r in receiver.requests] == [3, 1, 1, 1]
    assert values(pusher)["multimonx_agent_push_rejected_samples_total"] == 6


# Stopping.


def test_stop_interrupts_a_long_backoff(
    receiver: Receiver, spool: Spool, make_pusher: PusherFactory
) -> None:
    receiver.script.append(Reply(500))
    add_rounds(spool, 1)
    pusher = make_pusher(
        receiver.url, backoff_initial=3600.0, backoff_max=3600.0, rng=RecordingRandom()
    )
    wait_until(lambda: receiver.count() == 1, "first attempt")
    pusher.stop(timeout=DEADLINE)
    assert pusher_threads() == []
    assert spool.records == 1


def test_stop_aborts_an_in_flight_request_and_keeps_the_batch(
    receiver: Receiver, spool: Spool, make_pusher: PusherFactory
) -> None:
    receiver.hold = True
    add_rounds(spool, 2)
    pusher = make_pusher(receiver.url, timeout=3600.0)
    wait_until(lambda: receiver.count() == 1, "request in flight")
    pusher.stop(timeout=DEADLINE)
    assert pusher_threads() == []
    assert spool.records == 2
    assert values(pusher)["multimonx_agent_push_errors_total"] == 0


def test_stop_without_start_and_twice_is_harmless(spool: Spool) -> None:
    pusher = Pusher(
        spool,
        "http://127.0.0.1:1",
        None,
        agent_info=dict,
        timeout=1.0,
        max_rounds=1,
        backoff_initial=0.1,
        backoff_max=1.0,
    )
    pusher.stop()
    pusher.stop()


# Self-metrics and helpers.


def test_self_metrics_after_a_mixed_history(
    receiver: Receiver, spool: Spool, make_pusher: PusherFactory
) -> None:
    receiver.script.extend([Reply(400), Reply(503)])
    add_rounds(spool, 2)  # 3 samples, rejected
    pusher = make_pusher(receiver.url, max_rounds=2)
    wait_until(drained(spool), "first batch rejected")
    before = time.time()
    add_rounds(spool, 3)  # 6 samples: 503, then stored
    pusher.wake()
    wait_until(lambda: drained(spool)() and receiver.count() == 4, "stored")
    metrics = values(pusher)
    last_success = metrics.pop("multimonx_agent_last_push_success_timestamp_seconds")
    assert before <= last_success <= time.time()
    assert metrics == {
        "multimonx_agent_spool_bytes": 0,
        "multimonx_agent_spool_rounds": 0,
        "multimonx_agent_spool_dropped_samples_total": 0,
        "multimonx_agent_push_requests_total{2xx}": 2,
        "multimonx_agent_push_requests_total{4xx}": 1,
        "multimonx_agent_push_requests_total{429}": 0,
        "multimonx_agent_push_requests_total{5xx}": 1,
        "multimonx_agent_push_requests_total{error}": 0,
        "multimonx_agent_push_errors_total": 2,
        "multimonx_agent_push_rejected_samples_total": 3,
        "multimonx_agent_pushed_samples_total": 6,
    }


def test_self_metrics_before_any_push(spool: Spool) -> None:
    add_rounds(spool, 2)
    pusher = Pusher(
        spool,
        "http://127.0.0.1:1",
        None,
        agent_info=dict,
        timeout=1.0,
        max_rounds=1,
        backoff_initial=0.1,
        backoff_max=1.0,
    )
    metrics = values(pusher)
    assert metrics["multimonx_agent_spool_rounds"] == 2
    assert metrics["multimonx_agent_spool_bytes"] == spool.size_bytes
    assert metrics["multimonx_agent_last_push_success_timestamp_seconds"] == 0
    types = {f.name: f.type.value for f in pusher.families()}
    assert types["multimonx_agent_push_requests_total"] == "counter"
    assert types["multimonx_agent_spool_bytes"] == "gauge"


@pytest.mark.parametrize(
    ("header", "expected"),
    [(None, None), ("", None), ("7", 7.0), (" 0 ", 0.0), ("soon", None), ("-3", None)],
)
def test_parse_retry_after_seconds(header: str | None, expected: float | None) -> None:
    assert parse_retry_after(header) == expected


def test_parse_retry_after_http_date() -> None:
    wait = parse_retry_after(formatdate(time.time() + 120, usegmt=True))
    assert wait is not None
    assert 100 < wait <= 121
    assert parse_retry_after(formatdate(time.time() - 120, usegmt=True)) == 0.0


@pytest.mark.parametrize(
    "url", ["ftp://example.com", "example.com:9470", "http://", "https:///path"]
)
def test_bad_server_url_is_refused(spool: Spool, url: str) -> None:
    with pytest.raises(ValueError, match="server_url"):
        Pusher(
            spool,
            url,
            None,
            agent_info=dict,
            timeout=1.0,
            max_rounds=1,
            backoff_initial=0.1,
            backoff_max=1.0,
        )
