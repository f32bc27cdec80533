"""Chunk manifests (``storage.tsdb.manifest``): they list exactly the raw rows of each window
through flushes, merges of late samples, retention and reopening; a file without them gets
them built at open; and fleet-wide selects answered from them equal the same selects
answered from ``chunks_raw`` and the memory reference."""

from __future__ import annotations

import logging
import sqlite3
from pathlib import Path

import numpy as np
import pytest

from multimonx.model import Labels, Matcher
from multimonx.storage import MAX_TIME_MS, MIN_TIME_MS, MemoryStorage, Storage
from multimonx.storage.journal import JournalSync
from multimonx.storage.tsdb import TSDB, TSDBOptions, manifest
from multimonx.storage.tsdb import querier as querier_module
from multimonx.storage.tsdb.tiers import TierJob
from tests.storage.tsdb.test_querier import load
from tests.storage.tsdb.totals import manifests_exact

MIN = 60_000
RANGE = 10 * MIN
T0 = 1_000 * 3_600_000
OPTS = TSDBOptions(
    chunk_range_ms=RANGE,
    flush_delay_ms=0,
    log_sync=JournalSync.NORMAL,
    raw_retention_ms=60 * MIN,
    minute_retention_ms=120 * MIN,
    five_minute_retention_ms=240 * MIN,
)
ALWAYS = 10**9
"""``_MANIFEST_SHARE`` that sends every select to the manifests (0: never)."""

Dump = dict[Labels, tuple[list[int], list[int]]]


def series(i: int) -> Labels:
    return Labels.of({"__name__": f"m{i % 2}", "i": str(i)})


def dump(storage: Storage, mint: int, maxt: int) -> Dump:
    with storage.querier(mint, maxt) as q:
        return {
            s.labels: (s.timestamps.tolist(), s.values.view(np.uint64).tolist())
            for s in q.select([Matcher.of("__name__", "=~", ".+")])
        }


def both_paths(
    monkeypatch: pytest.MonkeyPatch, db: TSDB, mint: int, maxt: int, *, cached: bool
) -> tuple[Dump, Dump]:
    """The same select with chunk keys from the manifests and from ``chunks_raw``."""
    out = []
    for share in (ALWAYS, 0):
        monkeypatch.setattr(querier_module, "_MANIFEST_SHARE", share)
        if not cached:
            db.chunk_cache.clear()
        out.append(dump(db, mint, maxt))
    return out[0], out[1]


def chunks_db(tmp_path: Path) -> Path:
    return tmp_path / "chunks.db"


def test_windows_keys_of_a_batch_come_by_series_then_mint() -> None:
    keys = np.array(
        [[1, 10, 19, 2], [1, 30, 39, 2], [4, 12, 15, 1], [7, 31, 33, 3], [9, 5, 8, 1]],
        dtype=np.int64,
    )
    found = manifest.WindowKeys(keys)
    assert found.of([7, 1, 5]) == [(1, 10, 19, 2), (1, 30, 39, 2), (7, 31, 33, 3)]
    assert found.of([5, 6]) == []
    assert found.of([]) == []
    assert manifest.WindowKeys(np.empty((0, 4), np.int64)).of([1]) == []


