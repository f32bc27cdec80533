"""A durable append log of committed batches, so an in-memory store survives restarts.

Each committed batch becomes one row of a SQLite table: a zlib-compressed binary blob plus its
CRC-32. Values are stored as their raw float64 bits, so the staleness marker, NaN payloads,
``-0.0`` and the infinities come back bit-exactly. SQLite runs in WAL mode with
``synchronous=FULL`` by default: once ``append`` returns, the record survives a process kill
and a power loss. At open the records are replayed in order; a record that fails its checksum
or does not decode (a torn or corrupt tail) is dropped together with every later record, with a
log line, as Prometheus does with its WAL, and writing continues after the last good record.

Besides batches of ``SeriesSamples`` (``append``/``replay``, used by MemoryStorage), the journal
stores opaque records (``append_raw``/``replay_raw``, used by the TSDB with its own columnar
format) with their newest sample time, so ``truncate`` can delete records once flushed.
"""

from __future__ import annotations

import enum
import logging
import sqlite3
import struct
import threading
import zlib
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import TypeVar

import numpy as np
import numpy.typing as npt

from multimonx.model import Labels
from multimonx.storage.interface import StorageError, StorageUnavailable

log = logging.getLogger(__name__)

_T = TypeVar("_T")

_MAGIC = b"MMJ1"
_HEADER = struct.Struct("<4sI")
_U16 = struct.Struct("<H")
_U32 = struct.Struct("<I")

SeriesSamples = tuple[Labels, npt.NDArray[np.int64], npt.NDArray[np.float64]]
"""One series of a batch: its labels, int64 timestamps and float64 values (same length)."""


class JournalCorruptError(StorageError):
    """A journal record that cannot be decoded (bad checksum, truncated or malformed)."""


_INCREMENTAL = 2  # PRAGMA auto_vacuum value
_WAL_SIZE_LIMIT = 16 * 2**20  # the -wal file is cut back to this after checkpoints


class JournalSync(enum.Enum):
    """How hard SQLite flushes each record (its ``synchronous`` pragma).

    FULL survives power loss; NORMAL (in WAL mode) survives a process kill but a power loss
    may lose the last records; OFF leaves flushing to the operating system.
    """

    FULL = "FULL"
    NORMAL = "NORMAL"
    OFF = "OFF"


def encode_batch(batch: Sequence[SeriesSamples]) -> bytes:
    """Serialise a batch to the uncompressed record format (bit-exact values)."""
    out = [_HEADER.pack(_MAGIC, len(batch))]
    for labels, timestamps, values in batch:
        if timestamps.shape != values.shape:
            raise ValueError("timestamps and values differ in length")
        out.append(_U16.pack(len(labels)))
        for name, value in labels.pairs:
            for text in (name, value):
                raw = text.encode("utf-8", "surrogatepass")
                out.append(_U32.pack(len(raw)))
                out.append(raw)
        out.append(_U32.pack(int(timestamps.shape[0])))
        out.append(np.ascontiguousarray(timestamps, dtype="<i8").tobytes())
        out.append(np.ascontiguousarray(values, dtype="<f8").view("<u8").tobytes())
    return b"".join(out)


class _Reader:
    """Bounds-checked sequential reads from a record; every overrun is JournalCorruptError."""

    __slots__ = ("_data", "_pos")

    def __init__(self, data: bytes) -> None:
        self._data = data
        self._pos = 0

    def take(self, n: int) -> bytes:
        end = self._pos + n
        if n < 0 or end > len(self._data):
            raise JournalCorruptError("record truncated")
        chunk = self._data[self._pos : end]
        self._pos = end
        return chunk

    def u16(self) -> int:
        return int(_U16.unpack(self.take(2))[0])

    def u32(self) -> int:
        return int(_U32.unpack(self.take(4))[0])

    def done(self) -> bool:
        return self._pos == len(self._data)


