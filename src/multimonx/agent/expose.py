"""The agent's ``/metrics`` endpoint for Prometheus-style pull.

A small threaded stdlib HTTP server (the agent's memory budget rules out web frameworks). It
serves the gatherer's latest snapshot in the Prometheus text format, or OpenMetrics when the
``Accept`` header asks for it, gzip-compressed when the client accepts gzip. Operators who
expose it beyond loopback can require a bearer token or HTTP basic auth and restrict client
addresses to an allowlist of networks.
"""

from __future__ import annotations

import base64
import gzip
import ipaddress
import logging
import socket
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from multimonx import __version__
from multimonx.config import parse_listen_address
from multimonx.model import MetricFamily, negotiate, render_openmetrics, render_text

log = logging.getLogger(__name__)

Network = ipaddress.IPv4Network | ipaddress.IPv6Network

_INDEX = b"""<!doctype html><html><head><title>MultiMonX agent</title></head>
<body><h1>MultiMonX agent</h1><p><a href="/metrics">Metrics</a></p></body></html>
"""


@dataclass(frozen=True, slots=True)
class AccessPolicy:
    """Who may read ``/metrics``: an address allowlist and at most one credential kind."""

    allow: tuple[Network, ...] = ()
    bearer_token: str | None = None
    basic_user: str | None = None
    basic_password: str | None = None

    @classmethod
    def parse(
        cls,
        allow: Sequence[str] = (),
        bearer_token: str | None = None,
        basic_user: str | None = None,
        basic_password: str | None = None,
    ) -> AccessPolicy:
        """Build from config values; raises ValueError for a malformed network."""
        networks = []
        for text in allow:
            try:
                networks.append(ipaddress.ip_network(text, strict=False))
            except ValueError as err:
                raise ValueError(
                    f"web.allow: {text!r} is not an address or network: {err}"
                ) from None
        if bearer_token is not None and basic_user is not None:
            raise ValueError("web: configure bearer_token or basic_auth, not both")
        return cls(tuple(networks), bearer_token, basic_user, basic_password)

    def address_allowed(self, host: str) -> bool:
        """Whether a client address passes the allowlist (an empty list allows everyone)."""
        if not self.allow:
            return True
        try:
            address = ipaddress.ip_address(host.split("%", 1)[0])
        except ValueError:
            return False
        if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
            address = address.ipv4_mapped
        return any(address in network for network in self.allow)

    def credentials_ok(self, authorization: str | None) -> bool:
        """Whether an ``Authorization`` header satisfies the configured credential."""
        if self.bearer_token is None and self.basic_user is None:
            return True
        # hmac loads OpenSSL's libcrypto (~3.5 MB resident): only agents that use auth pay it.
        import hmac

        if self.bearer_token is not None:
            scheme, _, token = (authorization or "").partition(" ")
            return scheme.lower() == "bearer" and hmac.compare_digest(
                token.strip().encode(), self.bearer_token.encode()
            )
        scheme, _, encoded = (authorization or "").partition(" ")
        if scheme.lower() != "basic":
            return False
        try:
            decoded = base64.b64decode(encoded.strip(), validate=True).decode()
        except (ValueError, UnicodeDecodeError):
            return False
        user, _, password = decoded.partition(":")
        expected = f"{self.basic_user}:{self.basic_password or ''}"
        return hmac.compare_digest(f"{user}:{password}".encode(), expected.encode())

    @property
    def challenge(self) -> str | None:
        """The ``WWW-Authenticate`` value to send with a 401, if credentials are required."""
        if self.bearer_token is not None:
            return 'Bearer realm="multimonx-agent"'
        if self.basic_user is not None:
            return 'Basic realm="multimonx-agent"'
        return None


class _Handler(BaseHTTPRequestHandler):
    server: _MetricsHTTPServer
    server_version = f"multimonx-agent/{__version__}"
    protocol_version = "HTTP/1.1"

    def do_GET(self) -> None:
        policy = self.server.policy
        if not policy.address_allowed(self.client_address[0]):
            self._send(403, b"forbidden: address not in the allowlist\n")
            return
        if not policy.credentials_ok(self.headers.get("Authorization")):
            self._send(401, b"unauthorized\n", challenge=policy.challenge)
            return
        path = self.path.split("?", 1)[0]
        if path == "/metrics":
            self._metrics()
        elif path == "/":
            self._send(200, _INDEX, "text/html; charset=utf-8")
        elif path in ("/-/healthy", "/-/ready"):
            self._send(200, b"OK\n")
        else:
            self._send(404, b"not found\n")

    def _metrics(self) -> None:
        content_type, openmetrics = negotiate(self.headers.get("Accept"))
        families = self.server.snapshot()
        text = render_openmetrics(families) if openmetrics else render_text(families)
        body = text.encode()
        encoding = None
        if "gzip" in (self.headers.get("Accept-Encoding") or ""):
            body, encoding = gzip.compress(body, compresslevel=1), "gzip"
        self._send(200, body, content_type, encoding=encoding)

    def _send(
        self,
        status: int,
        body: bytes,
        content_type: str = "text/plain; charset=utf-8",
        *,
        encoding: str | None = None,
        challenge: str | None = None,
    ) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        if encoding:
            self.send_header("Content-Encoding", encoding)
        if challenge:
            self.send_header("WWW-Authenticate", challenge)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    do_HEAD = do_GET  # noqa: N815 (the name http.server dispatches to)

    def log_message(self, format: str, *args: object) -> None:
        log.debug("%s %s", self.address_string(), format % args)


class _MetricsHTTPServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(
        self,
        address: tuple[str, int],
        snapshot: Callable[[], list[MetricFamily]],
        policy: AccessPolicy,
    ) -> None:
        self.snapshot = snapshot
        self.policy = policy
        if ":" in address[0]:
            self.address_family = socket.AF_INET6
        super().__init__(address, _Handler)


class MetricsServer:
    """Serves ``/metrics`` from a background thread; ``stop`` closes the socket."""

    def __init__(
        self,
        listen_address: str,
        snapshot: Callable[[], list[MetricFamily]],
        policy: AccessPolicy | None = None,
    ) -> None:
        self._httpd = _MetricsHTTPServer(
            parse_listen_address(listen_address), snapshot, policy or AccessPolicy()
        )
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, name="metrics-http", daemon=True
        )

    @property
    def url(self) -> str:
        """The URL of ``/metrics`` as bound (the real port when 0 was asked for)."""
        host, port = self._httpd.server_address[:2]
        host = host.decode() if isinstance(host, bytes) else host
        shown = f"[{host}]" if ":" in host else host
        return f"http://{shown}:{port}/metrics"

    def start(self) -> None:
        """Start serving."""
        self._thread.start()

    def stop(self) -> None:
        """Stop serving and close the socket."""
        self._httpd.shutdown()
        self._httpd.server_close()
        self._thread.join(timeout=5)
