"""The storage interface contract, run against every backend.

A backend joins by adding a factory to FACTORIES: something that opens a storage in a directory
and can reopen it there (durable backends must keep everything committed across a reopen).
"""

from __future__ import annotations

import math
import struct
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest

from multimonx.model import STALE_NAN, Labels, Matcher, is_stale_nan, same_value
from multimonx.storage import (
    MAX_TIME_MS,
    MIN_TIME_MS,
    Appender,
    AppenderFinishedError,
    AppendResult,
    Journal,
    MemoryStorage,
    Querier,
    SelectHints,
    Storage,
    StorageClosed,
)
from multimonx.storage.tsdb import TSDB
from tests.storage.tsdb.churn import OPTIONS as CHURN_OPTIONS
from tests.storage.tsdb.churn import Churn


@dataclass(frozen=True)
class Factory:
    """How to open a backend in a directory, and whether it survives a reopen."""

    name: str
    open: Callable[[Path], Storage]
    durable: bool


FACTORIES = [
    Factory("memory", lambda _: MemoryStorage(), durable=False),
    Factory(
        "memory+journal",
        lambda d: MemoryStorage(Journal(d / "journal.db")),
        durable=True,
    ),
    Factory("tsdb", lambda d: TSDB.open(d / "tsdb", options=CHURN_OPTIONS), durable=True),
    Factory("tsdb+flush", lambda d: Churn(d / "tsdb", flush="all", reopen=False), durable=True),
    Factory(
        "tsdb+partial-flush+reopen",
        lambda d: Churn(d / "tsdb", flush="partial", reopen=True),
        durable=True,
    ),
    Factory("tsdb+reopen", lambda d: Churn(d / "tsdb", flush=None, reopen=True), durable=True),
]


@pytest.fixture(params=FACTORIES, ids=lambda f: f.name)
def factory(request: pytest.FixtureRequest) -> Factory:
    return request.param  # type: ignore[no-any-return]


@pytest.fixture
def storage(factory: Factory, tmp_path: Path) -> Iterator[Storage]:
    s = factory.open(tmp_path)
    yield s
    s.close()


def L(name: str, **labels: str) -> Labels:
    return Labels.of({"__name__": name, **labels})


def commit(storage: Storage, *samples: tuple[Labels, int, float]) -> AppendResult:
    app = storage.appender()
    for labels, t, v in samples:
        app.append(labels, t, v)
    return app.commit()


def read(
    storage: Storage, *matchers: Matcher, mint: int = MIN_TIME_MS, maxt: int = MAX_TIME_MS
) -> dict[Labels, list[tuple[int, float]]]:
    with storage.querier(mint, maxt) as q:
        return {
            s.labels: list(zip(s.timestamps.tolist(), s.values.tolist(), strict=True))
            for s in q.select(list(matchers) or [Matcher.of("__name__", "=~", ".+")])
        }


def bits(v: float) -> bytes:
    return struct.pack("<d", v)


A = L("up", job="node", instance="a")
B = L("up", job="node", instance="b")
C = L("load1", job="node", instance="a")


def test_implements_protocols(storage: Storage) -> None:
    app: Appender = storage.appender()
    app.rollback()
    q: Querier = storage.querier(0, 1)
    q.close()


def test_commit_makes_samples_visible_to_new_queriers(storage: Storage) -> None:
    before = storage.querier(MIN_TIME_MS, MAX_TIME_MS)
    result = commit(storage, (A, 1000, 1.0), (A, 2000, 2.0), (B, 1000, 3.0))
    assert result == AppendResult(appended=3, duplicates=0, conflicts=0)
    assert read(storage) == {A: [(1000, 1.0), (2000, 2.0)], B: [(1000, 3.0)]}
    assert list(before.select([Matcher.of("__name__", "=", "up")])) == []
    before.close()
    assert storage.stats().series == 2
    assert storage.stats().samples == 3


def test_uncommitted_samples_are_invisible(storage: Storage) -> None:
    app = storage.appender()
    app.append(A, 1000, 1.0)
    assert read(storage) == {}
    app.commit()
    assert read(storage) == {A: [(1000, 1.0)]}


def test_rollback_discards_the_batch(storage: Storage) -> None:
    app = storage.appender()
    app.append(A, 1000, 1.0)
    app.rollback()
    assert read(storage) == {}
    assert storage.stats().samples == 0


@pytest.mark.parametrize("finish", ["commit", "rollback"])
@pytest.mark.parametrize("then", ["append", "commit", "rollback"])
def test_appender_is_single_use(storage: Storage, finish: str, then: str) -> None:
    app = storage.appender()
    getattr(app, finish)()
    action = (lambda: app.append(A, 1, 1.0)) if then == "append" else getattr(app, then)
    with pytest.raises(AppenderFinishedError):
        action()


