"""Alert rules created through the REST API of a real server: evaluated by its rule manager
beside the rule files, firing on pushed data, kept across a restart, gone once deleted."""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from multimonx.model import COLLECT_PATH, MetricFamily, encode_push, encode_round
from tests.integration.conftest import Proc, free_port, get_json, http_get, multimonx, wait_for
from tests.integration.pushing import create_key

pytestmark = pytest.mark.integration

RULES = "/api/v1/alerts/rules"
LOAD_HIGH = {
    "name": "LoadHigh",
    "metric": "cpu.load.average.1m",
    "operator": ">",
    "threshold": 2,
    "for": "0s",
    "severity": "page",
    "labels": {"team": "ops"},
}


def _request(method: str, url: str, body: object = None, token: str = "") -> tuple[int, Any]:
    data = body if isinstance(body, bytes) else None if body is None else json.dumps(body).encode()
    headers = {"Content-Type": "application/json"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    request = urllib.request.Request(url, data=data, method=method, headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as err:
        return err.code, json.loads(err.read())


def _push_load(base: str, token: str, loads: dict[str, float]) -> None:
    """One round per host with ``node_load1`` now."""
    now_ms = int(time.time() * 1000)
    for instance, value in loads.items():
        family = MetricFamily.gauge("node_load1", "load", (), [((), value)])
        round_ = encode_round(now_ms, {"instance": instance, "job": "node"}, [family])
        status, answer = _request(
            "POST", base + COLLECT_PATH, encode_push({"instance": instance}, [round_]), token
        )
        assert status == 200, answer


def _start(procs: Callable[..., Proc], config: Path, data: Path, port: int, name: str) -> Proc:
    proc = procs(multimonx("server", "--config", str(config), "--data-dir", str(data)), name)
    wait_for("server health", lambda: http_get(f"http://127.0.0.1:{port}/api/v1/health")[0] == 200)
    return proc


def _alerts(base: str) -> list[dict[str, Any]] | None:
    alerts: list[dict[str, Any]] = get_json(f"{base}/api/v1/alerts")["data"]["alerts"]
    return alerts or None


def test_an_api_rule_fires_survives_a_restart_and_goes_when_deleted(
    tmp_path: Path, procs: Callable[..., Proc]
) -> None:
    data = tmp_path / "data"
    token = create_key(data, "pusher")
    port = free_port()
    config = tmp_path / "server.yml"
    config.write_text(
        f"listen_address: 127.0.0.1:{port}\nstorage: {{engine: memory}}\n"
        "rules:\n  evaluation_interval: 1s\n  default_pack: false\n"
    )
    base = f"http://127.0.0.1:{port}"
    server = _start(procs, config, data, port, "server")

    status, answer = _request("POST", base + RULES, {**LOAD_HIGH, "threshold": "2"})
    assert (status, answer["errors"]) == (400, {"threshold": "must be a number"})
    status, answer = _request("POST", base + RULES, LOAD_HIGH)
    assert status == 201, answer
    rule_id = answer["data"]["id"]
    assert answer["data"]["query"] == "(max by (instance) (node_load1)) > 2"

    _push_load(base, token, {"busy-host": 5.0, "idle-host": 0.5})
    (alert,) = wait_for("the API rule's alert", lambda: _alerts(base))
    assert alert["state"] == "firing"
    assert alert["labels"] == {
        "alertname": "LoadHigh",
        "instance": "busy-host",
        "rule_id": rule_id,
        "severity": "page",
        "team": "ops",
    }
    assert alert["annotations"] == {
        "summary": "cpu.load.average.1m on busy-host is 5 (threshold > 2)"
    }
    assert server.stop() == 0

    _start(procs, config, data, port, "restarted")
    status, answer = _request("GET", f"{base}{RULES}/{rule_id}")
    assert (status, answer["data"]["name"]) == (200, "LoadHigh")
    (group,) = get_json(f"{base}/api/v1/rules")["data"]["groups"]
    assert (group["name"], [r["name"] for r in group["rules"]]) == ("api", ["LoadHigh"])
    wait_for("the alert after the restart", lambda: _alerts(base))

    status, answer = _request("DELETE", f"{base}{RULES}/{rule_id}")
    assert status == 200, answer
    assert get_json(f"{base}/api/v1/rules")["data"]["groups"] == []
    assert get_json(f"{base}/api/v1/alerts")["data"]["alerts"] == []
    assert _request("GET", f"{base}{RULES}/{rule_id}")[0] == 404
