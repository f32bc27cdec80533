"""Alert state across evaluations (Prometheus 2.42's ``AlertingRule.Eval``) and recording rules.

Each test feeds a rule the instant vectors its query returns at successive times (a table:
time -> vector) and checks the alerts and the ``ALERTS`` / ``ALERTS_FOR_STATE`` samples."""

from __future__ import annotations

import textwrap
from collections.abc import Mapping, Sequence

import pytest

from multimonx.model import Labels
from multimonx.promql.ast import Expr
from multimonx.rules import AlertingRule, RecordingRule, parse_rule_groups
from multimonx.rules.alerting import (
    RESOLVED_RETENTION_MS,
    AlertingRuleState,
    AlertState,
    OutputSample,
    RuleEvalError,
)
from multimonx.rules.recording import eval_recording

MIN = 60_000
WEB1 = Labels.of(__name__="cpu", instance="web-1")
WEB2 = Labels.of(__name__="cpu", instance="web-2")


def _rule(body: str) -> AlertingRule | RecordingRule:
    text = "groups:\n- name: g\n  rules:\n" + textwrap.indent(textwrap.dedent(body), "  ")
    (group,) = parse_rule_groups(text, "test.yml")
    (rule,) = group.rules
    return rule


def _alerting(body: str) -> AlertingRuleState:
    rule = _rule(body)
    assert isinstance(rule, AlertingRule)
    return AlertingRuleState(rule, external_labels=Labels.of(cluster="eu"))


class _Vectors:
    """A query function answering from a table of time -> vector (empty elsewhere)."""

    def __init__(self, table: Mapping[int, Sequence[tuple[Labels, float]]]) -> None:
        self.table = table

    def __call__(self, expr: Expr, t_ms: int) -> Sequence[tuple[Labels, float]]:
        return self.table.get(t_ms, [])


def _states(state: AlertingRuleState) -> dict[str, tuple[AlertState, int]]:
    return {a.labels["instance"]: (a.state, a.active_at_ms) for a in state.alerts()}


def _alerts_series(samples: list[OutputSample]) -> list[tuple[str, str, str, float]]:
    return sorted(
        (s.labels["__name__"], s.labels["instance"], s.labels.get("alertstate", ""), s.value)
        for s in samples
    )


def test_pending_until_for_has_passed_then_firing_then_resolved_and_kept_fifteen_minutes() -> None:
    state = _alerting("- alert: HighCPU\n  expr: cpu > 0.8\n  for: 5m\n")
    query = _Vectors({t: [(WEB1, 0.9)] for t in range(0, 6 * MIN, MIN)})
    out = state.eval(0, query)
    assert _states(state) == {"web-1": (AlertState.PENDING, 0)}
    assert _alerts_series(out) == [
        ("ALERTS", "web-1", "pending", 1.0),
        ("ALERTS_FOR_STATE", "web-1", "", 0.0),
    ]
    for t in range(MIN, 5 * MIN, MIN):
        state.eval(t, query)
        assert _states(state) == {"web-1": (AlertState.PENDING, 0)}
    out = state.eval(5 * MIN, query)
    (alert,) = state.alerts()
    assert (alert.state, alert.fired_at_ms) == (AlertState.FIRING, 5 * MIN)
    assert ("ALERTS", "web-1", "firing", 1.0) in _alerts_series(out)

    assert state.eval(6 * MIN, query) == []  # gone: resolved, no ALERTS samples
    assert (alert.state, alert.resolved_at_ms) == (AlertState.INACTIVE, 6 * MIN)
    state.eval(6 * MIN + RESOLVED_RETENTION_MS, query)
    assert state.alerts() == [alert]  # kept while within the retention
    state.eval(6 * MIN + RESOLVED_RETENTION_MS + 1, query)
    assert state.alerts() == []


def test_a_pending_alert_that_goes_away_is_forgotten_at_once() -> None:
    state = _alerting("- alert: A\n  expr: cpu\n  for: 5m\n")
    query = _Vectors({0: [(WEB1, 1.0)], MIN: [(WEB1, 1.0)]})
    state.eval(0, query)
    state.eval(MIN, query)
    assert state.eval(2 * MIN, query) == []
    assert state.alerts() == []


def test_without_for_an_alert_fires_at_its_first_evaluation() -> None:
    state = _alerting("- alert: A\n  expr: cpu\n")
    out = state.eval(7 * MIN + 500, _Vectors({7 * MIN + 500: [(WEB1, 1.0)]}))
    assert _states(state) == {"web-1": (AlertState.FIRING, 7 * MIN + 500)}
    assert ("ALERTS_FOR_STATE", "web-1", "", 420.0) in _alerts_series(out)  # whole seconds


def test_an_alert_back_after_resolving_starts_pending_again() -> None:
    state = _alerting("- alert: A\n  expr: cpu\n  for: 1m\n")
    query = _Vectors({0: [(WEB1, 1)], MIN: [(WEB1, 1)], 3 * MIN: [(WEB1, 1)]})
    for t in (0, MIN, 2 * MIN):
        state.eval(t, query)
    assert _states(state) == {"web-1": (AlertState.INACTIVE, 0)}
    state.eval(3 * MIN, query)
    assert _states(state) == {"web-1": (AlertState.PENDING, 3 * MIN)}


