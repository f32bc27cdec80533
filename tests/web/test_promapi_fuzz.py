"""Hostile input into every Prometheus API endpoint never gets a 5xx or an unhandled error:
malformed and random query text, parameters and label names go in, a JSON envelope with
status ``success`` or a 4xx/422/503 ``error`` comes out. Plus round trips of the number and
time encodings."""

from __future__ import annotations

import asyncio
import math
from collections.abc import Iterator
from typing import Any
from urllib.parse import quote

import httpx
import numpy as np
import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from multimonx.config import IngestSection
from multimonx.ingest import FleetRegistry
from multimonx.model import Labels
from multimonx.promql.engine import Engine
from multimonx.promql.values import MatrixSeries, QueryResult
from multimonx.storage import MemoryStorage
from multimonx.web import create_app
from multimonx.web.promjson import (
    format_positional,
    format_seconds,
    format_timestamp,
    format_value,
    format_values,
    result_json,
)
from multimonx.web.promparams import MAX_TIME_MS, MIN_TIME_MS, parse_time

FUZZ = settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)

_TOKENS = [
    "up", "node_load1", "{", "}", "(", ")", "[", "]", "5m", "1s", "0s", ":", ",", "=", "!=",
    "=~", "!~", '"', '"a"', '".*"', '"("', "job", "__name__", "by", "without", "on",
    "ignoring", "group_left", "offset", "@", "start()", "end()", "sum", "rate", "topk",
    "count_over_time", "histogram_quantile", "label_replace", "vector", "scalar", "time()",
    "+", "-", "*", "/", "%", "^", "==", "and", "or", "unless", "bool", "1", "-1", "0x1f",
    "1e309", "NaN", "Inf", "1.5", " ", "\n", "\\", "#", "\x00", "é", "\ud7ff", "\uffff",
]  # fmt: skip

query_text = st.one_of(
    st.text(max_size=40),
    st.lists(st.sampled_from(_TOKENS), max_size=14).map("".join),
)
param_text = st.one_of(
    st.text(max_size=24),
    st.sampled_from(
        [
            "",
            "0",
            "-1",
            "1e30",
            "1e-9",
            "NaN",
            "Inf",
            "-Inf",
            "1_0",
            "1m30s",
            "5m",
            "0x10",
            "2015-07-01T20:10:51.781Z",
            "-292273086-05-16T16:47:06Z",
            "292277025-08-18T07:12:54.999999999Z",
            "9223372036854775807",
            "1000",
            "1060",
        ]
    ),
)


class Target:
    """The app over a small storage, with one event loop for all requests."""

    def __init__(self) -> None:
        self.storage = MemoryStorage()
        appender = self.storage.appender()
        for i in range(5):
            t = 1_000_000 + i * 15_000
            appender.append(Labels.of(__name__="up", job="node", instance="a"), t, 1.0)
            appender.append(Labels.of(__name__="node_load1", weird='é"x\n'), t, float(i))
        appender.commit()
        engine = Engine(self.storage, timeout_s=2.0, max_samples=200_000)
        self.app = create_app(
            storage=self.storage,
            keys=None,
            fleet=FleetRegistry(),
            ingest_config=IngestSection(require_api_key=False),
            engine=engine,
            clock=lambda: 1_060.0,
        )
        self.runner = asyncio.Runner()

    def request(self, method: str, path: str, params: Any) -> httpx.Response:
        async def go() -> httpx.Response:
            transport = httpx.ASGITransport(app=self.app)
            async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
                if method == "POST":
                    return await client.post(path, data=params)
                return await client.get(path, params=params)

        return self.runner.run(go())

    def check(self, method: str, path: str, params: Any) -> None:
        """The answer is a well-formed envelope and never a server error."""
        response = self.request(method, path, params)
        assert response.status_code < 500 or response.status_code == 503, response.text
        if response.status_code in (404, 405):
            return
        body = response.json()
        if response.status_code == 200:
            assert body["status"] == "success"
        else:
            assert body["status"] == "error"
            assert body["errorType"] in {"bad_data", "execution", "timeout"}, body

    def close(self) -> None:
        self.runner.close()
        self.storage.close()


@pytest.fixture(scope="module")
def target() -> Iterator[Target]:
    t = Target()
    yield t
    t.close()


methods = st.sampled_from(["GET", "POST"])


@FUZZ
@given(method=methods, query=query_text, time=param_text, timeout=param_text, limit=param_text)
def test_instant_queries(
    target: Target, method: str, query: str, time: str, timeout: str, limit: str
) -> None:
    params = {"query": query, "time": time, "timeout": timeout, "limit": limit}
    target.check(method, "/api/v1/query", params)
    target.check(method, "/api/v1/format_query", {"query": query})
    target.check(method, "/api/v1/query_exemplars", {"query": query, "start": time})


@FUZZ
@given(method=methods, query=query_text, start=param_text, end=param_text, step=param_text)
def test_range_queries(
    target: Target, method: str, query: str, start: str, end: str, step: str
) -> None:
    params = {"query": query, "start": start, "end": end, "step": step}
    target.check(method, "/api/v1/query_range", params)
    params = {"query": "up", "start": start, "end": end, "step": step}
    target.check(method, "/api/v1/query_range", params)


