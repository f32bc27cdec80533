"""Startup at scale: 1,000,000 series loaded from the series table and replayed from the log
(docs/storage.md, "Faults": target under 30 s). Prints the seconds; asserts exactness only."""

from __future__ import annotations

import math
import struct
import time
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from multimonx.model import STALE_NAN, Labels, Matcher, now_ms
from multimonx.storage import StorageStats
from multimonx.storage.journal import JournalSync
from multimonx.storage.tsdb import TSDB, TSDBOptions
from multimonx.storage.tsdb.index import Index
from multimonx.storage.tsdb.record import labels_from_json, labels_from_json_many, labels_json

N = 1_000_000
BATCH = 250_000
OPTS = TSDBOptions(log_sync=JournalSync.NORMAL)
SPECIAL = {7: STALE_NAN, 8: -0.0, 9: math.inf, 10: math.nan}


def series(i: int) -> Labels:
    extra = {"note": "grüße ✓"} if i == 0 else {}
    return Labels.of(
        {"__name__": f"m_{i % 100}", "instance": f"host-{i // 100}", "job": "node", **extra}
    )


def value(i: int, k: int) -> float:
    return SPECIAL.get(i, float(i + k)) if k == 2 else float(i + k)


def bits(v: float) -> int:
    return int(struct.unpack("<Q", struct.pack("<d", v))[0])


label_sets = st.dictionaries(
    st.sampled_from(["__name__", "a", "b", "job"]), st.text(max_size=4), max_size=4
).map(Labels.of)


@given(st.lists(label_sets, max_size=12))
@settings(max_examples=100, deadline=None)
def test_bulk_parse_equals_one_by_one(sets: list[Labels]) -> None:
    texts = [labels_json(lbl) for lbl in sets]
    assert labels_from_json_many(texts) == [labels_from_json(t) for t in texts] == sets


@pytest.mark.parametrize(
    ("texts", "expected"),
    [
        (['[["a",1]]', '[["a","x"]]'], [Labels.of(a="1"), Labels.of(a="x")]),
        (['[["b","2"],["a",""]]'], [Labels.of(b="2")]),
        (['[["a","1"]],[["a","2"]]'], [Labels.of(a="1"), Labels.of(a="2")]),
    ],
)
def test_bulk_parse_falls_back_to_one_by_one(texts: list[str], expected: list[Labels]) -> None:
    if len(texts) == len(expected):
        assert labels_from_json_many(texts) == expected
    else:  # one text holding two label sets: the bulk parse notices the count
        with pytest.raises(ValueError, match="Extra data"):
            labels_from_json_many(texts)


@pytest.mark.parametrize("text", ['{"a":"1"}', '[["a","1"],["a","2"]]', "[[1,2,3]]", "oops"])
def test_bulk_parse_raises_like_one_by_one(text: str) -> None:
    with pytest.raises(ValueError, match=r".") as one:
        labels_from_json(text)
    with pytest.raises(ValueError, match=r".") as bulk:
        labels_from_json_many(['[["a","ok"]]', text])
    assert type(bulk.value) is type(one.value)
    assert str(bulk.value) == str(one.value)


@pytest.mark.parametrize(
    ("first", "then"),
    [
        ([0, 1, 2], [3, 5, 4]),  # out of order, one hole
        ([2, 4], [0, 3, 1]),  # fills holes below: postings merge
        ([], [9, 0]),
    ],
)
def test_index_load_equals_add(first: list[int], then: list[int]) -> None:
    def lbl(i: int) -> Labels:
        return Labels.of(__name__=f"m{i % 2}", i=str(i), job="j")

    added, loaded = Index(), Index()
    for sid in first + then:
        added.add(sid, lbl(sid))
    loaded.load(first, [lbl(i) for i in first])
    loaded.load(then, [lbl(i) for i in then])
    assert loaded.labels == added.labels
    assert loaded.ids == added.ids
    assert loaded.postings == added.postings


@pytest.mark.slow
@pytest.mark.timeout(1200)
def test_open_with_a_million_series_is_exact(tmp_path: Path) -> None:
    labels = [series(i) for i in range(N)]
    t0 = now_ms() - 60_000  # recent: close() flushes no window, the samples stay in the log
    db = TSDB.open(tmp_path, options=OPTS)
    for k in range(3):
        for lo in range(0, N, BATCH):
            app = db.appender()
            for i in range(lo, min(N, lo + BATCH)):
                app.append(labels[i], t0 + 5_000 * k, value(i, k))
            assert app.commit().appended == min(N, lo + BATCH) - lo
    db.close()  # writes the series table

    start = time.perf_counter()
    again = TSDB.open(tmp_path, options=OPTS)
    seconds = time.perf_counter() - start
    print(f"\nTSDB.open with {N:,} series: {seconds:.1f} s")
    try:
        assert again.stats() == StorageStats(series=N, samples=3 * N)
        assert again.log_records() == 3 * (N // BATCH)
        for i in [0, 1, 7, 8, 9, 10, 99, 100, 123_456, N - 1]:
            assert again.index.ids[labels[i]] == i
            assert again.index.labels[i] == labels[i]
        with again.querier(t0, t0 + 10_000) as q:
            chosen = {
                s.labels: (s.timestamps.tolist(), [bits(v) for v in s.values.tolist()])
                for s in q.select(
                    [Matcher.of("instance", "=", "host-0"), Matcher.of("job", "=", "node")]
                )
            }
            assert len(chosen) == 100
            for i in range(100):
                expected = [bits(value(i, k)) for k in range(3)]
                assert chosen[labels[i]] == ([t0, t0 + 5_000, t0 + 10_000], expected)
            assert len(list(q.select([Matcher.of("__name__", "=", "m_42")]))) == N // 100
            assert q.label_values("note") == ["grüße ✓"]
    finally:
        again.close()
