"""Alerting end to end: rules evaluated by a real server, routed by its notification
configuration, delivered to real peers: an SMTP server (aiosmtpd), local HTTP receivers in
Slack, Discord, generic JSON and Alertmanager-webhook shape, and a real Alertmanager 0.25
through its API v2. Grouping, inhibition, silences, the repeat interval and a receiver that
fails before it recovers behave as configured.

The server runs in this process (``ServerRuntime`` on a thread, serving on 127.0.0.1) so
that apprise's hard-coded Slack and Discord endpoints can be pointed at a local receiver.
"""

from __future__ import annotations

import asyncio
import json
import textwrap
import threading
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from multimonx.cli.server import ServerRuntime
from multimonx.config import ServerConfig
from multimonx.config.loader import load_file
from tests.integration.conftest import free_port, get_json, wait_for
from tests.notify.alertmanager import alertmanager
from tests.notify.httpsink import Answer, HttpSink, Recorded, http_sink
from tests.notify.smtpsink import Mailbox, smtp_server

pytestmark = pytest.mark.integration

REPEAT_S = 6.0

RULES = """
groups:
  - name: e2e
    interval: 1s
    rules:
      - alert: MailMe
        expr: label_replace(vector(93), "instance", "host-mail", "", "")
        labels: {channel: mail, severity: warning}
        annotations: {summary: "CPU on {{ $labels.instance }} is {{ $value }}%"}
      - alert: ChatMe
        expr: vector(1)
        labels: {channel: chat, severity: critical, instance: "host-<script>"}
        annotations: {summary: "chat <b>alert</b>"}
      - alert: JsonMe
        expr: vector(1)
        labels: {channel: json, severity: warning, instance: host-json}
        annotations: {summary: json alert}
      - alert: Flaky
        expr: vector(1)
        labels: {channel: flaky, severity: warning, instance: host-flaky}
        annotations: {summary: flaky receiver}
      - alert: Grouped
        expr: >-
          label_replace(vector(1), "instance", "host-a", "", "")
          or label_replace(vector(2), "instance", "host-b", "", "")
        labels: {severity: warning}
        annotations: {summary: "{{ $labels.instance }} grouped"}
      - alert: Outage
        expr: vector(1)
        labels: {severity: critical, zone: eu}
      - alert: SlowDisk
        expr: >-
          label_replace(vector(1), "zone", "eu", "", "")
          or label_replace(vector(1), "zone", "us", "", "")
        labels: {severity: warning}
"""

SILENCED_RULE = """
      - alert: Silenced
        expr: vector(1)
        labels: {severity: warning, instance: host-quiet}
"""


def _notify_config(hook: str, flaky: str, smtp_port: int, json_port: int) -> str:
    return textwrap.dedent(
        f"""
        route:
          receiver: hook
          group_by: [alertname]
          group_wait: 1s
          group_interval: 2s
          repeat_interval: {REPEAT_S:g}s
          routes:
            - matchers: ['channel="mail"']
              receiver: mail
            - matchers: ['channel="chat"']
              receiver: chat
            - matchers: ['channel="json"']
              receiver: json
            - matchers: ['channel="flaky"']
              receiver: flaky
              repeat_interval: 1h
        inhibit_rules:
          - source_matchers: ['alertname="Outage"']
            target_matchers: ['severity="warning"']
            equal: [zone]
        receivers:
          - name: hook
            webhook_configs: [{{url: '{hook}'}}]
          - name: flaky
            webhook_configs: [{{url: '{flaky}'}}]
          - name: mail
            apprise_configs:
              - url: 'mailto://127.0.0.1:{smtp_port}?from=alerts@example.com&to=ops@example.com'
          - name: chat
            apprise_configs:
              - url: slack://T1JJ3T3L2/A1BRTD4JD/TIiajkdnlazkcOXrIdevi7
              - url: discord://4174296324/abcdefghijkl
          - name: json
            apprise_configs:
              - url: json://127.0.0.1:{json_port}/alerts
        """
    )


@dataclass
class _Peers:
    hook: HttpSink
    flaky: HttpSink
    chat: HttpSink
    json: HttpSink
    mailbox: Mailbox
    smtp_port: int


@dataclass
class _Server:
    base: str
    runtime: ServerRuntime
    rules_path: Path


def _run_server(runtime: ServerRuntime) -> tuple[threading.Thread, threading.Event]:
    started = threading.Event()

    def serve() -> None:
        asyncio.run(runtime.serve(lambda url: started.set()))

    thread = threading.Thread(target=serve, name="e2e-server", daemon=True)
    thread.start()
    assert started.wait(60), "the server did not start"
    return thread, started


