"""The compressed head: closed blocks as blobs, the open block as arrays (docs/storage.md,
"Head"). Small block sizes make every path (sealing, lookups in blobs, snapshots across seals,
flushes and replay of blocks) run on a few samples."""

from __future__ import annotations

import struct
from array import array
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from multimonx.model import Labels, Matcher
from multimonx.storage import MAX_TIME_MS, MIN_TIME_MS, AppendResult
from multimonx.storage.journal import JournalSync
from multimonx.storage.tsdb import TSDB, TSDBOptions
from multimonx.storage.tsdb.head import OpenParts

RANGE = 10_000
OPTS = TSDBOptions(chunk_range_ms=RANGE, flush_delay_ms=1_000, log_sync=JournalSync.NORMAL)
ALL = [Matcher.of("__name__", "=~", ".+")]
Model = dict[Labels, dict[int, int]]


def L(i: int) -> Labels:
    return Labels.of({"__name__": "m", "i": str(i)})


def bits(v: float) -> int:
    return int(struct.unpack("<Q", struct.pack("<d", v))[0])


def commit(db: TSDB, samples: list[tuple[Labels, int, float]]) -> AppendResult:
    app = db.appender()
    for labels, t, v in samples:
        app.append(labels, t, v)
    return app.commit()


def expect(model: Model, samples: list[tuple[Labels, int, float]]) -> AppendResult:
    """What a commit must report, applied to the model (first value wins)."""
    appended = dup = conf = 0
    for labels, t, v in samples:
        series = model.setdefault(labels, {})
        old = series.get(t)
        if old is None:
            series[t] = bits(v)
            appended += 1
        elif old == bits(v):
            dup += 1
        else:
            conf += 1
    return AppendResult(appended, dup, conf)


def dump(db: TSDB, mint: int = MIN_TIME_MS, maxt: int = MAX_TIME_MS) -> Model:
    with db.querier(mint, maxt) as q:
        return {
            s.labels: dict(zip(s.timestamps.tolist(), s.values.view("<u8").tolist(), strict=True))
            for s in q.select(ALL)
        }


def open_db(path: Path, block_size: int) -> TSDB:
    db = TSDB.open(path, options=OPTS)
    db.head.block_size = block_size  # the seam: tiny blocks seal often
    return db


def crash(db: TSDB) -> None:
    """Drop the object without the final flush of close()."""
    db._log.close()
    db._writer.close()
    db._readers.close()
    db._closed = True