@pytest.mark.parametrize("cached", [False, True])
def test_manifests_follow_flushes_merges_and_retention(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, cached: bool
) -> None:
    rng = np.random.default_rng(3)
    n_series = 30
    db = TSDB.open(tmp_path, options=OPTS)
    reference = MemoryStorage()
    job = TierJob(chunks_db(tmp_path), OPTS)
    try:
        rows = [
            (series(i), T0 + t, float(rng.integers(0, 100)))
            for t in range(0, 90 * MIN, 15_000)
            for i in range(n_series)
            if rng.random() < 0.9
        ]
        load([db, reference], rows)
        db.flush(T0 + 50 * MIN)  # five windows to disk, each with a new manifest
        assert manifests_exact(chunks_db(tmp_path), RANGE)
        # Late samples into flushed windows (merged: rows replaced), repeats and conflicts,
        # and samples of a series new to an old window.
        late = [
            (series(int(rng.integers(0, n_series + 5))), T0 + int(rng.integers(0, 90 * MIN)), 0.5)
            for _ in range(400)
        ]
        load([db, reference], late)
        db.flush(T0 + 90 * MIN)
        assert manifests_exact(chunks_db(tmp_path), RANGE)
        ranges = [
            (MIN_TIME_MS, MAX_TIME_MS),
            (T0 + 25 * MIN, T0 + 30 * MIN),  # an instant query's lookback on a boundary
            (T0 + 19 * MIN + 59_999, T0 + 20 * MIN),
            (T0 + 85 * MIN, T0 + 90 * MIN),
            (T0 + 200 * MIN, T0 + 300 * MIN),
        ]
        for mint, maxt in ranges:
            via_manifests, via_table = both_paths(monkeypatch, db, mint, maxt, cached=cached)
            want = dump(reference, mint, maxt)
            assert via_manifests == via_table == want, (mint, maxt)
        # Retention deletes the aggregated windows: they are no longer covered, and selects
        # reaching into them ask chunks_raw.
        job.run_once(T0 + 120 * MIN)
        path = chunks_db(tmp_path)
        assert manifests_exact(path, RANGE)
        with sqlite3.connect(path) as conn:
            covered = conn.execute(
                "SELECT value FROM meta WHERE key = ?", (manifest.META_FROM,)
            ).fetchone()[0]
        conn.close()
        assert covered == T0 + 60 * MIN
        monkeypatch.setattr(querier_module, "_MANIFEST_SHARE", ALWAYS)
        with db.querier(MIN_TIME_MS, MAX_TIME_MS) as q:
            assert isinstance(q, querier_module.TSDBQuerier)
            assert q._window_keys(n_series, T0, T0 + 90 * MIN) is None
            assert q._window_keys(n_series, T0 + 60 * MIN, T0 + 90 * MIN) is not None
        for mint, maxt in [(T0 + 55 * MIN, T0 + 70 * MIN), (T0 + 60 * MIN, MAX_TIME_MS)]:
            via_manifests, via_table = both_paths(monkeypatch, db, mint, maxt, cached=cached)
            assert via_manifests == via_table, (mint, maxt)
    finally:
        job.close()
        db.close()
        reference.close()
    # Reopened: kept as they are (not rebuilt), still exact.
    again = TSDB.open(tmp_path, options=OPTS)
    again.close()
    assert manifests_exact(chunks_db(tmp_path), RANGE)


def test_a_file_without_manifests_gets_them_at_open(tmp_path: Path) -> None:
    db = TSDB.open(tmp_path, options=OPTS)
    load([db], [(series(i), T0 + t, 1.0) for t in range(0, 40 * MIN, MIN) for i in range(8)])
    db.flush(T0 + 40 * MIN)
    db.close()
    path = chunks_db(tmp_path)
    with sqlite3.connect(path) as conn:  # as a file written before manifests were kept
        conn.execute("DELETE FROM chunks_raw_windows")
        conn.execute(
            "DELETE FROM meta WHERE key IN (?, ?)", (manifest.META_FROM, manifest.META_RANGE)
        )
    conn.close()
    db = TSDB.open(tmp_path, options=OPTS)
    db.close()
    with sqlite3.connect(path) as conn:
        windows = conn.execute("SELECT count(*) FROM chunks_raw_windows").fetchone()[0]
    conn.close()
    assert windows == 4
    assert manifests_exact(path, RANGE)
    # Opened with another window width: cut again.
    other = TSDBOptions(chunk_range_ms=2 * RANGE, flush_delay_ms=0, log_sync=JournalSync.NORMAL)
    TSDB.open(tmp_path, options=other).close()
    assert manifests_exact(path, 2 * RANGE)


def test_a_wrong_manifest_is_noticed_when_chunks_are_read(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    db = TSDB.open(tmp_path, options=OPTS)
    try:
        load(
            [db], [(series(i), T0 + t, float(t)) for t in range(0, 20 * MIN, MIN) for i in range(4)]
        )
        db.flush(T0 + 20 * MIN)
        want = dump(db, MIN_TIME_MS, MAX_TIME_MS)
        with sqlite3.connect(chunks_db(tmp_path)) as conn:
            conn.execute(
                "UPDATE chunks_raw_windows SET keys = zeroblob(32) WHERE window = ?", (T0 // RANGE,)
            )
        conn.close()
        db.chunk_cache.clear()
        monkeypatch.setattr(querier_module, "_MANIFEST_SHARE", ALWAYS)
        with caplog.at_level(logging.ERROR):
            assert dump(db, MIN_TIME_MS, MAX_TIME_MS) == want
        assert "chunk keys differ from chunks_raw" in caplog.text
    finally:
        db.close()
