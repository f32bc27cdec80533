"""API keys for agents: created and revoked by an operator, checked on every push.

A token reads ``mmx_<key_id>_<secret>``: ``key_id`` (12 hex digits) finds the record, the
256-bit random ``secret`` proves possession. Only the SHA-256 of the secret is stored (a hash
of a 256-bit random value needs no salt or slow KDF), compared with ``hmac.compare_digest``.
The plaintext token is returned once, by ``create``, and never stored or logged.

``KeyStore`` is the contract; ``SqliteKeyStore`` keeps keys in a SQLite file and a PostgreSQL
store can implement the same protocol later.
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import secrets
import sqlite3
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from multimonx.storage.interface import StorageError, StorageUnavailable
from multimonx.storage.sqlitedb import open_sqlite

TOKEN_PREFIX = "mmx"  # noqa: S105 (a public prefix, not a secret)
_ID_HEX_DIGITS = 12
_LAST_USED_RESOLUTION_S = 60.0


class KeyStoreError(StorageError):
    """An operation on keys that cannot be done (for example revoking an unknown key)."""


@dataclass(frozen=True, slots=True)
class ApiKey:
    """One API key's record (never its secret). Times are Unix seconds."""

    key_id: str
    name: str
    created: float
    revoked: float | None
    last_used: float | None

    @property
    def is_revoked(self) -> bool:
        """Whether the key was revoked (it no longer authenticates)."""
        return self.revoked is not None


def split_token(token: str) -> tuple[str, str] | None:
    """(key_id, secret) of a well-formed token, else None."""
    parts = token.split("_", 2)
    if len(parts) != 3 or parts[0] != TOKEN_PREFIX:
        return None
    key_id, secret = parts[1], parts[2]
    if len(key_id) != _ID_HEX_DIGITS or not all(c in "0123456789abcdef" for c in key_id):
        return None
    if not 16 <= len(secret) <= 128:
        return None
    return key_id, secret


def _digest(secret: str) -> str:
    return hashlib.sha256(secret.encode("utf-8", "surrogatepass")).hexdigest()


class KeyStore(Protocol):
    """Where API keys live. All methods are thread-safe."""

    def create(self, name: str) -> tuple[str, str]:
        """A new key named ``name``: (key_id, plaintext token). Show the token once."""
        ...

    def list(self) -> list[ApiKey]:
        """Every key, revoked ones included, oldest first."""
        ...

    def revoke(self, key_id: str) -> ApiKey:
        """Revoke a key (idempotent); raises KeyStoreError for an unknown id."""
        ...

    def lookup(self, token: str) -> ApiKey | None:
        """The record a token proves, revoked or not; None for an unknown or wrong token."""
        ...

    def verify(self, token: str) -> ApiKey | None:
        """The record of a valid, unrevoked token, else None; records its use."""
        ...

    def close(self) -> None:
        """Release the store."""
        ...


class SqliteKeyStore:
    """KeyStore in a SQLite file. ``clock`` (Unix seconds) is a seam for tests.

    ``last_used`` is written at most once a minute per key, so a busy agent does not turn
    every push into a database write.
    """

    def __init__(self, path: Path, *, clock: Callable[[], float] = time.time) -> None:
        self._clock = clock
        self._lock = threading.Lock()
        self._last_written: dict[str, float] = {}
        self._db = open_sqlite(
            path,
            "the key store",
            "CREATE TABLE IF NOT EXISTS api_keys ("
            "key_id TEXT PRIMARY KEY, name TEXT NOT NULL, secret_sha256 TEXT NOT NULL, "
            "created REAL NOT NULL, revoked REAL, last_used REAL)",
        )

    def create(self, name: str) -> tuple[str, str]:
        """A new key: (key_id, token). The token is not recoverable afterwards."""
        if not name.strip():
            raise KeyStoreError("a key needs a non-empty name")
        secret = secrets.token_urlsafe(32)
        with self._lock:
            while True:
                key_id = secrets.token_hex(_ID_HEX_DIGITS // 2)
                try:
                    self._db.execute(
                        "INSERT INTO api_keys (key_id, name, secret_sha256, created) "
                        "VALUES (?, ?, ?, ?)",
                        (key_id, name, _digest(secret), self._clock()),
                    )
                except sqlite3.IntegrityError:
                    continue
                except sqlite3.Error as err:
                    raise StorageUnavailable(f"cannot store key: {err}") from err
                break
        return key_id, f"{TOKEN_PREFIX}_{key_id}_{secret}"

    def list(self) -> list[ApiKey]:
        """Every key, oldest first."""
        with self._lock:
            rows = self._db.execute(
                "SELECT key_id, name, created, revoked, last_used FROM api_keys "
                "ORDER BY created, key_id"
            ).fetchall()
        return [ApiKey(*row) for row in rows]

    def get(self, key_id: str) -> ApiKey | None:
        """One key's record by id."""
        with self._lock:
            row = self._db.execute(
                "SELECT key_id, name, created, revoked, last_used FROM api_keys WHERE key_id = ?",
                (key_id,),
            ).fetchone()
        return ApiKey(*row) if row else None

    def revoke(self, key_id: str) -> ApiKey:
        """Revoke a key; revoking twice keeps the first revocation time."""
        with self._lock:
            cur = self._db.execute(
                "UPDATE api_keys SET revoked = coalesce(revoked, ?) WHERE key_id = ?",
                (self._clock(), key_id),
            )
            if cur.rowcount == 0:
                raise KeyStoreError(f"no API key with id {key_id!r}")
        key = self.get(key_id)
        assert key is not None
        return key

    def lookup(self, token: str) -> ApiKey | None:
        """The record a token proves (revoked or not), else None."""
        parts = split_token(token)
        if parts is None:
            return None
        key_id, secret = parts
        with self._lock:
            row = self._db.execute(
                "SELECT key_id, name, created, revoked, last_used, secret_sha256 "
                "FROM api_keys WHERE key_id = ?",
                (key_id,),
            ).fetchone()
        if row is None or not hmac.compare_digest(str(row[5]), _digest(secret)):
            return None
        return ApiKey(*row[:5])

    def verify(self, token: str) -> ApiKey | None:
        """The record of a valid unrevoked token, else None; updates ``last_used``."""
        key = self.lookup(token)
        if key is None or key.is_revoked:
            return None
        now = self._clock()
        with self._lock:
            if now - self._last_written.get(key.key_id, float("-inf")) >= _LAST_USED_RESOLUTION_S:
                self._last_written[key.key_id] = now
                # last_used is best effort; authentication itself succeeded
                with contextlib.suppress(sqlite3.Error):
                    self._db.execute(
                        "UPDATE api_keys SET last_used = ? WHERE key_id = ?", (now, key.key_id)
                    )
        return ApiKey(key.key_id, key.name, key.created, key.revoked, now)

    def close(self) -> None:
        """Close the file."""
        with self._lock:
            self._db.close()