@pytest.mark.parametrize("block_size", [1, 3, 8, 120])
@pytest.mark.parametrize("flush_every", [0, 4])
def test_random_batches_match_a_model(tmp_path: Path, block_size: int, flush_every: int) -> None:
    rng = np.random.default_rng(block_size * 10 + flush_every)
    db = open_db(tmp_path, block_size)
    model: Model = {}
    now = 0
    for batch in range(24):
        now += 2_000
        samples = []
        for _ in range(60):
            i = int(rng.integers(0, 5))
            # Mostly in order near "now", some late, some repeats with equal or other values.
            t = now - int(rng.integers(0, 3_000 if rng.random() < 0.8 else 40_000))
            samples.append((L(i), max(t, 0) // 100 * 100, float(rng.integers(0, 3))))
        want = expect(model, samples)
        assert commit(db, samples) == want
        assert db.head.pending == []
        if flush_every and batch % flush_every == flush_every - 1:
            db.flush(now)
        assert dump(db) == model
    assert db.stats().samples == sum(len(s) for s in model.values())
    crash(db)
    again = open_db(tmp_path, block_size)
    assert dump(again) == model
    assert again.stats().samples == sum(len(s) for s in model.values())
    again.flush(MAX_TIME_MS)
    assert again.counters().head_samples == 0
    assert dump(again) == model
    again.close()


def test_closed_blocks_are_blobs_within_one_window(tmp_path: Path) -> None:
    db = open_db(tmp_path, 4)
    commit(db, [(L(0), t, float(t)) for t in range(0, 2 * RANGE, 1_000)])
    blocks = db.head.blocks[0]
    assert blocks is not None
    assert all(isinstance(b, bytes) for b in blocks)
    # 10 samples per window, 4 per block: 4 + 4 + 2 per window, the last block still open.
    assert len(blocks) == 5
    assert [db.head.base[0] + o for o in db.head.ts[0]] == [18_000, 19_000]
    assert db.head.ts[0].itemsize == 4  # window offsets, 4 bytes a timestamp
    assert db.counters().head_samples == 20
    db.close()


@pytest.mark.parametrize(
    ("t", "v", "expected"),
    [
        (2_000, 2.0, AppendResult(0, 1, 0)),  # inside a blob: duplicate
        (2_000, 9.0, AppendResult(0, 0, 1)),  # inside a blob: conflict
        (2_500, 9.0, AppendResult(1, 0, 0)),  # inside a blob's range, new: out of order
        (9_000, 9.0, AppendResult(0, 1, 0)),  # in the open block
        (9_000, 1.0, AppendResult(0, 0, 1)),
    ],
)
def test_late_samples_are_checked_against_blobs(
    tmp_path: Path, t: int, v: float, expected: AppendResult
) -> None:
    db = open_db(tmp_path, 4)
    commit(db, [(L(0), s, float(s // 1_000)) for s in range(0, 10_000, 1_000)])
    assert commit(db, [(L(0), t, v)]) == expected
    assert dump(db)[L(0)][t] == bits(v if expected.appended else t // 1_000)
    db.close()


def test_snapshot_is_stable_across_seals_and_flushes(tmp_path: Path) -> None:
    db = open_db(tmp_path, 3)
    commit(db, [(L(0), t, 1.0) for t in range(0, 5_000, 1_000)])  # a blob + 2 open
    q = db.querier(MIN_TIME_MS, MAX_TIME_MS)
    # Fill and seal the open block, then start new ones and move a window to disk.
    commit(db, [(L(0), t, 2.0) for t in range(5_000, 25_000, 1_000)])
    commit(db, [(L(0), 500, 3.0)])
    q2 = db.querier(MIN_TIME_MS, MAX_TIME_MS)
    db.flush(21_000)
    (series,) = q.select(ALL)
    assert series.timestamps.tolist() == list(range(0, 5_000, 1_000))
    assert series.values.tolist() == [1.0] * 5
    (series2,) = q2.select(ALL)
    assert len(series2.timestamps) == 26
    q.close()
    q2.close()
    assert db.head.retired == {}
    assert len(dump(db)[L(0)]) == 26
    db.close()


def test_range_queries_trim_blocks(tmp_path: Path) -> None:
    db = open_db(tmp_path, 4)
    commit(db, [(L(0), t, float(t)) for t in range(0, 30_000, 1_000)])
    for mint, maxt in [(2_500, 7_500), (0, 0), (29_000, 40_000), (12_000, 12_000)]:
        got = dump(db, mint, maxt).get(L(0), {})
        assert sorted(got) == [t for t in range(0, 30_000, 1_000) if mint <= t <= maxt]
    db.close()


@settings(max_examples=200)
@given(
    st.lists(
        st.tuples(
            st.sampled_from("iq"),
            st.lists(st.integers(0, 2**31 - 1), max_size=6),
            st.integers(-(2**40), 2**40),
        ),
        max_size=8,
    )
)
def test_open_parts_come_back_as_each_part_alone(
    parts: list[tuple[str, list[int], int]],
) -> None:
    opened = OpenParts()
    where = []
    for code, offsets, base in parts:
        values = array("d", [float(o) / 3 for o in offsets])
        where.append(opened.add(array(code, offsets), values, base))
    arrays = opened.arrays()
    for (code, offsets, base), (group, i) in zip(parts, where, strict=True):
        assert group == code
        ts, vs, at = arrays[code]
        assert ts[at[i] : at[i + 1]].tolist() == [o + base for o in offsets]
        assert vs[at[i] : at[i + 1]].tolist() == [float(o) / 3 for o in offsets]
