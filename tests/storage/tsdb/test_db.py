"""TSDB-specific behaviour: flush, out-of-order merges, log replay and truncation."""

from __future__ import annotations

import math
import sqlite3
import struct
from pathlib import Path

import numpy as np
import pytest

from multimonx.model import STALE_NAN, Labels, Matcher
from multimonx.storage import MAX_TIME_MS, MIN_TIME_MS, AppendResult, StorageStats
from multimonx.storage.journal import JournalSync
from multimonx.storage.tsdb import TSDB, TierUsage, TSDBOptions
from tests.storage.tsdb.totals import TABLES, counted, kept

RANGE = 10_000
OPTS = TSDBOptions(chunk_range_ms=RANGE, flush_delay_ms=1_000, log_sync=JournalSync.NORMAL)
ALL = [Matcher.of("__name__", "=~", ".+")]


def L(i: int) -> Labels:
    return Labels.of({"__name__": "m", "i": str(i)})


def commit(db: TSDB, samples: list[tuple[Labels, int, float]]) -> AppendResult:
    app = db.appender()
    for labels, t, v in samples:
        app.append(labels, t, v)
    return app.commit()


def dump(
    db: TSDB, mint: int = MIN_TIME_MS, maxt: int = MAX_TIME_MS
) -> dict[Labels, list[tuple[int, int]]]:
    with db.querier(mint, maxt) as q:
        return {
            s.labels: list(
                zip(s.timestamps.tolist(), s.values.astype("<f8").view("<u8").tolist(), strict=True)
            )
            for s in q.select(ALL)
        }


@pytest.fixture
def db(tmp_path: Path):  # type: ignore[no-untyped-def]
    d = TSDB.open(tmp_path, options=OPTS)
    yield d
    d.close()


def test_flush_then_query_equals_before(db: TSDB) -> None:
    rng = np.random.default_rng(1)
    samples = [
        (L(i % 7), int(t), float(rng.normal()))
        for i, t in enumerate(rng.permutation(50_000)[:3000])
    ]
    samples += [(L(0), 60_000, STALE_NAN), (L(1), 60_001, -0.0), (L(2), 60_002, math.inf)]
    commit(db, samples)
    before = dump(db)
    stats = db.stats()
    db.flush(45_000)  # windows up to 40,000 go to disk
    assert db.counters().chunks_written > 0
    assert 0 < db.counters().head_samples < stats.samples
    assert dump(db) == before
    assert dump(db, 5_000, 44_999) == {
        k: [s for s in v if 5_000 <= s[0] <= 44_999] for k, v in before.items()
    }
    db.flush(MAX_TIME_MS)
    assert db.counters().head_samples == 0
    assert dump(db) == before
    assert db.stats() == stats


@pytest.mark.parametrize(
    ("late", "expected", "dups", "conflicts"),
    [
        ([(5_000, 5.0)], AppendResult(0, 1, 0), 0, 0),
        ([(5_000, 9.0)], AppendResult(0, 0, 1), 0, 0),
        ([(5_500, 5.5), (5_000, 5.0)], AppendResult(1, 1, 0), 0, 0),
    ],
    ids=["dup", "conflict", "new-and-dup"],
)
def test_out_of_order_into_flushed_windows(
    db: TSDB, late: list[tuple[int, float]], expected: AppendResult, dups: int, conflicts: int
) -> None:
    commit(db, [(L(0), t, float(t) / 1000) for t in range(0, 30_000, 1000)])
    db.flush(25_000)
    assert db.counters().chunks_written == 2
    assert commit(db, [(L(0), t, v) for t, v in late]) == expected
    db.flush(25_000)
    c = db.counters()
    assert (c.merge_duplicates, c.merge_conflicts) == (dups, conflicts)
    got = dict(dump(db)[L(0)])
    assert got[5_000] == struct.unpack("<Q", struct.pack("<d", 5.0))[0]
    assert db.stats().samples == 30 + expected.appended


def test_merge_counts_races_at_flush(db: TSDB) -> None:
    """A sample applied to the head before its window's chunk is on disk is counted when
    the flush merges (first value wins: the chunk's)."""
    commit(db, [(L(0), 1_000, 1.0)])
    db.flush(25_000)
    # Put conflicting/duplicate samples straight into the head, as a commit racing the
    # flush can, bypassing the commit-time check against chunks.
    with db.head_lock:
        db.head.apply([0, 0], [1_000, 1_000], [2.0, 2.0])
    db.flush(25_000)
    c = db.counters()
    assert (c.merge_duplicates, c.merge_conflicts, c.chunks_merged) == (0, 1, 1)
    assert dump(db)[L(0)] == [(1_000, struct.unpack("<Q", struct.pack("<d", 1.0))[0])]


