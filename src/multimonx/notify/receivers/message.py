"""The words of a notification: its title and body, from our default message or from the
user's Go templates over Alertmanager's template data.

The default title is Alertmanager's own (``__subject`` in its ``default.tmpl``):
``[FIRING:2] HostCpuHigh (host-07 warning)``, that is the status (with the number of firing
alerts), the group labels' values, then the values of the labels the alerts share beyond
them. The default body has one paragraph per alert: summary, severity, host, value, start
(or end) time and a link to the host's dashboard page (``<external_url>/hosts/<host>``, or
``<external_url>/alerts`` for an alert without an ``instance`` label).

Custom templates (``title``, ``body`` of an apprise config) see Alertmanager's
``template.Data`` (see :mod:`multimonx.template.notification`), with ``.Value`` per alert.
They are parsed when the integration is built, so a bad template fails the configuration,
and rendered at each send.

Label and annotation values are untrusted (anyone who can push metrics names a host). The
message is plain text and integrations send it as such; where a destination would still
read markup in plain text (Discord and Mattermost render Markdown in any message), the
integration passes an ``escape`` function that is applied to every label and annotation
value before it enters the message, default or templated.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Final
from urllib.parse import quote

from multimonx.model import Labels
from multimonx.notify.alert import Alert
from multimonx.notify.notification import Notification
from multimonx.template import (
    Template,
    TemplateError,
    alert_data,
    notification_data,
    parse_notification_template,
)
from multimonx.template.funcs import BUILTINS

Escape = Callable[[str], str]
"""Makes an untrusted value inert in the destination's markup."""

DEFAULT_TITLE: Final = (
    '[{{ .Status | toUpper }}{{ if eq .Status "firing" }}:{{ .Alerts.Firing | len }}{{ end }}]'
    ' {{ .GroupLabels.SortedPairs.Values | join " " }}'
    " {{ if gt (len .CommonLabels) (len .GroupLabels) }}({{ with .CommonLabels.Remove"
    ' .GroupLabels.Names }}{{ .Values | join " " }}{{ end }}){{ end }}'
)
"""Alertmanager's default notification title, as a template over its data."""

_MARKDOWN_SPECIALS: Final = re.compile(r"([\\`*_~|<>#\[\]()@:!-])")


def no_escape(text: str) -> str:
    """For destinations that show plain text as it is."""
    return text


def escape_markdown(text: str) -> str:
    """A backslash before every character Markdown (and Discord's mentions, emoji and
    links) could read as markup, so the value shows as written."""
    return _MARKDOWN_SPECIALS.sub(r"\\\1", text)


@dataclass(frozen=True, slots=True)
class Message:
    """A rendered notification."""

    title: str
    body: str


class MessageError(ValueError):
    """A title or body template that does not parse (the configuration is wrong)."""


def _when(seconds: float) -> str:
    return datetime.fromtimestamp(seconds, UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def dashboard_link(external_url: str, alert: Alert) -> str:
    """The dashboard page for the alert's host, or the alerts page when it names none."""
    base = external_url.rstrip("/")
    instance = alert.labels.get("instance", "")
    if not instance:
        return f"{base}/alerts"
    return f"{base}/hosts/{quote(instance, safe='')}"


def _escaped(labels: Labels, escape: Escape) -> dict[str, str]:
    return {name: escape(value) for name, value in labels.pairs}


def _default_body(notification: Notification, escape: Escape) -> str:
    now = notification.now
    paragraphs: list[str] = []
    for alert in notification.alerts:
        resolved = alert.resolved_at(now)
        labels, annotations = alert.labels, alert.annotations
        name = escape(labels.get("alertname", ""))
        lines = [f"[{'RESOLVED' if resolved else 'FIRING'}] {name}"]
        if summary := annotations.get("summary"):
            lines.append(f"Summary: {escape(summary)}")
        if severity := labels.get("severity"):
            lines.append(f"Severity: {escape(severity)}")
        if instance := labels.get("instance"):
            lines.append(f"Host: {escape(instance)}")
        if not math.isnan(alert.value):
            lines.append(f"Value: {BUILTINS['humanize'].impl(alert.value)}")
        lines.append(f"Started: {_when(alert.starts_at)}")
        if resolved:
            lines.append(f"Resolved: {_when(alert.ends_at)}")
        if notification.external_url:
            lines.append(f"Dashboard: {dashboard_link(notification.external_url, alert)}")
        paragraphs.append("\n".join(lines))
    return "\n\n".join(paragraphs)


def template_data(notification: Notification, escape: Escape = no_escape) -> object:
    """Alertmanager's ``template.Data`` for ``notification`` (values passed through
    ``escape``), the dot of custom templates."""
    now = notification.now
    alerts = [
        alert_data(
            status="resolved" if a.resolved_at(now) else "firing",
            labels=_escaped(a.labels, escape),
            annotations=_escaped(a.annotations, escape),
            starts_at=a.starts_at,
            ends_at=a.ends_at if a.resolved_at(now) else None,
            generator_url=a.generator_url,
            fingerprint=a.fingerprint,
            value=a.value,
        )
        for a in notification.alerts
    ]
    return notification_data(
        receiver=notification.receiver,
        status=notification.status.value,
        alerts=alerts,
        group_labels=_escaped(notification.group_labels, escape),
        common_labels=_escaped(notification.common_labels, escape),
        common_annotations=_escaped(notification.common_annotations, escape),
        external_url=notification.external_url,
    )


def _parse(text: str, what: str) -> Template:
    try:
        return parse_notification_template(text, what)
    except TemplateError as err:
        raise MessageError(f"invalid {what} template: {err}") from None


class MessageTemplate:
    """Renders notifications into messages: the default, or the given templates (None
    means the default for that part). Templates parse here; MessageError if one does not."""

    _DEFAULT_TITLE_TEMPLATE: Final = parse_notification_template(DEFAULT_TITLE, "title")

    def __init__(self, title: str | None = None, body: str | None = None) -> None:
        self._title = _parse(title, "title") if title is not None else self._DEFAULT_TITLE_TEMPLATE
        self._body = _parse(body, "body") if body is not None else None

    def render(self, notification: Notification, escape: Escape = no_escape) -> Message:
        """The message for ``notification``; raises TemplateError when a template fails
        at execution (a wrong field, a function error)."""
        data = template_data(notification, escape)
        title = self._title.render_data(data)
        body = (
            self._body.render_data(data)
            if self._body is not None
            else _default_body(notification, escape)
        )
        return Message(title=title.strip(), body=body)
