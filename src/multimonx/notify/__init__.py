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
from multimonx.notify.matchers import MatcherError, parse_matcher, parse_matchers
from multimonx.notify.notification import (
    DeliveryError,
    GroupStatus,
    Integration,
    Notification,
)
from multimonx.notify.route import Route, RouteOpts
from multimonx.notify.timeinterval import TimeInterval, TimeIntervalError, TimeSpec

__all__ = [
    "Alert",
    "AppriseConfig",
    "DeliveryError",
    "GroupStatus",
    "InhibitRule",
    "Integration",
    "MatcherError",
    "Notification",
    "NotifyConfig",
    "NotifyConfigError",
    "ReceiverConfig",
    "Route",
    "RouteOpts",
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
