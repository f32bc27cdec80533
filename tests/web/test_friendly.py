"""The friendly REST API (servers, metrics current/history/catalog), in-process through httpx's
ASGI transport, over node_exporter-like series written through the storage API. Expected
values are worked out by hand from the counters' known slopes."""

from __future__ import annotations

import asyncio
import math
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from multimonx.config import IngestSection
from multimonx.ingest import FleetRegistry
from multimonx.ingest.fleet import PushReport
from multimonx.model import Labels
from multimonx.promql.engine import Engine
from multimonx.storage import MemoryStorage
from multimonx.web import create_app

NOW = 1_750_000_000.0
NOW_MS = int(NOW * 1000)
INTERVAL_MS = 15_000
HISTORY_MS = 75 * 60_000  # a little more than the 1 h window
GIB = 1024.0**3
HOSTILE = 'a"} or vector(1) #'

# Per host: counters as (name, labels, slope per second); gauges as (name, labels, value).
Counter = tuple[str, dict[str, str], float]
Gauge = tuple[str, dict[str, str], float]


def cpu(core: str, **slopes: float) -> list[Counter]:
    return [("node_cpu_seconds_total", {"cpu": core, "mode": m}, v) for m, v in slopes.items()]


def fs(mount: str, device: str, fstype: str, size: float, free: float, avail: float) -> list[Gauge]:
    labels = {"mountpoint": mount, "device": device, "fstype": fstype}
    return [
        ("node_filesystem_size_bytes", labels, size),
        ("node_filesystem_free_bytes", labels, free),
        ("node_filesystem_avail_bytes", labels, avail),
        ("node_filesystem_files", labels, 1000.0),
        ("node_filesystem_files_free", labels, 750.0),
    ]


def net(device: str, rx: float, tx: float) -> list[Counter]:
    d = {"device": device}
    return [
        ("node_network_receive_bytes_total", d, rx),
        ("node_network_transmit_bytes_total", d, tx),
        ("node_network_receive_packets_total", d, 10.0),
        ("node_network_transmit_packets_total", d, 10.0),
        ("node_network_receive_drop_total", d, 1.0),
        ("node_network_transmit_drop_total", d, 0.0),
        ("node_network_receive_errs_total", d, 0.5),
        ("node_network_transmit_errs_total", d, 0.25),
    ]


WEB1_COUNTERS: list[Counter] = [
    *cpu("0", idle=0.6, user=0.2, system=0.1, iowait=0.1),
    *cpu("1", idle=0.9, user=0.05, system=0.05, iowait=0.0),
    *cpu("10", idle=1.0, user=0.0, system=0.0, iowait=0.0),
    ("node_disk_read_bytes_total", {"device": "sda"}, 1000.0),
    ("node_disk_written_bytes_total", {"device": "sda"}, 2000.0),
    ("node_disk_reads_completed_total", {"device": "sda"}, 4.0),
    ("node_disk_writes_completed_total", {"device": "sda"}, 8.0),
    ("node_disk_read_bytes_total", {"device": "loop0"}, 5e6),
    *net("eth0", 500.0, 250.0),
    ("node_network_receive_bytes_total", {"device": "lo"}, 1e6),
    ("node_network_transmit_bytes_total", {"device": "lo"}, 1e6),
]
WEB1_GAUGES: list[Gauge] = [
    ("node_load1", {}, 0.5),
    ("node_load5", {}, 1.0),
    ("node_load15", {}, 1.5),
    ("node_memory_MemTotal_bytes", {}, 8 * GIB),
    ("node_memory_MemAvailable_bytes", {}, 6 * GIB),
    ("node_memory_MemFree_bytes", {}, 2 * GIB),
    ("node_memory_Buffers_bytes", {}, 0.25 * GIB),
    ("node_memory_Cached_bytes", {}, 3 * GIB),
    ("node_memory_SwapTotal_bytes", {}, 2 * GIB),
    ("node_memory_SwapFree_bytes", {}, 1.5 * GIB),
    *fs("/", "/dev/sda1", "ext4", 100 * GIB, 40 * GIB, 35 * GIB),
    *fs("/data", "/dev/sdb1", "xfs", 200 * GIB, 180 * GIB, 180 * GIB),
    *fs("/run", "tmpfs", "tmpfs", 1 * GIB, 0.0, 0.0),
    ("node_sockstat_TCP_inuse", {}, 10.0),
    ("node_sockstat_TCP6_inuse", {}, 5.0),
    ("node_sockstat_UDP_inuse", {}, 3.0),
    ("node_sockstat_TCP_tw", {}, 4.0),
    ("node_netstat_Tcp_CurrEstab", {}, 7.0),
]
WEB2_COUNTERS: list[Counter] = [*cpu("0", idle=1.0, user=0.0, system=0.0, iowait=0.0)]
WEB2_GAUGES: list[Gauge] = [
    ("node_memory_MemTotal_bytes", {}, 4 * GIB),
    ("node_memory_MemAvailable_bytes", {}, 1 * GIB),
    ("node_memory_SwapTotal_bytes", {}, 0.0),
    ("node_memory_SwapFree_bytes", {}, 0.0),
    *fs("/", "/dev/vda1", "ext4", 10 * GIB, 1 * GIB, 1 * GIB),
]


