"""The decoded-chunk cache: chunks come back trimmed to the asked range and exactly as put,
through any sequence of puts that wraps the ring; the oldest go first, and the byte budget
(samples and entries) holds."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from multimonx.storage.tsdb import chunkcache
from multimonx.storage.tsdb.chunkcache import ENTRY_BYTES, SAMPLE_BYTES, ChunkCache

Chunk = tuple[npt.NDArray[np.int64], npt.NDArray[np.float64]]


def chunk(n: int, start: int = 0, step: int = 10) -> Chunk:
    ts = start + step * np.arange(n, dtype=np.int64)
    return ts, ts.astype(np.float64) / 7


def put(cache: ChunkCache, keys: list[tuple[int, int, int, int]], chunks: list[Chunk]) -> None:
    cache.put(
        keys,
        np.concatenate([t for t, _ in chunks]),
        np.concatenate([v for _, v in chunks]),
        np.array([len(t) for t, _ in chunks], dtype=np.int64),
    )


def key(sid: int, c: Chunk) -> tuple[int, int, int, int]:
    return sid, int(c[0][0]), int(c[0][-1]), len(c[0])


def test_oldest_go_first_and_counters() -> None:
    cache = ChunkCache(3 * 100 * SAMPLE_BYTES)  # room for three chunks of 100 samples
    chunks = [chunk(100, start=1000 * sid) for sid in range(4)]
    keys = [key(sid, c) for sid, c in enumerate(chunks)]
    put(cache, keys[:3], chunks[:3])
    assert cache.gather(keys, -(2**63), 2**63 - 1).missing == [3]
    got = cache.gather(keys[:3], -(2**63), 2**63 - 1)
    assert got.missing == []
    assert got.counts.tolist() == [100, 100, 100]
    assert got.timestamps.tolist() == np.concatenate([t for t, _ in chunks[:3]]).tolist()
    put(cache, keys[3:], chunks[3:])  # wraps over the oldest
    assert cache.gather(keys, -(2**63), 2**63 - 1).missing == [0]
    stats = cache.stats()
    assert (stats.entries, stats.bytes) == (3, 3 * 100 * SAMPLE_BYTES)
    assert (stats.hits, stats.misses) == (3 + 3 + 3, 1 + 1)


def test_gather_trims_each_chunk_to_the_range() -> None:
    cache = ChunkCache(2**20)
    a, b, c = chunk(10, 0), chunk(10, 200), chunk(3, 500, 100)  # 0..90, 200..290, 500|600|700
    keys = [key(1, a), key(1, b), key(2, c)]
    put(cache, keys, [a, b, c])
    got = cache.gather(keys, 85, 205)
    assert got.counts.tolist() == [1, 1, 0]
    assert got.timestamps.tolist() == [90, 200]
    assert got.values.tolist() == [90 / 7, 200 / 7]
    got = cache.gather(keys, 610, 690)  # inside a gap of c
    assert got.counts.tolist() == [0, 0, 0]
    assert cache.gather(keys, 0, 90).counts.tolist() == [10, 0, 0]


@settings(max_examples=150, deadline=None)
@given(
    st.lists(
        st.lists(st.integers(-50, 50), min_size=1, max_size=40, unique=True),
        min_size=1,
        max_size=12,
    ),
    st.integers(-60, 60),
    st.integers(-60, 60),
)
def test_gather_equals_a_mask_per_chunk(stamps: list[list[int]], mint: int, maxt: int) -> None:
    cache = ChunkCache(2**20)
    chunks = [
        (np.array(sorted(s), dtype=np.int64), np.arange(len(s), dtype=np.float64)) for s in stamps
    ]
    keys = [key(sid, c) for sid, c in enumerate(chunks)]
    put(cache, keys, chunks)
    want = [(t[(t >= mint) & (t <= maxt)], v[(t >= mint) & (t <= maxt)]) for t, v in chunks]
    saved = chunkcache._SEARCH_ONE_BY_ONE
    try:
        for one_by_one in (0, saved):  # all runs searched at once, then each alone
            chunkcache._SEARCH_ONE_BY_ONE = one_by_one
            got = cache.gather(keys, mint, maxt)
            assert got.counts.tolist() == [len(t) for t, _ in want]
            assert got.timestamps.tolist() == [x for t, _ in want for x in t.tolist()]
            assert got.values.tolist() == [x for _, v in want for x in v.tolist()]
    finally:
        chunkcache._SEARCH_ONE_BY_ONE = saved


@settings(max_examples=100, deadline=None)
@given(st.lists(st.lists(st.integers(1, 300), min_size=1, max_size=5), min_size=1, max_size=40))
def test_what_is_held_is_exactly_what_was_put(batches: list[list[int]]) -> None:
    """Puts of varied sizes wrap the ring many times: every chunk still held comes back as
    it was put, the latest batch is always held, and the budget holds."""
    cache = ChunkCache(1024 * SAMPLE_BYTES)  # 1,024 samples, 16 entries
    put_so_far: dict[tuple[int, int, int, int], Chunk] = {}
    sid = 0
    for sizes in batches:
        chunks = [chunk(n, start=1000 * (sid + i)) for i, n in enumerate(sizes)]
        keys = [key(sid + i, c) for i, c in enumerate(chunks)]
        sid += len(sizes)
        put(cache, keys, chunks)
        put_so_far.update(zip(keys, chunks, strict=True))
        if sum(sizes) <= 1024:
            assert cache.gather(keys, -(2**63), 2**63 - 1, count=False).missing == []
        held = [k for k in put_so_far if not cache.gather([k], 0, 2**62, count=False).missing]
        for k in held:
            got = cache.gather([k], -(2**63), 2**63 - 1, count=False)
            t, v = put_so_far[k]
            assert got.timestamps.tolist() == t.tolist()
            assert got.values.tolist() == v.tolist()
        assert cache.stats().bytes <= 1024 * SAMPLE_BYTES
        assert cache.stats().entries == len(held)


def test_entries_are_bounded_too() -> None:
    cache = ChunkCache(4 * ENTRY_BYTES)
    chunks = [chunk(1, start=sid) for sid in range(10)]
    put(cache, [key(sid, c) for sid, c in enumerate(chunks)], chunks)
    assert cache.stats().entries == 4
    assert cache.gather([key(9, chunks[9])], 0, 100).missing == []


def test_a_batch_larger_than_the_cache_is_not_kept() -> None:
    cache = ChunkCache(10 * SAMPLE_BYTES)
    big = chunk(11)
    put(cache, [key(1, big)], [big])
    assert cache.gather([key(1, big)], 0, 1000).missing == [0]
    assert cache.stats().entries == 0


def test_clear_and_a_zero_budget() -> None:
    cache = ChunkCache(2**20)
    c = chunk(5)
    put(cache, [key(1, c)], [c])
    cache.clear()
    assert cache.gather([key(1, c)], 0, 100).missing == [0]
    off = ChunkCache(0)
    put(off, [key(1, c)], [c])
    assert off.gather([key(1, c)], 0, 100).missing == [0]
    assert off.stats().entries == 0
    with pytest.raises(ValueError, match="negative"):
        ChunkCache(-1)
