"""Notifications: the routing tree, grouping, silences, inhibition, time intervals,
deduplication and retries of Alertmanager, and the integrations that deliver (Alertmanager's
``dispatch``, ``silence``, ``inhibit`` and ``notify`` packages in one)."""

from multimonx.notify.alert import Alert, fingerprint
from multimonx.notify.config import (
    AppriseConfig,
    InhibitRule,
    NotifyConfig,
    NotifyConfigError,
    ReceiverConfig,
    WebhookConfig,
    load_notify_config,
    parse_notify_config,
)
from multimonx.notify.dispatch import Dispatcher
from multimonx.notify.inhibit import Inhibitor
from multimonx.notify.matchers import MatcherError, parse_matcher, parse_matchers
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
from multimonx.notify.timeinterval import TimeInterval, TimeIntervalError, TimeSpec

__all__ = [
    "Alert",
    "AlertState",
    "AlertStatus",
    "AppriseConfig",
    "DeliveryError",
    "Dispatcher",
    "GroupStatus",
    "InhibitRule",
    "Inhibitor",
    "Integration",
    "IntegrationStats",
    "LogEntry",
    "LogKey",
    "MatcherError",
    "Notification",
    "NotificationLog",
    "NotifyConfig",
    "NotifyConfigError",
    "ReceiverConfig",
    "Route",
    "RouteOpts",
    "Silence",
    "SilenceError",
    "SilenceNotFoundError",
    "SilenceState",
    "Silences",
    "TimeInterval",
    "TimeIntervalError",
    "TimeSpec",
    "WebhookConfig",
    "fingerprint",
    "load_notify_config",
    "parse_matcher",
    "parse_matchers",
    "parse_notify_config",
]
