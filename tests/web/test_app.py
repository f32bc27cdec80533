"""The HTTP app, talked to in-process through httpx's ASGI transport (no mocks)."""

from __future__ import annotations

import asyncio
import gzip
import logging
import math
import struct
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest

from multimonx.config import IngestSection
from multimonx.ingest import FleetRegistry
from multimonx.model import (
    COLLECT_PATH,
    STALE_NAN,
    Labels,
    Matcher,
    MetricFamily,
    MetricType,
    encode_push,
    encode_round,
)
from multimonx.storage import (
    MAX_TIME_MS,
    MIN_TIME_MS,
    Journal,
    JournalSync,
    MemoryStorage,
    SqliteKeyStore,
    Storage,
)
from multimonx.storage.tsdb import TSDB, TSDBOptions
from multimonx.storage.tsdb.selfmetrics import tsdb_families
from multimonx.web import create_app

NOW = 1_750_000_000.0
T0 = int(NOW * 1000) - 60_000


class Clock:
    """A settable clock (Unix seconds)."""

    def __init__(self, now: float = NOW) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


class Client:
    """A synchronous wrapper over httpx.AsyncClient + ASGITransport."""

    def __init__(self, app: Any) -> None:
        self.app = app

    def request(self, method: str, url: str, **kwargs: Any) -> httpx.Response:
        async def go() -> httpx.Response:
            transport = httpx.ASGITransport(app=self.app)
            async with httpx.AsyncClient(transport=transport, base_url="http://test") as c:
                return await c.request(method, url, **kwargs)

        return asyncio.run(go())

    def get(self, url: str, **kwargs: Any) -> httpx.Response:
        return self.request("GET", url, **kwargs)

    def post(self, url: str, **kwargs: Any) -> httpx.Response:
        return self.request("POST", url, **kwargs)


@dataclass
class Server:
    storage: Storage
    keys: SqliteKeyStore
    fleet: FleetRegistry
    clock: Clock
    client: Client
    token: str
    key_id: str
    tmp: Path

    def push(
        self,
        body: bytes,
        token: str | None = None,
        gz: bool = True,
        headers: dict[str, str] | None = None,
    ) -> httpx.Response:
        h = {"Content-Type": "application/json"}
        if gz:
            h["Content-Encoding"] = "gzip"
            body = gzip.compress(body)
        h["Authorization"] = f"Bearer {token or self.token}"
        h.update(headers or {})
        return self.client.post(COLLECT_PATH, content=body, headers=h)

    def stored(self) -> dict[Labels, list[tuple[int, float]]]:
        with self.storage.querier(MIN_TIME_MS, MAX_TIME_MS) as q:
            return {
                s.labels: list(zip(s.timestamps.tolist(), s.values.tolist(), strict=True))
                for s in q.select([Matcher.of("__name__", "=~", ".+")])
            }


def build(tmp: Path, limits: IngestSection, clock: Clock) -> Server:
    storage = MemoryStorage(Journal(tmp / "journal.db"))
    keys = SqliteKeyStore(tmp / "keys.db", clock=clock)
    fleet = FleetRegistry(down_after_intervals=limits.down_after_intervals, clock=clock)
    fleet.seed(storage)
    key_id, token = keys.create("agent-web-1")
    app = create_app(storage=storage, keys=keys, fleet=fleet, ingest_config=limits, clock=clock)
    return Server(storage, keys, fleet, clock, Client(app), token, key_id, tmp)


@pytest.fixture
def server(tmp_path: Path) -> Iterator[Server]:
    s = build(tmp_path, IngestSection(max_body_bytes=256 * 1024), Clock())
    yield s
    s.storage.close()
    s.keys.close()


def agent_info(**over: Any) -> dict[str, Any]:
    info: dict[str, Any] = {
        "instance": "web-1",
        "version": "0.1.0",
        "interval_seconds": 5.0,
        "spool_bytes": 10,
        "dropped_samples": 2,
        "push_errors": 1,
    }
    info.update(over)
    return info


def good_body(t: int = T0, instance: str = "web-1", value: float = 1.5) -> bytes:
    families = [
        MetricFamily.counter(
            "node_cpu_seconds_total",
            "cpu",
            ("cpu", "mode"),
            [(("0", "user"), 10.0), (("0", "idle"), value)],
        ),
        MetricFamily.gauge("node_load1", "load", (), [((), STALE_NAN)]),
    ]
    rnd = encode_round(t, {"instance": instance, "job": "node"}, families)
    return encode_push(agent_info(instance=instance), [rnd])


