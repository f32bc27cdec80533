"""The ``data`` of Prometheus's ``/api/v1/rules`` and ``/api/v1/alerts`` (2.42's shapes),
from the rule manager's group statuses."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from multimonx.model import Labels
from multimonx.promql.printer import format_expr
from multimonx.rules import AlertingRule
from multimonx.rules.alerting import Alert, AlertState
from multimonx.rules.group import GroupStatus, RuleStatus

RULE_TYPES = ("alert", "record")
"""The values of ``/api/v1/rules?type=``."""

_ZERO_TIME = "0001-01-01T00:00:00Z"  # Go's zero time.Time, for "never evaluated"


def rules_data(groups: Sequence[GroupStatus], rule_type: str = "") -> dict[str, Any]:
    """``{"groups": [...]}``, only alerting (``alert``) or recording (``record``) rules if
    ``rule_type`` says so. A group is listed even if the filter leaves it no rule, as in
    Prometheus 2.42."""
    out = []
    for status in groups:
        rules = [
            _rule(rule)
            for rule in status.rules
            if not rule_type or (rule_type == "alert") == isinstance(rule.rule, AlertingRule)
        ]
        out.append(
            {
                "name": status.group.name,
                "file": status.group.file,
                "rules": rules,
                "interval": status.interval_ms / 1000,
                "limit": status.group.limit,
                "evaluationTime": status.eval_seconds,
                "lastEvaluation": _time(status.last_eval_ms),
            }
        )
    return {"groups": out}


ALERT_FILTERS = {
    "instance": "instance",
    "host": "instance",
    "alertname": "alertname",
    "rule": "alertname",
    "severity": "severity",
}
"""Our ``/api/v1/alerts`` filter parameters (absent in Prometheus) and the label each one
compares: ``host`` and ``rule`` are the friendly names of ``instance`` and ``alertname``."""

ALERT_STATES = ("pending", "firing")
"""The values of ``/api/v1/alerts?state=``."""


def alerts_data(
    groups: Sequence[GroupStatus],
    labels: Mapping[str, str] | None = None,
    state: str = "",
) -> dict[str, Any]:
    """``{"alerts": [...]}``: every pending and firing alert of every rule, or those whose
    labels have the given values and (``state``) that are in that state."""
    wanted = labels or {}
    return {
        "alerts": [
            _alert(alert)
            for status in groups
            for rule in status.rules
            for alert in rule.alerts
            if alert.state is not AlertState.INACTIVE
            and (not state or alert.state.value == state)
            and all(alert.labels.get(k, "") == v for k, v in wanted.items())
        ]
    }


def _rule(status: RuleStatus) -> dict[str, Any]:
    rule = status.rule
    common: dict[str, Any] = {"health": status.health.value}
    if status.last_error:
        common["lastError"] = status.last_error
    common["evaluationTime"] = status.eval_seconds
    common["lastEvaluation"] = _time(status.last_eval_ms)
    if isinstance(rule, AlertingRule):
        active = [a for a in status.alerts if a.state is not AlertState.INACTIVE]
        return {
            "state": _rule_state(active),
            "name": rule.alert,
            "query": format_expr(rule.expr),
            "duration": rule.for_ms / 1000,
            "keepFiringFor": rule.keep_firing_for_ms / 1000,
            "labels": {k: t.text for k, t in rule.labels},
            "annotations": {k: t.text for k, t in rule.annotations},
            "alerts": [_alert(a) for a in active],
            **common,
            "type": "alerting",
        }
    return {
        "name": rule.record,
        "query": format_expr(rule.expr),
        "labels": dict(rule.labels),
        **common,
        "type": "recording",
    }


def _rule_state(alerts: Sequence[Alert]) -> str:
    """The most advanced state among a rule's alerts (Prometheus's ``AlertingRule.State``)."""
    states = {a.state for a in alerts}
    best = next(
        (s for s in (AlertState.FIRING, AlertState.PENDING) if s in states), AlertState.INACTIVE
    )
    return str(best.value)


def _alert(alert: Alert) -> dict[str, Any]:
    out: dict[str, Any] = {
        "labels": _labels(alert.labels),
        "annotations": _labels(alert.annotations),
        "state": alert.state.value,
        "activeAt": _time(alert.active_at_ms),
    }
    if alert.keep_firing_since_ms is not None:
        out["keepFiringSince"] = _time(alert.keep_firing_since_ms)
    out["value"] = go_exponent(alert.value)
    return out


def _labels(labels: Labels) -> dict[str, str]:
    return dict(labels.pairs)


def _time(t_ms: int | None) -> str:
    """Go's RFC 3339 text of a ``time.Time`` (fraction only as long as needed)."""
    if t_ms is None:
        return _ZERO_TIME
    stamp = datetime.fromtimestamp(t_ms / 1000, UTC).replace(microsecond=(t_ms % 1000) * 1000)
    text = stamp.strftime("%Y-%m-%dT%H:%M:%S")
    if t_ms % 1000:
        text += f".{t_ms % 1000:03d}".rstrip("0")
    return text + "Z"


def go_exponent(value: float) -> str:
    """Go's ``strconv.FormatFloat(value, 'e', -1, 64)``: the shortest digits that read back as
    ``value``, in exponent form (``1e+00``, ``9.3e-01``, ``NaN``, ``+Inf``)."""
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "+Inf" if value > 0 else "-Inf"
    for precision in range(17):
        text = f"{value:.{precision}e}"
        if float(text) == value:
            return text
    return f"{value:.16e}"  # pragma: no cover - 17 significant digits always read back