def test_keep_firing_for_holds_a_firing_alert_and_restarts_when_it_comes_back() -> None:
    state = _alerting("- alert: A\n  expr: cpu\n  keep_firing_for: 2m\n")
    query = _Vectors({0: [(WEB1, 1)], 2 * MIN: [(WEB1, 1)]})
    state.eval(0, query)
    for t in (MIN, 2 * MIN, 3 * MIN, 4 * MIN):  # gone at 1m, back at 2m, gone again from 3m
        out = state.eval(t, query)
        assert _states(state) == {"web-1": (AlertState.FIRING, 0)}, t
        assert ("ALERTS", "web-1", "firing", 1.0) in _alerts_series(out)
    state.eval(5 * MIN, query)  # 2m after it went away at 3m
    assert _states(state) == {"web-1": (AlertState.INACTIVE, 0)}


def test_keep_firing_for_does_not_hold_pending_alerts() -> None:
    state = _alerting("- alert: A\n  expr: cpu\n  for: 5m\n  keep_firing_for: 10m\n")
    query = _Vectors({0: [(WEB1, 1)]})
    state.eval(0, query)
    state.eval(MIN, query)
    assert state.alerts() == []


def test_labels_and_annotations_come_from_templates_over_each_series() -> None:
    state = _alerting(
        """
        - alert: HighCPU
          expr: cpu
          labels:
            severity: "{{ if gt $value 0.9 }}critical{{ else }}warning{{ end }}"
            instance: ""
            cluster: "{{ $externalLabels.cluster }}"
          annotations:
            summary: "{{ $labels.instance }} at {{ $value }}"
        """
    )
    same = _Vectors({0: [(WEB1, 0.95), (WEB2, 0.95)]})
    with pytest.raises(RuleEvalError, match="same labelset after applying alert labels"):
        state.eval(0, same)  # the empty instance label removes what tells them apart
    (alert,) = state.eval(0, _Vectors({0: [(WEB1, 0.95)]}))[:1]
    assert alert.labels == Labels.of(
        __name__="ALERTS",
        alertname="HighCPU",
        alertstate="firing",
        cluster="eu",
        severity="critical",
    )

    query = _Vectors({0: [(WEB1, 0.95), (WEB2, 0.85)], MIN: [(WEB1, 0.97), (WEB2, 0.85)]})

    state = _alerting(
        """
        - alert: HighCPU
          expr: cpu
          for: 5m
          labels:
            severity: "{{ if gt $value 0.9 }}critical{{ else }}warning{{ end }}"
          annotations:
            summary: "{{ $labels.instance }} at {{ $value }}"
        """
    )
    state.eval(0, query)
    by_instance = {a.labels["instance"]: a for a in state.alerts()}
    assert by_instance["web-1"].labels == Labels.of(
        alertname="HighCPU", instance="web-1", severity="critical"
    )
    assert by_instance["web-2"].labels["severity"] == "warning"
    assert by_instance["web-1"].annotations == Labels.of(summary="web-1 at 0.95")
    state.eval(MIN, query)  # value and annotations follow the latest evaluation
    assert by_instance["web-1"].value == 0.97
    assert by_instance["web-1"].annotations == Labels.of(summary="web-1 at 0.97")
    assert by_instance["web-1"].active_at_ms == 0


def test_a_template_failing_at_evaluation_leaves_its_error_in_the_text() -> None:
    state = _alerting(
        "- alert: A\n  expr: cpu\n  annotations:\n    s: '{{ humanize $labels.instance }}'\n"
    )
    state.eval(0, _Vectors({0: [(WEB1, 1)]}))
    (alert,) = state.alerts()
    assert alert.annotations["s"].startswith("<error expanding template: template: __alert_A:")


def test_more_alerts_than_the_limit_drop_them_all() -> None:
    state = _alerting("- alert: A\n  expr: cpu\n  for: 5m\n")
    query = _Vectors({0: [(WEB1, 1)], MIN: [(WEB1, 1), (WEB2, 1)]})
    state.eval(0, query, limit=1)
    with pytest.raises(RuleEvalError, match="exceeded limit of 1 with 2 alerts"):
        state.eval(MIN, query, limit=1)
    assert state.alerts() == []


def test_recording_rules_rename_and_relabel_the_result() -> None:
    rule = _rule("- record: job:cpu\n  expr: cpu\n  labels: {source: rule, instance: ''}\n")
    assert isinstance(rule, RecordingRule)
    out = eval_recording(rule, 5, _Vectors({5: [(WEB1.without("instance"), 0.5)]}))
    assert out == [OutputSample(Labels.of(__name__="job:cpu", source="rule"), 5, 0.5)]
    with pytest.raises(RuleEvalError, match="same labelset after applying rule labels"):
        eval_recording(rule, 5, _Vectors({5: [(WEB1, 1), (WEB2, 2)]}))
    kept = _rule("- record: job:cpu\n  expr: cpu\n")
    assert isinstance(kept, RecordingRule)
    two = _Vectors({5: [(WEB1, 1), (WEB2, 2)]})
    assert [s.labels["instance"] for s in eval_recording(kept, 5, two)] == ["web-1", "web-2"]
    with pytest.raises(RuleEvalError, match="exceeded limit of 1 with 2 series"):
        eval_recording(kept, 5, two, limit=1)