def decode_batch(data: bytes) -> list[SeriesSamples]:
    """Parse the uncompressed record format; raises JournalCorruptError on any inconsistency."""
    reader = _Reader(data)
    magic, count = _HEADER.unpack(reader.take(_HEADER.size))
    if magic != _MAGIC:
        raise JournalCorruptError(f"bad record magic {magic!r}")
    batch: list[SeriesSamples] = []
    for _ in range(count):
        pairs = []
        for _ in range(reader.u16()):
            try:
                name = reader.take(reader.u32()).decode("utf-8", "surrogatepass")
                value = reader.take(reader.u32()).decode("utf-8", "surrogatepass")
            except UnicodeDecodeError as err:
                raise JournalCorruptError(f"bad label text: {err}") from err
            pairs.append((name, value))
        try:
            labels = Labels(pairs)
        except ValueError as err:
            raise JournalCorruptError(f"bad label set: {err}") from err
        n = reader.u32()
        timestamps = np.frombuffer(reader.take(8 * n), dtype="<i8").astype(np.int64)
        values = np.frombuffer(reader.take(8 * n), dtype="<u8").view("<f8").astype(np.float64)
        batch.append((labels, timestamps, values))
    if not reader.done():
        raise JournalCorruptError("trailing bytes after the last series")
    return batch


def pack_record(batch: Sequence[SeriesSamples]) -> tuple[int, bytes]:
    """A batch as stored: (CRC-32 of the compressed body, compressed body)."""
    body = zlib.compress(encode_batch(batch), 1)
    return zlib.crc32(body), body


def unpack_record(crc: int, body: bytes) -> list[SeriesSamples]:
    """The batch of a stored record; raises JournalCorruptError if the record is damaged."""
    if zlib.crc32(body) != crc:
        raise JournalCorruptError("checksum mismatch")
    try:
        raw = zlib.decompress(body)
    except zlib.error as err:
        raise JournalCorruptError(f"cannot decompress: {err}") from err
    return decode_batch(raw)


def _unpack_raw(crc: int, body: bytes) -> bytes:
    if zlib.crc32(body) != crc:
        raise JournalCorruptError("checksum mismatch")
    try:
        return zlib.decompress(body)
    except zlib.error as err:
        raise JournalCorruptError(f"cannot decompress: {err}") from err


