"""Per-window manifests of the raw chunk keys (docs/storage.md, "Read path").

A select over a large part of the fleet needs the keys ``(series id, mint, maxt, count)`` of
tens of thousands of raw chunks before it can look them up in the chunk cache. Asked of
SQLite, that is one index seek per series and window (about 1 µs each, plus a Python tuple
per row). The table ``chunks_raw_windows`` keeps, per aligned window, the keys of every
``chunks_raw`` row whose ``mint`` lies in it, as one blob of little-endian int64 quadruples
sorted by series id then mint: a fleet-wide instant query reads one or two blobs instead.

The manifests live in ``chunks.db`` and change in the same transactions as the rows they
describe, so a reader's transaction sees them exactly as it sees ``chunks_raw``. The meta
value ``raw_windows_from`` (window-aligned ms) bounds what they cover: for every window
starting at or after it, the window's manifest lists exactly its rows, and a window without
a manifest has none. Below it (windows that retention is deleting, which may keep rows not
yet aggregated) readers ask ``chunks_raw`` itself. ``raw_windows_range`` records the window
width the manifests were cut with; a file without manifests, or cut with another width, gets
them built once when the writer opens it (``ensure``).
"""

from __future__ import annotations

import logging
import sqlite3
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from multimonx.storage.interface import MAX_TIME_MS, MIN_TIME_MS
from multimonx.storage.tsdb import chunks
from multimonx.storage.tsdb.chunks import ChunkKey

log = logging.getLogger(__name__)

META_FROM = "raw_windows_from"
"""Windows starting at or after this (ms) have exact manifests (missing: none)."""
META_RANGE = "raw_windows_range"
"""The window width (ms) the manifests were cut with."""

_Keys = npt.NDArray[np.int64]
"""Chunk keys as an ``(n, 4)`` int64 array: series id, mint, maxt, count."""


def _empty() -> _Keys:
    return np.empty((0, 4), dtype=np.int64)


def _decode(blob: bytes) -> _Keys:
    return np.frombuffer(blob, dtype="<i8").reshape(-1, 4).astype(np.int64, copy=False)


def _sorted(keys: _Keys) -> _Keys:
    """``keys`` by series id, then mint."""
    if len(keys) < 2:
        return keys
    return keys[np.lexsort((keys[:, 1], keys[:, 0]))]


def _windows_of(mints: _Keys, range_ms: int) -> _Keys:
    return mints // range_ms  # floor, as chunks.window_bounds aligns


def _write(db: sqlite3.Connection, window: int, keys: _Keys) -> None:
    if len(keys):
        db.execute(
            "INSERT OR REPLACE INTO chunks_raw_windows (window, keys) VALUES (?, ?)",
            (window, keys.astype("<i8", copy=False).tobytes()),
        )
    else:
        db.execute("DELETE FROM chunks_raw_windows WHERE window = ?", (window,))


def update(
    db: sqlite3.Connection,
    added: Sequence[ChunkKey],
    removed: Iterable[tuple[int, int]],
    range_ms: int,
) -> None:
    """Record rows inserted into (``added``) and deleted from (``removed``: series id, mint)
    ``chunks_raw`` in this transaction (the caller's, the one that changed the rows), in the
    manifest of each window they fall in. Windows below ``raw_windows_from`` are not covered
    and are left alone."""
    new = np.array(added, dtype=np.int64).reshape(-1, 4)
    gone = np.array(list(removed), dtype=np.int64).reshape(-1, 2)
    if not len(new) and not len(gone):
        return
    covered_from = chunks.get_meta(db, META_FROM, MAX_TIME_MS)
    new_windows = _windows_of(new[:, 1], range_ms)
    gone_windows = _windows_of(gone[:, 1], range_ms)
    for window in np.union1d(new_windows, gone_windows).tolist():
        if window * range_ms < covered_from:
            continue
        row = db.execute(
            "SELECT keys FROM chunks_raw_windows WHERE window = ?", (window,)
        ).fetchone()
        keys = _decode(row[0]) if row is not None else _empty()
        drop = gone[gone_windows == window]
        if len(drop) and len(keys):
            # (series id, mint) is the table's primary key: pack it for one isin
            packed = keys[:, 0].astype(object) * (1 << 64) + keys[:, 1]
            dropped = drop[:, 0].astype(object) * (1 << 64) + drop[:, 1]
            keys = keys[~np.isin(packed, dropped)]
        keys = _sorted(np.concatenate((keys, new[new_windows == window])))
        _write(db, window, keys)