def envelope(resp: httpx.Response) -> dict[str, Any]:
    assert resp.headers["content-type"].startswith("application/json")
    body: dict[str, Any] = resp.json()
    return body


def test_push_is_stored_and_acknowledged(server: Server) -> None:
    resp = server.push(good_body())
    assert resp.status_code == 200
    assert envelope(resp) == {
        "status": "success",
        "data": {"samples": 3, "duplicates": 0, "conflicts": 0},
    }
    stored = server.stored()
    cpu = Labels.of(
        __name__="node_cpu_seconds_total", cpu="0", mode="idle", instance="web-1", job="node"
    )
    assert stored[cpu] == [(T0, 1.5)]
    load = Labels.of(__name__="node_load1", instance="web-1", job="node")
    assert struct.pack("<d", stored[load][0][1]) == struct.pack("<d", STALE_NAN)


def test_identity_encoding_is_accepted(server: Server) -> None:
    assert server.push(good_body(), gz=False).status_code == 200


def test_replayed_push_is_idempotent(server: Server) -> None:
    server.push(good_body())
    resp = server.push(good_body())
    assert envelope(resp)["data"] == {"samples": 0, "duplicates": 3, "conflicts": 0}
    resp = server.push(good_body(value=9.0))
    assert envelope(resp)["data"] == {"samples": 0, "duplicates": 2, "conflicts": 1}
    assert server.storage.stats().samples == 3


def test_acknowledged_data_survives_a_restart(server: Server) -> None:
    for i in range(5):
        assert server.push(good_body(t=T0 + i * 5000)).status_code == 200
    before = server.stored()
    server.storage.close()
    server.keys.close()
    again = build(server.tmp, IngestSection(), Clock(NOW + 60))
    assert again.stored().keys() == before.keys()
    assert sum(map(len, again.stored().values())) == 15
    hosts = envelope(again.client.get("/api/v1/servers"))["data"]
    assert [(h["instance"], h["status"], h["newest_sample_unix"]) for h in hosts] == [
        ("web-1", "down", (T0 + 20_000) / 1000)
    ]
    again.storage.close()
    again.keys.close()


@pytest.mark.parametrize(
    ("auth", "status"),
    [
        (None, 401),
        ("Basic dXNlcjpwdw==", 401),
        ("Bearer ", 401),
        ("Bearer mmx_000000000000_" + "x" * 43, 401),
        ("Bearer not-a-token", 401),
        ("bearer {token}", 200),
    ],
)
def test_api_key_is_required(server: Server, auth: str | None, status: int) -> None:
    headers = {"Content-Encoding": "gzip"}
    if auth is not None:
        headers["Authorization"] = auth.format(token=server.token)
    resp = server.client.post(COLLECT_PATH, content=gzip.compress(good_body()), headers=headers)
    assert resp.status_code == status
    if status == 401:
        assert resp.headers["www-authenticate"].startswith("Bearer")
        assert envelope(resp)["errorType"] == "unauthorized"
        assert server.stored() == {}


def test_wrong_secret_for_a_real_key_id_is_refused(server: Server) -> None:
    forged = server.token[:-4] + ("AAAA" if not server.token.endswith("AAAA") else "BBBB")
    assert server.push(good_body(), token=forged).status_code == 401


def test_revoked_key_is_forbidden(server: Server) -> None:
    server.keys.revoke(server.key_id)
    resp = server.push(good_body())
    assert resp.status_code == 403
    assert envelope(resp)["errorType"] == "forbidden"
    assert server.stored() == {}


def test_key_is_optional_when_not_required(tmp_path: Path) -> None:
    s = build(tmp_path, IngestSection(require_api_key=False), Clock())
    resp = s.client.post(COLLECT_PATH, content=good_body())
    assert resp.status_code == 200
    s.storage.close()
    s.keys.close()


def raw(doc: Any) -> bytes:
    return orjson.dumps(doc)


def round_doc(**over: Any) -> dict[str, Any]:
    doc: dict[str, Any] = {
        "timestamp": T0,
        "labels": {"instance": "web-1", "job": "node"},
        "families": [
            {
                "name": "m",
                "type": "gauge",
                "help": "",
                "label_names": ["a"],
                "samples": [[["x"], 1.0]],
            }
        ],
    }
    doc.update(over)
    return doc


def push_doc(*rounds: dict[str, Any], **over: Any) -> dict[str, Any]:
    doc: dict[str, Any] = {"version": 1, "agent": agent_info(), "rounds": list(rounds)}
    doc.update(over)
    return doc