@pytest.fixture
def peers(monkeypatch: pytest.MonkeyPatch) -> Iterator[_Peers]:
    from apprise.plugins.discord import NotifyDiscord
    from apprise.plugins.slack import NotifySlack

    with (
        smtp_server() as (smtp_port, mailbox),
        http_sink() as hook,
        http_sink() as flaky,
        http_sink() as chat,
        http_sink() as json_,
    ):
        monkeypatch.setattr(NotifySlack, "webhook_url", f"{chat.url}/slack")
        monkeypatch.setattr(NotifyDiscord, "notify_url", f"{chat.url}/discord")
        chat.always(Answer(200, b"ok"))
        # the flaky receiver fails three times (500, 503, 429) before it recovers
        flaky.answer(Answer(500), Answer(503), Answer(429))
        yield _Peers(hook, flaky, chat, json_, mailbox, smtp_port)


@pytest.fixture
def server(tmp_path: Path, peers: _Peers) -> Iterator[_Server]:
    (tmp_path / "am").mkdir()
    with alertmanager(
        tmp_path / "am", "route: {receiver: none}\nreceivers: [{name: none}]\n"
    ) as am:
        rules = tmp_path / "rules.yml"
        rules.write_text(RULES)
        notify = tmp_path / "notify.yml"
        notify.write_text(
            _notify_config(
                f"{peers.hook.url}/hook",
                f"{peers.flaky.url}/flaky",
                peers.smtp_port,
                peers.json.port,
            )
        )
        port = free_port()
        (tmp_path / "server.yml").write_text(
            f"listen_address: 127.0.0.1:{port}\n"
            "storage: {engine: memory}\n"
            f"rules: {{files: ['{rules}'], default_pack: false,"
            " external_url: 'http://monitor.example:9470'}\n"
            f"alerting: {{config_file: '{notify}', alertmanagers: ['{am.base}'],"
            " watch_interval: 0s}\n"
        )
        config = load_file(tmp_path / "server.yml", ServerConfig)
        runtime = ServerRuntime(config, tmp_path / "data")
        thread, _ = _run_server(runtime)
        try:
            yield _Server(f"http://127.0.0.1:{port}", runtime, rules)
            forwarded = wait_for(
                "the alerts forwarded to Alertmanager",
                lambda: (
                    {a["labels"]["alertname"] for a in am.alerts()} >= {"ChatMe", "Grouped"} or None
                ),
            )
            assert forwarded
        finally:
            runtime._uvicorn.should_exit = True
            thread.join(60)
            runtime.close()


def _payloads(sink: HttpSink, path: str = "") -> list[dict[str, Any]]:
    return [r.json() for r in list(sink.requests) if r.path.startswith(path)]


def _firing(sink: HttpSink, alertname: str) -> list[dict[str, Any]]:
    """The webhook payloads (answered or not) that carry ``alertname`` firing."""
    return [
        p
        for p in _payloads(sink)
        if any(
            a["labels"].get("alertname") == alertname and a["status"] == "firing"
            for a in p.get("alerts", [])
        )
    ]


