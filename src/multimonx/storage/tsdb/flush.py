"""Turning extracted head samples into chunk rows (docs/storage.md, "Chunks and flush").

Runs outside the head lock: decodes the head blocks a flush took, splits each series' samples
into aligned windows, encodes one chunk per window, and merges into the rows already on disk
for windows an earlier flush wrote (out-of-order samples and backfill): the stored value wins
("first value wins").
"""

from __future__ import annotations

import sqlite3
import struct
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

from multimonx.storage.tsdb import manifest
from multimonx.storage.tsdb.chunkenc import ChunkCodec
from multimonx.storage.tsdb.chunks import window_bounds
from multimonx.storage.tsdb.head import BLOCK_PREFIX, Extract, decode_block
from multimonx.storage.tsdb.usage import TierUsage, store

_pack = struct.Struct("<d").pack
_Arrays = tuple[npt.NDArray[np.int64], npt.NDArray[np.float64]]


@dataclass(slots=True)
class FlushResult:
    """What one flush transaction wrote. ``raw_bytes``/``raw_chunks``: net change of
    ``chunks_raw``'s chunk data bytes and rows (merged rows count as deleted and rewritten)."""

    chunks_written: int = 0
    chunks_merged: int = 0
    samples_added: int = 0
    duplicates: int = 0
    conflicts: int = 0
    raw_bytes: int = 0
    raw_chunks: int = 0

    def usage(self) -> TierUsage:
        """The change of the tier totals (``usage.TierUsage``) this flush made."""
        return TierUsage.of("chunks_raw", self.raw_bytes, self.raw_chunks)


_DECODE_BATCH = 1024
"""Series whose head blocks are decoded together (bounds the memory of a flush's decoding)."""


def _closed_blocks(codec: ChunkCodec, extracts: Sequence[Extract]) -> list[list[_Arrays]]:
    """Per extract, its closed head blocks decoded, in order: every blob of the batch in one
    ``decode_many`` pass (a run of consecutive blobs comes back as one slice), sealed blocks
    (not encoded yet) one by one."""
    blobs = [b for e in extracts for b in e.blocks if isinstance(b, bytes)]
    all_t, all_v, counts = codec.decode_many(blobs, skip=BLOCK_PREFIX)
    at = [0, *np.cumsum(counts).tolist()]
    out: list[list[_Arrays]] = []
    blob = 0
    for e in extracts:
        parts: list[_Arrays] = []
        run = blob
        for block in e.blocks:
            if isinstance(block, bytes):
                blob += 1
                continue
            if blob > run:
                parts.append((all_t[at[run] : at[blob]], all_v[at[run] : at[blob]]))
            parts.append(decode_block(codec, block))
            run = blob
        if blob > run:
            parts.append((all_t[at[run] : at[blob]], all_v[at[run] : at[blob]]))
        out.append(parts)
    return out


def series_samples(e: Extract, blocks: list[_Arrays]) -> _Arrays:
    """The extracted samples of one series, sorted by time: its closed head blocks (decoded
    by ``_closed_blocks``, outside the head lock), the open block's part, then the
    out-of-order samples (the in-order and out-of-order parts never share a timestamp)."""
    parts = list(blocks)
    if e.n_head:
        parts.append((e.head_t, e.head_v))
    if e.ooo_t:
        parts.append((np.array(e.ooo_t, dtype=np.int64), np.array(e.ooo_v, dtype=np.float64)))
    if not parts:
        return np.empty(0, np.int64), np.empty(0, np.float64)
    if len(parts) == 1:
        return parts[0]
    ts = np.concatenate([p[0] for p in parts])
    vs = np.concatenate([p[1] for p in parts])
    if e.ooo_t:
        order = np.argsort(ts, kind="stable")
        ts, vs = ts[order], vs[order]
    return ts, vs


