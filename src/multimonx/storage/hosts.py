"""The fleet's host list, kept in the metadata database so it survives restarts.

The server keeps its host registry in memory and saves it here periodically and at shutdown;
at start it loads it back instead of scanning stored samples, which would take minutes on a
large fleet. Each host is one row: its instance name and a JSON object of what the registry
knows about it (the registry owns that object's shape).
"""

from __future__ import annotations

import json
import threading
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from multimonx.storage.sqlitedb import execute_many, open_sqlite


class HostStore:
    """Host records in a SQLite file (the same file as the API keys)."""

    def __init__(self, path: Path) -> None:
        self._lock = threading.Lock()
        self._db = open_sqlite(
            path,
            "the host store",
            "CREATE TABLE IF NOT EXISTS hosts (instance TEXT PRIMARY KEY, record TEXT NOT NULL)",
        )

    def save(self, records: Mapping[str, Mapping[str, Any]]) -> None:
        """Replace the stored records of these hosts (others are kept)."""
        rows = [
            (name, json.dumps(dict(record), sort_keys=True)) for name, record in records.items()
        ]
        with self._lock:
            execute_many(
                self._db,
                "INSERT INTO hosts (instance, record) VALUES (?, ?) "
                "ON CONFLICT(instance) DO UPDATE SET record = excluded.record",
                rows,
                "save hosts",
            )

    def load(self) -> dict[str, dict[str, Any]]:
        """Every stored record by instance (records that are not JSON objects are skipped)."""
        with self._lock:
            rows = self._db.execute("SELECT instance, record FROM hosts").fetchall()
        out: dict[str, dict[str, Any]] = {}
        for name, text in rows:
            try:
                record = json.loads(text)
            except ValueError:
                continue
            if isinstance(record, dict):
                out[str(name)] = record
        return out

    def delete(self, instance: str) -> None:
        """Forget one host."""
        with self._lock:
            self._db.execute("DELETE FROM hosts WHERE instance = ?", (instance,))

    def close(self) -> None:
        """Close the file."""
        with self._lock:
            self._db.close()
