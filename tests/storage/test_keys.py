"""API keys: hashed at rest, shown once, revocable."""

from __future__ import annotations

import sqlite3
import threading
from pathlib import Path

import pytest

from multimonx.storage import KeyStore, KeyStoreError, SqliteKeyStore


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def store(tmp_path: Path) -> SqliteKeyStore:
    return SqliteKeyStore(tmp_path / "keys.db", clock=Clock())


def test_is_a_key_store(store: SqliteKeyStore) -> None:
    ks: KeyStore = store
    ks.close()


def test_create_returns_a_token_that_verifies(store: SqliteKeyStore) -> None:
    key_id, token = store.create("web-1")
    prefix, tid, secret = token.split("_", 2)
    assert (prefix, tid) == ("mmx", key_id)
    assert len(secret) >= 43  # 256 bits, base64url
    key = store.verify(token)
    assert key is not None
    assert (key.key_id, key.name, key.revoked) == (key_id, "web-1", None)


def test_only_a_hash_is_stored(tmp_path: Path) -> None:
    store = SqliteKeyStore(tmp_path / "keys.db")
    _, token = store.create("web-1")
    store.close()
    raw = (tmp_path / "keys.db").read_bytes()
    wal = tmp_path / "keys.db-wal"
    if wal.exists():
        raw += wal.read_bytes()
    assert token.split("_", 2)[2].encode() not in raw
    db = sqlite3.connect(tmp_path / "keys.db")
    assert token not in repr(db.execute("SELECT * FROM api_keys").fetchall())
    db.close()


@pytest.mark.parametrize(
    "mangle",
    [
        lambda t: t[:-1] + ("A" if t[-1] != "A" else "B"),
        lambda t: t.replace("mmx_", "xxx_"),
        lambda t: "mmx_ffffffffffff_" + t.split("_", 2)[2],
        lambda t: t.split("_", 2)[0] + "_" + t.split("_", 2)[1],
        lambda t: "",
        lambda t: t + "\x00",
        lambda t: "mmx_" + "../../etc" + "_" + "a" * 40,
    ],
)
def test_wrong_tokens_fail(store: SqliteKeyStore, mangle: object) -> None:
    _, token = store.create("web-1")
    bad = mangle(token)  # type: ignore[operator]
    assert store.verify(bad) is None
    assert store.lookup(bad) is None


def test_revoked_keys_fail_but_are_recognised(store: SqliteKeyStore) -> None:
    key_id, token = store.create("web-1")
    _other_id, other = store.create("web-2")
    revoked = store.revoke(key_id)
    assert revoked.revoked == 1000.0
    assert store.verify(token) is None
    looked = store.lookup(token)
    assert looked is not None
    assert looked.is_revoked
    assert store.verify(other) is not None
    assert store.revoke(key_id).revoked == 1000.0  # idempotent
    with pytest.raises(KeyStoreError):
        store.revoke("000000000000")


def test_list_shows_use_without_secrets(tmp_path: Path) -> None:
    clock = Clock()
    store = SqliteKeyStore(tmp_path / "k.db", clock=clock)
    a, token = store.create("a")
    clock.now = 1001.0
    b, _ = store.create("b")
    clock.now = 1100.0
    store.verify(token)
    clock.now = 1130.0
    store.verify(token)  # within a minute: not written again
    keys = store.list()
    assert [(k.key_id, k.name, k.created, k.last_used) for k in keys] == [
        (a, "a", 1000.0, 1100.0),
        (b, "b", 1001.0, None),
    ]
    assert not any(hasattr(k, "secret") or hasattr(k, "token") for k in keys)
    store.close()


def test_keys_survive_reopen(tmp_path: Path) -> None:
    first = SqliteKeyStore(tmp_path / "k.db")
    key_id, token = first.create("a")
    first.close()
    second = SqliteKeyStore(tmp_path / "k.db")
    key = second.verify(token)
    assert key is not None
    assert key.key_id == key_id
    second.close()


def test_empty_name_is_refused(store: SqliteKeyStore) -> None:
    with pytest.raises(KeyStoreError):
        store.create("  ")


def test_concurrent_verification(store: SqliteKeyStore) -> None:
    _, token = store.create("a")
    results: list[bool] = []

    def worker() -> None:
        for _ in range(50):
            results.append(store.verify(token) is not None)

    threads = [threading.Thread(target=worker) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert results == [True] * 200
