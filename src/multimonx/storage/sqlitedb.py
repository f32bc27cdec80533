"""Opening the SQLite files the server keeps its metadata in (API keys, hosts, alert rules,
alert history, silences, the notification log): one way, so every store gets the same
settings and the same error."""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from pathlib import Path

from multimonx.storage.interface import StorageUnavailable


def open_sqlite(path: Path | None, what: str, schema: str) -> sqlite3.Connection:
    """A connection to the SQLite file at ``path`` (None: a private in-memory database),
    its directory created, in WAL mode, in autocommit mode (callers open their own
    transactions), usable from any thread (callers serialise its use with a lock), with the
    statements of ``schema`` applied. Raises StorageUnavailable naming ``what``."""
    try:
        if path is not None:
            path.parent.mkdir(parents=True, exist_ok=True)
        db = sqlite3.connect(
            ":memory:" if path is None else path, isolation_level=None, check_same_thread=False
        )
        db.execute("PRAGMA journal_mode=WAL")
        db.executescript(schema)
    except (OSError, sqlite3.Error) as err:
        raise StorageUnavailable(f"cannot open {what} at {path}: {err}") from err
    return db


def execute_many(
    db: sqlite3.Connection, sql: str, rows: Sequence[Sequence[object]], what: str
) -> None:
    """Run ``sql`` for every row in one transaction (all rows or none); raises
    StorageUnavailable naming ``what``. The caller holds the connection's lock."""
    try:
        db.execute("BEGIN")
        db.executemany(sql, rows)
        db.execute("COMMIT")
    except sqlite3.Error as err:
        if db.in_transaction:
            db.execute("ROLLBACK")
        raise StorageUnavailable(f"cannot {what}: {err}") from err
