"""Fixtures for the integrations' tests: a recording HTTP server."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.notify.httpsink import HttpSink, http_sink


@pytest.fixture
def sink() -> Iterator[HttpSink]:
    """A recording HTTP server on 127.0.0.1, closed after the test."""
    with http_sink() as server:
        yield server
