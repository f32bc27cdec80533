"""Rule groups over the real PromQL engine and the in-memory storage: recorded series and
``ALERTS`` stored, staleness markers for what went away, failing rules isolated, state kept
across a reload, and groups evaluated by the manager on their grid."""

from __future__ import annotations

import textwrap
import threading
import time
from collections.abc import Sequence

import pytest

from multimonx.model import STALE_NAN, Labels, is_stale_nan
from multimonx.promql.ast import Expr
from multimonx.promql.engine import Engine
from multimonx.promql.parser import parse
from multimonx.rules import RuleGroup, parse_rule_groups
from multimonx.rules.alerting import AlertState, OutputSample, RuleEvalError
from multimonx.rules.group import GroupState, RuleHealth
from multimonx.rules.manager import RuleManager, RuleSinks
from multimonx.rules.query import engine_query
from multimonx.storage.memory import MemoryStorage

MIN = 60_000
DEADLINE_S = 30.0


def _groups(body: str) -> list[RuleGroup]:
    return parse_rule_groups(textwrap.dedent(body), "rules.yml")


class _Store:
    """The storage and engine a rule group writes to and reads from."""

    def __init__(self) -> None:
        self.storage = MemoryStorage()
        self.engine = Engine(self.storage)
        self.query = engine_query(self.engine)
        self.appended: list[OutputSample] = []
        self.fail_appends = False

    def push(self, labels: Labels, points: Sequence[tuple[int, float]]) -> None:
        app = self.storage.appender()
        for t, v in points:
            app.append(labels, t, v)
        app.commit()

    def append(self, samples: Sequence[OutputSample]) -> None:
        if self.fail_appends:
            raise RuleEvalError("storage unavailable: disk full")
        self.appended += samples
        app = self.storage.appender()
        for s in samples:
            app.append(s.labels, s.t_ms, s.value)
        app.commit()

    def value(self, query: str, t_ms: int) -> dict[str, float]:
        result = self.engine.instant(query, t_ms)
        assert result.vector is not None
        return {s.labels.get("instance", ""): s.value for s in result.vector}


RULES = """
groups:
  - name: cpu
    interval: 1m
    rules:
      - record: instance:cpu:max
        expr: max by (instance) (cpu)
      - alert: HighCPU
        expr: instance:cpu:max > 0.8
        for: 2m
        labels: {severity: warning}
"""


def _cpu(store: _Store, instance: str, values: Sequence[float]) -> None:
    store.push(Labels.of(__name__="cpu", instance=instance), list(enumerate(values)))


def test_recorded_series_and_alerts_are_stored_and_end_with_staleness_markers() -> None:
    store = _Store()
    (group,) = _groups(RULES)
    state = GroupState(group, default_interval_ms=MIN)
    web1 = Labels.of(__name__="cpu", instance="web-1")
    web2 = Labels.of(__name__="cpu", instance="web-2")
    for t in range(0, 6 * MIN, MIN):
        store.push(web1, [(t, 0.9)])
        store.push(web2, [(t, 0.5 if t < 3 * MIN else STALE_NAN)])  # gone from 3m on
        state.eval(t, store.query, store.append)

    assert store.value("instance:cpu:max", 5 * MIN) == {"web-1": 0.9}  # web-2 went stale
    stale = [s for s in store.appended if is_stale_nan(s.value)]
    assert [
        (s.labels.metric_name, s.labels["instance"], s.t_ms)
        for s in stale
        if s.labels.metric_name == "instance:cpu:max"
    ] == [("instance:cpu:max", "web-2", 3 * MIN)]
    assert store.value('ALERTS{alertstate="firing"}', 5 * MIN) == {"web-1": 1.0}
    assert store.value('ALERTS{alertstate="pending"}', MIN) == {"web-1": 1.0}
    # pending at 0 and 1m, firing from 2m on: the pending series ends with a marker at 2m
    assert [
        (s.labels.metric_name, s.labels.get("alertstate"), s.t_ms)
        for s in stale
        if s.labels.metric_name == "ALERTS"
    ] == [("ALERTS", "pending", 2 * MIN)]
    assert store.value("ALERTS_FOR_STATE", 5 * MIN) == {"web-1": 0.0}
    status = state.status()
    (record, alert) = status.rules
    assert (record.health, alert.health) == (RuleHealth.OK, RuleHealth.OK)
    assert [a.state for a in alert.alerts] == [AlertState.FIRING]
    assert status.last_eval_ms == 5 * MIN


