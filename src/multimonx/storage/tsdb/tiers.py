"""The tier job: 1-minute and 5-minute aggregates of closed raw windows, retention and vacuum
(docs/storage.md, "Tiers and retention").

Tier rows. ``chunks_1m``/``chunks_5m`` hold one row per raw row (one series, one aligned window
of ``chunk_range_ms``): ``data`` is ``ChunkCodec.encode_columns`` of the buckets' timestamps
(the bucket's last raw sample) and the columns ``min, max, sum, count, last``; ``bucket_start``
is not stored, it is ``floor(timestamp / bucket_ms) * bucket_ms``. ``mint``, ``maxt`` and
``count`` are those of the raw row the aggregates were computed from (``count`` = raw samples,
staleness markers included): they are the row's *fingerprint*. A raw row is aggregated iff a
1m row with the same ``(series_id, mint, maxt, count)`` exists; 1m and 5m rows of a window are
always written in the same transaction. Every bucket of a tier row lies inside its raw row's
window (windows hold whole 5-minute buckets: ``chunk_range_ms`` must be a multiple of 5 min).

Progress. ``meta['tier_through']``: every raw window below it has been aggregated once.
Windows below it change only when a flush merges out-of-order samples into them (it rewrites
the raw row with more samples). Detecting that without scanning the whole raw table:
``meta['samples']`` (maintained by the flush, decremented here when retention deletes raw rows)
grows by exactly the samples the flush added. ``meta['tier_samples_seen']`` is its value when
the last run started. If it grew by more than the samples of the newly closed windows, some
older window was rewritten: that run scans the raw rows below ``tier_through`` for rows whose
fingerprint has no 1m row and aggregates them again (rare: backfill after an outage).

Re-aggregating a window: the new buckets replace the stored buckets they overlap and the
stored buckets they do not overlap are kept. A rewritten raw row holds every sample it held
before, so this equals aggregating from scratch. A backfill into a window whose raw row has
already expired (the window ended more than the raw retention ago) is the exception: its new
raw row holds the backfilled samples only, so there the stored buckets win and the backfill
only fills buckets that had none (first value wins, at bucket granularity).

Every transaction that writes or deletes tier rows also updates the per-tier totals of chunk
bytes and rows in ``meta`` (``usage.store``; an aggregated window's old rows are subtracted,
their replacements added) and, once committed, reports the change through ``on_usage``.

Retention works on whole windows: a row goes once its window ended more than the tier's
retention ago (its ``maxt`` is then older too). Raw rows go only when aggregated (fingerprint
match), checked inside the deleting transaction. With ``max_bytes``, the oldest aggregated raw
windows go first, then the oldest 1m windows, then 5m, until the used pages fit. Freed pages
are returned by ``PRAGMA incremental_vacuum(N)`` through ``executescript`` in bounded steps.
Write transactions are short (one page of rows, computed beforehand); WAL readers are never
blocked, and the flush waits at most one page for the write lock (busy_timeout).
"""

from __future__ import annotations

import dataclasses
import json
import logging
import sqlite3
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Final

import numpy as np

from multimonx.model import now_ms as clock_ms
from multimonx.storage.interface import MAX_TIME_MS, MIN_TIME_MS
from multimonx.storage.tsdb import chunks, manifest
from multimonx.storage.tsdb.chunkenc import ChunkCodec, ChunkFormatError
from multimonx.storage.tsdb.downsample import Aggregates, Tier, downsample, merge
from multimonx.storage.tsdb.options import TSDBOptions
from multimonx.storage.tsdb.usage import TIER_TABLES, TierUsage, store

log = logging.getLogger(__name__)

MINUTE_MS: Final = 60_000
FIVE_MINUTES_MS: Final = 300_000
META_THROUGH: Final = "tier_through"
"""Every raw window starting below this has been aggregated at least once."""
META_SEEN: Final = "tier_samples_seen"
"""``meta['samples']`` when the last tier run started (minus what retention deleted since)."""

_BUCKETS: Final = {"1m": MINUTE_MS, "5m": FIVE_MINUTES_MS}
_VACUUM_PAGES: Final = 1024
"""Pages returned per incremental_vacuum step (16 MiB at 16 KiB pages)."""

RawRow = tuple[int, int, int, int, bytes]
"""(series_id, mint, maxt, count, data) of a chunks_raw row."""