class Journal:
    """The append log of one store, in a SQLite file at ``path``.

    ``append`` is thread-safe and durable once it returns (per ``sync``). ``max_bytes`` bounds
    the file (SQLite's page limit); reaching it fails appends with StorageUnavailable, like a
    full disk does.
    """

    def __init__(
        self, path: Path, *, sync: JournalSync = JournalSync.FULL, max_bytes: int | None = None
    ) -> None:
        self._path = path
        self._lock = threading.Lock()
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            self._db = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
            # Truncated records must give their space back (``truncate``): incremental
            # auto-vacuum, set before the first table exists, or converted once by VACUUM.
            if int(self._db.execute("PRAGMA auto_vacuum").fetchone()[0]) != _INCREMENTAL:
                self._db.execute("PRAGMA auto_vacuum=INCREMENTAL")
                self._db.execute("VACUUM")
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute(f"PRAGMA journal_size_limit={_WAL_SIZE_LIMIT}")
            self._db.execute(f"PRAGMA synchronous={sync.value}")
            self._db.execute(
                "CREATE TABLE IF NOT EXISTS batches (seq INTEGER PRIMARY KEY AUTOINCREMENT, "
                "crc INTEGER NOT NULL, body BLOB NOT NULL, maxt INTEGER)"
            )
            columns = {row[1] for row in self._db.execute("PRAGMA table_info(batches)")}
            if "maxt" not in columns:
                self._db.execute("ALTER TABLE batches ADD COLUMN maxt INTEGER")
            if max_bytes is not None:
                page_size = int(self._db.execute("PRAGMA page_size").fetchone()[0])
                pages = max(1, max_bytes // page_size)
                self._db.execute(f"PRAGMA max_page_count={pages}")
        except (sqlite3.Error, OSError) as err:
            raise StorageUnavailable(f"cannot open journal {path}: {err}") from err
        self._closed = False

    @property
    def path(self) -> Path:
        """Where the journal lives."""
        return self._path

    def append(self, batch: Sequence[SeriesSamples]) -> None:
        """Write one batch durably; raises StorageUnavailable (nothing written) on failure."""
        crc, body = pack_record(batch)
        with self._lock:
            if self._closed:
                raise StorageUnavailable("journal is closed")
            try:
                self._db.execute("INSERT INTO batches (crc, body) VALUES (?, ?)", (crc, body))
            except sqlite3.Error as err:
                raise StorageUnavailable(f"journal write failed: {err}") from err

    def append_raw(self, payload: bytes, maxt: int | None = None) -> int:
        """Write one opaque record durably and return its sequence number (increasing).

        ``maxt`` (the record's newest sample time) lets ``truncate`` drop it later. Raises
        StorageUnavailable (nothing written) on failure.
        """
        body = zlib.compress(payload, 1)
        crc = zlib.crc32(body)
        with self._lock:
            if self._closed:
                raise StorageUnavailable("journal is closed")
            try:
                cursor = self._db.execute(
                    "INSERT INTO batches (crc, body, maxt) VALUES (?, ?, ?)", (crc, body, maxt)
                )
            except sqlite3.Error as err:
                raise StorageUnavailable(f"journal write failed: {err}") from err
            return int(cursor.lastrowid or 0)

    def replay_raw(self) -> Iterator[tuple[int, bytes]]:
        """Every intact record of ``append_raw`` as (sequence number, payload), in order;
        drops a corrupt tail (logged) from the file."""
        return self._replay(_unpack_raw)

    def truncate(self, through_seq: int, before_t: int) -> int:
        """Delete the records numbered at most ``through_seq`` whose ``maxt`` is older than
        ``before_t``; returns how many went. Raises StorageUnavailable on failure."""
        with self._lock:
            if self._closed:
                raise StorageUnavailable("journal is closed")
            try:
                gone = int(
                    self._db.execute(
                        "DELETE FROM batches WHERE seq <= ? AND maxt < ?", (through_seq, before_t)
                    ).rowcount
                )
                if gone:
                    # executescript: a plain execute frees only one page per call.
                    self._db.executescript("PRAGMA incremental_vacuum;")
                return gone
            except sqlite3.Error as err:
                raise StorageUnavailable(f"journal truncation failed: {err}") from err

    def replay(self) -> Iterator[list[SeriesSamples]]:
        """Every intact batch in commit order; drops a corrupt tail (logged) from the file."""
        for _, batch in self._replay(unpack_record):
            yield batch

    def _replay(self, unpack: Callable[[int, bytes], _T]) -> Iterator[tuple[int, _T]]:
        with self._lock:
            rows = self._db.execute("SELECT seq, crc, body FROM batches ORDER BY seq")
            bad_seq: int | None = None
            reason = ""
            for seq, crc, body in rows:
                try:
                    record = unpack(int(crc), bytes(body))
                except JournalCorruptError as err:
                    bad_seq, reason = int(seq), str(err)
                    break
                yield int(seq), record
            rows.close()
            if bad_seq is not None:
                dropped = self._db.execute(
                    "DELETE FROM batches WHERE seq >= ?", (bad_seq,)
                ).rowcount
                log.warning(
                    "journal %s: record %d is corrupt (%s); dropped it and every later record "
                    "(%d in all)",
                    self._path,
                    bad_seq,
                    reason,
                    dropped,
                )

    def records(self) -> int:
        """How many records the journal holds."""
        with self._lock:
            return int(self._db.execute("SELECT count(*) FROM batches").fetchone()[0])

    def sync(self) -> None:
        """Make every record appended so far durable now: a checkpoint fsyncs the log.

        With ``JournalSync.NORMAL`` this is how the "sync every interval" policy is kept (a
        ``PeriodicTask`` calls it); with FULL every append is durable already.
        """
        with self._lock:
            if self._closed:
                return
            try:
                self._db.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
            except sqlite3.Error as err:
                raise StorageUnavailable(f"journal sync failed: {err}") from err

    def close(self) -> None:
        """Close the file. Idempotent."""
        with self._lock:
            if not self._closed:
                self._closed = True
                self._db.close()