class Clock:
    def __init__(self, now: float = NOW) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


@dataclass
class Api:
    storage: MemoryStorage
    fleet: FleetRegistry
    app: Any

    def get(self, url: str, **params: str) -> httpx.Response:
        async def go() -> httpx.Response:
            transport = httpx.ASGITransport(app=self.app)
            async with httpx.AsyncClient(transport=transport, base_url="http://test") as c:
                return await c.get(url, params=params)

        return asyncio.run(go())

    def data(self, url: str, **params: str) -> Any:
        resp = self.get(url, **params)
        assert resp.status_code == 200, resp.text
        body = resp.json()
        assert body["status"] == "success"
        return body["data"]

    def error(self, status: int, error_type: str, url: str, **params: str) -> str:
        resp = self.get(url, **params)
        assert resp.status_code == status, resp.text
        body = resp.json()
        assert body["status"] == "error"
        assert body["errorType"] == error_type
        return str(body["error"])


def write_host(
    storage: MemoryStorage,
    host: str,
    counters: list[Counter],
    gauges: list[Gauge],
    end_ms: int = NOW_MS,
) -> None:
    """Samples every 15 s over the last 75 minutes; counters start at 1000 and grow linearly."""
    app = storage.appender()
    times = range(end_ms - HISTORY_MS, end_ms + 1, INTERVAL_MS)
    for name, labels, slope in counters:
        series = Labels.of({**labels, "__name__": name, "instance": host, "job": "node"})
        for t in times:
            app.append(series, t, 1000.0 + slope * (t - times[0]) / 1000)
    for name, labels, value in gauges:
        series = Labels.of({**labels, "__name__": name, "instance": host, "job": "node"})
        for t in times:
            app.append(series, t, value)
    app.commit()


def make_api(storage: MemoryStorage, engine: Engine | None = None, now: float = NOW) -> Api:
    clock = Clock(now)
    fleet = FleetRegistry(clock=clock)
    fleet.seed(storage)
    fleet.record_push(PushReport("web-1", "node", "agent", "0.1.0", 15.0, NOW_MS, 0, 0, 0))
    app = create_app(
        storage=storage,
        keys=None,
        fleet=fleet,
        ingest_config=IngestSection(require_api_key=False),
        engine=engine,
        clock=clock,
    )
    return Api(storage, fleet, app)


@pytest.fixture(scope="module")
def shared_api() -> Iterator[Api]:
    """One read-only API for the property tests (hypothesis reruns the test body)."""
    storage = MemoryStorage()
    write_host(storage, "web-1", WEB1_COUNTERS, WEB1_GAUGES)
    yield make_api(storage)
    storage.close()


@pytest.fixture
def api() -> Iterator[Api]:
    storage = MemoryStorage()
    write_host(storage, "web-1", WEB1_COUNTERS, WEB1_GAUGES)
    write_host(storage, "web-2", WEB2_COUNTERS, WEB2_GAUGES)
    yield make_api(storage)
    storage.close()


def value(metrics: dict[str, Any], name: str) -> Any:
    return metrics[name]["value"]


# --- current ------------------------------------------------------------------------------

ROOT_PERCENT = 100 * (1 - 35 / 100)  # available to users / size: the root reserve is used

