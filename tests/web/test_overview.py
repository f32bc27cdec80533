"""``GET /api/v1/overview``: the dashboard's fleet overview, in-process through httpx's ASGI
transport, over node_exporter-like series with constant rates written through the storage
API, and rule groups evaluated by the real engine. Expected values are worked out by hand."""

from __future__ import annotations

import asyncio
import itertools
import textwrap
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from multimonx.config import IngestSection
from multimonx.ingest import FleetRegistry
from multimonx.ingest.fleet import PushReport
from multimonx.model import Labels
from multimonx.promql.engine import Engine
from multimonx.rules import parse_rule_groups
from multimonx.rules.alerting import OutputSample
from multimonx.rules.group import GroupState
from multimonx.rules.query import engine_query
from multimonx.storage import MemoryStorage
from multimonx.web import create_app

NOW = 1_750_000_123.0
NOW_MS = int(NOW * 1000)
INTERVAL_MS = 15_000
HOUR_MS = 3_600_000
GIB = 1024.0**3

RULES = """
groups:
  - name: hosts
    interval: 15s
    rules:
      - alert: HostBusy
        expr: alarm > 0
        labels: {severity: critical}
      - alert: HostWarm
        expr: alarm > 0
        for: 10m
        labels: {severity: warning}
      - alert: FleetWide
        expr: vector(1)
        labels: {severity: warning}
"""


@dataclass(frozen=True)
class Host:
    """One host's data: CPU idle seconds per second per core, memory and root file system
    sizes in GiB, network bytes/s (None: no network series), and how far back it goes."""

    name: str
    idle: tuple[float, ...]
    memory: tuple[float, float]  # total, available
    disk: tuple[float, float]  # size, available
    net: tuple[float, float] | None  # rx, tx
    history_ms: int = 25 * HOUR_MS
    alarm: bool = False


HOSTS = (
    # cpu 100 * (1 - (0.6 + 0.9) / 2) = 25; memory 100 * (1 - 6/8) = 25; disk 65
    Host("web-1", (0.6, 0.9), (8, 6), (100, 35), (500.0, 250.0), alarm=True),
    # cpu 0; memory 75; disk 90; no network
    Host("web-2", (1.0,), (4, 1), (10, 1), None),
    # data for the last 30 minutes only, and never pushed: down
    Host("db-1", (0.5,), (2, 1), (10, 5), (100.0, 100.0), history_ms=30 * 60_000),
)


def write(storage: MemoryStorage, host: Host) -> None:
    app = storage.appender()
    times = range(NOW_MS - host.history_ms, NOW_MS + 1, INTERVAL_MS)
    t0 = times[0]

    def series(name: str, **labels: str) -> Labels:
        return Labels.of({**labels, "__name__": name, "instance": host.name, "job": "node"})

    def counter(labels: Labels, slope: float) -> None:
        for t in times:
            app.append(labels, t, 1000.0 + slope * (t - t0) / 1000)

    def gauge(labels: Labels, value: float) -> None:
        for t in times:
            app.append(labels, t, value)

    for core, idle in enumerate(host.idle):
        counter(series("node_cpu_seconds_total", cpu=str(core), mode="idle"), idle)
        counter(series("node_cpu_seconds_total", cpu=str(core), mode="user"), 1 - idle)
    gauge(series("node_memory_MemTotal_bytes"), host.memory[0] * GIB)
    gauge(series("node_memory_MemAvailable_bytes"), host.memory[1] * GIB)
    root = {"mountpoint": "/", "device": "/dev/vda1", "fstype": "ext4"}
    gauge(series("node_filesystem_size_bytes", **root), host.disk[0] * GIB)
    gauge(series("node_filesystem_avail_bytes", **root), host.disk[1] * GIB)
    tmp = {"mountpoint": "/run", "device": "tmpfs", "fstype": "tmpfs"}  # left out: 100 %
    gauge(series("node_filesystem_size_bytes", **tmp), GIB)
    gauge(series("node_filesystem_avail_bytes", **tmp), 0.0)
    if host.net is not None:
        counter(series("node_network_receive_bytes_total", device="eth0"), host.net[0])
        counter(series("node_network_transmit_bytes_total", device="eth0"), host.net[1])
        counter(series("node_network_receive_bytes_total", device="lo"), 1e6)
        counter(series("node_network_transmit_bytes_total", device="lo"), 1e6)
    gauge(series("alarm"), 1.0 if host.alarm else 0.0)
    app.commit()


@dataclass
class Api:
    app: Any

    def get(self, **params: str) -> httpx.Response:
        async def go() -> httpx.Response:
            transport = httpx.ASGITransport(app=self.app)
            async with httpx.AsyncClient(transport=transport, base_url="http://test") as c:
                return await c.get("/api/v1/overview", params=params)

        return asyncio.run(go())

    def body(self, **params: str) -> Any:
        resp = self.get(**params)
        assert resp.status_code == 200, resp.text
        body = resp.json()
        assert body["status"] == "success"
        return body