def test_a_failing_rule_is_reported_and_the_others_still_run() -> None:
    store = _Store()
    (group,) = _groups(
        """
        groups:
          - name: g
            rules:
              - record: broken
                expr: label_replace(cpu, "x", "$1", "instance", "(.*)") + on() cpu
              - record: fine
                expr: count(cpu)
        """
    )
    _cpu(store, "a", [1.0])
    _cpu(store, "b", [1.0])
    state = GroupState(group, default_interval_ms=MIN)
    state.eval(0, store.query, store.append)
    broken, fine = state.status().rules
    assert broken.health is RuleHealth.ERR
    assert "many-to-many matching not allowed" in broken.last_error
    assert fine.health is RuleHealth.OK
    assert store.value("fine", 0) == {"": 2.0}

    store.fail_appends = True
    state.eval(MIN, store.query, store.append)
    assert [r.last_error for r in state.status().rules] == [
        broken.last_error,
        "storage unavailable: disk full",
    ]


def test_a_reload_keeps_the_alerts_of_rules_it_keeps() -> None:
    store = _Store()
    (group,) = _groups(RULES)
    state = GroupState(group, default_interval_ms=MIN)
    _cpu(store, "web-1", [0.9])
    state.eval(0, store.query, store.append)
    (changed,) = _groups(RULES.replace("severity: warning", "severity: page"))
    (same,) = _groups(RULES + "      - record: extra\n        expr: cpu\n")
    kept, dropped = (
        GroupState(same, default_interval_ms=MIN),
        GroupState(changed, default_interval_ms=MIN),
    )
    kept.take_state_from(state)
    dropped.take_state_from(state)
    assert [len(r.alerts) for r in kept.status().rules] == [0, 1, 0]
    assert [len(r.alerts) for r in dropped.status().rules] == [0, 0]


def test_groups_evaluate_on_a_grid_spread_by_their_names() -> None:
    a, b = _groups(
        """
        groups:
          - {name: a, interval: 30s, rules: []}
          - {name: b, rules: []}
        """
    )
    first = GroupState(a, default_interval_ms=MIN)
    second = GroupState(b, default_interval_ms=MIN)
    assert first.interval_ms == 30_000
    assert second.interval_ms == MIN
    for now in (0, 12_345, 29_999, 1_700_000_000_123):
        t = first.eval_time(now)
        assert t <= now < t + 30_000
        assert (t - first.offset_ms()) % 30_000 == 0
    assert GroupState(a, default_interval_ms=MIN).offset_ms() == first.offset_ms()


def test_the_manager_evaluates_each_group_on_its_thread_until_stopped() -> None:
    store = _Store()
    groups = _groups(
        """
        groups:
          - name: fast
            interval: 50ms
            rules:
              - record: copies
                expr: vector(1)
        """
    )
    evaluated = threading.Event()
    times: list[int] = []

    def append(samples: Sequence[OutputSample]) -> None:
        times.extend(s.t_ms for s in samples)
        if len(times) >= 3:
            evaluated.set()

    manager = RuleManager(store.query, append, default_interval_ms=MIN)
    manager.update(groups)
    manager.start()
    try:
        assert evaluated.wait(DEADLINE_S)
    finally:
        manager.stop()
    count = len(times)
    assert times == sorted(times)
    assert all((t - times[0]) % 50 == 0 for t in times)  # on the group's grid
    (status,) = manager.status()
    assert status.rules[0].health is RuleHealth.OK
    deadline = time.monotonic() + 0.3
    while time.monotonic() < deadline:  # stopped: nothing more is evaluated
        assert len(times) == count
        time.sleep(0.05)


FIRING_NOW = """
groups:
  - name: now
    interval: 50ms
    rules:
      - alert: Always
        expr: vector(1)
        labels: {severity: warning}
"""


def test_a_running_manager_hands_alerts_over_when_its_groups_are_reloaded() -> None:
    store = _Store()
    manager = RuleManager(store.query, store.append, default_interval_ms=MIN)
    manager.update(_groups(FIRING_NOW))
    manager.start()
    try:
        deadline = time.monotonic() + DEADLINE_S
        while not manager.status()[0].rules[0].alerts:
            assert time.monotonic() < deadline, "the alert never fired"
            time.sleep(0.01)
        (before,) = manager.status()[0].rules[0].alerts
        manager.update(_groups(FIRING_NOW))  # the same rule: its alert carries over
        (after,) = manager.status()[0].rules[0].alerts
        assert (after.labels, after.active_at_ms) == (before.labels, before.active_at_ms)
        manager.update(_groups(FIRING_NOW.replace("warning", "page")))  # another rule now
        assert manager.status()[0].rules[0].alerts == ()
        manager.update([])
        assert manager.status() == []
    finally:
        manager.stop()


