"""Reads: a snapshot of the head plus a read transaction on ``chunks.db`` (docs/storage.md,
"Read path")."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterator, Sequence
from typing import TYPE_CHECKING

import numpy as np
import numpy.typing as npt

from multimonx.model import Labels, Matcher
from multimonx.storage.interface import (
    Querier,
    SelectHints,
    Series,
    StorageClosed,
    label_names_of,
    label_values_of,
)
from multimonx.storage.tsdb.chunkenc import ChunkCodec
from multimonx.storage.tsdb.chunks import read_chunks
from multimonx.storage.tsdb.downsample import (
    Aggregates,
    Tier,
    choose_tier,
    downsample,
    reconstruct,
)
from multimonx.storage.tsdb.head import Snapshot, decode_block
from multimonx.storage.tsdb.tiers import overlay, read_tier, tiers_of

if TYPE_CHECKING:
    from multimonx.storage.tsdb.db import TSDB

_Arrays = tuple[npt.NDArray[np.int64], npt.NDArray[np.float64]]


def _trim(part: _Arrays, mint: int, maxt: int) -> _Arrays:
    ts, vs = part
    lo = int(np.searchsorted(ts, mint, side="left"))
    hi = int(np.searchsorted(ts, maxt, side="right"))
    return (ts, vs) if lo == 0 and hi == len(ts) else (ts[lo:hi], vs[lo:hi])


class TSDBQuerier:
    """A consistent snapshot of a TSDB within ``[mint, maxt]`` (see the Querier protocol).

    Holds a read transaction on ``chunks.db`` (WAL: it never blocks the flush) and the head
    snapshot taken right after it; a flush that moved head samples to disk in between is
    detected by the head generation and the pair is taken again.
    """

    def __init__(
        self,
        db: TSDB,
        conn: sqlite3.Connection,
        snap: Snapshot,
        flushed_before: int,
        bounds: tuple[int, int],
        *,
        release: Callable[[TSDBQuerier], None],
    ) -> None:
        self._db = db
        self._conn: sqlite3.Connection | None = conn
        self._snap = snap
        self._flushed_before = flushed_before
        self._mint, self._maxt = bounds
        self._release = release
        self._codec: ChunkCodec | None = None

    @property
    def connection(self) -> sqlite3.Connection | None:
        """The reader connection (None once closed)."""
        return self._conn

    @property
    def snapshot(self) -> Snapshot:
        """The head snapshot."""
        return self._snap

    def _matching(self, matchers: Sequence[Matcher]) -> list[tuple[Labels, int]]:
        db = self._db
        with db.head_lock:
            ids = db.index.candidates(matchers, self._snap.n_series)
        labels = db.index.labels
        found = [(lbl, sid) for sid in ids if (lbl := labels[sid]) is not None]
        found.sort(key=lambda pair: pair[0].pairs)
        return found

    def _codec_(self) -> ChunkCodec:
        if self._codec is None:
            self._codec = ChunkCodec()
        return self._codec

    def _read(self, sid: int, mint: int, maxt: int) -> _Arrays:
        db = self._db
        with db.head_lock:
            head = db.head.read(self._snap, sid, mint, maxt)
        pairs = head.pairs
        parts: list[_Arrays] = []
        if mint < self._flushed_before and self._conn is not None:
            parts.extend(
                read_chunks(
                    self._conn,
                    self._codec_(),
                    sid,
                    mint,
                    maxt,
                    range_ms=db.options.chunk_range_ms,
                )
            )
        for block in head.blocks:  # decoded outside the head lock: blobs are immutable
            parts.append(decode_block(self._codec_(), block))
        parts = [_trim(p, mint, maxt) for p in parts]
        parts = [p for p in parts if len(p[0])]
        if len(head.head_t):
            parts.append((head.head_t, head.head_v))
        if not parts and not pairs:
            return head.head_t, head.head_v
        if pairs:
            parts.append(
                (
                    np.fromiter((t for t, _ in pairs), np.int64, len(pairs)),
                    np.fromiter((v for _, v in pairs), np.float64, len(pairs)),
                )
            )
        if len(parts) == 1 and not pairs:  # out-of-order pairs are unsorted
            return parts[0]
        ts = np.concatenate([p[0] for p in parts])
        vs = np.concatenate([p[1] for p in parts])
        # Earlier parts win on equal timestamps (disk, then head, then out-of-order).
        uniq, first = np.unique(ts, return_index=True)
        return uniq.astype(np.int64, copy=False), vs[first]

    def _tier_for(self, hints: SelectHints | None, mint: int, maxt: int) -> Tier | None:
        """The downsampled tier to answer from, or None for raw samples.

        Only a select whose hints carry a step (a range query) may be answered from a tier:
        the coarsest one whose bucket fits the step and that still covers the range's start
        (``downsample.choose_tier``). Without a step the answer is always raw.
        """
        if hints is None or not hints.step_ms:
            return None
        tiers = tiers_of(self._db.options)
        choice = choose_tier(mint, maxt, hints.step_ms, self._db.clock(), tiers)
        return choice.tier if choice.tier.bucket_ms else None

    def _read_tier(self, tier: Tier, sid: int, mint: int, maxt: int, func: str | None) -> _Arrays:
        """One series from ``tier``, one point per bucket valued for ``func``; buckets that
        raw data still holds (the newest, not yet aggregated) are computed from it."""
        stored = read_tier(
            self._conn_(),
            self._codec_(),
            tier.name,
            [sid],
            mint,
            maxt,
            range_ms=self._db.options.chunk_range_ms,
        ).get(sid)
        raw_ts, raw_vs = self._read(sid, mint, maxt)
        fresh = downsample(raw_ts, raw_vs, tier.bucket_ms) if len(raw_ts) else None
        if fresh is None:
            combined = stored if stored is not None else Aggregates.empty()
        else:
            combined = overlay(stored, fresh)
        return reconstruct(combined, func)

    def _conn_(self) -> sqlite3.Connection:
        if self._conn is None:
            raise StorageClosed("querier is closed")
        return self._conn

    def _bounds(self, hints: SelectHints | None) -> tuple[int, int]:
        mint, maxt = self._mint, self._maxt
        if hints is not None:
            mint = max(mint, hints.start_ms) if hints.start_ms is not None else mint
            maxt = min(maxt, hints.end_ms) if hints.end_ms is not None else maxt
        return mint, maxt

    def select(
        self, matchers: Sequence[Matcher], hints: SelectHints | None = None
    ) -> Iterator[Series]:
        """Matching series with samples in range, sorted by labels."""
        self._db.check_open()
        mint, maxt = self._bounds(hints)
        limit = hints.limit if hints is not None else None
        emitted = 0
        if mint > maxt:
            return
        tier = self._tier_for(hints, mint, maxt)
        for labels, sid in self._matching(matchers):
            if limit is not None and emitted >= limit:
                return
            if tier is None:
                ts, vs = self._read(sid, mint, maxt)
            else:
                ts, vs = self._read_tier(tier, sid, mint, maxt, hints.func if hints else None)
            if len(ts):
                emitted += 1
                yield Series(labels, ts, vs)

    def label_names(self, matchers: Sequence[Matcher] = ()) -> list[str]:
        """Sorted label names of matching series with samples in range."""
        return label_names_of(self.select(matchers))

    def label_values(self, name: str, matchers: Sequence[Matcher] = ()) -> list[str]:
        """Sorted distinct values of ``name`` among matching series with samples in range."""
        return label_values_of(self.select(matchers), name)

    def close(self) -> None:
        """End the read transaction and release the snapshot. Idempotent."""
        if self._conn is not None:
            self._release(self)
            self._conn = None

    def __enter__(self) -> Querier:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
