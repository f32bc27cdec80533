"""What the dispatcher reports: each alert's routing and muting for the API, delivery
counters per integration, and both as metric families for ``/metrics``."""

from __future__ import annotations

import enum
from collections.abc import Sequence
from dataclasses import dataclass

from multimonx.model import MetricFamily
from multimonx.notify.alert import Alert


class AlertState(enum.Enum):
    """An alert's state in the API (Alertmanager's ``AlertState``): muted or not."""

    ACTIVE = "active"
    SUPPRESSED = "suppressed"


@dataclass(frozen=True, slots=True)
class AlertStatus:
    """An alert as the API shows it: where it is routed and what mutes it."""

    alert: Alert
    updated_at: float
    receivers: tuple[str, ...]
    silenced_by: tuple[str, ...]
    inhibited_by: tuple[str, ...]

    @property
    def state(self) -> AlertState:
        """``suppressed`` if a silence or an inhibition mutes the alert."""
        return AlertState.SUPPRESSED if self.silenced_by or self.inhibited_by else AlertState.ACTIVE


@dataclass(frozen=True, slots=True)
class IntegrationStats:
    """Delivery counters of one integration of one receiver since the server started.
    ``attempts`` counts every call of the integration (Alertmanager's
    ``notifications_total``), ``failed`` the calls that failed, ``sent`` those that
    succeeded; times are Unix seconds, None if it never happened."""

    receiver: str
    integration: str
    attempts: int = 0
    sent: int = 0
    failed: int = 0
    last_error: str = ""
    last_error_at: float | None = None
    last_success_at: float | None = None


def metric_families(
    stats: Sequence[IntegrationStats], alerts: Sequence[AlertStatus]
) -> list[MetricFamily]:
    """``multimonx_notifications_total`` and ``multimonx_notifications_failed_total`` per
    receiver and integration (Alertmanager counts attempts the same way), and
    ``multimonx_alerts`` by state."""
    states = dict.fromkeys(AlertState, 0)
    for status in alerts:
        states[status.state] += 1
    return [
        MetricFamily.counter(
            "multimonx_notifications_total",
            "Calls of an integration to deliver a notification, by receiver and integration.",
            ("receiver", "integration"),
            (((s.receiver, s.integration), float(s.attempts)) for s in stats),
        ),
        MetricFamily.counter(
            "multimonx_notifications_failed_total",
            "Failed calls of an integration, by receiver and integration.",
            ("receiver", "integration"),
            (((s.receiver, s.integration), float(s.failed)) for s in stats),
        ),
        MetricFamily.gauge(
            "multimonx_alerts",
            "Alerts held by the notifier and not resolved, by state (active, suppressed).",
            ("state",),
            (((s.value,), float(n)) for s, n in states.items()),
        ),
    ]
