"""The dispatcher: grouping, timers, muting, dedup, retries, persistence and reloads, driven
by ``tick`` on a fake clock, with recording integrations on the real delivery threads."""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import cast

import pytest

from multimonx.model import Labels, Matcher
from multimonx.notify import (
    Alert,
    Dispatcher,
    GroupStatus,
    Integration,
    NotificationLog,
    Route,
    RouteOpts,
    Silence,
    Silences,
)
from multimonx.notify.config import InhibitRule, NotifyConfig, ReceiverConfig
from multimonx.notify.timeinterval import TimeInterval
from tests.notify.recording import FakeClock, RecordingIntegration

T0 = 1_800_000_000.0
FOREVER = T0 + 10**7


def alert(name: str = "HighCPU", starts: float = T0, ends: float = FOREVER, **labels: str) -> Alert:
    return Alert(Labels.of(alertname=name, **labels), Labels.of(summary=name), starts, ends)


def config(
    route: Route | None = None,
    *,
    receivers: Sequence[str] = ("team",),
    inhibit: Sequence[InhibitRule] = (),
    intervals: Mapping[str, object] | None = None,
) -> NotifyConfig:
    return NotifyConfig(
        route=route or Route(opts("team")),
        receivers={r: ReceiverConfig(r) for r in receivers},
        inhibit_rules=tuple(inhibit),
        # the tests' windows are TimeInterval's stand-ins: anything with contains(t)
        time_intervals=cast(Mapping[str, TimeInterval], intervals or {}),
    )


def opts(receiver: str, **kwargs: object) -> RouteOpts:
    base: dict[str, object] = {
        "group_by": ("alertname",),
        "group_wait": 30.0,
        "group_interval": 300.0,
        "repeat_interval": 3600.0,
    }
    base.update(kwargs)
    return RouteOpts(receiver, **base)  # type: ignore[arg-type]


class Harness:
    """A dispatcher on a fake clock; ``at(t)`` moves the clock, ticks and waits for the
    integrations to finish."""

    def __init__(
        self,
        cfg: NotifyConfig,
        integrations: Mapping[str, Sequence[Integration]],
        nflog: NotificationLog | None = None,
        silences: Silences | None = None,
        start: float = T0,
    ) -> None:
        self.clock = FakeClock(start)
        self.nflog = nflog or NotificationLog(clock=self.clock)
        self.silences = silences or Silences(clock=self.clock)
        self.d = Dispatcher(
            cfg, integrations, nflog=self.nflog, silences=self.silences, clock=self.clock
        )

    def put(self, *alerts: Alert, at: float | None = None) -> None:
        if at is not None:
            self.clock.now = at
        self.d.put(alerts)

    def at(self, t: float) -> None:
        self.clock.now = t
        self.d.tick(t)
        assert self.d.settle(30.0)

    def run(self, start: float, end: float, step: float) -> None:
        t = start
        while t <= end:
            self.at(t)
            t += step


@pytest.fixture
def hook() -> RecordingIntegration:
    return RecordingIntegration()


def make(cfg: NotifyConfig, **integrations: RecordingIntegration) -> Harness:
    return Harness(cfg, {name: [i] for name, i in integrations.items()})


def test_group_wait_then_group_interval_then_repeat_interval(hook: RecordingIntegration) -> None:
    h = make(config(), team=hook)
    h.put(alert(instance="a"))
    h.at(T0 + 29)
    assert hook.delivered == []
    h.at(T0 + 30)
    assert hook.names() == [["HighCPU@a"]]
    h.put(alert(instance="b", starts=T0 + 40), at=T0 + 40)
    h.at(T0 + 300)
    assert len(hook.delivered) == 1  # the next flush is group_interval after the first
    h.at(T0 + 330)
    assert hook.names()[1] == ["HighCPU@a", "HighCPU@b"]
    h.run(T0 + 630, T0 + 3630, 300)  # nothing new: no repeat before repeat_interval
    assert len(hook.delivered) == 2
    h.at(T0 + 3930)  # logged at 330, repeated at 330 + 3600
    assert len(hook.delivered) == 3
    note = hook.delivered[-1]
    assert note.receiver == "team"
    assert note.group_key == '{}:{alertname="HighCPU"}'
    assert note.group_labels == Labels.of(alertname="HighCPU")
    assert note.status is GroupStatus.FIRING


def test_an_alert_older_than_group_wait_flushes_at_once(hook: RecordingIntegration) -> None:
    h = make(config(), team=hook)
    h.put(alert(starts=T0 - 100))
    h.at(T0)
    assert len(hook.delivered) == 1


