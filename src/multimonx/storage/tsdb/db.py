"""The embedded engine: TSDB (Storage) and its Appender (docs/storage.md).

Locks, in the order they may nest: ``_flush_lock`` (one flush at a time), ``_commit_lock``
(log append + head apply, so the log's order is the apply order), ``head_lock`` (head and
index; held only for in-memory work, never across SQLite I/O or compression).
"""

from __future__ import annotations

import contextlib
import gc
import logging
import sqlite3
import struct
import threading
import time
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import replace
from pathlib import Path

import numpy as np

from multimonx.model import Labels
from multimonx.model import now_ms as clock_ms
from multimonx.storage.interface import (
    MAX_TIME_MS,
    MIN_TIME_MS,
    AppenderFinishedError,
    AppendResult,
    InvalidSampleError,
    StorageClosed,
    StorageStats,
    StorageUnavailable,
)
from multimonx.storage.journal import Journal, JournalCorruptError
from multimonx.storage.tsdb import chunks, manifest, usage
from multimonx.storage.tsdb.chunkcache import ChunkCache
from multimonx.storage.tsdb.chunkenc import ChunkCodec
from multimonx.storage.tsdb.flush import write_extracts
from multimonx.storage.tsdb.head import Extract, Head, encode_pending
from multimonx.storage.tsdb.index import Index
from multimonx.storage.tsdb.options import TSDBCounters, TSDBOptions
from multimonx.storage.tsdb.querier import TSDBQuerier
from multimonx.storage.tsdb.record import (
    decode_record_raw,
    encode_record,
    labels_from_json_many,
    labels_json,
)
from multimonx.storage.tsdb.tiers import FIVE_MINUTES_MS, TierJob, TierReport
from multimonx.storage.tsdb.usage import TierUsage

log = logging.getLogger(__name__)

_pack = struct.Struct("<d").pack
_DEFAULTS = TSDBOptions()
_SLICE = 4096
"""Series handled per head-lock hold during a flush."""


