"""The Prometheus HTTP API v1, talked to in-process through httpx's ASGI transport, over the
in-memory storage and over the embedded TSDB. Expected answers are what Prometheus 2.42
answers to the same requests (checked against a real one; see
tests/integration/test_promapi_prometheus.py for the side-by-side run)."""

from __future__ import annotations

import asyncio
import math
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest

from multimonx.config import IngestSection
from multimonx.ingest import FleetRegistry
from multimonx.model import COLLECT_PATH, Labels, MetricFamily, encode_push, encode_round
from multimonx.promql.engine import Engine
from multimonx.storage import JournalSync, MemoryStorage, Storage
from multimonx.storage.tsdb import TSDB, TSDBOptions
from multimonx.web import create_app
from multimonx.web.promjson import (
    format_positional,
    format_seconds,
    format_timestamp,
    format_value,
)
from multimonx.web.promparams import (
    MAX_TIME_MS,
    MAX_TIME_TEXT,
    MIN_TIME_MS,
    MIN_TIME_TEXT,
    ApiError,
    parse_duration_ns,
    parse_time,
)

NOW = 1_060.0  # the clock: default evaluation time of instant queries
T0 = 1_000_000  # first sample (ms); samples every 15 s up to T0 + 60 s
STEPS = 5
UP_A = Labels.of(__name__="up", job="node", instance="a:9100")
UP_B = Labels.of(__name__="up", job="node", instance="b:9100")
LOAD = Labels.of(__name__="node_load1", job="node", instance="a:9100", weird='é"x')
LOAD_VALUES = (0.5, 1e-7, 2.5, 1e21, -0.0)


def run(app: Any, method: str, url: str, **kwargs: Any) -> httpx.Response:
    """One request to ``app`` in-process."""

    async def go() -> httpx.Response:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            return await client.request(method, url, **kwargs)

    return asyncio.run(go())


class Api:
    """The app over one storage, with helpers that parse JSON answers."""

    def __init__(self, storage: Storage, engine: Engine | None = None) -> None:
        self.storage = storage
        self.app = create_app(
            storage=storage,
            keys=None,
            fleet=FleetRegistry(),
            ingest_config=IngestSection(require_api_key=False),
            engine=engine,
            clock=lambda: NOW,
        )

    def get(self, path: str, params: Any = None) -> httpx.Response:
        return run(self.app, "GET", path, params=params)

    def post(self, path: str, data: Any, params: Any = None) -> httpx.Response:
        return run(self.app, "POST", path, data=data, params=params)

    def ok(self, path: str, params: Any = None) -> Any:
        """The ``data`` of a success answer."""
        response = self.get(path, params)
        assert response.status_code == 200, response.text
        body = response.json()
        assert body["status"] == "success"
        assert response.headers["content-type"] == "application/json"
        return body["data"]

    def error(self, path: str, params: Any = None, status: int = 400) -> tuple[str, str]:
        """(errorType, error) of an error answer with ``status``."""
        response = self.get(path, params)
        assert response.status_code == status, response.text
        body = response.json()
        assert body["status"] == "error"
        assert set(body) == {"status", "errorType", "error"}
        return body["errorType"], body["error"]


def load(storage: Storage) -> None:
    """Two ``up`` series and one ``node_load1`` with awkward values, every 15 s."""
    appender = storage.appender()
    for i in range(STEPS):
        t = T0 + i * 15_000
        appender.append(UP_A, t, 1.0)
        appender.append(UP_B, t, 0.0)
        appender.append(LOAD, t, LOAD_VALUES[i])
    appender.commit()


def _tsdb(path: Path) -> TSDB:
    options = TSDBOptions(chunk_range_ms=10_000, flush_delay_ms=0, log_sync=JournalSync.NORMAL)
    db = TSDB.open(path, options=options)
    db.clock = lambda: int(NOW * 1000)  # raw data has not expired: no downsampled tier
    return db


@pytest.fixture(params=["memory", "tsdb"])
def api(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Api]:
    storage: Storage = MemoryStorage() if request.param == "memory" else _tsdb(tmp_path)
    load(storage)
    yield Api(storage)
    storage.close()


