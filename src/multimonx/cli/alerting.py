"""Alerting in the composition root: the rules (default pack, rule files, rules of the REST
API), the alert history, the notification configuration, and their reloads.

What the files say (rule groups and the notification configuration) is loaded together and
applied together: at start before anything is opened, and on every reload, where a bad file
leaves everything running as it was. Rules of the REST API are stored in the metadata
database and applied on every change; a rule's channels must name receivers of the current
notification configuration, and a reload that would drop a receiver a rule uses is refused.
"""

from __future__ import annotations

import logging
import socket
import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from starlette.routing import BaseRoute

from multimonx import __version__
from multimonx.cli.errors import UsageError
from multimonx.cli.keys import METADATA_FILE
from multimonx.cli.reload import Reloader
from multimonx.cli.rules import load_rule_groups, rule_manager
from multimonx.config import ServerConfig, parse_listen_address
from multimonx.model import MetricFamily, now_ms
from multimonx.notify import (
    Alert,
    Dispatcher,
    Integration,
    NotificationLog,
    Silences,
)
from multimonx.notify.channels import with_channel_routes
from multimonx.notify.config import NotifyConfig, NotifyConfigError, load_notify_config
from multimonx.notify.forward import AlertmanagerForwarder
from multimonx.notify.receivers.build import integrations_for
from multimonx.notify.route import Route, RouteOpts
from multimonx.promql.catalog import load_catalog
from multimonx.promql.engine import Engine
from multimonx.rules import RuleGroup
from multimonx.rules.apirules import ApiRule, api_rule_groups, channel_routes, load_api_rules
from multimonx.storage import PeriodicTask, Storage
from multimonx.storage.alerthistory import AlertHistory
from multimonx.storage.rulestore import RuleStore
from multimonx.web.alerthistory import alert_history_routes
from multimonx.web.amapi import am_routes
from multimonx.web.lifecycle import lifecycle_routes
from multimonx.web.rulesrest import AlertRulesApi, alert_rule_routes

log = logging.getLogger(__name__)

HISTORY_TRIM_INTERVAL_S = 3600.0
DEFAULT_RECEIVER = "default"

NO_NOTIFICATIONS = NotifyConfig(route=Route(RouteOpts(receiver=DEFAULT_RECEIVER)), receivers={})
"""Without ``alerting.config_file``: every alert goes to one receiver with no integration,
so alerts are grouped and shown but not delivered."""


@dataclass(frozen=True, slots=True)
class AlertingFiles:
    """What the configuration's files say: the rule groups to evaluate (default pack and
    rule files, without the disabled rules), the notification configuration and the
    integrations of its receivers."""

    rule_groups: tuple[RuleGroup, ...]
    notify: NotifyConfig
    integrations: Mapping[str, Sequence[Integration]] = field(default_factory=dict)


def load_alerting_files(config: ServerConfig) -> AlertingFiles:
    """Load every rule file and the notification configuration; raises UsageError listing
    every problem of every file."""
    errors: list[str] = []
    groups: list[RuleGroup] = []
    try:
        groups = load_rule_groups(config.rules)
    except UsageError as err:
        errors.append(str(err))
    notify = NO_NOTIFICATIONS
    integrations: dict[str, list[Integration]] = {}
    if config.alerting.config_file:
        path = config.alerting.config_file
        try:
            notify = load_notify_config(Path(path))
            integrations = integrations_for(notify)
        except NotifyConfigError as err:
            errors.append("the notification configuration is not valid:\n" + "\n".join(err.errors))
        except ValueError as err:  # an apprise URL or a message template that cannot work
            errors.append(f"the notification configuration is not valid:\n{path}: {err}")
    if errors:
        raise UsageError("\n".join(errors))
    return AlertingFiles(tuple(groups), notify, integrations)


def external_url(config: ServerConfig) -> str:
    """The server's URL as users reach it: ``rules.external_url``, else (as Prometheus
    does) ``http://<host name>:<port>`` from the listen address, the machine's name when it
    listens on every address."""
    if config.rules.external_url:
        return config.rules.external_url.rstrip("/")
    host, port = parse_listen_address(config.listen_address)
    if host in ("", "0.0.0.0", "::"):
        host = socket.gethostname()
    elif ":" in host:
        host = f"[{host}]"
    return f"http://{host}:{port}"


