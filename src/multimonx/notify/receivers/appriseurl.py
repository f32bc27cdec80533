"""The apprise integration: one apprise URL (``slack://``, ``discord://``, ``mailto://``,
``msteams://``, ``pagerduty://``, ``tgram://``, ``json://``...) per ``apprise_configs``
entry, carrying our default message or the user's templates.

``apprise`` is imported inside the functions that need it (the import costs about half a
second and 19 MB; the agent must never pay it, and a server without apprise receivers
neither).

What apprise 2.3 does, and how this module uses it (read from apprise's source):

- Format. Messages are plain text and declared so (``body_format=TEXT``). Apprise then
  converts for each plugin: HTML e-mail and HTML plugins get the text HTML-escaped, plugins
  that only speak Markdown (Teams workflows, Rocket.Chat, Google Chat) get every Markdown
  character backslash-escaped, Slack gets ``& < >`` entity-escaped (its plain text still
  reads ``<url|x>`` links and ``<!channel>`` mentions), and e-mail is sent as text/plain.
  Discord, Mattermost and Zulip accept text but render Markdown in it anyway (Discord also
  ``@everyone`` mentions); for those schemes label and annotation values are
  Markdown-escaped before they enter the message (:func:`message.escape_markdown`).
- Time. ``Apprise.notify(timeout=...)`` bounds the whole call (apprise runs the plugin on
  its worker pool and stops waiting at the deadline, reporting TIMEOUT); the plugin's own
  connect and read timeouts (``cto``/``rto``, SMTP's timeout) are set to the configured
  timeout too, so an abandoned attempt also ends. Apprise's retries stay off (``retry=0``,
  the dispatcher retries) and a fresh plugin per send skips apprise's per-instance throttle
  (Slack 1.2 s, Discord's rate-limit wait).
- Failure. ``notify`` returns a falsy result; the reasons are the WARNING-and-above log
  entries apprise captured for this call only (its per-call capture is context-local, so
  concurrent sends do not mix). Every apprise failure counts as retryable: apprise does
  not say which answers were final.
- Secrets. Apprise URLs carry tokens. This module logs and reports the scheme only, and
  removes the URL's parts from apprise's messages before they go into errors. Apprise
  logs to the ``apprise`` logger itself, and some of its load errors quote the URL: the
  composition root should keep that logger from reaching shared logs.
"""

from __future__ import annotations

import logging
import re
import threading
import warnings
from types import ModuleType
from typing import TYPE_CHECKING, Final

from multimonx.notify.config import AppriseConfig
from multimonx.notify.notification import DeliveryError, Notification
from multimonx.notify.receivers.message import (
    Escape,
    MessageTemplate,
    escape_markdown,
    no_escape,
)
from multimonx.template import TemplateError

if TYPE_CHECKING:
    from apprise import NotifyBase

log = logging.getLogger(__name__)

MARKDOWN_AS_TEXT: Final = frozenset({"discord", "mmost", "mmosts", "zulip"})
"""Schemes whose services render Markdown in plain-text messages."""

_APP_ID: Final = "MultiMonX"
_SECRET_SPLIT: Final = re.compile(r"[/:@?&=#;,+\s]")
_MIN_SECRET: Final = 4


def load_apprise() -> ModuleType:
    """The ``apprise`` module, imported on first use. Its e-mail plugin imports the
    deprecated ``imghdr`` module on Python 3.11-3.12; that DeprecationWarning is apprise's
    business and is silenced during the import (later calls find the module loaded)."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", category=DeprecationWarning)
        import apprise
        import apprise.plugins.email
    return apprise


def scheme_of(url: str) -> str:
    """The URL's scheme in lower case ('' when it has none)."""
    scheme, sep, _ = url.partition("://")
    return scheme.lower() if sep and scheme.isascii() and scheme.replace("+", "").isalnum() else ""


def redact(text: str, url: str) -> str:
    """``text`` with every part of ``url`` after its scheme (host, user, password, path
    and query pieces of 4 characters or more) replaced by ``***``."""
    rest = url.partition("://")[2]
    pieces = {p for p in _SECRET_SPLIT.split(rest) if len(p) >= _MIN_SECRET}
    for piece in sorted(pieces, key=len, reverse=True):
        text = text.replace(piece, "***")
    return text


