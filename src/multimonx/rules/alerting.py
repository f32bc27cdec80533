"""The state of alerting rules between evaluations, as Prometheus 2.42's ``rules.AlertingRule``
keeps it.

Each evaluation takes the rule's query result at ``t``: every returned series is an alert,
identified by its labels (the series' labels without ``__name__``, plus the rule's expanded
labels and ``alertname``). A new alert starts ``PENDING`` (active since ``t``) and turns
``FIRING`` once it has been active for the rule's ``for``; an alert no longer returned turns
``INACTIVE`` (resolved at ``t``) unless it was firing and ``keep_firing_for`` has not run out
since it was last returned. A pending alert that goes away is forgotten at once; a resolved
one is kept ``RESOLVED_RETENTION_MS`` (15 minutes) so that notifiers still see it resolved.

Every evaluation also returns the rule's ``ALERTS`` series (1 per pending or firing alert,
with ``alertstate``) and ``ALERTS_FOR_STATE`` series (the alert's active-since time in
seconds), which the caller stores.
"""

from __future__ import annotations

import enum
import functools
import logging
import math
import urllib.parse
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

from multimonx.model import METRIC_NAME_LABEL, Labels
from multimonx.notify import Alert as NotifyAlert
from multimonx.promql.ast import Expr
from multimonx.promql.lexer import ParseError
from multimonx.promql.parser import parse
from multimonx.rules.rulefile import AlertingRule
from multimonx.storage.alerthistory import AlertEvent, AlertPhase
from multimonx.template.engine import Template, TemplateData, TemplateError
from multimonx.template.funcs import QueryFunction

log = logging.getLogger(__name__)

ALERTS_METRIC = "ALERTS"
ALERTS_FOR_STATE_METRIC = "ALERTS_FOR_STATE"
ALERT_NAME_LABEL = "alertname"
ALERT_STATE_LABEL = "alertstate"
RESOLVED_RETENTION_MS = 15 * 60 * 1000
"""How long a resolved alert is kept (and sent as resolved) after it went away."""

QueryFunc = Callable[[Expr, int], Sequence[tuple[Labels, float]]]
"""``query(expr, t_ms)``: the instant vector of ``expr`` at ``t_ms`` (a scalar result as one
sample with no labels). Raises RuleEvalError when the evaluation fails."""


def _template_query(query: QueryFunc, t_ms: int) -> QueryFunction:
    """The templates' ``query`` function: PromQL text evaluated at the rule's time."""

    def run(text: str) -> list[tuple[Mapping[str, str], float]]:
        try:
            expr = parse(text)
        except ParseError as err:
            raise RuleEvalError(str(err)) from None
        return [(labels, value) for labels, value in query(expr, t_ms)]

    return run


class RuleEvalError(Exception):
    """An evaluation whose result cannot be used (the rule keeps its previous state)."""


class AlertState(enum.Enum):
    """Where an alert is in its life."""

    INACTIVE = "inactive"
    PENDING = "pending"
    FIRING = "firing"


@dataclass(slots=True)
class Alert:
    """One alert of a rule: its identity (``labels``), what its last evaluation said, and the
    times of its transitions (milliseconds; None until they happen)."""

    labels: Labels
    annotations: Labels
    value: float
    active_at_ms: int
    state: AlertState = AlertState.PENDING
    fired_at_ms: int | None = None
    resolved_at_ms: int | None = None
    keep_firing_since_ms: int | None = None
    last_sent_ms: int | None = None
    valid_until_ms: int | None = None


@dataclass(frozen=True, slots=True)
class OutputSample:
    """A sample an evaluation produces, for the caller to store."""

    labels: Labels
    t_ms: int
    value: float


def _needs_sending(alert: Alert, t_ms: int, resend_delay_ms: int) -> bool:
    """Prometheus's ``Alert.needsSending``."""
    if alert.state is AlertState.PENDING:
        return False
    if alert.last_sent_ms is None:
        return True
    if alert.resolved_at_ms is not None and alert.resolved_at_ms > alert.last_sent_ms:
        return True
    return alert.last_sent_ms + resend_delay_ms < t_ms


