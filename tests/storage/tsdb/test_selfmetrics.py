"""The engine's own metrics reflect what it holds and did."""

from pathlib import Path

from multimonx.model import Labels
from multimonx.storage.tsdb import TSDB, TSDBOptions
from multimonx.storage.tsdb.selfmetrics import tsdb_families


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
