"""Notifications: the routing tree, grouping, silences, inhibition, time intervals,
deduplication and retries of Alertmanager, and the integrations that deliver (Alertmanager's
``dispatch``, ``silence``, ``inhibit`` and ``notify`` packages in one)."""

from multimonx.notify.alert import Alert, fingerprint
from multimonx.notify.notification import (
    DeliveryError,
    GroupStatus,
    Integration,
    Notification,
)
from multimonx.notify.route import Route, RouteOpts

__all__ = [
    "Alert",
    "DeliveryError",
    "GroupStatus",
    "Integration",
    "Notification",
    "Route",
    "RouteOpts",
    "fingerprint",
]
