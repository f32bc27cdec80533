"""The tier totals of a ``chunks.db`` as kept in its meta table and as counted from its rows,
for tests that check the kept ones never drift."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from multimonx.storage.tsdb import TierUsage

TABLES = ("chunks_raw", "chunks_1m", "chunks_5m")


def counted(path: Path) -> TierUsage:
    """``SUM(length(data))`` and ``COUNT(*)`` of each chunk table, read now."""
    with sqlite3.connect(path) as conn:
        found = [
            conn.execute(f"SELECT coalesce(sum(length(data)), 0), count(*) FROM {table}").fetchone()
            for table in TABLES
        ]
    conn.close()
    (b0, c0), (b1, c1), (b2, c2) = ((int(b), int(c)) for b, c in found)
    return TierUsage((b0, b1, b2), (c0, c1, c2))


def kept(path: Path) -> TierUsage:
    """The totals stored in the meta table (KeyError if one is missing)."""
    with sqlite3.connect(path) as conn:
        meta = {str(k): int(v) for k, v in conn.execute("SELECT key, value FROM meta")}
    conn.close()
    b0, b1, b2 = (meta[f"{t}_bytes"] for t in TABLES)
    c0, c1, c2 = (meta[f"{t}_rows"] for t in TABLES)
    return TierUsage((b0, b1, b2), (c0, c1, c2))
