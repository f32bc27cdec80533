"""The webhook integration posts Alertmanager 0.25's webhook payload and sorts failures
into retryable and not (the differential test against the real Alertmanager is in
test_alertmanager_parity.py)."""

from __future__ import annotations

import json

import pytest

from multimonx import __version__
from multimonx.notify import DeliveryError
from multimonx.notify.config import WebhookConfig
from multimonx.notify.receivers.webhook import (
    WebhookIntegration,
    go_json,
    go_time,
    webhook_payload,
)
from tests.notify.httpsink import Answer, HttpSink
from tests.notify.receivers.samples import EXTERNAL_URL, alert, notification


@pytest.mark.parametrize(
    ("seconds", "expected"),
    [
        (0.0, "1970-01-01T00:00:00Z"),
        (1_796_637_600.0, "2026-12-07T10:00:00Z"),
        (1_796_637_600.5, "2026-12-07T10:00:00.5Z"),
        (1_796_637_600.12, "2026-12-07T10:00:00.12Z"),
        (1_796_637_600.000001, "2026-12-07T10:00:00.000001Z"),
        (1_796_637_599.9999996, "2026-12-07T10:00:00Z"),  # rounds to the microsecond
        (-1.5, "1969-12-31T23:59:58.5Z"),
    ],
)
def test_times_are_written_as_go_writes_them(seconds: float, expected: str) -> None:
    assert go_time(seconds) == expected


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("ops", "ops"),
        ("team-a b", "team-a b"),
        ("a.b+c*", "a\\.b\\+c\\*"),
        ("[x]{1}", "\\[x\\]\\{1\\}"),
    ],
)
def test_the_receiver_is_quoted_as_alertmanager_quotes_it(name: str, expected: str) -> None:
    assert webhook_payload(notification(alert(), receiver=name))["receiver"] == expected


def test_the_payload_has_alertmanagers_fields_and_values() -> None:
    firing, resolved = alert("host-07"), alert("host-08", resolved=True, summary="done")
    payload = webhook_payload(notification(firing, resolved))
    assert list(payload) == [
        "receiver",
        "status",
        "alerts",
        "groupLabels",
        "commonLabels",
        "commonAnnotations",
        "externalURL",
        "version",
        "groupKey",
        "truncatedAlerts",
    ]
    assert payload["status"] == "firing"
    assert payload["version"] == "4"
    assert payload["groupKey"] == '{}:{alertname="HostCpuHigh"}'
    assert payload["groupLabels"] == {"alertname": "HostCpuHigh"}
    assert payload["commonLabels"] == {"alertname": "HostCpuHigh", "severity": "warning"}
    assert payload["commonAnnotations"] == {}
    assert payload["externalURL"] == EXTERNAL_URL
    assert payload["truncatedAlerts"] == 0
    assert payload["alerts"] == [
        {
            "status": "firing",
            "labels": {"alertname": "HostCpuHigh", "instance": "host-07", "severity": "warning"},
            "annotations": {"summary": "CPU busy"},
            "startsAt": "2026-12-07T09:54:59.75Z",
            "endsAt": "0001-01-01T00:00:00Z",  # not exposed while firing
            "generatorURL": "http://monitor.example:8080/graph?g0.expr=cpu",
            "fingerprint": firing.fingerprint,
        },
        {
            "status": "resolved",
            "labels": {"alertname": "HostCpuHigh", "instance": "host-08", "severity": "warning"},
            "annotations": {"summary": "done"},
            "startsAt": "2026-12-07T09:54:59.75Z",
            "endsAt": "2026-12-07T09:59:00Z",
            "generatorURL": "http://monitor.example:8080/graph?g0.expr=cpu",
            "fingerprint": resolved.fingerprint,
        },
    ]


def test_only_resolved_alerts_make_a_resolved_notification() -> None:
    payload = webhook_payload(notification(alert(resolved=True), alert("h2", resolved=True)))
    assert payload["status"] == "resolved"
    assert payload["commonAnnotations"] == {"summary": "CPU busy"}


