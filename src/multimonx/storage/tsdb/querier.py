"""Reads: a snapshot of the head plus a read transaction on ``chunks.db`` (docs/storage.md,
"Read path")."""

from __future__ import annotations

import itertools
import logging
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
    SeriesSet,
    StorageClosed,
)
from multimonx.storage.tsdb import manifest
from multimonx.storage.tsdb.chunkenc import ChunkCodec
from multimonx.storage.tsdb.chunks import read_chunk_blobs, read_chunk_keys
from multimonx.storage.tsdb.downsample import (
    Aggregates,
    Tier,
    choose_tier,
    downsample,
    reconstruct,
)
from multimonx.storage.tsdb.head import BLOCK_PREFIX, OpenParts, Snapshot, decode_block
from multimonx.storage.tsdb.lookup import LabelLookup
from multimonx.storage.tsdb.tiers import overlay, read_tier, tiers_of

if TYPE_CHECKING:
    from multimonx.storage.tsdb.db import TSDB

log = logging.getLogger(__name__)

_Ints = npt.NDArray[np.int64]
_Floats = npt.NDArray[np.float64]
_Arrays = tuple[_Ints, _Floats]
_Points = tuple[npt.NDArray[np.int64], npt.NDArray[np.float64], npt.NDArray[np.float64] | None]
"""A series as a select returns it: timestamps, values and, when read from a tier, the raw
samples behind each point (``Series.counts``)."""
_EMPTY_T: npt.NDArray[np.int64] = np.empty(0, dtype=np.int64)
_EMPTY_V: npt.NDArray[np.float64] = np.empty(0, dtype=np.float64)


_MANIFEST_SHARE = 16
"""A select holding at least one series in this many of the index's reads its chunk keys
from the windows' manifests (``manifest``): reading and filtering a window's whole list
then costs less than one index seek per series in SQLite."""

_BATCH = 512
"""Series read together by a select: one head pass under the lock, one chunk query and one
decoding pass each (it bounds the memory a batch holds)."""