def tiers_of(options: TSDBOptions) -> tuple[Tier, Tier, Tier]:
    """The engine's tiers (raw, 1m, 5m) with their retention, for ``choose_tier``."""
    return (
        Tier("raw", 0, options.raw_retention_ms),
        Tier("1m", MINUTE_MS, options.minute_retention_ms),
        Tier("5m", FIVE_MINUTES_MS, options.five_minute_retention_ms),
    )


@dataclass(frozen=True, slots=True)
class TierReport:
    """What one tier run did: raw rows (series windows) aggregated, buckets written per tier,
    rows deleted per tier, bytes returned to the file system, whether a rewrite scan ran,
    and how long each phase took (seconds; ``seconds`` is the whole run)."""

    rows_aggregated: int = 0
    buckets_1m: int = 0
    buckets_5m: int = 0
    deleted_raw: int = 0
    deleted_1m: int = 0
    deleted_5m: int = 0
    bytes_reclaimed: int = 0
    rescanned: bool = False
    downsample_s: float = 0.0
    retention_s: float = 0.0
    vacuum_s: float = 0.0

    @property
    def seconds(self) -> float:
        """How long the run took (its phases summed)."""
        return self.downsample_s + self.retention_s + self.vacuum_s


def _add(a: TierReport, b: TierReport) -> TierReport:
    """Two reports summed field by field."""
    return TierReport(
        *(
            (x or y) if isinstance(x, bool) else x + y
            for x, y in zip(dataclasses.astuple(a), dataclasses.astuple(b), strict=True)
        )
    )


@dataclass(slots=True)
class _Tally:
    rows: int = 0
    b1: int = 0
    b5: int = 0
    deleted: tuple[int, int, int] = (0, 0, 0)


def _on(table: str, sql: str) -> str:
    """``sql`` with TABLE replaced by one of the engine's chunk tables (never user input)."""
    if table not in TIER_TABLES.values():
        raise ValueError(f"not a chunk table: {table!r}")
    return sql.replace("TABLE", table)


def encode_aggregates(codec: ChunkCodec, aggs: Aggregates) -> bytes:
    """A tier row's ``data``: the timestamps and the columns min, max, sum, count, last."""
    return codec.encode_columns(
        aggs.timestamps, [aggs.min, aggs.max, aggs.sum, aggs.count, aggs.last]
    )