@FUZZ
@given(
    method=methods,
    matchers=st.lists(query_text, max_size=3),
    start=param_text,
    end=param_text,
    limit=param_text,
)
def test_series_and_labels(
    target: Target, method: str, matchers: list[str], start: str, end: str, limit: str
) -> None:
    params = {"match[]": matchers, "start": start, "end": end, "limit": limit}
    target.check(method, "/api/v1/series", params)
    target.check(method, "/api/v1/labels", params)
    target.check("GET", "/api/v1/metadata", {"metric": start, "limit": limit})


@FUZZ
@given(name=st.text(max_size=20), matchers=st.lists(query_text, max_size=2), start=param_text)
def test_label_values(target: Target, name: str, matchers: list[str], start: str) -> None:
    path = f"/api/v1/label/{quote(name, safe='')}/values"
    target.check("GET", path, {"match[]": matchers, "start": start})


@settings(max_examples=500)
@given(st.floats(allow_nan=True, allow_infinity=True))
def test_encoded_values_read_back_exactly(value: float) -> None:
    for text in (format_value(value), format_positional(value)):
        back = float(text.replace("+Inf", "inf"))
        assert (math.isnan(back) and math.isnan(value)) or (
            back == value and math.copysign(1, back) == math.copysign(1, value)
        )
    assert "e" not in format_positional(value)


_EDGES = [0.0, -0.0, 1e-4, 9.99e-5, 1e-6, 9.999e-7, 1e16, 9.999999999999998e15, 1e21, 2.0, -3.5]


@settings(max_examples=300)
@given(
    st.lists(st.floats(allow_nan=True, allow_infinity=True) | st.sampled_from(_EDGES), max_size=50)
)
def test_values_formatted_in_bulk_as_one_by_one(values: list[float]) -> None:
    texts = format_values(np.array(values, dtype=np.float64))
    assert [text.decode() for text in texts] == [format_value(v) for v in values]


@pytest.mark.parametrize("whole_every", [1, 2, 31, 33, 1000, 0])
def test_whole_numbers_lose_their_point_zero_however_many(whole_every: int) -> None:
    # a whole number in every ``whole_every`` values: the one-by-one cut and the replace
    rng = np.random.default_rng(whole_every)
    values = rng.random(2000) * 100
    if whole_every:
        values[::whole_every] = np.round(values[::whole_every]) - 50
    values[7] = -0.0
    values[8] = 1e17
    texts = format_values(values)
    assert [text.decode() for text in texts] == [format_value(float(v)) for v in values]


@settings(max_examples=500)
@given(st.integers(min_value=-(10**15), max_value=10**15))
def test_scalar_timestamps_read_back_exactly(t_ms: int) -> None:
    assert parse_time(format_seconds(t_ms)) == t_ms
    assert MIN_TIME_MS < t_ms < MAX_TIME_MS


_series = st.tuples(
    st.dictionaries(st.sampled_from(["job", "instance", "__name__", 'é"<']), st.text(max_size=5)),
    st.lists(
        st.tuples(
            st.integers(-(10**13), 10**13),
            st.floats(allow_nan=True, allow_infinity=True) | st.sampled_from(_EDGES),
        ),
        max_size=12,
    ),
)


@settings(max_examples=300)
@given(st.lists(_series, max_size=6))
def test_matrix_written_in_one_pass_as_point_by_point(
    series: list[tuple[dict[str, str], list[tuple[int, float]]]],
) -> None:
    matrix = []
    for pairs, points in series:
        ordered = sorted(dict(points).items())
        matrix.append(
            MatrixSeries(
                Labels(pairs.items()),
                np.array([t for t, _ in ordered], dtype=np.int64),
                np.array([v for _, v in ordered], dtype=np.float64),
            )
        )
    expected = ",".join(
        '{"metric":'
        + orjson.dumps(dict(one.labels.pairs)).decode()
        + ',"values":['
        + ",".join(
            f'[{format_timestamp(t)},"{format_value(v)}"]'
            for t, v in zip(one.timestamps.tolist(), one.values.tolist(), strict=True)
        )
        + "]}"
        for one in matrix
    )
    assert result_json(QueryResult("matrix", matrix=matrix)).decode() == (
        f'{{"resultType":"matrix","result":[{expected}]}}'
    )


@settings(max_examples=100)
@given(
    st.lists(st.floats(allow_nan=True, allow_infinity=True), min_size=3, max_size=3),
    st.lists(st.lists(st.booleans(), min_size=3, max_size=3), min_size=1, max_size=4),
)
def test_matrix_on_one_grid_written_as_point_by_point(
    values: list[float], masks: list[list[bool]]
) -> None:
    grid = np.array([1_000, 16_500, 32_000], dtype=np.int64)
    matrix = [
        MatrixSeries(
            Labels.of(i=str(i)), grid[np.array(mask)], np.array(values, dtype=np.float64)[mask]
        )
        for i, mask in enumerate(masks)
    ]
    expected = ",".join(
        f'{{"metric":{{"i":"{i}"}},"values":['
        + ",".join(
            f'[{format_timestamp(t)},"{format_value(v)}"]'
            for t, v in zip(one.timestamps.tolist(), one.values.tolist(), strict=True)
        )
        + "]}"
        for i, one in enumerate(matrix)
    )
    assert result_json(QueryResult("matrix", matrix=matrix)).decode() == (
        f'{{"resultType":"matrix","result":[{expected}]}}'
    )