@pytest.mark.parametrize(
    ("stored", "batch", "expected", "kept"),
    [
        ([1.0], [1.0], AppendResult(0, 1, 0), 1.0),
        ([1.0], [2.0], AppendResult(0, 0, 1), 1.0),
        ([math.nan], [math.nan], AppendResult(0, 1, 0), math.nan),
        ([STALE_NAN], [STALE_NAN], AppendResult(0, 1, 0), STALE_NAN),
        ([STALE_NAN], [math.nan], AppendResult(0, 0, 1), STALE_NAN),
        ([0.0], [-0.0], AppendResult(0, 0, 1), 0.0),
        ([], [5.0, 5.0], AppendResult(1, 1, 0), 5.0),
        ([], [5.0, 6.0], AppendResult(1, 0, 1), 5.0),
        # A repeat in the batch is judged against the value kept (the stored one), not
        # against an earlier sample of the batch that was itself refused.
        ([0.0], [-0.0, 0.0], AppendResult(0, 1, 1), 0.0),
        ([1.0], [2.0, 2.0], AppendResult(0, 0, 2), 1.0),
    ],
    ids=[
        "dup",
        "conflict",
        "nan-dup",
        "stale-dup",
        "stale-vs-nan",
        "zero-sign",
        "in-batch-dup",
        "in-batch-conflict",
        "refused-then-dup",
        "refused-twice",
    ],
)
def test_duplicates_and_conflicts_at_the_same_timestamp(
    storage: Storage,
    stored: list[float],
    batch: list[float],
    expected: AppendResult,
    kept: float,
) -> None:
    if stored:
        commit(storage, *((A, 1000, v) for v in stored))
    assert commit(storage, *((A, 1000, v) for v in batch)) == expected
    ((t, v),) = read(storage)[A]
    assert t == 1000
    assert bits(v) == bits(kept)


def test_replaying_a_batch_is_idempotent(storage: Storage) -> None:
    batch = [(A, t, float(t)) for t in range(0, 10_000, 1000)] + [(B, 5, 1.5)]
    first = commit(storage, *batch)
    second = commit(storage, *batch)
    assert first == AppendResult(11, 0, 0)
    assert second == AppendResult(0, 11, 0)
    assert storage.stats().samples == 11


def test_out_of_order_and_backfill_are_merged(storage: Storage) -> None:
    commit(storage, (A, 5000, 5.0), (A, 6000, 6.0))
    commit(storage, (A, 1000, 1.0), (A, 5500, 5.5))
    commit(storage, (A, 3000, 3.0), (A, 2000, 2.0), (A, 7000, 7.0))
    assert [t for t, _ in read(storage)[A]] == [1000, 2000, 3000, 5000, 5500, 6000, 7000]
    assert commit(storage, (A, 2000, 2.0), (A, 5500, 9.0)) == AppendResult(0, 1, 1)


def test_many_small_commits_stay_sorted_and_complete(storage: Storage) -> None:
    rng = np.random.default_rng(7)
    times = rng.permutation(500).tolist()
    for i in range(0, 500, 7):
        commit(storage, *((A, int(t), float(t)) for t in times[i : i + 7]))
    got = read(storage)[A]
    assert got == [(t, float(t)) for t in range(500)]


def test_special_values_round_trip_bit_exactly(storage: Storage) -> None:
    payload_nan = struct.unpack("<d", struct.pack("<Q", 0x7FF8_0000_0000_1234))[0]
    values = [STALE_NAN, math.nan, payload_nan, -0.0, 0.0, math.inf, -math.inf, 5e-324]
    commit(storage, *((A, i, v) for i, v in enumerate(values)))
    got = [v for _, v in read(storage)[A]]
    assert [bits(v) for v in got] == [bits(v) for v in values]
    assert is_stale_nan(got[0])


def test_extreme_timestamps(storage: Storage) -> None:
    commit(storage, (A, MIN_TIME_MS, 1.0), (A, MAX_TIME_MS, 2.0), (A, 0, 3.0))
    assert read(storage)[A] == [(MIN_TIME_MS, 1.0), (0, 3.0), (MAX_TIME_MS, 2.0)]


@pytest.mark.parametrize(
    ("mint", "maxt", "expected"),
    [
        (1000, 3000, [1000, 2000, 3000]),
        (1001, 2999, [2000]),
        (3000, 3000, [3000]),
        (3001, 9000, []),
        (MIN_TIME_MS, 999, []),
    ],
)
def test_time_bounds_are_inclusive(
    storage: Storage, mint: int, maxt: int, expected: list[int]
) -> None:
    commit(storage, *((A, t, 1.0) for t in (1000, 2000, 3000)))
    got = read(storage, mint=mint, maxt=maxt)
    assert [t for t, _ in got.get(A, [])] == expected


