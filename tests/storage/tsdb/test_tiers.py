"""The tier job on real chunks.db files written by a real TSDB: aggregates, retention,
max_bytes, vacuum, out-of-order rewrites, stopping and running beside ingestion; the per-tier
totals of chunk bytes and rows stay equal to a count of the rows through all of them."""

from __future__ import annotations

import sqlite3
import threading
import time
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from multimonx.model import STALE_NAN, Labels
from multimonx.storage import MAX_TIME_MS, MIN_TIME_MS
from multimonx.storage.journal import JournalSync
from multimonx.storage.tsdb import TSDB, ChunkCodec, TierUsage, TSDBOptions
from multimonx.storage.tsdb.downsample import Aggregates, downsample, merge
from multimonx.storage.tsdb.tiers import TierJob, read_tier, tiers_of
from tests.storage.tsdb.totals import counted, kept, manifests_exact

MIN = 60_000
HOUR = 3_600_000
RANGE = 10 * MIN
T0 = 1_000 * HOUR  # aligned to hours
OPTS = TSDBOptions(
    chunk_range_ms=RANGE,
    flush_delay_ms=0,
    log_sync=JournalSync.NORMAL,
    raw_retention_ms=1 * HOUR,
    minute_retention_ms=2 * HOUR,
    five_minute_retention_ms=4 * HOUR,
)
NAMES = ("raw", "1m", "5m")
AGG_FIELDS = ("timestamps", "bucket_start", "min", "max", "sum", "count", "last")
TABLES = ("chunks_raw", "chunks_1m", "chunks_5m")

Samples = dict[Labels, tuple[np.ndarray, np.ndarray]]


def L(i: int) -> Labels:
    return Labels.of({"__name__": "m", "i": str(i)})


