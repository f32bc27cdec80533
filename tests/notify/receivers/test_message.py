"""The default message (Alertmanager's title, our per-alert body with dashboard links),
custom templates over Alertmanager's data, and escaping of untrusted label values."""

from __future__ import annotations

import pytest

from multimonx.notify import Notification
from multimonx.notify.receivers.message import (
    MessageError,
    MessageTemplate,
    dashboard_link,
    escape_markdown,
)
from tests.notify.receivers.samples import alert, notification


@pytest.mark.parametrize(
    ("sent", "title"),
    [
        (notification(alert(), alert("host-08")), "[FIRING:2] HostCpuHigh (warning)"),
        (notification(alert()), "[FIRING:1] HostCpuHigh (host-07 warning)"),
        (notification(alert(), alert("h2", resolved=True)), "[FIRING:1] HostCpuHigh (warning)"),
        (notification(alert(resolved=True)), "[RESOLVED] HostCpuHigh (host-07 warning)"),
        (notification(alert(), group_by="instance"), "[FIRING:1] host-07 (HostCpuHigh warning)"),
        (
            notification(alert(), alert("h2", severity="critical")),
            "[FIRING:2] HostCpuHigh",  # nothing in common beyond the group labels
        ),
    ],
)
def test_the_default_title_is_alertmanagers(sent: Notification, title: str) -> None:
    assert MessageTemplate().render(sent).title == title


def test_the_default_body_describes_each_alert() -> None:
    sent = notification(
        alert(value=1234.5),
        alert("db 01/eu", summary="", value=float("nan"), resolved=True),
        alert(None, name="ScrapeFailing", severity="critical"),
        group_by="severity",
    )
    assert MessageTemplate().render(sent).body == (
        "[FIRING] HostCpuHigh\n"
        "Summary: CPU busy\n"
        "Severity: warning\n"
        "Host: host-07\n"
        "Value: 1.234k\n"
        "Started: 2026-12-07 09:54:59 UTC\n"
        "Dashboard: http://monitor.example:8080/hosts/host-07\n"
        "\n"
        "[RESOLVED] HostCpuHigh\n"
        "Severity: warning\n"
        "Host: db 01/eu\n"
        "Started: 2026-12-07 09:54:59 UTC\n"
        "Resolved: 2026-12-07 09:59:00 UTC\n"
        "Dashboard: http://monitor.example:8080/hosts/db%2001%2Feu\n"
        "\n"
        "[FIRING] ScrapeFailing\n"
        "Summary: CPU busy\n"
        "Severity: critical\n"
        "Value: 931.2m\n"
        "Started: 2026-12-07 09:54:59 UTC\n"
        "Dashboard: http://monitor.example:8080/alerts"
    )


@pytest.mark.parametrize(
    ("external_url", "instance", "link"),
    [
        ("http://m:8080", "host-07", "http://m:8080/hosts/host-07"),
        ("http://m:8080/", "host-07:9100", "http://m:8080/hosts/host-07%3A9100"),
        ("https://m/prefix/", "a?b#c", "https://m/prefix/hosts/a%3Fb%23c"),
        ("http://m", None, "http://m/alerts"),
    ],
)
def test_dashboard_links(external_url: str, instance: str | None, link: str) -> None:
    assert dashboard_link(external_url, alert(instance)) == link


def test_no_external_url_means_no_link() -> None:
    sent = notification(alert())
    bare = Notification(sent.receiver, sent.group_key, sent.group_labels, sent.alerts, sent.now)
    assert "Dashboard" not in MessageTemplate().render(bare).body


@pytest.mark.parametrize(
    ("text", "escaped"),
    [
        ("host-07", "host\\-07"),
        ("<script>alert(1)</script>", "\\<script\\>alert\\(1\\)\\</script\\>"),
        ("**b** _i_ `c` ~s~ |x|", "\\*\\*b\\*\\* \\_i\\_ \\`c\\` \\~s\\~ \\|x\\|"),
        (
            "[a](http://e) @everyone :smile: # h",
            "\\[a\\]\\(http\\://e\\) \\@everyone \\:smile\\: \\# h",
        ),
        ("back\\slash", "back\\\\slash"),
    ],
)
def test_markdown_escaping(text: str, escaped: str) -> None:
    assert escape_markdown(text) == escaped


def test_escaping_reaches_labels_in_the_default_message_and_templates() -> None:
    sent = notification(alert("<b>x</b>", severity="*loud*"))
    default = MessageTemplate().render(sent, escape_markdown)
    assert default.title == "[FIRING:1] HostCpuHigh (\\<b\\>x\\</b\\> \\*loud\\*)"
    assert "Host: \\<b\\>x\\</b\\>" in default.body
    assert "/hosts/%3Cb%3Ex%3C%2Fb%3E" in default.body  # the link stays a working URL
    custom = MessageTemplate(body="{{ range .Alerts }}{{ .Labels.severity }}{{ end }}")
    assert custom.render(sent, escape_markdown).body == "\\*loud\\*"
    assert custom.render(sent).body == "*loud*"


@pytest.mark.parametrize(
    ("title", "body", "message"),
    [
        ("{{ .Status", None, "invalid title template: template: title:1: unclosed action"),
        (None, "{{ end }}", "invalid body template: template: body:1: unexpected {{end}}"),
        (None, "{{ nosuch }}", 'invalid body template: template: body:1: function "nosuch"'),
    ],
)
def test_templates_that_do_not_parse_are_refused(
    title: str | None, body: str | None, message: str
) -> None:
    with pytest.raises(MessageError) as raised:
        MessageTemplate(title, body)
    assert str(raised.value).startswith(message)