class AlertingRuntime:
    """The rules, their history and their notifications, built from the configuration and
    the files loaded at start. ``start`` once serving; ``close`` before storage closes."""

    def __init__(
        self,
        config: ServerConfig,
        files: AlertingFiles,
        engine: Engine,
        storage: Storage,
        data_dir: Path,
    ) -> None:
        self._config = config
        self._lock = threading.Lock()
        self._files = files
        # apprise logs some URL errors with the whole URL, tokens included; our apprise
        # integration captures its records per call and reports them without the URL.
        logging.getLogger("apprise").propagate = False
        self.external_url = external_url(config)
        self.catalog = load_catalog()
        metadata = data_dir / METADATA_FILE
        self.history = AlertHistory(metadata)
        self.rule_store = RuleStore(metadata)  # the REST API's rules
        self._api_rules = load_api_rules(self.rule_store.list(), self.catalog)
        self._trimmer = PeriodicTask(self._trim_history, HISTORY_TRIM_INTERVAL_S)
        self.silences = Silences(metadata)
        self._nflog = NotificationLog(metadata)
        self.dispatcher = Dispatcher(
            self._notify_config(files, self._api_rules),
            files.integrations,
            nflog=self._nflog,
            silences=self.silences,
            external_url=self.external_url,
        )
        self._forwarder = (
            AlertmanagerForwarder(
                config.alerting.alertmanagers, timeout=config.alerting.alertmanager_timeout
            )
            if config.alerting.alertmanagers
            else None
        )
        self.rules = rule_manager(
            config.rules,
            self._rule_groups(),
            engine,
            storage,
            history=self.history,
            notify=self.notify,
            external_url=self.external_url,
        )
        self.reloader = Reloader(
            self._load_files,
            self._apply_files,
            lambda: [p for p in (*config.rules.files, config.alerting.config_file) if p],
        )
        self._watcher = (
            PeriodicTask(self.reloader.check, config.alerting.watch_interval)
            if config.alerting.watch_interval
            else None
        )
        self.rules_api = AlertRulesApi(
            self.rule_store,
            self._apply_api_rules,
            receivers=lambda: frozenset(self._files.notify.receivers),
            catalog=self.catalog,
        )

    def routes(self) -> list[BaseRoute]:
        """The HTTP routes of alerting: history, rules of the REST API, reload, and
        Alertmanager's API v2 (silences, alerts) with the delivery status."""
        return [
            *alert_history_routes(self.history, time.time),
            *alert_rule_routes(self.rules_api),
            *lifecycle_routes(self.reloader.reload),
            *am_routes(self.dispatcher, self.silences, version=__version__),
        ]

    def metrics(self) -> list[MetricFamily]:
        """The notifier's and the forwarder's metric families."""
        forwarded = self._forwarder.metrics() if self._forwarder is not None else []
        return [*self.dispatcher.metrics(), *forwarded]

    def notify(self, alerts: Sequence[Alert]) -> None:
        """Hand alerts from the rules to the dispatcher and the external Alertmanagers
        (neither blocks on delivery)."""
        self.dispatcher.put(alerts)
        if self._forwarder is not None:
            self._forwarder.send(alerts)

    def start(self) -> None:
        """Start delivering, evaluating rules, trimming history and watching files."""
        self.dispatcher.start()
        if self._forwarder is not None:
            self._forwarder.start()
        self._trimmer.start()
        self.rules.start()
        if self._watcher is not None:
            self._watcher.start()

    def close(self) -> None:
        """Stop watching (no reload while shutting down), stop the rules (no more writes
        into a closing storage, no more alerts), then the deliveries, then close the
        stores they write to."""
        if self._watcher is not None:
            self._watcher.stop()
        self.rules.stop()
        self.dispatcher.stop()
        if self._forwarder is not None:
            self._forwarder.stop()
        self._trimmer.stop()
        for store in (self.history, self.rule_store, self.silences, self._nflog):
            store.close()

    def _rule_groups(self) -> list[RuleGroup]:
        return [*self._files.rule_groups, *api_rule_groups(self._api_rules, self.catalog)]

    def _notify_config(self, files: AlertingFiles, api_rules: Sequence[ApiRule]) -> NotifyConfig:
        """The notification configuration with the routes of the API rules' channels. A
        channel naming no receiver (the configuration changed while the server was down) is
        left out with a warning, so stored rules never keep the server from starting: that
        rule's alerts follow the route tree until the rule or the configuration is fixed."""
        known = files.notify.receivers
        channels = []
        for rule_id, names in channel_routes(api_rules):
            for name in names:
                if name not in known:
                    log.warning(
                        "alert rule %s names receiver %r, which the notification configuration"
                        " does not have; its alerts follow the route tree",
                        rule_id,
                        name,
                    )
            channels.append((rule_id, tuple(n for n in names if n in known)))
        return with_channel_routes(files.notify, channels)

    def _load_files(self) -> AlertingFiles:
        """The files, refused if they drop a receiver that a rule's channels use now."""
        files = load_alerting_files(self._config)
        with self._lock:
            current, new = self._files.notify.receivers, files.notify.receivers
            dropped = sorted(
                f"rule {rule_id} uses {name!r}"
                for rule_id, names in channel_routes(self._api_rules)
                for name in names
                if name in current and name not in new
            )
        if dropped:
            raise UsageError(
                "the notification configuration drops receivers that alert rules use: "
                + "; ".join(dropped)
            )
        return files

    def _apply_files(self, files: AlertingFiles) -> None:
        with self._lock:
            self._files = files
            self._apply()

    def _apply_api_rules(self, rules: Sequence[ApiRule]) -> None:
        with self._lock:
            self._api_rules = list(rules)
            self._apply()

    def _apply(self) -> None:
        """Evaluate the current rule groups and route by the current configuration."""
        self.rules.update(self._rule_groups())
        self.dispatcher.apply_config(
            self._notify_config(self._files, self._api_rules), self._files.integrations
        )

    def _trim_history(self) -> None:
        retention_ms = round(self._config.rules.history_retention * 1000)
        self.history.delete_before(now_ms() - retention_ms)
