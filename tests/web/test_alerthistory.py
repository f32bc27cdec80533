"""``GET /api/v1/alerts/history`` over a real history store fed by a rule group evaluated
on the real engine."""

from __future__ import annotations

import asyncio
import textwrap
from collections.abc import Sequence
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette

from multimonx.model import Labels
from multimonx.promql.engine import Engine
from multimonx.rules import parse_rule_groups
from multimonx.rules.alerting import OutputSample
from multimonx.rules.group import GroupState
from multimonx.rules.query import engine_query
from multimonx.storage import MemoryStorage
from multimonx.storage.alerthistory import AlertHistory
from multimonx.web.alerthistory import alert_history_routes

MIN = 60_000
T0 = 1_700_000_000_000  # 2023-11-14T22:13:20Z

RULES = """
groups:
  - name: node
    rules:
      - alert: HighCPU
        expr: cpu > 0.8
        for: 1m
        labels: {severity: warning}
        annotations: {summary: "{{ $labels.instance }} busy"}
      - alert: Down
        expr: up == 0
        labels: {severity: critical}
"""


@pytest.fixture(scope="module")
def app(tmp_path_factory: pytest.TempPathFactory) -> Starlette:
    """web-1 busy from T0 to T0+3m (pending, firing at +1m, resolved at +3m); web-2 down
    at T0+2m only."""
    storage = MemoryStorage()
    batch = storage.appender()
    for t in range(T0, T0 + 5 * MIN, MIN):
        batch.append(
            Labels.of(__name__="cpu", instance="web-1"), t, 0.9 if t < T0 + 3 * MIN else 0.1
        )
        batch.append(
            Labels.of(__name__="up", instance="web-2"), t, 0.0 if t == T0 + 2 * MIN else 1.0
        )
    batch.commit()
    history = AlertHistory(tmp_path_factory.mktemp("history") / "metadata.db")
    (group,) = parse_rule_groups(textwrap.dedent(RULES), "node.yml")
    state = GroupState(group, default_interval_ms=MIN)

    def store(samples: Sequence[OutputSample]) -> None:
        del samples  # the history is what is under test

    for t in range(T0, T0 + 5 * MIN, MIN):
        state.eval(t, engine_query(Engine(storage)), store, history=history.add)
    return Starlette(routes=alert_history_routes(history, lambda: (T0 + 10 * MIN) / 1000))


def _get(app: Any, params: dict[str, str]) -> httpx.Response:
    async def go() -> httpx.Response:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            return await client.get("/api/v1/alerts/history", params=params)

    return asyncio.run(go())


def _events(app: Any, params: dict[str, str]) -> list[tuple[str, str, str]]:
    response = _get(app, params)
    assert response.status_code == 200, response.text
    return [
        (e["time"][11:16], e["alertname"], e["state"]) for e in response.json()["data"]["events"]
    ]


@pytest.mark.parametrize(
    ("params", "events"),
    [
        (
            {},
            [
                ("22:16", "Down", "resolved"),  # same time: the later rule's first
                ("22:16", "HighCPU", "resolved"),
                ("22:15", "Down", "firing"),
                ("22:15", "Down", "pending"),
                ("22:14", "HighCPU", "firing"),
                ("22:13", "HighCPU", "pending"),
            ],
        ),
        (
            {"host": "web-2"},
            [
                ("22:16", "Down", "resolved"),
                ("22:15", "Down", "firing"),
                ("22:15", "Down", "pending"),
            ],
        ),
        ({"rule": "HighCPU", "state": "firing"}, [("22:14", "HighCPU", "firing")]),
        ({"severity": "critical", "state": "resolved"}, [("22:16", "Down", "resolved")]),
        (
            {"start": str((T0 + MIN) / 1000), "end": str((T0 + 2 * MIN) / 1000)},
            [
                ("22:15", "Down", "firing"),
                ("22:15", "Down", "pending"),
                ("22:14", "HighCPU", "firing"),
            ],
        ),
        (
            {"start": "2023-11-14T22:16:00Z"},
            [("22:16", "Down", "resolved"), ("22:16", "HighCPU", "resolved")],
        ),
        ({"limit": "1"}, [("22:16", "Down", "resolved")]),
        ({"end": str((T0 - 1) / 1000)}, []),
    ],
)
def test_history_filters(
    app: Any, params: dict[str, str], events: list[tuple[str, str, str]]
) -> None:
    assert _events(app, params) == events


def test_an_event_carries_labels_annotations_and_the_value(app: Any) -> None:
    response = _get(app, {"rule": "HighCPU", "state": "firing"})
    (event,) = response.json()["data"]["events"]
    assert event == {
        "time": "2023-11-14T22:14:20.000Z",
        "state": "firing",
        "alertname": "HighCPU",
        "labels": {"alertname": "HighCPU", "instance": "web-1", "severity": "warning"},
        "annotations": {"summary": "web-1 busy"},
        "value": 0.9,
    }


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"start": "yesterday"}, "Invalid time value for 'start'"),
        ({"start": "200", "end": "100"}, "end timestamp must not be before start time"),
        ({"state": "exploded"}, "state must be pending, firing or resolved"),
        ({"limit": "0"}, "limit must be a whole number from 1 to 10000"),
        ({"limit": "-3"}, "limit must be a whole number"),
        ({"limit": "10001"}, "limit must be a whole number"),
    ],
)
def test_bad_parameters_are_bad_data(app: Any, params: dict[str, str], message: str) -> None:
    response = _get(app, params)
    assert response.status_code == 400
    body = response.json()
    assert body["status"] == "error"
    assert message in body["error"]
