"""The server with rule files: rules evaluated on their interval, recorded series and
``ALERTS`` queryable, ``/api/v1/rules`` and ``/api/v1/alerts`` answering; a bad rule file
stops the server from starting, with every problem listed."""

from __future__ import annotations

import functools
import urllib.parse
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.integration.conftest import (
    Proc,
    free_port,
    get_json,
    multimonx,
    start_prometheus,
    wait_for,
)
from tests.integration.pushing import INSTANCE, create_key, start_server, write_agent_config

pytestmark = pytest.mark.integration

RULES = """
groups:
  - name: always
    interval: 1s
    rules:
      - record: answer:value
        expr: vector(42)
        labels: {source: rule}
      - alert: AlwaysFiring
        expr: answer:value > 40
        labels: {severity: warning}
        annotations: {summary: "the answer is {{ $value }}"}
"""


def _config(tmp_path: Path, rules: str) -> tuple[Path, int]:
    """A server config evaluating ``rules`` (found through a glob) every second."""
    rules_dir = tmp_path / "rules"
    rules_dir.mkdir()
    (rules_dir / "node.yml").write_text(rules)
    port = free_port()
    config = tmp_path / "server.yml"
    config.write_text(
        f"listen_address: 127.0.0.1:{port}\n"
        f"rules:\n  files: ['{rules_dir / '*.yml'}']\n  evaluation_interval: 1s\n"
        "  default_pack: false\n"
        "storage: {engine: memory}\n"
    )
    return config, port


def _query(base: str, query: str) -> list[dict[str, Any]]:
    answer = get_json(f"{base}/api/v1/query?{urllib.parse.urlencode({'query': query})}")
    result: list[dict[str, Any]] = answer["data"]["result"]
    return result


def test_rules_run_in_the_server_and_their_output_is_queryable(
    tmp_path: Path, procs: Callable[..., Proc]
) -> None:
    config, port = _config(tmp_path, RULES)
    server = procs(
        multimonx("server", "--config", str(config), "--data-dir", str(tmp_path / "data")),
        "server",
    )
    base = f"http://127.0.0.1:{port}"
    wait_for("the recorded series", lambda: _query(base, "answer:value") or None)
    (recorded,) = _query(base, "answer:value")
    assert recorded["metric"] == {"__name__": "answer:value", "source": "rule"}
    assert recorded["value"][1] == "42"
    firing = wait_for(
        "the alert to fire", lambda: _query(base, 'ALERTS{alertstate="firing"}') or None
    )
    assert firing[0]["metric"]["alertname"] == "AlwaysFiring"

    (group,) = get_json(f"{base}/api/v1/rules")["data"]["groups"]
    assert [(r["name"], r["health"]) for r in group["rules"]] == [
        ("answer:value", "ok"),
        ("AlwaysFiring", "ok"),
    ]
    (alert,) = get_json(f"{base}/api/v1/alerts")["data"]["alerts"]
    assert alert["annotations"] == {"summary": "the answer is 42"}
    assert alert["labels"] == {
        "alertname": "AlwaysFiring",
        "severity": "warning",
        "source": "rule",
    }
    assert server.stop() == 0


def test_a_bad_rule_file_stops_the_server_before_it_starts(
    tmp_path: Path, procs: Callable[..., Proc]
) -> None:
    config, _ = _config(
        tmp_path, RULES.replace("vector(42)", "vector(42") + "  - name: always\n    rules: []\n"
    )
    server = procs(
        multimonx("server", "--config", str(config), "--data-dir", str(tmp_path / "data")),
        "server",
    )
    assert server.wait() == 2
    output = server.output()
    assert "rule files are not valid" in output
    assert "could not parse expression" in output
    assert 'groupname: "always" is repeated in the same file' in output
    assert "Traceback" not in output


def _firing(base: str) -> list[dict[str, Any]] | None:
    alerts: list[dict[str, Any]] = get_json(f"{base}/api/v1/alerts")["data"]["alerts"]
    return alerts or None


def _shape(rule: dict[str, Any]) -> dict[str, Any]:
    """What must agree between two servers evaluating the same rule at different times."""
    volatile = {"evaluationTime", "lastEvaluation", "alerts"}
    out = {k: v for k, v in rule.items() if k not in volatile}
    out["alerts"] = [
        {k: v for k, v in alert.items() if k != "activeAt"} for alert in rule.get("alerts", [])
    ]
    return out