# -- number and time formatting --------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (1.0, "1"),
        (1.5, "1.5"),
        (-0.0, "-0"),
        (0.0, "0"),
        (0.1, "0.1"),
        (1e-6, "0.000001"),
        (-1e-6, "-0.000001"),
        (9.99e-7, "9.99e-07"),
        (1e-7, "1e-07"),
        (1.23456789e-5, "0.0000123456789"),
        (123456789012345678.0, "123456789012345680"),
        (1e20, "100000000000000000000"),
        (1e21, "1e+21"),
        (-1.5e300, "-1.5e+300"),
        (5e-324, "5e-324"),
        (math.nan, "NaN"),
        (math.inf, "+Inf"),
        (-math.inf, "-Inf"),
        (0.30000000000000004, "0.30000000000000004"),
    ],
)
def test_sample_values_are_written_like_prometheus_jsonutil(value: float, text: str) -> None:
    assert format_value(value) == text


@pytest.mark.parametrize(
    ("value", "text"),
    [(1e-7, "0.0000001"), (1e22, "10000000000000000000000"), (2.5, "2.5"), (-0.0, "-0")],
)
def test_scalar_values_are_always_positional(value: float, text: str) -> None:
    assert format_positional(value) == text


@pytest.mark.parametrize(
    ("t_ms", "sample", "scalar"),
    [
        (1_500, "1.500", "1.5"),
        (1_050, "1.050", "1.05"),
        (1_000_000, "1000", "1000"),
        (-1, "-0.001", "-0.001"),
        (-1_500, "-1.500", "-1.5"),
        (0, "0", "0"),
        (1_435_781_451_781, "1435781451.781", "1435781451.781"),
    ],
)
def test_timestamps_of_samples_and_of_scalars(t_ms: int, sample: str, scalar: str) -> None:
    assert format_timestamp(t_ms) == sample
    assert format_seconds(t_ms) == scalar


@pytest.mark.parametrize(
    ("text", "t_ms"),
    [
        ("1.5", 1_500),
        ("1.05", 1_050),
        ("-1.0005", -1_000),
        ("0.0005", 1),
        ("1e-5", 0),
        ("1_0", 10_000),
        ("2015-07-01T20:10:51.781Z", 1_435_781_451_781),
        ("2015-07-01T20:10:51.9999Z", 1_435_781_451_999),
        ("2015-07-01T22:10:51+02:00", 1_435_781_451_000),
        ("1969-12-31T23:59:59.5Z", -500),
        (MIN_TIME_TEXT, MIN_TIME_MS),
        (MAX_TIME_TEXT, MAX_TIME_MS),
    ],
)
def test_time_parameters(text: str, t_ms: int) -> None:
    assert parse_time(text) == t_ms


@pytest.mark.parametrize(
    "text",
    ["", "abc", " 5", "0x10", "1e30", "NaN", "Inf", "2015-07-01t20:10:51z",
     "2015-07-01T20:10:51.1234567891Z", "2015-02-30T00:00:00Z", "2015-07-01T20:10:51"],
)  # fmt: skip
def test_bad_time_parameters(text: str) -> None:
    with pytest.raises(ApiError, match="to a valid timestamp"):
        parse_time(text)


@pytest.mark.parametrize(
    ("text", "nanos"),
    [
        ("15", 15 * 10**9),
        ("1.5", 1_500_000_000),
        ("-1", -(10**9)),
        ("15s", 15 * 10**9),
        ("1m30s", 90 * 10**9),
        ("1y", 365 * 86_400 * 10**9),
        ("100ms", 100_000_000),
        ("0", 0),
    ],
)
def test_duration_parameters(text: str, nanos: int) -> None:
    assert parse_duration_ns(text) == nanos


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", 'cannot parse "" to a valid duration'),
        ("abc", 'cannot parse "abc" to a valid duration'),
        ("-1s", 'cannot parse "-1s" to a valid duration'),
        ("1h1d", 'cannot parse "1h1d" to a valid duration'),
        ("1.5ms", 'cannot parse "1.5ms" to a valid duration'),
        ("1e30", 'cannot parse "1e30" to a valid duration. It overflows int64'),
    ],
)
def test_bad_duration_parameters(text: str, message: str) -> None:
    with pytest.raises(ApiError) as caught:
        parse_duration_ns(text)
    assert caught.value.message == message