def family(**over: Any) -> dict[str, Any]:
    fam: dict[str, Any] = {
        "name": "m",
        "type": "gauge",
        "help": "",
        "label_names": ["a"],
        "samples": [[["x"], 1.0]],
    }
    fam.update(over)
    return fam


BAD_BODIES: list[tuple[str, bytes, str]] = [
    ("not-json", b"{nope", "invalid JSON"),
    ("empty", b"", "invalid JSON"),
    ("array", b"[]", "must be a JSON object"),
    ("nul-bytes-json", b"\x00\x00", "invalid JSON"),
    ("wrong-version", raw(push_doc(version=2)), "version"),
    ("bool-version", raw(push_doc(version=True)), "version"),
    ("rounds-not-list", raw(push_doc(rounds={})), "rounds: must be a list"),
    ("round-not-object", raw(push_doc(rounds=[1])), "rounds[0]: must be an object"),
    ("ts-string", raw(push_doc(round_doc(timestamp="1"))), "rounds[0].timestamp"),
    ("ts-float", raw(push_doc(round_doc(timestamp=1.5))), "rounds[0].timestamp"),
    ("ts-negative", raw(push_doc(round_doc(timestamp=-1))), "outside the accepted range"),
    ("ts-far-future", raw(push_doc(round_doc(timestamp=T0 + 10**12))), "outside"),
    ("ts-huge", b'{"version":1,"rounds":[{"timestamp":1e400}]}', ""),
    ("labels-not-object", raw(push_doc(round_doc(labels=[]))), "rounds[0].labels"),
    ("label-value-int", raw(push_doc(round_doc(labels={"job": 1}))), "must be a string"),
    ("label-name-bad", raw(push_doc(round_doc(labels={"1x": "a"}))), "invalid label name"),
    ("label-name-reserved", raw(push_doc(round_doc(labels={"__x": "a"}))), "reserved"),
    ("label-nul", raw(push_doc(round_doc(labels={"job": "a\x00b"}))), "NUL"),
    ("label-too-long", raw(push_doc(round_doc(labels={"job": "x" * 5000}))), "limit 4096"),
    (
        "metric-name-bad",
        raw(push_doc(round_doc(families=[family(name="a-b")]))),
        "rounds[0].families[0]: invalid metric name 'a-b'",
    ),
    (
        "metric-name-missing",
        raw(push_doc(round_doc(families=[family(name=None)]))),
        "invalid metric name",
    ),
    (
        "type-unknown",
        raw(push_doc(round_doc(families=[family(type="histogram2")]))),
        "unknown metric type",
    ),
    (
        "dup-label-names",
        raw(push_doc(round_doc(families=[family(label_names=["a", "a"])]))),
        "duplicate label names",
    ),
    (
        "round-vs-sample-labels",
        raw(push_doc(round_doc(families=[family(label_names=["job"], samples=[[["x"], 1]])]))),
        "set by both",
    ),
    (
        "value-count",
        raw(
            push_doc(
                round_doc(),
                round_doc(
                    families=[
                        family(),
                        family(
                            name="n", label_names=["a", "b"], samples=[[["1", "2"], 1], [["1"], 2]]
                        ),
                    ]
                ),
            )
        ),
        "rounds[1].families[1] 'n' samples[1]: label value count 1 != 2 label names",
    ),
    (
        "value-string",
        raw(push_doc(round_doc(families=[family(samples=[[["x"], "1.0"]])]))),
        "is not a number",
    ),
    (
        "value-null",
        raw(push_doc(round_doc(families=[family(samples=[[["x"], None]])]))),
        "samples[0]: value None",
    ),
    (
        "value-bool",
        raw(push_doc(round_doc(families=[family(samples=[[["x"], True]])]))),
        "is not a number",
    ),
    (
        "value-lowercase-inf",
        raw(push_doc(round_doc(families=[family(samples=[[["x"], "inf"]])]))),
        "is not a number",
    ),
    (
        "sample-shape",
        raw(push_doc(round_doc(families=[family(samples=[["x", 1.0]])]))),
        "must be [[label values...], value]",
    ),
    (
        "sample-label-value-int",
        raw(push_doc(round_doc(families=[family(samples=[[[1], 1.0]])]))),
        "must be a string",
    ),
    (
        "huge-float-value",
        b'{"version":1,"rounds":[{"timestamp":%d,"families":[{"name":"m",'
        b'"samples":[[[],1e999]]}]}]}' % T0,
        "",
    ),
    (
        "too-many-labels",
        raw(
            push_doc(
                round_doc(
                    families=[
                        family(label_names=[f"l{i}" for i in range(70)], samples=[[["v"] * 70, 1]])
                    ]
                )
            )
        ),
        "labels per series",
    ),
    ("agent-not-object", raw(push_doc(agent="x")), "agent: must be an object"),
    ("agent-negative", raw(push_doc(agent=agent_info(spool_bytes=-1))), "agent.spool_bytes"),
    ("agent-interval", raw(push_doc(agent=agent_info(interval_seconds=0))), "interval"),
]