WEB1_CURRENT = {
    # cores: 0 busy 0.4 s/s, 1 busy 0.1 s/s, 10 idle; 3 s of CPU time per second in all
    "cpu.usage.total": 100 * 0.5 / 3,
    "cpu.usage.user": 100 * 0.25 / 3,
    "cpu.usage.system": 100 * 0.15 / 3,
    "cpu.usage.idle": 100 * 2.5 / 3,
    "cpu.usage.iowait": 100 * 0.1 / 3,
    "cpu.load.average.1m": 0.5,
    "cpu.load.average.5m": 1.0,
    "cpu.load.average.15m": 1.5,
    "memory.total": 8 * GIB,
    "memory.used": 2 * GIB,
    "memory.available": 6 * GIB,
    "memory.free": 2 * GIB,
    "memory.usage.percent": 25.0,
    "memory.buffers": 0.25 * GIB,
    "memory.cached": 3 * GIB,
    "swap.total": 2 * GIB,
    "swap.used": 0.5 * GIB,
    "swap.usage.percent": 25.0,
    "network.io.bytes.sent": 250.0,  # lo left out
    "network.io.bytes.recv": 500.0,
    "network.io.packets.sent": 10.0,
    "network.io.packets.recv": 10.0,
    "network.io.errors.in": 0.5,
    "network.io.errors.out": 0.25,
    "network.io.dropped.in": 1.0,
    "network.io.dropped.out": 0.0,
    "network.packet.loss.percent": 100 * 1 / (10 + 10 + 1 + 0),
    "network.connections.tcp": 15.0,
    "network.connections.udp": 3.0,
    "network.connections.established": 7.0,
    "network.connections.time_wait": 4.0,
}


def test_current_gives_every_host_level_metric(api: Api) -> None:
    data = api.data("/api/v1/metrics/current", host="web-1")
    assert data["host"] == "web-1"
    assert data["time"] == NOW
    metrics = data["metrics"]
    for name, expected in WEB1_CURRENT.items():
        assert value(metrics, name) == pytest.approx(expected, rel=1e-9), name
    assert metrics["cpu.usage.total"]["unit"] == "percent"
    assert metrics["memory.total"]["unit"] == "bytes"
    assert metrics["network.io.bytes.recv"]["unit"] == "bytes/s"


def test_current_gives_per_item_metrics_as_labelled_lists(api: Api) -> None:
    metrics = api.data("/api/v1/metrics/current", host="web-1")["metrics"]
    cores = metrics["cpu.cores.usage"]
    assert cores["unit"] == "percent"
    assert [c["labels"] for c in cores["values"]] == [{"cpu": "0"}, {"cpu": "1"}, {"cpu": "10"}]
    assert [c["value"] for c in cores["values"]] == pytest.approx([40.0, 10.0, 0.0])
    disks = metrics["disk.usage.percent"]["values"]  # tmpfs left out
    assert [d["labels"] for d in disks] == [
        {"mountpoint": "/", "device": "/dev/sda1", "fstype": "ext4"},
        {"mountpoint": "/data", "device": "/dev/sdb1", "fstype": "xfs"},
    ]
    assert [d["value"] for d in disks] == pytest.approx([ROOT_PERCENT, 10.0])
    used = [d["value"] for d in metrics["disk.usage.used"]["values"]]
    assert used == pytest.approx([60 * GIB, 20 * GIB])
    assert [d["value"] for d in metrics["disk.usage.free"]["values"]] == [35 * GIB, 180 * GIB]
    assert [d["value"] for d in metrics["disk.inode.usage.percent"]["values"]] == [25.0, 25.0]
    assert [d["value"] for d in metrics["disk.inode.used"]["values"]] == [250.0, 250.0]
    reads = metrics["disk.io.read.bytes"]["values"]  # loop0 left out
    assert reads == [{"labels": {"device": "sda"}, "value": pytest.approx(1000.0)}]
    assert metrics["disk.io.write.count"]["values"][0]["value"] == pytest.approx(8.0)


def test_current_lists_every_catalog_metric_even_without_data(api: Api) -> None:
    catalog = [e["name"] for e in api.data("/api/v1/metrics/catalog")]
    metrics = api.data("/api/v1/metrics/current", host="web-2")["metrics"]
    assert list(metrics) == catalog
    assert value(metrics, "cpu.usage.total") == pytest.approx(0.0)
    assert value(metrics, "memory.usage.percent") == pytest.approx(75.0)
    assert value(metrics, "swap.usage.percent") is None  # no swap: undefined, not 0/0
    assert value(metrics, "network.io.bytes.recv") is None
    assert metrics["disk.io.read.bytes"]["values"] == []


