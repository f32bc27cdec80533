"""Label names and values of the series present in a querier's range, answered from the index
and from bounds the engine keeps, decoding a chunk only where its bounds cannot tell
(docs/storage.md, "Read path").

A series counts iff it matches the matchers and has a sample within ``[mint, maxt]`` in the
querier's snapshot: in the head (closed blocks, open block, out-of-order samples), in a raw
chunk, or, once raw chunks have expired, as a bucket of a downsampled tier (``chunks_1m``,
``chunks_5m``) whose timestamp (the bucket's last raw sample) lies in the range, as a select
over that tier would return it. The series are grouped by what is asked (a label's value, or
a label name); one present series answers for its whole group, so most groups cost one check.

Evidence, cheapest first, per series:

- head (under the head lock, ``head.presence``): the open block by bisect on its offsets, the
  out-of-order samples by their keys, a closed block by its first and last timestamp;
- raw chunks (one statement per round): ``mint`` and ``maxt`` of a row are its first and last
  samples, so a row with either in the range proves it, found through the primary key
  ``(series_id, mint)``; a row lies inside one ``chunk_range_ms`` window, so its ``mint`` is
  above ``mint - chunk_range_ms`` if it reaches ``mint``;
- tiers: a tier row's buckets all lie inside its raw row's window, so a row of a window wholly
  inside the range proves it (its ``mint``/``maxt`` do not bound the buckets: a backfill after
  the raw row expired keeps the stored buckets beside the new ones).

Only a block or chunk that starts before ``mint`` and ends after ``maxt`` (a range narrower than
the block), or a tier row of a window the range cuts, is decoded, and only for series still
undecided. Series of undecided groups are checked in rounds of growing size (1, 8, 64, ...
per group), each round's SQL in one statement for all groups, so a group whose first series is
present costs one check and a group with no present series costs a few statements.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Final

import numpy as np
import numpy.typing as npt

from multimonx.model import Labels, Matcher
from multimonx.storage.interface import MIN_TIME_MS
from multimonx.storage.tsdb.chunkenc import ChunkCodec
from multimonx.storage.tsdb.chunks import window_bounds
from multimonx.storage.tsdb.head import BLOCK_PREFIX, Doubt, Snapshot, decode_block, presence
from multimonx.storage.tsdb.tiers import tiers_of
from multimonx.storage.tsdb.usage import TIER_TABLES

if TYPE_CHECKING:
    from multimonx.storage.tsdb.db import TSDB

_Ids = npt.NDArray[np.int64]

_GROWTH: Final = 8
"""Each round checks this many times more series per undecided group than the one before."""
_LOCK_SLICE: Final = 4096
"""Ids looked at per hold of the head lock."""
_ALL: Final = 2**62
"""A limit on samples per chunk that keeps them all."""
_SPARSE: Final = 8
"""Matchers choosing fewer series than this many times fewer than the postings to walk: the
chosen series are grouped by their own label sets instead."""

_RAW_PROOF: Final = (
    "SELECT j.value FROM json_each(?) j WHERE EXISTS (SELECT 1 FROM chunks_raw c "
    "WHERE c.series_id = j.value AND c.mint >= ? AND c.mint <= ? AND c.maxt >= ? "
    "AND (c.mint >= ? OR c.maxt <= ?))"
)
"""Series with a raw chunk whose first or last sample lies in the range."""
_RAW_DOUBT: Final = (
    "SELECT series_id, data FROM chunks_raw WHERE series_id IN (SELECT value FROM json_each(?)) "
    "AND mint >= ? AND mint < ? AND maxt > ?"
)
"""Raw chunks that start before the range and end after it."""
_TIER_PROOF: Final = (
    "SELECT j.value FROM json_each(?) j WHERE EXISTS (SELECT 1 FROM TABLE c "
    "WHERE c.series_id = j.value AND c.mint >= ? AND c.mint <= ?)"
)
"""Series with a tier row of a window wholly inside the range."""
_TIER_EDGE: Final = (
    "SELECT series_id, data FROM TABLE WHERE series_id IN (SELECT value FROM json_each(?)) "
    "AND mint >= ? AND mint <= ?"
)
"""Tier rows of a window the range cuts."""


@dataclass(slots=True)
class _Group:
    """The series of one key (a label value, or a label name) still to check: id sequences
    (postings of the engine's index, read under the head lock only, or a list of their own)
    and a cursor into them. Ids at or above the snapshot's series count, or not chosen by the
    matchers, are skipped on the way."""

    parts: list[Sequence[int]]
    part: int = 0
    at: int = 0

    def exhausted(self) -> bool:
        """Whether every id was taken (read under the head lock when parts are postings)."""
        return self.part >= len(self.parts)

    def next_id(self, limit: int, chosen: bytes | None) -> int:
        """The next id below ``limit`` that ``chosen`` (a mask, None: all) holds, or -1 once
        every id was taken."""
        parts, part, at = self.parts, self.part, self.at
        sid = -1
        while part < len(parts):
            ids = parts[part]
            if at >= len(ids):
                part += 1
                at = 0
                continue
            sid = ids[at]
            at += 1
            if sid < limit and (chosen is None or chosen[sid]):
                break
            sid = -1
        self.part, self.at = part, at
        return sid


class LabelLookup:
    """Label names and values of the series a querier's snapshot holds within its range.

    Built per call by the querier from what it holds: the engine (its head, index and head
    lock), the read transaction on ``chunks.db`` (None once closed: the head alone answers,
    as a select would), the head snapshot, the flushed boundary taken with it, the range
    (inclusive, ms) and the querier's codec factory (one codec per thread).
    """

    __slots__ = (
        "_chosen",
        "_codec",
        "_conn",
        "_db",
        "_disk",
        "_flushed_before",
        "_maxt",
        "_mint",
        "_snap",
    )

    def __init__(
        self,
        db: TSDB,
        conn: sqlite3.Connection | None,
        snap: Snapshot,
        flushed_before: int,
        bounds: tuple[int, int],
        *,
        codec: Callable[[], ChunkCodec],
    ) -> None:
        self._db = db
        self._conn = conn
        self._snap = snap
        self._flushed_before = flushed_before
        self._mint, self._maxt = bounds
        self._codec = codec
        # Chunks and tier rows hold only samples older than the flushed boundary.
        self._disk = conn is not None and self._mint < flushed_before
        self._chosen: bytes | None = None  # per id: 1 if the matchers chose it (None: all)

    def names(self, matchers: Sequence[Matcher] = ()) -> list[str]:
        """Sorted label names of the matching series with a sample in range."""
        if self._mint > self._maxt:
            return []
        index, limit = self._db.index, self._snap.n_series
        groups: dict[str, _Group] = {}
        with self._db.head_lock:
            cands = self._candidates(matchers)
            if cands is None or len(cands) * _SPARSE > limit:
                for name, by_value in index.postings.items():
                    groups[name] = _Group(list(by_value.values()))
            else:  # few series chosen: their own label sets are cheaper than the postings
                self._chosen = None
                labels = index.labels
                by_name: dict[str, list[int]] = {}
                for sid in cands:
                    lbl = labels[sid]
                    for name, _ in lbl.pairs if lbl is not None else ():
                        by_name.setdefault(name, []).append(sid)
                groups = {name: _Group([sids]) for name, sids in by_name.items()}
        return sorted(self._present(groups))

    def values(self, name: str, matchers: Sequence[Matcher] = ()) -> list[str]:
        """Sorted distinct values of label ``name`` among the matching series with a sample in
        range."""
        if self._mint > self._maxt:
            return []
        index = self._db.index
        groups: dict[str, _Group] = {}
        with self._db.head_lock:
            by_value = index.postings.get(name)
            if not by_value:
                return []
            cands = self._candidates(matchers)
            if cands is None or len(cands) > _SPARSE * len(by_value):
                groups = {value: _Group([ids]) for value, ids in by_value.items()}
            else:  # few series chosen for so many values: group them by their own labels
                self._chosen = None
                labels = index.labels
                by_own: dict[str, list[int]] = {}
                for sid in cands:
                    lbl = labels[sid]
                    value = _value_of(lbl.pairs, name) if lbl is not None else None
                    if value is not None:
                        by_own.setdefault(value, []).append(sid)
                groups = {value: _Group([sids]) for value, sids in by_own.items()}
        return sorted(self._present(groups))

    def series(self, matchers: Sequence[Matcher]) -> list[Labels]:
        """Sorted label sets of the matching series with a sample in range (each series its
        own group)."""
        if self._mint > self._maxt:
            return []
        index = self._db.index
        with self._db.head_lock:
            cands = self._candidates(matchers)
            self._chosen = None
            labels = index.labels
            if cands is None:
                cands = [sid for sid in range(self._snap.n_series) if labels[sid] is not None]
            own = {str(sid): lbl for sid in cands if (lbl := labels[sid]) is not None}
        groups = {key: _Group([[int(key)]]) for key in own}
        return sorted(own[key] for key in self._present(groups))

    def _candidates(self, matchers: Sequence[Matcher]) -> list[int] | None:
        """The ids the matchers choose (also kept as ``_chosen``, a mask), or None when every
        series is chosen (no matchers). The caller holds the head lock."""
        if not matchers:
            return None
        limit = self._snap.n_series
        cands: list[int] = self._db.index.candidates(matchers, limit)
        mask = np.zeros(limit, dtype=np.uint8)
        mask[np.asarray(cands, dtype=np.int64)] = 1
        self._chosen = mask.tobytes()
        return cands

    def _present(self, groups: dict[str, _Group]) -> set[str]:
        """The keys of ``groups`` with at least one series present in range."""
        found: set[str] = set()
        proven: set[int] = set()  # series with a sample in range
        settled: set[int] = set()  # series without one
        doubts: dict[int, list[Doubt]] = {}
        pending = list(groups)
        size = 1
        while pending:
            picked = self._pick(groups, pending, size, (found, proven, settled), doubts)
            batch = sorted({sid for sids in picked.values() for sid in sids})
            here = self._settle(batch, doubts)
            proven.update(here)
            settled.update(sid for sid in batch if sid not in here)
            for sids in picked.values():
                for sid in sids:
                    doubts.pop(sid, None)
            left = []
            for key in pending:
                if key in found:
                    continue
                if any(sid in here for sid in picked.get(key, ())):
                    found.add(key)
                elif key in picked:  # may have more (the cursor tells under the lock)
                    left.append(key)
            pending = left
            size *= _GROWTH
        return found

    def _pick(
        self,
        groups: dict[str, _Group],
        pending: Sequence[str],
        size: int,
        state: tuple[set[str], set[int], set[int]],
        doubts: dict[int, list[Doubt]],
    ) -> dict[str, list[int]]:
        """Per pending group, its next ``size`` series the head cannot decide (moving its
        cursor), stopping at one the head proves present: the group is then found. A group
        not in the result has none left. Series the head rules out are settled at once when
        nothing else could hold them (no disk lookups)."""
        found, proven, settled = state
        db, snap, mint, maxt = self._db, self._snap, self._mint, self._maxt
        head, lock, limit, chosen = db.head, db.head_lock, snap.n_series, self._chosen
        picked: dict[str, list[int]] = {}
        waiting: set[int] = set()  # picked this round (by another group)
        steps = 0
        lock.acquire()
        try:
            for key in pending:
                group = groups[key]
                mine: list[int] = []
                while len(mine) < size and (sid := group.next_id(limit, chosen)) >= 0:
                    steps += 1
                    if steps % _LOCK_SLICE == 0:
                        lock.release()
                        lock.acquire()
                    if sid in proven:
                        found.add(key)
                        break
                    if sid in settled:
                        continue
                    if sid in waiting:
                        mine.append(sid)
                        continue
                    here, doubt = presence(head, snap, sid, mint, maxt)
                    if here:
                        proven.add(sid)
                        found.add(key)
                        break
                    if not doubt and not self._disk:
                        settled.add(sid)
                        continue
                    if doubt:
                        doubts[sid] = doubt
                    waiting.add(sid)
                    mine.append(sid)
                if key not in found and (mine or not group.exhausted()):
                    picked[key] = mine
        finally:
            lock.release()
        return picked

    def _settle(self, batch: Sequence[int], doubts: dict[int, list[Doubt]]) -> set[int]:
        """Which of ``batch`` (series the head could not prove present) have a sample in
        range: their doubtful head blocks decoded, then raw chunks, then tier rows."""
        if not batch:
            return set()
        mint, maxt = self._mint, self._maxt
        proven: set[int] = set()
        owners: list[int] = []
        blobs: list[bytes] = []
        limits: list[int] = []
        for sid in batch:
            for block, n in doubts.get(sid, ()):
                if isinstance(block, bytes):
                    owners.append(sid)
                    blobs.append(block)
                    limits.append(_ALL if n is None else n)
                else:  # sealed, not encoded yet (rare): its arrays
                    ts = decode_block(self._codec(), block)[0]
                    if _any_within(ts if n is None else ts[:n], mint, maxt):
                        proven.add(sid)
        if blobs:
            proven.update(self._holding(owners, blobs, limits, skip=BLOCK_PREFIX))
        if not self._disk:
            return proven
        rest = [sid for sid in batch if sid not in proven]
        for step in (self._raw_proof, self._raw_doubt, self._tier_proof, self._tier_edges):
            if not rest:
                break
            here = step(rest)
            proven.update(here)
            rest = [sid for sid in rest if sid not in here]
        return proven

    def _conn_(self) -> sqlite3.Connection:
        conn = self._conn
        if conn is None:
            raise AssertionError("no read transaction: disk lookups are off")
        return conn

    def _raw_proof(self, sids: Sequence[int]) -> set[int]:
        mint, maxt = self._mint, self._maxt
        low = max(mint - self._db.options.chunk_range_ms + 1, MIN_TIME_MS)
        rows = self._conn_().execute(_RAW_PROOF, (json.dumps(sids), low, maxt, mint, mint, maxt))
        return {int(sid) for (sid,) in rows}

    def _raw_doubt(self, sids: Sequence[int]) -> set[int]:
        """Raw chunks holding the whole range strictly inside: only when the range lies in
        one window, at most one per series."""
        mint, maxt = self._mint, self._maxt
        range_ms = self._db.options.chunk_range_ms
        if window_bounds(mint, range_ms) != window_bounds(maxt, range_ms):
            return set()
        low = max(mint - range_ms + 1, MIN_TIME_MS)
        rows = self._conn_().execute(_RAW_DOUBT, (json.dumps(sids), low, mint, maxt)).fetchall()
        if not rows:
            return set()
        return self._holding([int(r[0]) for r in rows], [r[1] for r in rows], [_ALL] * len(rows))

    def _holding(
        self, owners: Sequence[int], blobs: Sequence[bytes], limits: Sequence[int], *, skip: int = 0
    ) -> set[int]:
        """The owners of the chunks (``ChunkCodec.encode`` output, ``skip`` bytes in) holding a
        timestamp in range among their first ``limits`` samples, decoded in one pass."""
        ts, _, counts = self._codec().decode_many(blobs, skip=skip)
        starts = np.zeros(len(counts), dtype=np.int64)
        np.cumsum(counts[:-1], out=starts[1:])
        ends = starts + np.minimum(counts, np.asarray(limits, dtype=np.int64))
        inside = np.zeros(len(ts) + 1, dtype=np.int64)
        np.cumsum((ts >= self._mint) & (ts <= self._maxt), out=inside[1:])
        hit = (inside[ends] > inside[starts]).tolist()
        return {owner for owner, h in zip(owners, hit, strict=True) if h}

    def _tier_tables(self) -> list[str]:
        return [TIER_TABLES[t.name] for t in tiers_of(self._db.options) if t.bucket_ms]

    def _tier_proof(self, sids: Sequence[int]) -> set[int]:
        mint, maxt = self._mint, self._maxt
        range_ms = self._db.options.chunk_range_ms
        first_start, first_end = window_bounds(mint, range_ms)
        last_start, last_end = window_bounds(maxt, range_ms)
        lo = mint if first_start == mint else first_end + 1  # the first whole window's start
        hi = maxt if last_end == maxt else last_start - 1  # the last whole window's end
        if lo > hi:
            return set()
        conn = self._conn_()
        ids = json.dumps(sids)
        proven: set[int] = set()
        for table in self._tier_tables():
            rows = conn.execute(_TIER_PROOF.replace("TABLE", table), (ids, lo, hi))
            proven.update(int(sid) for (sid,) in rows)
        return proven

    def _tier_edges(self, sids: Sequence[int]) -> set[int]:
        """Tier rows of the windows holding ``mint`` and ``maxt`` when the range cuts them:
        their bucket timestamps decoded."""
        mint, maxt = self._mint, self._maxt
        range_ms = self._db.options.chunk_range_ms
        edges = {
            bounds
            for bounds in (window_bounds(mint, range_ms), window_bounds(maxt, range_ms))
            if bounds[0] < mint or bounds[1] > maxt
        }
        if not edges:
            return set()
        conn = self._conn_()
        codec = self._codec()
        ids = json.dumps(sids)
        proven: set[int] = set()
        for table in self._tier_tables():
            for start, end in sorted(edges):
                rows = conn.execute(_TIER_EDGE.replace("TABLE", table), (ids, start, end))
                proven.update(
                    int(sid)
                    for sid, data in rows
                    if _any_within(codec.decode_columns(data)[0], mint, maxt)
                )
        return proven


def _any_within(ts: _Ids, mint: int, maxt: int) -> bool:
    """Whether sorted timestamps ``ts`` hold one within ``[mint, maxt]``."""
    i = int(np.searchsorted(ts, mint))
    return i < len(ts) and int(ts[i]) <= maxt


def _value_of(pairs: Sequence[tuple[str, str]], name: str) -> str | None:
    for n, v in pairs:
        if n == name:
            return v
    return None


__all__ = ["LabelLookup"]
