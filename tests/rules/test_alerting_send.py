"""What an alerting rule hands the notifier and the alert history, and how it restores its
``for`` state after a restart (Prometheus 2.42's ``sendAlerts``, ``needsSending`` and
``RestoreForState``)."""

from __future__ import annotations

import math
import textwrap
from collections.abc import Mapping, Sequence

import pytest

from multimonx.model import Labels
from multimonx.promql.ast import Expr
from multimonx.rules import AlertingRule, parse_rule_groups
from multimonx.rules.alerting import AlertingRuleState, AlertState
from multimonx.storage.alerthistory import AlertPhase

MIN = 60_000
RESEND = MIN
WEB1 = Labels.of(__name__="cpu", instance="web-1")
KEY1 = Labels.of(alertname="HighCPU", instance="web-1", severity="page")


def _alerting(for_: str = "2m", external_url: str = "http://mon.example:9400") -> AlertingRuleState:
    text = "groups:\n- name: g\n  rules:\n" + textwrap.indent(
        textwrap.dedent(
            f"""\
            - alert: HighCPU
              expr: cpu > 0.8
              for: {for_}
              labels: {{severity: page}}
              annotations: {{summary: "{{{{ $labels.instance }}}} at {{{{ $value }}}}"}}
            """
        ),
        "  ",
    )
    (group,) = parse_rule_groups(text, "t.yml")
    (rule,) = group.rules
    assert isinstance(rule, AlertingRule)
    return AlertingRuleState(rule, external_url=external_url)


class _Vectors:
    def __init__(self, table: Mapping[int, Sequence[tuple[Labels, float]]]) -> None:
        self.table = table

    def __call__(self, expr: Expr, t_ms: int) -> Sequence[tuple[Labels, float]]:
        return self.table.get(t_ms, [])


def _run(state: AlertingRuleState, query: _Vectors, times: range) -> dict[int, list[str]]:
    """Evaluate at each time and note what would be sent then, as 'firing'/'resolved'."""
    sent: dict[int, list[str]] = {}
    for t in times:
        state.eval(t, query)
        alerts = state.to_send(t, RESEND, MIN)
        sent[t] = ["resolved" if a.resolved_at(t / 1000) else "firing" for a in alerts]
    return sent


def test_pending_alerts_are_not_sent_firing_ones_are_resent_every_resend_delay() -> None:
    state = _alerting()
    query = _Vectors({t: [(WEB1, 0.9)] for t in range(0, 10 * MIN, MIN)})
    sent = _run(state, query, range(0, 6 * MIN, MIN))
    # pending at 0 and 1 min; fires at 2 min; resent when more than a minute has passed
    assert sent == {
        0: [],
        MIN: [],
        2 * MIN: ["firing"],
        3 * MIN: [],
        4 * MIN: ["firing"],
        5 * MIN: [],
    }


def test_a_resolved_alert_is_sent_at_once_then_every_resend_delay_while_kept() -> None:
    state = _alerting(for_="0s")
    query = _Vectors({0: [(WEB1, 0.9)]})
    sent = _run(state, query, range(0, 4 * MIN, MIN))
    assert sent == {0: ["firing"], MIN: ["resolved"], 2 * MIN: [], 3 * MIN: ["resolved"]}


def test_the_sent_alert_carries_identity_times_value_and_a_link_to_the_expression() -> None:
    state = _alerting(for_="1m")
    query = _Vectors({0: [(WEB1, 0.93)], MIN: [(WEB1, 0.95)]})
    state.eval(0, query)
    state.eval(MIN, query)
    (alert,) = state.to_send(MIN, RESEND, MIN)
    assert alert.labels == KEY1
    assert alert.annotations == Labels.of(summary="web-1 at 0.95")
    assert alert.starts_at == 60.0  # when it fired
    assert alert.ends_at == 60.0 + 4 * 60  # valid for four evaluation periods
    assert alert.value == 0.95
    assert alert.generator_url == ("http://mon.example:9400/graph?g0.expr=cpu+%3E+0.8&g0.tab=1")
    state.eval(2 * MIN, query)  # no longer returned: resolved
    (resolved,) = state.to_send(2 * MIN, RESEND, MIN)
    assert resolved.ends_at == 120.0
    assert resolved.resolved_at(120.0)


