"""A real HTTP server on 127.0.0.1 that records what integrations send it: the far end of
webhooks, apprise's HTTP plugins and the Alertmanager forwarder in tests.

Answers are scripted per request (``answer``), and ``hold`` makes it accept requests
without answering them, until ``release`` (for timeouts). Waiting is on a condition with a
generous deadline, never a fixed sleep.
"""

from __future__ import annotations

import json
import threading
import time
from collections import deque
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

DEADLINE = 30.0


@dataclass(frozen=True)
class Recorded:
    """One request as received."""

    method: str
    path: str
    headers: dict[str, str]  # by lower-case name
    body: bytes
    at: float = field(default_factory=time.monotonic)  # when it arrived

    def json(self) -> Any:
        return json.loads(self.body)


@dataclass(frozen=True)
class Answer:
    """What the sink answers to one request."""

    status: int = 200
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)


class HttpSink:
    """The server; use as a context manager (``http_sink()``)."""

    def __init__(self) -> None:
        self.requests: list[Recorded] = []
        self._answers: deque[Answer] = deque()
        self._default = Answer()
        self._cond = threading.Condition()
        self._released = threading.Event()
        self._released.set()
        sink = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def _handle(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                headers = {k.lower(): v for k, v in self.headers.items()}
                answer = sink._record(Recorded(self.command, self.path, headers, body))
                sink._released.wait(DEADLINE)
                try:
                    self.send_response(answer.status)
                    for name, value in answer.headers.items():
                        self.send_header(name, value)
                    self.send_header("Content-Length", str(len(answer.body)))
                    self.end_headers()
                    self.wfile.write(answer.body)
                except (BrokenPipeError, ConnectionResetError):
                    self.close_connection = True  # the client gave up waiting

            do_POST = do_GET = do_PUT = _handle  # noqa: N815

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )

    @property
    def port(self) -> int:
        return int(self._server.server_address[1])

    @property
    def url(self) -> str:
        """``http://127.0.0.1:<port>``, no trailing slash."""
        return f"http://127.0.0.1:{self.port}"

    def answer(self, *answers: Answer) -> None:
        """Answer the next requests with ``answers`` in order, then with 200."""
        with self._cond:
            self._answers.extend(answers)

    def always(self, answer: Answer) -> None:
        """Answer every request without a scripted answer with ``answer``."""
        with self._cond:
            self._default = answer

    def hold(self) -> None:
        """Accept requests but do not answer them until ``release``."""
        self._released.clear()

    def release(self) -> None:
        self._released.set()

    def _record(self, request: Recorded) -> Answer:
        with self._cond:
            self.requests.append(request)
            self._cond.notify_all()
            return self._answers.popleft() if self._answers else self._default

    def wait_for(self, count: int, deadline: float = DEADLINE) -> list[Recorded]:
        """The first ``count`` requests, waiting for them up to ``deadline`` seconds."""
        with self._cond:
            if not self._cond.wait_for(lambda: len(self.requests) >= count, deadline):
                raise AssertionError(f"{len(self.requests)} requests arrived, wanted {count}")
            return list(self.requests[:count])

    def start(self) -> HttpSink:
        self._thread.start()
        return self

    def close(self) -> None:
        self.release()
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(DEADLINE)


@contextmanager
def http_sink() -> Iterator[HttpSink]:
    """A started sink, closed on exit."""
    sink = HttpSink().start()
    try:
        yield sink
    finally:
        sink.close()
