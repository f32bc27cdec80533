"""Decoded raw chunks kept for the next query (docs/storage.md, "Read path").

Dashboards ask the same questions every few seconds, and a chunk on disk never changes: a
flush that merges late samples into a window deletes the window's rows and writes a new one
with more samples. So a chunk is known by ``(series id, mint, maxt, count)``, and its decoded
timestamps and values can be kept and handed out again instead of decompressing and
decoding it once per query. The cache holds at most ``max_bytes`` of arrays and drops the
least recently used first; it is shared by the queriers of one TSDB (thread-safe).
"""

from __future__ import annotations

import collections
import itertools
import threading
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from multimonx.storage.tsdb.chunks import ChunkKey

Decoded = tuple[npt.NDArray[np.int64], npt.NDArray[np.float64]]

_ENTRY_OVERHEAD = 400
"""Bytes an entry costs beyond its samples (key tuple, array headers, dict slot)."""


@dataclass(frozen=True, slots=True)
class ChunkCacheStats:
    """Counters since open, for the server's own /metrics."""

    hits: int
    misses: int
    entries: int
    bytes: int


class ChunkCache:
    """A byte-bounded LRU map from ``ChunkKey`` to the chunk's decoded samples (read-only
    arrays). ``max_bytes == 0`` turns it off."""

    def __init__(self, max_bytes: int) -> None:
        if max_bytes < 0:
            raise ValueError("max_bytes must not be negative")
        self.max_bytes = max_bytes
        self._entries: OrderedDict[ChunkKey, Decoded] = OrderedDict()
        self._bytes = 0
        self._hits = 0
        self._misses = 0
        self._lock = threading.Lock()

    def get_many(self, keys: Sequence[ChunkKey]) -> list[Decoded | None]:
        """The cached samples of each key (None where not cached); hits become the most
        recently used."""
        if not self.max_bytes:
            return [None] * len(keys)
        with self._lock:
            entries = self._entries
            found: list[Decoded | None] = list(map(entries.get, keys))
            misses = found.count(None)
            # C-level loops: a fleet-wide select looks up tens of thousands of chunks
            collections.deque(map(entries.move_to_end, itertools.compress(keys, found)), 0)
            self._hits += len(keys) - misses
            self._misses += misses
        return found

    def put_many(self, keys: Sequence[ChunkKey], decoded: Sequence[Decoded]) -> None:
        """Keep the samples of each key (arrays the cache owns from now on: made read-only),
        then drop the least recently used entries beyond ``max_bytes``."""
        if not self.max_bytes:
            return
        with self._lock:
            entries = self._entries
            for key, (ts, vs) in zip(keys, decoded, strict=True):
                if key in entries:
                    continue
                ts.flags.writeable = False
                vs.flags.writeable = False
                entries[key] = (ts, vs)
                self._bytes += ts.nbytes + vs.nbytes + _ENTRY_OVERHEAD
            while self._bytes > self.max_bytes and entries:
                _, (ts, vs) = entries.popitem(last=False)
                self._bytes -= ts.nbytes + vs.nbytes + _ENTRY_OVERHEAD

    def clear(self) -> None:
        """Drop every entry (the counters stay)."""
        with self._lock:
            self._entries.clear()
            self._bytes = 0

    def stats(self) -> ChunkCacheStats:
        """Hits, misses and size."""
        with self._lock:
            return ChunkCacheStats(self._hits, self._misses, len(self._entries), self._bytes)