def make_api(
    storage: MemoryStorage, engine: Engine | None = None, clock: Callable[[], float] = lambda: NOW
) -> Api:
    engine_ = engine or Engine(storage)
    states = [
        GroupState(group, default_interval_ms=INTERVAL_MS)
        for group in parse_rule_groups(textwrap.dedent(RULES), "hosts.yml")
    ]

    def store(samples: Sequence[OutputSample]) -> None:
        batch = storage.appender()
        for sample in samples:
            batch.append(sample.labels, sample.t_ms, sample.value)
        batch.commit()

    query = engine_query(Engine(storage))
    for t in (NOW_MS - INTERVAL_MS, NOW_MS):
        states[0].eval(t, query, store)
    fleet = FleetRegistry(clock=clock)
    fleet.seed(storage)
    for name in ("web-1", "web-2"):
        fleet.record_push(PushReport(name, "node", "agent", "0.1.0", 15.0, NOW_MS, 0, 0, 0))
    app = create_app(
        storage=storage,
        keys=None,
        fleet=fleet,
        ingest_config=IngestSection(require_api_key=False),
        engine=engine_,
        rule_groups=lambda: [s.status() for s in states],
        dashboard_dir=None,
        clock=clock,
    )
    return Api(app)


@pytest.fixture(scope="module")
def storage() -> Iterator[MemoryStorage]:
    s = MemoryStorage()
    for host in HOSTS:
        write(s, host)
    yield s
    s.close()


@pytest.fixture(scope="module")
def api(storage: MemoryStorage) -> Api:
    return make_api(storage)


def by_instance(data: Any) -> dict[str, Any]:
    return {h["instance"]: h for h in data["hosts"]}


def test_lists_every_host_sorted_with_status_and_totals(api: Api) -> None:
    data = api.body()["data"]
    assert [h["instance"] for h in data["hosts"]] == ["db-1", "web-1", "web-2"]
    hosts = by_instance(data)
    assert {name: h["status"] for name, h in hosts.items()} == {
        "db-1": "down",
        "web-1": "up",
        "web-2": "up",
    }
    assert all(h["job"] == "node" for h in data["hosts"])
    # FleetWide has no instance label: it counts in the totals only
    assert data["totals"] == {
        "hosts": 3,
        "up": 2,
        "down": 1,
        "alerting": 1,
        "firing": 2,
        "pending": 1,
    }


def test_counts_each_hosts_active_alerts_by_state_and_severity(api: Api) -> None:
    hosts = by_instance(api.body()["data"])
    # HostBusy fires at once (critical), HostWarm waits 10 min (pending, not counted as warning)
    assert hosts["web-1"]["alerts"] == {"firing": 1, "pending": 1, "critical": 1, "warning": 0}
    for name in ("web-2", "db-1"):
        assert hosts[name]["alerts"] == {"firing": 0, "pending": 0, "critical": 0, "warning": 0}


@pytest.mark.parametrize(
    ("instance", "current"),
    [
        ("web-1", {"cpu": 25.0, "memory": 25.0, "disk": 65.0, "net_rx": 500.0, "net_tx": 250.0}),
        ("web-2", {"cpu": 0.0, "memory": 75.0, "disk": 90.0, "net_rx": None, "net_tx": None}),
        ("db-1", {"cpu": 50.0, "memory": 50.0, "disk": 50.0, "net_rx": 100.0, "net_tx": 100.0}),
    ],
)
def test_current_values_per_host(api: Api, instance: str, current: dict[str, Any]) -> None:
    host = by_instance(api.body()["data"])[instance]
    assert host["current"] == pytest.approx(current)


@pytest.mark.parametrize(("range_name", "step"), [("1h", 120), ("6h", 720), ("24h", 2880)])
def test_sparklines_share_thirty_aligned_timestamps(api: Api, range_name: str, step: int) -> None:
    data = api.body(range=range_name)["data"]
    assert data["range"] == range_name
    assert data["step"] == step
    assert data["time"] == NOW
    stamps = data["timestamps"]
    assert len(stamps) == 30
    assert stamps[-1] % step == 0
    assert NOW - step < stamps[-1] <= NOW
    assert [b - a for a, b in itertools.pairwise(stamps)] == [step] * 29
    for host in data["hosts"]:
        assert {len(points) for points in host["spark"].values()} == {30}, host["instance"]


@pytest.mark.parametrize("range_name", ["1h", "6h", "24h"])
def test_sparkline_values_follow_the_rates(api: Api, range_name: str) -> None:
    spark = by_instance(api.body(range=range_name)["data"])["web-1"]["spark"]
    assert spark["cpu"] == pytest.approx([25.0] * 30)
    assert spark["memory"] == pytest.approx([25.0] * 30)
    assert spark["net"] == pytest.approx([750.0] * 30)  # rx + tx, lo left out


