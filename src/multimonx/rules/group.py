"""One rule group's evaluation, as Prometheus 2.42's ``rules.Group`` runs it: its rules in
order at one timestamp, each rule's output stored on its own (a rule that fails leaves the
others to run), and a staleness marker written for every series a rule produced last time
but not this time, so that recorded series and ``ALERTS`` end at once instead of lingering
for the lookback window.

Evaluation timestamps are aligned to the group's interval with an offset derived from the
group's file and name (as Prometheus's ``Group.EvalTimestamp``), so groups spread over the
interval and a restart keeps the same grid.
"""

from __future__ import annotations

import dataclasses
import enum
import hashlib
import logging
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

from multimonx.model import STALE_NAN, Labels
from multimonx.notify import Alert as NotifyAlert
from multimonx.rules.alerting import (
    Alert,
    AlertingRuleState,
    OutputSample,
    QueryFunc,
    RuleEvalError,
)
from multimonx.rules.recording import eval_recording
from multimonx.rules.rulefile import AlertingRule, RecordingRule, RuleGroup, rule_name
from multimonx.storage import StorageError
from multimonx.storage.alerthistory import AlertEvent

log = logging.getLogger(__name__)

AppendFunc = Callable[[Sequence[OutputSample]], None]
"""``append(samples)``: store a rule's output atomically; raises RuleEvalError when it could
not be stored."""

NotifyFunc = Callable[[Sequence[NotifyAlert]], None]
"""``notify(alerts)``: hand alerts to the notifier (Prometheus's ``NotifyFunc``); must not
block on delivery."""

HistoryFunc = Callable[[Sequence[AlertEvent]], None]
"""``history(events)``: record alert transitions; may raise StorageError (logged)."""

ForStateFunc = Callable[[str, int, int], Mapping[Labels, tuple[int, float]]]
"""``for_state(alertname, mint_ms, maxt_ms)``: the last ``ALERTS_FOR_STATE`` sample (time,
value) within the range of every series of that alert name, by the alert's labels (the
series' labels without ``__name__``)."""

DEFAULT_RESEND_DELAY_MS = 60_000
"""Prometheus's ``--rules.alert.resend-delay``."""


def _no_notify(alerts: Sequence[NotifyAlert]) -> None:
    """The NotifyFunc of a server without notifications."""


def _no_history(events: Sequence[AlertEvent]) -> None:
    """The HistoryFunc of a server without alert history."""


class RuleHealth(enum.Enum):
    """Whether a rule's last evaluation worked (Prometheus's ``health``)."""

    UNKNOWN = "unknown"
    OK = "ok"
    ERR = "err"


@dataclass(frozen=True, slots=True)
class RuleStatus:
    """A rule as its last evaluation left it (a copy, safe to read from any thread)."""

    rule: AlertingRule | RecordingRule
    health: RuleHealth
    last_error: str
    last_eval_ms: int | None
    eval_seconds: float
    alerts: tuple[Alert, ...] = ()


@dataclass(frozen=True, slots=True)
class GroupStatus:
    """A group as its last evaluation left it."""

    group: RuleGroup
    interval_ms: int
    last_eval_ms: int | None
    eval_seconds: float
    rules: tuple[RuleStatus, ...]


@dataclass(slots=True)
class _RuleRun:
    """A rule, its alert state (alerting rules) and what its last evaluation did."""

    rule: AlertingRule | RecordingRule
    alerting: AlertingRuleState | None
    previous: frozenset[Labels] = frozenset()
    health: RuleHealth = RuleHealth.UNKNOWN
    last_error: str = ""
    last_eval_ms: int | None = None
    eval_seconds: float = 0.0


def _rule_key(rule: AlertingRule | RecordingRule) -> tuple[str, str, str]:
    """What identifies a rule across reloads (Prometheus matches name and labels)."""
    if isinstance(rule, AlertingRule):
        return ("alert", rule.alert, repr([(k, t.text) for k, t in rule.labels]))
    return ("record", rule.record, repr(rule.labels))


