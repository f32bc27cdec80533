"""The agent's pusher: sends spooled collection rounds to the server until it has stored them.

One background thread drains the ``Spool`` oldest first. Each request carries up to
``max_rounds`` rounds, gzip-compressed, as ``multimonx.model.wire.encode_push`` spells them, to
``<server_url>/api/v1/metrics/collect`` with ``Authorization: Bearer <api_key>`` when a key
is configured. What happens to the batch depends on the answer:

=================================  ==========================================================
answer                             effect
=================================  ==========================================================
2xx                                stored: ``ack`` (removed from the spool)
413 Payload Too Large              halve the batch and send again at once; a single round that
                                   still gets 413 is rejected
408, 429, 5xx, network error,      kept; retried after exponential backoff with full jitter
timeout, 1xx/3xx                   (``backoff_initial`` doubling up to ``backoff_max``);
                                   ``Retry-After`` on 429/503 replaces the jitter, capped at
                                   ``backoff_max``. Redirects are not followed (a POST body
                                   would be lost); point ``server_url`` at the final URL.
other 4xx                          rejected for good: ``reject`` (counted, and the server's
                                   message logged, truncated). 408 is retried instead because
                                   it says the request arrived too slowly, not that it is bad.
=================================  ==========================================================

The server stores a request all or nothing and ignores exact duplicates, so a request that was
stored but whose answer was lost is simply sent again.

HTTP goes through the stdlib ``http.client`` (what ``urllib.request`` wraps), which keeps the
agent's memory small, reuses one keep-alive connection, and lets ``stop`` abort an in-flight
request by shutting its socket down. Environment proxies are not used. HTTPS uses the default
SSL context (system CA store, hostname checked). The API key is never logged.
"""

from __future__ import annotations

import contextlib
import enum
import gzip
import http.client
import logging
import random
import socket
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from email.utils import parsedate_to_datetime
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from multimonx import __version__
from multimonx.agent.spool import Spool, SpoolRecord
from multimonx.model import COLLECT_PATH, MetricFamily, encode_push

if TYPE_CHECKING:
    import ssl

log = logging.getLogger(__name__)

USER_AGENT = f"multimonx-agent/{__version__}"
CODE_CLASSES = ("2xx", "4xx", "429", "5xx", "error")
_IDLE_POLL = 1.0
_MAX_RESPONSE_BYTES = 64 * 1024
_MAX_LOGGED_MESSAGE = 512
_STALE_CONNECTION_ERRORS = (ConnectionResetError, BrokenPipeError, ConnectionAbortedError)


class _Outcome(enum.Enum):
    """What one request did to its batch."""

    STORED = "stored"
    REJECTED = "rejected"
    TOO_LARGE = "too_large"
    RETRY = "retry"
    ABORTED = "aborted"


@dataclass(frozen=True, slots=True)
class _Answer:
    """The classified result of one request."""

    outcome: _Outcome
    code: str
    status: int | None = None
    retry_after: float | None = None
    message: str = ""


def _classify(status: int) -> tuple[_Outcome, str]:
    """The outcome and ``code`` label for an HTTP status (see the module's table)."""
    if 200 <= status < 300:
        return _Outcome.STORED, "2xx"
    if status == 429:
        return _Outcome.RETRY, "429"
    if status == 413:
        return _Outcome.TOO_LARGE, "4xx"
    if status == 408:
        return _Outcome.RETRY, "4xx"
    if 400 <= status < 500:
        return _Outcome.REJECTED, "4xx"
    if 500 <= status < 600:
        return _Outcome.RETRY, "5xx"
    return _Outcome.RETRY, "error"