def decode_aggregates(codec: ChunkCodec, data: bytes, bucket_ms: int) -> Aggregates:
    """Inverse of ``encode_aggregates`` (``bucket_start`` recomputed from the timestamps)."""
    ts, cols = codec.decode_columns(data)
    if len(cols) != 5:
        raise ChunkFormatError(f"a tier chunk has 5 columns, got {len(cols)}")
    return Aggregates(ts, ts // bucket_ms * bucket_ms, *cols)


def concat(parts: Sequence[Aggregates]) -> Aggregates:
    """Buckets of consecutive, non-overlapping parts, in order."""
    if not parts:
        return Aggregates.empty()
    if len(parts) == 1:
        return parts[0]
    names = ("timestamps", "bucket_start", "min", "max", "sum", "count", "last")
    return Aggregates(*(np.concatenate([getattr(p, n) for p in parts]) for n in names))


def overlay(old: Aggregates | None, new: Aggregates) -> Aggregates:
    """``new``'s buckets plus those of ``old`` that ``new`` has no bucket for, in time order."""
    if old is None or len(old) == 0:
        return new
    keep = ~np.isin(old.bucket_start, new.bucket_start)
    if not bool(keep.any()):
        return new
    names = ("timestamps", "bucket_start", "min", "max", "sum", "count", "last")
    both = [np.concatenate((getattr(old, n)[keep], getattr(new, n))) for n in names]
    order = np.argsort(both[1], kind="stable")
    return Aggregates(*(a[order] for a in both))


def read_tier(  # noqa: PLR0917 (the querier's call shape, as in the design)
    db: sqlite3.Connection,
    codec: ChunkCodec,
    tier_name: str,
    series_ids: Iterable[int],
    mint: int,
    maxt: int,
    *,
    range_ms: int,
) -> dict[int, Aggregates]:
    """The buckets of tier ``tier_name`` ("1m" or "5m") whose timestamp (the bucket's last
    sample) lies in ``[mint, maxt]``, per series (series without any are left out).
    ``range_ms`` is the engine's ``chunk_range_ms``: rows are found by their window."""
    table = TIER_TABLES[tier_name]
    bucket_ms = _BUCKETS[tier_name]
    low = chunks.window_bounds(max(mint, MIN_TIME_MS), range_ms)[0]
    high = chunks.window_bounds(min(maxt, MAX_TIME_MS), range_ms)[1]
    rows = db.execute(
        _on(
            table,
            "SELECT series_id, data FROM TABLE WHERE series_id IN "
            "(SELECT value FROM json_each(?)) AND mint >= ? AND mint <= ? "
            "ORDER BY series_id, mint",
        ),
        (json.dumps(list(series_ids)), low, high),
    ).fetchall()
    by_series: dict[int, list[Aggregates]] = {}
    for sid, data in rows:
        by_series.setdefault(sid, []).append(decode_aggregates(codec, bytes(data), bucket_ms))
    out: dict[int, Aggregates] = {}
    names = ("timestamps", "bucket_start", "min", "max", "sum", "count", "last")
    for sid, parts in by_series.items():
        aggs = concat(parts)
        inside = (aggs.timestamps >= mint) & (aggs.timestamps <= maxt)
        if bool(inside.any()):
            out[sid] = Aggregates(*(getattr(aggs, n)[inside] for n in names))
    return out


class TierJob:
    """Downsampling, retention and vacuum of one ``chunks.db``, on its own connection.

    ``run_once`` does one pass; ``start`` runs it every ``options.tier_interval_s`` in a
    daemon thread, ``stop`` ends it promptly (a run in progress stops between pages).
    ``clock`` gives the time in ms for background runs. One job per file. ``batch_rows``:
    raw rows per write transaction. ``on_raw_deleted(samples)`` is called after each
    transaction that deleted raw rows (``meta['samples']`` is already lowered on disk; an
    engine keeping the count in memory lowers its own copy there). ``on_usage(change)`` is
    called after each transaction that changed the chunk tables, with the change of the tier
    totals it stored in meta (``usage.TierUsage``), for the engine's copy in memory.
    """

    def __init__(
        self,
        chunks_db_path: Path,
        options: TSDBOptions,
        clock: Callable[[], int] = clock_ms,
        *,
        batch_rows: int = 256,
        on_raw_deleted: Callable[[int], None] | None = None,
        on_usage: Callable[[TierUsage], None] | None = None,
    ) -> None:
        if options.chunk_range_ms % FIVE_MINUTES_MS:
            raise ValueError("tiers need chunk_range_ms to be a multiple of 5 minutes")
        if batch_rows <= 0:
            raise ValueError("batch_rows must be positive")
        self.options = options
        self._clock = clock
        self._batch = batch_rows
        self._on_raw_deleted = on_raw_deleted
        self._on_usage = on_usage
        self._totals = TierReport()  # sums of every run, for the engine's own metrics
        self._last: TierReport | None = None
        self._range = options.chunk_range_ms
        self._raw_horizon = MIN_TIME_MS  # windows ending before it lost their raw rows
        self._db = chunks.open_writer(chunks_db_path)
        self._db.execute("PRAGMA busy_timeout=60000")
        self._codec = ChunkCodec()
        self._run_lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    # -- lifecycle ----------------------------------------------------------------------

    def start(self) -> None:
        """Run ``run_once`` every ``tier_interval_s`` in a daemon thread."""
        if self._thread is not None:
            return
        self._stop.clear()
        self._thread = threading.Thread(target=self._loop, name="tsdb-tiers", daemon=True)
        self._thread.start()

    def stop(self, timeout_s: float = 30.0) -> None:
        """Stop the background thread (a run in progress stops after its current page)."""
        thread, self._thread = self._thread, None
        if thread is not None:
            self._stop.set()
            thread.join(timeout_s)

    def close(self) -> None:
        """Stop and close the connection."""
        self.stop()
        with self._run_lock:
            self._db.close()

    def _loop(self) -> None:
        while not self._stop.wait(self.options.tier_interval_s):
            try:
                self.run_once(self._clock())
            except Exception:
                log.exception("tsdb: tier run failed (retried next interval)")

    # -- one run --------------------------------------------------------------------------

    def run_once(self, now_ms: int) -> TierReport:
        """Aggregate closed windows, apply retention and ``max_bytes``, vacuum."""
        with self._run_lock:
            self._raw_horizon = now_ms - self.options.raw_retention_ms
            tally = _Tally()
            t0 = time.monotonic()
            rescanned = self._downsample(tally)
            t1 = time.monotonic()
            if not self._stop.is_set():
                tally.deleted = self._retention(now_ms)
            t2 = time.monotonic()
            reclaimed = 0 if self._stop.is_set() else self._vacuum()
            t3 = time.monotonic()
            report = TierReport(
                rows_aggregated=tally.rows,
                buckets_1m=tally.b1,
                buckets_5m=tally.b5,
                deleted_raw=tally.deleted[0],
                deleted_1m=tally.deleted[1],
                deleted_5m=tally.deleted[2],
                bytes_reclaimed=reclaimed,
                rescanned=rescanned,
                downsample_s=t1 - t0,
                retention_s=t2 - t1,
                vacuum_s=t3 - t2,
            )
            self._totals = _add(self._totals, report)
            self._last = report
            return report

    def totals(self) -> TierReport:
        """Every run's report summed (``rescanned``: whether any run rescanned)."""
        return self._totals

    def last_run(self) -> TierReport | None:
        """The latest run's report (None before the first run)."""
        return self._last

    def _downsample(self, tally: _Tally) -> bool:
        db = self._db
        db.execute("BEGIN")
        try:
            samples = chunks.get_meta(db, chunks.META_SAMPLES, 0)
            closed = chunks.get_meta(db, chunks.META_FLUSHED_BEFORE, MIN_TIME_MS)
            through = chunks.get_meta(db, META_THROUGH, MIN_TIME_MS)
            seen = chunks.get_meta(db, META_SEEN, 0)
            fresh = self._sum_counts(through, closed)
        finally:
            db.execute("COMMIT")
        rescan = samples - seen != fresh and through > MIN_TIME_MS
        if rescan:
            stale = db.execute(
                "SELECT r.series_id, r.mint FROM series s CROSS JOIN chunks_raw r "
                "ON r.series_id = s.id AND r.mint < ? "
                "LEFT JOIN chunks_1m a ON a.series_id = r.series_id AND a.mint = r.mint "
                "WHERE a.series_id IS NULL OR a.maxt != r.maxt OR a.count != r.count",
                (through,),
            ).fetchall()
            for lo in range(0, len(stale), self._batch):
                if self._stop.is_set():
                    return rescan
                keys = stale[lo : lo + self._batch]
                found = [self._raw_row(int(sid), int(m)) for sid, m in keys]
                self._aggregate([r for r in found if r is not None], tally, None)
        start = through
        while start < closed and not self._stop.is_set():
            first = self._next_mint("chunks_raw", start)
            if first is None or first >= closed:
                break
            window = chunks.window_bounds(first, self._range)[0]
            end = window + self._range
            after = -1
            while not self._stop.is_set():
                rows = self._window_page(window, end, after)
                last = len(rows) < self._batch
                self._aggregate(rows, tally, end if last else None)
                if last:
                    break
                after = rows[-1][0]
            start = end
        if self._stop.is_set():
            return rescan
        db.execute("BEGIN IMMEDIATE")
        try:
            if chunks.get_meta(db, META_THROUGH, MIN_TIME_MS) < closed:
                chunks.set_meta(db, META_THROUGH, closed)
            chunks.set_meta(db, META_SEEN, samples)
            db.execute("COMMIT")
        except BaseException:
            db.execute("ROLLBACK")
            raise
        return rescan

    def _sum_counts(self, lo: int, hi: int) -> int:
        """Samples in raw rows with ``lo <= mint < hi`` (inside the caller's transaction)."""
        if hi <= lo:
            return 0
        row = self._db.execute(
            "SELECT total(r.count) FROM series s CROSS JOIN chunks_raw r "
            "ON r.series_id = s.id AND r.mint >= ? AND r.mint < ?",
            (lo, hi),
        ).fetchone()
        return int(row[0])

    def _next_mint(self, table: str, start: int) -> int | None:
        """The smallest ``mint >= start`` in ``table`` (one index lookup per series)."""
        row = self._db.execute(
            _on(
                table,
                "SELECT min((SELECT min(mint) FROM TABLE WHERE series_id = s.id AND mint >= ?)) "
                "FROM series s",
            ),
            (start,),
        ).fetchone()
        return None if row[0] is None else int(row[0])

    def _window_page(self, lo: int, hi: int, after_sid: int) -> list[RawRow]:
        rows = self._db.execute(
            "SELECT r.series_id, r.mint, r.maxt, r.count, r.data FROM series s "
            "CROSS JOIN chunks_raw r ON r.series_id = s.id AND r.mint >= ? AND r.mint < ? "
            "WHERE s.id > ? ORDER BY s.id, r.mint LIMIT ?",
            (lo, hi, after_sid, self._batch),
        ).fetchall()
        return [(int(a), int(b), int(c), int(d), bytes(e)) for a, b, c, d, e in rows]

    def _raw_row(self, sid: int, mint: int) -> RawRow | None:
        row = self._db.execute(
            "SELECT series_id, mint, maxt, count, data FROM chunks_raw "
            "WHERE series_id = ? AND mint = ?",
            (sid, mint),
        ).fetchone()
        if row is None:
            return None
        return int(row[0]), int(row[1]), int(row[2]), int(row[3]), bytes(row[4])

    def _old(self, table: str, sid: int, lo: int, hi: int, bucket_ms: int) -> Aggregates | None:
        rows = self._db.execute(
            _on(
                table,
                "SELECT data FROM TABLE WHERE series_id = ? AND mint >= ? AND mint <= ? "
                "ORDER BY mint",
            ),
            (sid, lo, hi),
        ).fetchall()
        if not rows:
            return None
        return concat([decode_aggregates(self._codec, bytes(r[0]), bucket_ms) for r in rows])

    def _aggregate(self, rows: Sequence[RawRow], tally: _Tally, through: int | None) -> None:
        """Compute and write the 1m and 5m rows of ``rows`` in one short transaction (raw
        rows rewritten meanwhile are skipped: the next run's check finds them); then move
        ``tier_through`` to ``through`` if given."""
        codec = self._codec
        out: list[tuple[RawRow, int, int, bytes, bytes, int, int]] = []
        for row in rows:
            sid, mint, _, _, data = row
            lo, hi = chunks.window_bounds(mint, self._range)
            ts, vs = codec.decode(data)
            old1 = self._old("chunks_1m", sid, lo, hi, MINUTE_MS)
            old5 = self._old("chunks_5m", sid, lo, hi, FIVE_MINUTES_MS)
            new1 = downsample(ts, vs, MINUTE_MS)
            if hi >= self._raw_horizon:  # the raw row holds the whole window
                m1 = overlay(old1, new1)
                m5 = overlay(old5, merge(m1, FIVE_MINUTES_MS))
            elif old1 is not None:  # a backfill after the raw row expired: stored buckets win
                m1 = overlay(new1, old1)
                m5 = overlay(old5, merge(m1, FIVE_MINUTES_MS))
            else:  # the same with the 1m buckets expired too
                m1 = new1
                m5 = merge(new1, FIVE_MINUTES_MS)
                m5 = m5 if old5 is None else overlay(m5, old5)
            out.append(
                (
                    row,
                    lo,
                    hi,
                    encode_aggregates(codec, m1),
                    encode_aggregates(codec, m5),
                    len(m1),
                    len(m5),
                )
            )
        db = self._db
        change = TierUsage()
        db.execute("BEGIN IMMEDIATE")
        try:
            for (sid, mint, maxt, count, _), lo, hi, b1, b5, n1, n5 in out:
                now = db.execute(
                    "SELECT maxt, count FROM chunks_raw WHERE series_id = ? AND mint = ?",
                    (sid, mint),
                ).fetchone()
                if now is None or (int(now[0]), int(now[1])) != (maxt, count):
                    continue
                for table, blob in (("chunks_1m", b1), ("chunks_5m", b5)):
                    gone = db.execute(
                        _on(
                            table,
                            "DELETE FROM TABLE WHERE series_id = ? AND mint BETWEEN ? AND ? "
                            "RETURNING length(data)",
                        ),
                        (sid, lo, hi),
                    ).fetchall()
                    db.execute(
                        _on(
                            table,
                            "INSERT INTO TABLE (series_id, mint, maxt, count, data) "
                            "VALUES (?, ?, ?, ?, ?)",
                        ),
                        (sid, mint, maxt, count, blob),
                    )
                    change += TierUsage.of(
                        table, len(blob) - sum(int(g[0]) for g in gone), 1 - len(gone)
                    )
                tally.rows += 1
                tally.b1 += n1
                tally.b5 += n5
            if through is not None and chunks.get_meta(db, META_THROUGH, MIN_TIME_MS) < through:
                chunks.set_meta(db, META_THROUGH, through)
            store(db, change)
            db.execute("COMMIT")
        except BaseException:
            db.execute("ROLLBACK")
            raise
        if change and self._on_usage is not None:
            self._on_usage(change)

    # -- retention ----------------------------------------------------------------------

    def _retention(self, now_ms: int) -> tuple[int, int, int]:
        opts = self.options
        deleted = [0, 0, 0]
        for i, (table, keep_ms) in enumerate(
            (
                ("chunks_raw", opts.raw_retention_ms),
                ("chunks_1m", opts.minute_retention_ms),
                ("chunks_5m", opts.five_minute_retention_ms),
            )
        ):
            cut = max(now_ms - keep_ms, MIN_TIME_MS)
            deleted[i] += self._delete_before(table, cut - cut % self._range)
        if opts.max_bytes is not None:
            for i, table in enumerate(("chunks_raw", "chunks_1m", "chunks_5m")):
                start = MIN_TIME_MS
                while self._used_bytes() > opts.max_bytes and not self._stop.is_set():
                    first = self._next_mint(table, start)
                    if first is None:
                        break
                    end = chunks.window_bounds(first, self._range)[0] + self._range
                    deleted[i] += self._delete_before(table, end)
                    start = end
        return deleted[0], deleted[1], deleted[2]

    def _delete_before(self, table: str, end: int) -> int:
        """Delete the rows of ``table`` with ``mint < end`` (raw rows only once aggregated),
        one page per transaction; returns how many went."""
        db = self._db
        if table == "chunks_raw":
            select = (
                "SELECT r.series_id, r.mint, r.count, length(r.data) "
                "FROM series s CROSS JOIN chunks_raw r "
                "ON r.series_id = s.id AND r.mint < ? JOIN chunks_1m a "
                "ON a.series_id = r.series_id AND a.mint = r.mint AND a.maxt = r.maxt "
                "AND a.count = r.count LIMIT ?"
            )
        else:
            select = _on(
                table,
                "SELECT r.series_id, r.mint, 0, length(r.data) FROM series s CROSS JOIN TABLE r "
                "ON r.series_id = s.id AND r.mint < ? LIMIT ?",
            )
        total = 0
        while not self._stop.is_set():
            db.execute("BEGIN IMMEDIATE")
            try:
                if table == "chunks_raw":
                    manifest.forget_before(db, end, self._range)
                keys = db.execute(select, (end, self._batch * 8)).fetchall()
                db.executemany(
                    _on(table, "DELETE FROM TABLE WHERE series_id = ? AND mint = ?"),
                    [(k[0], k[1]) for k in keys],
                )
                samples = sum(int(k[2]) for k in keys)
                if samples:
                    for key in (chunks.META_SAMPLES, META_SEEN):
                        chunks.set_meta(db, key, chunks.get_meta(db, key, 0) - samples)
                change = TierUsage.of(table, -sum(int(k[3]) for k in keys), -len(keys))
                store(db, change)
                db.execute("COMMIT")
            except BaseException:
                db.execute("ROLLBACK")
                raise
            total += len(keys)
            if samples and self._on_raw_deleted is not None:
                self._on_raw_deleted(samples)
            if change and self._on_usage is not None:
                self._on_usage(change)
            if len(keys) < self._batch * 8:
                break
        return total

    def _pragma(self, name: str) -> int:
        return int(self._db.execute(f"PRAGMA {name}").fetchone()[0])

    def _used_bytes(self) -> int:
        return (self._pragma("page_count") - self._pragma("freelist_count")) * self._pragma(
            "page_size"
        )

    def _vacuum(self) -> int:
        """Return free pages to the file system in bounded steps; bytes returned."""
        before = self._pragma("page_count")
        free = self._pragma("freelist_count")
        while free > 0 and not self._stop.is_set():
            self._db.executescript(f"PRAGMA incremental_vacuum({_VACUUM_PAGES});")
            left = self._pragma("freelist_count")
            if left >= free:  # auto_vacuum is not INCREMENTAL: nothing to give back
                break
            free = left
        return (before - self._pragma("page_count")) * self._pragma("page_size")
