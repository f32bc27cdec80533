"""The agent's on-disk spool: collection rounds waiting until the server has stored them.

The gatherer appends one encoded round per collection (``Spool.append``); the pusher reads the
oldest rounds (``peek``), sends them, and removes them once the server has answered
(``ack`` on success, ``reject`` when the server refused them for good). Nothing leaves the spool
before one of those two calls, so a network outage or a server restart loses nothing, and a
restart of the agent resumes where it stopped: records are replayed in the order they were
appended, each carrying its original timestamps inside its body.

Storage is one SQLite file (stdlib ``sqlite3``) holding a table of zlib-compressed bodies.

Durability contract:

- ``append`` returns only after its transaction is committed to the write-ahead log. A process
  crash (``kill -9``, OOM kill) loses nothing ``append`` returned for: SQLite recovers the
  log when the spool is opened again.
- ``synchronous=NORMAL``: the log is not fsynced at every commit, so a power loss or kernel
  crash may lose the most recent rounds (those not yet checkpointed), but the file stays
  consistent. That is the same promise Prometheus's own WAL makes for its unsynced tail.
- A file that SQLite reports as corrupt or not a database is moved aside
  (``<name>.corrupt-<unix time>``, logged at error) and a fresh spool is started, so the agent
  keeps collecting instead of crash-looping.

Bounds: ``max_bytes`` bounds the sum of the stored (compressed) bodies. When an append would
exceed it, the oldest records are deleted and their sample counts added to
``dropped_samples_total`` (logged at warning, at most once a minute). A single record larger
than ``max_bytes`` on its own is dropped and counted the same way. The file itself is larger
than ``size_bytes`` by SQLite's page slack and its log (bounded by ``journal_size_limit``);
freed pages are returned to the file system with incremental vacuum once the backlog drains.

Threads: every method may be called from any thread; one connection is shared under a lock
(the gatherer appends while the pusher peeks and acks; nothing is held across network I/O).
The file is opened with an exclusive lock, so a second process (or a second ``Spool`` on the
same path) fails with ``SpoolError`` instead of interleaving with the first.
"""

from __future__ import annotations

import logging
import sqlite3
import threading
import time
import zlib
from dataclasses import dataclass
from pathlib import Path

log = logging.getLogger(__name__)

_SCHEMA = """
CREATE TABLE IF NOT EXISTS records (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    samples INTEGER NOT NULL,
    body BLOB NOT NULL
);
"""
_CACHE_KIB = 1024
_JOURNAL_SIZE_LIMIT = 4 * 2**20
_VACUUM_FREE_BYTES = 4 * 2**20
_VACUUM_FREE_BYTES_DRAINED = 256 * 1024
_DROP_LOG_INTERVAL = 60.0
_LOCK_TIMEOUT = 1.0
_BAD_FILE_CODES = frozenset({sqlite3.SQLITE_CORRUPT, sqlite3.SQLITE_NOTADB})


class SpoolError(Exception):
    """The spool cannot be opened (in use by another process, unreadable directory, ...)."""


@dataclass(frozen=True, slots=True)
class SpoolRecord:
    """One spooled collection round: its id (increasing), uncompressed body, sample count
    and the bytes it takes in the spool (compressed)."""

    id: int
    body: bytes
    samples: int
    stored_bytes: int = 0