@pytest.mark.parametrize(
    ("max_alerts", "kept", "truncated", "status"),
    [(0, 3, 0, "firing"), (5, 3, 0, "firing"), (3, 3, 0, "firing"), (2, 2, 1, "resolved")],
)
def test_max_alerts_keeps_the_first_alerts_and_counts_the_rest(
    max_alerts: int, kept: int, truncated: int, status: str
) -> None:
    alerts = (alert("h1", resolved=True), alert("h2", resolved=True), alert("h3"))
    payload = webhook_payload(notification(*alerts), max_alerts=max_alerts)
    assert len(payload["alerts"]) == kept
    assert payload["truncatedAlerts"] == truncated
    assert payload["status"] == status  # of the alerts kept, as Alertmanager computes it


def test_json_is_written_as_go_writes_it() -> None:
    assert go_json({"a": "<b>&</b>", "ü": "\u2028"}) == (
        b'{"a":"\\u003cb\\u003e\\u0026\\u003c/b\\u003e","\xc3\xbc":"\\u2028"}\n'
    )


def integration(sink: HttpSink, **options: object) -> WebhookIntegration:
    config = WebhookConfig(url=f"{sink.url}/hook?token=s3cret", **options)  # type: ignore[arg-type]
    return WebhookIntegration(config, "ops", 2)


def test_notify_posts_the_payload(sink: HttpSink) -> None:
    hook = integration(sink, max_alerts=1)
    sent = notification(alert(summary="<script>alert(1)</script>"), alert("h2"))
    hook.notify(sent)
    (request,) = sink.wait_for(1)
    assert (request.method, request.path) == ("POST", "/hook?token=s3cret")
    assert request.headers["content-type"] == "application/json"
    assert request.headers["user-agent"] == f"MultiMonX/{__version__}"
    assert request.body.endswith(b"\n")
    assert b"\\u003cscript\\u003e" in request.body
    assert request.json() == json.loads(go_json(webhook_payload(sent, max_alerts=1)))
    assert hook.name == "webhook[2]"
    assert hook.send_resolved


@pytest.mark.parametrize(
    ("status", "retryable"),
    [
        (500, True),
        (502, True),
        (503, True),
        (429, True),
        (400, False),
        (401, False),
        (404, False),
        (301, False),
    ],
)
def test_failed_answers_raise_with_status_and_excerpt(
    sink: HttpSink, status: int, retryable: bool
) -> None:
    sink.answer(Answer(status, b"nope: <b>broken</b>\n" + b"x" * 500, {"Location": "/elsewhere"}))
    with pytest.raises(DeliveryError) as raised:
        integration(sink).notify(notification(alert()))
    message = str(raised.value)
    assert raised.value.retryable is retryable
    assert f"HTTP {status}" in message
    assert "nope: <b>broken</b>" in message
    assert len(message) < 400  # an excerpt, not the whole body
    assert "s3cret" not in message
    assert "/hook" not in message
    assert len(sink.requests) == 1  # no redirect followed, no retry here


@pytest.mark.parametrize("status", [200, 201, 202, 204])
def test_any_2xx_answer_is_a_delivery(sink: HttpSink, status: int) -> None:
    sink.answer(Answer(status))
    integration(sink).notify(notification(alert()))


def test_a_refused_connection_is_retryable() -> None:
    closed = HttpSink().start()
    closed.close()
    with pytest.raises(DeliveryError) as raised:
        integration(closed).notify(notification(alert()))
    assert raised.value.retryable
    assert f"127.0.0.1:{closed.port}" in str(raised.value)


def test_a_webhook_that_does_not_answer_in_time_is_retryable(sink: HttpSink) -> None:
    sink.hold()
    with pytest.raises(DeliveryError) as raised:
        integration(sink, timeout=0.2).notify(notification(alert()))
    assert raised.value.retryable
    assert "timed out" in str(raised.value)


def test_a_negative_max_alerts_is_refused() -> None:
    with pytest.raises(ValueError, match="max_alerts"):
        WebhookIntegration(WebhookConfig(url="http://127.0.0.1:1/", max_alerts=-1), "ops", 0)
