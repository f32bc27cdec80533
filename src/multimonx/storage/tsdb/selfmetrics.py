"""The embedded engine's own metrics, for the server's ``/metrics``: what it holds, what its
flushes and tier job did and how long they took, how large its files and tiers are."""

from __future__ import annotations

from pathlib import Path

from multimonx.model import MetricFamily, MetricType
from multimonx.storage.tsdb.db import TSDB

_FILES = ("log.db", "chunks.db")


def _file_bytes(directory: Path, name: str) -> float:
    total = 0
    for suffix in ("", "-wal", "-shm"):
        try:
            total += (directory / f"{name}{suffix}").stat().st_size
        except FileNotFoundError:
            continue
    return float(total)


def tsdb_families(db: TSDB, directory: Path) -> list[MetricFamily]:
    """The engine's gauges and counters, read now (cheap: no scan of chunks; the per-tier
    bytes and chunks are totals the engine keeps, ``usage``, not counted here)."""
    stats, counters, tier_usage = db.stats(), db.counters(), db.tier_usage()
    cache = db.chunk_cache.stats()

    def counter(name: str, help: str, value: float) -> MetricFamily:
        return MetricFamily.single(f"multimonx_tsdb_{name}", MetricType.COUNTER, help, value)

    def gauge(name: str, help: str, value: float) -> MetricFamily:
        return MetricFamily.single(f"multimonx_tsdb_{name}", MetricType.GAUGE, help, value)

    tiers = db.tier_totals()
    tier_families = []
    if tiers is not None:
        last = db.tier_last_run()
        tier_families = [
            MetricFamily.counter(
                "multimonx_tsdb_tier_seconds_total",
                "Time the tier job spent, by phase (downsample, retention, vacuum).",
                ("phase",),
                [
                    (("downsample",), tiers.downsample_s),
                    (("retention",), tiers.retention_s),
                    (("vacuum",), tiers.vacuum_s),
                ],
            ),
            MetricFamily.counter(
                "multimonx_tsdb_retention_deleted_chunks_total",
                "Chunk rows deleted by retention or the size cap, by tier.",
                ("tier",),
                [
                    (("raw",), float(tiers.deleted_raw)),
                    (("1m",), float(tiers.deleted_1m)),
                    (("5m",), float(tiers.deleted_5m)),
                ],
            ),
            MetricFamily.counter(
                "multimonx_tsdb_downsampled_buckets_total",
                "Aggregate buckets written, by tier.",
                ("tier",),
                [(("1m",), float(tiers.buckets_1m)), (("5m",), float(tiers.buckets_5m))],
            ),
            counter(
                "reclaimed_bytes_total",
                "Bytes returned to the file system by vacuum.",
                float(tiers.bytes_reclaimed),
            ),
            gauge(
                "last_tier_run_duration_seconds",
                "How long the latest tier job run took (0 before the first).",
                last.seconds if last is not None else 0.0,
            ),
        ]
    return [
        *tier_families,
        gauge("series", "Series in the engine.", stats.series),
        gauge("samples", "Samples stored (head and chunks).", stats.samples),
        gauge(
            "head_samples",
            "Samples in the in-memory head, not yet in chunks.",
            counters.head_samples,
        ),
        gauge("log_records", "Records in the append log (not yet truncated).", db.log_records()),
        counter(
            "chunk_cache_hits_total",
            "Chunk reads answered by the decoded-chunk cache.",
            float(cache.hits),
        ),
        counter(
            "chunk_cache_misses_total",
            "Chunk reads that had to decode (and then cached) the chunk.",
            float(cache.misses),
        ),
        gauge(
            "chunk_cache_bytes",
            "Bytes of decoded samples the chunk cache holds.",
            float(cache.bytes),
        ),
        MetricFamily.gauge(
            "multimonx_tsdb_tier_bytes",
            "Bytes of chunk data per tier (the chunks' encoded sizes, without SQLite's pages).",
            ("tier",),
            [((tier,), float(nbytes)) for tier, nbytes, _ in tier_usage.by_tier()],
        ),
        MetricFamily.gauge(
            "multimonx_tsdb_tier_chunks",
            "Chunk rows per tier (one per series and window).",
            ("tier",),
            [((tier,), float(rows)) for tier, _, rows in tier_usage.by_tier()],
        ),
        counter("flushes_total", "Flushes of closed windows into chunks.", counters.flushes),
        counter(
            "flush_seconds_total",
            "Time the flushes counted in flushes_total took.",
            counters.flush_seconds,
        ),
        gauge(
            "last_flush_duration_seconds",
            "How long the latest flush took (0 before the first).",
            counters.last_flush_seconds,
        ),
        counter(
            "flush_failures_total",
            "Flushes that could not write chunks (retried).",
            counters.flush_failures,
        ),
        counter("chunks_written_total", "Chunks written by flushes.", counters.chunks_written),
        counter(
            "chunks_merged_total",
            "Chunks rewritten to merge out-of-order samples.",
            counters.chunks_merged,
        ),
        counter(
            "out_of_order_samples_total",
            "Samples older than their series' head.",
            counters.out_of_order_samples,
        ),
        MetricFamily.counter(
            "multimonx_tsdb_merge_dropped_samples_total",
            "Out-of-order samples dropped when merged into chunks (first value wins).",
            ("reason",),
            [
                (("duplicate",), float(counters.merge_duplicates)),
                (("conflict",), float(counters.merge_conflicts)),
            ],
        ),
        counter(
            "log_records_truncated_total",
            "Log records deleted after their samples were flushed.",
            counters.log_records_truncated,
        ),
        MetricFamily.gauge(
            "multimonx_tsdb_file_bytes",
            "Bytes on disk per engine file, its SQLite write-ahead files included.",
            ("file",),
            [((name,), _file_bytes(directory, name)) for name in _FILES],
        ),
    ]
