"""``chunks.db``: the series table, raw chunks and metadata (docs/storage.md, "Files").

WAL mode, ``synchronous=NORMAL``, 16 KiB pages, incremental auto-vacuum. One writer
connection (the flush, under the engine's flush lock) and a pool of reader connections
(queriers and the commit-time check against flushed chunks), each used by one thread at a time.
"""

from __future__ import annotations

import queue
import sqlite3
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import numpy.typing as npt
import orjson

from multimonx.storage.interface import MAX_TIME_MS, MIN_TIME_MS
from multimonx.storage.tsdb.chunkenc import ChunkCodec

_SCHEMA = """
CREATE TABLE IF NOT EXISTS series (id INTEGER PRIMARY KEY, labels TEXT NOT NULL UNIQUE);
CREATE TABLE IF NOT EXISTS chunks_raw (
    series_id INTEGER NOT NULL, mint INTEGER NOT NULL, maxt INTEGER NOT NULL,
    count INTEGER NOT NULL, data BLOB NOT NULL, PRIMARY KEY (series_id, mint)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS chunks_raw_keys ON chunks_raw (series_id, mint, maxt, count);
CREATE TABLE IF NOT EXISTS chunks_raw_windows (window INTEGER PRIMARY KEY, keys BLOB NOT NULL);
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS chunks_1m (
    series_id INTEGER NOT NULL, mint INTEGER NOT NULL, maxt INTEGER NOT NULL,
    count INTEGER NOT NULL, data BLOB NOT NULL, PRIMARY KEY (series_id, mint)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS chunks_5m (
    series_id INTEGER NOT NULL, mint INTEGER NOT NULL, maxt INTEGER NOT NULL,
    count INTEGER NOT NULL, data BLOB NOT NULL, PRIMARY KEY (series_id, mint)
) WITHOUT ROWID;
"""

ChunkKey = tuple[int, int, int, int]
"""A raw chunk: (series id, mint, maxt, sample count)."""

META_FLUSHED_BEFORE = "flushed_before"
"""Every sample older than this may be in chunks (nothing at or after it is)."""
META_SAMPLES = "samples"
"""How many samples the chunks hold."""


def open_writer(path: Path) -> sqlite3.Connection:
    """The writer connection, creating the file and schema if needed."""
    db = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    db.execute("PRAGMA page_size=16384")
    db.execute("PRAGMA auto_vacuum=INCREMENTAL")
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("PRAGMA synchronous=NORMAL")
    db.executescript(_SCHEMA)
    return db


def get_meta(db: sqlite3.Connection, key: str, default: int) -> int:
    """An integer from the meta table."""
    row = db.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
    return default if row is None else int(row[0])


def set_meta(db: sqlite3.Connection, key: str, value: int) -> None:
    """Store an integer in the meta table (inside the caller's transaction)."""
    db.execute("INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)", (key, value))


class ReaderPool:
    """Reusable read connections to ``chunks.db``."""

    def __init__(self, path: Path) -> None:
        self._path = path
        self._idle: queue.SimpleQueue[sqlite3.Connection] = queue.SimpleQueue()
        self._all: list[sqlite3.Connection] = []

    def get(self) -> sqlite3.Connection:
        """An idle connection (a new one if none is idle); give it back with ``put``."""
        try:
            return self._idle.get_nowait()
        except queue.Empty:
            db = sqlite3.connect(self._path, isolation_level=None, check_same_thread=False)
            db.execute("PRAGMA query_only=ON")
            self._all.append(db)
            return db

    def put(self, db: sqlite3.Connection) -> None:
        """Return a connection (no transaction open)."""
        self._idle.put(db)

    def close(self) -> None:
        """Close every connection made."""
        for db in self._all:
            db.close()
        self._all.clear()


def window_bounds(t: int, range_ms: int) -> tuple[int, int]:
    """The aligned window ``[start, end]`` (inclusive) holding ``t``, clamped to int64."""
    start = t - t % range_ms
    return max(start, MIN_TIME_MS), min(start + range_ms - 1, MAX_TIME_MS)


def _json_ids(sids: Sequence[int]) -> str:
    """Series ids as the JSON array ``json_each`` reads (orjson: a fleet-wide select sends
    tens of thousands)."""
    ids = sids if isinstance(sids, list) else list(sids)
    return orjson.dumps(ids, option=orjson.OPT_SERIALIZE_NUMPY).decode()


def read_chunk_blobs(
    db: sqlite3.Connection, sids: Sequence[int], mint: int, maxt: int, *, range_ms: int
) -> list[tuple[ChunkKey, bytes]]:
    """(key, encoded chunk) of the raw chunks of ``sids`` overlapping ``[mint, maxt]``, by
    series id then oldest first, in one statement (the ids travel as one JSON array); a key
    is (series id, mint, maxt, count)."""
    # A chunk lies inside one window, so its mint is above mint - range_ms if it reaches mint.
    low = max(mint - range_ms + 1, MIN_TIME_MS)
    rows = db.execute(
        "SELECT series_id, mint, maxt, count, data FROM chunks_raw "
        "WHERE series_id IN (SELECT value FROM json_each(?)) "
        "AND mint >= ? AND mint <= ? AND maxt >= ? ORDER BY series_id, mint",
        (_json_ids(sids), low, maxt, mint),
    ).fetchall()
    return [((sid, lo, hi, count), bytes(data)) for sid, lo, hi, count, data in rows]


def read_chunk_keys(
    db: sqlite3.Connection, sids: Sequence[int], mint: int, maxt: int, *, range_ms: int
) -> list[ChunkKey]:
    """The keys of the rows ``read_chunk_blobs`` returns for the same arguments, in the same
    order (within one read transaction). Answered from the covering
    index ``chunks_raw_keys``: the table's rows hold the chunk data, a fleet-wide select
    seeks tens of thousands of them, and the index's pages are a tenth of the size."""
    low = max(mint - range_ms + 1, MIN_TIME_MS)
    return db.execute(
        "SELECT series_id, mint, maxt, count FROM chunks_raw "
        "WHERE series_id IN (SELECT value FROM json_each(?)) "
        "AND mint >= ? AND mint <= ? AND maxt >= ? ORDER BY series_id, mint",
        (_json_ids(sids), low, maxt, mint),
    ).fetchall()


def read_chunks(
    db: sqlite3.Connection, codec: ChunkCodec, sid: int, mint: int, maxt: int, *, range_ms: int
) -> list[tuple[npt.NDArray[np.int64], npt.NDArray[np.float64]]]:
    """Decoded chunks of ``sid`` overlapping ``[mint, maxt]``, oldest first."""
    blobs = read_chunk_blobs(db, [sid], mint, maxt, range_ms=range_ms)
    return [codec.decode(data) for _, data in blobs]
