"""Decoded raw chunks kept for the next query (docs/storage.md, "Read path").

Dashboards ask the same questions every few seconds, and a chunk on disk never changes: a
flush that merges late samples into a window deletes the window's rows and writes a new one
with more samples. So a chunk is known by ``(series id, mint, maxt, count)``, and its decoded
timestamps and values can be kept and handed out again instead of decompressing and
decoding it once per query.

The samples live in two preallocated arrays used as a ring (timestamps and values), each
chunk a contiguous run, written in the order chunks were decoded and overwritten oldest
first; a map from key to position finds them. A select then takes just the samples of each
chunk that fall in its range, found by a binary search run on all its chunks at once, in one
gather: an instant query's 5-minute lookback needs a few samples of each 30-minute chunk,
and tens of thousands of small arrays, scattered over the heap, cost more to find and join
than the samples they hold. Shared by the queriers of one TSDB (thread-safe: lookups, copies
and writes hold one lock).
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np
import numpy.typing as npt

from multimonx.storage.tsdb.chunks import ChunkKey

_Ints = npt.NDArray[np.int64]
_Floats = npt.NDArray[np.float64]

SAMPLE_BYTES = 16
"""A timestamp and a value."""
ENTRY_BYTES = 1024
"""Budget per chunk for the map that finds it: the cache holds at most ``max_bytes //
ENTRY_BYTES`` chunks (the map costs about 200 bytes per chunk beside the samples)."""
_SEARCH_ONE_BY_ONE = 64
"""Runs up to which ``_search`` searches each run on its own."""
_MAX_SAMPLES = 1 << 31
"""Positions are packed with lengths into one int64 (``_pack``)."""


def _pack(at: int, length: int) -> int:
    return at << 32 | length


@dataclass(frozen=True, slots=True)
class ChunkCacheStats:
    """Counters since open, for the server's own /metrics."""

    hits: int
    misses: int
    entries: int
    bytes: int


@dataclass(frozen=True, slots=True)
class Gathered:
    """What ``ChunkCache.gather`` found: the indices of the keys not cached (then nothing
    else), or every key's samples within the range, laid end to end in key order, with each
    key's count of them."""

    missing: list[int]
    timestamps: _Ints
    values: _Floats
    counts: _Ints