class Spool:
    """A bounded, crash-safe FIFO of encoded collection rounds, stored in one SQLite file."""

    def __init__(self, path: Path, max_bytes: int) -> None:
        if max_bytes <= 0:
            raise ValueError(f"spool max_bytes must be positive, got {max_bytes}")
        self._path = path
        self._max_bytes = max_bytes
        self._lock = threading.Lock()
        self._dropped_samples = 0
        self._rejected_samples = 0
        self._drops_since_log = 0
        self._last_drop_log = float("-inf")
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise SpoolError(f"cannot create spool directory {path.parent}: {exc}") from exc
        self._db = self._open()
        row = self._db.execute(
            "SELECT COUNT(*), COALESCE(SUM(length(body)), 0) FROM records"
        ).fetchone()
        self._records: int = row[0]
        self._size: int = row[1]
        if self._records:
            log.info("spool %s resumed with %d rounds (%d bytes)", path, self._records, self._size)

    def _open(self) -> sqlite3.Connection:
        try:
            return self._connect()
        except sqlite3.DatabaseError as exc:
            if getattr(exc, "sqlite_errorcode", None) not in _BAD_FILE_CODES:
                raise SpoolError(f"cannot open spool {self._path}: {exc}") from exc
            aside = self._path.with_name(f"{self._path.name}.corrupt-{int(time.time())}")
            log.error("spool %s is unreadable (%s); moved it to %s", self._path, exc, aside)
            self._path.rename(aside)
            for suffix in ("-wal", "-shm"):
                extra = self._path.with_name(self._path.name + suffix)
                if extra.exists():
                    extra.rename(aside.with_name(aside.name + suffix))
        try:
            return self._connect()
        except sqlite3.DatabaseError as exc:
            raise SpoolError(f"cannot open spool {self._path}: {exc}") from exc

    def _connect(self) -> sqlite3.Connection:
        db = sqlite3.connect(
            self._path, timeout=_LOCK_TIMEOUT, isolation_level=None, check_same_thread=False
        )
        try:
            # Order matters: locking mode before the first read, auto_vacuum before the table.
            db.execute("PRAGMA locking_mode=EXCLUSIVE")
            db.execute("PRAGMA auto_vacuum=INCREMENTAL")
            mode = db.execute("PRAGMA journal_mode=WAL").fetchone()[0]
            if mode != "wal":
                raise SpoolError(f"spool {self._path}: cannot use WAL mode (got {mode})")
            db.execute("PRAGMA synchronous=NORMAL")
            db.execute(f"PRAGMA cache_size=-{_CACHE_KIB}")
            db.execute(f"PRAGMA journal_size_limit={_JOURNAL_SIZE_LIMIT}")
            db.executescript(_SCHEMA)
            db.execute("SELECT COUNT(*) FROM records").fetchone()
        except BaseException:
            db.close()
            raise
        return db

    @property
    def path(self) -> Path:
        """The spool's SQLite file."""
        return self._path

    @property
    def max_bytes(self) -> int:
        """The bound on the sum of stored (compressed) bodies."""
        return self._max_bytes

    @property
    def size_bytes(self) -> int:
        """Sum of the stored (compressed) bodies now in the spool."""
        with self._lock:
            return self._size

    @property
    def records(self) -> int:
        """Number of rounds now in the spool."""
        with self._lock:
            return self._records

    @property
    def dropped_samples_total(self) -> int:
        """Samples dropped by this process because the spool was full (or a write failed)."""
        with self._lock:
            return self._dropped_samples

    @property
    def rejected_samples_total(self) -> int:
        """Samples removed by ``reject`` in this process."""
        with self._lock:
            return self._rejected_samples

    def append(self, record: bytes, samples: int) -> None:
        """Store one encoded round at the end of the spool; durable against a process crash
        once this returns.

        Never raises for a full spool or a failing disk: the oldest rounds (or, if the write
        itself fails, this one) are dropped and counted in ``dropped_samples_total``.
        """
        body = zlib.compress(record)
        with self._lock:
            if len(body) > self._max_bytes:
                self._count_drop(samples, f"a round of {len(body)} bytes exceeds the bound")
                return
            try:
                self._db.execute("BEGIN IMMEDIATE")
                try:
                    freed_samples = self._make_room(len(body))
                    self._db.execute(
                        "INSERT INTO records (samples, body) VALUES (?, ?)", (samples, body)
                    )
                    self._db.execute("COMMIT")
                except BaseException:
                    self._db.execute("ROLLBACK")
                    raise
            except sqlite3.Error as exc:
                self._recount()
                self._count_drop(samples, f"write failed: {exc}")
                return
            self._records += 1
            self._size += len(body)
            if freed_samples:
                self._count_drop(freed_samples, "spool full, dropped the oldest rounds")

    def _make_room(self, needed: int) -> int:
        """Delete the oldest records until ``needed`` more bytes fit; return their samples.

        Runs inside the caller's transaction, with the lock held; updates the in-memory
        accounting only as far as the deletion goes (the caller commits or recounts).
        """
        excess = self._size + needed - self._max_bytes
        if excess <= 0:
            return 0
        freed_bytes = freed_samples = freed_records = 0
        last_id = 0
        rows = self._db.execute("SELECT id, length(body), samples FROM records ORDER BY id")
        for rec_id, size, samples in rows:
            last_id = rec_id
            freed_bytes += size
            freed_samples += samples
            freed_records += 1
            if freed_bytes >= excess:
                break
        rows.close()
        self._db.execute("DELETE FROM records WHERE id <= ?", (last_id,))
        self._size -= freed_bytes
        self._records -= freed_records
        return freed_samples

    def _recount(self) -> None:
        try:
            row = self._db.execute(
                "SELECT COUNT(*), COALESCE(SUM(length(body)), 0) FROM records"
            ).fetchone()
        except sqlite3.Error:
            return
        self._records, self._size = row[0], row[1]

    def _count_drop(self, samples: int, why: str) -> None:
        self._dropped_samples += samples
        self._drops_since_log += samples
        now = time.monotonic()
        if now - self._last_drop_log >= _DROP_LOG_INTERVAL:
            log.warning(
                "spool %s: %s; %d samples dropped since the last report (%d in total)",
                self._path,
                why,
                self._drops_since_log,
                self._dropped_samples,
            )
            self._last_drop_log = now
            self._drops_since_log = 0

    def peek(self, max_records: int) -> list[SpoolRecord]:
        """Up to ``max_records`` of the oldest rounds, oldest first, without removing them."""
        with self._lock:
            rows = self._db.execute(
                "SELECT id, body, samples FROM records ORDER BY id LIMIT ?", (max_records,)
            ).fetchall()
        return [
            SpoolRecord(rid, zlib.decompress(body), samples, len(body))
            for rid, body, samples in rows
        ]

    def ack(self, last_id: int) -> None:
        """Remove every record with id <= ``last_id``: the server has stored them."""
        self._remove(last_id)

    def reject(self, last_id: int) -> int:
        """Remove every record with id <= ``last_id`` because the server refused them for
        good; count them in ``rejected_samples_total`` and return their sample count."""
        samples = self._remove(last_id)
        with self._lock:
            self._rejected_samples += samples
        return samples

    def _remove(self, last_id: int) -> int:
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                count, size, samples = self._db.execute(
                    "SELECT COUNT(*), COALESCE(SUM(length(body)), 0), COALESCE(SUM(samples), 0)"
                    " FROM records WHERE id <= ?",
                    (last_id,),
                ).fetchone()
                self._db.execute("DELETE FROM records WHERE id <= ?", (last_id,))
                self._db.execute("COMMIT")
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            self._records -= count
            self._size -= size
            if count:
                self._maybe_vacuum()
            return int(samples)

    def _maybe_vacuum(self) -> None:
        """Give free pages back to the file system once a backlog has drained (or a lot is
        free). In steady state each ack frees a page or two that the next append reuses, so
        small amounts are left alone: vacuuming and checkpointing after every round would
        cost more CPU than the whole collection. ``executescript`` is needed: a plain
        ``execute`` frees one page per call."""
        free_pages = self._db.execute("PRAGMA freelist_count").fetchone()[0]
        page_size = self._db.execute("PRAGMA page_size").fetchone()[0]
        threshold = _VACUUM_FREE_BYTES if self._records else _VACUUM_FREE_BYTES_DRAINED
        if free_pages * page_size < threshold:
            return
        self._db.executescript("PRAGMA incremental_vacuum;")
        self._db.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()

    def close(self) -> None:
        """Checkpoint and close the file; the spool must not be used afterwards."""
        with self._lock:
            try:
                self._db.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()
            except sqlite3.Error as exc:
                log.warning("spool %s: checkpoint at close failed: %s", self._path, exc)
            self._db.close()
