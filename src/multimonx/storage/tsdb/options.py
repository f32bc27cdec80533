"""Settings and counters of the embedded engine."""

from __future__ import annotations

from dataclasses import dataclass

from multimonx.storage.journal import JournalSync


@dataclass(frozen=True, slots=True)
class TSDBOptions:
    """How the engine cuts, flushes and logs (docs/storage.md).

    ``chunk_range_ms``: width of the aligned windows a chunk covers (30 min = 360 samples at
    5 s). ``flush_delay_ms``: a window is flushed once it ended at least this long ago, so late
    samples still land in the head. ``flush_interval_s``: period of the background flush.
    ``log_sync``: how hard each log record is flushed before a commit returns.

    Tiers and retention (docs/storage.md, "Tiers and retention"; run by ``tiers.TierJob``):
    ``raw_retention_ms``/``minute_retention_ms``/``five_minute_retention_ms``: how long raw
    chunks, 1-minute and 5-minute aggregates are kept (coarser tiers keep at least as long).
    ``max_bytes``: optional cap on ``chunks.db``; above it the oldest raw rows, then 1m, then
    5m rows go. ``tier_interval_s``: period of the background tier job.

    ``chunk_cache_bytes``: memory for decoded raw chunks kept between queries (``chunkcache``;
    0 turns the cache off). ``coarse_step_tiers``: answer a coarse-step range query from a
    downsampled tier even while raw samples cover its range (off: reading a tier row costs
    more than reading the raw chunks today, so tiers serve ranges beyond raw retention).
    """

    chunk_range_ms: int = 30 * 60 * 1000
    flush_delay_ms: int = 5 * 60 * 1000
    flush_interval_s: float = 60.0
    log_sync: JournalSync = JournalSync.FULL
    raw_retention_ms: int = 24 * 3600 * 1000
    minute_retention_ms: int = 7 * 24 * 3600 * 1000
    five_minute_retention_ms: int = 30 * 24 * 3600 * 1000
    max_bytes: int | None = None
    tier_interval_s: float = 60.0
    chunk_cache_bytes: int = 256 * 2**20
    coarse_step_tiers: bool = False

    def __post_init__(self) -> None:
        if self.chunk_range_ms <= 0:
            raise ValueError("chunk_range_ms must be positive")
        if self.flush_delay_ms < 0:
            raise ValueError("flush_delay_ms must not be negative")
        if self.flush_interval_s <= 0:
            raise ValueError("flush_interval_s must be positive")
        minute, five = self.minute_retention_ms, self.five_minute_retention_ms
        if not 0 < self.raw_retention_ms <= minute <= five:
            raise ValueError(
                "retention: need 0 < raw <= minute <= five_minute (coarser tiers keep longer)"
            )
        if self.max_bytes is not None and self.max_bytes <= 0:
            raise ValueError("max_bytes must be positive (or None for no cap)")
        if self.tier_interval_s <= 0:
            raise ValueError("tier_interval_s must be positive")
        if self.chunk_cache_bytes < 0:
            raise ValueError("chunk_cache_bytes must not be negative")


@dataclass(frozen=True, slots=True)
class TSDBCounters:
    """Engine self-metrics since open (for the server's own /metrics).

    ``merge_duplicates``/``merge_conflicts`` count samples dropped when out-of-order samples
    were merged into chunks already on disk (first value wins); ``log_records_truncated``
    counts log records deleted after flushes; ``flush_failures`` counts flushes that could not
    write chunks.db (retried at the next flush). ``flush_seconds``: time the flushes counted in
    ``flushes`` took, from taking the head's windows to truncating the log (so seconds over
    flushes is the mean duration); ``last_flush_seconds``: the latest one's.
    """

    flushes: int = 0
    flush_failures: int = 0
    flush_seconds: float = 0.0
    last_flush_seconds: float = 0.0
    chunks_written: int = 0
    chunks_merged: int = 0
    merge_duplicates: int = 0
    merge_conflicts: int = 0
    log_records_truncated: int = 0
    head_samples: int = 0
    out_of_order_samples: int = 0
