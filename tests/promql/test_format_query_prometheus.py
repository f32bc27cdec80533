"""Our parser and printer against a real Prometheus 2.42: ``/api/v1/format_query`` must print
every shared query as we do, and reject what we reject."""

from __future__ import annotations

import json
import shutil
import urllib.parse
from collections.abc import Iterator
from pathlib import Path

import pytest

from multimonx.promql.parser import parse
from multimonx.promql.printer import format_expr
from tests.integration.conftest import Proc, free_port, http_get, wait_for
from tests.promql.test_parser import INVALID, SHARED_VALID, VALID_3X_ONLY

pytestmark = pytest.mark.integration

FORMAT_CASES = [query for query in SHARED_VALID if len(query) < 100]
"""Short enough that format_query prints them on one line."""

PRINTED_DIFFERENTLY = {
    # 2.42 drops a group modifier after ``ignoring ()`` and prints ``a + c``, which changes
    # the matching; we print the modifier so the query round-trips.
    "a + ignoring () group_left (b) c": ("a + c", "a + ignoring () group_left (b) c"),
}
"""Queries on which our canonical form deliberately differs from 2.42's: (2.42's, ours)."""


@pytest.fixture(scope="module")
def prometheus(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A Prometheus 2.42 with no scrape targets, on a free 127.0.0.1 port; yields its URL."""
    binary = shutil.which("prometheus")
    if binary is None:
        pytest.skip("prometheus is not installed")
    tmp: Path = tmp_path_factory.mktemp("prometheus")
    (tmp / "prometheus.yml").write_text("global:\n  scrape_interval: 1m\n")
    port = free_port()
    proc = Proc(
        [
            binary,
            f"--config.file={tmp / 'prometheus.yml'}",
            f"--storage.tsdb.path={tmp / 'data'}",
            f"--web.listen-address=127.0.0.1:{port}",
        ],
        tmp / "prometheus.log",
    )
    url = f"http://127.0.0.1:{port}"
    try:
        wait_for("prometheus to be ready", lambda: http_get(f"{url}/-/ready")[0] == 200)
        yield url
    finally:
        proc.stop()


def _format_query(url: str, query: str) -> tuple[str, str | None]:
    """Prometheus's answer: (``status``, formatted query or error message)."""
    encoded = urllib.parse.quote(query, safe="")
    _, body = http_get(f"{url}/api/v1/format_query?query={encoded}")
    answer = json.loads(body)
    if answer["status"] == "success":
        return "success", answer["data"]
    return "error", answer["error"]


@pytest.mark.parametrize("query", FORMAT_CASES)
def test_format_matches_prometheus(prometheus: str, query: str) -> None:
    status, formatted = _format_query(prometheus, query)
    assert status == "success", formatted
    assert format_expr(parse(query)) == formatted


@pytest.mark.parametrize(("query", "message"), INVALID)
def test_prometheus_rejects_what_we_reject(prometheus: str, query: str, message: str) -> None:
    status, error = _format_query(prometheus, query)
    assert status == "error", f"Prometheus accepts {query!r}: {error}"
    assert error is not None
    assert "parse error" in error


@pytest.mark.parametrize("query", VALID_3X_ONLY)
def test_3x_only_syntax_is_unknown_to_2_42(prometheus: str, query: str) -> None:
    """The skip list is exact: each of these is valid for us and rejected by 2.42."""
    parse(query)
    status, _ = _format_query(prometheus, query)
    assert status == "error"


@pytest.mark.parametrize(("query", "printed"), PRINTED_DIFFERENTLY.items())
def test_known_printing_differences(prometheus: str, query: str, printed: tuple[str, str]) -> None:
    theirs, ours = printed
    assert _format_query(prometheus, query) == ("success", theirs)
    assert format_expr(parse(query)) == ours