# -- instant queries ---------------------------------------------------------------------------


def test_instant_query_answers_a_vector_in_prometheus_json_text(api: Api) -> None:
    response = api.get("/api/v1/query", {"query": "up", "time": "1060.5"})
    assert response.status_code == 200
    assert response.text == (
        '{"status":"success","data":{"resultType":"vector","result":['
        '{"metric":{"__name__":"up","instance":"a:9100","job":"node"},"value":[1060.500,"1"]},'
        '{"metric":{"__name__":"up","instance":"b:9100","job":"node"},"value":[1060.500,"0"]}'
        "]}}"
    )


def test_grafanas_health_check_query(api: Api) -> None:
    data = api.post("/api/v1/query", {"query": "1+1", "time": "1060"}).json()["data"]
    assert data == {"resultType": "scalar", "result": [1060, "2"]}


class GatedEngine(Engine):
    """An engine whose instant queries wait until the test opens the gate."""

    def __init__(self, storage: Storage) -> None:
        super().__init__(storage)
        self.gate = threading.Event()
        self.opened_in_time: bool | None = None

    def instant(self, query: Any, t_ms: int, *, timeout_s: float | None = None) -> Any:
        self.opened_in_time = self.gate.wait(10)
        return super().instant(query, t_ms, timeout_s=timeout_s)


def test_queries_run_off_the_event_loop() -> None:
    storage = MemoryStorage()
    load(storage)
    engine = GatedEngine(storage)
    api = Api(storage, engine)

    async def go() -> tuple[httpx.Response, httpx.Response]:
        transport = httpx.ASGITransport(app=api.app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            slow = asyncio.create_task(client.get("/api/v1/query", params={"query": "up"}))
            await asyncio.sleep(0)  # let the query start
            other = await client.get("/api/v1/labels")  # answered while the query waits
            engine.gate.set()
            return await slow, other

    slow, other = asyncio.run(go())
    assert (slow.status_code, other.status_code) == (200, 200)
    assert engine.opened_in_time is True


def test_instant_query_defaults_to_the_clock(api: Api) -> None:
    data = api.ok("/api/v1/query", {"query": "up"})
    assert [one["value"] for one in data["result"]] == [[1060, "1"], [1060, "0"]]


@pytest.mark.parametrize(
    ("query", "result_type", "result"),
    [
        ("1e-7", "scalar", [1060.25, "0.0000001"]),
        ("1/0", "scalar", [1060.25, "+Inf"]),
        ("-1/0", "scalar", [1060.25, "-Inf"]),
        ("0/0", "scalar", [1060.25, "NaN"]),
        ('"a<b&"', "string", [1060.25, "a<b&"]),
        ("vector(1e21)", "vector", [{"metric": {}, "value": [1060.25, "1e+21"]}]),
    ],
)
def test_scalar_string_and_value_encodings(
    api: Api, query: str, result_type: str, result: Any
) -> None:
    data = api.ok("/api/v1/query", {"query": query, "time": "1060.25"})
    assert data == {"resultType": result_type, "result": result}


def test_instant_query_of_a_range_selector_is_a_matrix_with_every_value_form(api: Api) -> None:
    response = api.get("/api/v1/query", {"query": "node_load1[1m]", "time": "1060"})
    assert response.status_code == 200
    assert '"values":[[1015,"1e-07"],[1030,"2.5"],[1045,"1e+21"],[1060,"-0"]]' in response.text
    metric = response.json()["data"]["result"][0]["metric"]
    assert metric == {"__name__": "node_load1", "instance": "a:9100", "job": "node", "weird": 'é"x'}


def test_post_form_equals_get_and_the_body_wins_over_the_url(api: Api) -> None:
    got = api.get("/api/v1/query", {"query": "sum(up)", "time": "1060"})
    posted = api.post("/api/v1/query", {"query": "sum(up)", "time": "1060"})
    assert posted.status_code == 200
    assert posted.text == got.text
    both = api.post("/api/v1/query", {"query": "vector(2)"}, params={"query": "vector(3)"})
    assert both.json()["data"]["result"][0]["value"][1] == "2"


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({}, 'invalid parameter "query": 1:1: parse error: no expression found in input'),
        (
            {"query": "foo{"},
            'invalid parameter "query": 1:5: parse error: unexpected end of input inside braces',
        ),
        (
            {"query": "foo{", "time": "x"},
            "invalid parameter \"time\": Invalid time value for 'time': "
            'cannot parse "x" to a valid timestamp',
        ),
        (
            {"query": "foo{", "timeout": "x"},
            'invalid parameter "timeout": cannot parse "x" to a valid duration',
        ),
        (
            {"query": "rate(x)"},
            'invalid parameter "query": 1:6: parse error: expected type range vector in call '
            'to function "rate", got instant vector',
        ),
        ({"query": "up", "limit": "-1"}, 'invalid parameter "limit": limit must be non-negative'),
    ],
)
def test_instant_query_bad_data(api: Api, params: dict[str, str], message: str) -> None:
    assert api.error("/api/v1/query", params) == ("bad_data", message)