def test_rules_and_alerts_answer_as_prometheus_does_for_the_same_file(
    tmp_path: Path, procs: Callable[..., Proc]
) -> None:
    config, port = _config(tmp_path, RULES)
    procs(
        multimonx("server", "--config", str(config), "--data-dir", str(tmp_path / "data")),
        "server",
    )
    prom_port = start_prometheus(
        procs,
        tmp_path,
        f"global: {{evaluation_interval: 1s}}\nrule_files: ['{tmp_path / 'rules' / '*.yml'}']\n",
    )
    answers = {}
    for name, base in (
        ("ours", f"http://127.0.0.1:{port}"),
        ("prometheus", f"http://127.0.0.1:{prom_port}"),
    ):
        wait_for(f"{name}'s alert to fire", functools.partial(_firing, base))
        answers[name] = (
            get_json(f"{base}/api/v1/rules")["data"],
            get_json(f"{base}/api/v1/alerts")["data"],
        )
    (ours_rules, ours_alerts), (their_rules, their_alerts) = answers["ours"], answers["prometheus"]
    (ours_group,) = ours_rules["groups"]
    (their_group,) = their_rules["groups"]
    assert set(ours_group) == set(their_group)
    assert (ours_group["name"], ours_group["interval"], ours_group["limit"]) == (
        their_group["name"],
        their_group["interval"],
        their_group["limit"],
    )
    for ours_rule, their_rule in zip(ours_group["rules"], their_group["rules"], strict=True):
        assert set(ours_rule) == set(their_rule), ours_rule["name"]
        assert _shape(ours_rule) == _shape(their_rule)
    (ours_alert,) = ours_alerts["alerts"]
    (their_alert,) = their_alerts["alerts"]
    assert set(ours_alert) == set(their_alert)
    assert {k: v for k, v in ours_alert.items() if k != "activeAt"} == {
        k: v for k, v in their_alert.items() if k != "activeAt"
    }


def test_the_default_pack_runs_unless_turned_off_rule_by_rule(
    tmp_path: Path, procs: Callable[..., Proc]
) -> None:
    port = free_port()
    config = tmp_path / "server.yml"
    config.write_text(
        f"listen_address: 127.0.0.1:{port}\nstorage: {{engine: memory}}\n"
        "rules:\n  disabled: [HostPacketLoss, HostIowaitHigh]\n"
    )
    procs(multimonx("server", "--config", str(config), "--data-dir", str(tmp_path / "d")), "s")
    base = f"http://127.0.0.1:{port}"
    groups = wait_for("the rules API", lambda: get_json(f"{base}/api/v1/rules")["data"]["groups"])
    (group,) = groups
    assert (group["name"], group["file"]) == ("multimonx-default", "<builtin>/default_rules.yml")
    names = [rule["name"] for rule in group["rules"]]
    assert len(names) == 8
    assert "HostPacketLoss" not in names
    assert "HostIowaitHigh" not in names

    config.write_text(
        f"listen_address: 127.0.0.1:{port}\nstorage: {{engine: memory}}\n"
        "rules:\n  disabled: [HostCPUHigh]\n"
    )
    typo = procs(
        multimonx("server", "--config", str(config), "--data-dir", str(tmp_path / "d")), "typo"
    )
    assert typo.wait() == 2
    assert "rules.disabled: no rule is named HostCPUHigh" in typo.output()


def _up_values(base: str) -> dict[str, str]:
    return {r["metric"]["instance"]: r["value"][1] for r in _query(base, "up")}


def test_a_real_agent_is_up_while_it_pushes_and_down_once_it_stops(
    tmp_path: Path, procs: Callable[..., Proc]
) -> None:
    port = free_port()
    data = tmp_path / "server"
    token = create_key(data, "up-agent")
    start_server(procs, data, port, "server")
    config = tmp_path / "agent.yml"
    write_agent_config(config, port, token)  # pushes every second: down after 3 s of silence
    agent = procs(
        multimonx("agent", "--config", str(config), "--data-dir", str(tmp_path / "agent")), "agent"
    )
    base = f"http://127.0.0.1:{port}"
    wait_for("up = 1", lambda: _up_values(base).get(INSTANCE) == "1")
    (series,) = [r["metric"] for r in _query(base, "up")]
    assert series == {"__name__": "up", "instance": INSTANCE, "job": "node"}
    assert agent.stop() == 0
    wait_for("up = 0", lambda: _up_values(base).get(INSTANCE) == "0")
