"""The apprise integration against real peers on 127.0.0.1: apprise's generic JSON, Slack
and Discord plugins posting to a recording HTTP server (their hard-coded endpoints pointed
at it), and e-mail through a real SMTP server (aiosmtpd)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from multimonx.notify import DeliveryError
from multimonx.notify.config import AppriseConfig
from multimonx.notify.receivers.appriseurl import AppriseIntegration, check_apprise_url, redact
from tests.notify.httpsink import DEADLINE, Answer, HttpSink
from tests.notify.receivers.samples import alert, notification
from tests.notify.smtpsink import Mailbox, smtp_server

SCRIPT = "<script>alert(1)</script>"


def integration(url: str, **options: Any) -> AppriseIntegration:
    return AppriseIntegration(AppriseConfig(url=url, **options), "ops", 1)


@pytest.mark.parametrize(
    ("url", "problem"),
    [
        ("json://127.0.0.1:9/x", None),
        ("slack://T1JJ3T3L2/A1BRTD4JD/TIiajkdnlazkcOXrIdevi7", None),
        ("discord://4174296324/abcdefgh", None),
        ("mailto://127.0.0.1:2525?from=alerts@example.com&to=ops@example.com", None),
        ("nosuch://token@host", "apprise does not support the nosuch:// scheme"),
        ("hooks.slack.com/services/x", "not an apprise URL"),
        ("slack://onlyonetoken", "apprise cannot use this slack:// URL"),
    ],
)
def test_urls_are_checked_naming_the_scheme_only(url: str, problem: str | None) -> None:
    found = check_apprise_url(url)
    if problem is None:
        assert found is None
    else:
        assert found is not None
        assert found.startswith(problem)
        assert "onlyonetoken" not in found
        assert "token@host" not in found


def test_an_unsupported_url_fails_at_construction() -> None:
    with pytest.raises(ValueError, match=r"apprise\[1\]: apprise does not support the nosuch://"):
        integration("nosuch://secret-token")


def test_a_template_that_does_not_parse_fails_at_construction() -> None:
    with pytest.raises(ValueError, match=r"invalid title template: template: title:1: "):
        integration("json://127.0.0.1:9/x", title="{{ .Status ")


def test_redaction_removes_every_part_of_the_url() -> None:
    url = "slack://T1JJ3T3L2/A1BRTD4JD/TIiajkdnlazkcOXrIdevi7?footer=no"
    text = "bad token TIiajkdnlazkcOXrIdevi7 for T1JJ3T3L2"
    assert redact(text, url) == "bad token *** for ***"


def test_generic_json_gets_title_and_body_as_text(sink: HttpSink) -> None:
    hook = integration(f"json://127.0.0.1:{sink.port}/notify", timeout=10)
    hook.notify(notification(alert(severity=SCRIPT), alert("host-08")))
    (request,) = sink.wait_for(1)
    assert request.path == "/notify"
    payload = request.json()
    assert payload["title"] == "[FIRING:2] HostCpuHigh"
    assert payload["type"] == "failure"
    body = payload["message"]
    assert f"Severity: {SCRIPT}" in body  # plain text: shown as written, nothing renders it
    assert "Dashboard: http://monitor.example:8080/hosts/host-07" in body
    assert hook.name == "apprise[1]"
    assert hook.scheme == "json"


def test_a_resolved_notification_is_a_success_message(sink: HttpSink) -> None:
    integration(f"json://127.0.0.1:{sink.port}/").notify(notification(alert(resolved=True)))
    payload = sink.wait_for(1)[0].json()
    assert payload["type"] == "success"
    assert payload["title"] == "[RESOLVED] HostCpuHigh (host-07 warning)"


def test_custom_templates_render_alertmanagers_data(sink: HttpSink) -> None:
    hook = integration(
        f"json://127.0.0.1:{sink.port}/",
        title="{{ .Status }} {{ .CommonLabels.alertname }} to {{ .Receiver }}",
        body=(
            "{{ range .Alerts.Firing }}{{ .Labels.instance }}={{ .Value | humanize }} "
            "since {{ .StartsAt }}{{ end }}|{{ len .Alerts.Resolved }}|{{ .ExternalURL }}"
        ),
    )
    hook.notify(notification(alert(value=1234.5), alert("h9", resolved=True)))
    payload = sink.wait_for(1)[0].json()
    assert payload["title"] == "firing HostCpuHigh to ops"
    assert payload["message"] == (
        "host-07=1.234k since 2026-12-07 09:54:59.75 +0000 UTC|1|http://monitor.example:8080"
    )


def test_a_template_failing_at_send_is_not_retryable(sink: HttpSink) -> None:
    hook = integration(f"json://127.0.0.1:{sink.port}/", body="{{ .NoSuchField }}")
    with pytest.raises(DeliveryError, match="can't evaluate field NoSuchField") as raised:
        hook.notify(notification(alert()))
    assert not raised.value.retryable
    assert sink.requests == []


@pytest.mark.parametrize("status", [500, 404])
def test_a_failed_send_carries_apprises_reason(sink: HttpSink, status: int) -> None:
    sink.always(Answer(status, b"broken"))
    hook = integration(f"json://user:hunter22@127.0.0.1:{sink.port}/path-secret")
    with pytest.raises(DeliveryError) as raised:
        hook.notify(notification(alert()))
    message = str(raised.value)
    assert message.startswith("ops/apprise[1] (json://): ")
    assert str(status) in message
    assert "hunter22" not in message
    assert "path-secret" not in message
    assert raised.value.retryable


def test_a_destination_that_does_not_answer_times_out(sink: HttpSink) -> None:
    sink.hold()
    with pytest.raises(DeliveryError) as raised:
        integration(f"json://127.0.0.1:{sink.port}/", timeout=0.5).notify(notification(alert()))
    assert raised.value.retryable  # the read timed out (apprise calls it a connection error)
    assert str(raised.value).startswith("ops/apprise[1] (json://): ")


def test_slack_gets_label_text_escaped(sink: HttpSink, monkeypatch: pytest.MonkeyPatch) -> None:
    from apprise.plugins.slack import NotifySlack

    monkeypatch.setattr(NotifySlack, "webhook_url", f"{sink.url}/services")
    sink.always(Answer(200, b"ok"))
    hook = integration("slack://T1JJ3T3L2/A1BRTD4JD/TIiajkdnlazkcOXrIdevi7")
    hook.notify(notification(alert(severity=SCRIPT, summary="<!channel> & <http://evil|x>")))
    (request,) = sink.wait_for(1)
    assert request.path == "/services/T1JJ3T3L2/A1BRTD4JD/TIiajkdnlazkcOXrIdevi7"
    text = str(request.json())
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in text
    assert "&lt;!channel&gt; &amp; &lt;http://evil|x&gt;" in text
    assert "<script>" not in text
    assert "<!channel>" not in text
    assert "[FIRING:1] HostCpuHigh" in text


def test_discord_gets_label_markdown_escaped(
    sink: HttpSink, monkeypatch: pytest.MonkeyPatch
) -> None:
    from apprise.plugins.discord import NotifyDiscord

    monkeypatch.setattr(NotifyDiscord, "notify_url", f"{sink.url}/api/webhooks")
    sink.always(Answer(204))
    hook = integration("discord://4174296324/abcdefghijkl")
    evil = "**bold** [click](http://evil) @everyone"
    hook.notify(notification(alert(severity=SCRIPT, summary=evil)))
    (request,) = sink.wait_for(1)
    assert request.path.startswith("/api/webhooks/4174296324/abcdefghijkl")
    content = str(request.json())
    assert (
        "\\\\*\\\\*bold\\\\*\\\\* \\\\[click\\\\]\\\\(http\\\\://evil\\\\) \\\\@everyone" in content
    )
    assert "\\\\<script\\\\>" in content
    assert "@everyone" not in content.replace("\\\\@everyone", "")


@pytest.fixture
def smtp() -> Iterator[tuple[int, Mailbox]]:
    with smtp_server() as server:
        yield server


def test_email_carries_host_severity_summary_and_link(smtp: tuple[int, Mailbox]) -> None:
    port, mailbox = smtp
    hook = integration(f"mailto://127.0.0.1:{port}?from=alerts@example.com&to=ops@example.com")
    hook.notify(notification(alert(summary=f"CPU at 93% {SCRIPT}")))
    with mailbox.arrived:
        assert mailbox.arrived.wait_for(lambda: mailbox.messages, DEADLINE)
    (message,) = mailbox.messages
    assert message["To"] == "ops@example.com"
    assert message["Subject"] == "[FIRING:1] HostCpuHigh (host-07 warning)"
    part = message.get_body(preferencelist=("plain", "html"))
    assert part is not None
    assert part.get_content_type() == "text/plain"
    text = part.get_content()
    for expected in (
        "Host: host-07",
        "Severity: warning",
        f"Summary: CPU at 93% {SCRIPT}",  # text/plain: no mail reader runs it
        "Dashboard: http://monitor.example:8080/hosts/host-07",
    ):
        assert expected in text
