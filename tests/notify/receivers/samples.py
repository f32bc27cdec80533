"""Alerts and notifications for the integrations' tests."""

from __future__ import annotations

from multimonx.model import Labels
from multimonx.notify import Alert, Notification

NOW = 1_796_637_600.0  # 2026-12-07T10:00:00Z
EXTERNAL_URL = "http://monitor.example:8080"


def alert(
    instance: str | None = "host-07",
    *,
    name: str = "HostCpuHigh",
    severity: str = "warning",
    summary: str = "CPU busy",
    resolved: bool = False,
    value: float = 0.9312,
    **extra: str,
) -> Alert:
    """An alert started 5 minutes before NOW; resolved one minute before NOW if asked."""
    labels = {"alertname": name, "severity": severity, **extra}
    if instance is not None:
        labels["instance"] = instance
    return Alert(
        labels=Labels(labels.items()),
        annotations=Labels({"summary": summary}.items()),
        starts_at=NOW - 300.25,
        ends_at=NOW - 60 if resolved else NOW + 240,
        generator_url="http://monitor.example:8080/graph?g0.expr=cpu",
        value=value,
    )


def notification(
    *alerts: Alert, receiver: str = "ops", group_by: str = "alertname"
) -> Notification:
    """The notification of one group (grouped by ``group_by``) at NOW."""
    group_labels = Labels({group_by: alerts[0].labels[group_by]}.items())
    key = ", ".join(f'{n}="{v}"' for n, v in group_labels.pairs)
    return Notification(
        receiver=receiver,
        group_key=f"{{}}:{{{key}}}",
        group_labels=group_labels,
        alerts=alerts,
        now=NOW,
        external_url=EXTERNAL_URL,
    )