def test_evaluation_errors_are_execution_422(api: Api) -> None:
    query = 'label_replace(vector(1), "a", "b", "c", "(")'
    error_type, message = api.error("/api/v1/query", {"query": query}, 422)
    assert error_type == "execution"
    assert message == "invalid regular expression in label_replace(): ("


@pytest.mark.parametrize("timeout", ["0", "-1", "1e-9"])
def test_a_short_timeout_parameter_times_out_with_503(api: Api, timeout: str) -> None:
    for path, extra in (
        ("/api/v1/query", {}),
        ("/api/v1/query_range", {"start": "1000", "end": "1060", "step": "15"}),
    ):
        params = {"query": "up", "timeout": timeout, **extra}
        assert api.error(path, params, 503) == ("timeout", "query timed out in query execution")


def test_the_timeout_parameter_cannot_raise_the_configured_timeout(tmp_path: Path) -> None:
    storage = MemoryStorage()
    load(storage)
    api = Api(storage, Engine(storage, timeout_s=1e-9))
    params = {"query": "up", "timeout": "1h"}
    assert api.error("/api/v1/query", params, 503) == (
        "timeout",
        "query timed out in query execution",
    )
    assert Api(storage).ok("/api/v1/query", params)["result"]


def test_too_many_samples_is_execution_422(tmp_path: Path) -> None:
    storage = MemoryStorage()
    load(storage)
    api = Api(storage, Engine(storage, max_samples=3))
    assert api.error("/api/v1/query", {"query": "up[5m]"}, 422) == (
        "execution",
        "query processing would load too many samples into memory in query execution",
    )


def test_a_query_too_large_to_allocate_is_execution_422(api: Api) -> None:
    assert api.error("/api/v1/query", {"query": "up[1y:1ms]"}, 422) == (
        "execution",
        "query processing would load too many samples into memory in query execution",
    )


def test_limit_truncates_series_with_a_warning(api: Api) -> None:
    body = api.get("/api/v1/query", {"query": "up", "limit": "1"}).json()
    assert len(body["data"]["result"]) == 1
    assert body["warnings"] == ["results truncated due to limit"]
    assert "warnings" not in api.get("/api/v1/query", {"query": "up", "limit": "2"}).json()