class TSDB:
    """The embedded time-series store in one directory (``log.db`` + ``chunks.db``).

    ``open`` loads the series table and replays the log. Commits are durable once they
    return (per ``options.log_sync``). ``flush`` moves closed windows from the head to chunks
    and truncates the log; ``start`` runs it every ``flush_interval_s`` in a thread.
    """

    def __init__(self, directory: Path, options: TSDBOptions) -> None:
        self.options = options
        self.head_lock = threading.Lock()
        self.head = Head(options.chunk_range_ms)
        self.index = Index()
        self.chunk_cache = ChunkCache(options.chunk_cache_bytes)
        self._commit_lock = threading.Lock()
        self._flush_lock = threading.Lock()
        self._closed = False
        self._applied_seq = 0
        self._samples = 0
        self._flushed_before = MIN_TIME_MS
        self._unlogged: set[int] = set()
        self._unpersisted: set[int] = set()
        self._counters = TSDBCounters()
        self._usage = TierUsage()  # copy of the tier totals in meta, for scrapes
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._directory = directory
        self._tiers: TierJob | None = None
        self.clock: Callable[[], int] = clock_ms  # now in ms; tests move it

        try:
            directory.mkdir(parents=True, exist_ok=True)
            self._writer = chunks.open_writer(directory / "chunks.db")
        except (sqlite3.Error, OSError) as err:
            raise StorageUnavailable(f"cannot open {directory / 'chunks.db'}: {err}") from err
        self._readers = chunks.ReaderPool(directory / "chunks.db")
        self._log = Journal(directory / "log.db", sync=options.log_sync)
        self._flush_codec = ChunkCodec()
        self._commit_codec = ChunkCodec()  # head blocks; used under _commit_lock only

    @classmethod
    def open(cls, directory: Path, *, options: TSDBOptions = _DEFAULTS) -> TSDB:
        """Open (or create) the store in ``directory`` (the engine's own directory, e.g.
        ``<data_dir>/tsdb``): load the index, replay the log."""
        db = cls(directory, options)
        try:
            db._load()
        except BaseException:
            db.close()
            raise
        return db

    # -- open ---------------------------------------------------------------------------

    def _load(self) -> None:
        # Millions of new objects and no cycles among them: generational collections would
        # only rescan them (about half the startup time), so the collector waits.
        collecting = gc.isenabled()
        gc.disable()
        try:
            self._load_series()
            records = 0
            for seq, payload in self._log.replay_raw():
                self._replay(seq, payload)
                records += 1
        finally:
            if collecting:
                gc.enable()
        if records:
            log.info("tsdb: replayed %d log records, %d series", records, len(self.index))

    def _load_series(self) -> None:
        """The series table into the index and the head; the meta counters (the tier totals
        computed here if the file predates them)."""
        w = self._writer
        rows = w.execute("SELECT id, labels FROM series ORDER BY id").fetchall()
        if rows:
            sids, texts = zip(*rows, strict=True)
            self._define_many(
                [int(sid) for sid in sids], labels_from_json_many([str(t) for t in texts])
            )
        del rows
        self._samples = chunks.get_meta(w, chunks.META_SAMPLES, 0)
        self._flushed_before = chunks.get_meta(w, chunks.META_FLUSHED_BEFORE, MIN_TIME_MS)
        self._usage = usage.load(w)
        manifest.ensure(w, self.options.chunk_range_ms)

    def _replay(self, seq: int, payload: bytes) -> None:
        """Apply one log record: define its series not known yet (only their label JSON is
        parsed), then its samples, as the commit did."""
        definitions, ids, ts, vs = decode_record_raw(payload)
        labels_of = self.index.labels
        defined = len(labels_of)
        unknown = [
            (sid, text) for sid, text in definitions if sid >= defined or labels_of[sid] is None
        ]
        if unknown:
            try:
                parsed = labels_from_json_many([text.decode("utf-8") for _, text in unknown])
            except (ValueError, TypeError) as err:
                raise JournalCorruptError(f"bad label set: {err}") from err
            known = self.index.ids
            new_sids: list[int] = []
            new_labels: list[Labels] = []
            taken: set[int] = set()
            fresh: set[Labels] = set()
            for (sid, _), lbl in zip(unknown, parsed, strict=True):
                if sid not in taken and lbl not in fresh and lbl not in known:
                    taken.add(sid)
                    fresh.add(lbl)
                    new_sids.append(sid)
                    new_labels.append(lbl)
            self._define_many(new_sids, new_labels)
            self._unpersisted.update(new_sids)
        if len(ids):
            labels_of = self.index.labels
            if (
                int(ids.min()) < 0
                or int(ids.max()) >= len(labels_of)
                or (
                    len(self.index) != len(labels_of)
                    and any(labels_of[s] is None for s in np.unique(ids).tolist())
                )
            ):
                raise StorageUnavailable(f"log record {seq} refers to an undefined series")
            sid_list, t_list, v_list = ids.tolist(), ts.tolist(), vs.tolist()
            if int(ts.min()) < self._flushed_before:
                sid_list, t_list, v_list, _, _ = self._check_flushed(sid_list, t_list, v_list)
            appended, _, _, _ = self.head.apply(sid_list, t_list, v_list)
            self._encode_pending()
            self._samples += appended
        self._applied_seq = seq

    def _define_many(self, sids: list[int], labels: list[Labels]) -> None:
        """``_define`` for many new series at once (startup)."""
        if sids:
            self.index.load(sids, labels)
            self.head.add_series(max(sids))

    def _define(self, sid: int, labels: Labels) -> None:
        self.index.add(sid, labels)
        self.head.add_series(sid)

    # -- write path ---------------------------------------------------------------------

    def appender(self) -> TSDBAppender:
        """A new batch (see the Appender protocol)."""
        self.check_open()
        return TSDBAppender(self)

    def check_open(self) -> None:
        """Raise StorageClosed once closed."""
        if self._closed:
            raise StorageClosed("storage is closed")

    def _resolve(self, labels: Sequence[Labels]) -> list[int]:
        get = self.index.ids.get
        sids = list(map(get, labels))
        if None in sids:
            with self.head_lock:
                for i, sid in enumerate(sids):
                    if sid is None:
                        lbl = labels[i]
                        found = get(lbl)
                        if found is None:
                            found = len(self.index.labels)
                            self._define(found, lbl)
                            self._unlogged.add(found)
                            self._unpersisted.add(found)
                        sids[i] = found
        return sids  # type: ignore[return-value]

    def _commit(self, labels: list[Labels], ts: list[int], vs: list[float]) -> AppendResult:
        self.check_open()
        if not ts:
            return AppendResult()
        sids = self._resolve(labels)
        dup = conf = 0
        if min(ts) < self._flushed_before:
            sids, ts, vs, dup, conf = self._check_flushed(sids, ts, vs)
            if not ts:
                return AppendResult(0, dup, conf)
        unlogged = self._unlogged
        definitions = sorted(unlogged.intersection(sids)) if unlogged else []
        labels_of = self.index.labels
        payload = encode_record(
            [(sid, labels_of[sid]) for sid in definitions],  # type: ignore[misc]
            sids,
            ts,
            vs,
        )
        with self._commit_lock:
            self.check_open()
            seq = self._log.append_raw(payload, max(ts))
            if definitions:
                unlogged.difference_update(definitions)
            with self.head_lock:
                appended, more_dup, more_conf, ooo = self.head.apply(sids, ts, vs)
                self._applied_seq = seq
                self._samples += appended
                if ooo:
                    self._counters = replace(
                        self._counters,
                        out_of_order_samples=self._counters.out_of_order_samples + ooo,
                    )
            self._encode_pending()
        return AppendResult(appended, dup + more_dup, conf + more_conf)

    def _encode_pending(self) -> None:
        """Encode the head blocks sealed by the last apply (under the commit lock, outside the
        head lock) and swap them in."""
        with self.head_lock:
            pending = self.head.take_pending()
        if pending:
            blobs = encode_pending(self._commit_codec, pending)
            with self.head_lock:
                self.head.install(pending, blobs)

    def _check_flushed(
        self, sids: list[int], ts: list[int], vs: list[float]
    ) -> tuple[list[int], list[int], list[float], int, int]:
        """Drop the samples that are already in chunks (duplicates or conflicts)."""
        boundary = self._flushed_before
        range_ms = self.options.chunk_range_ms
        groups: defaultdict[tuple[int, int], list[int]] = defaultdict(list)
        for i, t in enumerate(ts):
            if t < boundary:
                groups[(sids[i], t - t % range_ms)].append(i)
        if not groups:
            return sids, ts, vs, 0, 0
        drop: set[int] = set()
        dup = conf = 0
        conn = self._readers.get()
        codec = ChunkCodec()
        try:
            for (sid, start), idx in groups.items():
                stored: dict[int, float] = {}
                lo, hi = chunks.window_bounds(start, range_ms)
                for ct, cv in chunks.read_chunks(conn, codec, sid, lo, hi, range_ms=range_ms):
                    stored.update(zip(ct.tolist(), cv.tolist(), strict=True))
                for i in idx:
                    old = stored.get(ts[i])
                    if old is not None:
                        drop.add(i)
                        if _pack(old) == _pack(vs[i]):
                            dup += 1
                        else:
                            conf += 1
        except sqlite3.Error as err:
            raise StorageUnavailable(f"cannot read chunks: {err}") from err
        finally:
            self._readers.put(conn)
        if drop:
            keep = [i for i in range(len(ts)) if i not in drop]
            sids = [sids[i] for i in keep]
            ts = [ts[i] for i in keep]
            vs = [vs[i] for i in keep]
        return sids, ts, vs, dup, conf

    # -- read path ----------------------------------------------------------------------

    def querier(self, mint: int, maxt: int) -> TSDBQuerier:
        """A snapshot for reads within ``[mint, maxt]``."""
        self.check_open()
        conn = self._readers.get()
        try:
            while True:
                gen = self.head.gen
                conn.execute("BEGIN")
                covered_from = chunks.get_meta(conn, manifest.META_FROM, MAX_TIME_MS)
                with self.head_lock:
                    if self.head.gen == gen:
                        self.check_open()
                        snap = self.head.snapshot()
                        flushed_before = self._flushed_before
                        break
                conn.execute("ROLLBACK")
        except BaseException:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            self._readers.put(conn)
            raise
        return TSDBQuerier(
            self,
            conn,
            snap,
            flushed_before,
            (mint, maxt),
            manifests_from=covered_from,
            release=self._release,
        )

    def _release(self, querier: TSDBQuerier) -> None:
        with self.head_lock:
            self.head.release(querier.snapshot)
        conn = querier.connection
        if conn is not None:
            with contextlib.suppress(sqlite3.Error):
                conn.execute("ROLLBACK")
            if not self._closed:
                self._readers.put(conn)

    def stats(self) -> StorageStats:
        """Series and sample counts (chunks and head)."""
        with self.head_lock:
            self.check_open()
            return StorageStats(series=len(self.index), samples=self._samples)

    def counters(self) -> TSDBCounters:
        """Engine self-metrics."""
        with self.head_lock:
            head = self.head.samples()
            return replace(self._counters, head_samples=head)

    def tier_usage(self) -> TierUsage:
        """Chunk rows and bytes of chunk data per tier, as committed (kept in memory beside
        the totals in meta: no SQL)."""
        with self.head_lock:
            return self._usage

    def _usage_changed(self, change: TierUsage) -> None:
        """A committed transaction changed the chunk tables (flush or tier job)."""
        with self.head_lock:
            self._usage = self._usage + change

    # -- flush --------------------------------------------------------------------------

    def flush(self, now_ms: int | None = None) -> None:
        """Flush every window that ended at least ``flush_delay_ms`` before ``now_ms``
        (default: the clock) to chunks, then truncate the log. A failed write leaves the
        head and the log as they were (logged; retried at the next flush)."""
        with self._flush_lock:
            if self._closed:
                return
            self._flush(clock_ms() if now_ms is None else now_ms)

    def _flush(self, now: int) -> None:
        started = time.monotonic()
        opts = self.options
        cutoff = max(now - opts.flush_delay_ms, MIN_TIME_MS)
        boundary = max(cutoff - cutoff % opts.chunk_range_ms, self._flushed_before)
        with self.head_lock:
            seq = self._applied_seq
            n_series = len(self.head)
            new_series = sorted(self._unpersisted)
        extracts: list[Extract] = []
        for lo in range(0, n_series, _SLICE):
            with self.head_lock:
                extracts.extend(self.head.extract(lo, lo + _SLICE, boundary))
        if not extracts and not new_series and boundary == self._flushed_before:
            self._truncate(seq, boundary)
            return
        labels_of = self.index.labels
        w = self._writer
        try:
            w.execute("BEGIN IMMEDIATE")
            w.executemany(
                "INSERT OR IGNORE INTO series (id, labels) VALUES (?, ?)",
                [(sid, labels_json(lbl)) for sid in new_series if (lbl := labels_of[sid])],
            )
            result = write_extracts(
                w, self._flush_codec, extracts, opts.chunk_range_ms, self._flushed_before
            )
            total = chunks.get_meta(w, chunks.META_SAMPLES, 0) + result.samples_added
            chunks.set_meta(w, chunks.META_SAMPLES, total)
            chunks.set_meta(w, chunks.META_FLUSHED_BEFORE, boundary)
            w.execute("COMMIT")
        except (sqlite3.Error, OSError) as err:
            if w.in_transaction:
                w.execute("ROLLBACK")
            log.error("tsdb: flush failed, will retry: %s", err)
            c = self._counters
            self._counters = replace(c, flush_failures=c.flush_failures + 1)
            return
        self._flushed_before = boundary
        dropped = result.duplicates + result.conflicts
        for lo in range(0, len(extracts), _SLICE):
            with self.head_lock:
                self.head.remove(extracts[lo : lo + _SLICE])
        with self.head_lock:
            self._samples -= dropped
            self._unpersisted.difference_update(new_series)
            self._usage = self._usage + result.usage()
        self._truncate(seq, boundary)
        seconds = time.monotonic() - started
        with self.head_lock:
            c = self._counters
            self._counters = replace(
                c,
                flushes=c.flushes + 1,
                flush_seconds=c.flush_seconds + seconds,
                last_flush_seconds=seconds,
                chunks_written=c.chunks_written + result.chunks_written,
                chunks_merged=c.chunks_merged + result.chunks_merged,
                merge_duplicates=c.merge_duplicates + result.duplicates,
                merge_conflicts=c.merge_conflicts + result.conflicts,
            )

    def _truncate(self, seq: int, boundary: int) -> None:
        try:
            gone = self._log.truncate(seq, boundary)
        except StorageUnavailable as err:
            log.error("tsdb: log truncation failed, will retry: %s", err)
            return
        if gone:
            with self.head_lock:
                c = self._counters
                self._counters = replace(c, log_records_truncated=c.log_records_truncated + gone)

    def log_records(self) -> int:
        """How many records the log holds (for tests and health checks)."""
        return self._log.records()

    # -- lifecycle ----------------------------------------------------------------------

    def start(self) -> None:
        """Run ``flush`` every ``flush_interval_s`` in a background thread, and the tier job
        (downsampling and retention, ``tiers.TierJob``) every ``tier_interval_s`` in another."""
        self.check_open()
        if self._thread is not None:
            return
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name="tsdb-flush", daemon=True)
        self._thread.start()
        if self._tiers is None and self.options.chunk_range_ms % FIVE_MINUTES_MS == 0:
            self._tiers = TierJob(
                self._directory / "chunks.db",
                self.options,
                on_raw_deleted=self._raw_deleted,
                on_usage=self._usage_changed,
            )
        if self._tiers is not None:
            self._tiers.start()
        else:
            log.warning("tsdb: chunk range is not a multiple of 5 minutes; no tiers, no retention")

    def stop(self) -> None:
        """Stop the background threads (waits for a running flush). Idempotent."""
        if self._tiers is not None:
            self._tiers.stop()
        thread, self._thread = self._thread, None
        if thread is not None:
            self._stop.set()
            thread.join()

    def tier_totals(self) -> TierReport | None:
        """What the tier job did since start, summed (None before ``start``)."""
        return self._tiers.totals() if self._tiers is not None else None

    def tier_last_run(self) -> TierReport | None:
        """The tier job's latest run (None before ``start`` and before its first run)."""
        return self._tiers.last_run() if self._tiers is not None else None

    def _raw_deleted(self, samples: int) -> None:
        """Retention deleted raw chunks: the stored sample count drops by that much."""
        with self.head_lock:
            self._samples -= samples

    def _run(self) -> None:
        while not self._stop.wait(self.options.flush_interval_s):
            try:
                self.flush()
            except Exception:
                log.exception("tsdb: background flush failed")

    def sync(self) -> None:
        """Make every acknowledged batch durable now (see ``storage.periodic.PeriodicTask``)."""
        self._log.sync()

    def close(self) -> None:
        """Stop the flush thread, flush what is due, close the files. Idempotent."""
        self.stop()
        with self._flush_lock:
            if self._closed:
                return
            try:
                self._flush(clock_ms())
            except Exception:
                log.exception("tsdb: final flush failed (the log keeps the data)")
            with self._commit_lock, self.head_lock:
                self._closed = True
            if self._tiers is not None:
                self._tiers.close()
            self._log.close()
            self._readers.close()
            self._writer.close()