def test_current_reads_only_recent_data(api: Api) -> None:
    later = make_api(api.storage, now=NOW + 301)  # past the 5-minute lookback
    metrics = later.data("/api/v1/metrics/current", host="web-1")["metrics"]
    assert value(metrics, "memory.total") is None
    assert value(metrics, "cpu.usage.total") is None


@pytest.mark.parametrize(
    ("params", "status", "error_type"),
    [
        ({}, 400, "bad_data"),
        ({"host": ""}, 400, "bad_data"),
        ({"host": "web-3"}, 404, "not_found"),
        ({"host": HOSTILE}, 404, "not_found"),
        ({"host": ".*"}, 404, "not_found"),
        ({"host": "web-.*"}, 404, "not_found"),
        ({"host": "ホスト"}, 404, "not_found"),
    ],
)
def test_current_refuses_missing_and_unknown_hosts(
    api: Api, params: dict[str, str], status: int, error_type: str
) -> None:
    api.error(status, error_type, "/api/v1/metrics/current", **params)


@pytest.mark.parametrize("host", [HOSTILE, ".*", "web-.+", "ホスト-1", "a\\", "x\ny", "{}"])
def test_hostile_host_names_match_only_themselves(host: str) -> None:
    """A host whose name looks like PromQL or a regex sees its own series, nobody else's."""
    storage = MemoryStorage()
    write_host(storage, "web-1", WEB1_COUNTERS, WEB1_GAUGES)
    write_host(storage, host, [], [("node_load1", {}, 3.0)])
    api = make_api(storage)
    metrics = api.data("/api/v1/metrics/current", host=host)["metrics"]
    assert value(metrics, "cpu.load.average.1m") == 3.0
    assert value(metrics, "memory.total") is None  # web-1's would leak through a regex
    assert metrics["cpu.cores.usage"]["values"] == []
    assert metrics["disk.usage.percent"]["values"] == []
    history = api.data("/api/v1/metrics/history", host=host, metric="cpu.load.average.1m")
    assert len(history["series"]) == 1
    assert {v for _, v in history["series"][0]["points"]} == {3.0}
    storage.close()


# --- servers ------------------------------------------------------------------------------


def test_servers_adds_current_usage_per_host(api: Api) -> None:
    hosts = {h["instance"]: h for h in api.data("/api/v1/servers")}
    assert list(hosts) == ["web-1", "web-2"]
    assert hosts["web-1"]["status"] == "up"
    assert hosts["web-2"]["status"] == "down"  # known from storage only, never pushed
    web1 = hosts["web-1"]["metrics"]
    assert web1["cpu.usage.total"] == pytest.approx(100 * 0.5 / 3)
    assert web1["memory.usage.percent"] == pytest.approx(25.0)
    assert web1["disk.usage.percent"] == pytest.approx(ROOT_PERCENT)  # the fullest one
    web2 = hosts["web-2"]["metrics"]
    assert web2 == {
        "cpu.usage.total": pytest.approx(0.0),
        "memory.usage.percent": pytest.approx(75.0),
        "disk.usage.percent": pytest.approx(90.0),
    }


def test_servers_without_data_shows_nulls() -> None:
    storage = MemoryStorage()
    api = make_api(storage)
    hosts = api.data("/api/v1/servers")
    assert [h["instance"] for h in hosts] == ["web-1"]
    assert hosts[0]["metrics"] == {
        "cpu.usage.total": None,
        "memory.usage.percent": None,
        "disk.usage.percent": None,
    }
    storage.close()


def test_servers_without_metrics_lists_the_same_hosts_and_evaluates_nothing(api: Api) -> None:
    calls: list[Any] = []
    engine = api.app.state.overview.api.engine  # the engine every route of the app shares
    instant = engine.instant

    def spy(*args: Any, **kwargs: Any) -> Any:
        calls.append(args)
        return instant(*args, **kwargs)

    engine.instant = spy
    try:
        full = api.data("/api/v1/servers")
        assert calls, "the spy saw no evaluation of the full list"
        calls.clear()
        bare = api.data("/api/v1/servers", metrics="false")
    finally:
        del engine.instant
    assert calls == []
    assert bare == [{k: v for k, v in h.items() if k != "metrics"} for h in full]


@pytest.mark.parametrize("flag", ["no", "False", "0", ""])
def test_servers_refuses_a_metrics_flag_other_than_true_or_false(api: Api, flag: str) -> None:
    message = api.error(400, "bad_data", "/api/v1/servers", metrics=flag)
    assert "metrics" in message


