"""The batched read path: selects over many series whose samples are split between chunks on
disk, closed head blocks, open blocks and out-of-order samples give exactly what the memory
reference gives, and the per-batch splitting handles overlaps, repeats and empty series."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import numpy.typing as npt
import pytest

from multimonx.model import Labels, Matcher
from multimonx.storage import MAX_TIME_MS, MIN_TIME_MS, MemoryStorage, Storage
from multimonx.storage.journal import JournalSync
from multimonx.storage.tsdb import TSDB, TSDBOptions
from multimonx.storage.tsdb import querier as querier_module

RANGE = 10_000
OPTS = TSDBOptions(chunk_range_ms=RANGE, flush_delay_ms=1_000, log_sync=JournalSync.NORMAL)
Dump = dict[Labels, tuple[list[int], list[int]]]


def dump(storage: Storage, mint: int, maxt: int, matchers: list[Matcher]) -> Dump:
    """Each selected series' timestamps and value bits."""
    with storage.querier(mint, maxt) as q:
        return {
            s.labels: (s.timestamps.tolist(), s.values.view(np.uint64).tolist())
            for s in q.select(matchers)
        }


def load(storages: list[Storage], rows: list[tuple[Labels, int, float]]) -> None:
    """The same samples, in the same commits of 1,000, into every storage."""
    for storage in storages:
        for lo in range(0, len(rows), 1_000):
            app = storage.appender()
            for labels, t, v in rows[lo : lo + 1_000]:
                app.append(labels, t, v)
            app.commit()


def series(i: int) -> Labels:
    return Labels.of({"__name__": f"m{i % 3}", "i": str(i)})


@pytest.mark.parametrize("batch", [1, 7, 512])
def test_selects_match_the_memory_reference(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, batch: int
) -> None:
    monkeypatch.setattr(querier_module, "_BATCH", batch)
    rng = np.random.default_rng(batch)
    n_series = 40
    tsdb = TSDB.open(tmp_path, options=OPTS)
    reference = MemoryStorage()
    try:
        # In order across four windows, with block-sized runs so the head seals blocks.
        rows = [
            (series(i), t, float(rng.integers(0, 100)) if i % 2 else float(rng.normal()))
            for t in range(0, 40_000, 100)
            for i in range(n_series)
            if rng.random() < 0.9
        ]
        load([tsdb, reference], rows)
        tsdb.flush(25_000)  # the first two windows go to disk
        # Late samples: into flushed windows (merged), into the head (out of order), repeats
        # and conflicts (the first value stays in both).
        late = [
            (series(int(rng.integers(0, n_series))), int(rng.integers(0, 40_000)), 0.5)
            for _ in range(600)
        ]
        load([tsdb, reference], late)
        matchers_list = [
            [Matcher.of("__name__", "=~", ".+")],
            [Matcher.of("__name__", "=", "m1")],
            [Matcher.of("i", "=", "5")],
        ]
        bounds = [
            (MIN_TIME_MS, MAX_TIME_MS),
            (5_050, 34_999),
            (19_999, 20_000),
            (39_950, MAX_TIME_MS),
            (50_000, 60_000),
        ]
        for matchers in matchers_list:
            for mint, maxt in bounds:
                want = dump(reference, mint, maxt, matchers)
                assert dump(tsdb, mint, maxt, matchers) == want, (matchers, mint, maxt)
    finally:
        tsdb.close()
        reference.close()


def test_pieces_split_trims_merges_and_keeps_the_first() -> None:
    pieces = querier_module._Pieces()

    def arr(
        ts: list[int], vs: list[float]
    ) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.float64]]:
        return np.array(ts, dtype=np.int64), np.array(vs, dtype=np.float64)

    shared = pieces.source(*arr([0, 1, 2, 3, 4, 5], [0, 10, 20, 30, 40, 50]))
    # Touching pieces whose overlap repeats a timestamp: the earlier piece's value wins.
    pieces.array(*arr([1, 2, 3], [1, 2, 3]))
    pieces.array(*arr([3, 4], [30, 4]))
    pieces.end_series(unsorted=False)
    pieces.end_series(unsorted=False)  # a series with nothing
    pieces.array(*arr([0, 5], [0, 5]))  # lower than the series before: fine
    pieces.end_series(unsorted=False)
    pieces.array(*arr([2, 6], [2, 6]))
    pieces.array(*arr([4, 1], [4, 1]))  # out-of-order samples
    pieces.end_series(unsorted=True)
    # Segments of one source, contiguous across two series (merged into one gather run).
    pieces.segment(shared, 1, 2)
    pieces.end_series(unsorted=False)
    pieces.segment(shared, 3, 3)
    pieces.segment(shared, 0, 0)
    pieces.end_series(unsorted=False)
    got = [(t.tolist(), v.tolist()) for t, v in pieces.split(2, 5)]
    assert got == [
        ([2, 3, 4], [2.0, 3.0, 4.0]),
        ([], []),
        ([5], [5.0]),
        ([2, 4], [2.0, 4.0]),
        ([2], [20.0]),
        ([3, 4, 5], [30.0, 40.0, 50.0]),
    ]


def test_pieces_of_empty_series_only() -> None:
    pieces = querier_module._Pieces()
    pieces.end_series(unsorted=False)
    pieces.end_series(unsorted=True)
    assert [len(t) for t, _ in pieces.split(MIN_TIME_MS, MAX_TIME_MS)] == [0, 0]


@pytest.mark.parametrize("cache_bytes", [0, 2_000, 64 * 2**20])
def test_cached_chunks_never_hide_a_merge(tmp_path: Path, cache_bytes: int) -> None:
    """Reads through the decoded-chunk cache (off, tiny: evicting all the time, roomy) give
    what the reference gives, also after late samples were merged into flushed chunks that
    earlier reads had cached."""
    options = TSDBOptions(
        chunk_range_ms=RANGE,
        flush_delay_ms=1_000,
        log_sync=JournalSync.NORMAL,
        chunk_cache_bytes=cache_bytes,
    )
    tsdb = TSDB.open(tmp_path, options=options)
    reference = MemoryStorage()
    everything = [Matcher.of("__name__", "=~", ".+")]
    try:
        load(
            [tsdb, reference],
            [(series(i), t, float(t + i)) for t in range(0, 30_000, 500) for i in range(6)],
        )
        tsdb.flush(25_000)
        for _ in range(2):  # the second read is answered from the cache
            assert dump(tsdb, 0, 30_000, everything) == dump(reference, 0, 30_000, everything)
        # late samples between the stored ones, merged into the flushed windows
        load(
            [tsdb, reference],
            [(series(i), t + 250, -1.0) for t in range(0, 20_000, 1_000) for i in range(6)],
        )
        tsdb.flush(25_000)
        assert dump(tsdb, 0, 30_000, everything) == dump(reference, 0, 30_000, everything)
        stats = tsdb.chunk_cache.stats()
        assert stats.bytes <= cache_bytes
        if cache_bytes > 2_000:
            assert stats.hits > 0
    finally:
        tsdb.close()
        reference.close()