class _Pieces:
    """The samples of a batch of series, gathered in one go (see ``TSDBQuerier._read_many``).

    Sources are whole arrays (the decoded disk chunks, the decoded head blocks, each open
    block, ...); a series is a run of segments of them, in time order (disk chunks, head
    blocks, the open block), then its out-of-order samples. ``unsorted`` marks the series whose
    segments may overlap or repeat.
    """

    __slots__ = ("_at", "_seg_len", "_seg_src", "_seg_start", "_sources", "lengths", "unsorted")

    def __init__(self) -> None:
        self._sources: list[_Arrays] = []
        self._seg_src: list[int] = []
        self._seg_start: list[int] = []
        self._seg_len: list[int] = []
        self._at = 0
        self.lengths: list[int] = []
        self.unsorted: list[int] = []

    def source(self, ts: npt.NDArray[np.int64], vs: npt.NDArray[np.float64]) -> int:
        """Register a source array pair; its number for ``segment``."""
        self._sources.append((ts, vs))
        return len(self._sources) - 1

    def segment(self, src: int, start: int, length: int) -> None:
        """Append ``length`` samples of source ``src`` from ``start`` to the current series."""
        if not length:
            return
        self._at += length
        seg_len = self._seg_len
        if seg_len and self._seg_src[-1] == src and self._seg_start[-1] + seg_len[-1] == start:
            seg_len[-1] += length  # contiguous with the previous one (even across series)
            return
        self._seg_src.append(src)
        self._seg_start.append(start)
        seg_len.append(length)

    def runs(self, src: int, starts: _Ints, lengths: _Ints) -> None:
        """Append one whole series per element, ``lengths[i]`` samples of source ``src`` from
        ``starts[i]``, at once (the series without head data: all of it on disk)."""
        if self._at:
            raise ValueError("runs() must not split a series")
        nonempty = lengths > 0
        count = int(nonempty.sum())
        self._seg_src += [src] * count
        self._seg_start += starts[nonempty].tolist()
        self._seg_len += lengths[nonempty].tolist()
        self.lengths += lengths.tolist()

    def array(self, ts: npt.NDArray[np.int64], vs: npt.NDArray[np.float64]) -> None:
        """Append a whole array pair to the current series."""
        if len(ts):
            self.segment(self.source(ts, vs), 0, len(ts))

    def end_series(self, *, unsorted: bool) -> None:
        """Close the current series (its segments are those appended since the last call)."""
        if unsorted:
            self.unsorted.append(len(self.lengths))
        self.lengths.append(self._at)
        self._at = 0

    def _gather(self) -> tuple[_Ints, _Floats, _Ints]:
        """The sources end to end (one source is used as it is) and, for every series'
        segments in order, the positions of their samples in them."""
        if len(self._sources) == 1:
            all_t, all_v = self._sources[0]
            src_at = np.zeros(2, dtype=np.int64)
        else:
            sizes = [len(t) for t, _ in self._sources]
            src_at = np.zeros(len(sizes) + 1, dtype=np.int64)
            np.cumsum(sizes, out=src_at[1:])
            all_t = np.concatenate([t for t, _ in self._sources])
            all_v = np.concatenate([v for _, v in self._sources])
        seg_len = np.array(self._seg_len, dtype=np.int64)
        out_at = np.cumsum(seg_len) - seg_len
        shift = src_at[np.array(self._seg_src, dtype=np.int64)] + self._seg_start - out_at
        index = np.repeat(shift, seg_len)
        index += np.arange(len(index))
        return all_t, all_v, index

    def joined(self, mint: int, maxt: int) -> tuple[_Ints, _Floats, _Ints]:
        """Every series' samples within ``[mint, maxt]``, sorted, without repeats (the first
        segment holding a timestamp wins: disk, then head, then out-of-order), laid end to
        end: (timestamps, values, at), series ``i`` owning ``at[i]:at[i + 1]``. Samples out
        of range are dropped before any is copied: whole chunks are read for a few minutes
        of an instant query's lookback."""
        count = len(self.lengths)
        if not self._seg_len:
            return _EMPTY_T, _EMPTY_V, np.zeros(count + 1, dtype=np.int64)
        all_t, all_v, index = self._gather()
        inside = all_t >= mint
        inside &= all_t <= maxt
        keep = inside[index]
        bounds = np.zeros(count + 1, dtype=np.int64)
        np.cumsum(self.lengths, out=bounds[1:])
        kept = np.zeros(len(index) + 1, dtype=np.int64)
        np.cumsum(keep, out=kept[1:])
        at = kept[bounds]
        index = index[keep]
        kts, kvs = all_t[index], all_v[index]
        # Segments are in time order but may touch or overlap where a flush, a merge or a late
        # sample met: any series not strictly increasing in range takes the slow path.
        falling = np.flatnonzero(kts[1:] <= kts[:-1]) + 1
        slow = set(self.unsorted)
        if len(falling):
            owner = np.searchsorted(at, falling, side="right") - 1
            within = falling != at[owner]  # a series' first sample may go down
            slow.update(owner[within].tolist())
        if not slow:
            return kts, kvs, at
        lengths = np.diff(at)
        parts_t: list[_Ints] = []
        parts_v: list[_Floats] = []
        done = 0
        for i in sorted(slow):
            a, b = int(at[i]), int(at[i + 1])
            uniq, first = np.unique(kts[a:b], return_index=True)
            parts_t += [kts[done:a], uniq.astype(np.int64, copy=False)]
            parts_v += [kvs[done:a], kvs[a:b][first]]
            lengths[i] = len(uniq)
            done = b
        parts_t.append(kts[done:])
        parts_v.append(kvs[done:])
        np.cumsum(lengths, out=at[1:])
        return np.concatenate(parts_t), np.concatenate(parts_v), at

    def split(self, mint: int, maxt: int) -> list[_Arrays]:
        """``joined``, one (timestamps, values) pair per series."""
        ts, vs, at = self.joined(mint, maxt)
        return [(ts[a:b], vs[a:b]) for a, b in itertools.pairwise(at.tolist())]


def _disk_runs(
    sids: Sequence[int], chunk_sids: Sequence[int], chunk_counts: Sequence[int]
) -> tuple[_Ints, _Ints]:
    """Where each of ``sids`` lies in the samples of chunks read by series id then time
    (``chunk_sids``, ``chunk_counts``): its first sample and its sample count (0 for a
    series without chunks)."""
    wanted = np.asarray(sids, dtype=np.int64)
    if not len(chunk_sids):
        return np.zeros(len(wanted), dtype=np.int64), np.zeros(len(wanted), dtype=np.int64)
    owners = np.asarray(chunk_sids, dtype=np.int64)
    chunk_at = np.zeros(len(owners) + 1, dtype=np.int64)
    np.cumsum(chunk_counts, out=chunk_at[1:])
    present, first_chunk = np.unique(owners, return_index=True)
    after_chunk = np.append(first_chunk[1:], len(owners))
    where = np.minimum(np.searchsorted(present, wanted), len(present) - 1)
    found = present[where] == wanted
    starts = np.where(found, chunk_at[first_chunk[where]], 0)
    lengths = np.where(found, chunk_at[after_chunk[where]] - starts, 0)
    return starts, lengths