@pytest.mark.parametrize(
    ("body", "message"), [(b, m) for _, b, m in BAD_BODIES], ids=[i for i, _, _ in BAD_BODIES]
)
def test_bad_data_is_refused_whole_with_the_location(
    server: Server, body: bytes, message: str
) -> None:
    resp = server.push(body)
    assert resp.status_code == 400, resp.text
    doc = envelope(resp)
    assert doc["status"] == "error"
    assert doc["errorType"] == "bad_data"
    assert message in doc["error"]
    assert server.stored() == {}
    assert server.fleet.hosts() == []


def test_valid_rounds_before_a_bad_one_are_not_stored(server: Server) -> None:
    good = [round_doc(timestamp=T0 + i) for i in range(50)]
    bad = round_doc(families=[family(samples=[[["x"], 1.0], [["y"], "oops"]])])
    resp = server.push(raw(push_doc(*good, bad)))
    assert resp.status_code == 400
    assert "rounds[50].families[0] 'm' samples[1]" in envelope(resp)["error"]
    assert server.stored() == {}
    assert server.storage.stats().samples == 0


def test_location_names_round_family_and_sample(server: Server) -> None:
    body = raw(
        push_doc(
            round_doc(),
            round_doc(),
            round_doc(),
            round_doc(
                families=[
                    family(),
                    family(),
                    family(
                        name="node_cpu_seconds_total",
                        label_names=["cpu", "mode"],
                        samples=[[["0", "user"], 1]] * 5 + [[["0"], 1]],
                    ),
                ]
            ),
        )
    )
    resp = server.push(body)
    assert envelope(resp)["error"] == (
        "rounds[3].families[2] 'node_cpu_seconds_total' samples[5]: "
        "label value count 1 != 2 label names"
    )


@pytest.mark.parametrize(
    "value", ["<script>alert(1)</script>", "a\nb", 'q"uote', "\\", "ünï✓", "\u2028", ""]
)
def test_hostile_label_values_are_stored_verbatim(server: Server, value: str) -> None:
    body = raw(push_doc(round_doc(families=[family(samples=[[[value], 2.0]])])))
    assert server.push(body).status_code == 200
    (labels,) = server.stored()
    assert labels.get("a", "") == value
    metrics = server.client.get("/metrics")
    assert metrics.status_code == 200


@pytest.mark.parametrize(
    ("encoding", "status"), [("br", 415), ("deflate", 415), ("gzip, br", 415), ("identity", 200)]
)
def test_content_encoding(server: Server, encoding: str, status: int) -> None:
    resp = server.push(good_body(), gz=False, headers={"Content-Encoding": encoding})
    assert resp.status_code == status
    if status == 415:
        assert envelope(resp)["errorType"] == "unsupported_media_type"


def test_corrupt_gzip_is_bad_data(server: Server) -> None:
    body = gzip.compress(good_body())
    for broken in (body[:-10], b"\x1f\x8b" + b"junk" * 10, body + b"trailing"):
        resp = server.push(broken, gz=False, headers={"Content-Encoding": "gzip"})
        assert resp.status_code == 400, broken
    assert server.stored() == {}


def test_gzip_bomb_is_refused_early(server: Server) -> None:
    bomb = gzip.compress(b" " * (50 * 2**20))  # 50 MiB of spaces, ~50 KiB compressed
    assert len(bomb) < 256 * 1024
    resp = server.push(bomb, gz=False, headers={"Content-Encoding": "gzip"})
    assert resp.status_code == 413
    assert envelope(resp)["errorType"] == "too_large"


def test_oversized_raw_body_is_refused(server: Server) -> None:
    resp = server.push(b"x" * (300 * 1024), gz=False)
    assert resp.status_code == 413