class ChunkCache:
    """A byte-bounded FIFO map from ``ChunkKey`` to the chunk's decoded samples.
    ``max_bytes == 0`` turns it off."""

    def __init__(self, max_bytes: int) -> None:
        if max_bytes < 0:
            raise ValueError("max_bytes must not be negative")
        self.max_bytes = max_bytes
        self._capacity = min(max_bytes // SAMPLE_BYTES, _MAX_SAMPLES)
        self._max_entries = max_bytes // ENTRY_BYTES
        self._t: _Ints = np.empty(0, dtype=np.int64)  # allocated on the first put
        self._v: _Floats = np.empty(0, dtype=np.float64)
        self._entries: OrderedDict[ChunkKey, int] = OrderedDict()
        """Key -> packed (position, length), oldest first (ring order)."""
        self._write_at = 0
        self._samples = 0
        self._hits = 0
        self._misses = 0
        self._lock = threading.Lock()

    def gather(
        self, keys: Sequence[ChunkKey], mint: int, maxt: int, *, count: bool = True
    ) -> Gathered:
        """The samples within ``[mint, maxt]`` of each key's chunk, or the keys not cached.
        ``count``: add the lookups to the hit and miss counters."""
        empty_t, empty_v = np.empty(0, dtype=np.int64), np.empty(0, dtype=np.float64)
        if not keys:
            return Gathered([], empty_t, empty_v, np.empty(0, dtype=np.int64))
        if not self.max_bytes:
            if count:
                self._misses += len(keys)
            return Gathered(list(range(len(keys))), empty_t, empty_v, empty_t)
        with self._lock:
            found = list(map(self._entries.get, keys))
            if None in found:
                missing = [i for i, one in enumerate(found) if one is None]
                if count:
                    self._hits += len(keys) - len(missing)
                    self._misses += len(missing)
                return Gathered(missing, empty_t, empty_v, empty_t)
            if count:
                self._hits += len(keys)
            packed = np.array(found, dtype=np.int64)
            at = packed >> 32
            lo, hi = self._trim(at, packed & 0xFFFFFFFF, mint, maxt)
            counts = np.maximum(hi - lo, 0)  # an empty range (mint > maxt) gives none
            total = int(counts.sum())
            ends = np.cumsum(counts)
            index = np.repeat(at + lo - (ends - counts), counts)
            index += np.arange(total)
            return Gathered([], self._t[index], self._v[index], counts)

    def _trim(self, at: _Ints, length: _Ints, mint: int, maxt: int) -> tuple[_Ints, _Ints]:
        """For each run of ``length`` sorted timestamps from ``at``, the offsets of its first
        sample at or after ``mint`` and of its first after ``maxt`` (caller holds the lock)."""
        ts = self._t
        first, last = ts[at], ts[at + length - 1]
        return (
            self._search(at, length, mint, first >= mint, last < mint, strict=False),
            self._search(at, length, maxt, first > maxt, last <= maxt, strict=True),
        )

    def _search(
        self,
        at: _Ints,
        length: _Ints,
        bound: int,
        none_before: npt.NDArray[np.bool_],
        all_before: npt.NDArray[np.bool_],
        *,
        strict: bool,
    ) -> _Ints:
        """Per run, how many of its samples lie before ``bound`` (``<= bound`` if
        ``strict``): 0 or the whole run where the run's ends settle it, else a binary
        search run on all undecided runs at once (on each alone when they are few)."""
        out = np.where(all_before, length, 0)
        todo = np.flatnonzero(~none_before & ~all_before)
        if not len(todo):
            return out
        ts = self._t
        side: Literal["left", "right"] = "right" if strict else "left"
        if len(todo) <= _SEARCH_ONE_BY_ONE:  # a dozen numpy calls per step cost more
            for i, a, n in zip(
                todo.tolist(), at[todo].tolist(), length[todo].tolist(), strict=True
            ):
                out[i] = ts[a : a + n].searchsorted(bound, side=side)
            return out
        base = at[todo]
        lo = np.zeros(len(todo), dtype=np.int64)
        hi = length[todo].copy()
        while True:
            active = np.flatnonzero(lo < hi)
            if not len(active):
                break
            mid = (lo[active] + hi[active]) >> 1
            probe = ts[base[active] + mid]
            before = probe <= bound if strict else probe < bound
            lo[active] = np.where(before, mid + 1, lo[active])
            hi[active] = np.where(before, hi[active], mid)
        out[todo] = lo
        return out

    def put(self, keys: Sequence[ChunkKey], ts: _Ints, vs: _Floats, counts: _Ints) -> None:
        """Keep the chunks of ``keys``, decoded end to end (``counts[i]`` samples of
        ``ts``/``vs`` each), overwriting the oldest ones as needed. A batch larger than the
        whole cache is not kept."""
        total = len(ts)
        if not self.max_bytes or not total or total > self._capacity:
            return
        with self._lock:
            if not len(self._t):
                self._t = np.empty(self._capacity, dtype=np.int64)
                self._v = np.empty(self._capacity, dtype=np.float64)
            at = self._write_at
            if at + total > self._capacity:  # wrap: the runs past ``at`` go too
                self._evict(at, self._capacity)
                at = 0
            self._evict(at, at + total)
            self._t[at : at + total] = ts
            self._v[at : at + total] = vs
            entries = self._entries
            start = at
            for key, n in zip(keys, counts.tolist(), strict=True):
                if n and key not in entries:
                    entries[key] = _pack(start, n)
                    self._samples += n
                start += n
            self._write_at = at + total
            while len(entries) > self._max_entries:
                self._pop_oldest()

    def _evict(self, lo: int, hi: int) -> None:
        """Drop the oldest entries while they lie in ``[lo, hi)`` (the region about to be
        written: the oldest runs are the ones just ahead of the write position)."""
        entries = self._entries
        while entries:
            packed = next(iter(entries.values()))
            if not lo <= packed >> 32 < hi:
                break
            self._pop_oldest()

    def _pop_oldest(self) -> None:
        _, packed = self._entries.popitem(last=False)
        self._samples -= packed & 0xFFFFFFFF

    def clear(self) -> None:
        """Drop every entry (the counters stay)."""
        with self._lock:
            self._entries.clear()
            self._samples = 0
            self._write_at = 0

    def stats(self) -> ChunkCacheStats:
        """Hits, misses and size (bytes of the samples held)."""
        with self._lock:
            return ChunkCacheStats(
                self._hits, self._misses, len(self._entries), self._samples * SAMPLE_BYTES
            )