class TSDBAppender:
    """A batch for TSDB: three parallel lists until commit (see Appender)."""

    __slots__ = ("_db", "_finished", "_labels", "_ts", "_vs")

    def __init__(self, db: TSDB) -> None:
        self._db = db
        self._labels: list[Labels] = []
        self._ts: list[int] = []
        self._vs: list[float] = []
        self._finished = False

    def append(self, labels: Labels, t_ms: int, value: float) -> None:
        """Buffer one sample."""
        if self._finished:
            raise AppenderFinishedError("appender used after commit or rollback")
        if not MIN_TIME_MS <= t_ms <= MAX_TIME_MS:
            raise InvalidSampleError(f"timestamp {t_ms} is outside int64")
        self._labels.append(labels)
        self._ts.append(t_ms)
        self._vs.append(value)

    def commit(self) -> AppendResult:
        """Store the batch (all or nothing)."""
        if self._finished:
            raise AppenderFinishedError("appender used after commit or rollback")
        self._finished = True
        labels, ts, vs = self._labels, self._ts, self._vs
        self._labels, self._ts, self._vs = [], [], []
        return self._db._commit(labels, ts, vs)

    def rollback(self) -> None:
        """Discard the batch."""
        if self._finished:
            raise AppenderFinishedError("appender used after commit or rollback")
        self._finished = True
        self._labels, self._ts, self._vs = [], [], []
