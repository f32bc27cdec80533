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
    ``external_url`` is what templates see as ``$externalURL``.
    """

    files: tuple[str, ...] = ()
    default_pack: bool = True
    disabled: tuple[str, ...] = ()
    evaluation_interval: Duration = 60.0
    external_url: str = ""

    def __post_init__(self) -> None:
        if self.evaluation_interval <= 0:
            raise ValueError("rules.evaluation_interval must be positive")


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

    def __post_init__(self) -> None:
        try:
            parse_listen_address(self.listen_address)
        except ValueError as err:
            raise ValueError(f"listen_address: {err}") from None