def forget_before(db: sqlite3.Connection, end: int, range_ms: int) -> None:
    """Stop covering the windows starting below ``end`` (window-aligned), whose rows are
    being deleted in this transaction: raise ``raw_windows_from`` and drop their
    manifests."""
    covered_from = chunks.get_meta(db, META_FROM, MAX_TIME_MS)
    if end <= covered_from:
        return
    chunks.set_meta(db, META_FROM, end)
    db.execute("DELETE FROM chunks_raw_windows WHERE window < ?", (end // range_ms,))


def ensure(db: sqlite3.Connection, range_ms: int) -> None:
    """Build the manifests of a file that has none, or none cut at ``range_ms`` (``db``: the
    engine's writer in autocommit mode, at open). A new file is covered from the start."""
    if chunks.get_meta(db, META_RANGE, 0) == range_ms:
        return
    started = time.monotonic()
    db.execute("BEGIN IMMEDIATE")
    try:
        db.execute("DELETE FROM chunks_raw_windows")
        rows = db.execute(
            "SELECT series_id, mint, maxt, count FROM chunks_raw ORDER BY series_id, mint"
        ).fetchall()
        keys = np.array(rows, dtype=np.int64).reshape(-1, 4)
        del rows
        windows = _windows_of(keys[:, 1], range_ms)
        order = np.argsort(windows, kind="stable")  # within a window: by series, then mint
        keys, windows = keys[order], windows[order]
        distinct, first = np.unique(windows, return_index=True)
        bounds = [*first.tolist(), len(keys)]
        for i, window in enumerate(distinct.tolist()):
            _write(db, window, keys[bounds[i] : bounds[i + 1]])
        chunks.set_meta(db, META_FROM, MIN_TIME_MS)
        chunks.set_meta(db, META_RANGE, range_ms)
        db.execute("COMMIT")
    except BaseException:
        db.execute("ROLLBACK")
        raise
    if len(keys):
        log.info(
            "tsdb: built the chunk manifests of %d windows (%d chunks) in %.1f s",
            len(distinct),
            len(keys),
            time.monotonic() - started,
        )


@dataclass(frozen=True, slots=True)
class WindowKeys:
    """The keys of the raw chunks overlapping a read range, as the manifests list them, by
    series id then mint (``read`` makes them; ``of`` answers for a batch of series)."""

    keys: _Keys

    def of(self, sids: Sequence[int]) -> list[ChunkKey]:
        """The keys of the chunks of ``sids``, by series id then mint: the rows
        ``chunks.read_chunk_keys`` returns for the same range."""
        keys = self.keys
        if not len(keys) or not len(sids):
            return []
        wanted = np.sort(np.asarray(sids, dtype=np.int64))
        owners = keys[:, 0]
        lo = np.searchsorted(owners, wanted, side="left")
        counts = np.searchsorted(owners, wanted, side="right") - lo
        total = int(counts.sum())
        if not total:
            return []
        ends = np.cumsum(counts)
        rows = np.repeat(lo - (ends - counts), counts) + np.arange(total)
        picked = keys[rows]
        return list(
            zip(
                picked[:, 0].tolist(),
                picked[:, 1].tolist(),
                picked[:, 2].tolist(),
                picked[:, 3].tolist(),
                strict=True,
            )
        )


def read(
    db: sqlite3.Connection,
    mint: int,
    maxt: int,
    *,
    range_ms: int,
    covered_from: int,
    flushed_before: int,
) -> WindowKeys | None:
    """The keys of every raw chunk overlapping ``[mint, maxt]`` from the manifests (inside
    the reader's transaction, ``covered_from`` read from meta in it), or None when part of
    the range lies below the windows they cover."""
    # A chunk lies inside one window: those of windows before mint's end before mint.
    first = chunks.window_bounds(mint, range_ms)[0]
    if first < covered_from:
        return None
    top = min(maxt, flushed_before - 1)  # nothing at or after flushed_before is in chunks
    if top < first:
        return WindowKeys(_empty())
    blobs = db.execute(
        "SELECT keys FROM chunks_raw_windows WHERE window >= ? AND window <= ? ORDER BY window",
        (first // range_ms, top // range_ms),
    ).fetchall()
    if not blobs:
        return WindowKeys(_empty())
    keys = np.concatenate([_decode(blob) for (blob,) in blobs])
    inside = keys[:, 1] <= maxt
    inside &= keys[:, 2] >= mint
    keys = keys[inside]
    if len(blobs) > 1:  # each blob by series then mint, the blobs in time order
        keys = keys[np.argsort(keys[:, 0], kind="stable")]
    return WindowKeys(keys)