def synthetic(n_series: int, hours: float, step_ms: int, seed: int = 1) -> Samples:
    """Counters, gauges with NaN, staleness markers and jittered timestamps."""
    rng = np.random.default_rng(seed)
    n = int(hours * HOUR / step_ms)
    out: Samples = {}
    for i in range(n_series):
        ts = T0 + np.arange(n, dtype=np.int64) * step_ms + rng.integers(0, step_ms // 3, n)
        if i % 2:
            vs = np.cumsum(rng.integers(0, 100, n)).astype(np.float64)
        else:
            vs = rng.normal(size=n)
            vs[rng.integers(0, n, 5)] = np.nan
        vs[rng.integers(0, n, 3)] = STALE_NAN
        out[L(i)] = (ts, vs)
    return out


def ingest(db: TSDB, samples: Samples, batch: int = 5000) -> None:
    rows = [
        (lbl, int(t), float(v))
        for lbl, (ts, vs) in samples.items()
        for t, v in zip(ts, vs, strict=True)
    ]
    for lo in range(0, len(rows), batch):
        app = db.appender()
        for lbl, t, v in rows[lo : lo + batch]:
            app.append(lbl, t, v)
        app.commit()


def bits(a: np.ndarray) -> list[int]:
    out: list[int] = np.asarray(a, dtype=np.float64).view(np.uint64).tolist()
    return out


def same(a: Aggregates, b: Aggregates) -> bool:
    return (
        a.timestamps.tolist() == b.timestamps.tolist()
        and a.bucket_start.tolist() == b.bucket_start.tolist()
        and all(
            bits(getattr(a, n)) == bits(getattr(b, n))
            for n in ("min", "max", "sum", "count", "last")
        )
    )


def since(a: Aggregates, t: int) -> Aggregates:
    keep = a.timestamps >= t
    names = ("timestamps", "bucket_start", "min", "max", "sum", "count", "last")
    return Aggregates(*(getattr(a, n)[keep] for n in names))


def samples_meta(path: Path) -> int:
    with sqlite3.connect(path) as conn:
        return int(conn.execute("SELECT value FROM meta WHERE key = 'samples'").fetchone()[0])


def raw_samples(path: Path) -> int:
    with sqlite3.connect(path) as conn:
        return int(conn.execute("SELECT total(count) FROM chunks_raw").fetchone()[0])


def rows(path: Path, table: str) -> list[tuple[int, int]]:
    with sqlite3.connect(path) as conn:
        return [
            (int(a), int(b))
            for a, b in conn.execute(f"SELECT series_id, mint FROM {table} ORDER BY mint")
        ]


def pragma(path: Path, name: str) -> int:
    with sqlite3.connect(path) as conn:
        return int(conn.execute(f"PRAGMA {name}").fetchone()[0])


def tier(
    path: Path, name: str, sids: list[int], lo: int = MIN_TIME_MS, hi: int = MAX_TIME_MS
) -> dict[int, Aggregates]:
    with sqlite3.connect(path) as conn:
        return read_tier(conn, ChunkCodec(), name, sids, lo, hi, range_ms=RANGE)


@pytest.fixture
def store(tmp_path: Path) -> Iterator[tuple[TSDB, Path]]:
    db = TSDB.open(tmp_path, options=OPTS)
    yield db, tmp_path / "chunks.db"
    db.close()


@pytest.fixture
def deleted() -> list[int]:
    return []


@pytest.fixture
def changes() -> list[TierUsage]:
    return []


@pytest.fixture
def job(
    store: tuple[TSDB, Path], deleted: list[int], changes: list[TierUsage]
) -> Iterator[TierJob]:
    j = TierJob(store[1], OPTS, on_raw_deleted=deleted.append, on_usage=changes.append)
    yield j
    j.close()


def totals_right(db: TSDB, path: Path, changes: list[TierUsage]) -> bool:
    """The tier totals in meta equal a count of the rows, and so do the engine's copy (which
    follows its flushes) plus the changes the job reported; the chunk manifests list exactly
    the raw rows of the windows they cover."""
    return kept(path) == counted(path) == sum(changes, db.tier_usage()) and manifests_exact(
        path, RANGE
    )


def expected(
    samples: Samples, sid_of: dict[Labels, int], before: int, bucket: int
) -> dict[int, Aggregates]:
    out = {}
    for lbl, (ts, vs) in samples.items():
        keep = ts < before
        out[sid_of[lbl]] = downsample(ts[keep], vs[keep], bucket)
    return out


def sids(db: TSDB, samples: Samples) -> dict[Labels, int]:
    return {lbl: db.index.ids[lbl] for lbl in samples}


def test_schema_has_tiers_and_incremental_vacuum(store: tuple[TSDB, Path]) -> None:
    path = store[1]
    assert pragma(path, "auto_vacuum") == 2  # INCREMENTAL
    with sqlite3.connect(path) as conn:
        names = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    assert {"chunks_raw", "chunks_1m", "chunks_5m", "meta", "series"} <= names


def test_aggregates_equal_reference(store: tuple[TSDB, Path], job: TierJob) -> None:
    db, path = store
    data = synthetic(6, 2.5, 15_000)
    ingest(db, data)
    end = T0 + 2 * HOUR + 5 * MIN  # windows before T0 + 2h are closed
    db.flush(end)
    report = job.run_once(end)
    assert report.rows_aggregated == 6 * 12
    # Raw is kept 1 h: the windows that ended before T0 + 1h05 went, after aggregation.
    assert (report.deleted_raw, report.deleted_1m, report.deleted_5m) == (6 * 6, 0, 0)
    sid_of = sids(db, data)
    closed = T0 + 2 * HOUR
    ref = expected(data, sid_of, closed, MIN)
    got1 = tier(path, "1m", list(ref))
    got5 = tier(path, "5m", list(ref))
    assert report.buckets_1m == sum(len(a) for a in ref.values())
    for sid, want in ref.items():
        assert same(got1[sid], want)
        assert same(got5[sid], merge(got1[sid], 5 * MIN))
        assert same(got5[sid], merge(want, 5 * MIN))
    # A second run has nothing to do; a later one takes the next closed windows only.
    assert job.run_once(end).rows_aggregated == 0
    db.flush(T0 + 3 * HOUR)
    assert job.run_once(T0 + 2 * HOUR + 30 * MIN).rows_aggregated == 6 * 3
    ref = expected(data, sid_of, MAX_TIME_MS, MIN)
    got1 = tier(path, "1m", list(ref))
    # 1m is kept 2 h: the windows that ended before T0 + 30 min went.
    assert all(same(got1[sid], since(want, T0 + 30 * MIN)) for sid, want in ref.items())


def test_read_tier_selects_by_bucket_timestamp(store: tuple[TSDB, Path], job: TierJob) -> None:
    db, path = store
    data = synthetic(2, 1, 10_000)
    ingest(db, data)
    db.flush(T0 + 2 * HOUR)
    job.run_once(T0 + 2 * HOUR)
    sid = sids(db, data)[L(0)]
    lo, hi = T0 + 17 * MIN + 1, T0 + 33 * MIN
    full = tier(path, "1m", [sid])[sid]
    part = tier(path, "1m", [sid], lo, hi)[sid]
    keep = (full.timestamps >= lo) & (full.timestamps <= hi)
    assert part.timestamps.tolist() == full.timestamps[keep].tolist()
    assert bits(part.last) == bits(full.last[keep])
    assert tier(path, "5m", [sid], T0 - HOUR, T0 - 1) == {}


def test_retention_keeps_unaggregated_raw_and_reclaims_space(
    store: tuple[TSDB, Path], job: TierJob, deleted: list[int], changes: list[TierUsage]
) -> None:
    db, path = store
    data = synthetic(20, 3, 5_000)
    ingest(db, data)
    total = sum(len(ts) for ts, _ in data.values())
    db.flush(T0 + 3 * HOUR)
    report = job.run_once(T0 + 3 * HOUR)
    # raw kept 1 h, 1m 2 h, 5m 4 h: whole windows that ended before now - retention go.
    assert report.deleted_raw == 20 * 12
    assert len(rows(path, "chunks_raw")) == 20 * 6
    assert len(rows(path, "chunks_1m")) == 20 * 12
    assert len(rows(path, "chunks_5m")) == 20 * 18
    assert samples_meta(path) == raw_samples(path)
    assert totals_right(db, path, changes)
    assert counted(path).chunks == (20 * 6, 20 * 12, 20 * 18)
    # Backfill into a window whose raw row has expired (its 1m row has not): the new raw
    # row is not aggregated yet, and retention alone must not delete it.
    sid = sids(db, data)[L(0)]
    t_late = T0 + 90 * MIN + 1
    app = db.appender()
    app.append(L(0), t_late, 42.0)
    app.commit()
    db.flush(T0 + 3 * HOUR)
    late = T0 + 3 * HOUR + 30 * MIN
    job._retention(late)  # the retention phase alone, as if a flush raced the downsampling
    left = rows(path, "chunks_raw")
    assert (sid, t_late) in left
    assert len(left) == 20 * 3 + 1
    assert totals_right(db, path, changes)
    # The next full run aggregates it, then deletes it.
    report = job.run_once(late)
    assert report.rescanned
    assert report.rows_aggregated == 1
    assert (sid, t_late) not in rows(path, "chunks_raw")
    assert samples_meta(path) == raw_samples(path)
    assert totals_right(db, path, changes)
    # The bucket it fell into already had its aggregate: the stored one wins (the raw row
    # expired, so the backfill cannot be merged with the samples it summarised).
    ts, vs = data[L(0)]
    keep = (ts >= T0 + 90 * MIN) & (ts < T0 + 100 * MIN)
    want = downsample(ts[keep], vs[keep], MIN)
    got = tier(path, "1m", [sid], T0 + 90 * MIN, T0 + 100 * MIN - 1)[sid]
    assert same(got, want)
    # Later still, everything expires and the file shrinks.
    pages = pragma(path, "page_count")
    n1, n5 = len(rows(path, "chunks_1m")), len(rows(path, "chunks_5m"))
    report = job.run_once(T0 + 10 * HOUR)
    assert (report.deleted_raw, report.deleted_1m, report.deleted_5m) == (20 * 3, n1, n5)
    assert all(rows(path, t) == [] for t in TABLES)
    assert samples_meta(path) == 0
    assert totals_right(db, path, changes)
    assert kept(path) == TierUsage()
    assert sum(deleted) == total + 1
    assert report.bytes_reclaimed > 0
    assert pragma(path, "freelist_count") == 0
    assert pragma(path, "page_count") < pages


def test_out_of_order_backfill_updates_aggregates(
    store: tuple[TSDB, Path], job: TierJob, changes: list[TierUsage]
) -> None:
    db, path = store
    data = synthetic(3, 1, 15_000)  # raw kept 1 h: runs at T0 + 1 h delete nothing
    ingest(db, data)
    db.flush(T0 + HOUR)
    assert not job.run_once(T0 + HOUR).rescanned
    assert totals_right(db, path, changes)
    before = counted(path)
    # Backfill into aggregated windows: a new first sample (the raw row's mint moves), an
    # extreme value in the middle, and a staleness marker.
    extra = {
        L(0): [(T0 + 1, 1e9)],
        L(1): [(T0 + 20 * MIN + 3, -1e9)],
        L(2): [(T0 + 44 * MIN + 2, STALE_NAN)],
    }
    app = db.appender()
    for lbl, pts in extra.items():
        for t, v in pts:
            app.append(lbl, t, v)
    app.commit()
    db.flush(T0 + HOUR)
    report = job.run_once(T0 + HOUR)
    assert report.rescanned
    assert report.rows_aggregated == 3
    # Rewritten rows replaced their old ones: same rows, other sizes, totals still exact.
    assert totals_right(db, path, changes)
    assert counted(path).chunks == before.chunks
    assert counted(path).nbytes != before.nbytes
    sid_of = sids(db, data)
    for lbl, (ts, vs) in data.items():
        t2 = np.append(ts, [t for t, _ in extra[lbl]])
        v2 = np.append(vs, [v for _, v in extra[lbl]])
        order = np.argsort(t2)
        want = downsample(t2[order], v2[order], MIN)
        sid = sid_of[lbl]
        got1 = tier(path, "1m", [sid])[sid]
        assert same(got1, want)
        assert same(tier(path, "5m", [sid])[sid], merge(want, 5 * MIN))
    assert not job.run_once(T0 + HOUR).rescanned
    assert len(rows(path, "chunks_1m")) == 3 * 6


def test_backfill_after_raw_expiry_only_fills_empty_buckets(
    store: tuple[TSDB, Path], job: TierJob, changes: list[TierUsage]
) -> None:
    db, path = store
    data = synthetic(1, 1, 15_000)
    ((lbl, (ts, vs)),) = data.items()
    gap = (ts >= T0 + 15 * MIN) & (ts < T0 + 16 * MIN)  # an empty minute to fill later
    data = {lbl: (ts[~gap], vs[~gap])}
    ingest(db, data)
    db.flush(T0 + HOUR)
    job.run_once(T0 + HOUR)
    sid = sids(db, data)[lbl]
    now = T0 + HOUR + 35 * MIN  # raw rows of windows ending before T0 + 35 min are gone
    job.run_once(now)
    before1 = tier(path, "1m", [sid])[sid]
    before5 = tier(path, "5m", [sid])[sid]
    assert not [r for r in rows(path, "chunks_raw") if r[1] < T0 + 30 * MIN]
    # Late samples for the expired window [T0 + 10 min, T0 + 20 min): one into a minute that
    # has its aggregate (must not change it), one into the empty minute (fills it).
    app = db.appender()
    app.append(lbl, T0 + 12 * MIN + 7, 1e9)
    app.append(lbl, T0 + 15 * MIN + 30_000, 7.0)
    app.commit()
    db.flush(now)
    assert job.run_once(now).rows_aggregated == 1
    assert totals_right(db, path, changes)
    after1 = tier(path, "1m", [sid])[sid]
    filled = after1.bucket_start == T0 + 15 * MIN
    assert after1.count[filled].tolist() == [1.0]
    assert after1.sum[filled].tolist() == [7.0]
    assert same(
        Aggregates(*(getattr(after1, n)[~filled] for n in AGG_FIELDS)),
        before1,
    )
    after5 = tier(path, "5m", [sid])[sid]
    assert same(after5, merge(after1, 5 * MIN))
    changed = after5.bucket_start == T0 + 15 * MIN
    assert after5.count[changed] == before5.count[before5.bucket_start == T0 + 15 * MIN] + 1
    assert same(
        Aggregates(*(getattr(after5, n)[~changed] for n in AGG_FIELDS)),
        Aggregates(
            *(getattr(before5, n)[before5.bucket_start != T0 + 15 * MIN] for n in AGG_FIELDS)
        ),
    )


@pytest.mark.parametrize("fraction", [0.7, 0.0], ids=["some-raw", "everything"])
def test_max_bytes_trims_oldest_first(
    store: tuple[TSDB, Path], job: TierJob, changes: list[TierUsage], fraction: float
) -> None:
    db, path = store
    data = synthetic(40, 3, 5_000)
    ingest(db, data)
    db.flush(T0 + 3 * HOUR)
    now = T0 + 3 * HOUR
    job.run_once(now)
    before = {t: rows(path, t) for t in TABLES}
    used = (pragma(path, "page_count") - pragma(path, "freelist_count")) * pragma(path, "page_size")
    cap = max(int(used * fraction), 1)
    capped = TierJob(path, replace(OPTS, max_bytes=cap), on_usage=changes.append)
    try:
        report = capped.run_once(now)
    finally:
        capped.close()
    after = {t: rows(path, t) for t in TABLES}
    if fraction:
        assert pragma(path, "page_count") * pragma(path, "page_size") <= cap
        assert 0 < report.deleted_raw < len(before["chunks_raw"])
        # What is left is the newest windows, and the tiers are untouched.
        oldest_left = min(m for _, m in after["chunks_raw"])
        assert all(
            m >= oldest_left - oldest_left % RANGE
            for _, m in before["chunks_raw"]
            if (_, m) in after["chunks_raw"]
        )
        assert max(m for _, m in set(before["chunks_raw"]) - set(after["chunks_raw"])) < oldest_left
        assert after["chunks_1m"] == before["chunks_1m"]
        assert after["chunks_5m"] == before["chunks_5m"]
    else:
        assert after == {t: [] for t in TABLES}
        assert report.deleted_5m == len(before["chunks_5m"])
    assert report.bytes_reclaimed > 0
    assert pragma(path, "freelist_count") == 0
    assert totals_right(db, path, changes)


def test_stop_is_prompt(store: tuple[TSDB, Path]) -> None:
    db, path = store
    ingest(db, synthetic(30, 3, 5_000))
    db.flush(T0 + 3 * HOUR)
    j = TierJob(
        path, replace(OPTS, tier_interval_s=0.01), clock=lambda: T0 + 3 * HOUR, batch_rows=4
    )
    try:
        j.start()
        deadline = time.monotonic() + 30
        while not rows(path, "chunks_1m") and time.monotonic() < deadline:
            time.sleep(0.01)
        t = time.monotonic()
        j.stop()
        assert time.monotonic() - t < 5
        idle = TierJob(path, replace(OPTS, tier_interval_s=3600))
        idle.start()
        t = time.monotonic()
        idle.stop()
        idle.close()
        assert time.monotonic() - t < 5
    finally:
        j.close()


def test_runs_while_ingesting_and_flushing(
    store: tuple[TSDB, Path], job: TierJob, changes: list[TierUsage]
) -> None:
    db, path = store
    data = synthetic(10, 4, 10_000)
    step = 5 * MIN
    virtual = [T0]
    errors: list[BaseException] = []
    done = threading.Event()
    ran = threading.Event()

    def writer() -> None:
        try:
            for lo in range(T0, T0 + 4 * HOUR, step):
                part = {
                    lbl: (ts[(ts >= lo) & (ts < lo + step)], vs[(ts >= lo) & (ts < lo + step)])
                    for lbl, (ts, vs) in data.items()
                }
                ingest(db, part)
                virtual[0] = lo + step
                db.flush(lo + step)
                if (lo - T0) % HOUR == 0:  # let the job run between writes, however slow
                    ran.clear()
                    ran.wait(60)
        except BaseException as err:  # pragma: no cover - reported below
            errors.append(err)
        finally:
            done.set()

    runs = [0]

    def tiers() -> None:
        try:
            while not done.is_set():
                job.run_once(virtual[0])
                runs[0] += 1
                ran.set()
        except BaseException as err:  # pragma: no cover - reported below
            errors.append(err)

    threads = [threading.Thread(target=writer), threading.Thread(target=tiers)]
    for th in threads:
        th.start()
    for th in threads:
        th.join(120)
    assert errors == []
    assert runs[0] > 1
    assert db.counters().flush_failures == 0
    job.run_once(T0 + 4 * HOUR)
    sid_of = sids(db, data)
    ref = expected(data, sid_of, T0 + 4 * HOUR, MIN)
    got = tier(path, "1m", list(ref))
    oldest = T0 + 4 * HOUR - 2 * HOUR  # 1m retention
    for sid, want in ref.items():
        assert same(got[sid], since(want, oldest))
    assert totals_right(db, path, changes)


def test_tiers_of_and_validation(tmp_path: Path) -> None:
    assert [(t.name, t.bucket_ms, t.retention_ms) for t in tiers_of(OPTS)] == [
        ("raw", 0, HOUR),
        ("1m", MIN, 2 * HOUR),
        ("5m", 5 * MIN, 4 * HOUR),
    ]
    with pytest.raises(ValueError, match="multiple of 5 minutes"):
        TierJob(tmp_path / "chunks.db", replace(OPTS, chunk_range_ms=7 * MIN))


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"raw_retention_ms": 0}, "retention"),
        ({"raw_retention_ms": 3 * HOUR}, "retention"),
        ({"minute_retention_ms": 5 * HOUR}, "retention"),
        ({"max_bytes": 0}, "max_bytes"),
        ({"tier_interval_s": 0.0}, "tier_interval_s"),
    ],
)
def test_options_validation(changes: dict[str, int | float], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        replace(OPTS, **changes)  # type: ignore[arg-type]
