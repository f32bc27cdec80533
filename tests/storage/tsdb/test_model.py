"""TSDB against MemoryStorage as the model: random appends (out of order, duplicates,
conflicts, special values), random flushes and reopens; and a concurrency soak."""

from __future__ import annotations

import math
import struct
import threading
import time
from pathlib import Path
from tempfile import TemporaryDirectory
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from multimonx.model import STALE_NAN, Labels, Matcher
from multimonx.storage import MAX_TIME_MS, MIN_TIME_MS, Appender, MemoryStorage, Storage
from multimonx.storage.journal import JournalSync
from multimonx.storage.tsdb import TSDB, TSDBOptions

OPTS = TSDBOptions(chunk_range_ms=1_000, flush_delay_ms=200, log_sync=JournalSync.OFF)
ALL = [Matcher.of("__name__", "=~", ".+")]
SERIES = [Labels.of({"__name__": "m", "i": str(i)}) for i in range(4)]

values = st.sampled_from([0.0, -0.0, 1.0, 2.5, math.nan, STALE_NAN, math.inf, 7.0])
sample = st.tuples(st.integers(0, 3), st.integers(0, 6_000), values)
step = st.one_of(
    st.tuples(st.just("commit"), st.lists(sample, max_size=12)),
    st.tuples(st.just("flush"), st.integers(0, 8_000)),
    st.tuples(st.just("reopen"), st.just(0)),
)


def dump(
    storage: Storage, mint: int = MIN_TIME_MS, maxt: int = MAX_TIME_MS
) -> dict[Labels, list[tuple[int, bytes]]]:
    with storage.querier(mint, maxt) as q:
        return {
            s.labels: [
                (t, struct.pack("<d", v))
                for t, v in zip(s.timestamps.tolist(), s.values.tolist(), strict=True)
            ]
            for s in q.select(ALL)
        }


@given(st.lists(step, max_size=25), st.integers(0, 6_000), st.integers(0, 6_000))
@settings(max_examples=60, deadline=None)
def test_matches_the_memory_model(steps: list[tuple[str, Any]], a: int, b: int) -> None:
    with TemporaryDirectory() as tmp:
        path = Path(tmp)
        model = MemoryStorage()
        db = TSDB.open(path, options=OPTS)
        try:
            for kind, arg in steps:
                if kind == "commit":
                    apps: list[Appender] = [model.appender(), db.appender()]
                    for i, t, v in arg:
                        for app in apps:
                            app.append(SERIES[i], t, v)
                    assert apps[1].commit() == apps[0].commit()
                elif kind == "flush":
                    db.flush(arg)
                else:
                    db.close()
                    db = TSDB.open(path, options=OPTS)
                assert db.stats() == model.stats()
            assert dump(db) == dump(model)
            lo, hi = min(a, b), max(a, b)
            assert dump(db, lo, hi) == dump(model, lo, hi)
        finally:
            db.close()


def test_concurrent_appenders_queriers_and_flush(tmp_path: Path) -> None:
    opts = TSDBOptions(
        chunk_range_ms=1_000, flush_delay_ms=0, flush_interval_s=0.01, log_sync=JournalSync.OFF
    )
    db = TSDB.open(tmp_path, options=opts)
    db.start()
    errors: list[BaseException] = []
    stop = threading.Event()
    per_writer = 300

    def writer(w: int) -> None:
        try:
            for r in range(per_writer):
                app = db.appender()
                for i in range(20):
                    app.append(
                        Labels.of({"__name__": "m", "w": str(w), "i": str(i)}), r * 100, float(r)
                    )
                if r % 7 == 0:  # some out-of-order samples too
                    app.append(Labels.of({"__name__": "late", "w": str(w)}), r * 50 + 1, 1.0)
                app.commit()
        except BaseException as err:  # pragma: no cover - reported below
            errors.append(err)

    def reader() -> None:
        try:
            while not stop.is_set():
                with db.querier(MIN_TIME_MS, MAX_TIME_MS) as q:
                    for s in q.select([Matcher.of("__name__", "=", "m")]):
                        ts = s.timestamps
                        # each series is a prefix of 0, 100, 200, ...: no gaps, no repeats
                        assert ts.tolist() == list(range(0, 100 * len(ts), 100)), s.labels
                        assert s.values.tolist() == [t / 100 for t in ts.tolist()]
        except BaseException as err:  # pragma: no cover - reported below
            errors.append(err)

    writers = [threading.Thread(target=writer, args=(w,)) for w in range(3)]
    readers = [threading.Thread(target=reader) for _ in range(2)]
    for t in writers + readers:
        t.start()
    deadline = time.monotonic() + 120
    for t in writers:
        t.join(max(0.0, deadline - time.monotonic()))
    stop.set()
    for t in readers:
        t.join(60)
    db.stop()
    assert not errors, errors
    assert db.counters().flushes > 0
    expected = 3 * 20 * per_writer + 3 * len(range(0, per_writer, 7))
    assert db.stats().samples == expected
    db.close()
    again = TSDB.open(tmp_path, options=opts)
    assert again.stats().samples == expected
    assert sum(len(v) for v in dump(again).values()) == expected
    again.close()
