"""Builds every receiver's integrations from the notification configuration (the dispatcher
asks for them at start and at each reload)."""

from __future__ import annotations

from multimonx.notify.config import NotifyConfig
from multimonx.notify.notification import Integration
from multimonx.notify.receivers.appriseurl import AppriseIntegration
from multimonx.notify.receivers.webhook import WebhookIntegration


def integrations_for(config: NotifyConfig) -> dict[str, list[Integration]]:
    """Receiver name -> its integrations: webhooks first, then apprise URLs, each numbered
    from 0 within its kind (``webhook[0]``, ``apprise[0]``...). A receiver without any is a
    valid sink and maps to an empty list. Raises ValueError for an unusable apprise URL or
    template, naming the receiver."""
    built: dict[str, list[Integration]] = {}
    for name, receiver in config.receivers.items():
        integrations: list[Integration] = [
            WebhookIntegration(hook, name, i) for i, hook in enumerate(receiver.webhook_configs)
        ]
        integrations += [
            AppriseIntegration(url, name, i) for i, url in enumerate(receiver.apprise_configs)
        ]
        built[name] = integrations
    return built