class GroupState:
    """A rule group and the state of its rules. ``eval`` runs on the group's own thread;
    ``status`` may be called from any thread."""

    def __init__(
        self,
        group: RuleGroup,
        *,
        default_interval_ms: int,
        external_labels: Labels | None = None,
        external_url: str = "",
        resend_delay_ms: int = DEFAULT_RESEND_DELAY_MS,
        restore: bool = False,
    ) -> None:
        self.group = group
        self.interval_ms = group.interval_ms or default_interval_ms
        self.resend_delay_ms = resend_delay_ms
        self.restored = not restore
        """Whether the rules' ``for`` state needs no restoring: True unless built with
        ``restore`` (at the server's start) and ``restore`` has not run yet."""
        self._runs = [
            _RuleRun(
                rule,
                AlertingRuleState(rule, external_labels=external_labels, external_url=external_url)
                if isinstance(rule, AlertingRule)
                else None,
            )
            for rule in group.rules
        ]
        for run in self._runs:
            if run.alerting is not None:
                run.alerting.restored = self.restored
        self._lock = threading.Lock()
        self._last_eval_ms: int | None = None
        self._eval_seconds = 0.0

    @property
    def key(self) -> tuple[str, str]:
        """The group's identity: file and name."""
        return (self.group.file, self.group.name)

    def offset_ms(self) -> int:
        """Where in its interval the group evaluates: a stable hash of file and name."""
        digest = hashlib.sha256(f"{self.group.file}\0{self.group.name}".encode()).digest()
        return int.from_bytes(digest[:8], "big") % self.interval_ms

    def eval_time(self, now_ms: int) -> int:
        """The latest evaluation timestamp of the group's grid at or before ``now_ms``."""
        offset = self.offset_ms()
        return now_ms - (now_ms - offset) % self.interval_ms

    def take_state_from(self, old: GroupState) -> None:
        """Keep the alerts and previous outputs of rules that ``old`` (the group before a
        reload) also had, matched by kind, name and labels."""
        self.restored = old.restored
        previous = {_rule_key(run.rule): run for run in old._runs}
        for run in self._runs:
            before = previous.pop(_rule_key(run.rule), None)
            if before is None:
                continue
            run.previous = before.previous
            if run.alerting is not None and before.alerting is not None:
                run.alerting.take_alerts_from(before.alerting)

    def eval(
        self,
        t_ms: int,
        query: QueryFunc,
        append: AppendFunc,
        *,
        notify: NotifyFunc = _no_notify,
        history: HistoryFunc = _no_history,
        clock: Callable[[], float] = time.perf_counter,
    ) -> None:
        """Evaluate every rule at ``t_ms``, in order, store each one's output, hand the
        alerts due to ``notify`` and the alerts' transitions to ``history``."""
        started = clock()
        for run in self._runs:
            self._eval_rule(run, t_ms, query, append, clock)
            if run.alerting is not None:
                self._send(run.alerting, t_ms, notify, history)
        with self._lock:
            self._last_eval_ms = t_ms
            self._eval_seconds = clock() - started

    def restore(
        self, t_ms: int, for_state: ForStateFunc, *, tolerance_ms: int, grace_ms: int
    ) -> None:
        """Restore the ``for`` state of the alerting rules' pending alerts from their
        ``ALERTS_FOR_STATE`` series stored within ``tolerance_ms`` before ``t_ms`` (after a
        restart; Prometheus's ``RestoreForState``, called after the second evaluation)."""
        for run in self._runs:
            if run.alerting is None:
                continue
            try:
                found = for_state(run.alerting.name, t_ms - tolerance_ms, t_ms)
            except (RuleEvalError, StorageError) as err:
                log.warning(
                    "rules: restoring the state of alert %s failed: %s", run.alerting.name, err
                )
                continue
            with self._lock:
                run.alerting.restore_for_state(t_ms, found, grace_ms=grace_ms)
        with self._lock:
            for run in self._runs:
                if run.alerting is not None:
                    run.alerting.restored = True
        self.restored = True

    def _send(
        self, alerting: AlertingRuleState, t_ms: int, notify: NotifyFunc, history: HistoryFunc
    ) -> None:
        with self._lock:
            events = alerting.drain_events()
            alerts = alerting.to_send(t_ms, self.resend_delay_ms, self.interval_ms)
        if alerts:
            notify(alerts)
        if events:
            try:
                history(events)
            except StorageError as err:
                log.warning(
                    "rules: recording the history of alert %s failed: %s", alerting.name, err
                )

    def _eval_rule(
        self,
        run: _RuleRun,
        t_ms: int,
        query: QueryFunc,
        append: AppendFunc,
        clock: Callable[[], float],
    ) -> None:
        started = clock()
        limit = self.group.limit
        error = ""
        try:
            if run.alerting is not None:
                vector = query(run.rule.expr, t_ms)  # outside the lock: status() never waits
                with self._lock:
                    samples = run.alerting.apply(t_ms, vector, query, limit=limit)
            else:
                assert isinstance(run.rule, RecordingRule)
                samples = eval_recording(run.rule, t_ms, query, limit=limit)
            produced = frozenset(s.labels for s in samples)
            gone = [OutputSample(labels, t_ms, STALE_NAN) for labels in run.previous - produced]
            append([*samples, *sorted(gone, key=lambda s: s.labels)])
            run.previous = produced
        except RuleEvalError as err:
            error = str(err)
            log.warning("rules: group %s, rule %s: %s", self.group.name, rule_name(run.rule), error)
        with self._lock:
            run.health = RuleHealth.ERR if error else RuleHealth.OK
            run.last_error = error
            run.last_eval_ms = t_ms
            run.eval_seconds = clock() - started

    def status(self) -> GroupStatus:
        """A copy of the group's state for the API."""
        with self._lock:
            rules = tuple(
                RuleStatus(
                    run.rule,
                    run.health,
                    run.last_error,
                    run.last_eval_ms,
                    run.eval_seconds,
                    tuple(dataclasses.replace(a) for a in run.alerting.alerts())
                    if run.alerting
                    else (),
                )
                for run in self._runs
            )
            return GroupStatus(
                self.group, self.interval_ms, self._last_eval_ms, self._eval_seconds, rules
            )
