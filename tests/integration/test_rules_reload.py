"""Rules change without a restart and survive one: a rule file edited on disk is picked up
by itself, SIGHUP and ``POST /-/reload`` reload on demand, a bad file leaves the running
rules untouched; after a restart, a firing alert is firing again (its ``for`` state
restored) and the alert history holds every transition."""

from __future__ import annotations

import signal
import urllib.error
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.integration.conftest import Proc, free_port, get_json, multimonx, wait_for

pytestmark = pytest.mark.integration


def _rule(name: str, for_: str = "0s") -> str:
    return (
        "groups:\n  - name: g\n    interval: 1s\n    rules:\n"
        f"      - alert: {name}\n        expr: vector(1)\n        for: {for_}\n"
        "        labels: {severity: warning}\n"
    )


def _start(tmp_path: Path, procs: Callable[..., Proc], port: int, name: str) -> Proc:
    return procs(
        multimonx(
            "server", "--config", str(tmp_path / "server.yml"), "--data-dir", str(tmp_path / "data")
        ),
        name,
    )


def _configure(tmp_path: Path, rules: str, watch: str, notify: Path | None = None) -> int:
    (tmp_path / "rules.yml").write_text(rules)
    port = free_port()
    (tmp_path / "server.yml").write_text(
        f"listen_address: 127.0.0.1:{port}\n"
        f"rules: {{files: ['{tmp_path / 'rules.yml'}'], default_pack: false,"
        " evaluation_interval: 1s}\n"
        f"alerting: {{watch_interval: {watch}, config_file: '{notify or ''}'}}\n"
    )
    return port


def _rule_names(base: str) -> list[str] | None:
    try:
        groups = get_json(f"{base}/api/v1/rules")["data"]["groups"]
    except (OSError, ValueError):
        return None
    return [rule["name"] for group in groups for rule in group["rules"]]


def _post(url: str) -> tuple[int, str]:
    request = urllib.request.Request(url, method="POST", data=b"")
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as err:
        return err.code, err.read().decode()


def test_rule_files_reload_by_themselves_on_sighup_and_on_request(
    tmp_path: Path, procs: Callable[..., Proc]
) -> None:
    port = _configure(tmp_path, _rule("First"), watch="200ms")
    server = _start(tmp_path, procs, port, "server")
    base = f"http://127.0.0.1:{port}"
    wait_for("the first rule", lambda: _rule_names(base) == ["First"] or None)

    (tmp_path / "rules.yml").write_text(_rule("Second"))  # picked up by the watcher
    wait_for("the edited rule", lambda: _rule_names(base) == ["Second"] or None)

    (tmp_path / "rules.yml").write_text(_rule("Third").replace("vector(1)", "vector(1"))
    status, body = _post(f"{base}/-/reload")
    assert status == 500
    assert body.startswith("failed to reload config: rule files are not valid")
    assert "could not parse expression" in body
    assert _rule_names(base) == ["Second"]  # the running rules are untouched
    (alert,) = wait_for("the edited rule's alert", lambda: _alerts(base) or None)
    assert alert["labels"]["alertname"] == "Second"

    server.stop()  # without the watcher, only SIGHUP and the endpoint reload
    port = _configure(tmp_path, _rule("Fourth"), watch="0s")
    server = _start(tmp_path, procs, port, "server-2")
    base = f"http://127.0.0.1:{port}"
    wait_for("the rule after restart", lambda: _rule_names(base) == ["Fourth"] or None)
    (tmp_path / "rules.yml").write_text(_rule("Fifth"))
    server.signal(signal.SIGHUP)
    wait_for("the rule after SIGHUP", lambda: _rule_names(base) == ["Fifth"] or None)
    (tmp_path / "rules.yml").write_text(_rule("Sixth"))
    assert _post(f"{base}/-/reload") == (200, "")
    assert _rule_names(base) == ["Sixth"]
    output = server.output()
    assert "Traceback" not in output
    assert server.stop() == 0


