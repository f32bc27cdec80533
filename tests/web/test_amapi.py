"""The Alertmanager API v2 routes over a real dispatcher and silence store: shapes, status
codes and filters in-process, and the real ``amtool`` against them over HTTP."""

from __future__ import annotations

import asyncio
import json
import shutil
import socket
import subprocess
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn
from starlette.applications import Starlette

from multimonx.model import Labels, Matcher
from multimonx.notify import (
    Alert,
    DeliveryError,
    Dispatcher,
    Notification,
    NotificationLog,
    Route,
    RouteOpts,
    Silence,
    Silences,
)
from multimonx.notify.config import InhibitRule, NotifyConfig, ReceiverConfig
from multimonx.web.amapi import am_routes
from tests.integration.conftest import Proc, free_port, http_get, wait_for

T0 = 1_800_000_000.0  # 2027-01-15T08:00:00Z
HOUR = 3600.0


def stamp(t: float) -> str:
    return datetime.fromtimestamp(t, UTC).isoformat().replace("+00:00", "Z")


class Clock:
    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


class Failing:
    """An integration whose receiver is down."""

    name = "webhook[0]"
    send_resolved = True

    def notify(self, notification: Notification) -> None:
        raise DeliveryError("connection refused")


CONFIG = NotifyConfig(
    route=Route(
        RouteOpts("default", group_by=("alertname",), group_wait=0.0),
        routes=(
            Route(
                RouteOpts("db-team", group_wait=0.0),
                (Matcher.of("team", "=", "db"),),
                key='{}/{team="db"}',
            ),
        ),
    ),
    receivers={"default": ReceiverConfig("default"), "db-team": ReceiverConfig("db-team")},
    inhibit_rules=(
        InhibitRule(
            (Matcher.of("severity", "=", "critical"),),
            (Matcher.of("severity", "=", "warning"),),
            ("instance",),
        ),
    ),
)


