"""The engine's own metrics reflect what it holds and did."""

from pathlib import Path

from multimonx.model import Labels
from multimonx.storage.journal import JournalSync
from multimonx.storage.tsdb import TSDB, TSDBOptions
from multimonx.storage.tsdb.selfmetrics import tsdb_families
from tests.storage.tsdb.totals import counted

MIN = 60_000
HOUR = 3_600_000
T0 = 1_000 * HOUR  # aligned to hours


def test_families_count_series_samples_and_file_bytes(tmp_path: Path) -> None:
    db = TSDB.open(tmp_path)
    try:
        appender = db.appender()
        for i in range(3):
            appender.append(Labels.of(__name__="m", i=str(i)), 1_000, 1.0)
        appender.commit()
        families = {f.name: f for f in tsdb_families(db, tmp_path)}
    finally:
        db.close()
    assert families["multimonx_tsdb_series"].samples == (((), 3.0),)
    assert families["multimonx_tsdb_samples"].samples == (((), 3.0),)
    assert families["multimonx_tsdb_log_records"].samples[0][1] >= 1
    sizes = dict(families["multimonx_tsdb_file_bytes"].samples)
    assert sizes[("log.db",)] > 0
    assert sizes[("chunks.db",)] > 0
    assert families["multimonx_tsdb_flushes_total"].type.value == "counter"


def test_tier_job_families_appear_once_the_engine_runs_it(tmp_path: Path) -> None:
    db = TSDB.open(tmp_path, options=TSDBOptions(tier_interval_s=3600, flush_interval_s=3600))
    try:
        assert "multimonx_tsdb_tier_seconds_total" not in {
            f.name for f in tsdb_families(db, tmp_path)
        }
        db.start()
        families = {f.name: f for f in tsdb_families(db, tmp_path)}
    finally:
        db.close()
    phases = {values[0] for values, _ in families["multimonx_tsdb_tier_seconds_total"].samples}
    assert phases == {"downsample", "retention", "vacuum"}
    tiers = dict(families["multimonx_tsdb_retention_deleted_chunks_total"].samples)
    assert set(tiers) == {("raw",), ("1m",), ("5m",)}


def test_tier_usage_and_durations(tmp_path: Path) -> None:
    """Bytes and chunks per tier equal a count of the rows after a flush and a tier run;
    flush and tier-run durations are reported once they happened."""
    options = TSDBOptions(
        chunk_range_ms=10 * MIN,
        flush_delay_ms=0,
        flush_interval_s=3600,
        log_sync=JournalSync.NORMAL,
        raw_retention_ms=HOUR,
        minute_retention_ms=2 * HOUR,
        five_minute_retention_ms=4 * HOUR,
        tier_interval_s=3600,
    )
    db = TSDB.open(tmp_path, options=options)
    try:
        empty = {f.name: f for f in tsdb_families(db, tmp_path)}
        appender = db.appender()
        for i in range(3):
            for t in range(T0, T0 + HOUR, 10_000):
                appender.append(Labels.of(__name__="m", i=str(i)), t, float(t % 7))
        appender.commit()
        db.flush(T0 + HOUR)
        db.start()
        flushed = {f.name: f for f in tsdb_families(db, tmp_path)}
        job = db._tiers
        assert job is not None
        job.run_once(T0 + HOUR)
        families = {f.name: f for f in tsdb_families(db, tmp_path)}
        want = counted(tmp_path / "chunks.db")
    finally:
        db.close()
    tiers = [("raw",), ("1m",), ("5m",)]
    for name in ("multimonx_tsdb_tier_bytes", "multimonx_tsdb_tier_chunks"):
        assert empty[name].type.value == "gauge"
        assert dict(empty[name].samples) == dict.fromkeys(tiers, 0.0)
    assert want.chunks == (18, 18, 18)  # 3 series x 6 windows in each tier
    assert dict(families["multimonx_tsdb_tier_bytes"].samples) == {
        tier: float(n) for tier, n in zip(tiers, want.nbytes, strict=True)
    }
    assert dict(families["multimonx_tsdb_tier_chunks"].samples) == {
        tier: float(n) for tier, n in zip(tiers, want.chunks, strict=True)
    }
    assert empty["multimonx_tsdb_flush_seconds_total"].samples == (((), 0.0),)
    assert empty["multimonx_tsdb_last_flush_duration_seconds"].samples == (((), 0.0),)
    assert families["multimonx_tsdb_flush_seconds_total"].type.value == "counter"
    ((_, total),) = families["multimonx_tsdb_flush_seconds_total"].samples
    ((_, last),) = families["multimonx_tsdb_last_flush_duration_seconds"].samples
    assert families["multimonx_tsdb_flushes_total"].samples == (((), 1.0),)
    assert total == last > 0
    assert flushed["multimonx_tsdb_last_tier_run_duration_seconds"].samples == (((), 0.0),)
    ((_, tier_run),) = families["multimonx_tsdb_last_tier_run_duration_seconds"].samples
    assert tier_run > 0
    assert families["multimonx_tsdb_last_tier_run_duration_seconds"].type.value == "gauge"


def test_chunk_cache_families_count_reads(tmp_path: Path) -> None:
    options = TSDBOptions(chunk_range_ms=10 * MIN, flush_delay_ms=0, log_sync=JournalSync.NORMAL)
    db = TSDB.open(tmp_path, options=options)
    try:
        appender = db.appender()
        for t in range(T0, T0 + 20 * MIN, 15_000):
            appender.append(Labels.of(__name__="m"), t, 1.0)
        appender.commit()
        db.flush(T0 + 20 * MIN)
        for _ in range(2):  # two chunks decoded, then found
            with db.querier(T0, T0 + 20 * MIN) as querier:
                assert sum(len(one) for one in querier.select([])) == 80
        families = {f.name: f for f in tsdb_families(db, tmp_path)}
    finally:
        db.close()
    assert families["multimonx_tsdb_chunk_cache_misses_total"].samples == (((), 2.0),)
    assert families["multimonx_tsdb_chunk_cache_hits_total"].samples == (((), 2.0),)
    assert families["multimonx_tsdb_chunk_cache_bytes"].samples[0][1] == 80 * 16
