"""The webhook integration: Alertmanager's ``webhook_configs``, posting Alertmanager's
webhook payload (version 4) so that any Alertmanager webhook consumer works unchanged.

The payload is Alertmanager 0.25's, field for field (``notify/webhook/webhook.go`` and
``template.Data``), checked against the real Alertmanager by a differential test:

- keys in Alertmanager's order, JSON written as Go writes it (``<``, ``>``, ``&`` as
  ``\\u003c``...), a newline at the end;
- ``receiver`` passed through Go's ``regexp.QuoteMeta`` as Alertmanager does;
- times in RFC 3339 with Go's shortest fraction (``2026-12-07T10:00:00.12Z``), in UTC
  (Alertmanager keeps the offset a client posted; ours are always UTC);
- a firing alert's ``endsAt`` is Go's zero time ``0001-01-01T00:00:00Z`` (Alertmanager does
  not expose the deadline of an alert that has not ended);
- ``max_alerts`` keeps the first alerts and counts the rest in ``truncatedAlerts``, while
  ``status``, ``commonLabels`` and ``commonAnnotations`` describe the kept alerts only.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any, Final

from multimonx.notify.alert import Alert
from multimonx.notify.config import WebhookConfig
from multimonx.notify.notification import DeliveryError, Notification
from multimonx.notify.receivers.post import post_json

WEBHOOK_VERSION: Final = "4"
GO_ZERO_TIME: Final = "0001-01-01T00:00:00Z"
_QUOTE_META: Final = frozenset("\\.+*?()|[]{}^$")
_GO_HTML_ESCAPES: Final = (
    ("<", "\\u003c"),
    (">", "\\u003e"),
    ("&", "\\u0026"),
    ("\u2028", "\\u2028"),
    ("\u2029", "\\u2029"),
)


def go_time(seconds: float) -> str:
    """``seconds`` since the epoch as Go's JSON writes a UTC ``time.Time`` (RFC 3339 with
    the shortest fraction, to the microsecond: a float second holds no more)."""
    whole, micros = divmod(round(seconds * 1_000_000), 1_000_000)
    text = datetime.fromtimestamp(whole, UTC).strftime("%Y-%m-%dT%H:%M:%S")
    fraction = f".{micros:06d}".rstrip("0").rstrip(".")
    return f"{text}{fraction}Z"


def quote_meta(text: str) -> str:
    """Go's ``regexp.QuoteMeta``: a backslash before each regexp metacharacter."""
    return "".join("\\" + ch if ch in _QUOTE_META else ch for ch in text)


def go_json(value: object) -> bytes:
    """``value`` as Go's ``json.Encoder`` writes it: compact, HTML characters escaped,
    UTF-8, one newline at the end."""
    text = json.dumps(value, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
    for raw, escaped in _GO_HTML_ESCAPES:
        text = text.replace(raw, escaped)
    return (text + "\n").encode()


def alert_status(alert: Alert, now: float) -> str:
    """``firing`` or ``resolved`` at ``now``."""
    return "resolved" if alert.resolved_at(now) else "firing"


def alert_payload(alert: Alert, now: float) -> dict[str, Any]:
    """One alert of the payload (Alertmanager's ``template.Alert``)."""
    resolved = alert.resolved_at(now)
    return {
        "status": "resolved" if resolved else "firing",
        "labels": dict(alert.labels.pairs),
        "annotations": dict(alert.annotations.pairs),
        "startsAt": go_time(alert.starts_at),
        "endsAt": go_time(alert.ends_at) if resolved else GO_ZERO_TIME,
        "generatorURL": alert.generator_url,
        "fingerprint": alert.fingerprint,
    }


def _common(maps: list[dict[str, str]]) -> dict[str, str]:
    if not maps:
        return {}
    common = dict(maps[0])
    for other in maps[1:]:
        common = {k: v for k, v in common.items() if other.get(k) == v}
    return common


def webhook_payload(notification: Notification, *, max_alerts: int = 0) -> dict[str, Any]:
    """Alertmanager's webhook message for ``notification``; ``max_alerts`` 0 keeps all."""
    alerts = notification.alerts
    truncated = 0
    if 0 < max_alerts < len(alerts):
        alerts, truncated = alerts[:max_alerts], len(alerts) - max_alerts
    now = notification.now
    items = [alert_payload(a, now) for a in alerts]
    return {
        "receiver": quote_meta(notification.receiver),
        "status": "firing" if any(i["status"] == "firing" for i in items) else "resolved",
        "alerts": items,
        "groupLabels": dict(notification.group_labels.pairs),
        "commonLabels": _common([i["labels"] for i in items]),
        "commonAnnotations": _common([i["annotations"] for i in items]),
        "externalURL": notification.external_url,
        "version": WEBHOOK_VERSION,
        "groupKey": notification.group_key,
        "truncatedAlerts": truncated,
    }


class WebhookIntegration:
    """Posts each notification to one webhook URL (an Integration, ``webhook[<index>]``).

    One POST per ``notify`` bounded by the configured timeout; the dispatcher retries.
    Failures raise DeliveryError: connection errors, timeouts, 5xx and 429 are retryable,
    other answers are not. Messages name the URL's scheme, host and port only."""

    def __init__(self, config: WebhookConfig, receiver: str, index: int) -> None:
        if config.max_alerts < 0:
            raise ValueError(f"webhook max_alerts must not be negative, got {config.max_alerts}")
        self._config = config
        self._receiver = receiver
        self._name = f"webhook[{index}]"

    @property
    def name(self) -> str:
        """``webhook[<index>]``."""
        return self._name

    @property
    def send_resolved(self) -> bool:
        """Whether resolved alerts are sent (``send_resolved``)."""
        return self._config.send_resolved

    def notify(self, notification: Notification) -> None:
        """POST the payload; raises DeliveryError when the webhook does not answer 2xx."""
        body = go_json(webhook_payload(notification, max_alerts=self._config.max_alerts))
        try:
            post_json(self._config.url, body, timeout=self._config.timeout)
        except DeliveryError as err:
            raise DeliveryError(
                f"{self._receiver}/{self._name}: {err}", retryable=err.retryable
            ) from None