def test_too_many_series_is_refused(tmp_path: Path) -> None:
    s = build(tmp_path, IngestSection(max_series_per_request=2), Clock())
    resp = s.push(good_body())
    assert resp.status_code == 413
    assert s.stored() == {}
    s.storage.close()
    s.keys.close()


def test_storage_failure_is_503_with_retry_after(tmp_path: Path) -> None:
    storage = MemoryStorage(Journal(tmp_path / "j.db", max_bytes=48 * 1024))
    keys = SqliteKeyStore(tmp_path / "k.db")
    fleet = FleetRegistry()
    _, token = keys.create("a")
    client = Client(
        create_app(storage=storage, keys=keys, fleet=fleet, ingest_config=IngestSection())
    )
    headers = {"Authorization": f"Bearer {token}"}
    statuses = []
    for i in range(200):
        fams = [
            MetricFamily.gauge(
                "m", "", ("i",), [((str(j),), float(i * 1000 + j) ** 0.5) for j in range(100)]
            )
        ]
        body = encode_push(agent_info(), [encode_round(T0 + i, {"instance": "x"}, fams)])
        resp = client.post(COLLECT_PATH, content=body, headers=headers)
        statuses.append(resp.status_code)
        if resp.status_code != 200:
            break
    assert statuses[-1] == 503
    assert resp.headers["retry-after"].isdigit()
    assert envelope(resp)["errorType"] == "unavailable"
    assert storage.stats().samples == 100 * (len(statuses) - 1)
    storage.close()
    keys.close()


def test_health(server: Server) -> None:
    server.push(good_body())
    server.clock.now += 12.5
    doc = envelope(server.client.get("/api/v1/health"))
    assert doc["status"] == "success"
    data = doc["data"]
    assert data["status"] == "ok"
    assert data["series"] == 3
    assert data["samples"] == 3
    assert data["uptime_seconds"] == pytest.approx(12.5)
    assert isinstance(data["version"], str)


def test_health_is_503_when_storage_is_closed(server: Server) -> None:
    server.storage.close()
    resp = server.client.get("/api/v1/health")
    assert resp.status_code == 503
    assert envelope(resp)["errorType"] == "unavailable"


def test_servers_lists_hosts_with_status(server: Server) -> None:
    server.push(good_body(instance="web-2"))
    server.push(good_body(instance="web-1", t=T0 + 5000))
    doc = envelope(server.client.get("/api/v1/servers"))
    hosts = doc["data"]
    assert [h["instance"] for h in hosts] == ["web-1", "web-2"]
    web1 = hosts[0]
    assert web1 == {
        "instance": "web-1",
        "job": "node",
        "status": "up",
        "agent": "agent-web-1",
        "agent_version": "0.1.0",
        "interval_seconds": 5.0,
        "last_push": "2025-06-15T15:06:40.000Z",
        "last_push_unix": NOW,
        "newest_sample": web1["newest_sample"],
        "newest_sample_unix": (T0 + 5000) / 1000,
        "spool_bytes": 10,
        "dropped_samples": 2,
        "push_errors": 1,
        "metrics": {  # one CPU sample, no memory or disk: no values yet (tests/web/test_friendly)
            "cpu.usage.total": None,
            "memory.usage.percent": None,
            "disk.usage.percent": None,
        },
    }
    assert web1["newest_sample"].endswith("Z")
    server.clock.now += 15.1  # 3 intervals of 5 s
    hosts = envelope(server.client.get("/api/v1/servers"))["data"]
    assert {h["status"] for h in hosts} == {"down"}


def test_own_metrics(server: Server) -> None:
    server.push(good_body())
    server.push(good_body())
    server.push(b"{", gz=False)
    resp = server.client.get("/metrics")
    assert resp.status_code == 200
    assert resp.headers["content-type"].startswith("text/plain; version=0.0.4")
    text = resp.text
    assert 'multimonx_ingest_samples_total{outcome="appended"} 3' in text
    assert 'multimonx_ingest_samples_total{outcome="duplicate"} 3' in text
    assert 'multimonx_ingest_rejected_requests_total{reason="bad_data"} 1' in text
    assert (
        'multimonx_http_requests_total{method="POST",handler="/api/v1/metrics/collect",'
        'code="200"} 2'
    ) in text
    assert "multimonx_storage_series 3" in text


def test_own_metrics_parse_with_prometheus_client(server: Server) -> None:
    from prometheus_client.parser import text_string_to_metric_families

    server.push(good_body())
    names = {f.name for f in text_string_to_metric_families(server.client.get("/metrics").text)}
    assert "multimonx_ingest_samples" in names


