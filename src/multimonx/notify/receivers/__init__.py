"""The integrations that deliver notifications (Alertmanager's ``notify/<integration>``
packages): webhooks with Alertmanager's payload, and apprise URLs with our message or the
user's templates. Importing this package does not import apprise."""

from multimonx.notify.receivers.appriseurl import AppriseIntegration, check_apprise_url
from multimonx.notify.receivers.build import integrations_for
from multimonx.notify.receivers.message import Message, MessageError, MessageTemplate
from multimonx.notify.receivers.webhook import WebhookIntegration, webhook_payload

__all__ = [
    "AppriseIntegration",
    "Message",
    "MessageError",
    "MessageTemplate",
    "WebhookIntegration",
    "check_apprise_url",
    "integrations_for",
    "webhook_payload",
]