@pytest.mark.parametrize(
    ("group_by", "expected"),
    [
        (("alertname",), [["HighCPU@a", "HighCPU@b"]]),
        (None, [["HighCPU@a"], ["HighCPU@b"]]),
        ((), [["HighCPU@a", "HighCPU@b"]]),
    ],
)
def test_grouping(
    hook: RecordingIntegration, group_by: tuple[str, ...] | None, expected: list[list[str]]
) -> None:
    h = make(config(Route(opts("team", group_by=group_by))), team=hook)
    h.put(alert(instance="a"), alert(instance="b"))
    h.at(T0 + 30)
    assert sorted(hook.names()) == expected


def test_continue_fans_out_to_two_receivers() -> None:
    pager, chat = RecordingIntegration(), RecordingIntegration()
    page = Matcher.of("severity", "=", "page")
    root = Route(
        opts("chat"),
        routes=(
            Route(opts("pager"), (page,), continue_matching=True, key='{}/{severity="page"}'),
            Route(opts("chat"), key="{}/{}", index=1),
        ),
    )
    h = make(config(root, receivers=("pager", "chat")), pager=pager, chat=chat)
    h.put(alert(instance="a", severity="page"), alert(instance="b", severity="info"))
    h.at(T0 + 30)
    assert pager.names() == [["HighCPU@a"]]
    assert chat.names() == [["HighCPU@a", "HighCPU@b"]]
    receivers = {s.alert.labels["instance"]: s.receivers for s in h.d.alerts()}
    assert receivers == {"a": ("chat", "pager"), "b": ("chat",)}


@pytest.mark.parametrize("send_resolved", [True, False])
def test_resolved_notification_per_send_resolved(send_resolved: bool) -> None:
    hook = RecordingIntegration(send_resolved=send_resolved)
    h = make(config(), team=hook)
    h.put(alert(instance="a"), alert(instance="b"))
    h.at(T0 + 30)
    h.put(alert(instance="a", ends=T0 + 100), at=T0 + 100)
    h.at(T0 + 330)
    if send_resolved:
        assert hook.names()[1] == ["HighCPU@b", "HighCPU@a"]  # firing first, then resolved
        assert [a.labels["instance"] for a in hook.delivered[1].resolved] == ["a"]
    else:
        assert len(hook.delivered) == 1
    h.put(alert(instance="b", ends=T0 + 400), at=T0 + 400)
    h.at(T0 + 630)
    if send_resolved:
        assert hook.delivered[-1].status is GroupStatus.RESOLVED
        assert len(hook.delivered) == 3
    else:
        assert len(hook.delivered) == 1
    h.run(T0 + 930, T0 + 2000, 300)  # the group is gone: nothing more
    assert len(hook.delivered) == (3 if send_resolved else 1)
    assert h.d.alerts() == []


def test_an_alert_that_resolves_before_the_first_flush_is_never_sent(
    hook: RecordingIntegration,
) -> None:
    h = make(config(), team=hook)
    h.put(alert(ends=T0 + 10))
    h.run(T0 + 30, T0 + 1000, 300)
    assert hook.delivered == []


@pytest.mark.parametrize(
    ("equal", "muted"),
    [
        (("instance",), ["HighCPU@a"]),
        ((), ["HighCPU@a", "HighCPU@b"]),
        (("zone",), ["HighCPU@a", "HighCPU@b"]),  # absent on both sides counts as equal
    ],
)
def test_inhibition(hook: RecordingIntegration, equal: tuple[str, ...], muted: list[str]) -> None:
    rule = InhibitRule(
        (Matcher.of("severity", "=", "critical"),),
        (Matcher.of("severity", "=", "warning"),),
        equal,
    )
    h = make(config(Route(opts("team", group_by=())), inhibit=[rule]), team=hook)
    h.put(
        alert("Down", instance="a", severity="critical"),
        alert(instance="a", severity="warning"),
        alert(instance="b", severity="warning"),
    )
    h.at(T0 + 30)
    sent = hook.names()[0]
    assert "Down@a" in sent
    assert sorted(n for n in ["HighCPU@a", "HighCPU@b"] if n not in sent) == muted
    down = next(s for s in h.d.alerts() if s.alert.labels["alertname"] == "Down")
    for status in h.d.alerts():
        name = f"{status.alert.labels['alertname']}@{status.alert.labels['instance']}"
        expected = (down.alert.fingerprint,) if name in muted else ()
        assert status.inhibited_by == expected
        assert status.state.value == ("suppressed" if expected else "active")


