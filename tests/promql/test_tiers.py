"""Range queries at a coarse step read a downsampled tier of the embedded TSDB and still give
the answers raw data gives (docs/storage.md, "Tiers and retention").

Two and a half days of 15 s scrapes (counters with resets, gauges, missing scrapes so that
buckets hold different numbers of samples) go into a TSDB, whose tier job aggregates them and
deletes raw data older than a day, and into a MemoryStorage, the reference. Scrapes are 7 s
past the quarter minute, never on a bucket boundary, so windows of whole buckets hold exactly
the raw samples (``downsample.reconstruct``). Aggregates are compared with the raw answer;
rate-like functions with the answer over the raw samples thinned to the buckets' last
timestamps, which is what a tier keeps of a counter.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt
import pytest

from multimonx.model import Labels, Matcher
from multimonx.promql.engine import Engine
from multimonx.promql.values import MatrixSeries
from multimonx.storage import JournalSync, SelectHints
from multimonx.storage.interface import (
    Appender,
    Querier,
    Series,
    SeriesSet,
    Storage,
    StorageStats,
    select_sets_of,
)
from multimonx.storage.memory import MemoryStorage
from multimonx.storage.tsdb import TSDB, TSDBOptions
from multimonx.storage.tsdb.tiers import TierJob

SECOND = 1_000
MINUTE = 60 * SECOND
FIVE = 5 * MINUTE
HOUR = 60 * MINUTE
DAY = 24 * HOUR
T0 = 20_000 * DAY
NOW = T0 + 60 * HOUR
SCRAPE = 15 * SECOND
OPTS = TSDBOptions(
    flush_delay_ms=0, log_sync=JournalSync.NORMAL, raw_retention_ms=DAY, coarse_step_tiers=True
)

EXPIRED = (T0 + 6 * HOUR, T0 + 30 * HOUR)
"""A range whose raw samples retention has deleted: only the tiers answer."""
RECENT = (T0 + 40 * HOUR, T0 + 58 * HOUR)
"""A range raw samples still cover."""

Samples = dict[Labels, tuple[npt.NDArray[np.int64], npt.NDArray[np.float64]]]


@dataclass(frozen=True)
class Data:
    """The raw samples of every series, as written to both stores."""

    series: Samples

    def thinned(self, bucket_ms: int) -> Samples:
        """Each series reduced to the last sample of every bucket: what a tier's ``last``
        column holds."""
        out: Samples = {}
        for labels, (ts, vs) in self.series.items():
            bucket = ts // bucket_ms
            last = np.append(bucket[1:] != bucket[:-1], True)
            out[labels] = (ts[last], vs[last])
        return out


def _generate() -> Data:
    """Counters (two resets each, 20% of scrapes and a 20-minute stretch missing) and gauges
    (between 5% and 70% of scrapes missing, so buckets hold very different sample counts)."""
    rng = np.random.default_rng(4)
    grid = np.arange(T0 + 7 * SECOND, NOW, SCRAPE, dtype=np.int64)
    series: Samples = {}
    counters = [("a", "1"), ("a", "2"), ("b", "1")]
    for n, (job, instance) in enumerate(counters):
        keep = rng.random(grid.size) < 0.8  # missing scrapes
        keep[(grid > T0 + (14 + n) * HOUR) & (grid < T0 + (14 + n) * HOUR + 20 * MINUTE)] = False
        ts = grid[keep]
        steps = rng.integers(0, 10, ts.size).astype(np.float64)
        values = np.cumsum(steps)
        for reset_at in (T0 + 12 * HOUR + 3 * MINUTE + n * HOUR, T0 + 45 * HOUR + 11 * MINUTE):
            after = ts >= reset_at
            values[after] -= values[np.argmax(after)]  # the counter restarts from 0
        labels = Labels.of(__name__="requests_total", job=job, instance=instance)
        series[labels] = (ts, values)
    for room in ("kitchen", "hall"):
        keep = rng.random(grid.size) < rng.uniform(0.3, 0.95, grid.size)
        ts = grid[keep]
        series[Labels.of(__name__="temperature", room=room)] = (ts, rng.normal(20, 5, ts.size))
    return Data(series)


def _fill(storage: Storage, series: Samples) -> None:
    appender = storage.appender()
    for labels, (ts, vs) in series.items():
        for t, v in zip(ts.tolist(), vs.tolist(), strict=True):
            appender.append(labels, t, v)
    appender.commit()


@dataclass
class Read:
    """One select a query made: its hints and whether a tier answered (``Series.counts``)."""

    hints: SelectHints | None
    points: int
    from_tier: bool


@dataclass
class SpyQuerier:
    """A querier that records what its selects return."""

    inner: Querier
    reads: list[Read]

    def select(
        self, matchers: Sequence[Matcher], hints: SelectHints | None = None
    ) -> Iterator[Series]:
        for one in self.inner.select(matchers, hints):
            self.reads.append(Read(hints, len(one), one.counts is not None))
            yield one

    def select_sets(
        self, matchers: Sequence[Matcher], hints: SelectHints | None = None
    ) -> Iterator[SeriesSet]:
        return select_sets_of(self.select(matchers, hints))

    def series_labels(self, matchers: Sequence[Matcher]) -> list[Labels]:
        return self.inner.series_labels(matchers)

    def label_names(self, matchers: Sequence[Matcher] = ()) -> list[str]:
        return self.inner.label_names(matchers)

    def label_values(self, name: str, matchers: Sequence[Matcher] = ()) -> list[str]:
        return self.inner.label_values(name, matchers)

    def close(self) -> None:
        self.inner.close()

    def __enter__(self) -> Querier:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


@dataclass
class SpyStorage:
    """A storage whose queriers record their selects (to prove which path answered)."""

    inner: Storage
    reads: list[Read] = field(default_factory=list)

    def appender(self) -> Appender:
        return self.inner.appender()

    def querier(self, mint: int, maxt: int) -> Querier:
        return SpyQuerier(self.inner.querier(mint, maxt), self.reads)

    def stats(self) -> StorageStats:
        return self.inner.stats()

    def close(self) -> None:
        self.inner.close()


@dataclass(frozen=True)
class Stores:
    """The TSDB under test (behind a spy), the raw reference and the data."""

    tsdb: SpyStorage
    raw: MemoryStorage
    data: Data

    def thinned(self, bucket_ms: int) -> MemoryStorage:
        """A reference holding the raw samples thinned to ``bucket_ms`` buckets."""
        storage = MemoryStorage()
        _fill(storage, self.data.thinned(bucket_ms))
        return storage


@pytest.fixture(scope="module")
def stores(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stores]:
    """The data in both stores, aggregated by the tier job, raw older than a day deleted."""
    path = tmp_path_factory.mktemp("tiers")
    data = _generate()
    tsdb = TSDB.open(path, options=OPTS)
    tsdb.clock = lambda: NOW
    _fill(tsdb, data.series)
    tsdb.flush(now_ms=NOW + OPTS.chunk_range_ms)
    job = TierJob(path / "chunks.db", OPTS)
    try:
        for _ in range(100):  # aggregate every window, then retention deletes old raw rows
            report = job.run_once(NOW)
            if not (report.rows_aggregated or report.deleted_raw):
                break
    finally:
        job.close()
    raw = MemoryStorage()
    _fill(raw, data.series)
    yield Stores(SpyStorage(tsdb), raw, data)
    tsdb.close()


def _query(storage: Storage, query: str, span: tuple[int, int], step_ms: int) -> list[MatrixSeries]:
    result = Engine(storage).range(query, span[0], span[1], step_ms)
    assert result.matrix is not None
    return result.matrix


def _tier_answers(
    stores: Stores, query: str, span: tuple[int, int], step_ms: int
) -> list[MatrixSeries]:
    """``query`` over the TSDB, checking that every select was answered from a tier."""
    stores.tsdb.reads.clear()
    got = _query(stores.tsdb, query, span, step_ms)
    assert stores.tsdb.reads
    assert all(read.from_tier for read in stores.tsdb.reads), query
    return got


def _assert_same(got: list[MatrixSeries], want: list[MatrixSeries], rtol: float) -> None:
    assert [one.labels for one in got] == [one.labels for one in want]
    assert sum(len(one.timestamps) for one in want) > 0
    for mine, theirs in zip(got, want, strict=True):
        assert mine.timestamps.tolist() == theirs.timestamps.tolist(), mine.labels
        if rtol:
            np.testing.assert_allclose(mine.values, theirs.values, rtol=rtol, atol=0)
        else:
            assert mine.values.tolist() == theirs.values.tolist(), mine.labels


def test_raw_samples_of_the_old_range_are_gone(stores: Stores) -> None:
    with stores.tsdb.querier(*EXPIRED) as querier:
        assert list(querier.select([Matcher.of("__name__", "=", "temperature")])) == []
    with stores.tsdb.querier(*RECENT) as querier:
        assert list(querier.select([Matcher.of("__name__", "=", "temperature")]))


EXACT = [
    ("temperature", FIVE),
    ("temperature", HOUR),
    ("requests_total", FIVE),
    ("max_over_time(temperature[5m])", FIVE),
    ("max_over_time(temperature[1h])", HOUR),
    ("min_over_time(temperature[15m])", FIVE),
    ("min_over_time(requests_total[1h])", HOUR),
    ("sum_over_time(temperature[1h])", HOUR),
    ("sum_over_time(temperature[10m])", FIVE),
    ("count_over_time(temperature[1h])", HOUR),
    ("count_over_time(requests_total[10m])", FIVE),
    ("avg_over_time(temperature[5m])", FIVE),
    ("avg_over_time(temperature[1h])", HOUR),
    ("avg_over_time(temperature[3m])", 6 * MINUTE),
    ("last_over_time(temperature[5m])", FIVE),
    ("present_over_time(temperature[10m])", FIVE),
    ("sum by (job) (count_over_time(requests_total[1h]))", HOUR),
    ("max_over_time(temperature[1h:5m])", HOUR),
]


@pytest.mark.parametrize("span", [EXPIRED, RECENT], ids=["expired", "recent"])
@pytest.mark.parametrize(("query", "step_ms"), EXACT)
def test_aggregates_from_a_tier_equal_the_raw_answer(
    stores: Stores, query: str, step_ms: int, span: tuple[int, int]
) -> None:
    got = _tier_answers(stores, query, span, step_ms)
    _assert_same(got, _query(stores.raw, query, span, step_ms), rtol=1e-9)


THINNED = [
    ("rate(requests_total[10m])", FIVE, FIVE),
    ("rate(requests_total[1h])", FIVE, FIVE),
    ("rate(requests_total[5m])", FIVE, MINUTE),  # two 5m buckets do not fit: the 1m tier
    ("increase(requests_total[1h])", HOUR, FIVE),
    ("irate(requests_total[10m])", FIVE, FIVE),
    ("resets(requests_total[1h])", HOUR, FIVE),
    ("sum by (job) (rate(requests_total[1h]))", HOUR, FIVE),
]


@pytest.mark.parametrize("span", [EXPIRED, RECENT], ids=["expired", "recent"])
@pytest.mark.parametrize(("query", "step_ms", "bucket_ms"), THINNED)
def test_rates_from_a_tier_equal_rates_over_the_thinned_raw_samples(
    stores: Stores, query: str, step_ms: int, bucket_ms: int, span: tuple[int, int]
) -> None:
    got = _tier_answers(stores, query, span, step_ms)
    _assert_same(got, _query(stores.thinned(bucket_ms), query, span, step_ms), rtol=0)


def test_resets_are_seen_from_the_tier(stores: Stores) -> None:
    """Each range holds three counter resets, which 2 h windows at a 1 h step see twice in
    raw data. Thinned, a reset is a drop between two buckets' last samples: one straddling a
    full hour (those of the old range) is seen by one window only, but none is lost."""
    for span, seen in ((EXPIRED, 3), (RECENT, 6)):
        raw = _query(stores.raw, "sum(resets(requests_total[2h]))", span, HOUR)
        got = _tier_answers(stores, "sum(resets(requests_total[2h]))", span, HOUR)
        assert raw[0].values.sum() == 6
        assert got[0].values.sum() == seen


def test_a_mean_of_bucket_means_would_be_wrong(stores: Stores) -> None:
    """The buckets hold different numbers of samples, so averaging per-bucket means (what a
    tier storing means would give) misses the raw average that the tier does give."""
    mean_of_means = _query(
        stores.raw, "avg_over_time(avg_over_time(temperature[5m])[1h:5m])", EXPIRED, HOUR
    )
    true_mean = _query(stores.raw, "avg_over_time(temperature[1h])", EXPIRED, HOUR)
    differences = [
        np.abs(wrong.values - right.values).max()
        for wrong, right in zip(mean_of_means, true_mean, strict=True)
    ]
    assert min(differences) > 1e-3
    got = _tier_answers(stores, "avg_over_time(temperature[1h])", EXPIRED, HOUR)
    _assert_same(got, true_mean, rtol=1e-9)


def test_a_range_too_short_for_the_tier_reads_raw(stores: Stores) -> None:
    """rate(x[1m]) at a 5m step: a 5m bucket would put at most one point in a window."""
    query = "rate(requests_total[1m])"
    stores.tsdb.reads.clear()
    got = _query(stores.tsdb, query, RECENT, FIVE)
    assert not any(read.from_tier for read in stores.tsdb.reads)
    _assert_same(got, _query(stores.raw, query, RECENT, FIVE), rtol=0)


def test_a_range_too_short_for_the_tier_reads_the_finest_tier_once_raw_expired(
    stores: Stores,
) -> None:
    stores.tsdb.reads.clear()
    _query(stores.tsdb, "rate(requests_total[1m])", EXPIRED, FIVE)
    buckets_5m = (EXPIRED[1] - EXPIRED[0]) // FIVE + 1
    assert stores.tsdb.reads
    assert all(read.from_tier and read.points > 2 * buckets_5m for read in stores.tsdb.reads)


@pytest.mark.parametrize(
    ("query", "step_ms"),
    [
        ("quantile_over_time(0.9, temperature[1h])", HOUR),
        ("stddev_over_time(temperature[1h])", HOUR),
        ("temperature", 7 * MINUTE + 30 * SECOND),  # steps off bucket boundaries
        ("avg_over_time(temperature[1h])", 90 * SECOND),
    ],
)
def test_what_a_tier_cannot_answer_exactly_reads_raw_while_it_is_kept(
    stores: Stores, query: str, step_ms: int
) -> None:
    stores.tsdb.reads.clear()
    got = _query(stores.tsdb, query, RECENT, step_ms)
    assert not any(read.from_tier for read in stores.tsdb.reads)
    _assert_same(got, _query(stores.raw, query, RECENT, step_ms), rtol=1e-9)


@pytest.mark.parametrize(
    ("shift_ms", "from_tier"),
    [(2 * MINUTE, True), (30 * SECOND, False)],
    ids=["whole-minutes", "half-minutes"],
)
def test_steps_off_the_5m_boundaries_read_a_finer_tier_or_raw(
    stores: Stores, shift_ms: int, from_tier: bool
) -> None:
    """Steps between 5m bucket boundaries would see part of a bucket: steps on whole minutes
    read the 1m tier, others raw samples, and both give the raw answer."""
    query = "max_over_time(temperature[10m])"
    span = (RECENT[0] + shift_ms, RECENT[1] + shift_ms)
    stores.tsdb.reads.clear()
    got = _query(stores.tsdb, query, span, FIVE)
    assert stores.tsdb.reads
    assert all(read.from_tier is from_tier for read in stores.tsdb.reads)
    if from_tier:
        assert all(read.points > 2 * (span[1] - span[0]) // FIVE for read in stores.tsdb.reads)
    _assert_same(got, _query(stores.raw, query, span, FIVE), rtol=1e-9)


def test_what_a_tier_cannot_answer_is_approximated_from_the_finest_tier_once_raw_expired(
    stores: Stores,
) -> None:
    """quantile_over_time over old data: the 1m tier's ``last`` values stand in for the raw
    samples (docs/storage.md)."""
    query = "quantile_over_time(0.5, temperature[1h])"
    got = _tier_answers(stores, query, EXPIRED, HOUR)
    _assert_same(got, _query(stores.thinned(MINUTE), query, EXPIRED, HOUR), rtol=0)
