"""Notifications: the routing tree, grouping, silences, inhibition, time intervals,
deduplication and retries of Alertmanager, and the integrations that deliver (Alertmanager's
``dispatch``, ``silence``, ``inhibit`` and ``notify`` packages in one)."""

from multimonx.notify.alert import Alert, fingerprint
from multimonx.notify.dispatch import Dispatcher
from multimonx.notify.inhibit import Inhibitor
from multimonx.notify.nflog import LogEntry, LogKey, NotificationLog
from multimonx.notify.notification import (
    DeliveryError,
    GroupStatus,
    Integration,
    Notification,
)
from multimonx.notify.route import Route, RouteOpts
from multimonx.notify.silence import (
    Silence,
    SilenceError,
    SilenceNotFoundError,
    Silences,
    SilenceState,
)
from multimonx.notify.status import AlertState, AlertStatus, IntegrationStats

__all__ = [
    "Alert",
    "AlertState",
    "AlertStatus",
    "DeliveryError",
    "Dispatcher",
    "GroupStatus",
    "Inhibitor",
    "Integration",
    "IntegrationStats",
    "LogEntry",
    "LogKey",
    "Notification",
    "NotificationLog",
    "Route",
    "RouteOpts",
    "Silence",
    "SilenceError",
    "SilenceNotFoundError",
    "SilenceState",
    "Silences",
    "fingerprint",
]