def _alerts(base: str) -> list[dict[str, Any]]:
    try:
        alerts: list[dict[str, Any]] = get_json(f"{base}/api/v1/alerts")["data"]["alerts"]
    except (OSError, ValueError):
        return []
    return alerts


def test_a_firing_alert_is_firing_again_soon_after_a_restart_and_history_is_kept(
    tmp_path: Path, procs: Callable[..., Proc]
) -> None:
    # `for: 3s` at a 1 s interval: without restoring, the alert would be pending again
    # for three evaluations after the restart; restored, it fires at the third evaluation
    # (Prometheus restores after the second).
    port = _configure(tmp_path, _rule("Sticky", for_="3s"), watch="0s")
    server = _start(tmp_path, procs, port, "server")
    base = f"http://127.0.0.1:{port}"
    (firing,) = wait_for(
        "the alert to fire",
        lambda: [a for a in _alerts(base) if a["state"] == "firing"] or None,
    )
    assert server.stop() == 0

    server = _start(tmp_path, procs, port, "server-2")
    (again,) = wait_for(
        "the alert to fire again",
        lambda: [a for a in _alerts(base) if a["state"] == "firing"] or None,
    )
    # its original start (stored in whole seconds, as Prometheus does), not the restart
    assert again["activeAt"][:19] == firing["activeAt"][:19]

    events = get_json(f"{base}/api/v1/alerts/history?rule=Sticky")["data"]["events"]
    states = [e["state"] for e in reversed(events)]
    assert states[:2] == ["pending", "firing"]  # before the restart
    assert states[2:] == ["pending", "firing"]  # after it: pending, then restored
    assert server.stop() == 0


NOTIFY = """
route: {receiver: ops}
receivers:
  - name: ops
    webhook_configs: [{url: 'http://127.0.0.1:9/hook'}]
"""


def test_a_bad_notification_configuration_stops_the_start_and_a_bad_reload_changes_nothing(
    tmp_path: Path, procs: Callable[..., Proc]
) -> None:
    notify = tmp_path / "notify.yml"
    port = _configure(tmp_path, _rule("First"), watch="0s", notify=notify)
    notify.write_text(
        "route: {receiver: ops}\nreceivers:\n  - name: ops\n"
        "    slack_configs: [{api_url: 'http://127.0.0.1:9/'}]\n"
    )
    server = _start(tmp_path, procs, port, "server")
    assert server.wait() == 2
    output = server.output()
    assert "the notification configuration is not valid" in output
    assert "slack://" in output  # what to use instead
    assert "Traceback" not in output

    notify.write_text(NOTIFY)
    server = _start(tmp_path, procs, port, "server-2")
    base = f"http://127.0.0.1:{port}"
    wait_for("the server", lambda: _rule_names(base) == ["First"] or None)
    request = urllib.request.Request(
        f"{base}/api/v1/alerts/rules",
        data=b'{"kind": "promql", "name": "ApiRule", "expr": "vector(1)", "channels": ["ops"]}',
        headers={"Content-Type": "application/json"},
        method="POST",
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        assert response.status == 201

    notify.write_text(NOTIFY.replace("ops", "team"))  # drops the rule's channel
    status, body = _post(f"{base}/-/reload")
    assert status == 500
    assert "drops receivers that alert rules use" in body
    notify.write_text(NOTIFY + "  - name: [broken\n")
    status, body = _post(f"{base}/-/reload")
    assert status == 500
    assert "the notification configuration is not valid" in body
    assert sorted(_rule_names(base) or []) == ["ApiRule", "First"]  # still running
    assert server.stop() == 0

    # Changed while the server was down: the stored rule's channel is gone. The server
    # starts anyway and says which rule lost which receiver.
    notify.write_text(NOTIFY.replace("ops", "team"))
    server = _start(tmp_path, procs, port, "server-3")
    wait_for("the server", lambda: sorted(_rule_names(base) or []) == ["ApiRule", "First"] or None)
    assert "names receiver 'ops', which the notification configuration does not have" in (
        server.output()
    )
    assert server.stop() == 0
