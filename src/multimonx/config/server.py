"""Typed configuration of the central server (``multimonx server --config FILE``)."""

from __future__ import annotations

from dataclasses import dataclass, field

from multimonx.config.agent import DEFAULT_SERVER_PORT
from multimonx.config.loader import ByteSize, Duration, parse_listen_address
from multimonx.model.regex import RegexError, compile_regex

DAY = 86400.0


@dataclass(frozen=True, slots=True)
class IngestSection:
    """Limits and policy for pushed data."""

    require_api_key: bool = True
    max_body_bytes: ByteSize = 64 * 2**20
    max_series_per_request: int = 1_000_000
    max_labels_per_series: int = 64
    max_label_value_length: int = 4096
    down_after_intervals: float = 3.0


@dataclass(frozen=True, slots=True)
class RetentionSection:
    """How long each tier keeps data, and an optional cap on the whole store's size."""

    raw: Duration = DAY
    one_minute: Duration = 7 * DAY
    five_minutes: Duration = 30 * DAY
    max_bytes: ByteSize | None = None

    def __post_init__(self) -> None:
        if not 0 < self.raw <= self.one_minute <= self.five_minutes:
            raise ValueError(
                "retention: need 0 < raw <= one_minute <= five_minutes (coarser tiers keep longer)"
            )


@dataclass(frozen=True, slots=True)
class StorageSection:
    """Which engine stores samples, and how durable an acknowledged push is.

    ``sync: batch`` (the default) fsyncs the append log before every acknowledgement: nothing
    acknowledged is lost, even by a power cut. ``sync: interval`` fsyncs every
    ``sync_interval`` instead: a killed server still loses nothing (the data is in the
    operating system's cache), a power cut or kernel crash may lose up to that much.
    ``chunk_cache`` is the memory kept for decoded chunks between queries (0 turns it off).
    """

    engine: str = "tsdb"
    sync: str = "batch"
    sync_interval: Duration = 1.0
    chunk_range: Duration = 1800.0
    flush_delay: Duration = 300.0
    chunk_cache: ByteSize = 256 * 2**20
    retention: RetentionSection = field(default_factory=RetentionSection)

    def __post_init__(self) -> None:
        if self.engine not in ("tsdb", "memory"):
            raise ValueError(f"storage.engine must be tsdb or memory, got {self.engine!r}")
        if self.sync not in ("batch", "interval"):
            raise ValueError(f"storage.sync must be batch or interval, got {self.sync!r}")
        if self.chunk_range < 300 or self.chunk_range % 300 or self.sync_interval <= 0:
            raise ValueError(
                "storage: chunk_range must be a multiple of 5m (whole downsampled buckets), "
                "sync_interval positive"
            )


@dataclass(frozen=True, slots=True)
class QuerySection:
    """Limits of PromQL evaluation (Prometheus's ``--query.*`` flags, same defaults).

    ``lookback_delta`` is how far back an instant selector looks for a sample; ``timeout``
    bounds one query's evaluation; ``max_samples`` bounds the samples one query may load and
    hold at once; ``max_concurrency`` is how many queries evaluate at once (the others wait
    their turn).
    """

    lookback_delta: Duration = 300.0
    timeout: Duration = 120.0
    max_samples: int = 50_000_000
    max_concurrency: int = 20

    def __post_init__(self) -> None:
        if min(self.lookback_delta, self.timeout, self.max_samples, self.max_concurrency) <= 0:
            raise ValueError(
                "query: lookback_delta, timeout, max_samples and max_concurrency must be positive"
            )


@dataclass(frozen=True, slots=True)
class ServerWebSection:
    """HTTP settings of the API.

    ``cors_origin`` is Prometheus's ``--web.cors.origin``: a regex (RE2, fully anchored) of
    the browser origins allowed to read the API cross-site; the default ``.*`` allows any.
    """

    cors_origin: str = ".*"

    def __post_init__(self) -> None:
        try:
            compile_regex(self.cors_origin)
        except RegexError as err:
            raise ValueError(f"web.cors_origin: invalid regular expression: {err}") from None