def test_a_silence_mutes_until_it_expires(hook: RecordingIntegration) -> None:
    h = make(config(), team=hook)
    silence_id = h.silences.add(
        Silence((Matcher.of("instance", "=", "a"),), T0, T0 + 500, "ops", "maintenance")
    )
    h.put(alert(instance="a"))
    h.at(T0 + 30)
    assert hook.delivered == []
    assert h.d.alerts()[0].silenced_by == (silence_id,)
    h.at(T0 + 330)
    assert hook.delivered == []
    h.at(T0 + 630)  # the silence ended at T0 + 500
    assert hook.names() == [["HighCPU@a"]]
    assert h.d.alerts()[0].silenced_by == ()


def test_expiring_a_silence_resumes_at_the_next_flush(hook: RecordingIntegration) -> None:
    h = make(config(), team=hook)
    silence_id = h.silences.add(
        Silence((Matcher.of("alertname", "=~", "High.*"),), T0, FOREVER, "ops", "quiet")
    )
    h.put(alert(instance="a"))
    h.at(T0 + 30)
    h.clock.now = T0 + 100
    h.silences.expire(silence_id)
    h.at(T0 + 330)
    assert len(hook.delivered) == 1


@dataclass(frozen=True)
class Window:
    """A time interval: [start, end)."""

    start: float
    end: float

    def contains(self, t: float) -> bool:
        return self.start <= t < self.end


@pytest.mark.parametrize("kind", ["mute_time_intervals", "active_time_intervals"])
def test_time_intervals(hook: RecordingIntegration, kind: str) -> None:
    window = Window(T0, T0 + 100) if kind == "mute_time_intervals" else Window(T0 + 200, T0 + 400)
    route = Route(opts("team", **{kind: ("window",)}))
    h = make(config(route, intervals={"window": window}), team=hook)
    h.put(alert())
    h.at(T0 + 30)
    assert hook.delivered == []
    h.at(T0 + 330)
    assert len(hook.delivered) == 1


def test_a_failing_receiver_that_recovers_gets_the_notification_once(
    caplog: pytest.LogCaptureFixture,
) -> None:
    hook = RecordingIntegration(fail_times=2)
    h = make(config(), team=hook)
    h.put(alert())
    with caplog.at_level(logging.WARNING, logger="multimonx.notify.dispatch"):
        h.run(T0 + 30, T0 + 1000, 5)
    assert hook.calls == 3
    assert len(hook.delivered) == 1
    [stats] = h.d.stats()
    assert (stats.receiver, stats.integration) == ("team", "webhook[0]")
    assert (stats.attempts, stats.sent, stats.failed) == (3, 1, 2)
    assert stats.last_error == "receiver answered 503"
    assert stats.last_error_at is not None
    assert stats.last_success_at is not None
    failures = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert len(failures) == 2
    assert all("team" in m and "webhook[0]" in m and "503" in m for m in failures)


def test_retries_stop_at_the_next_flush_which_tries_again(hook: RecordingIntegration) -> None:
    h = make(config(), team=hook)
    hook.failing = True
    h.put(alert())
    h.run(T0 + 30, T0 + 400, 5)  # two flushes' worth of failures
    first = hook.calls
    assert first > 2
    hook.failing = False
    h.run(T0 + 405, T0 + 1300, 5)
    assert len(hook.delivered) == 1


def test_a_final_error_is_not_retried_before_the_next_flush(hook: RecordingIntegration) -> None:
    hook.fail_times, hook.retryable = 1, False
    h = make(config(), team=hook)
    h.put(alert())
    h.run(T0 + 30, T0 + 325, 5)
    assert hook.calls == 1
    h.at(T0 + 330)
    assert (hook.calls, len(hook.delivered)) == (2, 1)


def test_a_restart_with_the_same_log_does_not_repeat(tmp_path: Path) -> None:
    path = tmp_path / "nflog.db"
    first = RecordingIntegration()
    h = make(config(), team=first)
    h.nflog = NotificationLog(path, clock=h.clock)
    h.d = Dispatcher(config(), {"team": [first]}, nflog=h.nflog, silences=h.silences, clock=h.clock)
    h.put(alert())
    h.at(T0 + 30)
    assert len(first.delivered) == 1
    h.d.stop()
    h.nflog.close()

    second = RecordingIntegration()
    clock = FakeClock(T0 + 100)
    nflog = NotificationLog(path, clock=clock)
    again = Harness(config(), {"team": [second]}, nflog=nflog, start=T0 + 100)
    again.put(alert())  # the rules send it again after the restart
    again.run(T0 + 100, T0 + 3600, 300)
    assert second.delivered == []
    again.at(T0 + 3700)  # the repeat interval, counted from the first server's send
    assert len(second.delivered) == 1
    again.d.stop()
    nflog.close()