def test_closed_storage_is_503_unavailable() -> None:
    storage = MemoryStorage()
    load(storage)
    api = Api(storage)
    storage.close()
    for path, params in (
        ("/api/v1/query", {"query": "up"}),
        ("/api/v1/query_range", {"query": "up", "start": "1000", "end": "1060", "step": "15"}),
        ("/api/v1/series", {"match[]": "up"}),
        ("/api/v1/labels", {}),
        ("/api/v1/label/job/values", {}),
    ):
        error_type, message = api.error(path, params, 503)
        assert error_type == "unavailable"
        assert message.startswith("storage unavailable")


# -- range queries -------------------------------------------------------------------------


def test_range_query_answers_a_matrix(api: Api) -> None:
    params = {"query": "up", "start": "1000", "end": "1060", "step": "30"}
    response = api.post("/api/v1/query_range", params)
    assert response.status_code == 200
    assert response.text == (
        '{"status":"success","data":{"resultType":"matrix","result":['
        '{"metric":{"__name__":"up","instance":"a:9100","job":"node"},'
        '"values":[[1000,"1"],[1030,"1"],[1060,"1"]]},'
        '{"metric":{"__name__":"up","instance":"b:9100","job":"node"},'
        '"values":[[1000,"0"],[1030,"0"],[1060,"0"]]}]}}'
    )


def test_range_steps_are_truncated_to_milliseconds_and_use_durations(api: Api) -> None:
    data = api.ok(
        "/api/v1/query_range", {"query": "time()", "start": "1.001", "end": "3", "step": "1.0005"}
    )
    assert data["result"] == [{"metric": {}, "values": [[1.001, "1.001"], [2.001, "2.001"]]}]
    data = api.ok("/api/v1/query_range", {"query": "1", "start": "0", "end": "1", "step": "1s"})
    assert data["result"][0]["values"] == [[0, "1"], [1, "1"]]


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"query": "1"}, 'invalid parameter "start": cannot parse "" to a valid timestamp'),
        ({"start": "x", "end": "3"},
         'invalid parameter "start": cannot parse "x" to a valid timestamp'),
        ({"start": "1"}, 'invalid parameter "end": cannot parse "" to a valid timestamp'),
        ({"start": "1", "end": "2"},
         'invalid parameter "step": cannot parse "" to a valid duration'),
        ({"start": "3", "end": "2", "step": "0"},
         'invalid parameter "end": end timestamp must not be before start time'),
        ({"start": "1", "end": "2", "step": "0"}, 'invalid parameter "step": zero or negative '
         "query resolution step widths are not accepted. Try a positive integer"),
        ({"start": "1", "end": "2", "step": "-1"}, 'invalid parameter "step": zero or negative '
         "query resolution step widths are not accepted. Try a positive integer"),
        ({"start": "1", "end": "2", "step": "0.0005"}, 'invalid parameter "step": zero or '
         "negative query resolution step widths are not accepted. Try a positive integer"),
        ({"start": "1", "end": "20000", "step": "1"}, "exceeded maximum resolution of 11,000 "
         "points per timeseries. Try decreasing the query resolution (?step=XX)"),
        ({"start": "1", "end": "3", "step": "1", "timeout": "x"},
         'invalid parameter "timeout": cannot parse "x" to a valid duration'),
        # Prometheus 2.42 names no parameter for a range query's parse error, unlike an
        # instant query's (checked against its /api/v1/query_range).
        ({"query": "foo{", "start": "1", "end": "3", "step": "1"},
         "1:5: parse error: unexpected end of input inside braces"),
        ({"query": "up[5m]", "start": "1", "end": "3", "step": "1"},
         'invalid expression type "range vector" for range query, must be Scalar or instant '
         "Vector"),
        ({"query": '"a"', "start": "1", "end": "3", "step": "1"},
         'invalid expression type "string" for range query, must be Scalar or instant Vector'),
    ],
)  # fmt: skip
def test_range_query_bad_data(api: Api, params: dict[str, str], message: str) -> None:
    assert api.error("/api/v1/query_range", {"query": "1", **params}) == ("bad_data", message)


# -- series, labels, label values ------------------------------------------------------------