def parse_retry_after(value: str | None) -> float | None:
    """Seconds to wait from a ``Retry-After`` header (delta-seconds or HTTP-date), or None."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - time.time())


def _tls_context() -> ssl.SSLContext:
    import ssl

    return ssl.create_default_context()


class Pusher:
    """Drains a ``Spool`` to the server from one background thread (see the module doc).

    ``agent_info`` is called once per request; its mapping becomes the body's ``agent`` object,
    to which the pusher adds ``spool_bytes``, ``dropped_samples`` and ``push_errors``.
    ``rng`` is the jitter source (inject a seeded one in tests). ``start``, ``stop``, ``wake``
    and ``families`` may be called from any thread.
    """

    def __init__(
        self,
        spool: Spool,
        server_url: str,
        api_key: str | None,
        *,
        agent_info: Callable[[], Mapping[str, object]],
        timeout: float,
        max_rounds: int,
        backoff_initial: float,
        backoff_max: float,
        rng: random.Random | None = None,
    ) -> None:
        url = urlsplit(server_url)
        host = url.hostname
        if url.scheme not in ("http", "https") or not host:
            raise ValueError(f"server_url must be an http:// or https:// URL, got {server_url!r}")
        if max_rounds < 1:
            raise ValueError("max_rounds must be at least 1")
        if backoff_initial <= 0 or backoff_max < backoff_initial:
            raise ValueError("backoff_initial must be > 0 and <= backoff_max")
        self._spool = spool
        # ssl is imported only for https: OpenSSL costs ~4 MB resident (see cli.main).
        self._ssl = _tls_context() if url.scheme == "https" else None
        self._host = host
        self._port = url.port
        self._path = url.path.rstrip("/") + COLLECT_PATH
        # For log messages: never the key, never userinfo from the URL.
        self._target = f"{url.scheme}://{url.netloc.rpartition('@')[2]}{self._path}"
        self._headers = {
            "Content-Type": "application/json",
            "Content-Encoding": "gzip",
            "User-Agent": USER_AGENT,
        }
        if api_key:
            self._headers["Authorization"] = f"Bearer {api_key}"
        self._agent_info = agent_info
        self._timeout = timeout
        self._max_rounds = max_rounds
        self._batch = max_rounds
        self._backoff_initial = backoff_initial
        self._backoff_max = backoff_max
        self._rng = rng if rng is not None else random.Random()
        self._stop = threading.Event()
        self._wake = threading.Event()
        self._thread: threading.Thread | None = None
        self._conn_lock = threading.Lock()
        self._conn: http.client.HTTPConnection | None = None
        self._stats_lock = threading.Lock()
        self._requests = dict.fromkeys(CODE_CLASSES, 0)
        self._errors = 0
        self._rejected_samples = 0
        self._pushed_samples = 0
        self._last_success = 0.0

    def start(self) -> None:
        """Start the background thread."""
        if self._thread is not None:
            raise RuntimeError("pusher already started")
        self._thread = threading.Thread(target=self._run, name="multimonx-pusher", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 10.0) -> None:
        """Stop the thread: interrupt a backoff wait, abort an in-flight request (its batch
        stays in the spool), and wait at most ``timeout`` seconds for the thread to end."""
        self._stop.set()
        self._wake.set()
        with self._conn_lock:
            conn = self._conn
            if conn is not None and conn.sock is not None:
                with contextlib.suppress(OSError):
                    conn.sock.shutdown(socket.SHUT_RDWR)
        if self._thread is not None:
            self._thread.join(timeout)
            if self._thread.is_alive():
                log.warning("pusher thread did not stop within %.1fs", timeout)

    def wake(self) -> None:
        """Tell the pusher that a round was appended (the gatherer calls this)."""
        self._wake.set()

    def families(self) -> list[MetricFamily]:
        """The pusher's and spool's own metrics, for the agent's ``/metrics`` and pushes."""
        with self._stats_lock:
            requests = dict(self._requests)
            errors = self._errors
            rejected = self._rejected_samples
            pushed = self._pushed_samples
            last_success = self._last_success
        return [
            MetricFamily.gauge(
                "multimonx_agent_spool_bytes",
                "Bytes of compressed rounds waiting in the agent's spool.",
                rows=[((), float(self._spool.size_bytes))],
            ),
            MetricFamily.gauge(
                "multimonx_agent_spool_rounds",
                "Collection rounds waiting in the agent's spool.",
                rows=[((), float(self._spool.records))],
            ),
            MetricFamily.counter(
                "multimonx_agent_spool_dropped_samples_total",
                "Samples dropped because the spool was full.",
                rows=[((), float(self._spool.dropped_samples_total))],
            ),
            MetricFamily.counter(
                "multimonx_agent_push_requests_total",
                "Push requests by outcome (HTTP status class, 429, or error for no answer).",
                ["code"],
                [((code,), float(n)) for code, n in requests.items()],
            ),
            MetricFamily.counter(
                "multimonx_agent_push_errors_total",
                "Push requests that did not store their batch (non-2xx or no answer).",
                rows=[((), float(errors))],
            ),
            MetricFamily.counter(
                "multimonx_agent_push_rejected_samples_total",
                "Samples the server refused for good (4xx other than 408 and 429).",
                rows=[((), float(rejected))],
            ),
            MetricFamily.counter(
                "multimonx_agent_pushed_samples_total",
                "Samples the server acknowledged as stored.",
                rows=[((), float(pushed))],
            ),
            MetricFamily.gauge(
                "multimonx_agent_last_push_success_timestamp_seconds",
                "Unix time of the last push the server stored (0 if none yet).",
                rows=[((), last_success)],
            ),
        ]

    # The loop, in the background thread.

    def _run(self) -> None:
        failures = 0
        while not self._stop.is_set():
            self._wake.clear()
            try:
                records = self._spool.peek(self._batch)
                if not records:
                    self._wake.wait(_IDLE_POLL)
                    continue
                answer = self._send(records)
                delay = self._settle(records, answer, failures)
            except Exception:
                log.exception("push loop failed; retrying")
                answer, delay = _Answer(_Outcome.RETRY, "error"), self._jitter(failures + 1)
            if answer.outcome is _Outcome.RETRY:
                failures += 1
                self._stop.wait(delay)
            elif answer.outcome is not _Outcome.ABORTED:
                failures = 0
        self._close_connection()

    def _settle(self, records: Sequence[SpoolRecord], answer: _Answer, failures: int) -> float:
        """Apply an answer to the spool and counters; return the delay before a retry."""
        last_id = records[-1].id
        samples = sum(r.samples for r in records)
        if answer.outcome is _Outcome.STORED:
            self._spool.ack(last_id)
            with self._stats_lock:
                self._pushed_samples += samples
                self._last_success = time.time()
            if failures:
                log.info("push to %s recovered after %d failed attempts", self._target, failures)
            self._batch = min(self._max_rounds, self._batch * 2)
            return 0.0
        if answer.outcome is _Outcome.TOO_LARGE and len(records) > 1:
            self._batch = max(1, len(records) // 2)
            log.debug("push of %d rounds was too large; trying %d", len(records), self._batch)
            return 0.0
        if answer.outcome in (_Outcome.REJECTED, _Outcome.TOO_LARGE):
            rejected = self._spool.reject(last_id)
            with self._stats_lock:
                self._rejected_samples += rejected
            log.error(
                "push to %s rejected with HTTP %s: %r; dropped %d rounds (%d samples)",
                self._target,
                answer.status,
                answer.message,
                len(records),
                rejected,
            )
            return 0.0
        if answer.outcome is _Outcome.ABORTED:
            return 0.0
        delay = self._retry_delay(failures + 1, answer.retry_after)
        level = logging.WARNING if failures == 0 else logging.DEBUG
        what = f"HTTP {answer.status}" if answer.status is not None else "error"
        log.log(
            level,
            "push to %s failed (%s: %s); %d rounds kept, retrying in %.3fs",
            self._target,
            what,
            answer.message,
            self._spool.records,
            delay,
        )
        return delay

    def _retry_delay(self, failures: int, retry_after: float | None) -> float:
        if retry_after is not None:
            return min(retry_after, self._backoff_max)
        return self._jitter(failures)

    def _jitter(self, failures: int) -> float:
        """Full jitter: uniform in [0, min(max, initial * 2**(failures-1))]."""
        exponent = min(failures - 1, 62)
        ceiling = min(self._backoff_max, self._backoff_initial * 2.0**exponent)
        return self._rng.uniform(0.0, ceiling)

    # HTTP.

    def _body(self, records: Sequence[SpoolRecord]) -> bytes:
        info = dict(self._agent_info())
        # the backlog behind this request: what it carries leaves the spool once it lands
        in_flight = sum(record.stored_bytes for record in records)
        info["spool_bytes"] = max(0, self._spool.size_bytes - in_flight)
        info["dropped_samples"] = self._spool.dropped_samples_total
        with self._stats_lock:
            info["push_errors"] = self._errors
        raw = encode_push(info, [r.body for r in records])
        return gzip.compress(raw, compresslevel=6, mtime=0)

    def _send(self, records: Sequence[SpoolRecord]) -> _Answer:
        body = self._body(records)
        answer = self._post(body)
        if answer.outcome is _Outcome.ABORTED:
            return answer
        with self._stats_lock:
            self._requests[answer.code] += 1
            if answer.outcome is not _Outcome.STORED:
                self._errors += 1
        return answer

    def _post(self, body: bytes) -> _Answer:
        for attempt in (1, 2):
            with self._conn_lock:
                if self._stop.is_set():
                    return _Answer(_Outcome.ABORTED, "error")
                reused = self._conn is not None
                conn = self._conn if self._conn is not None else self._new_connection()
                self._conn = conn
            try:
                if conn.sock is None:
                    conn.connect()
                    with self._conn_lock:  # stop() may have come while connecting
                        if self._stop.is_set():
                            raise ConnectionAbortedError("pusher stopping")
                conn.request("POST", self._path, body=body, headers=self._headers)
                response = conn.getresponse()
                data = response.read(_MAX_RESPONSE_BYTES)
                if response.will_close or not response.isclosed():
                    self._close_connection()
            except (OSError, http.client.HTTPException) as exc:
                self._close_connection()
                if self._stop.is_set():
                    return _Answer(_Outcome.ABORTED, "error")
                if (
                    reused
                    and attempt == 1
                    and isinstance(exc, (*_STALE_CONNECTION_ERRORS, http.client.RemoteDisconnected))
                ):
                    continue  # the server closed an idle keep-alive connection; reconnect once
                return _Answer(_Outcome.RETRY, "error", message=_describe(exc))
            outcome, code = _classify(response.status)
            retry_after = None
            if response.status in (429, 503):
                retry_after = parse_retry_after(response.getheader("Retry-After"))
            message = data[:_MAX_LOGGED_MESSAGE].decode("utf-8", "replace")
            if outcome is _Outcome.RETRY and code == "error":
                message = f"unexpected status {response.status} (redirects are not followed)"
            return _Answer(outcome, code, response.status, retry_after, message)
        raise AssertionError("unreachable")  # pragma: no cover

    def _new_connection(self) -> http.client.HTTPConnection:
        if self._ssl is not None:
            return http.client.HTTPSConnection(
                self._host, self._port, timeout=self._timeout, context=self._ssl
            )
        return http.client.HTTPConnection(self._host, self._port, timeout=self._timeout)

    def _close_connection(self) -> None:
        with self._conn_lock:
            conn, self._conn = self._conn, None
        if conn is not None:
            conn.close()


def _describe(exc: BaseException) -> str:
    text = str(exc) or type(exc).__name__
    return f"{type(exc).__name__}: {text}" if text != type(exc).__name__ else text
