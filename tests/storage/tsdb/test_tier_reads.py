"""Range selects with a step read the coarsest tier that answers them, and agree with the
same computation over the raw samples."""

import dataclasses
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from multimonx.model import Labels, Matcher
from multimonx.storage import JournalSync, SelectHints
from multimonx.storage.tsdb import TSDB, TSDBOptions
from multimonx.storage.tsdb.downsample import downsample, reconstruct
from multimonx.storage.tsdb.tiers import TierJob

MIN = 60_000
HOUR = 3_600_000
T0 = 1_000 * HOUR
END = T0 + 3 * HOUR
OPTS = TSDBOptions(
    chunk_range_ms=10 * MIN,
    flush_delay_ms=0,
    log_sync=JournalSync.NORMAL,
    raw_retention_ms=HOUR,
    minute_retention_ms=2 * HOUR,
    five_minute_retention_ms=6 * HOUR,
    coarse_step_tiers=True,
)
SERIES = Labels.of(__name__="node_cpu_seconds_total", cpu="0")


@pytest.fixture
def db(tmp_path: Path) -> Iterator[tuple[TSDB, np.ndarray, np.ndarray]]:
    """Three hours of a 10 s counter ending at END, flushed and downsampled, raw older than
    one hour deleted by retention."""
    ts = np.arange(T0, END, 10_000, dtype=np.int64)
    vs = np.cumsum(np.arange(len(ts)) % 7).astype(np.float64)
    store = TSDB.open(tmp_path, options=OPTS)
    store.clock = lambda: END
    appender = store.appender()
    for t, v in zip(ts.tolist(), vs.tolist(), strict=True):
        appender.append(SERIES, t, v)
    appender.commit()
    store.flush(now_ms=END + OPTS.chunk_range_ms)
    job = TierJob(tmp_path / "chunks.db", OPTS)
    for _ in range(3):  # aggregate, then retention once the aggregates exist
        job.run_once(END)
    job.close()
    yield store, ts, vs
    store.close()


def _select(
    store: TSDB, mint: int, maxt: int, hints: SelectHints | None
) -> tuple[list[int], list[float]]:
    with store.querier(mint, maxt) as querier:
        (series,) = querier.select([Matcher.of("__name__", "=", SERIES.metric_name)], hints)
    return series.timestamps.tolist(), series.values.tolist()


def test_raw_is_gone_past_its_retention_but_a_stepped_select_reads_the_tier(
    db: tuple[TSDB, np.ndarray, np.ndarray],
) -> None:
    store, ts, vs = db
    # Older than raw retention, ending just before a bucket boundary: a tier answers in whole
    # buckets, each at its last sample's time (a sample exactly at the end would open a bucket
    # whose last sample lies past the range).
    old_start, old_end = T0, T0 + HOUR - 1
    with store.querier(old_start, old_end) as querier:
        assert list(querier.select([Matcher.of("__name__", "=", SERIES.metric_name)])) == []
    got_t, got_v = _select(store, old_start, old_end, SelectHints(step_ms=5 * MIN))
    keep = (ts >= old_start) & (ts <= old_end)
    want_t, want_v, _ = reconstruct(downsample(ts[keep], vs[keep], 5 * MIN), None)
    assert got_t == want_t.tolist()
    assert got_v == want_v.tolist()


@pytest.mark.parametrize("func", ["max_over_time", "min_over_time", "avg_over_time", None])
def test_recent_buckets_come_from_raw_and_match_the_reference(
    db: tuple[TSDB, np.ndarray, np.ndarray], func: str | None
) -> None:
    store, ts, vs = db
    start = END - 90 * MIN  # partly aggregated, partly raw only
    hints = SelectHints(step_ms=MIN, func=func, range_ms=None if func is None else MIN)
    got_t, got_v = _select(store, start, END, hints)
    keep = ts >= start
    want_t, want_v, _ = reconstruct(downsample(ts[keep], vs[keep], MIN), func)
    assert got_t == want_t.tolist()
    assert np.allclose(got_v, want_v.tolist())


def test_a_select_without_step_is_raw(db: tuple[TSDB, np.ndarray, np.ndarray]) -> None:
    store, ts, _ = db
    got_t, _ = _select(store, END - 10 * MIN, END, None)
    assert got_t == ts[ts >= END - 10 * MIN].tolist()


def test_by_default_raw_answers_while_it_covers_the_range(
    db: tuple[TSDB, np.ndarray, np.ndarray],
) -> None:
    """Without ``coarse_step_tiers`` a coarse step reads raw samples while raw retention
    covers the range, and a tier only beyond it."""
    store, ts, vs = db
    store.options = dataclasses.replace(OPTS, coarse_step_tiers=False)
    recent = END - 30 * MIN
    got_t, got_v = _select(store, recent, END, SelectHints(step_ms=5 * MIN))
    keep = ts >= recent
    assert got_t == ts[keep].tolist()
    assert got_v == vs[keep].tolist()
    old_start, old_end = T0, T0 + HOUR - 1
    got_t, _ = _select(store, old_start, old_end, SelectHints(step_ms=5 * MIN))
    keep = (ts >= old_start) & (ts <= old_end)
    assert got_t == reconstruct(downsample(ts[keep], vs[keep], 5 * MIN), None)[0].tolist()
