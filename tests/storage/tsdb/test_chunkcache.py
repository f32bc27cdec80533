"""The decoded-chunk cache: least recently used entries go first, the byte budget holds."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
import pytest

from multimonx.storage.tsdb.chunkcache import ChunkCache


def chunk(n: int) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.float64]]:
    return np.arange(n, dtype=np.int64), np.ones(n)


def test_hits_misses_and_least_recently_used_eviction() -> None:
    entry = 16 * 100 + 400  # two arrays of 100 samples plus the per-entry overhead
    cache = ChunkCache(3 * entry)
    keys = [(sid, 0, 99, 100) for sid in range(4)]
    cache.put_many(keys[:3], [chunk(100) for _ in range(3)])
    assert [one is not None for one in cache.get_many(keys)] == [True, True, True, False]
    cache.get_many([keys[0]])  # 0 is now the most recent: 1 goes first
    cache.put_many([keys[3]], [chunk(100)])
    assert [one is not None for one in cache.get_many(keys)] == [True, False, True, True]
    stats = cache.stats()
    assert stats.entries == 3
    assert stats.bytes == 3 * entry
    assert (stats.hits, stats.misses) == (3 + 1 + 3, 1 + 1)


def test_cached_arrays_are_read_only() -> None:
    cache = ChunkCache(2**20)
    cache.put_many([(1, 0, 9, 10)], [chunk(10)])
    found = cache.get_many([(1, 0, 9, 10)])[0]
    assert found is not None
    with pytest.raises(ValueError, match="read-only"):
        found[1][0] = 2.0


def test_a_zero_budget_turns_the_cache_off() -> None:
    cache = ChunkCache(0)
    cache.put_many([(1, 0, 9, 10)], [chunk(10)])
    assert cache.get_many([(1, 0, 9, 10)]) == [None]
    assert cache.stats().entries == 0
    with pytest.raises(ValueError, match="negative"):
        ChunkCache(-1)