def test_the_validity_spans_four_intervals_when_the_interval_exceeds_the_resend_delay() -> None:
    state = _alerting(for_="0s")
    state.eval(0, _Vectors({0: [(WEB1, 0.9)]}))
    (alert,) = state.to_send(0, RESEND, 5 * MIN)
    assert alert.ends_at == 4 * 5 * 60


def test_transitions_become_history_events_in_order() -> None:
    state = _alerting(for_="1m")
    query = _Vectors({0: [(WEB1, 0.9)], MIN: [(WEB1, 0.97)]})
    for t in (0, MIN, 2 * MIN):
        state.eval(t, query)
    events = state.drain_events()
    assert [(e.phase, e.t_ms) for e in events] == [
        (AlertPhase.PENDING, 0),
        (AlertPhase.FIRING, MIN),
        (AlertPhase.RESOLVED, 2 * MIN),
    ]
    assert [e.value for e in events[:2]] == [0.9, 0.97]
    assert math.isnan(events[2].value)
    assert all(e.labels == KEY1 and e.alertname == "HighCPU" for e in events)
    assert state.drain_events() == []


def test_a_pending_alert_that_goes_away_is_recorded_as_resolved() -> None:
    state = _alerting(for_="5m")
    query = _Vectors({0: [(WEB1, 0.9)]})
    state.eval(0, query)
    state.eval(MIN, query)
    assert [e.phase for e in state.drain_events()] == [AlertPhase.PENDING, AlertPhase.RESOLVED]


# --- RestoreForState ----------------------------------------------------------------------

GRACE = 10 * MIN


def _restored(
    for_: str, stored: tuple[int, float] | None, *, now: int = 100 * MIN, grace: int = GRACE
) -> int:
    """The active-since time of an alert pending since ``now`` after restoring from the
    ``ALERTS_FOR_STATE`` sample ``stored`` (time of the last sample, its value in s)."""
    state = _alerting(for_=for_)
    state.eval(now, _Vectors({now: [(WEB1, 0.9)]}))
    found = {} if stored is None else {KEY1: stored}
    state.restore_for_state(now, found, grace_ms=grace)
    (alert,) = state.alerts()
    assert alert.state is AlertState.PENDING
    return alert.active_at_ms


@pytest.mark.parametrize(
    ("for_", "stored", "active_at"),
    [
        # was firing when the server went down (active 30 min before, for 15m): keeps its
        # old active time, so it fires at the next evaluation
        ("15m", (95 * MIN, 65 * 60.0), 65 * MIN),
        # was pending 5 of 30 minutes when it went down 5 minutes ago: the downtime is
        # added, 25 minutes remain
        ("30m", (95 * MIN, 90 * 60.0), 95 * MIN),
        # 2 of 15 minutes remained, less than the grace period: fires a grace period from now
        ("15m", (95 * MIN, 82 * 60.0), 100 * MIN + GRACE - 15 * MIN),
        # the series ended with a staleness marker: the alert had resolved
        ("15m", (95 * MIN, math.nan), 100 * MIN),
        # nothing stored within the tolerance
        ("15m", None, 100 * MIN),
        # a rule whose `for` is shorter than the grace period is not restored
        ("5m", (95 * MIN, 65 * 60.0), 100 * MIN),
    ],
)
def test_restore_for_state(for_: str, stored: tuple[int, float] | None, active_at: int) -> None:
    assert _restored(for_, stored) == active_at


def test_with_no_grace_period_every_rule_with_a_for_is_restored_and_fires_next() -> None:
    state = _alerting(for_="5m")
    query = _Vectors({t: [(WEB1, 0.9)] for t in (100 * MIN, 101 * MIN)})
    state.eval(100 * MIN, query)
    state.restore_for_state(100 * MIN, {KEY1: (95 * MIN, 60 * 60.0)}, grace_ms=0)
    state.eval(101 * MIN, query)
    (alert,) = state.alerts()
    assert alert.state is AlertState.FIRING