def test_sparkline_points_before_a_hosts_data_are_null(api: Api) -> None:
    data = api.body(range="1h")["data"]
    hosts = by_instance(data)
    db = hosts["db-1"]["spark"]
    first = NOW - 30 * 60  # db-1's first sample
    for stamp, cpu, net in zip(data["timestamps"], db["cpu"], db["net"], strict=True):
        if stamp < first:
            assert cpu is None
            assert net is None
        elif stamp >= first + 2 * data["step"]:  # a whole rate window of data
            assert cpu == pytest.approx(50.0)
            assert net == pytest.approx(200.0)
    assert hosts["web-2"]["spark"]["net"] == [None] * 30


@pytest.mark.parametrize("range_name", ["7d", "1H", "", "3600"])
def test_an_unknown_range_is_bad_data(api: Api, range_name: str) -> None:
    resp = api.get(range=range_name)
    assert resp.status_code == 400
    body = resp.json()
    assert body["errorType"] == "bad_data"
    assert "1h, 6h, 24h" in body["error"]


def test_a_failed_evaluation_still_lists_the_hosts_with_a_warning(
    storage: MemoryStorage,
) -> None:
    api = make_api(storage, Engine(storage, max_samples=10))
    body = api.body()
    assert body["warnings"]
    assert "values unavailable" in body["warnings"][0]
    hosts = by_instance(body["data"])
    assert set(hosts) == {"db-1", "web-1", "web-2"}
    assert hosts["web-1"]["current"] == dict.fromkeys(("cpu", "memory", "disk", "net_rx", "net_tx"))
    assert hosts["web-1"]["spark"]["cpu"] == [None] * 30
    assert hosts["web-1"]["alerts"]["firing"] == 1


def test_an_empty_fleet_answers_empty_lists() -> None:
    storage = MemoryStorage()
    try:
        app = create_app(
            storage=storage,
            keys=None,
            fleet=FleetRegistry(),
            ingest_config=IngestSection(require_api_key=False),
            dashboard_dir=None,
            clock=lambda: NOW,
        )
        data = Api(app).body()["data"]
    finally:
        storage.close()
    assert data["hosts"] == []
    assert data["totals"] == {
        "hosts": 0,
        "up": 0,
        "down": 0,
        "alerting": 0,
        "firing": 0,
        "pending": 0,
    }


def newest_point(api: Api) -> tuple[float, dict[str, Any]]:
    data = api.body()["data"]
    return data["timestamps"][-1], data["hosts"][0]


def test_sparklines_are_reused_then_recomputed_in_the_background() -> None:
    """Network series appear (over the whole past) after the first request: the current
    values show them once the kept ones are more than 10 s old; the sparklines are reused
    within the step, answered one step late while their successor is computed, and computed
    at once when far behind."""
    storage = MemoryStorage()
    now = [NOW]
    try:
        write(storage, Host("web-1", (0.6, 0.9), (8, 6), (100, 35), None))
        api = make_api(storage, clock=lambda: now[0])
        end0, first = newest_point(api)
        app = storage.appender()
        for name, slope in (("receive", 500.0), ("transmit", 250.0)):
            labels = Labels.of(
                __name__=f"node_network_{name}_bytes_total",
                device="eth0",
                instance="web-1",
                job="node",
            )
            for t in range(NOW_MS - 2 * HOUR_MS, NOW_MS + 2 * HOUR_MS, INTERVAL_MS):
                app.append(labels, t, slope * t / 1000)
        app.commit()
        now[0] = NOW + 10  # the same step: the same window; current values 10 s old, kept
        kept_time, kept = time_and_first_host(api)
        now[0] = NOW + 11  # current values 11 s old: evaluated again
        same_time, same = time_and_first_host(api)
        same_end = api.body()["data"]["timestamps"][-1]
        now[0] = NOW + 120  # the grid moved on by a step: the previous window, for now
        late_end, late = newest_point(api)
        moved = wait_for_window(api, end0 + 120)
        now[0] = NOW + 1200  # ten steps on: computed before answering
        far_end, far = newest_point(api)
    finally:
        storage.close()
    assert NOW % 120 < 120 - 11, "the test needs NOW + 11 s in NOW's step"
    assert first["spark"]["net"] == [None] * 30
    assert first["current"]["net_rx"] is None
    assert (kept_time, kept["current"]["net_rx"]) == (NOW, None)
    assert same_time == NOW + 11
    assert (same_end, late_end) == (end0, end0)
    assert same["current"]["net_rx"] == pytest.approx(500.0)
    assert late["current"]["net_rx"] == pytest.approx(500.0)
    assert same["spark"]["net"] == late["spark"]["net"] == [None] * 30
    assert moved["spark"]["net"][-1] == pytest.approx(750.0)
    assert far_end == end0 + 1200
    assert far["spark"]["net"] == pytest.approx([750.0] * 30)


