"""The tier totals of a ``chunks.db`` as kept in its meta table and as counted from its rows,
and its chunk manifests against its rows, for tests that check the kept ones never drift."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import numpy as np

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


def manifests_exact(path: Path, range_ms: int) -> bool:
    """Every window at or after ``raw_windows_from`` has a manifest listing exactly its
    ``chunks_raw`` keys (by series, then mint), none below it has one, and no manifest is
    left for a window without rows."""
    with sqlite3.connect(path) as conn:
        covered = conn.execute("SELECT value FROM meta WHERE key = 'raw_windows_from'").fetchone()
        keys = conn.execute(
            "SELECT series_id, mint, maxt, count FROM chunks_raw ORDER BY series_id, mint"
        ).fetchall()
        blobs = dict(conn.execute("SELECT window, keys FROM chunks_raw_windows").fetchall())
    conn.close()
    if covered is None:
        return not blobs
    covered_from = int(covered[0])
    want: dict[int, list[tuple[int, ...]]] = {}
    for key in keys:
        if key[1] - key[1] % range_ms >= covered_from:
            want.setdefault(key[1] // range_ms, []).append(tuple(key))
    got = {
        window: [tuple(row) for row in np.frombuffer(blob, "<i8").reshape(-1, 4).tolist()]
        for window, blob in blobs.items()
    }
    return got == want
