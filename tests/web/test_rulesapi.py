"""``/api/v1/rules`` and ``/api/v1/alerts`` in Prometheus 2.42's shapes, over rule groups
evaluated by the real engine on the in-memory storage."""

from __future__ import annotations

import asyncio
import math
import textwrap
from collections.abc import Sequence
from typing import Any

import httpx
import pytest

from multimonx.config import IngestSection
from multimonx.ingest import FleetRegistry
from multimonx.model import Labels
from multimonx.promql.engine import Engine
from multimonx.rules import parse_rule_groups
from multimonx.rules.alerting import OutputSample
from multimonx.rules.group import GroupState
from multimonx.rules.query import engine_query
from multimonx.storage import MemoryStorage
from multimonx.web import create_app
from multimonx.web.rulesapi import go_exponent

MIN = 60_000
T0 = 1_700_000_000_000  # 2023-11-14T22:13:20Z

RULES = """
groups:
  - name: node
    interval: 30s
    rules:
      - record: instance:cpu:max
        expr: max by (instance) (cpu)
        labels: {source: rule}
      - alert: HighCPU
        expr: instance:cpu:max > 0.8
        for: 1m
        labels: {severity: warning}
        annotations: {summary: "{{ $labels.instance }} at {{ $value }}"}
      - alert: Broken
        expr: cpu + on() cpu
  - name: quiet
    rules:
      - alert: Never
        expr: cpu > 100
        keep_firing_for: 5m
"""


def _get(app: Any, path: str, params: dict[str, str] | None = None) -> httpx.Response:
    async def go() -> httpx.Response:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            return await client.get(path, params=params)

    return asyncio.run(go())


@pytest.fixture(scope="module")
def app() -> Any:
    storage = MemoryStorage()
    app_ = storage.appender()
    for instance, value in (("web-1", 0.93), ("web-2", 0.5)):
        for t in range(T0, T0 + 3 * MIN, 30_000):
            app_.append(Labels.of(__name__="cpu", instance=instance), t, value)
    app_.commit()
    engine = Engine(storage)
    query = engine_query(engine)
    states = [
        GroupState(group, default_interval_ms=MIN)
        for group in parse_rule_groups(textwrap.dedent(RULES), "node.yml")
    ]

    def store(samples: Sequence[OutputSample]) -> None:
        batch = storage.appender()
        for sample in samples:
            batch.append(sample.labels, sample.t_ms, sample.value)
        batch.commit()

    for t in range(T0, T0 + 2 * MIN + 1, 30_000):
        states[0].eval(t, query, store)
    return create_app(
        storage=storage,
        keys=None,
        fleet=FleetRegistry(),
        ingest_config=IngestSection(require_api_key=False),
        engine=engine,
        rule_groups=lambda: [s.status() for s in states],
    )


def _data(app: Any, path: str, params: dict[str, str] | None = None) -> Any:
    response = _get(app, path, params)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["status"] == "success"
    return body["data"]


def test_rules_lists_groups_and_rules_as_prometheus_does(app: Any) -> None:
    node, quiet = _data(app, "/api/v1/rules")["groups"]
    assert {k: v for k, v in node.items() if k not in ("rules", "evaluationTime")} == {
        "name": "node",
        "file": "node.yml",
        "interval": 30.0,
        "limit": 0,
        "lastEvaluation": "2023-11-14T22:15:20Z",
    }
    assert node["evaluationTime"] >= 0
    record, high, broken = node["rules"]
    assert {k: v for k, v in record.items() if k != "evaluationTime"} == {
        "name": "instance:cpu:max",
        "query": "max by (instance) (cpu)",
        "labels": {"source": "rule"},
        "health": "ok",
        "lastEvaluation": "2023-11-14T22:15:20Z",
        "type": "recording",
    }
    assert {k: v for k, v in high.items() if k != "evaluationTime"} == {
        "state": "firing",
        "name": "HighCPU",
        "query": "instance:cpu:max > 0.8",
        "duration": 60.0,
        "keepFiringFor": 0.0,
        "labels": {"severity": "warning"},
        "annotations": {"summary": "{{ $labels.instance }} at {{ $value }}"},
        "alerts": [
            {
                "labels": {
                    "alertname": "HighCPU",
                    "instance": "web-1",
                    "severity": "warning",
                    "source": "rule",
                },
                "annotations": {"summary": "web-1 at 0.93"},
                "state": "firing",
                "activeAt": "2023-11-14T22:13:20Z",
                "value": "9.3e-01",
            }
        ],
        "health": "ok",
        "lastEvaluation": "2023-11-14T22:15:20Z",
        "type": "alerting",
    }
    assert broken["health"] == "err"
    assert "many-to-many matching not allowed" in broken["lastError"]
    assert broken["state"] == "inactive"
    (never,) = quiet["rules"]
    assert never["keepFiringFor"] == 300.0
    assert never["health"] == "unknown"
    assert never["lastEvaluation"] == quiet["lastEvaluation"] == "0001-01-01T00:00:00Z"
    assert quiet["interval"] == 60.0


@pytest.mark.parametrize(("rule_type", "names"), [("alert", 3), ("ALERT", 3), ("record", 1)])
def test_rules_filter_by_type(app: Any, rule_type: str, names: int) -> None:
    groups = _data(app, "/api/v1/rules", {"type": rule_type})["groups"]
    assert sum(len(g["rules"]) for g in groups) == names
    assert [g["name"] for g in groups] == ["node", "quiet"]


def test_an_unknown_rule_type_is_bad_data(app: Any) -> None:
    response = _get(app, "/api/v1/rules", {"type": "bogus"})
    assert response.status_code == 400
    assert response.json() == {
        "status": "error",
        "errorType": "bad_data",
        "error": 'not supported value "bogus"',
    }


def test_alerts_lists_pending_and_firing_alerts(app: Any) -> None:
    (alert,) = _data(app, "/api/v1/alerts")["alerts"]
    assert alert["labels"]["instance"] == "web-1"
    assert alert["state"] == "firing"


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (1.0, "1e+00"),
        (0.93, "9.3e-01"),
        (123.456, "1.23456e+02"),
        (0.0, "0e+00"),
        (-2.5e-10, "-2.5e-10"),
        (1e21, "1e+21"),
        (math.nan, "NaN"),
        (math.inf, "+Inf"),
        (-math.inf, "-Inf"),
    ],
)
def test_alert_values_are_written_as_go_exponent_form(value: float, text: str) -> None:
    assert go_exponent(value) == text


@pytest.mark.parametrize(
    ("params", "instances"),
    [
        ({}, ["web-1"]),
        ({"host": "web-1"}, ["web-1"]),
        ({"instance": "web-2"}, []),
        ({"rule": "HighCPU", "severity": "warning"}, ["web-1"]),
        ({"alertname": "Never"}, []),
        ({"state": "firing"}, ["web-1"]),
        ({"state": "PENDING"}, []),
    ],
)
def test_alerts_filter_by_labels_and_state(
    app: Any, params: dict[str, str], instances: list[str]
) -> None:
    alerts = _data(app, "/api/v1/alerts", params)["alerts"]
    assert [a["labels"]["instance"] for a in alerts] == instances


def test_an_unknown_alert_state_is_bad_data(app: Any) -> None:
    response = _get(app, "/api/v1/alerts", {"state": "resolved"})
    assert response.status_code == 400
    assert response.json()["error"] == 'state must be pending or firing, not "resolved"'