@pytest.mark.parametrize("expr", ['"text"', "cpu[5m]"])
def test_a_rule_result_that_is_no_vector_is_an_error(expr: str) -> None:
    store = _Store()
    _cpu(store, "a", [1.0])
    with pytest.raises(RuleEvalError, match="not a vector or scalar"):
        store.query(parse(expr), 0)


def test_a_scalar_result_is_one_sample_without_labels() -> None:
    assert list(_Store().query(parse("2 * 21"), 0)) == [(Labels(), 42.0)]


def test_alert_templates_can_query_at_the_evaluation_time() -> None:
    store = _Store()
    _cpu(store, "web-1", [0.9])
    store.push(Labels.of(__name__="cpu_count", instance="web-1"), [(0, 4.0), (MIN, 8.0)])
    (group,) = _groups(
        """
        groups:
          - name: g
            rules:
              - alert: A
                expr: cpu > 0.5
                annotations:
                  cores: '{{ with query "sum(cpu_count)" }}{{ . | first | value }}{{ end }}'
                  broken: '{{ query "sum(" }}'
        """
    )
    state = GroupState(group, default_interval_ms=MIN)
    state.eval(0, store.query, store.append)
    ((alert,),) = [r.alerts for r in state.status().rules]
    assert alert.annotations["cores"] == "4"
    assert alert.annotations["broken"].startswith("<error expanding template: ")
    assert "parse error" in alert.annotations["broken"]


def test_the_status_is_readable_while_a_rule_query_runs() -> None:
    (group,) = _groups(FIRING_NOW)
    state = GroupState(group, default_interval_ms=MIN)
    store = _Store()
    inside = threading.Event()
    release = threading.Event()

    def slow_query(expr: Expr, t_ms: int) -> Sequence[tuple[Labels, float]]:
        inside.set()
        assert release.wait(DEADLINE_S)
        return store.query(expr, t_ms)

    worker = threading.Thread(target=state.eval, args=(0, slow_query, store.append))
    worker.start()
    try:
        assert inside.wait(DEADLINE_S)
        status = state.status()  # would wait for the query if the lock were held around it
        assert status.rules[0].health is RuleHealth.UNKNOWN
    finally:
        release.set()
        worker.join(DEADLINE_S)
    assert state.status().rules[0].health is RuleHealth.OK


def test_the_manager_notifies_records_history_and_restores_for_state_after_a_restart() -> None:
    store = _Store()
    groups = _groups(
        """
        groups:
          - name: slow
            interval: 50ms
            rules:
              - alert: Always
                expr: vector(1)
                for: 1h
        """
    )
    # What the server stored before its restart: active since t=1000 s, last written 10 s ago.
    now_ms = int(time.time() * 1000)
    store.push(
        Labels.of(__name__="ALERTS_FOR_STATE", alertname="Always"),
        [(now_ms - 10_000, 1000.0)],
    )
    queried: list[tuple[str, int, int]] = []

    def for_state(name: str, mint: int, maxt: int) -> dict[Labels, tuple[int, float]]:
        queried.append((name, mint, maxt))
        q = store.storage.querier(mint, maxt)
        with q:
            return {
                s.labels.without("__name__"): (int(s.timestamps[-1]), float(s.values[-1]))
                for s in q.select([])
                if s.labels.metric_name == "ALERTS_FOR_STATE" and s.labels.get("alertname") == name
            }

    events: list[object] = []
    evaluated = threading.Event()

    def append(samples: Sequence[OutputSample]) -> None:
        store.append(samples)
        if len(store.appended) >= 8:
            evaluated.set()

    manager = RuleManager(
        store.query,
        RuleSinks(
            append, history=events.extend, for_state=for_state, outage_tolerance_ms=MIN, grace_ms=0
        ),
        default_interval_ms=MIN,
    )
    manager.update(groups)
    manager.start()
    try:
        assert evaluated.wait(DEADLINE_S)
    finally:
        manager.stop()
    ((name, mint, maxt),) = queried  # restored once, after the second evaluation
    assert name == "Always"
    assert maxt - mint == MIN
    (status,) = manager.status()
    (alert,) = status.rules[0].alerts
    # active since 1000 s, long past its hour of `for`: it was firing before the restart,
    # so it fires again at once instead of waiting another hour
    assert alert.active_at_ms == 1_000_000
    assert alert.state is AlertState.FIRING
    assert len(events) == 2  # pending, then firing once restored
