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


def _configure(tmp_path: Path, rules: str, watch: str) -> int:
    (tmp_path / "rules.yml").write_text(rules)
    port = free_port()
    (tmp_path / "server.yml").write_text(
        f"listen_address: 127.0.0.1:{port}\n"
        f"rules: {{files: ['{tmp_path / 'rules.yml'}'], default_pack: false,"
        " evaluation_interval: 1s}\n"
        f"alerting: {{watch_interval: {watch}}}\n"
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