class _LoadCapture(logging.Handler):
    """Collects what apprise logs on this thread while a URL loads."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.thread = threading.get_ident()
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        if record.thread == self.thread:
            self.messages.append(record.getMessage())


def _load(url: str) -> tuple[NotifyBase | None, list[str]]:
    """Apprise's plugin for ``url`` (None if it does not load) and apprise's reasons."""
    apprise = load_apprise()
    capture = _LoadCapture()
    logger = logging.getLogger(apprise.LOGGER_NAME)
    logger.addHandler(capture)
    try:
        plugin = apprise.Apprise.instantiate(url, suppress_exceptions=True)
    finally:
        logger.removeHandler(capture)
    return (plugin if isinstance(plugin, apprise.NotifyBase) else None), capture.messages


def check_apprise_url(url: str) -> str | None:
    """None when apprise can deliver to ``url``, else what is wrong with it (naming the
    scheme, never the URL): for the configuration loader."""
    apprise = load_apprise()
    scheme = scheme_of(url)
    if not scheme:
        return "not an apprise URL: it must start with a scheme such as slack:// or mailto://"
    if scheme not in apprise.NotificationManager():
        return f"apprise does not support the {scheme}:// scheme"
    plugin, reasons = _load(url)
    if plugin is None:
        why = "; ".join(redact(r, url) for r in reasons) or "malformed URL"
        return f"apprise cannot use this {scheme}:// URL: {why}"
    return None


class AppriseIntegration:
    """Delivers notifications through one apprise URL (an Integration, ``apprise[<index>]``).

    The URL and the templates are checked here (ValueError naming the scheme or the template
    error); ``notify`` renders the message and sends it within the configured timeout."""

    def __init__(self, config: AppriseConfig, receiver: str, index: int) -> None:
        self._name = f"apprise[{index}]"
        self._scheme = scheme_of(config.url)
        if config.timeout <= 0:
            raise ValueError(f"apprise timeout must be positive, got {config.timeout}")
        problem = check_apprise_url(config.url)
        if problem is not None:
            raise ValueError(f"receiver {receiver!r} {self._name}: {problem}")
        self._config = config
        self._receiver = receiver
        self._message = MessageTemplate(config.title, config.body)
        self._escape: Escape = escape_markdown if self._scheme in MARKDOWN_AS_TEXT else no_escape

    @property
    def name(self) -> str:
        """``apprise[<index>]``."""
        return self._name

    @property
    def send_resolved(self) -> bool:
        """Whether resolved alerts are sent (``send_resolved``)."""
        return self._config.send_resolved

    @property
    def scheme(self) -> str:
        """The URL's scheme, the only part of it that may be shown."""
        return self._scheme

    def _fail(self, why: str, *, retryable: bool = True) -> DeliveryError:
        where = f"{self._receiver}/{self._name} ({self._scheme}://)"
        return DeliveryError(f"{where}: {why}", retryable=retryable)

    def notify(self, notification: Notification) -> None:
        """Render and send; raises DeliveryError with apprise's reasons on failure."""
        apprise = load_apprise()
        try:
            message = self._message.render(notification, self._escape)
        except TemplateError as err:
            raise self._fail(f"message template failed: {err}", retryable=False) from None
        url, timeout = self._config.url, self._config.timeout
        plugin, reasons = _load(url)
        if plugin is None:
            why = "; ".join(redact(r, url) for r in reasons) or "the URL no longer loads"
            raise self._fail(why, retryable=False)
        plugin.socket_connect_timeout = timeout
        plugin.socket_read_timeout = timeout
        plugin.request_rate_per_sec = 0
        sender = apprise.Apprise(asset=apprise.AppriseAsset(app_id=_APP_ID, app_desc=_APP_ID))
        sender.add(plugin)
        firing = notification.status.value == "firing"
        result = sender.notify(
            body=message.body or message.title,
            title=message.title,
            notify_type=apprise.NotifyType.FAILURE if firing else apprise.NotifyType.SUCCESS,
            body_format=apprise.NotifyFormat.TEXT,
            timeout=timeout,
        )
        if result:
            log.debug("sent %s notification via %s://", notification.status.value, self._scheme)
            return
        reasons = [redact(entry.message, url) for entry in result.logs()]
        if result.status == apprise.AppriseResultStatus.TIMEOUT:
            reasons.insert(0, f"no answer within {timeout:g}s")
        raise self._fail("; ".join(reasons) or f"apprise reported {result.status.name}")
