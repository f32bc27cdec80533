"""The notification log (Alertmanager's ``nflog``): for each group, receiver and integration,
which alerts the last successful notification reported firing and resolved, and when.

The dispatcher's dedup stage reads it to decide whether a flush has anything new to say, and
writes it only after a delivery succeeded (at-least-once). It lives in SQLite, written
through on every entry, so a restarted server does not repeat what it already sent. Entries
expire ``retention`` after they were written (Alertmanager keeps them 120 h); an expired
entry reads as absent.
"""

from __future__ import annotations

import json
import sqlite3
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

from multimonx.storage import StorageUnavailable
from multimonx.storage.sqlitedb import open_sqlite

DEFAULT_RETENTION_S = 120 * 3600.0


@dataclass(frozen=True, slots=True)
class LogKey:
    """What an entry is about: one group (its key), one receiver, one of its integrations."""

    group_key: str
    receiver: str
    integration: str


@dataclass(frozen=True, slots=True)
class LogEntry:
    """The last successful notification for a key: the fingerprints it reported firing and
    resolved, when it was logged (Unix seconds) and when the entry expires."""

    key: LogKey
    firing: frozenset[str]
    resolved: frozenset[str]
    timestamp: float
    expires_at: float


class NotificationLog:
    """The log. Thread-safe. ``path`` None keeps it in memory only."""

    def __init__(
        self,
        path: Path | None = None,
        *,
        clock: Callable[[], float] = time.time,
        retention: float = DEFAULT_RETENTION_S,
    ) -> None:
        self._clock = clock
        self._retention = retention
        self._lock = threading.Lock()
        self._entries: dict[LogKey, LogEntry] = {}
        self._db = open_sqlite(
            path,
            "the notification log",
            "CREATE TABLE IF NOT EXISTS nflog (group_key TEXT, receiver TEXT, integration TEXT,"
            " firing TEXT, resolved TEXT, timestamp REAL, expires_at REAL,"
            " PRIMARY KEY (group_key, receiver, integration))",
        )
        try:
            rows = self._db.execute(
                "SELECT group_key, receiver, integration, firing, resolved, timestamp, expires_at"
                " FROM nflog"
            ).fetchall()
            for group_key, receiver, integration, firing, resolved, stamp, expires in rows:
                key = LogKey(str(group_key), str(receiver), str(integration))
                self._entries[key] = LogEntry(
                    key, _fps(firing), _fps(resolved), float(stamp), float(expires)
                )
        except (OSError, sqlite3.Error) as err:
            raise StorageUnavailable(f"cannot open the notification log at {path}: {err}") from err

    def query(self, key: LogKey, now: float | None = None) -> LogEntry | None:
        """The entry for ``key``, or None if there is none or it has expired."""
        at = self._clock() if now is None else now
        with self._lock:
            entry = self._entries.get(key)
        if entry is None or entry.expires_at <= at:
            return None
        return entry

    def log(
        self,
        key: LogKey,
        firing: Iterable[str],
        resolved: Iterable[str],
        now: float | None = None,
    ) -> LogEntry:
        """Record a successful notification (replacing the previous entry for ``key``).
        Raises StorageUnavailable if it cannot be written (nothing is recorded then)."""
        at = self._clock() if now is None else now
        entry = LogEntry(key, frozenset(firing), frozenset(resolved), at, at + self._retention)
        row = (
            key.group_key,
            key.receiver,
            key.integration,
            json.dumps(sorted(entry.firing)),
            json.dumps(sorted(entry.resolved)),
            entry.timestamp,
            entry.expires_at,
        )
        with self._lock:
            try:
                self._db.execute("INSERT OR REPLACE INTO nflog VALUES (?, ?, ?, ?, ?, ?, ?)", row)
            except sqlite3.Error as err:
                raise StorageUnavailable(f"cannot write the notification log: {err}") from err
            self._entries[key] = entry
        return entry

    def gc(self, now: float | None = None) -> int:
        """Delete expired entries; returns how many."""
        at = self._clock() if now is None else now
        with self._lock:
            old = [k for k, e in self._entries.items() if e.expires_at <= at]
            for key in old:
                del self._entries[key]
            try:
                self._db.execute("DELETE FROM nflog WHERE expires_at <= ?", (at,))
            except sqlite3.Error as err:
                raise StorageUnavailable(f"cannot clean the notification log: {err}") from err
        return len(old)

    def close(self) -> None:
        """Close the file."""
        with self._lock:
            self._db.close()


def _fps(text: object) -> frozenset[str]:
    try:
        values = json.loads(str(text))
    except ValueError:
        return frozenset()
    return frozenset(str(v) for v in values) if isinstance(values, list) else frozenset()


def needs_update(
    entry: LogEntry | None,
    firing: frozenset[str],
    resolved: frozenset[str],
    *,
    send_resolved: bool,
    repeat_interval: float,
    now: float,
) -> bool:
    """Whether a flush with these firing and resolved fingerprints has something to tell an
    integration whose last notification is ``entry`` (Alertmanager's ``DedupStage``):
    a new firing alert; every alert resolved after some fired (even without
    ``send_resolved``, so the log forgets them); with ``send_resolved``, a newly resolved
    alert; or the repeat interval over while alerts still fire."""
    if entry is None:
        return bool(firing)
    if not firing <= entry.firing:
        return True
    if not firing:
        return bool(entry.firing)
    if send_resolved and not resolved <= entry.resolved:
        return True
    return entry.timestamp + repeat_interval <= now