class AlertingRuleState:
    """An alerting rule and its active alerts. Not thread-safe: one group evaluates it."""

    def __init__(
        self,
        rule: AlertingRule,
        *,
        external_labels: Labels | None = None,
        external_url: str = "",
    ) -> None:
        self.rule = rule
        self.external_labels = external_labels or Labels()
        self.external_url = external_url
        self._active: dict[Labels, Alert] = {}
        self._events: list[AlertEvent] = []
        self.restored = True
        """False until the ``for`` state is restored after a start: until then no
        ``ALERTS_FOR_STATE`` is written, so the state stored before the restart is what
        restoring reads (as Prometheus's ``AlertingRule.restored``)."""

    @property
    def name(self) -> str:
        """The rule's alert name."""
        return self.rule.alert

    def alerts(self) -> list[Alert]:
        """The alerts held: pending, firing, and resolved ones within their retention."""
        return list(self._active.values())

    def take_alerts_from(self, old: AlertingRuleState) -> None:
        """Carry the alerts of the same rule before a reload over to this one."""
        self._active = dict(old._active)
        self.restored = old.restored

    def drain_events(self) -> list[AlertEvent]:
        """The transitions since the last call, oldest first (for the alert history)."""
        events, self._events = self._events, []
        return events

    def eval(self, t_ms: int, query: QueryFunc, *, limit: int = 0) -> list[OutputSample]:
        """Evaluate at ``t_ms`` and advance every alert's state; the ``ALERTS`` and
        ``ALERTS_FOR_STATE`` samples of the pending and firing ones. ``limit`` (0: none)
        bounds the pending and firing alerts: above it, every alert is dropped and
        RuleEvalError is raised, as Prometheus does."""
        return self.apply(t_ms, query(self.rule.expr, t_ms), query, limit=limit)

    def apply(
        self,
        t_ms: int,
        vector: Sequence[tuple[Labels, float]],
        query: QueryFunc,
        *,
        limit: int = 0,
    ) -> list[OutputSample]:
        """``eval`` with the rule's query result already in hand (``query`` serves the
        templates' ``query`` function): only this part changes the alerts."""
        found = self._alerts_of(t_ms, vector, _template_query(query, t_ms))
        for key, alert in found.items():
            held = self._active.get(key)
            if held is not None and held.state is not AlertState.INACTIVE:
                held.value, held.annotations = alert.value, alert.annotations
            else:
                self._active[key] = alert
                self._event(alert, AlertPhase.PENDING, t_ms)
        out: list[OutputSample] = []
        active = 0
        for key, alert in list(self._active.items()):
            if key not in found and not self._keeps_firing(alert, t_ms):
                if alert.state is AlertState.PENDING or (
                    alert.resolved_at_ms is not None
                    and t_ms - alert.resolved_at_ms > RESOLVED_RETENTION_MS
                ):
                    del self._active[key]
                if alert.state is not AlertState.INACTIVE:
                    alert.state = AlertState.INACTIVE
                    alert.resolved_at_ms = t_ms
                    self._event(alert, AlertPhase.RESOLVED, t_ms, math.nan)
                continue
            if key in found:
                alert.keep_firing_since_ms = None
            active += 1
            if alert.state is AlertState.PENDING and t_ms - alert.active_at_ms >= self.rule.for_ms:
                alert.state = AlertState.FIRING
                alert.fired_at_ms = t_ms
                self._event(alert, AlertPhase.FIRING, t_ms)
            out += self._samples(alert, t_ms)
        if limit and active > limit:
            self._active.clear()
            raise RuleEvalError(f"exceeded limit of {limit} with {active} alerts")
        return out

    def _event(
        self, alert: Alert, phase: AlertPhase, t_ms: int, value: float | None = None
    ) -> None:
        self._events.append(
            AlertEvent(
                alert.labels,
                alert.annotations,
                phase,
                t_ms,
                alert.value if value is None else value,
            )
        )

    def to_send(self, t_ms: int, resend_delay_ms: int, interval_ms: int) -> list[NotifyAlert]:
        """The alerts to hand the notifier after an evaluation at ``t_ms``, marked as sent
        (Prometheus's ``sendAlerts``): firing ones once every ``resend_delay_ms``, resolved
        ones when they resolve (and again every resend delay while they are kept), pending
        ones never. A firing alert is valid for four evaluation or resend periods, so the
        notifier resolves it by itself if the rules stop sending it."""
        out: list[NotifyAlert] = []
        for alert in self._active.values():
            if not _needs_sending(alert, t_ms, resend_delay_ms):
                continue
            alert.last_sent_ms = t_ms
            alert.valid_until_ms = t_ms + 4 * max(resend_delay_ms, interval_ms)
            ends_ms = (
                alert.resolved_at_ms if alert.resolved_at_ms is not None else alert.valid_until_ms
            )
            out.append(
                NotifyAlert(
                    labels=alert.labels,
                    annotations=alert.annotations,
                    starts_at=(alert.fired_at_ms or alert.active_at_ms) / 1000,
                    ends_at=ends_ms / 1000,
                    generator_url=self.generator_url,
                    value=alert.value,
                )
            )
        return out

    @property
    def generator_url(self) -> str:
        """The link from a notification back to the rule's expression (Prometheus's
        ``/graph?g0.expr=...&g0.tab=1`` under the external URL)."""
        query = urllib.parse.quote_plus(self.rule.expr_text)
        return f"{self.external_url.rstrip('/')}/graph?g0.expr={query}&g0.tab=1"

    def restore_for_state(
        self,
        t_ms: int,
        last_for_state: Mapping[Labels, tuple[int, float]],
        *,
        grace_ms: int,
    ) -> None:
        """Give the pending alerts back the active-since times they had before a restart
        (Prometheus's ``RestoreForState``). ``last_for_state`` maps an alert's labels to the
        last ``ALERTS_FOR_STATE`` sample (time, value) stored within the outage tolerance.
        An alert that was firing fires again at the next evaluation; one that was pending
        keeps the time it had already waited, and fires no earlier than ``grace_ms`` from
        now. Rules whose ``for`` is shorter than the grace period are left alone."""
        self.restored = True
        hold_ms = self.rule.for_ms
        if hold_ms <= 0 or hold_ms < grace_ms:
            return
        for alert in self._active.values():
            if alert.state is not AlertState.PENDING:
                continue
            found = last_for_state.get(alert.labels)
            if found is None or math.isnan(found[1]):  # a staleness marker: it had ended
                continue
            down_ms, since_s = found
            active_at_ms = int(since_s) * 1000
            remaining_ms = hold_ms - ((down_ms // 1000) * 1000 - active_at_ms)
            if remaining_ms <= 0:
                pass  # it was firing: it fires again at the next evaluation
            elif remaining_ms < grace_ms:
                active_at_ms = t_ms + grace_ms - hold_ms
            else:
                active_at_ms += t_ms - (down_ms // 1000) * 1000
            alert.active_at_ms = active_at_ms

    def _keeps_firing(self, alert: Alert, t_ms: int) -> bool:
        """Whether a firing alert no longer returned stays firing (``keep_firing_for``)."""
        if alert.state is not AlertState.FIRING or not self.rule.keep_firing_for_ms:
            return False
        if alert.keep_firing_since_ms is None:
            alert.keep_firing_since_ms = t_ms
        return t_ms - alert.keep_firing_since_ms < self.rule.keep_firing_for_ms

    def _alerts_of(
        self,
        t_ms: int,
        vector: Sequence[tuple[Labels, float]],
        template_query: QueryFunction,
    ) -> dict[Labels, Alert]:
        """The alerts the query result asks for, by their labels, with templates expanded
        (their ``query`` function evaluating at ``t_ms``)."""
        out: dict[Labels, Alert] = {}
        for labels, value in vector:
            data = TemplateData(
                labels=labels,
                value=value,
                external_labels=self.external_labels,
                external_url=self.external_url,
            )
            expand = functools.partial(self._expand, data=data, query=template_query)
            own = {name: expand(template) for name, template in self.rule.labels}
            merged = dict(labels.without(METRIC_NAME_LABEL).pairs)
            for name, text in own.items():
                if text:
                    merged[name] = text
                else:  # an empty value removes the label, as Prometheus's label builder does
                    merged.pop(name, None)
            merged[ALERT_NAME_LABEL] = self.rule.alert
            key = Labels.of(merged)
            if key in out:
                raise RuleEvalError(
                    "vector contains metrics with the same labelset after applying alert labels"
                )
            annotations = Labels(
                (name, expand(template)) for name, template in self.rule.annotations
            )
            out[key] = Alert(key, annotations, value, active_at_ms=t_ms)
        return out

    def _expand(self, template: Template, *, data: TemplateData, query: QueryFunction) -> str:
        try:
            return template.render(data, query=query)
        except TemplateError as err:
            log.warning("rules: expanding a template of alert %s failed: %s", self.name, err)
            return f"<error expanding template: {err}>"

    def _samples(self, alert: Alert, t_ms: int) -> list[OutputSample]:
        base = dict(alert.labels.pairs)
        alerts = Labels.of(
            {
                **base,
                METRIC_NAME_LABEL: ALERTS_METRIC,
                ALERT_NAME_LABEL: self.rule.alert,
                ALERT_STATE_LABEL: alert.state.value,
            }
        )
        for_state = Labels.of(
            {**base, METRIC_NAME_LABEL: ALERTS_FOR_STATE_METRIC, ALERT_NAME_LABEL: self.rule.alert}
        )
        since = math.floor(alert.active_at_ms / 1000)  # Go's Time.Unix(): whole seconds
        if not self.restored:
            return [OutputSample(alerts, t_ms, 1.0)]
        return [OutputSample(alerts, t_ms, 1.0), OutputSample(for_state, t_ms, float(since))]