# --- history ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("range_", "step_s"),
    [("1h", 15), ("6h", 60), ("24h", 285), ("7d", 2010), ("30d", 8640)],
)
def test_history_default_steps(api: Api, range_: str, step_s: int) -> None:
    data = api.data("/api/v1/metrics/history", host="web-1", metric="memory.total", range=range_)
    assert data["step"] == step_s
    span = {"1h": 3600, "6h": 6 * 3600, "24h": 86400, "7d": 7 * 86400, "30d": 30 * 86400}
    assert data["end"] - data["start"] == span[range_]
    assert data["end"] % step_s == 0
    assert NOW - step_s < data["end"] <= NOW
    assert 240 <= span[range_] // step_s + 1 <= 1000


def test_history_of_a_host_level_metric(api: Api) -> None:
    data = api.data("/api/v1/metrics/history", host="web-1", metric="cpu.usage.total", range="1h")
    assert (data["host"], data["metric"], data["unit"]) == ("web-1", "cpu.usage.total", "percent")
    [series] = data["series"]
    assert series["labels"] == {}
    points = series["points"]
    assert len(points) == 241  # every 15 s over the hour, both ends included
    assert points[0][0] == data["start"]
    assert points[-1][0] == data["end"]
    assert all(v == pytest.approx(100 * 0.5 / 3) for _, v in points)


def test_history_of_a_per_item_metric(api: Api) -> None:
    data = api.data(
        "/api/v1/metrics/history", host="web-1", metric="disk.usage.percent", range="6h"
    )
    assert [s["labels"]["mountpoint"] for s in data["series"]] == ["/", "/data"]
    root = data["series"][0]["points"]
    assert root[-1][1] == pytest.approx(ROOT_PERCENT)
    assert root[0][0] >= (NOW_MS - HISTORY_MS) / 1000  # nothing before the data began


def test_history_with_start_end_and_step(api: Api) -> None:
    data = api.data(
        "/api/v1/metrics/history",
        host="web-1",
        metric="memory.usage.percent",
        start="2025-06-15T14:50:00Z",
        end=str(NOW),
        step="1m",
    )
    assert data["start"] == 1_749_999_000.0
    assert data["end"] == NOW
    assert data["step"] == 60
    [series] = data["series"]
    assert len(series["points"]) == 17
    assert {v for _, v in series["points"]} == {25.0}


def test_history_rates_cover_every_sample_at_coarse_steps() -> None:
    """A burst between two coarse steps still shows: rate windows widen to the step."""
    storage = MemoryStorage()
    app = storage.appender()
    series = Labels.of(
        __name__="node_disk_read_bytes_total", device="sda", instance="web-1", job="node"
    )
    burst_ms = NOW_MS - 4 * 60_000  # between t-5m and t-1m
    start = NOW_MS - 20 * 60_000
    for t in range(start, NOW_MS + 1, INTERVAL_MS):
        app.append(series, t, 1e6 if t < burst_ms else 1e6 + 60_000)
    app.commit()
    api = make_api(storage)
    data = api.data(
        "/api/v1/metrics/history",
        host="web-1",
        metric="disk.io.read.bytes",
        start=str(NOW - 300),
        end=str(NOW),
        step="5m",
    )
    points = data["series"][0]["points"]
    assert points[-1][0] == NOW
    # the window (t-5m, t] holds 20 samples 285 s apart, extrapolated to 300 s (Prometheus)
    assert points[-1][1] == pytest.approx(60_000 / 285)
    storage.close()


