"""Differential test: the real Alertmanager 0.25 and our webhook integration, given the same
alerts, post the same webhook payload, byte for byte.

Alertmanager receives the alerts on its API v2 and notifies a webhook on the recording
server; we build the Notification the dispatcher would build for the same group (same
receiver, group key, alert order, external URL) and compare. Conditions that make the bytes
equal, documented rather than hidden: times are posted to Alertmanager in UTC (it echoes
the offset a client used, ours are always UTC) and with at most microsecond precision (a
float second holds no more); the dispatcher orders a group's alerts as Alertmanager does
(by ``job``, then ``instance``, then the label set) and writes group keys as
``<route key>:<group labels>``, e.g. ``{}:{alertname="HostCpuHigh"}``.
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from multimonx.model import Labels
from multimonx.notify import Alert, Notification
from multimonx.notify.receivers.webhook import go_json, go_time, webhook_payload
from tests.notify.alertmanager import alertmanager
from tests.notify.httpsink import HttpSink

RECEIVER = "team.ops+pager"  # Alertmanager quotes it as a regexp
EXTERNAL_URL = "http://monitor.example:8080/prefix"


def config(sink: HttpSink) -> str:
    return f"""
route:
  receiver: '{RECEIVER}'
  group_by: [alertname]
  group_wait: 3s
  group_interval: 1s
  repeat_interval: 1h
receivers:
- name: '{RECEIVER}'
  webhook_configs:
  - url: {sink.url}/all
  - url: {sink.url}/two
    max_alerts: 2
"""


def alerts(now: float) -> list[Alert]:
    """Three alerts of one group, in Alertmanager's order (by instance): firing, resolved,
    firing. All started within the last two seconds: Alertmanager flushes a new group at
    once when an alert is older than group_wait, which could split the three."""

    def one(instance: str, summary: str, starts: float, ends: float) -> Alert:
        return Alert(
            labels=Labels(
                {"alertname": "HostCpuHigh", "instance": instance, "severity": "warning"}.items()
            ),
            annotations=Labels({"summary": summary, "runbook": "https://wiki/cpu?a=1&b=2"}.items()),
            starts_at=starts,
            ends_at=ends,
            generator_url="http://monitor.example:8080/graph?g0.expr=cpu%3E0.9",
        )

    start = float(int(now) - 1) + 0.125
    return [
        one("host-07", "CPU at 93%", start, now + 3600),
        one("host-08", "CPU back to normal", start - 0.5, now - 0.25),
        one("host-09", "<script>alert(1)</script> & more", start + 0.75, now + 3600),
    ]


def postable(alert: Alert) -> dict[str, object]:
    return {
        "labels": dict(alert.labels.pairs),
        "annotations": dict(alert.annotations.pairs),
        "startsAt": go_time(alert.starts_at),
        "endsAt": go_time(alert.ends_at),
        "generatorURL": alert.generator_url,
    }


@pytest.mark.integration
def test_our_webhook_payload_is_alertmanagers(tmp_path: Path, sink: HttpSink) -> None:
    now = time.time()
    sent = alerts(now)
    with alertmanager(tmp_path, config(sink), external_url=EXTERNAL_URL) as am:
        am.post_alerts([postable(a) for a in sent])
        first = sink.wait_for(2)
    theirs = {r.path: r for r in reversed(first)}
    assert theirs["/all"].headers["content-type"] == "application/json"

    ours_notification = Notification(
        receiver=RECEIVER,
        group_key='{}:{alertname="HostCpuHigh"}',
        group_labels=Labels({"alertname": "HostCpuHigh"}.items()),
        alerts=tuple(sent),
        now=time.time(),
        external_url=EXTERNAL_URL,
    )
    for path, max_alerts in (("/all", 0), ("/two", 2)):
        ours = webhook_payload(ours_notification, max_alerts=max_alerts)
        assert ours == theirs[path].json(), path  # readable diff first
        assert go_json(ours) == theirs[path].body, path  # then the exact bytes