def write_extracts(
    db: sqlite3.Connection,
    codec: ChunkCodec,
    extracts: Sequence[Extract],
    range_ms: int,
    merge_below: int,
) -> FlushResult:
    """Write the chunk rows of ``extracts`` (inside the caller's transaction). Windows
    starting below ``merge_below`` may already have a row on disk and are merged into it.
    The tier totals in meta (``usage``) and the windows' manifests (``manifest``) change in
    the same transaction."""
    writer = _RowWriter(db, codec, range_ms, merge_below)
    for lo in range(0, len(extracts), _DECODE_BATCH):
        batch = extracts[lo : lo + _DECODE_BATCH]
        for e, blocks in zip(batch, _closed_blocks(codec, batch), strict=True):
            writer.series(e.sid, series_samples(e, blocks))
    db.executemany(
        "INSERT INTO chunks_raw (series_id, mint, maxt, count, data) VALUES (?, ?, ?, ?, ?)",
        writer.inserts,
    )
    manifest.update(db, [row[:4] for row in writer.inserts], writer.deleted, range_ms)
    result = writer.result
    result.chunks_written = len(writer.inserts)
    result.raw_bytes += sum(len(row[4]) for row in writer.inserts)
    result.raw_chunks += len(writer.inserts)
    store(db, result.usage())
    return result


@dataclass(slots=True)
class _RowWriter:
    """Chunk rows of one flush, collected series by series for one ``executemany``."""

    db: sqlite3.Connection
    codec: ChunkCodec
    range_ms: int
    merge_below: int
    result: FlushResult = field(default_factory=FlushResult)
    inserts: list[tuple[int, int, int, int, bytes]] = field(default_factory=list)
    deleted: list[tuple[int, int]] = field(default_factory=list)
    """(series id, mint) of the rows merged away."""

    def series(self, sid: int, samples: _Arrays) -> None:
        """One series' rows, one per window (merged with the rows on disk for windows
        below ``merge_below``)."""
        ts, vs = samples
        range_ms, result = self.range_ms, self.result
        windows = ts // range_ms  # window numbers (no overflow at the int64 ends)
        cuts = np.flatnonzero(np.diff(windows)) + 1
        starts = [0, *cuts.tolist()]
        ends = [*cuts.tolist(), len(ts)]
        for lo, hi in zip(starts, ends, strict=True):
            wt, wv = ts[lo:hi], vs[lo:hi]
            first = int(wt[0])
            if first - first % range_ms < self.merge_below:
                merged = _merge_existing(
                    self.db,
                    self.codec,
                    sid,
                    (wt, wv),
                    range_ms=range_ms,
                    result=result,
                    deleted=self.deleted,
                )
                if merged is not None:
                    wt, wv = merged
                    result.chunks_merged += 1
            else:
                result.samples_added += len(wt)
            self.inserts.append((sid, int(wt[0]), int(wt[-1]), len(wt), self.codec.encode(wt, wv)))


def _merge_existing(
    db: sqlite3.Connection,
    codec: ChunkCodec,
    sid: int,
    samples: tuple[npt.NDArray[np.int64], npt.NDArray[np.float64]],
    *,
    range_ms: int,
    result: FlushResult,
    deleted: list[tuple[int, int]],
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.float64]] | None:
    """Fold the stored rows of this window into the new samples (stored values win), delete
    those rows (their keys appended to ``deleted``) and return the merged samples; None if
    the window has no row yet."""
    ts, vs = samples
    start, end = window_bounds(int(ts[0]), range_ms)
    rows = db.execute(
        "SELECT mint, data FROM chunks_raw WHERE series_id = ? AND mint >= ? AND mint <= ?",
        (sid, start, end),
    ).fetchall()
    if not rows:
        result.samples_added += len(ts)
        return None
    old_parts = [codec.decode(bytes(data)) for _, data in rows]
    old_t = np.concatenate([p[0] for p in old_parts])
    old_v = np.concatenate([p[1] for p in old_parts])
    stored = dict(zip(old_t.tolist(), old_v.tolist(), strict=True))
    keep = np.ones(len(ts), dtype=bool)
    for i, (t, v) in enumerate(zip(ts.tolist(), vs.tolist(), strict=True)):
        old = stored.get(t)
        if old is not None:
            keep[i] = False
            if _pack(old) == _pack(v):
                result.duplicates += 1
            else:
                result.conflicts += 1
    result.samples_added += int(keep.sum())
    all_t = np.concatenate((old_t, ts[keep]))
    all_v = np.concatenate((old_v, vs[keep]))
    order = np.argsort(all_t, kind="stable")
    gone = [(sid, int(m)) for m, _ in rows]
    db.executemany("DELETE FROM chunks_raw WHERE series_id = ? AND mint = ?", gone)
    deleted += gone
    result.raw_bytes -= sum(len(data) for _, data in rows)
    result.raw_chunks -= len(rows)
    return all_t[order], all_v[order]
