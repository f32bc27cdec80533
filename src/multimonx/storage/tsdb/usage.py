"""Chunk rows and bytes of chunk data per tier, kept exactly in ``chunks.db``'s meta table
(docs/storage.md, "Self-metrics").

Counting them per scrape (``SUM(length(data))`` or ``dbstat``) reads every row: too costly at
1,000,000 series. Instead every transaction that inserts or deletes rows of ``chunks_raw``,
``chunks_1m`` or ``chunks_5m`` adds its change to the totals with ``store``, in that same
transaction, so they stay exact across crashes; a replaced row counts as one deleted (its
old length) and one inserted. The engine keeps a copy in memory, updated after each commit,
for its ``/metrics``. A file written before the totals were kept gets them computed once, on
open (``load``).
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from typing import Final

from multimonx.storage.tsdb import chunks

TIER_TABLES: Final[dict[str, str]] = {"raw": "chunks_raw", "1m": "chunks_1m", "5m": "chunks_5m"}
"""The table of each tier, by tier name."""
_TABLES: Final = tuple(TIER_TABLES.values())


def bytes_key(table: str) -> str:
    """The meta key of ``table``'s chunk data bytes (``sum(length(data))``)."""
    return f"{table}_bytes"


def rows_key(table: str) -> str:
    """The meta key of ``table``'s row count."""
    return f"{table}_rows"


@dataclass(frozen=True, slots=True)
class TierUsage:
    """Bytes of chunk data (``sum(length(data))``, without SQLite's page overhead) and chunk
    rows of each tier, in the order raw, 1m, 5m; or a change of them (negative for deletes).
    Changes add up with ``+``."""

    nbytes: tuple[int, int, int] = (0, 0, 0)
    chunks: tuple[int, int, int] = (0, 0, 0)

    @classmethod
    def of(cls, table: str, nbytes: int, rows: int) -> TierUsage:
        """A change of one chunk table (``chunks_raw``, ``chunks_1m`` or ``chunks_5m``):
        ``nbytes`` of chunk data and ``rows`` chunk rows."""
        if table not in _TABLES:
            raise ValueError(f"not a chunk table: {table!r}")
        i = _TABLES.index(table)
        return cls(_three({i: nbytes}), _three({i: rows}))

    def __add__(self, other: TierUsage) -> TierUsage:
        b, c = self.nbytes, self.chunks
        ob, oc = other.nbytes, other.chunks
        return TierUsage(
            (b[0] + ob[0], b[1] + ob[1], b[2] + ob[2]),
            (c[0] + oc[0], c[1] + oc[1], c[2] + oc[2]),
        )

    def __bool__(self) -> bool:
        """Whether anything changed (a change of zero is false)."""
        return any(self.nbytes) or any(self.chunks)

    def by_tier(self) -> list[tuple[str, int, int]]:
        """``(tier, bytes, chunks)`` for raw, 1m and 5m."""
        return [(tier, self.nbytes[i], self.chunks[i]) for i, tier in enumerate(TIER_TABLES)]


def store(db: sqlite3.Connection, change: TierUsage) -> None:
    """Add ``change`` to the totals in meta (inside the caller's transaction, the one that
    changed the rows). A total that is missing stays missing: ``load`` computes it."""
    updates: list[tuple[int, str]] = []
    for i, table in enumerate(_TABLES):
        if change.nbytes[i]:
            updates.append((change.nbytes[i], bytes_key(table)))
        if change.chunks[i]:
            updates.append((change.chunks[i], rows_key(table)))
    if updates:
        db.executemany("UPDATE meta SET value = value + ? WHERE key = ?", updates)


def _read(db: sqlite3.Connection) -> dict[str, int]:
    """The totals present in meta (a handful of rows: read them all)."""
    wanted = {k for t in _TABLES for k in (bytes_key(t), rows_key(t))}
    rows = db.execute("SELECT key, value FROM meta").fetchall()
    return {str(k): int(v) for k, v in rows if k in wanted}


def load(db: sqlite3.Connection) -> TierUsage:
    """The totals kept in meta (``db`` in autocommit mode, e.g. the engine's writer at open).
    The totals of a table that has none yet (a file from before they were kept) are computed
    once with ``SUM(length(data))`` and ``COUNT(*)`` and stored."""
    found = _read(db)
    if len(found) < 2 * len(_TABLES):
        db.execute("BEGIN IMMEDIATE")
        try:
            found = _read(db)
            for table in _TABLES:
                if bytes_key(table) in found and rows_key(table) in found:
                    continue
                # table is one of the engine's own names, never input.
                row = db.execute(
                    f"SELECT coalesce(sum(length(data)), 0), count(*) FROM {table}"  # noqa: S608
                ).fetchone()
                found[bytes_key(table)], found[rows_key(table)] = int(row[0]), int(row[1])
                chunks.set_meta(db, bytes_key(table), found[bytes_key(table)])
                chunks.set_meta(db, rows_key(table), found[rows_key(table)])
            db.execute("COMMIT")
        except BaseException:
            db.execute("ROLLBACK")
            raise
    return TierUsage(
        _three({i: found[bytes_key(t)] for i, t in enumerate(_TABLES)}),
        _three({i: found[rows_key(t)] for i, t in enumerate(_TABLES)}),
    )


def _three(values: dict[int, int]) -> tuple[int, int, int]:
    """Raw, 1m and 5m values from ``{tier index: value}`` (missing ones are 0)."""
    return values.get(0, 0), values.get(1, 0), values.get(2, 0)
