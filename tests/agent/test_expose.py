"""The agent's /metrics endpoint, served for real on 127.0.0.1:0."""

import base64
import gzip
import urllib.error
import urllib.request
from collections.abc import Iterator

import pytest
from prometheus_client.parser import text_string_to_metric_families

from multimonx.agent.expose import AccessPolicy, MetricsServer
from multimonx.model import MetricFamily


def _snapshot() -> list[MetricFamily]:
    return [MetricFamily.gauge("node_load1", "1m load average.", (), [((), 0.5)])]


def _serve(policy: AccessPolicy) -> Iterator[MetricsServer]:
    server = MetricsServer("127.0.0.1:0", _snapshot, policy)
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def open_server() -> Iterator[MetricsServer]:
    yield from _serve(AccessPolicy())


def _get(url: str, headers: dict[str, str] | None = None) -> tuple[int, dict[str, str], bytes]:
    request = urllib.request.Request(url, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, dict(response.headers), response.read()
    except urllib.error.HTTPError as err:
        return err.code, dict(err.headers), err.read()


def test_metrics_in_text_format(open_server: MetricsServer) -> None:
    status, headers, body = _get(open_server.url)
    assert status == 200
    assert headers["Content-Type"].startswith("text/plain; version=0.0.4")
    families = list(text_string_to_metric_families(body.decode()))
    assert families[0].name == "node_load1"
    assert families[0].samples[0].value == 0.5


def test_openmetrics_when_asked(open_server: MetricsServer) -> None:
    status, headers, body = _get(
        open_server.url, {"Accept": "application/openmetrics-text; version=1.0.0"}
    )
    assert status == 200
    assert headers["Content-Type"].startswith("application/openmetrics-text")
    assert body.endswith(b"# EOF\n")


def test_gzip_when_accepted(open_server: MetricsServer) -> None:
    status, headers, body = _get(open_server.url, {"Accept-Encoding": "gzip"})
    assert status == 200
    assert headers["Content-Encoding"] == "gzip"
    assert b"node_load1 0.5" in gzip.decompress(body)


def test_unknown_path_is_404(open_server: MetricsServer) -> None:
    assert _get(open_server.url.replace("/metrics", "/nope"))[0] == 404


@pytest.mark.parametrize(
    ("authorization", "status"),
    [(None, 401), ("Bearer wrong", 401), ("Bearer s3cret", 200), ("Basic czNjcmV0", 401)],
)
def test_bearer_token(authorization: str | None, status: int) -> None:
    for server in _serve(AccessPolicy.parse(bearer_token="s3cret")):
        headers = {"Authorization": authorization} if authorization else {}
        got, response_headers, _ = _get(server.url, headers)
        assert got == status
        if status == 401:
            assert response_headers["WWW-Authenticate"].startswith("Bearer")


@pytest.mark.parametrize(
    ("credentials", "status"),
    [(None, 401), ("ops:wrong", 401), ("ops:pa:ss", 200), ("other:pa:ss", 401), ("!!", 401)],
)
def test_basic_auth(credentials: str | None, status: int) -> None:
    for server in _serve(AccessPolicy.parse(basic_user="ops", basic_password="pa:ss")):
        headers = {}
        if credentials == "!!":
            headers = {"Authorization": "Basic !!not-base64"}
        elif credentials:
            headers = {"Authorization": "Basic " + base64.b64encode(credentials.encode()).decode()}
        assert _get(server.url, headers)[0] == status


@pytest.mark.parametrize(("allow", "status"), [(("127.0.0.0/8",), 200), (("10.0.0.0/8",), 403)])
def test_allowlist(allow: tuple[str, ...], status: int) -> None:
    for server in _serve(AccessPolicy.parse(allow=allow)):
        assert _get(server.url)[0] == status


@pytest.mark.parametrize(
    ("host", "allowed"),
    [("127.0.0.1", True), ("::ffff:127.0.0.1", True), ("192.168.1.1", False), ("junk", False)],
)
def test_address_allowed(host: str, allowed: bool) -> None:
    assert AccessPolicy.parse(allow=["127.0.0.1/32"]).address_allowed(host) is allowed


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"allow": ["not-a-net"]}, "not an address or network"),
        ({"bearer_token": "a", "basic_user": "b"}, "not both"),
    ],
)
def test_bad_policy(kwargs: dict[str, object], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        AccessPolicy.parse(**kwargs)  # type: ignore[arg-type]