class Server:
    def __init__(self, clock: Clock | None = None) -> None:
        self.clock: Any = clock or time.time
        self.silences = Silences(clock=self.clock)
        self.nflog = NotificationLog(clock=self.clock)
        self.dispatcher = Dispatcher(
            CONFIG,
            {"default": [Failing()]},
            nflog=self.nflog,
            silences=self.silences,
            clock=self.clock,
        )
        self.app = Starlette(routes=am_routes(self.dispatcher, self.silences, clock=self.clock))

    def request(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        async def go() -> httpx.Response:
            transport = httpx.ASGITransport(app=self.app)
            async with httpx.AsyncClient(transport=transport, base_url="http://am") as client:
                return await client.request(method, path, **kwargs)

        return asyncio.run(go())


@pytest.fixture
def server() -> Iterator[Server]:
    one = Server(Clock(T0))
    yield one
    one.dispatcher.stop()


def silence_body(**changes: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "matchers": [{"name": "team", "value": "db", "isRegex": False, "isEqual": True}],
        "startsAt": stamp(T0),
        "endsAt": stamp(T0 + HOUR),
        "createdBy": "ops",
        "comment": "upgrade",
    }
    body.update(changes)
    return body


def test_silence_life_cycle(server: Server) -> None:
    created = server.request("POST", "/api/v2/silences", json=silence_body())
    assert created.status_code == 200
    silence_id = created.json()["silenceID"]
    got = server.request("GET", f"/api/v2/silence/{silence_id}")
    assert got.status_code == 200
    assert got.json() == {
        "id": silence_id,
        "status": {"state": "active"},
        "updatedAt": "2027-01-15T08:00:00.000Z",
        "comment": "upgrade",
        "createdBy": "ops",
        "endsAt": "2027-01-15T09:00:00.000Z",
        "matchers": [{"isEqual": True, "isRegex": False, "name": "team", "value": "db"}],
        "startsAt": "2027-01-15T08:00:00.000Z",
    }
    assert [s["id"] for s in server.request("GET", "/api/v2/silences").json()] == [silence_id]

    server.clock.now = T0 + 60
    assert server.request("DELETE", f"/api/v2/silence/{silence_id}").status_code == 200
    after = server.request("GET", f"/api/v2/silence/{silence_id}").json()
    assert after["status"]["state"] == "expired"
    assert after["endsAt"] == "2027-01-15T08:01:00.000Z"
    again = server.request("DELETE", f"/api/v2/silence/{silence_id}")
    assert again.status_code == 200  # as Alertmanager 0.25


def test_updating_a_silence(server: Server) -> None:
    silence_id = server.request("POST", "/api/v2/silences", json=silence_body()).json()["silenceID"]
    longer = silence_body(id=silence_id, endsAt=stamp(T0 + 2 * HOUR))
    same = server.request("POST", "/api/v2/silences", json=longer)
    assert same.json() == {"silenceID": silence_id}
    other = silence_body(
        id=silence_id,
        matchers=[{"name": "team", "value": "d.*", "isRegex": True, "isEqual": True}],
    )
    replaced = server.request("POST", "/api/v2/silences", json=other).json()["silenceID"]
    assert replaced != silence_id
    listed = {s["id"]: s for s in server.request("GET", "/api/v2/silences").json()}
    assert listed[silence_id]["status"]["state"] == "expired"
    assert listed[replaced]["matchers"][0] == {
        "isEqual": True,
        "isRegex": True,
        "name": "team",
        "value": "d.*",
    }
    missing = silence_body(id="7a0a9a9e-1f6b-4d55-9a46-0ad3b7c9c2c1")
    assert server.request("POST", "/api/v2/silences", json=missing).status_code == 404


def bad_bodies(now: float) -> list[tuple[bytes, int, str]]:
    """Refused silence bodies, with Alertmanager 0.25's status and a part of its reason."""

    def body(**changes: Any) -> bytes:
        one = silence_body(startsAt=stamp(now), endsAt=stamp(now + HOUR))
        one.update(changes)
        return json.dumps({k: v for k, v in one.items() if v is not None}).encode()

    def matcher(**fields: Any) -> list[dict[str, Any]]:
        return [{"name": "team", "value": "db", "isRegex": False, **fields}]

    return [
        (b"{not json", 400, "parsing silence body"),
        (b"[]", 400, "parsing silence body"),
        (body(createdBy=7), 400, "parsing silence body"),
        (body(matchers=[]), 422, "matchers in body should have at least 1 items"),
        (body(createdBy=None), 422, "createdBy in body is required"),
        (body(comment=None), 422, "comment in body is required"),
        (body(endsAt=None), 422, "endsAt in body is required"),
        (body(matchers=[{"name": "team", "value": "db"}]), 422, "matchers.0.isRegex"),
        (body(endsAt=stamp(now - 60)), 400, "start time must be before end time"),
        (
            body(startsAt=stamp(now - 2 * HOUR), endsAt=stamp(now - HOUR)),
            400,
            "end time can't be in the past",
        ),
        (body(startsAt="yesterday"), 400, "parsing silence body"),
        (body(matchers=matcher(value="(", isRegex=True)), 400, "invalid label matcher 0"),
        (body(matchers=matcher(value=".*", isRegex=True)), 400, "empty string"),
        (body(matchers=matcher(name="1team")), 400, "invalid label name"),
    ]


@pytest.mark.parametrize(("index"), range(len(bad_bodies(T0))))
def test_bad_silences_are_refused(server: Server, index: int) -> None:
    content, status, reason = bad_bodies(T0)[index]
    answer = server.request("POST", "/api/v2/silences", content=content)
    assert answer.status_code == status
    body = answer.json()
    if status == 422:
        assert body["code"] in (602, 612)
    assert reason in (body if isinstance(body, str) else body["message"])
    assert server.request("GET", "/api/v2/silences").json() == []


@pytest.mark.parametrize("field", ["createdBy", "comment"])
def test_an_empty_author_or_comment_is_refused(server: Server, field: str) -> None:
    """Stricter than Alertmanager 0.25, which takes empty text for either."""
    answer = server.request("POST", "/api/v2/silences", json=silence_body(**{field: ""}))
    assert answer.status_code == 400


def test_a_silence_store_that_fails_answers_500(server: Server) -> None:
    server.silences.close()
    answer = server.request("POST", "/api/v2/silences", json=silence_body())
    assert answer.status_code == 500
    assert "cannot save silence" in answer.json()


@pytest.mark.parametrize(
    ("path", "status"),
    [
        ("/api/v2/silence/7a0a9a9e-1f6b-4d55-9a46-0ad3b7c9c2c1", 404),
        ("/api/v2/silence/nope", 422),
    ],
)
@pytest.mark.parametrize("method", ["GET", "DELETE"])
def test_unknown_silences(server: Server, method: str, path: str, status: int) -> None:
    assert server.request(method, path).status_code == status


@pytest.mark.parametrize(
    ("filters", "found"),
    [
        ([], ["db", "web"]),
        (['team="db"'], ["db"]),
        (['{team=~"d.*"}'], ["db"]),
        (["team!=db"], ["web"]),
        (['team="db"', 'env="prod"'], []),
        (['env=""'], ["db", "web"]),
    ],
)
def test_silence_filters(server: Server, filters: list[str], found: list[str]) -> None:
    for team in ("db", "web"):
        matchers = [{"name": "team", "value": team, "isRegex": False}]
        server.request("POST", "/api/v2/silences", json=silence_body(matchers=matchers))
    answer = server.request("GET", "/api/v2/silences", params={"filter": filters})
    assert sorted(s["matchers"][0]["value"] for s in answer.json()) == found


@pytest.mark.parametrize("bad", ['team="db', "team", "=db", '{team="db",,}'])
def test_bad_filters_answer_400(server: Server, bad: str) -> None:
    answer = server.request("GET", "/api/v2/silences", params={"filter": bad})
    assert answer.status_code == 400
    assert "bad matcher" in answer.json()


def put_alerts(server: Server) -> dict[str, str]:
    alerts = [
        Alert(
            Labels.of(alertname="Down", instance="a", severity="critical", team="db"),
            Labels.of(summary="a is down"),
            T0 - 60,
            T0 + HOUR,
            generator_url="http://mmx/graph",
        ),
        Alert(
            Labels.of(alertname="Slow", instance="a", severity="warning"), Labels(), T0, T0 + HOUR
        ),
        Alert(
            Labels.of(alertname="Full", instance="b", severity="warning"), Labels(), T0, T0 + HOUR
        ),
        Alert(Labels.of(alertname="Gone", instance="c"), Labels(), T0 - 600, T0 - 60),
    ]
    server.dispatcher.put(alerts)
    server.silences.add(
        Silence((Matcher.of("instance", "=", "b"),), T0, T0 + HOUR, "ops", "disk swap")
    )
    return {a.labels["alertname"]: a.fingerprint for a in alerts}


def test_alerts(server: Server) -> None:
    fps = put_alerts(server)
    answer = server.request("GET", "/api/v2/alerts")
    assert answer.status_code == 200
    by_name = {a["labels"]["alertname"]: a for a in answer.json()}
    assert sorted(by_name) == ["Down", "Full", "Slow"]  # resolved alerts are not listed
    assert [a["fingerprint"] for a in answer.json()] == sorted(
        fps[n] for n in ("Down", "Full", "Slow")
    )
    assert by_name["Down"] == {
        "annotations": {"summary": "a is down"},
        "endsAt": "2027-01-15T09:00:00.000Z",
        "fingerprint": fps["Down"],
        "receivers": [{"name": "db-team"}],
        "startsAt": "2027-01-15T07:59:00.000Z",
        "status": {"inhibitedBy": [], "silencedBy": [], "state": "active"},
        "updatedAt": "2027-01-15T08:00:00.000Z",
        "generatorURL": "http://mmx/graph",
        "labels": {"alertname": "Down", "instance": "a", "severity": "critical", "team": "db"},
    }
    assert by_name["Slow"]["status"] == {
        "inhibitedBy": [fps["Down"]],
        "silencedBy": [],
        "state": "suppressed",
    }
    assert by_name["Full"]["status"]["state"] == "suppressed"
    assert len(by_name["Full"]["status"]["silencedBy"]) == 1


@pytest.mark.parametrize(
    ("params", "names"),
    [
        ({"silenced": "false"}, ["Down", "Slow"]),
        ({"inhibited": "false"}, ["Down", "Full"]),
        ({"active": "false"}, ["Full", "Slow"]),
        ({"filter": 'severity="warning"'}, ["Full", "Slow"]),
        ({"filter": ["severity=~warn.*", "instance!=a"]}, ["Full"]),
        ({"receiver": "db-.*"}, ["Down"]),
        ({"receiver": "default"}, ["Full", "Slow"]),
    ],
)
def test_alert_filters(server: Server, params: dict[str, Any], names: list[str]) -> None:
    put_alerts(server)
    answer = server.request("GET", "/api/v2/alerts", params=params)
    assert sorted(a["labels"]["alertname"] for a in answer.json()) == names


@pytest.mark.parametrize("params", [{"active": "maybe"}, {"filter": "=x"}, {"receiver": "("}])
def test_bad_alert_queries_answer_400(server: Server, params: dict[str, str]) -> None:
    assert server.request("GET", "/api/v2/alerts", params=params).status_code == 400


def test_status(server: Server) -> None:
    body = server.request("GET", "/api/v2/status").json()
    assert body["cluster"] == {"peers": [], "status": "disabled"}
    assert body["uptime"] == "2027-01-15T08:00:00.000Z"
    assert set(body["versionInfo"]) == {
        "branch",
        "buildDate",
        "buildUser",
        "goVersion",
        "revision",
        "version",
    }


def test_notification_stats(server: Server) -> None:
    server.dispatcher.put([Alert(Labels.of(alertname="Hot"), Labels(), T0, T0 + HOUR)])
    server.dispatcher.tick(T0)
    assert server.dispatcher.settle()
    body = server.request("GET", "/api/v1/notifications").json()
    assert body["status"] == "success"
    [row] = body["data"]
    assert row["receiver"] == "default"
    assert row["integration"] == "webhook[0]"
    assert (row["attempts"], row["sent"], row["failed"]) == (1, 0, 1)
    assert row["lastError"] == "connection refused"
    assert row["lastErrorAt"] == "2027-01-15T08:00:00.000Z"
    assert row["lastSuccessAt"] is None


# ---- the real amtool ----------------------------------------------------------------------


@pytest.fixture
def live() -> Iterator[tuple[Server, str]]:
    one = Server()
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    config = uvicorn.Config(one.app, log_level="warning", lifespan="off")
    http = uvicorn.Server(config)
    thread = threading.Thread(target=http.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not http.started and time.monotonic() < deadline and thread.is_alive():
        time.sleep(0.01)
    assert http.started
    yield one, f"http://127.0.0.1:{port}"
    http.should_exit = True
    thread.join(30)
    sock.close()
    one.dispatcher.stop()


def amtool(url: str, *args: str) -> str:
    done = subprocess.run(
        ["amtool", f"--alertmanager.url={url}", *args],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


@pytest.mark.integration
@pytest.mark.skipif(shutil.which("amtool") is None, reason="amtool is not installed")
def test_amtool_adds_queries_and_expires_silences(live: tuple[Server, str]) -> None:
    server, url = live
    silence_id = amtool(
        url,
        "silence",
        "add",
        "alertname=Down",
        'instance=~"db-.*"',
        "--author=ops",
        "--comment=replacing a disk",
        "--duration=2h",
    ).strip()
    stored = server.silences.get(silence_id)
    assert [str(m) for m in stored.matchers] == ['alertname="Down"', 'instance=~"db-.*"']
    assert stored.created_by == "ops"
    assert 2 * HOUR - 120 < stored.ends_at - stored.starts_at <= 2 * HOUR + 1

    assert amtool(url, "silence", "query", "-q").split() == [silence_id]
    assert amtool(url, "silence", "query", "-q", "alertname=Down").split() == [silence_id]
    assert amtool(url, "silence", "query", "-q", "alertname=Up").split() == []
    listing = amtool(url, "silence", "query")
    assert "replacing a disk" in listing
    assert "ops" in listing

    now = time.time()
    server.dispatcher.put(
        [Alert(Labels.of(alertname="Down", instance="db-1"), Labels(), now, now + HOUR)]
    )
    assert json.loads(amtool(url, "alert", "query", "-o", "json")) == []  # hides silenced
    [shown] = json.loads(amtool(url, "alert", "query", "--silenced", "-o", "json"))
    assert shown["labels"] == {"alertname": "Down", "instance": "db-1"}
    assert shown["status"]["silencedBy"] == [silence_id]
    table = amtool(url, "alert", "query", "--silenced", "instance=~db-.*")
    assert "Down" in table
    assert "suppressed" in table
    assert "Down" not in amtool(url, "alert", "query", "--silenced", "instance=web")

    amtool(url, "silence", "expire", silence_id)
    assert amtool(url, "silence", "query", "-q").split() == []
    assert silence_id in amtool(url, "silence", "query", "-q", "--expired").split()


# ---- the real Alertmanager, answering the same requests ------------------------------------


JSON = {"Content-Type": "application/json"}


@pytest.fixture
def alertmanager(tmp_path: Path) -> Iterator[str]:
    (tmp_path / "am.yml").write_text("route: {receiver: default}\nreceivers: [{name: default}]\n")
    port = free_port()
    proc = Proc(
        [
            "prometheus-alertmanager",
            f"--config.file={tmp_path / 'am.yml'}",
            f"--storage.path={tmp_path / 'data'}",
            f"--web.listen-address=127.0.0.1:{port}",
            "--cluster.listen-address=",
        ],
        tmp_path / "alertmanager.log",
    )
    base = f"http://127.0.0.1:{port}"
    try:
        wait_for("alertmanager", lambda: http_get(f"{base}/-/ready")[0] == 200)
        yield base
    finally:
        proc.stop()


@pytest.mark.integration
@pytest.mark.skipif(
    shutil.which("prometheus-alertmanager") is None, reason="Alertmanager is not installed"
)
def test_same_answers_as_alertmanager(alertmanager: str) -> None:
    ours = Server()
    with httpx.Client(base_url=alertmanager, trust_env=False, timeout=30) as theirs:
        for content, status, _ in bad_bodies(time.time()):
            mine = ours.request("POST", "/api/v2/silences", content=content, headers=JSON)
            real = theirs.post("/api/v2/silences", content=content, headers=JSON)
            assert (mine.status_code, real.status_code) == (status, status), content
            if status == 422:
                assert mine.json()["code"] == real.json()["code"]

        now = time.time()
        body = silence_body(startsAt=stamp(now), endsAt=stamp(now + HOUR))
        body["matchers"].append({"name": "job", "value": "x|y", "isRegex": True, "isEqual": False})
        mine_id = ours.request("POST", "/api/v2/silences", json=body).json()["silenceID"]
        real_id = theirs.post("/api/v2/silences", json=body).json()["silenceID"]
        mine_silence = ours.request("GET", f"/api/v2/silence/{mine_id}").json()
        real_silence = theirs.get(f"/api/v2/silence/{real_id}").json()
        assert list(mine_silence) == list(real_silence)
        for key in ("matchers", "status", "comment", "createdBy"):
            assert mine_silence[key] == real_silence[key]
        for _ in range(2):  # expiring an expired silence is fine
            assert ours.request("DELETE", f"/api/v2/silence/{mine_id}").status_code == 200
            assert theirs.delete(f"/api/v2/silence/{real_id}").status_code == 200
        for path, status in (
            ("/api/v2/silence/7a0a9a9e-1f6b-4d55-9a46-0ad3b7c9c2c1", 404),
            ("/api/v2/silence/nope", 422),
        ):
            assert ours.request("GET", path).status_code == status
            assert theirs.get(path).status_code == status
        assert (
            ours.request("GET", "/api/v2/silence/nope").json()
            == theirs.get("/api/v2/silence/nope").json()
        )
        bad_filter = {"filter": 'team="db'}
        assert ours.request("GET", "/api/v2/silences", params=bad_filter).status_code == 400
        assert theirs.get("/api/v2/silences", params=bad_filter).status_code == 400
        mine_status = ours.request("GET", "/api/v2/status").json()
        real_status = theirs.get("/api/v2/status").json()
        assert set(mine_status) == set(real_status)
        assert mine_status["cluster"] == real_status["cluster"]
        assert set(mine_status["versionInfo"]) == set(real_status["versionInfo"])
    ours.dispatcher.stop()