def test_series_lists_matching_label_sets(api: Api) -> None:
    assert api.ok("/api/v1/series", {"match[]": "up"}) == [dict(UP_A), dict(UP_B)]
    both = api.post("/api/v1/series", {"match[]": "up"}, params={"match[]": "node_load1"})
    assert both.json()["data"] == [dict(LOAD), dict(UP_A), dict(UP_B)]
    overlapping = api.ok("/api/v1/series", {"match[]": ["up", 'up{instance="a:9100"}']})
    assert overlapping == [dict(UP_A), dict(UP_B)]


def test_series_time_range_and_limit(api: Api) -> None:
    assert api.ok("/api/v1/series", {"match[]": "up", "start": "10", "end": "20"}) == []
    assert api.ok("/api/v1/series", {"match[]": "up", "start": "10", "end": "5"}) == []
    assert len(api.ok("/api/v1/series", {"match[]": "up", "start": "1059", "end": "1060"})) == 2
    body = api.get("/api/v1/series", {"match[]": "up", "limit": "1"}).json()
    assert body["data"] == [dict(UP_A)]
    assert body["warnings"] == ["results truncated due to limit"]
    all_time = {"match[]": "up", "start": MIN_TIME_TEXT, "end": MAX_TIME_TEXT}
    assert len(api.ok("/api/v1/series", all_time)) == 2


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({}, "no match[] parameter provided"),
        ({"match[]": 'up{job=~".*"}', "start": "x"},
         "invalid parameter \"start\": Invalid time value for 'start': "
         'cannot parse "x" to a valid timestamp'),
        ({"match[]": "up", "end": "x"},
         "invalid parameter \"end\": Invalid time value for 'end': "
         'cannot parse "x" to a valid timestamp'),
        ({"match[]": "up{"},
         'invalid parameter "match[]": 1:4: parse error: unexpected end of input inside braces'),
        ({"match[]": "up", "limit": "x"},
         'invalid parameter "limit": cannot parse "x" to a valid limit'),
    ],
)  # fmt: skip
def test_series_bad_data(api: Api, params: dict[str, str], message: str) -> None:
    assert api.error("/api/v1/series", params) == ("bad_data", message)


@pytest.mark.parametrize(
    "selector", ['{job=~".*"}', "up[5m]", "rate(up[5m])", "1", "up offset 5m", "(up)"]
)
def test_series_needs_a_plain_selector_with_a_non_empty_matcher(api: Api, selector: str) -> None:
    error_type, message = api.error("/api/v1/series", {"match[]": selector})
    assert error_type == "bad_data"
    assert message.startswith('invalid parameter "match[]": ')


def test_labels_and_label_values(api: Api) -> None:
    assert api.ok("/api/v1/labels") == ["__name__", "instance", "job", "weird"]
    assert api.ok("/api/v1/labels", {"match[]": "up"}) == ["__name__", "instance", "job"]
    assert api.ok("/api/v1/labels", {"match[]": '{job=~"x"}'}) == []
    assert api.ok("/api/v1/labels", {"start": "10", "end": "5"}) == []
    assert api.post("/api/v1/labels", {"match[]": "up"}).json()["data"] == [
        "__name__",
        "instance",
        "job",
    ]
    assert api.ok("/api/v1/label/__name__/values") == ["node_load1", "up"]
    assert api.ok("/api/v1/label/weird/values") == ['é"x']
    assert api.ok("/api/v1/label/instance/values", {"match[]": "up"}) == ["a:9100", "b:9100"]
    assert api.ok("/api/v1/label/nothing/values") == []
    assert api.ok("/api/v1/label/job/values", {"start": "2000"}) == []
    body = api.get("/api/v1/label/instance/values", {"limit": "1"}).json()
    assert (body["data"], body["warnings"]) == (["a:9100"], ["results truncated due to limit"])