def test_select_hints_narrow_the_range(storage: Storage) -> None:
    commit(storage, *((A, t, 1.0) for t in (1000, 2000, 3000)))
    with storage.querier(MIN_TIME_MS, MAX_TIME_MS) as q:
        matchers = [Matcher.of("instance", "=", "a"), Matcher.of("__name__", "=", "up")]
        (series,) = q.select(matchers, SelectHints(start_ms=1500, end_ms=2500))
    assert series.timestamps.tolist() == [2000]
    assert series.timestamps.dtype == np.int64
    assert series.values.dtype == np.float64


MATCHER_CASES = [
    ([("__name__", "=", "up")], [A, B]),
    ([("__name__", "=", "up"), ("instance", "!=", "a")], [B]),
    ([("instance", "=~", "a|b"), ("__name__", "=~", "up|load1")], [C, A, B]),
    ([("instance", "=~", "a.*"), ("__name__", "=~", ".+")], [C, A]),
    ([("__name__", "=~", "u")], []),
    ([("__name__", "=~", "up"), ("instance", "!~", "a")], [B]),
    ([("__name__", "=~", ".+"), ("zone", "=", "")], [C, A, B]),
    ([("__name__", "=~", ".+"), ("instance", "=", "")], []),
    ([("__name__", "=~", ".+"), ("zone", "!=", "")], []),
    ([("__name__", "=~", ".+"), ("zone", "=~", "|eu")], [C, A, B]),
    ([("__name__", "=~", ".+"), ("instance", "!~", "")], [C, A, B]),
]


@pytest.mark.parametrize(("specs", "expected"), MATCHER_CASES)
def test_matchers(
    storage: Storage, specs: list[tuple[str, str, str]], expected: list[Labels]
) -> None:
    commit(storage, (A, 1, 1.0), (B, 1, 1.0), (C, 1, 1.0))
    with storage.querier(MIN_TIME_MS, MAX_TIME_MS) as q:
        got = [s.labels for s in q.select([Matcher.of(*m) for m in specs])]
    assert got == expected


def test_label_names_and_values(storage: Storage) -> None:
    commit(storage, (A, 1, 1.0), (B, 1, 1.0), (C, 1, 1.0), (L("other", zone='eu\n"x"'), 1, 1.0))
    with storage.querier(MIN_TIME_MS, MAX_TIME_MS) as q:
        assert q.label_names() == ["__name__", "instance", "job", "zone"]
        assert q.label_names([Matcher.of("__name__", "=", "up")]) == ["__name__", "instance", "job"]
        assert q.label_values("__name__") == ["load1", "other", "up"]
        assert q.label_values("instance", [Matcher.of("__name__", "=", "up")]) == ["a", "b"]
        assert q.label_values("zone") == ['eu\n"x"']
        assert q.label_values("missing") == []


def test_label_queries_respect_the_time_range(storage: Storage) -> None:
    commit(storage, (A, 1000, 1.0), (C, 5000, 1.0))
    with storage.querier(0, 2000) as q:
        assert q.label_values("__name__") == ["up"]


def test_concurrent_commits_lose_nothing(storage: Storage) -> None:
    def worker(n: int) -> None:
        for i in range(20):
            commit(storage, *((L("m", w=str(n)), i * 10 + j, 1.0) for j in range(10)))

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert storage.stats().samples == 4 * 200
    assert all(len(v) == 200 for v in read(storage).values())


def test_closed_storage_refuses_work(storage: Storage) -> None:
    storage.close()
    storage.close()
    with pytest.raises(StorageClosed):
        storage.appender()
    with pytest.raises(StorageClosed):
        storage.querier(0, 1)


def test_appender_made_before_close_fails_to_commit(storage: Storage) -> None:
    app = storage.appender()
    app.append(A, 1, 1.0)
    storage.close()
    with pytest.raises(StorageClosed):
        app.commit()


def test_reopen_keeps_everything_committed(factory: Factory, tmp_path: Path) -> None:
    if not factory.durable:
        pytest.skip("not a durable backend")
    first = factory.open(tmp_path)
    commit(first, (A, 1000, STALE_NAN), (A, 2000, -0.0), (B, 5, math.inf))
    commit(first, (A, 500, 0.5), (A, 1000, STALE_NAN))
    rolled = first.appender()
    rolled.append(C, 1, 1.0)
    rolled.rollback()
    expected = read(first)
    first.close()

    second = factory.open(tmp_path)
    got = read(second)
    assert got.keys() == expected.keys()
    for labels, samples in expected.items():
        assert [(t, bits(v)) for t, v in got[labels]] == [(t, bits(v)) for t, v in samples]
    assert second.stats() == first_stats(expected)
    assert commit(second, (A, 1000, STALE_NAN), (A, 3000, 3.0)) == AppendResult(1, 1, 0)
    second.close()
    third = factory.open(tmp_path)
    assert len(read(third)[A]) == 4
    assert same_value(read(third)[A][1][1], STALE_NAN)
    third.close()


def first_stats(data: dict[Labels, list[tuple[int, float]]]) -> object:
    from multimonx.storage import StorageStats

    return StorageStats(series=len(data), samples=sum(len(v) for v in data.values()))