def test_log_is_truncated_after_flush(db: TSDB) -> None:
    for r in range(6):
        commit(db, [(L(i), r * 4_000, float(r)) for i in range(3)])
    assert db.log_records() == 6
    db.flush(21_000)  # boundary 20,000: records with t < 20,000 go
    assert db.log_records() == 1
    assert db.counters().log_records_truncated == 5
    commit(db, [(L(0), 100, 1.0)])  # out of order: kept in the log until flushed
    assert db.log_records() == 2
    db.flush(21_000)
    assert db.log_records() == 1
    db.flush(MAX_TIME_MS)
    assert db.log_records() == 0


@pytest.mark.parametrize("flush_at", [None, 15_000, 45_000, MAX_TIME_MS])
def test_reopen_replays_exactly(tmp_path: Path, flush_at: int | None) -> None:
    db = TSDB.open(tmp_path, options=OPTS)
    rng = np.random.default_rng(3)
    for _ in range(20):
        commit(
            db,
            [
                (L(int(i)), int(t), float(rng.integers(0, 3)))
                for i, t in zip(rng.integers(0, 20, 50), rng.integers(0, 60_000, 50), strict=True)
            ],
        )
        if flush_at is not None and rng.random() < 0.3:
            db.flush(flush_at)
    before, stats = dump(db), db.stats()
    # Simulate a crash: drop the object without the final flush of close().
    db._log.close()
    db._writer.close()
    db._readers.close()
    db._closed = True
    again = TSDB.open(tmp_path, options=OPTS)
    assert dump(again) == before
    assert again.stats() == stats
    again.flush(MAX_TIME_MS)
    assert dump(again) == before
    assert again.stats() == stats
    again.close()
    third = TSDB.open(tmp_path, options=OPTS)
    assert dump(third) == before
    assert third.stats() == StorageStats(stats.series, stats.samples)
    third.close()


def test_querier_snapshot_survives_flush(db: TSDB) -> None:
    commit(db, [(L(0), t, 1.0) for t in range(0, 30_000, 1000)])
    q = db.querier(MIN_TIME_MS, MAX_TIME_MS)
    commit(db, [(L(0), 500, 2.0), (L(0), 40_000, 3.0)])
    db.flush(MAX_TIME_MS)
    (series,) = q.select(ALL)
    assert series.timestamps.tolist() == list(range(0, 30_000, 1000))
    q.close()
    assert len(dump(db)[L(0)]) == 32
    assert db.head.retired == {}


def test_tier_totals_follow_flushes_and_merges(tmp_path: Path) -> None:
    """The raw tier's chunk bytes and rows, kept in meta and in memory, equal a count of the
    rows after flushes, merges of out-of-order samples into flushed windows, and reopening."""
    path = tmp_path / "chunks.db"
    db = TSDB.open(tmp_path, options=OPTS)
    try:
        assert db.tier_usage() == counted(path) == TierUsage()
        commit(db, [(L(i), t, float(t)) for i in range(5) for t in range(0, 40_000, 1000)])
        db.flush(25_000)
        assert db.tier_usage().chunks == (10, 0, 0)  # 5 series x 2 windows
        assert db.tier_usage() == kept(path) == counted(path)
        # Into flushed windows: two new samples (merged at flush), a duplicate and a conflict
        # (dropped at commit), and a conflict racing the flush straight into the head.
        commit(db, [(L(0), 500, 1.0), (L(1), 1_000, 1000.0), (L(2), 2_000, 7.0)])
        commit(db, [(L(3), 15_500, 2.0)])
        with db.head_lock:
            db.head.apply([db.index.ids[L(4)]], [3_000], [9.0])
        db.flush(25_000)
        assert db.counters().chunks_merged == 3
        assert db.tier_usage() == kept(path) == counted(path)
        db.flush(MAX_TIME_MS)
        assert db.tier_usage() == kept(path) == counted(path)
        assert db.tier_usage().chunks == (20, 0, 0)
        usage = db.tier_usage()
    finally:
        db.close()
    again = TSDB.open(tmp_path, options=OPTS)
    try:
        assert again.tier_usage() == usage == kept(path) == counted(path)
    finally:
        again.close()


def test_tier_totals_are_counted_on_open_for_files_from_before_them(tmp_path: Path) -> None:
    path = tmp_path / "chunks.db"
    db = TSDB.open(tmp_path, options=OPTS)
    commit(db, [(L(i), t, float(i)) for i in range(3) for t in range(0, 30_000, 500)])
    db.flush(MAX_TIME_MS)
    db.close()
    with sqlite3.connect(path) as conn:
        conn.executemany(
            "DELETE FROM meta WHERE key = ?",
            [(f"{t}_{what}",) for t in TABLES for what in ("bytes", "rows")],
        )
    conn.close()
    again = TSDB.open(tmp_path, options=OPTS)
    try:
        assert again.tier_usage() == kept(path) == counted(path)
        assert again.tier_usage().chunks == (9, 0, 0)
        assert again.tier_usage().nbytes[0] > 0
    finally:
        again.close()