@pytest.mark.parametrize(
    ("path", "params", "message"),
    [
        ("/api/v1/labels", {"match[]": "up{"},
         "1:4: parse error: unexpected end of input inside braces"),
        ("/api/v1/labels", {"match[]": '{job=~".*"}'}, "1:1: parse error: vector selector must "
         "contain at least one non-empty matcher"),
        ("/api/v1/labels", {"start": "x"}, "invalid parameter \"start\": Invalid time value "
         "for 'start': cannot parse \"x\" to a valid timestamp"),
        ("/api/v1/label/1bad/values", {}, 'invalid label name: "1bad"'),
        ("/api/v1/label/%C3%A9/values", {}, 'invalid label name: "é"'),
        ("/api/v1/label/job/values", {"match[]": "up{"},
         "1:4: parse error: unexpected end of input inside braces"),
        ("/api/v1/label/job/values", {"start": "x"}, "invalid parameter \"start\": Invalid "
         "time value for 'start': cannot parse \"x\" to a valid timestamp"),
    ],
)  # fmt: skip
def test_labels_bad_data(api: Api, path: str, params: dict[str, str], message: str) -> None:
    assert api.error(path, params) == ("bad_data", message)


# -- the rest --------------------------------------------------------------------------------


def test_metadata_of_pushed_families(api: Api) -> None:
    assert api.ok("/api/v1/metadata") == {}  # nothing pushed yet (loaded through storage)
    families = [
        MetricFamily.counter("node_cpu_seconds_total", "Seconds the CPUs spent.", ("mode",),
                             [(("idle",), 1.0)]),
        MetricFamily.gauge("node_load1", "1m load average.", (), [((), 0.5)]),
        MetricFamily.untyped("node_vmstat_pgfault", "/proc/vmstat information field pgfault.",
                             (), [((), 7.0)]),
    ]  # fmt: skip
    body = encode_push({"instance": "h"}, [encode_round(T0, {"job": "node"}, families)])
    assert run(api.app, "POST", COLLECT_PATH, content=body).status_code == 200
    assert api.ok("/api/v1/metadata") == {
        "node_cpu_seconds_total": [
            {"type": "counter", "help": "Seconds the CPUs spent.", "unit": ""}
        ],
        "node_load1": [{"type": "gauge", "help": "1m load average.", "unit": ""}],
        "node_vmstat_pgfault": [
            {"type": "unknown", "help": "/proc/vmstat information field pgfault.", "unit": ""}
        ],
    }
    assert list(api.ok("/api/v1/metadata", {"metric": "node_load1"})) == ["node_load1"]
    assert list(api.ok("/api/v1/metadata", {"limit": "2"})) == [
        "node_cpu_seconds_total",
        "node_load1",
    ]
    assert api.ok("/api/v1/metadata", {"limit": "0"}) == {}
    assert len(api.ok("/api/v1/metadata", {"limit": "-1", "limit_per_metric": "1"})) == 3
    for name in ("limit", "limit_per_metric"):
        for bad in ("x", " 1", "1_0", "1.5"):
            assert api.error("/api/v1/metadata", {name: bad}) == (
                "bad_data",
                f"{name} must be a number",
            )


def test_metadata_exemplars_and_format_query(api: Api) -> None:
    assert api.ok("/api/v1/metadata", {"metric": "up", "limit": "-1"}) == {}
    assert api.ok("/api/v1/query_exemplars", {"query": "up", "start": "1", "end": "2"}) == []
    assert api.post("/api/v1/query_exemplars", {"query": "up"}).json()["data"] == []
    assert api.error("/api/v1/query_exemplars", {"query": "up{"}) == (
        "bad_data",
        "1:4: parse error: unexpected end of input inside braces",
    )
    query = "sum(rate(up[5m]))by(job)"
    assert api.ok("/api/v1/format_query", {"query": query}) == "sum by (job) (rate(up[5m]))"
    assert api.post("/api/v1/format_query", {"query": "1 +  2"}).json()["data"] == "1 + 2"
    assert api.error("/api/v1/format_query", {"query": "1 2"}) == (
        "bad_data",
        'invalid parameter "query": 1:3: parse error: unexpected number "2"',
    )