class TSDBQuerier:
    """A consistent snapshot of a TSDB within ``[mint, maxt]`` (see the Querier protocol).

    Holds a read transaction on ``chunks.db`` (WAL: it never blocks the flush) and the head
    snapshot taken right after it; a flush that moved head samples to disk in between is
    detected by the head generation and the pair is taken again. ``manifests_from`` is the
    ``manifest.META_FROM`` value the transaction saw.
    """

    def __init__(
        self,
        db: TSDB,
        conn: sqlite3.Connection,
        snap: Snapshot,
        flushed_before: int,
        bounds: tuple[int, int],
        *,
        manifests_from: int,
        release: Callable[[TSDBQuerier], None],
    ) -> None:
        self._db = db
        self._conn: sqlite3.Connection | None = conn
        self._snap = snap
        self._flushed_before = flushed_before
        self._manifests_from = manifests_from
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
            ids = db.index.in_label_order(db.index.candidates(matchers, self._snap.n_series))
        labels = db.index.labels
        return [(lbl, sid) for sid in ids if (lbl := labels[sid]) is not None]

    def _codec_(self) -> ChunkCodec:
        if self._codec is None:
            self._codec = self._db.head.thread_codec()
        return self._codec

    def _read_many(self, sids: Sequence[int], mint: int, maxt: int) -> list[_Arrays]:
        """The samples of each of ``sids`` within ``[mint, maxt]``."""
        return self._pieces(sids, mint, maxt).split(mint, maxt)

    def _window_keys(self, selected: int, mint: int, maxt: int) -> manifest.WindowKeys | None:
        """The chunk keys of ``[mint, maxt]`` from the manifests, for a select of
        ``selected`` series that is a large share of the index (None: ask ``chunks_raw``
        per batch)."""
        if (
            self._conn is None
            or mint >= self._flushed_before
            or selected * _MANIFEST_SHARE < self._snap.n_series
        ):
            return None
        return manifest.read(
            self._conn,
            mint,
            maxt,
            range_ms=self._db.options.chunk_range_ms,
            covered_from=self._manifests_from,
            flushed_before=self._flushed_before,
        )

    def _pieces(
        self,
        sids: Sequence[int],
        mint: int,
        maxt: int,
        window_keys: manifest.WindowKeys | None = None,
    ) -> _Pieces:
        """The samples of ``sids`` around ``[mint, maxt]``: head parts taken in one pass under
        the lock, chunks on disk from the cache or one query, every compressed block decoded
        in one vectorised pass (``ChunkCodec.decode_many``). ``window_keys``, if given, lists
        the chunks on disk (``_window_keys``)."""
        db = self._db
        snap = self._snap
        nblocks, lengths, ooo = snap.nblocks, snap.lengths, snap.ooo_lengths
        opened = OpenParts()
        with db.head_lock:  # only series with head data in the snapshot are looked at
            heads = [
                db.head.read(snap, sid, mint, maxt, opened)
                if nblocks[sid] or lengths[sid] or sid in ooo
                else None
                for sid in sids
            ]
        disk_sids, disk_t, disk_v, disk_counts = self._read_disk(sids, mint, maxt, window_keys)
        disk_starts, disk_lengths = _disk_runs(sids, disk_sids, disk_counts)
        pieces = _Pieces()
        disk_src = pieces.source(disk_t, disk_v)
        if not any(head is not None for head in heads):
            pieces.runs(disk_src, disk_starts, disk_lengths)
            return pieces
        codec = self._codec_()
        head_blobs = [
            b for head in heads if head is not None for b in head.blocks if isinstance(b, bytes)
        ]
        head_t, head_v, head_counts = codec.decode_many(head_blobs, skip=BLOCK_PREFIX)
        head_src = pieces.source(head_t, head_v)
        head_at = [0, *np.cumsum(head_counts).tolist()]
        open_parts = {
            code: (pieces.source(ts, vs), at) for code, (ts, vs, at) in opened.arrays().items()
        }
        blob = 0
        for head, start, length in zip(
            heads, disk_starts.tolist(), disk_lengths.tolist(), strict=True
        ):
            pieces.segment(disk_src, start, length)
            if head is None:
                pieces.end_series(unsorted=False)
                continue
            for block in head.blocks:  # blobs decoded above, sealed blocks (rare) here
                if isinstance(block, bytes):
                    pieces.segment(head_src, head_at[blob], head_at[blob + 1] - head_at[blob])
                    blob += 1
                else:
                    pieces.array(*decode_block(codec, block))
            if head.open_part is not None:
                code, i = head.open_part
                src, at = open_parts[code]
                pieces.segment(src, at[i], at[i + 1] - at[i])
            else:
                pieces.array(head.head_t, head.head_v)
            if head.pairs:
                pieces.array(
                    np.fromiter((t for t, _ in head.pairs), np.int64, len(head.pairs)),
                    np.fromiter((v for _, v in head.pairs), np.float64, len(head.pairs)),
                )
            pieces.end_series(unsorted=bool(head.pairs))
        return pieces

    def _read_disk(
        self,
        sids: Sequence[int],
        mint: int,
        maxt: int,
        window_keys: manifest.WindowKeys | None = None,
    ) -> tuple[list[int], npt.NDArray[np.int64], npt.NDArray[np.float64], list[int]]:
        """The raw chunks of ``sids`` overlapping ``[mint, maxt]``, by series then oldest first:
        each chunk's series id, all their samples end to end, and each chunk's sample count
        (from the cache: only its samples within the range). Chunks decoded by an earlier
        query come from the TSDB's ``ChunkCache`` (their keys from ``window_keys`` if given,
        else from SQLite); the others are read and decoded in one pass, then cached."""
        if mint >= self._flushed_before or self._conn is None:
            return [], _EMPTY_T, _EMPTY_V, []
        range_ms = self._db.options.chunk_range_ms
        cache = self._db.chunk_cache
        codec = self._codec_()
        if not cache.max_bytes:
            rows = read_chunk_blobs(self._conn, sids, mint, maxt, range_ms=range_ms)
            ts, vs, counts = codec.decode_many([data for _, data in rows])
            return [key[0] for key, _ in rows], ts, vs, counts.tolist()
        if window_keys is not None:
            keys = window_keys.of(sids)
        else:
            keys = read_chunk_keys(self._conn, sids, mint, maxt, range_ms=range_ms)
        got = cache.gather(keys, mint, maxt)
        if got.missing:
            # The same rows in the same order as the keys (one read transaction).
            rows = read_chunk_blobs(self._conn, sids, mint, maxt, range_ms=range_ms)
            stored = [key for key, _ in rows]
            if stored != keys:  # pragma: no cover - manifests change with their rows
                log.error("tsdb: chunk keys differ from chunks_raw; read from the table")
                keys = stored
                got = cache.gather(keys, mint, maxt, count=False)
            ts, vs, counts = codec.decode_many([rows[i][1] for i in got.missing])
            cache.put([keys[i] for i in got.missing], ts, vs, counts)
            got = cache.gather(keys, mint, maxt, count=False)
            if got.missing:  # more than the cache holds: decode them all, uncached
                ts, vs, counts = codec.decode_many([data for _, data in rows])
                return [key[0] for key in keys], ts, vs, counts.tolist()
        return [key[0] for key in keys], got.timestamps, got.values, got.counts.tolist()

    def _tier_for(self, hints: SelectHints | None, mint: int, maxt: int) -> Tier | None:
        """The downsampled tier to answer from, or None for raw samples.

        Only a select whose hints carry a step (a range query) may be answered from a tier:
        the coarsest one that answers it as raw samples would (its evaluation times on bucket
        boundaries, a range of enough whole buckets for the function) and that still covers
        the range's start, else, once raw data has expired, the finest one still holding it
        (``downsample.choose_tier``). Without a step the answer is always raw. Unless
        ``options.coarse_step_tiers`` is set, a range still covered by raw retention is read
        raw too: today a tier row (five columns, decoded one by one) costs more to read than
        the raw chunks it summarises, so tiers serve the ranges raw data no longer holds.
        """
        if hints is None or not hints.step_ms:
            return None
        options = self._db.options
        now = self._db.clock()
        if not options.coarse_step_tiers and now - options.raw_retention_ms <= mint:
            return None
        tiers = tiers_of(options)
        choice = choose_tier(
            mint,
            maxt,
            hints.step_ms,
            now,
            tiers,
            range_ms=hints.range_ms,
            func=hints.func,
        )
        return choice.tier if choice.tier.bucket_ms else None

    def _read_tier(
        self, tier: Tier, sids: Sequence[int], mint: int, maxt: int, func: str | None
    ) -> list[_Points]:
        """Each of ``sids`` from ``tier``, one point per bucket valued for ``func`` with the
        bucket's sample count; buckets that raw data still holds (the newest, not yet
        aggregated) are computed from it."""
        stored = read_tier(
            self._conn_(),
            self._codec_(),
            tier.name,
            sids,
            mint,
            maxt,
            range_ms=self._db.options.chunk_range_ms,
        )
        out: list[_Points] = []
        for sid, (raw_ts, raw_vs) in zip(sids, self._read_many(sids, mint, maxt), strict=True):
            old = stored.get(sid)
            if len(raw_ts):
                combined = overlay(old, downsample(raw_ts, raw_vs, tier.bucket_ms))
            else:
                combined = old if old is not None else Aggregates.empty()
            out.append(reconstruct(combined, func))
        return out

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
        for part in self.select_sets(matchers, hints):
            yield from part.series()

    def select_sets(
        self, matchers: Sequence[Matcher], hints: SelectHints | None = None
    ) -> Iterator[SeriesSet]:
        """``select`` in groups of up to ``_BATCH`` series, each read in one go."""
        self._db.check_open()
        mint, maxt = self._bounds(hints)
        limit = hints.limit if hints is not None else None
        if mint > maxt or limit == 0:
            return
        tier = self._tier_for(hints, mint, maxt)
        # An instant selector reads ``last`` whatever function encloses it (a subquery's).
        func = hints.func if hints is not None and hints.range_ms is not None else None
        matching = self._matching(matchers)
        window_keys = self._window_keys(len(matching), mint, maxt) if tier is None else None
        emitted = 0
        for lo in range(0, len(matching), _BATCH):
            batch = matching[lo : lo + _BATCH]
            sids = [sid for _, sid in batch]
            part: SeriesSet
            if tier is None:
                ts, vs, at = self._pieces(sids, mint, maxt, window_keys).joined(mint, maxt)
                nonempty = np.flatnonzero(at[1:] > at[:-1])
                part = SeriesSet(
                    [batch[i][0] for i in nonempty.tolist()], ts, vs, at[nonempty], at[nonempty + 1]
                )
            else:
                found = self._read_tier(tier, sids, mint, maxt, func)
                part = SeriesSet.of(
                    [Series(lbl, t, v, c) for (lbl, _), (t, v, c) in zip(batch, found, strict=True)]
                )
            if limit is not None and emitted + len(part) >= limit:
                yield part.head(limit - emitted)
                return
            emitted += len(part)
            if len(part):
                yield part

    def label_names(self, matchers: Sequence[Matcher] = ()) -> list[str]:
        """Sorted label names of matching series with samples in range.

        A series counts iff it has a sample within the querier's bounds in this snapshot:
        in the head, in a raw chunk, or, once raw chunks have expired, as a bucket of a
        downsampled tier (``chunks_1m``, ``chunks_5m``) whose timestamp lies in range (it is
        still queryable from there, so its labels are still listed). Answered from the index
        and the bounds of blocks and chunks, decoding only those that straddle the range
        (``lookup.LabelLookup``)."""
        return self._lookup().names(matchers)

    def label_values(self, name: str, matchers: Sequence[Matcher] = ()) -> list[str]:
        """Sorted distinct values of ``name`` among matching series with samples in range
        (what counts as in range: ``label_names``)."""
        return self._lookup().values(name, matchers)

    def series_labels(self, matchers: Sequence[Matcher]) -> list[Labels]:
        """Sorted label sets of matching series with samples in range (what counts as in
        range: ``label_names``)."""
        return self._lookup().series(matchers)

    def _lookup(self) -> LabelLookup:
        self._db.check_open()
        return LabelLookup(
            self._db,
            self._conn,
            self._snap,
            self._flushed_before,
            (self._mint, self._maxt),
            codec=self._codec_,
        )

    def close(self) -> None:
        """End the read transaction and release the snapshot. Idempotent."""
        if self._conn is not None:
            self._release(self)
            self._conn = None

    def __enter__(self) -> Querier:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