@dataclass(frozen=True, slots=True)
class RulesSection:
    """Prometheus rule files the server evaluates (Prometheus's ``rule_files`` and
    ``global.evaluation_interval``).

    ``files`` are paths or glob patterns, relative ones resolved against the
    server's working directory; ``default_pack`` adds the rules shipped with the server
    (``rules/default_rules.yml``); ``disabled`` names rules (of the pack or the files) not to
    evaluate; ``evaluation_interval`` applies to groups without their own ``interval``;
    ``external_url`` is what templates see as ``$externalURL`` and the base of the dashboard
    links in notifications.

    ``resend_delay``, ``for_outage_tolerance`` and ``for_grace_period`` are Prometheus's
    ``--rules.alert.*`` flags: how often a firing alert is handed to the notifier again, how
    long a server may have been down for an alert's ``for`` state to be restored after a
    restart, and the least time an alert restored as pending waits before it fires. The
    grace period defaults to 0 (Prometheus: 10m) so that every rule with a ``for`` (the
    default pack's 2m and 5m rules too) resumes where it was: agents replay what they
    spooled during the outage, so the first evaluations after a restart see complete data.
    ``history_retention`` is how long alert history is kept.
    """

    files: tuple[str, ...] = ()
    default_pack: bool = True
    disabled: tuple[str, ...] = ()
    evaluation_interval: Duration = 60.0
    external_url: str = ""
    resend_delay: Duration = 60.0
    for_outage_tolerance: Duration = 3600.0
    for_grace_period: Duration = 0.0
    history_retention: Duration = 90 * DAY

    def __post_init__(self) -> None:
        if self.evaluation_interval <= 0:
            raise ValueError("rules.evaluation_interval must be positive")
        if self.resend_delay <= 0:
            raise ValueError("rules.resend_delay must be positive")
        if self.history_retention <= 0:
            raise ValueError("rules.history_retention must be positive")


@dataclass(frozen=True, slots=True)
class AlertingSection:
    """Where alerts go. ``config_file`` is a notification configuration in Alertmanager's
    format (route tree, receivers with ``webhook_configs`` and ``apprise_configs``,
    ``inhibit_rules``, ``time_intervals``), relative paths resolved against the server's
    working directory; without one, alerts are evaluated, shown and kept in the history but
    not delivered. ``alertmanagers`` are base URLs of external Alertmanagers that every
    alert is also sent to through their API v2 (Prometheus's ``alerting.alertmanagers``).
    ``watch_interval`` is how often rule and notification files are checked for changes
    (0: only on SIGHUP or ``POST /-/reload``)."""

    config_file: str = ""
    alertmanagers: tuple[str, ...] = ()
    alertmanager_timeout: Duration = 10.0
    watch_interval: Duration = 5.0

    def __post_init__(self) -> None:
        for url in self.alertmanagers:
            if not url.startswith(("http://", "https://")):
                raise ValueError(f"alerting.alertmanagers: {url!r} is not an http(s) URL")
        if self.alertmanager_timeout <= 0:
            raise ValueError("alerting.alertmanager_timeout must be positive")
        if self.watch_interval < 0:
            raise ValueError("alerting.watch_interval must not be negative")


@dataclass(frozen=True, slots=True)
class ServerConfig:
    """The whole server configuration."""

    listen_address: str = f"127.0.0.1:{DEFAULT_SERVER_PORT}"
    data_dir: str = "./data"
    ingest: IngestSection = field(default_factory=IngestSection)
    storage: StorageSection = field(default_factory=StorageSection)
    query: QuerySection = field(default_factory=QuerySection)
    web: ServerWebSection = field(default_factory=ServerWebSection)
    rules: RulesSection = field(default_factory=RulesSection)
    alerting: AlertingSection = field(default_factory=AlertingSection)

    def __post_init__(self) -> None:
        try:
            parse_listen_address(self.listen_address)
        except ValueError as err:
            raise ValueError(f"listen_address: {err}") from None
