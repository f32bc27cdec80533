"""The forwarder posts alerts to Alertmanagers' API v2 in batches from bounded queues,
retries retryable failures, counts everything, and drains at stop; against a recording
HTTP server and against a real Alertmanager."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from multimonx.model import Labels, MetricType
from multimonx.notify import Alert
from multimonx.notify.forward import AlertmanagerForwarder, ForwardStats
from tests.notify.alertmanager import alertmanager
from tests.notify.httpsink import DEADLINE, Answer, HttpSink, http_sink

T0 = 1_796_637_600.0


def alert(n: int, *, resolved: bool = False, t0: float = T0) -> Alert:
    return Alert(
        labels=Labels({"alertname": "HostDown", "instance": f"host-{n:02d}"}.items()),
        annotations=Labels({"summary": f"host {n} is down"}.items()),
        starts_at=t0 + n,
        ends_at=t0 + 60 if resolved else t0 + 4 * 3600,
        generator_url="http://monitor.example/graph" if n % 2 else "",
    )


@pytest.fixture
def sink() -> Iterator[HttpSink]:
    with http_sink() as server:
        yield server


def forwarder(*urls: str, **options: object) -> AlertmanagerForwarder:
    settings: dict[str, object] = {"timeout": 5.0, "backoff": (0.01, 0.05)} | options
    return AlertmanagerForwarder(list(urls), **settings)  # type: ignore[arg-type]


def millis(seconds: float) -> str:
    """A time as Alertmanager's API writes it (UTC, milliseconds)."""
    moment = datetime.fromtimestamp(seconds, UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def wait_stats(fwd: AlertmanagerForwarder, done: int) -> list[ForwardStats]:
    """The stats once every queue has settled ``done`` alerts (sent or failed)."""
    end = time.monotonic() + DEADLINE
    while time.monotonic() < end:
        stats = fwd.stats()
        if all(s.sent + s.failed + s.dropped >= done for s in stats):
            return stats
        time.sleep(0.01)
    raise AssertionError(f"not settled: {fwd.stats()}")


def test_alerts_are_posted_as_postable_alerts_in_batches(sink: HttpSink) -> None:
    fwd = forwarder(sink.url + "/prefix/", batch_size=2)
    fwd.send([alert(1), alert(2), alert(3, resolved=True)])
    fwd.start()
    try:
        first, second = sink.wait_for(2)
    finally:
        fwd.stop()
    assert first.path == second.path == "/prefix/api/v2/alerts"
    assert first.headers["content-type"] == "application/json"
    assert [len(first.json()), len(second.json())] == [2, 1]
    assert first.json()[1] == {
        "labels": {"alertname": "HostDown", "instance": "host-02"},
        "annotations": {"summary": "host 2 is down"},
        "startsAt": "2026-12-07T10:00:02Z",
        "endsAt": "2026-12-07T14:00:00Z",
    }
    assert second.json()[0]["endsAt"] == "2026-12-07T10:01:00Z"
    assert second.json()[0]["generatorURL"] == "http://monitor.example/graph"
    assert fwd.stats() == [ForwardStats(f"{sink.url}/prefix/api/v2/alerts", 3, 0, 0, 0)]


def test_a_full_queue_drops_the_oldest_alerts(sink: HttpSink) -> None:
    fwd = forwarder(sink.url, queue_capacity=3, batch_size=10)
    fwd.send([alert(1), alert(2)])
    fwd.send([alert(3), alert(4), alert(5)])
    assert fwd.stats()[0].dropped == 2
    assert fwd.stats()[0].queued == 3
    fwd.start()
    (request,) = sink.wait_for(1)
    fwd.stop()
    assert [a["labels"]["instance"] for a in request.json()] == ["host-03", "host-04", "host-05"]
    assert fwd.stats()[0] == ForwardStats(f"{sink.url}/api/v2/alerts", 3, 0, 2, 0)


@pytest.mark.parametrize(
    ("answers", "requests", "sent", "failed"),
    [
        ([Answer(503), Answer(429), Answer(200)], 3, 1, 0),  # retried with backoff
        ([Answer(500), Answer(502), Answer(503)], 3, 0, 1),  # attempts exhausted
        ([Answer(400, b"bad alert")], 1, 0, 1),  # final at once
    ],
)
def test_failures_are_retried_when_retryable(
    sink: HttpSink, answers: list[Answer], requests: int, sent: int, failed: int
) -> None:
    sink.answer(*answers)
    fwd = forwarder(sink.url, max_attempts=3)
    fwd.send([alert(1)])
    fwd.start()
    try:
        (stats,) = wait_stats(fwd, 1)
    finally:
        fwd.stop()
    assert (stats.sent, stats.failed) == (sent, failed)
    assert len(sink.requests) == requests


def test_every_alertmanager_gets_every_alert() -> None:
    with http_sink() as one, http_sink() as two:
        fwd = forwarder(one.url, two.url)
        fwd.start()
        fwd.send([alert(1), alert(2)])
        one.wait_for(1)
        two.wait_for(1)
        fwd.stop()
        assert [s.sent for s in fwd.stats()] == [2, 2]


def test_stop_drains_the_queue(sink: HttpSink) -> None:
    fwd = forwarder(sink.url, batch_size=1)
    fwd.start()
    fwd.send([alert(n) for n in range(5)])
    fwd.stop(drain_timeout=DEADLINE)
    assert fwd.stats()[0].sent == 5
    assert len(sink.requests) == 5
    fwd.send([alert(9)])  # too late: counted, not queued
    assert fwd.stats()[0] == ForwardStats(f"{sink.url}/api/v2/alerts", 5, 0, 1, 0)


def test_stop_gives_up_on_an_alertmanager_that_does_not_answer(sink: HttpSink) -> None:
    sink.hold()
    fwd = forwarder(sink.url, batch_size=1, timeout=0.2)
    fwd.start()
    fwd.send([alert(n) for n in range(3)])
    sink.wait_for(1)
    fwd.stop(drain_timeout=0.0)
    (stats,) = fwd.stats()
    assert stats.sent == 0
    assert stats.failed + stats.dropped == 3
    assert stats.queued == 0


def test_metrics_report_each_alertmanager(sink: HttpSink) -> None:
    fwd = forwarder(sink.url, queue_capacity=1)
    fwd.send([alert(1), alert(2)])
    families = {f.name: f for f in fwd.metrics()}
    label = (f"{sink.url}/api/v2/alerts",)
    assert families["multimonx_notifications_dropped_total"].samples == ((label, 1.0),)
    assert families["multimonx_notifications_queue_length"].samples == ((label, 1.0),)
    assert families["multimonx_notifications_sent_total"].type is MetricType.COUNTER
    assert families["multimonx_notifications_queue_capacity"].samples == (((), 1.0),)
    assert set(families) == {
        "multimonx_notifications_sent_total",
        "multimonx_notifications_errors_total",
        "multimonx_notifications_dropped_total",
        "multimonx_notifications_queue_length",
        "multimonx_notifications_queue_capacity",
    }


def test_credentials_stay_out_of_the_alertmanager_label() -> None:
    fwd = forwarder("http://user:secret@127.0.0.1:9/am?token=x")
    assert fwd.stats()[0].alertmanager == "http://127.0.0.1:9/am/api/v2/alerts"


@pytest.mark.parametrize("url", ["ftp://127.0.0.1/", "127.0.0.1:9093"])
def test_alertmanager_urls_must_be_http(url: str) -> None:
    with pytest.raises(ValueError, match="http"):
        forwarder(url)


@pytest.mark.integration
def test_a_real_alertmanager_receives_the_alerts(tmp_path: Path) -> None:
    config = "route:\n  receiver: sink\nreceivers:\n- name: sink\n"
    with alertmanager(tmp_path, config) as am:
        fwd = forwarder(am.base)
        fwd.start()
        t0 = float(int(time.time()) - 60)  # Alertmanager keeps alerts that have not ended
        firing = [alert(1, t0=t0), alert(2, t0=t0)]
        fwd.send(firing)
        wait_stats(fwd, 2)
        fwd.stop()
        assert fwd.stats()[0].sent == 2
        got = sorted(am.alerts(), key=lambda a: a["labels"]["instance"])
    assert [a["labels"] for a in got] == [dict(a.labels.pairs) for a in firing]
    assert [a["annotations"] for a in got] == [dict(a.annotations.pairs) for a in firing]
    assert [a["startsAt"] for a in got] == [millis(t0 + 1), millis(t0 + 2)]
    assert [a["endsAt"] for a in got] == [millis(t0 + 4 * 3600)] * 2
    assert got[0]["generatorURL"] == "http://monitor.example/graph"
    assert [a["fingerprint"] for a in got] == [a.fingerprint for a in firing]
    assert all(a["status"]["state"] == "active" for a in got)