def test_apply_config_keeps_alerts_and_log() -> None:
    team, other = RecordingIntegration(), RecordingIntegration(name="apprise[0]")
    h = make(config(), team=team)
    h.put(alert())
    h.at(T0 + 30)
    h.clock.now = T0 + 60
    h.d.apply_config(config(), {"team": [team]})
    h.run(T0 + 60, T0 + 500, 20)
    assert len(team.delivered) == 1  # regrouped, flushed at once, deduplicated by the log
    assert [s.alert.labels["alertname"] for s in h.d.alerts()] == ["HighCPU"]

    h.d.apply_config(config(Route(opts("other")), receivers=("other",)), {"other": [other]})
    h.at(T0 + 520)
    assert len(other.delivered) == 1
    assert len(team.delivered) == 1


def test_merging_keeps_the_earliest_start(hook: RecordingIntegration) -> None:
    h = make(config(), team=hook)
    h.put(alert())
    later = Alert(Labels.of(alertname="HighCPU"), Labels.of(summary="new"), T0 + 50, FOREVER)
    h.put(later, at=T0 + 50)
    [status] = h.d.alerts()
    assert status.alert.starts_at == T0
    assert status.alert.annotations == Labels.of(summary="new")
    assert status.updated_at == T0 + 50


def test_metrics(hook: RecordingIntegration) -> None:
    hook.fail_times = 1
    h = make(config(), team=hook)
    h.silences.add(Silence((Matcher.of("instance", "=", "b"),), T0, FOREVER, "ops", "quiet"))
    h.put(alert(instance="a"), alert(instance="b"))
    h.run(T0 + 30, T0 + 40, 5)
    families = {f.name: f.samples for f in h.d.metrics()}
    assert families["multimonx_notifications_total"] == ((("team", "webhook[0]"), 2.0),)
    assert families["multimonx_notifications_failed_total"] == ((("team", "webhook[0]"), 1.0),)
    assert dict(families["multimonx_alerts"]) == {("active",): 1.0, ("suppressed",): 1.0}


def test_the_timer_thread_flushes_and_stop_is_bounded(hook: RecordingIntegration) -> None:
    h = make(config(), team=hook)
    h.d.start()
    try:
        h.put(alert(starts=T0 - 600))
        assert hook.event.wait(30.0)
    finally:
        h.d.stop(timeout=10.0)
    assert len(hook.delivered) == 1


def test_an_alert_without_an_end_resolves_after_resolve_timeout(
    hook: RecordingIntegration,
) -> None:
    h = make(config(), team=hook)
    h.put(alert(ends=0))
    [status] = h.d.alerts()
    assert status.alert.ends_at == T0 + 300
    h.at(T0 + 30)
    h.at(T0 + 330)
    assert [n.status for n in hook.delivered] == [GroupStatus.FIRING, GroupStatus.RESOLVED]
    assert h.d.alerts() == []


def test_a_slow_integration_takes_one_notification_at_a_time() -> None:
    hook = RecordingIntegration(delay=0.005)
    h = make(config(Route(opts("team", group_by=None))), team=hook)
    h.put(*(alert(instance=str(i)) for i in range(20)))
    h.at(T0 + 30)
    assert len(hook.delivered) == 20
    assert hook.max_active == 1
    assert sorted(n.alerts[0].labels["instance"] for n in hook.delivered) == sorted(
        str(i) for i in range(20)
    )


def test_the_timer_thread_retries_on_the_real_clock() -> None:
    hook = RecordingIntegration(fail_times=2)
    cfg = config(Route(opts("team", group_wait=0.0, group_interval=60.0)))
    d = Dispatcher(cfg, {"team": [hook]}, nflog=NotificationLog(), silences=Silences())
    d.start()
    try:
        now = time.time()
        d.put([alert(starts=now, ends=now + 3600)])
        assert hook.event.wait(30.0)  # two failures, retried after about 0.5-1 s and 1-2 s
    finally:
        d.stop(timeout=10.0)
    assert (hook.calls, len(hook.delivered)) == (3, 1)


def test_a_log_that_cannot_be_written_means_sending_again(
    hook: RecordingIntegration, caplog: pytest.LogCaptureFixture
) -> None:
    h = make(config(), team=hook)
    h.nflog.close()  # every write now fails
    h.put(alert())
    with caplog.at_level(logging.ERROR, logger="multimonx.notify.dispatch"):
        h.at(T0 + 30)
        h.at(T0 + 330)
    assert len(hook.delivered) == 2  # at least once: not logged, so sent again
    assert any("could not log" in r.getMessage() for r in caplog.records)