def test_status_endpoints(api: Api) -> None:
    build = api.ok("/api/v1/status/buildinfo")
    assert set(build) >= {"version", "revision", "branch", "buildUser", "buildDate", "goVersion"}
    from multimonx import __version__

    assert build["version"] == __version__
    runtime = api.ok("/api/v1/status/runtimeinfo")
    assert runtime["startTime"] == "1970-01-01T00:17:40.000Z"
    assert {"CWD", "reloadConfigSuccess", "GOMAXPROCS"} <= set(runtime)
    expected = "raw 1d, 1m 1w, 5m 30d" if isinstance(api.storage, TSDB) else "unlimited"
    assert runtime["storageRetention"] == expected
    assert api.ok("/api/v1/status/config") == {"yaml": ""}
    assert api.ok("/api/v1/status/flags") == {}
    assert api.ok("/api/v1/rules") == {"groups": []}
    assert api.ok("/api/v1/alerts") == {"alerts": []}


@pytest.mark.parametrize(
    ("method", "path", "status"),
    [
        ("GET", "/api/v1/nope", 404),
        ("GET", "/api/v1/label/a%2Fb/values", 404),
        ("PUT", "/api/v1/query", 405),
        ("POST", "/api/v1/label/job/values", 405),
        ("POST", "/api/v1/status/buildinfo", 405),
        ("POST", "/api/v1/metadata", 405),
    ],
)
def test_unknown_paths_and_methods(api: Api, method: str, path: str, status: int) -> None:
    assert run(api.app, method, path).status_code == status


def test_a_form_body_over_10_mib_is_bad_data(api: Api) -> None:
    body = b"query=" + b"1" * (10 << 20)
    headers = {"content-type": "application/x-www-form-urlencoded"}
    response = run(api.app, "POST", "/api/v1/query", content=body, headers=headers)
    assert response.status_code == 400
    assert orjson.loads(response.content)["error"] == (
        "error parsing form values: http: POST too large"
    )


# -- cross-origin reads (Prometheus's --web.cors.origin) -------------------------------------

CORS_ALLOWED = {
    "access-control-allow-headers": "Accept, Authorization, Content-Type, Origin",
    "access-control-allow-methods": "GET, POST, OPTIONS",
    "access-control-expose-headers": "Date",
    "vary": "Origin",
}


def _cors(response: httpx.Response) -> dict[str, str]:
    return {
        k: v for k, v in response.headers.items() if k.startswith("access-control") or k == "vary"
    }


def test_cors_headers_follow_prometheus() -> None:
    app = Api(MemoryStorage()).app
    origin = {"Origin": "https://grafana.example.com"}
    answer = run(app, "GET", "/api/v1/labels", headers=origin)
    assert answer.status_code == 200
    assert _cors(answer) == {**CORS_ALLOWED, "access-control-allow-origin": "*"}
    assert _cors(run(app, "GET", "/api/v1/labels")) == {}  # no Origin, no CORS headers
    assert _cors(run(app, "GET", "/api/v1/metrics/catalog", headers=origin)) != {}
    pre = run(app, "OPTIONS", "/api/v1/query_range", headers=origin)
    assert (pre.status_code, pre.content) == (204, b"")
    assert _cors(pre)["access-control-allow-origin"] == "*"
    assert run(app, "OPTIONS", "/api/v1/anything").status_code == 204  # as Prometheus
    assert _cors(run(app, "POST", COLLECT_PATH, headers=origin, content=b"{}")) == {}


def test_cors_origin_regex_is_anchored() -> None:
    app = create_app(
        storage=MemoryStorage(),
        keys=None,
        fleet=FleetRegistry(),
        ingest_config=IngestSection(require_api_key=False),
        cors_origin=r"https://grafana\.example\.com",
        clock=lambda: NOW,
    )
    allowed = run(app, "GET", "/api/v1/labels", headers={"Origin": "https://grafana.example.com"})
    assert _cors(allowed)["access-control-allow-origin"] == "https://grafana.example.com"
    other = run(
        app, "GET", "/api/v1/labels", headers={"Origin": "https://grafana.example.com.evil"}
    )
    assert _cors(other) == CORS_ALLOWED  # the rest is set, the origin is not allowed
