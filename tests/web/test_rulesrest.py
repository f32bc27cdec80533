"""``/api/v1/alerts/rules``: alert rules created, listed, read, replaced, patched and deleted
over the real app, store (SQLite in tmp_path) and rule manager; bad bodies answer 400 with a
message per field and change nothing; the evaluated rules follow every change."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest

from multimonx.config import IngestSection
from multimonx.ingest import FleetRegistry
from multimonx.promql.catalog import load_catalog
from multimonx.promql.engine import Engine
from multimonx.rules.alerting import OutputSample
from multimonx.rules.apirules import ApiRule, api_rule_groups
from multimonx.rules.manager import RuleManager
from multimonx.rules.query import engine_query
from multimonx.storage import MemoryStorage
from multimonx.storage.rulestore import RuleStore
from multimonx.web import create_app
from multimonx.web.rulesrest import MAX_BODY_BYTES, AlertRulesApi, alert_rule_routes, merge_patch

RULES = "/api/v1/alerts/rules"
_JSON = {"Content-Type": "application/json"}
CATALOG = load_catalog()
DISK: dict[str, Any] = {
    "name": "DiskAlmostFull",
    "metric": "disk.usage.percent",
    "operator": ">",
    "threshold": 90,
    "for": "5m",
    "severity": "critical",
    "channels": ["ops-slack"],
    "annotations": {"runbook": "https://example.org/disk"},
}
DOWN: dict[str, Any] = {"kind": "promql", "name": "NodeDown", "expr": "up == 0", "for": "1m"}


@dataclass
class _Server:
    """The app over a store in tmp_path and a (not started) rule manager."""

    app: Any
    store: RuleStore
    manager: RuleManager
    applied: list[list[ApiRule]]

    def call(
        self,
        method: str,
        path: str,
        body: object = None,
        raw: bytes | None = None,
        content_type: str = "application/json",
    ) -> Any:
        return asyncio.run(self._call(method, path, body, raw, content_type))

    async def _call(
        self, method: str, path: str, body: object, raw: bytes | None, content_type: str
    ) -> Any:
        transport = httpx.ASGITransport(app=self.app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            content = raw if raw is not None else None if body is None else orjson.dumps(body)
            headers = {"Content-Type": content_type} if content_type else {}
            return await client.request(method, path, content=content, headers=headers)

    def ok(self, method: str, path: str, body: object = None, status: int = 200) -> Any:
        response = self.call(method, path, body)
        assert response.status_code == status, response.text
        assert response.json()["status"] == "success"
        return response.json()["data"]

    def evaluated(self) -> list[tuple[str, str, list[str]]]:
        """(group, file, rule names) of every group the manager evaluates."""
        return [
            (s.group.name, s.group.file, [r.rule.alert for r in s.rules])  # type: ignore[union-attr]
            for s in self.manager.status()
        ]


def _server(path: Path, receivers: Sequence[str] = ("ops-slack", "pager")) -> _Server:
    storage = MemoryStorage()
    engine = Engine(storage)

    def append(samples: Sequence[OutputSample]) -> None:
        pass

    manager = RuleManager(engine_query(engine), append)
    store = RuleStore(path / "metadata.db")
    applied: list[list[ApiRule]] = []

    def apply(rules: Sequence[ApiRule]) -> None:
        applied.append(list(rules))
        manager.update(api_rule_groups(rules, CATALOG))

    app = create_app(
        storage=storage,
        keys=None,
        fleet=FleetRegistry(),
        ingest_config=IngestSection(require_api_key=False),
        engine=engine,
        rule_groups=manager.status,
        extra_routes=alert_rule_routes(
            AlertRulesApi(store, apply, lambda: frozenset(receivers), CATALOG)
        ),
    )
    return _Server(app, store, manager, applied)


@pytest.fixture
def server(tmp_path: Path) -> Iterator[_Server]:
    srv = _server(tmp_path)
    yield srv
    srv.store.close()


def test_a_created_rule_is_stored_listed_and_evaluated(server: _Server) -> None:
    response = server.call("POST", RULES, DISK)
    assert response.status_code == 201, response.text
    rule = response.json()["data"]
    assert response.headers["location"] == f"{RULES}/{rule['id']}"
    assert {k: v for k, v in rule.items() if k not in ("id", "created", "updated", "query")} == {
        "kind": "threshold",
        "name": "DiskAlmostFull",
        "metric": "disk.usage.percent",
        "operator": ">",
        "threshold": 90,
        "for": "5m",
        "keep_firing_for": "0s",
        "severity": "critical",
        "channels": ["ops-slack"],
        "labels": {},
        "annotations": {"runbook": "https://example.org/disk"},
        "enabled": True,
    }
    assert rule["created"] == rule["updated"]
    assert rule["created"].endswith("Z")
    assert rule["query"].startswith("(100 * (1 - node_filesystem_avail_bytes{")
    assert rule["query"].endswith(")) > 90")

    assert server.ok("GET", f"{RULES}/{rule['id']}") == rule
    assert server.ok("GET", RULES) == [rule]
    assert server.evaluated() == [("api", "api", ["DiskAlmostFull"])]
    (group,) = server.ok("GET", "/api/v1/rules")["groups"]
    (listed,) = group["rules"]
    assert (group["name"], group["file"], group["interval"]) == ("api", "api", 60.0)
    assert listed["labels"] == {"rule_id": rule["id"], "severity": "critical"}
    assert listed["duration"] == 300.0
    assert set(listed["annotations"]) == {"runbook", "summary"}


def test_put_replaces_and_a_bad_put_changes_nothing(server: _Server) -> None:
    rule = server.ok("POST", RULES, DISK, 201)
    replaced = server.ok("PUT", f"{RULES}/{rule['id']}", {**DOWN, "severity": "page"})
    assert replaced["id"] == rule["id"]
    assert (replaced["kind"], replaced["name"], replaced["query"]) == (
        "promql",
        "NodeDown",
        "up == 0",
    )
    assert "metric" not in replaced
    assert replaced["created"] == rule["created"]
    assert server.evaluated() == [("api", "api", ["NodeDown"])]
    applied = len(server.applied)

    response = server.call("PUT", f"{RULES}/{rule['id']}", {**DOWN, "expr": "up ==", "for": "x"})
    assert response.status_code == 400
    body = response.json()
    assert (body["status"], body["errorType"]) == ("error", "bad_data")
    assert set(body["errors"]) == {"expr", "for"}
    assert body["error"].startswith("invalid alert rule: expr: could not parse expression")
    assert server.ok("GET", f"{RULES}/{rule['id']}") == replaced
    assert len(server.applied) == applied  # the running rules were not touched


def test_patch_disables_and_enables_a_rule(server: _Server) -> None:
    disk = server.ok("POST", RULES, DISK, 201)
    down = server.ok("POST", RULES, DOWN, 201)
    assert server.evaluated() == [("api", "api", ["DiskAlmostFull", "NodeDown"])]

    off = server.ok("PATCH", f"{RULES}/{disk['id']}", {"enabled": False})
    assert off["enabled"] is False
    assert {k: v for k, v in off.items() if k not in ("enabled", "updated")} == {
        k: v for k, v in disk.items() if k not in ("enabled", "updated")
    }
    assert server.evaluated() == [("api", "api", ["NodeDown"])]
    server.ok("PATCH", f"{RULES}/{down['id']}", {"enabled": False})
    assert server.evaluated() == []  # no enabled API rule: no api group at all
    assert [r["enabled"] for r in server.ok("GET", RULES)] == [False, False]

    server.ok("PATCH", f"{RULES}/{disk['id']}", {"enabled": True})
    assert server.evaluated() == [("api", "api", ["DiskAlmostFull"])]


def test_patch_merges_fields_and_null_removes_one(server: _Server) -> None:
    rule = server.ok("POST", RULES, {**DISK, "labels": {"team": "web", "tier": "1"}}, 201)
    patched = server.ok(
        "PATCH",
        f"{RULES}/{rule['id']}",
        {"metric": None, "expr": "node_load1", "threshold": 4, "labels": {"tier": None}},
    )
    assert (patched["expr"], patched["threshold"], patched["labels"]) == (
        "node_load1",
        4,
        {"team": "web"},
    )
    assert "metric" not in patched
    assert patched["query"] == "(node_load1) > 4"

    response = server.call("PATCH", f"{RULES}/{rule['id']}", {"expr": "node_load5"})
    assert response.status_code == 200  # expr replaces expr
    response = server.call("PATCH", f"{RULES}/{rule['id']}", {"metric": "cpu.usage.total"})
    assert response.status_code == 400
    assert response.json()["errors"] == {"expr": "give metric or expr, not both"}
    response = server.call("PATCH", f"{RULES}/{rule['id']}", [{"op": "replace"}])
    assert response.status_code == 400
    assert response.json()["errors"] == {"body": "must be a JSON object"}


def test_delete_removes_the_rule_from_the_store_and_the_manager(server: _Server) -> None:
    rule = server.ok("POST", RULES, DISK, 201)
    assert server.ok("DELETE", f"{RULES}/{rule['id']}") == rule
    assert server.ok("GET", RULES) == []
    assert server.evaluated() == []
    assert server.call("DELETE", f"{RULES}/{rule['id']}").status_code == 404


@pytest.mark.parametrize(
    ("method", "body"),
    [("GET", None), ("PUT", DOWN), ("PATCH", {"enabled": False}), ("DELETE", None)],
)
def test_an_unknown_id_is_404(server: _Server, method: str, body: object) -> None:
    response = server.call(method, f"{RULES}/nope", body)
    assert response.status_code == 404
    assert response.json() == {
        "status": "error",
        "errorType": "not_found",
        "error": f"no alert rule with id 'nope'; GET {RULES} lists them",
    }


@pytest.mark.parametrize(
    ("raw", "status", "message"),
    [
        (b"{not json", 400, "body is not valid JSON"),
        (b"", 400, "body is not valid JSON"),
        (b"[1, 2]", 400, "invalid alert rule: body: must be a JSON object"),
        (b'"DiskAlmostFull"', 400, "body: must be a JSON object"),
        (b"null", 400, "body: must be a JSON object"),
        (b'{"name": "X", "expr": "up", "threshold": 1e400}', 400, "not valid JSON"),
        (b'{"name": "\\ud800"}', 400, "not valid JSON"),
        (b"[" * 5000 + b"]" * 5000, 400, "not valid JSON"),
        (b'{"name": "' + b"x" * MAX_BODY_BYTES + b'"}', 413, "exceeds the 65536-byte limit"),
    ],
    ids=["broken", "empty", "array", "string", "null", "inf", "surrogate", "deep", "huge"],
)
def test_bodies_that_are_not_json_objects_are_refused(
    server: _Server, raw: bytes, status: int, message: str
) -> None:
    response = server.call("POST", RULES, raw=raw)
    assert response.status_code == status
    assert message in response.json()["error"]
    assert server.store.list() == []
    assert server.applied == []


@pytest.mark.parametrize(
    "content_type", ["", "text/plain", "application/x-www-form-urlencoded", "multipart/form-data"]
)
def test_bodies_must_be_sent_as_json(server: _Server, content_type: str) -> None:
    response = server.call("POST", RULES, DOWN, content_type=content_type)
    assert response.status_code == 415
    assert response.json()["errorType"] == "unsupported_media_type"
    rule = server.ok("POST", RULES, DOWN, 201)
    response = server.call(
        "PATCH", f"{RULES}/{rule['id']}", {"for": "2m"}, content_type="text/plain"
    )
    assert response.status_code == 415
    for accepted in ("application/json; charset=utf-8", "application/merge-patch+json"):
        response = server.call(
            "PATCH", f"{RULES}/{rule['id']}", {"for": "2m"}, content_type=accepted
        )
        assert response.status_code == 200, response.text
    assert server.store.list()[0].definition["for"] == "2m"


def test_every_bad_field_is_listed_and_nothing_is_stored(server: _Server) -> None:
    response = server.call(
        "POST",
        RULES,
        {
            "name": "bad name",
            "metric": "cpu.nope",
            "operator": "=~",
            "threshold": "90",
            "for": "5 min",
            "channels": ["sms"],
            "labels": {"rule_id": "mine"},
            "extra": True,
        },
    )
    assert response.status_code == 400
    assert response.json()["errors"] == {
        "extra": "unknown field",
        "name": "not a valid alert name (letters, digits, _ and :; no digit first)",
        "labels.rule_id": "reserved: set by the server",
        "metric": "unknown metric 'cpu.nope'; /api/v1/metrics/catalog lists them",
        "threshold": "must be a number",
        "operator": "must be one of > >= < <= == !=",
        "for": "not a valid duration (such as 5m or 1h30m): '5 min'",
        "channels": "no such receiver: sms (ops-slack, pager)",
    }
    assert server.store.list() == []
    assert server.applied == []


def test_names_are_unique_among_api_rules(server: _Server) -> None:
    first = server.ok("POST", RULES, DISK, 201)
    response = server.call("POST", RULES, {**DOWN, "name": "DiskAlmostFull"})
    assert response.status_code == 400
    assert response.json()["errors"] == {
        "name": "an alert rule named 'DiskAlmostFull' already exists"
    }
    other = server.ok("POST", RULES, DOWN, 201)
    response = server.call("PUT", f"{RULES}/{other['id']}", DISK)
    assert response.status_code == 400
    server.ok("PUT", f"{RULES}/{first['id']}", {**DISK, "threshold": 95})  # its own name


def test_concurrent_creations_of_one_name_let_one_through(server: _Server) -> None:
    async def create_all() -> list[int]:
        transport = httpx.ASGITransport(app=server.app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            responses = await asyncio.gather(
                *(client.post(RULES, content=orjson.dumps(DOWN), headers=_JSON) for _ in range(8))
            )
        return sorted(r.status_code for r in responses)

    assert asyncio.run(create_all()) == [201] + [400] * 7
    assert [r.name for r in server.store.list()] == ["NodeDown"]
    assert server.evaluated() == [("api", "api", ["NodeDown"])]


HOSTILE = "<script>alert(document.cookie)</script>\x00\x07\u202e" + "ü" * 5_000


def test_hostile_text_is_stored_and_returned_verbatim_as_json(server: _Server) -> None:
    body = {
        **DOWN,
        "severity": HOSTILE,
        "labels": {"note": HOSTILE},
        "annotations": {"summary": HOSTILE},
    }
    response = server.call("POST", RULES, body)
    assert response.status_code == 201, response.text
    assert response.headers["content-type"] == "application/json"
    rule = server.ok("GET", f"{RULES}/{response.json()['data']['id']}")
    assert (rule["severity"], rule["labels"], rule["annotations"]) == (
        HOSTILE,
        {"note": HOSTILE},
        {"summary": HOSTILE},
    )
    assert b"<script>" in response.content  # as JSON text, for a client to escape


def test_channels_need_configured_receivers(tmp_path: Path) -> None:
    srv = _server(tmp_path, receivers=())
    response = srv.call("POST", RULES, DISK)
    assert response.status_code == 400
    assert response.json()["errors"] == {
        "channels": "no such receiver: ops-slack (none are configured)"
    }
    srv.ok("POST", RULES, {**DISK, "channels": []}, 201)
    srv.store.close()


def test_rules_survive_a_restart(tmp_path: Path) -> None:
    srv = _server(tmp_path)
    rule = srv.ok("POST", RULES, DISK, 201)
    srv.ok("PATCH", f"{RULES}/{rule['id']}", {"enabled": False})
    srv.store.close()
    again = _server(tmp_path)
    (listed,) = again.ok("GET", RULES)
    assert listed == {**rule, "enabled": False, "updated": listed["updated"]}
    again.store.close()


def test_a_stored_rule_that_is_no_longer_valid_is_listed_with_its_error(server: _Server) -> None:
    server.store.create("Old", {"kind": "threshold", "name": "Old", "metric": "gone"}, enabled=True)
    (listed,) = server.ok("GET", RULES)
    assert listed["error"].startswith("not evaluated: metric: unknown metric 'gone'")
    assert "query" not in listed
    server.ok("POST", RULES, DOWN, 201)
    assert server.evaluated() == [("api", "api", ["NodeDown"])]
    server.ok("DELETE", f"{RULES}/{listed['id']}")


@pytest.mark.parametrize(
    ("target", "patch", "merged"),
    [
        ({"a": 1}, {"a": 2}, {"a": 2}),
        ({"a": 1, "b": 2}, {"a": None}, {"b": 2}),
        ({"l": {"x": "1", "y": "2"}}, {"l": {"y": None, "z": "3"}}, {"l": {"x": "1", "z": "3"}}),
        ({"l": {"x": "1"}}, {"l": ["list"]}, {"l": ["list"]}),
        ({"a": [1]}, {"a": {"b": 1}}, {"a": {"b": 1}}),
        ({}, {"missing": None}, {}),
    ],
)
def test_merge_patch_follows_rfc_7396(
    target: dict[str, Any], patch: dict[str, Any], merged: dict[str, Any]
) -> None:
    assert merge_patch(target, patch) == merged
