"""The notification configuration: Alertmanager's configuration format (``route``,
``receivers``, ``inhibit_rules``, ``time_intervals``), with ``apprise_configs`` as our own
receiver integration.

The data classes below are the contract between the parser, the dispatcher and the
integrations; the parser fills them in.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from multimonx.model import Matcher
from multimonx.notify.route import Route

DEFAULT_RESOLVE_TIMEOUT_S = 300.0


@dataclass(frozen=True, slots=True)
class WebhookConfig:
    """Alertmanager's ``webhook_configs`` entry: POST the Alertmanager webhook payload (version
    4) to ``url``. ``max_alerts`` 0 means no limit; ``timeout`` bounds each attempt."""

    url: str
    send_resolved: bool = True
    max_alerts: int = 0
    timeout: float = 10.0


@dataclass(frozen=True, slots=True)
class AppriseConfig:
    """An ``apprise_configs`` entry: deliver through one apprise URL (``slack://``,
    ``discord://``, ``mailto://``, ``msteams://``, ``pagerduty://``, ``tgram://``,
    ``json://``...). ``title`` and ``body`` are templates over the notification data; None
    means the default message."""

    url: str
    send_resolved: bool = True
    title: str | None = None
    body: str | None = None
    timeout: float = 10.0


@dataclass(frozen=True, slots=True)
class ReceiverConfig:
    """A named receiver and its integrations (a receiver without any is a valid sink)."""

    name: str
    webhook_configs: tuple[WebhookConfig, ...] = ()
    apprise_configs: tuple[AppriseConfig, ...] = ()


@dataclass(frozen=True, slots=True)
class InhibitRule:
    """Alertmanager's inhibition rule: a firing alert matching ``source_matchers`` mutes the
    alerts matching ``target_matchers`` that have the same values for every ``equal`` label
    (an alert matching both sides does not mute itself)."""

    source_matchers: tuple[Matcher, ...]
    target_matchers: tuple[Matcher, ...]
    equal: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class NotifyConfig:
    """The whole notification configuration. ``time_intervals`` maps names to objects with
    ``contains(t: float) -> bool`` (``timeinterval.TimeInterval``)."""

    route: Route
    receivers: Mapping[str, ReceiverConfig]
    inhibit_rules: tuple[InhibitRule, ...] = ()
    time_intervals: Mapping[str, object] = field(default_factory=dict)
    resolve_timeout: float = DEFAULT_RESOLVE_TIMEOUT_S
