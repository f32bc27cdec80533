"""The per-tier totals of chunk bytes and rows kept in meta (``tsdb.usage``)."""

from __future__ import annotations

from pathlib import Path

import pytest

from multimonx.storage.tsdb import TierUsage, chunks, usage
from tests.storage.tsdb.totals import TABLES, counted, kept


def test_changes_add_up_per_tier() -> None:
    change = TierUsage.of("chunks_raw", 100, 2) + TierUsage.of("chunks_5m", -30, -1)
    assert change == TierUsage((100, 0, -30), (2, 0, -1))
    assert change.by_tier() == [("raw", 100, 2), ("1m", 0, 0), ("5m", -30, -1)]
    assert change
    assert not TierUsage.of("chunks_1m", 0, 0)
    assert not TierUsage()
    with pytest.raises(ValueError, match="not a chunk table"):
        TierUsage.of("series", 1, 1)


def fill(path: Path) -> None:
    """Rows of every chunk table (two series, a few windows) and no totals in meta."""
    db = chunks.open_writer(path)
    for n, table in enumerate(TABLES, start=1):
        db.executemany(
            f"INSERT INTO {table} (series_id, mint, maxt, count, data) VALUES (?, ?, ?, ?, ?)",
            [(sid, m, m + 1, 2, b"x" * (n * 10 + sid + m)) for sid in (0, 1) for m in range(n)],
        )
    db.close()


KEYS = tuple(k for t in TABLES for k in (f"{t}_bytes", f"{t}_rows"))


@pytest.mark.parametrize(
    "missing",
    [(), ("chunks_raw_bytes",), ("chunks_1m_rows", "chunks_5m_bytes"), KEYS],
    ids=["none", "one", "two-tables", "all"],
)
def test_load_computes_missing_totals_once(tmp_path: Path, missing: tuple[str, ...]) -> None:
    path = tmp_path / "chunks.db"
    fill(path)
    db = chunks.open_writer(path)
    try:
        assert usage.load(db) == counted(path)  # a file from before the totals: computed
        # Totals present are trusted (no scan); only tables with a missing one are counted.
        db.execute("UPDATE meta SET value = value + 1000 WHERE key LIKE 'chunks_%'")
        db.executemany("DELETE FROM meta WHERE key = ?", [(k,) for k in missing])
        got = usage.load(db)
    finally:
        db.close()
    assert got == kept(path)
    for i, table in enumerate(TABLES):
        recounted = any(k.startswith(f"{table}_") for k in missing)
        extra = 0 if recounted else 1000
        assert got.nbytes[i] == counted(path).nbytes[i] + extra
        assert got.chunks[i] == counted(path).chunks[i] + extra


def test_store_adds_to_present_totals_only(tmp_path: Path) -> None:
    path = tmp_path / "chunks.db"
    db = chunks.open_writer(path)
    try:
        assert usage.load(db) == TierUsage()
        db.execute("DELETE FROM meta WHERE key = 'chunks_5m_bytes'")
        usage.store(db, TierUsage((10, 20, 30), (1, 2, 3)))
        meta = dict(db.execute("SELECT key, value FROM meta").fetchall())
    finally:
        db.close()
    assert meta["chunks_raw_bytes"] == 10
    assert meta["chunks_1m_rows"] == 2
    assert meta["chunks_5m_rows"] == 3
    assert "chunks_5m_bytes" not in meta  # left for load to count
