"""The notification configuration: Alertmanager's configuration format (``route``,
``receivers``, ``inhibit_rules``, ``time_intervals``), with ``apprise_configs`` as our own
receiver integration.

The data classes below are the contract between the parser, the dispatcher and the
integrations; ``parse_notify_config`` and ``load_notify_config`` fill them in.

The file is read and validated as Alertmanager 0.25 does (``amtool check-config`` accepts and
refuses the same files, our extensions aside), strictly: unknown keys, repeated keys and values
of the wrong kind are errors. Where Alertmanager stops at the first error, every problem found
is reported, one line each: ``<source>: <line>:<col>: <path.to.key>: <reason>``.

What we accept:

- ``global``: ``resolve_timeout`` (default 5m). Alertmanager's other global keys configure
  integrations we do not have; each is refused with what to use instead.
- ``route``: ``receiver``, ``group_by`` (``['...']`` groups by every label), ``group_wait``,
  ``group_interval``, ``repeat_interval``, ``matchers``, the deprecated ``match`` and
  ``match_re``, ``continue``, ``routes``, ``mute_time_intervals``, ``active_time_intervals``.
  A child route inherits ``receiver``, ``group_by`` and the three timers from its parent,
  never matchers or time intervals. Defaults: ``group_wait`` 30s, ``group_interval`` 5m and
  ``repeat_interval`` **5m**, the specification's deduplication window, where Alertmanager's
  default is 4h (an explicit ``repeat_interval`` behaves the same in both).
- ``receivers``: ``name``, ``webhook_configs`` (``url``, ``send_resolved``, ``max_alerts`` and
  our ``timeout``), and our ``apprise_configs`` (``url``, ``send_resolved``, ``title``,
  ``body``, ``timeout``). Alertmanager's other integrations (``slack_configs``,
  ``email_configs``...) are refused with the apprise URL to use instead.
- ``inhibit_rules``, ``time_intervals`` and the deprecated ``mute_time_intervals``.
- ``templates`` is refused: messages are written in ``apprise_configs``' ``title`` and
  ``body``.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from types import MappingProxyType
from urllib.parse import urlsplit

import yaml

from multimonx.model import Matcher
from multimonx.notify.route import Route
from multimonx.notify.routetree import read_matchers, read_route
from multimonx.notify.timeinterval import (
    Range,
    TimeInterval,
    TimeRange,
    TimeSpec,
    parse_day_of_month_range,
    parse_location,
    parse_month_range,
    parse_time_range,
    parse_weekday_range,
    parse_year_range,
)
from multimonx.notify.yamlnodes import NodeReader, is_null, join, quote
from multimonx.template import TemplateError, parse_template

DEFAULT_RESOLVE_TIMEOUT_S = 300.0
DEFAULT_INTEGRATION_TIMEOUT_S = 10.0


@dataclass(frozen=True, slots=True)
class WebhookConfig:
    """Alertmanager's ``webhook_configs`` entry: POST the Alertmanager webhook payload (version
    4) to ``url``. ``max_alerts`` 0 means no limit; ``timeout`` bounds each attempt."""

    url: str
    send_resolved: bool = True
    max_alerts: int = 0
    timeout: float = DEFAULT_INTEGRATION_TIMEOUT_S


@dataclass(frozen=True, slots=True)
class AppriseConfig:
    """An ``apprise_configs`` entry: deliver through one apprise URL (``slack://``,
    ``discord://``, ``mailto://``, ``workflows://`` (Microsoft Teams), ``pagerduty://``,
    ``tgram://``, ``json://``...). ``title`` and ``body`` are templates over the notification
    data; None means the default message."""

    url: str
    send_resolved: bool = True
    title: str | None = None
    body: str | None = None
    timeout: float = DEFAULT_INTEGRATION_TIMEOUT_S


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
    """The whole notification configuration. ``time_intervals`` maps the names of both
    ``time_intervals`` and ``mute_time_intervals`` entries to their intervals."""

    route: Route
    receivers: Mapping[str, ReceiverConfig]
    inhibit_rules: tuple[InhibitRule, ...] = ()
    time_intervals: Mapping[str, TimeInterval] = field(default_factory=dict)
    resolve_timeout: float = DEFAULT_RESOLVE_TIMEOUT_S


class NotifyConfigError(Exception):
    """A notification configuration that cannot be used; ``errors`` lists every problem
    found, one line each, already prefixed with the source name."""

    def __init__(self, errors: list[str]) -> None:
        self.errors = errors
        super().__init__("\n".join(errors))


def load_notify_config(path: Path) -> NotifyConfig:
    """The configuration in the file at ``path``; raises NotifyConfigError listing every
    problem (an unreadable file included)."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as err:
        raise NotifyConfigError([f"{path}: {err}"]) from None
    return parse_notify_config(text, str(path))


def parse_notify_config(text: str, source: str = "<config>") -> NotifyConfig:
    """The configuration in ``text`` (``source`` names it in errors); raises
    NotifyConfigError listing every problem."""
    reader = NodeReader(source)
    config = _read_config(reader, text)
    if reader.errors or config is None:
        raise NotifyConfigError(reader.errors)
    return config


def _apprise_hint(scheme: str) -> str:
    return f"not supported: use apprise_configs with a {scheme} URL"


_REFUSED_INTEGRATIONS = MappingProxyType(
    {
        "email_configs": _apprise_hint("mailto:// (or mailtos://)"),
        "pagerduty_configs": _apprise_hint("pagerduty://"),
        "slack_configs": _apprise_hint("slack://"),
        "opsgenie_configs": _apprise_hint("opsgenie://"),
        "wechat_configs": _apprise_hint("wechat://"),
        "pushover_configs": _apprise_hint("pover://"),
        "victorops_configs": _apprise_hint("victorops://"),
        "sns_configs": _apprise_hint("sns://"),
        "telegram_configs": _apprise_hint("tgram://"),
        "webex_configs": _apprise_hint("wxteams://"),
        "discord_configs": _apprise_hint("discord://"),
        "msteams_configs": _apprise_hint("workflows:// (Power Automate, for Microsoft Teams)"),
        "msteamsv2_configs": _apprise_hint("workflows:// (Power Automate, for Microsoft Teams)"),
        "jira_configs": _apprise_hint("jira://"),
        "rocketchat_configs": _apprise_hint("rocket://"),
        "mattermost_configs": _apprise_hint("mmost://"),
        "incidentio_configs": _apprise_hint("incidentio://"),
    }
)
_GLOBAL_PREFIXES = MappingProxyType(
    {
        "smtp_": "e-mail goes through apprise_configs with a mailto:// URL, which carries "
        "the server, sender and credentials",
        "slack_": "put the Slack webhook in an apprise_configs slack:// URL",
        "pagerduty_": "put the routing key in an apprise_configs pagerduty:// URL",
        "opsgenie_": "put the API key in an apprise_configs opsgenie:// URL",
        "wechat_": "put the credentials in an apprise_configs wechat:// URL",
        "victorops_": "put the API key in an apprise_configs victorops:// URL",
        "telegram_": "put the bot token in an apprise_configs tgram:// URL",
        "webex_": "put the token in an apprise_configs wxteams:// URL",
        "rocketchat_": "put the token in an apprise_configs rocket:// URL",
        "jira_": "put the credentials in an apprise_configs jira:// URL",
        "http_config": "webhook and apprise URLs carry their own credentials",
    }
)
_TEMPLATES_REFUSED = (
    "notification template files are not supported: write the message in apprise_configs' "
    "title and body (templates over the notification data)"
)

_CONFIG_KEYS = frozenset(
    {"global", "route", "receivers", "inhibit_rules", "time_intervals", "mute_time_intervals"}
)
_INHIBIT_KEYS = frozenset(
    {
        "source_matchers",
        "source_match",
        "source_match_re",
        "target_matchers",
        "target_match",
        "target_match_re",
        "equal",
    }
)
_RANGE_PARSERS: Mapping[str, Callable[[str], Range]] = MappingProxyType(
    {
        "weekdays": parse_weekday_range,
        "days_of_month": parse_day_of_month_range,
        "months": parse_month_range,
        "years": parse_year_range,
    }
)
_SPEC_KEYS = frozenset({"times", "location", *_RANGE_PARSERS})
_URL_SCHEME_RE = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*://\S+")


def _read_config(reader: NodeReader, text: str) -> NotifyConfig | None:
    root = reader.compose(text)
    if root is None and reader.errors:
        return None

    def refused(key: str) -> str | None:
        return _TEMPLATES_REFUSED if key == "templates" else None

    fields = reader.mapping(root, "", _CONFIG_KEYS, refused)
    resolve_timeout = _read_global(reader, fields.get("global"))
    intervals = _read_time_intervals(reader, fields)
    receivers = _read_receivers(reader, fields.get("receivers"))
    inhibit_rules = _read_inhibit_rules(reader, fields.get("inhibit_rules"))
    route_node = fields.get("route")
    if route_node is None or is_null(route_node):
        reader.error(root, "route", "no route provided in config")
        return None
    route = read_route(reader, route_node, receivers.keys(), intervals.keys())
    if route is None:
        return None
    return NotifyConfig(
        route=route,
        receivers=MappingProxyType(receivers),
        inhibit_rules=tuple(inhibit_rules),
        time_intervals=MappingProxyType(intervals),
        resolve_timeout=DEFAULT_RESOLVE_TIMEOUT_S if resolve_timeout is None else resolve_timeout,
    )


def _read_global(reader: NodeReader, node: yaml.Node | None) -> float | None:
    def refused(key: str) -> str | None:
        for prefix, hint in _GLOBAL_PREFIXES.items():
            if key.startswith(prefix):
                return f"not supported: {hint}"
        return None

    fields = reader.mapping(node, "global", frozenset({"resolve_timeout"}), refused)
    return reader.duration(fields.get("resolve_timeout"), "global.resolve_timeout")


def _read_receivers(reader: NodeReader, node: yaml.Node | None) -> dict[str, ReceiverConfig]:
    receivers: dict[str, ReceiverConfig] = {}
    keys = frozenset({"name", "webhook_configs", "apprise_configs"})
    for path, item in reader.items(node, "receivers"):
        fields = reader.mapping(item, path, keys, _REFUSED_INTEGRATIONS.get)
        if not isinstance(item, yaml.MappingNode):
            continue
        name = reader.text(fields.get("name"), join(path, "name"))
        webhooks = [
            _read_webhook(reader, one_path, one)
            for one_path, one in reader.items(
                fields.get("webhook_configs"), join(path, "webhook_configs")
            )
        ]
        apprises = [
            _read_apprise(reader, one_path, one)
            for one_path, one in reader.items(
                fields.get("apprise_configs"), join(path, "apprise_configs")
            )
        ]
        if not name:
            reader.error(fields.get("name", item), join(path, "name"), "missing name in receiver")
        elif name in receivers:
            message = f"receiver name {quote(name)} is not unique"
            reader.error(fields["name"], join(path, "name"), message)
        else:
            receivers[name] = ReceiverConfig(
                name,
                tuple(w for w in webhooks if w is not None),
                tuple(a for a in apprises if a is not None),
            )
    return receivers


def _read_webhook(reader: NodeReader, path: str, node: yaml.Node) -> WebhookConfig | None:
    refused = {
        "http_config": "not supported: put credentials in the URL (https://user:pass@host/...)",
        "url_file": "not supported: put the URL in url",
    }
    keys = frozenset({"url", "send_resolved", "max_alerts", "timeout"})
    fields = reader.mapping(node, path, keys, refused.get)
    url = reader.text(fields.get("url"), join(path, "url"))
    send_resolved = reader.boolean(fields.get("send_resolved"), join(path, "send_resolved"), True)
    max_alerts = reader.count(fields.get("max_alerts"), join(path, "max_alerts"))
    timeout = _read_timeout(reader, fields, path)
    if not url:
        reader.error(fields.get("url", node), join(path, "url"), "missing URL in webhook config")
        return None
    problem = _http_url_problem(url)
    if problem:
        reader.error(fields["url"], join(path, "url"), problem)
        return None
    return WebhookConfig(url, send_resolved, max_alerts, timeout)


def _read_apprise(reader: NodeReader, path: str, node: yaml.Node) -> AppriseConfig | None:
    keys = frozenset({"url", "send_resolved", "title", "body", "timeout"})
    fields = reader.mapping(node, path, keys)
    url = reader.text(fields.get("url"), join(path, "url"))
    send_resolved = reader.boolean(fields.get("send_resolved"), join(path, "send_resolved"), True)
    texts: dict[str, str | None] = {"title": None, "body": None}
    for key in texts:
        value_node = fields.get(key)
        if value_node is None or is_null(value_node):
            continue
        texts[key] = text = reader.text(value_node, join(path, key))
        try:
            parse_template(text, f"apprise.{key}")
        except TemplateError as err:
            reader.error(value_node, join(path, key), f"invalid template: {err}")
    timeout = _read_timeout(reader, fields, path)
    if not url:
        reader.error(fields.get("url", node), join(path, "url"), "missing URL in apprise config")
        return None
    if _URL_SCHEME_RE.fullmatch(url) is None:
        message = f"{quote(url)} is not an apprise URL (expected scheme://..., e.g. slack://...)"
        reader.error(fields["url"], join(path, "url"), message)
        return None
    return AppriseConfig(url, send_resolved, texts["title"], texts["body"], timeout)


def _read_timeout(reader: NodeReader, fields: Mapping[str, yaml.Node], path: str) -> float:
    timeout = reader.duration(fields.get("timeout"), join(path, "timeout"))
    if timeout is None:
        return DEFAULT_INTEGRATION_TIMEOUT_S
    if timeout <= 0:
        reader.error(fields["timeout"], join(path, "timeout"), "timeout must be more than zero")
    return timeout


def _http_url_problem(url: str) -> str | None:
    """Why ``url`` is not an http(s) URL with a host (as Alertmanager checks), or None."""
    if any(c.isspace() or not c.isprintable() for c in url):
        return f"invalid URL {quote(url)}: it contains blanks or control characters"
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises ValueError for a bad port
    except ValueError as err:
        return f"invalid URL {quote(url)}: {err}"
    if parts.scheme.lower() not in ("http", "https"):
        return f"unsupported scheme {quote(parts.scheme)} for URL (use http or https)"
    if not parts.hostname:
        return "missing host for URL"
    return None


def _read_inhibit_rules(reader: NodeReader, node: yaml.Node | None) -> list[InhibitRule]:
    rules: list[InhibitRule] = []
    for path, item in reader.items(node, "inhibit_rules"):
        fields = reader.mapping(item, path, _INHIBIT_KEYS)
        source = read_matchers(reader, fields, path, "source_")
        target = read_matchers(reader, fields, path, "target_")
        equal = reader.label_names(fields.get("equal"), join(path, "equal"))
        rules.append(InhibitRule(source, target, tuple(equal)))
    return rules


def _read_time_intervals(
    reader: NodeReader, fields: Mapping[str, yaml.Node]
) -> dict[str, TimeInterval]:
    """Both lists, ``mute_time_intervals`` first, names unique across them."""
    intervals: dict[str, TimeInterval] = {}
    for list_key in ("mute_time_intervals", "time_intervals"):
        for path, item in reader.items(fields.get(list_key), list_key):
            entry = reader.mapping(item, path, frozenset({"name", "time_intervals"}))
            if not isinstance(item, yaml.MappingNode):
                continue
            name = reader.text(entry.get("name"), join(path, "name"))
            specs_path = join(path, "time_intervals")
            specs = tuple(
                _read_spec(reader, spec_path, spec)
                for spec_path, spec in reader.items(entry.get("time_intervals"), specs_path)
            )
            if not name:
                message = "missing name in time interval"
                reader.error(entry.get("name", item), join(path, "name"), message)
            elif name in intervals:
                message = f"time interval {quote(name)} is not unique"
                reader.error(entry["name"], join(path, "name"), message)
            else:
                intervals[name] = TimeInterval(name, specs)
    return intervals


def _read_spec(reader: NodeReader, path: str, node: yaml.Node) -> TimeSpec:
    """One entry of a named interval; a condition absent or null always holds."""
    fields = reader.mapping(node, path, _SPEC_KEYS)
    ranges: dict[str, tuple[Range, ...] | None] = {}
    for key, parse in _RANGE_PARSERS.items():
        value_node = fields.get(key)
        if value_node is None or is_null(value_node):
            ranges[key] = None
            continue
        found = [
            reader.parsed(item, item_path, partial(parse, text))
            for item_path, text, item in reader.texts(value_node, join(path, key))
        ]
        ranges[key] = tuple(r for r in found if r is not None)
    times: tuple[TimeRange, ...] | None = None
    times_node = fields.get("times")
    if times_node is not None and not is_null(times_node):
        pairs = []
        for item_path, item in reader.items(times_node, join(path, "times")):
            pair = reader.mapping(item, item_path, frozenset({"start_time", "end_time"}))
            start = reader.text(pair.get("start_time"), join(item_path, "start_time"))
            end = reader.text(pair.get("end_time"), join(item_path, "end_time"))
            pairs.append(reader.parsed(item, item_path, partial(parse_time_range, start, end)))
        times = tuple(t for t in pairs if t is not None)
    location_node = fields.get("location")
    name = reader.text(location_node, join(path, "location")) or "UTC"
    location = None
    if location_node is not None:
        location = reader.parsed(
            location_node, join(path, "location"), partial(parse_location, name)
        )
    return TimeSpec(
        times=times,
        weekdays=ranges["weekdays"],
        days_of_month=ranges["days_of_month"],
        months=ranges["months"],
        years=ranges["years"],
        location=location,
        location_name=name,
    )