def time_and_first_host(api: Api) -> tuple[float, dict[str, Any]]:
    """The time the current values are for, and the first host."""
    data = api.body()["data"]
    return data["current_time"], data["hosts"][0]


def wait_for_window(api: Api, end: float) -> dict[str, Any]:
    """The first host once the answer's window ends at ``end`` (computed in the background),
    within a generous deadline."""
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        newest, host = newest_point(api)
        if newest == end:
            return host
        time.sleep(0.01)
    pytest.fail(f"the sparklines never moved on to {end}")


@pytest.mark.parametrize(("accept", "encoding"), [("gzip, deflate", "gzip"), ("identity", None)])
def test_the_answer_is_gzipped_for_clients_that_accept_it(
    api: Api, accept: str, encoding: str | None
) -> None:
    async def go() -> httpx.Response:
        transport = httpx.ASGITransport(app=api.app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as c:
            return await c.get("/api/v1/overview", headers={"Accept-Encoding": accept})

    resp = asyncio.run(go())
    assert resp.status_code == 200
    assert resp.headers.get("content-encoding") == encoding
    assert resp.headers["vary"] == "Accept-Encoding"
    assert resp.json()["data"]["totals"]["hosts"] == 3


def counted(latest: Any) -> list[int]:
    """Count the computations of an ``Overview`` value (``_Latest``): the times asked for."""
    calls: list[int] = []
    compute = latest.compute

    def spy(at_ms: int) -> Any:
        calls.append(at_ms)
        return compute(at_ms)

    latest.compute = spy
    return calls


def wait_until(condition: Callable[[], bool], what: str) -> None:
    deadline = time.monotonic() + 30
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"never: {what}")
        time.sleep(0.01)


def test_warm_computes_the_default_range_and_current_values_before_any_request(
    storage: MemoryStorage,
) -> None:
    now = [NOW]
    overview = make_api(storage, clock=lambda: now[0]).app.state.overview
    computed = {name: counted(latest) for name, latest in overview.windows.items()}
    currents = counted(overview.current)
    overview.warm()
    wait_until(lambda: overview.windows["1h"].kept() is not None, "the 1h window kept")
    wait_until(lambda: overview.current.kept() is not None, "the current values kept")
    assert computed == {"1h": [NOW_MS - NOW_MS % 120_000], "6h": [], "24h": []}
    assert currents == [NOW_MS]
    overview.warm()  # nothing is due: nothing computed
    now[0] = NOW + 4
    overview.warm()
    assert (len(computed["1h"]), len(currents)) == (1, 1)
    now[0] = NOW + 5  # the current values are 5 s old: computed again
    overview.warm()
    wait_until(lambda: overview.current.kept().at_ms == NOW_MS + 5000, "new current values")
    assert (len(computed["1h"]), currents) == (1, [NOW_MS, NOW_MS + 5000])


def test_warm_keeps_a_range_computed_for_an_hour_after_its_last_request(
    storage: MemoryStorage,
) -> None:
    now = [NOW]
    api = make_api(storage, clock=lambda: now[0])
    overview = api.app.state.overview
    api.body(range="24h")
    day = counted(overview.windows["24h"])
    currents = counted(overview.current)
    now[0] = NOW + 2880  # the 24 h grid (48 min steps) moved on: warmed
    overview.warm()
    wait_until(lambda: len(day) == 1 and overview.windows["24h"].running is None, "24h warmed")
    wait_until(lambda: overview.current.running is None, "the current values computed")
    now[0] = NOW + 3600 + 2 * 2880  # over an hour since any request: neither is computed
    overview.warm()
    assert len(day) == 1
    assert overview.windows["1h"].running is not None or overview.windows["1h"].kept()
    wait_until(lambda: overview.windows["1h"].running is None, "the 1h window computed")
    assert len(currents) == 1  # the one at NOW + 2880, while watched


def test_concurrent_requests_share_one_computation(storage: MemoryStorage) -> None:
    api = make_api(storage)
    overview = api.app.state.overview
    windows = counted(overview.windows["6h"])
    currents = counted(overview.current)

    async def both() -> list[httpx.Response]:
        transport = httpx.ASGITransport(app=api.app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as c:
            return list(
                await asyncio.gather(
                    *(c.get("/api/v1/overview", params={"range": "6h"}) for _ in range(4))
                )
            )

    answers = asyncio.run(both())
    assert [r.status_code for r in answers] == [200] * 4
    assert len({r.content for r in answers}) == 1
    assert (len(windows), len(currents)) == (1, 1)
