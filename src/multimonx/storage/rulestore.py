"""Alert rules created through the REST API, kept in the metadata database (the SQLite file of
the API keys and the host list) so that they survive restarts.

Each rule is one row: a server-chosen id, its name (unique among these rules, so that two
concurrent creations of one name cannot both succeed), its definition as a JSON object (the
rule model, ``multimonx.rules.apirules``, owns that object's shape; this store never looks
inside it), whether it is enabled, and when it was created and last changed.
"""

from __future__ import annotations

import json
import secrets
import sqlite3
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from multimonx.storage.interface import StorageError, StorageUnavailable
from multimonx.storage.sqlitedb import open_sqlite

_ID_HEX_DIGITS = 12


class RuleStoreError(StorageError):
    """A change to the stored rules that cannot be made."""


class RuleNameTakenError(RuleStoreError):
    """Another stored rule already has this name."""

    def __init__(self, name: str) -> None:
        self.name = name
        super().__init__(f"an alert rule named {name!r} already exists")


@dataclass(frozen=True, slots=True)
class StoredRule:
    """One stored rule. ``definition`` is the JSON object it was saved with (rows whose text
    is not a JSON object read as an empty one). Times are Unix seconds."""

    rule_id: str
    name: str
    definition: Mapping[str, Any]
    enabled: bool
    created: float
    updated: float


class RuleStore:
    """API alert rules in a SQLite file. Every method is thread-safe; ``clock`` (Unix
    seconds) is a seam for tests."""

    def __init__(self, path: Path, *, clock: Callable[[], float] = time.time) -> None:
        self._clock = clock
        self._lock = threading.Lock()
        self._db = open_sqlite(
            path,
            "the alert rule store",
            "CREATE TABLE IF NOT EXISTS alert_rules ("
            "rule_id TEXT PRIMARY KEY, name TEXT NOT NULL UNIQUE, definition TEXT NOT NULL, "
            "enabled INTEGER NOT NULL, created REAL NOT NULL, updated REAL NOT NULL)",
        )

    def create(self, name: str, definition: Mapping[str, Any], *, enabled: bool) -> StoredRule:
        """Store a new rule under a fresh id; raises RuleNameTakenError if ``name`` is taken."""
        text = _json(definition)
        now = self._clock()
        with self._lock:
            while True:
                rule_id = secrets.token_hex(_ID_HEX_DIGITS // 2)
                if self._get(rule_id) is not None:
                    continue
                self._write(
                    name,
                    "INSERT INTO alert_rules (rule_id, name, definition, enabled, created, "
                    "updated) VALUES (?, ?, ?, ?, ?, ?)",
                    (rule_id, name, text, int(enabled), now, now),
                )
                return StoredRule(rule_id, name, _object(text), enabled, now, now)

    def get(self, rule_id: str) -> StoredRule | None:
        """One rule by id, or None."""
        with self._lock:
            return self._get(rule_id)

    def list(self) -> list[StoredRule]:
        """Every rule, oldest first."""
        with self._lock:
            rows = self._db.execute(
                "SELECT rule_id, name, definition, enabled, created, updated FROM alert_rules "
                "ORDER BY created, rule_id"
            ).fetchall()
        return [_stored(row) for row in rows]

    def replace(
        self, rule_id: str, name: str, definition: Mapping[str, Any], *, enabled: bool
    ) -> StoredRule | None:
        """Replace a rule's name, definition and flag (None if there is no such rule); raises
        RuleNameTakenError if another rule has ``name``."""
        text = _json(definition)
        now = self._clock()
        with self._lock:
            changed = self._write(
                name,
                "UPDATE alert_rules SET name = ?, definition = ?, enabled = ?, updated = ? "
                "WHERE rule_id = ?",
                (name, text, int(enabled), now, rule_id),
            )
            return self._get(rule_id) if changed else None

    def delete(self, rule_id: str) -> StoredRule | None:
        """Delete a rule; the rule as it was, or None if there was none."""
        with self._lock:
            gone = self._get(rule_id)
            if gone is None:
                return None
            try:
                self._db.execute("DELETE FROM alert_rules WHERE rule_id = ?", (rule_id,))
            except sqlite3.Error as err:
                raise StorageUnavailable(f"cannot delete alert rule: {err}") from err
        return gone

    def close(self) -> None:
        """Close the file."""
        with self._lock:
            self._db.close()

    def _get(self, rule_id: str) -> StoredRule | None:
        """One rule by id (the caller holds the lock)."""
        row = self._db.execute(
            "SELECT rule_id, name, definition, enabled, created, updated FROM alert_rules "
            "WHERE rule_id = ?",
            (rule_id,),
        ).fetchone()
        return _stored(row) if row else None

    def _write(self, name: str, sql: str, params: tuple[object, ...]) -> bool:
        """Run one write (the caller holds the lock); whether it changed a row."""
        try:
            return self._db.execute(sql, params).rowcount > 0
        except sqlite3.IntegrityError as err:
            if "alert_rules.name" in str(err):
                raise RuleNameTakenError(name) from None
            raise RuleStoreError(f"cannot store alert rule: {err}") from err
        except sqlite3.Error as err:
            raise StorageUnavailable(f"cannot store alert rule: {err}") from err


def _json(definition: Mapping[str, Any]) -> str:
    """The definition as JSON text; ASCII escapes keep any string (control characters, lone
    surrogates) storable and readable back exactly."""
    try:
        return json.dumps(dict(definition), allow_nan=False)
    except (TypeError, ValueError) as err:
        raise RuleStoreError(f"an alert rule's definition must be plain JSON: {err}") from None


def _object(text: str) -> dict[str, Any]:
    try:
        value = json.loads(text)
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


def _stored(row: tuple[Any, ...]) -> StoredRule:
    rule_id, name, text, enabled, created, updated = row
    return StoredRule(
        str(rule_id), str(name), _object(str(text)), bool(enabled), float(created), float(updated)
    )