@pytest.mark.parametrize(
    ("params", "status", "error_type", "hint"),
    [
        ({"metric": "cpu.usage.total"}, 400, "bad_data", "host"),
        ({"host": "web-1"}, 400, "bad_data", "metric"),
        ({"host": "nope", "metric": "cpu.usage.total"}, 404, "not_found", "servers"),
        ({"host": "web-1", "metric": "cpu.usage"}, 404, "not_found", "/api/v1/metrics/catalog"),
        ({"host": "web-1", "metric": HOSTILE}, 404, "not_found", "catalog"),
        ({"host": "web-1", "metric": "cpu.usage.total", "range": "2h"}, 400, "bad_data", "30d"),
        (
            {"host": "web-1", "metric": "cpu.usage.total", "range": "1h", "start": "1"},
            400,
            "bad_data",
            "not both",
        ),
        ({"host": "web-1", "metric": "cpu.usage.total", "start": "x"}, 400, "bad_data", "start"),
        (
            {"host": "web-1", "metric": "cpu.usage.total", "start": "2025-06-15T14:50:00"},
            400,
            "bad_data",
            "zone",
        ),
        ({"host": "web-1", "metric": "cpu.usage.total", "start": "NaN"}, 400, "bad_data", "start"),
        (
            {"host": "web-1", "metric": "cpu.usage.total", "start": "1e300"},
            400,
            "bad_data",
            "range",
        ),
        (
            {"host": "web-1", "metric": "cpu.usage.total", "start": "10", "end": "5"},
            400,
            "bad_data",
            "before",
        ),
        ({"host": "web-1", "metric": "cpu.usage.total", "end": "10"}, 400, "bad_data", "start"),
        ({"host": "web-1", "metric": "cpu.usage.total", "step": "0s"}, 400, "bad_data", "step"),
        ({"host": "web-1", "metric": "cpu.usage.total", "step": "-5"}, 400, "bad_data", "step"),
        ({"host": "web-1", "metric": "cpu.usage.total", "step": "abc"}, 400, "bad_data", "step"),
        (
            {"host": "web-1", "metric": "cpu.usage.total", "range": "30d", "step": "15s"},
            400,
            "bad_data",
            "points",
        ),
    ],
)
def test_history_refuses_bad_parameters(
    api: Api, params: dict[str, str], status: int, error_type: str, hint: str
) -> None:
    message = api.error(status, error_type, "/api/v1/metrics/history", **params)
    assert hint in message


# --- catalog, failures ----------------------------------------------------------------------


def test_catalog_lists_names_units_and_expressions(api: Api) -> None:
    entries = api.data("/api/v1/metrics/catalog")
    by_name = {e["name"]: e for e in entries}
    assert set(WEB1_CURRENT) < set(by_name)
    cpu_total = by_name["cpu.usage.total"]
    assert cpu_total["unit"] == "percent"
    assert cpu_total["kind"] == "rate"
    assert "node_cpu_seconds_total" in cpu_total["expr"]
    assert by_name["cpu.cores.usage"]["labels"] == ["cpu"]
    assert all(e["description"] for e in entries)


def test_engine_limits_give_clean_errors() -> None:
    storage = MemoryStorage()
    write_host(storage, "web-1", WEB1_COUNTERS, WEB1_GAUGES)
    slow = make_api(storage, Engine(storage, timeout_s=0.0))
    slow.error(503, "timeout", "/api/v1/metrics/current", host="web-1")
    resp = slow.get("/api/v1/servers")  # the list is still served, without values
    assert resp.status_code == 200
    body = resp.json()
    assert body["warnings"] == ["current values unavailable: query timed out in query execution"]
    assert [h["instance"] for h in body["data"]] == ["web-1"]
    assert set(body["data"][0]["metrics"].values()) == {None}
    small = make_api(storage, Engine(storage, max_samples=10))
    small.error(422, "execution", "/api/v1/metrics/history", host="web-1", metric="memory.total")
    storage.close()


def test_closed_storage_is_unavailable(api: Api) -> None:
    api.storage.close()
    api.error(503, "unavailable", "/api/v1/metrics/current", host="web-1")


def test_values_are_numbers_or_null(api: Api) -> None:
    resp = api.get("/api/v1/metrics/current", host="web-2")
    assert b"NaN" not in resp.content
    assert b"Infinity" not in resp.content
    metrics = resp.json()["data"]["metrics"]
    for item in metrics.values():
        values = item.get("values", [item])
        for v in values:
            assert v["value"] is None or math.isfinite(v["value"])


PARAM_VALUES = st.one_of(
    st.text(max_size=30),
    st.sampled_from(
        ["web-1", "cpu.usage.total", "1h", "30d", "1e308", "-1", "NaN", "Inf", "0", "5m", "1y"]
    ),
)


@settings(max_examples=120, deadline=None)
@given(
    params=st.dictionaries(
        st.sampled_from(["host", "metric", "range", "start", "end", "step"]), PARAM_VALUES
    )
)
def test_history_never_fails_with_a_server_error(shared_api: Api, params: dict[str, str]) -> None:
    resp = shared_api.get("/api/v1/metrics/history", **params)
    assert resp.status_code in (200, 400, 404), resp.text
    assert resp.json()["status"] == ("success" if resp.status_code == 200 else "error")