@pytest.mark.parametrize(
    ("method", "path", "status"),
    [
        ("GET", COLLECT_PATH, 405),
        ("GET", "/nope", 404),
        ("POST", "/api/v1/health", 405),
    ],
)
def test_unknown_routes_and_methods(server: Server, method: str, path: str, status: int) -> None:
    resp = server.client.request(method, path)
    assert resp.status_code == status
    assert envelope(resp)["status"] == "error"


def test_logs_carry_no_tokens_or_bodies(server: Server, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.DEBUG):
        server.push(good_body())
        server.push(b'{"secret-body": 1}', gz=False)
    assert f"POST {COLLECT_PATH} 200" in caplog.text
    assert server.token not in caplog.text
    assert server.token.split("_", 2)[2] not in caplog.text  # the secret (may hold "_")
    assert "secret-body" not in caplog.text


def test_special_values_travel_end_to_end(server: Server) -> None:
    fam = MetricFamily.gauge(
        "m",
        "",
        ("k",),
        [
            (("nan",), math.nan),
            (("inf",), math.inf),
            (("ninf",), -math.inf),
            (("negzero",), -0.0),
            (("big",), 1.7976931348623157e308),
        ],
    )
    body = encode_push(agent_info(), [encode_round(T0, {"instance": "x"}, [fam])])
    assert server.push(body).status_code == 200
    got = {lb["k"]: v for lb, ((_, v),) in server.stored().items()}
    assert math.isnan(got["nan"])
    assert got["inf"] == math.inf
    assert got["ninf"] == -math.inf
    assert math.copysign(1, got["negzero"]) == -1
    assert got["big"] == 1.7976931348623157e308


def test_huge_integer_values_are_stored_as_floats(server: Server) -> None:
    body = (
        b'{"version":1,"rounds":[{"timestamp":%d,"labels":{"instance":"x"},"families":'
        b'[{"name":"m","samples":[[[],123456789012345678901234567890]]}]}]}' % T0
    )
    resp = server.push(body)
    assert resp.status_code == 200, resp.text
    ((_, v),) = next(iter(server.stored().values()))
    assert v == pytest.approx(1.2345678901234568e29)


def test_metrics_include_the_storage_engines_own_families() -> None:
    family = MetricFamily.single("multimonx_tsdb_series", MetricType.GAUGE, "Series.", 7)
    app = create_app(
        storage=MemoryStorage(),
        keys=None,
        fleet=FleetRegistry(),
        ingest_config=IngestSection(require_api_key=False),
        storage_metrics=lambda: [family],
    )
    transport = httpx.ASGITransport(app=app)

    async def fetch() -> str:
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
            return (await client.get("/metrics")).text

    assert "multimonx_tsdb_series 7" in asyncio.run(fetch())


def test_metrics_render_the_engines_tier_usage_and_durations(tmp_path: Path) -> None:
    options = TSDBOptions(chunk_range_ms=10_000, flush_delay_ms=0, log_sync=JournalSync.NORMAL)
    db = TSDB.open(tmp_path, options=options)
    try:
        appender = db.appender()
        for t in range(0, 30_000, 1_000):
            appender.append(Labels.of(__name__="m"), t, float(t))
        appender.commit()
        db.flush(30_000)
        app = create_app(
            storage=db,
            keys=None,
            fleet=FleetRegistry(),
            ingest_config=IngestSection(require_api_key=False),
            storage_metrics=lambda: tsdb_families(db, tmp_path),
        )
        text = Client(app).get("/metrics").text
        usage = db.tier_usage()
    finally:
        db.close()
    values = {
        line.rsplit(" ", 1)[0]: float(line.rsplit(" ", 1)[1])
        for line in text.splitlines()
        if line.startswith("multimonx_tsdb_")
    }
    assert "# TYPE multimonx_tsdb_tier_bytes gauge" in text
    assert "# TYPE multimonx_tsdb_flush_seconds_total counter" in text
    assert usage.chunks == (3, 0, 0)
    for i, tier in enumerate(("raw", "1m", "5m")):
        assert values[f'multimonx_tsdb_tier_bytes{{tier="{tier}"}}'] == usage.nbytes[i]
        assert values[f'multimonx_tsdb_tier_chunks{{tier="{tier}"}}'] == usage.chunks[i]
    assert values["multimonx_tsdb_flushes_total"] == 1
    assert values["multimonx_tsdb_flush_seconds_total"] > 0
    assert values["multimonx_tsdb_last_flush_duration_seconds"] > 0