def _post_json(url: str, body: Any, method: str = "POST") -> Any:
    request = urllib.request.Request(
        url,
        data=json.dumps(body).encode(),
        headers={"Content-Type": "application/json"},
        method=method,
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        text = response.read()
        return json.loads(text) if text else None


def test_alerts_reach_every_kind_of_receiver(server: _Server, peers: _Peers) -> None:
    # e-mail through a real SMTP server
    message = peers.mailbox.wait()
    assert message["Subject"] == "[FIRING:1] MailMe (mail host-mail warning)"
    body = message.get_body(preferencelist=("plain", "html"))
    assert body is not None
    text = body.get_content()
    for expected in (
        "Host: host-mail",
        "Severity: warning",
        "Summary: CPU on host-mail is 93%",
        "Dashboard: http://monitor.example:9470/hosts/host-mail",
    ):
        assert expected in text

    # Slack and Discord shapes, label text escaped for each
    slack = wait_for("the Slack message", lambda: _payloads(peers.chat, "/slack") or None)
    discord = wait_for("the Discord message", lambda: _payloads(peers.chat, "/discord") or None)
    slack_text, discord_text = json.dumps(slack[0]), json.dumps(discord[0])
    assert "[FIRING:1] ChatMe" in slack_text
    assert "host-&lt;script&gt;" in slack_text
    assert "<script>" not in slack_text
    assert "[FIRING:1] ChatMe" in discord_text
    assert "<script>" not in discord_text.replace("\\\\<script\\\\>", "")

    # generic JSON (apprise's json://)
    (generic, *_) = wait_for("the JSON message", lambda: _payloads(peers.json, "/alerts") or None)
    assert generic["title"] == "[FIRING:1] JsonMe (json host-json warning)"
    assert "Summary: json alert" in generic["message"]

    # Alertmanager's webhook payload, two alerts grouped by alertname in one notification
    (grouped, *_) = wait_for("the grouped webhook", lambda: _firing(peers.hook, "Grouped") or None)
    assert grouped["version"] == "4"
    assert grouped["receiver"] == "hook"
    assert grouped["groupLabels"] == {"alertname": "Grouped"}
    assert grouped["commonLabels"] == {"alertname": "Grouped", "severity": "warning"}
    assert grouped["externalURL"] == "http://monitor.example:9470"
    assert sorted(a["labels"]["instance"] for a in grouped["alerts"]) == ["host-a", "host-b"]
    assert {a["annotations"]["summary"] for a in grouped["alerts"]} == {
        "host-a grouped",
        "host-b grouped",
    }
    assert all(
        a["generatorURL"].startswith("http://monitor.example:9470/graph?g0.expr=")
        for a in grouped["alerts"]
    )


def test_inhibition_repeat_interval_and_a_recovering_receiver(
    server: _Server, peers: _Peers
) -> None:
    # the flaky receiver: three failures, then one delivery, and nothing more within its
    # repeat interval (1 h)
    wait_for("the flaky delivery", lambda: len(_firing(peers.flaky, "Flaky")) >= 4 or None)
    # Grouped repeats on the hook after repeat_interval: two notifications, REPEAT_S apart
    wait_for("Grouped repeated", lambda: len(_firing(peers.hook, "Grouped")) >= 2 or None)
    first, second, *_ = [r.at for r in list(peers.hook.requests) if _is_firing(r, "Grouped")]
    # Not before the repeat interval, at the first flush after it (group_interval 2 s).
    # Arrival times carry each delivery's own delay, hence the margins: without the
    # notification log, the repeat would come at the next flush, 2 s later.
    assert REPEAT_S - 1.5 <= second - first <= REPEAT_S + 2.0 + 3.0
    assert len(_firing(peers.flaky, "Flaky")) == 4  # 3 refused + 1 delivered, no more
    stats = get_json(f"{server.base}/api/v1/notifications")
    flaky = [s for s in _stats(stats) if s["receiver"] == "flaky"]
    assert flaky
    assert flaky[0]["failed"] >= 3
    assert flaky[0]["sent"] == 1

    # inhibition: SlowDisk in the Outage's zone never goes out, the other zone's does
    slow = _firing(peers.hook, "SlowDisk")
    assert slow
    zones = {a["labels"]["zone"] for p in slow for a in p["alerts"] if a["status"] == "firing"}
    assert zones == {"us"}
    alerts = get_json(f"{server.base}/api/v2/alerts?filter=alertname%3D%22SlowDisk%22")
    states = {a["labels"]["zone"]: a["status"] for a in alerts}
    assert states["eu"]["state"] == "suppressed"
    assert states["eu"]["inhibitedBy"]
    assert states["us"]["state"] == "active"


def _is_firing(request: Recorded, alertname: str) -> bool:
    body = request.json()
    return any(
        a["labels"].get("alertname") == alertname and a["status"] == "firing"
        for a in body.get("alerts", [])
    )


def _stats(body: Any) -> list[dict[str, Any]]:
    stats: list[dict[str, Any]] = body["data"]
    return stats


def test_a_silence_mutes_an_alert_until_it_is_expired(server: _Server, peers: _Peers) -> None:
    now = time.time()
    silence = _post_json(
        f"{server.base}/api/v2/silences",
        {
            "matchers": [
                {"name": "alertname", "value": "Silenced", "isRegex": False, "isEqual": True}
            ],
            "startsAt": _rfc3339(now - 1),
            "endsAt": _rfc3339(now + 3600),
            "createdBy": "e2e",
            "comment": "maintenance",
        },
    )
    silence_id = silence["silenceID"]
    server.rules_path.write_text(RULES + SILENCED_RULE)
    urllib.request.urlopen(
        urllib.request.Request(f"{server.base}/-/reload", method="POST", data=b""), timeout=30
    ).close()

    def suppressed() -> bool | None:
        alerts = get_json(f"{server.base}/api/v2/alerts?filter=alertname%3D%22Silenced%22")
        return (bool(alerts) and alerts[0]["status"]["silencedBy"] == [silence_id]) or None

    wait_for("the alert silenced", suppressed)
    # Let the hook's groups flush a few times (Grouped repeats) while the silence holds.
    seen = len(_firing(peers.hook, "Grouped"))
    wait_for("more flushes", lambda: len(_firing(peers.hook, "Grouped")) > seen or None, 60)
    assert _firing(peers.hook, "Silenced") == []

    request = urllib.request.Request(f"{server.base}/api/v2/silence/{silence_id}", method="DELETE")
    urllib.request.urlopen(request, timeout=30).close()
    listed = get_json(f"{server.base}/api/v2/silences")
    (expired,) = [s for s in listed if s["id"] == silence_id]
    assert expired["status"]["state"] == "expired"
    wait_for("the alert after the silence", lambda: _firing(peers.hook, "Silenced") or None)


def _rfc3339(t: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(t)) + "Z"
