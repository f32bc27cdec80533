"""The API alert rules' store: create, read, replace and delete rows that survive reopening;
names unique even under concurrent creation; definitions come back exactly as stored."""

from __future__ import annotations

import sqlite3
import threading
from pathlib import Path

import pytest

from multimonx.storage import SqliteKeyStore
from multimonx.storage.rulestore import RuleNameTakenError, RuleStore, RuleStoreError


class _Clock:
    def __init__(self) -> None:
        self.now = 1_700_000_000.0

    def __call__(self) -> float:
        self.now += 1
        return self.now


def test_rules_are_created_listed_replaced_and_deleted(tmp_path: Path) -> None:
    store = RuleStore(tmp_path / "metadata.db", clock=_Clock())
    first = store.create("DiskFull", {"threshold": 90}, enabled=True)
    second = store.create("CpuHigh", {"threshold": 80}, enabled=False)
    assert first.rule_id != second.rule_id
    assert len(first.rule_id) == 12
    assert [r.name for r in store.list()] == ["DiskFull", "CpuHigh"]  # oldest first
    assert store.get(second.rule_id) == second

    replaced = store.replace(first.rule_id, "DiskAlmostFull", {"threshold": 95}, enabled=False)
    assert replaced is not None
    assert (replaced.name, dict(replaced.definition), replaced.enabled) == (
        "DiskAlmostFull",
        {"threshold": 95},
        False,
    )
    assert replaced.created == first.created
    assert replaced.updated > first.updated

    assert store.delete(second.rule_id) == second
    assert store.delete(second.rule_id) is None
    assert store.get(second.rule_id) is None
    assert [r.rule_id for r in store.list()] == [first.rule_id]
    store.close()


def test_unknown_ids_are_none_and_change_nothing(tmp_path: Path) -> None:
    store = RuleStore(tmp_path / "m.db")
    assert store.get("nope") is None
    assert store.replace("nope", "X", {}, enabled=True) is None
    assert store.delete("nope") is None
    assert store.list() == []
    store.close()


def test_rules_survive_reopening_beside_keys_in_the_same_file(tmp_path: Path) -> None:
    path = tmp_path / "metadata.db"
    keys = SqliteKeyStore(path)
    keys.create("agent")
    store = RuleStore(path)
    created = store.create("DiskFull", {"nested": {"a": [1, 2.5, None, True]}}, enabled=True)
    store.close()
    keys.close()
    reopened = RuleStore(path)
    assert reopened.list() == [created]
    reopened.close()
    assert [k.name for k in SqliteKeyStore(path).list()] == ["agent"]


HOSTILE = [
    "<script>alert(1)</script>",
    "line\nbreak\ttab\x00nul\x1b[31m",
    "quote \" and \\ backslash ' and {{ template }}",
    "unicode ✓ 日本 \U0001f525",
    "x" * 60_000,
]


@pytest.mark.parametrize("text", HOSTILE, ids=["script", "control", "quotes", "unicode", "huge"])
def test_definitions_come_back_exactly(tmp_path: Path, text: str) -> None:
    store = RuleStore(tmp_path / "m.db")
    created = store.create("Hostile", {"annotations": {"summary": text}}, enabled=True)
    store.close()
    reopened = RuleStore(tmp_path / "m.db")
    (row,) = reopened.list()
    assert row.definition == {"annotations": {"summary": text}}
    assert row == created
    reopened.close()


def test_a_name_is_unique_and_the_failed_write_changes_nothing(tmp_path: Path) -> None:
    store = RuleStore(tmp_path / "m.db")
    first = store.create("DiskFull", {"v": 1}, enabled=True)
    other = store.create("CpuHigh", {"v": 2}, enabled=True)
    with pytest.raises(RuleNameTakenError, match="'DiskFull' already exists"):
        store.create("DiskFull", {"v": 3}, enabled=True)
    with pytest.raises(RuleNameTakenError):
        store.replace(other.rule_id, "DiskFull", {"v": 4}, enabled=True)
    assert store.list() == [first, other]
    # a rule may keep its own name
    assert store.replace(first.rule_id, "DiskFull", {"v": 5}, enabled=True) is not None
    store.close()


def test_definitions_that_are_not_plain_json_are_refused(tmp_path: Path) -> None:
    store = RuleStore(tmp_path / "m.db")
    with pytest.raises(RuleStoreError, match="plain JSON"):
        store.create("NaN", {"threshold": float("nan")}, enabled=True)
    with pytest.raises(RuleStoreError, match="plain JSON"):
        store.create("Object", {"value": object()}, enabled=True)
    assert store.list() == []
    store.close()


def test_rows_that_are_not_json_objects_read_as_empty_definitions(tmp_path: Path) -> None:
    RuleStore(tmp_path / "m.db").close()
    db = sqlite3.connect(tmp_path / "m.db")
    db.executemany(
        "INSERT INTO alert_rules VALUES (?, ?, ?, 1, 1.0, 1.0)",
        [("a", "A", "not json"), ("b", "B", "[1]"), ("c", "C", '{"x": 1}')],
    )
    db.commit()
    db.close()
    store = RuleStore(tmp_path / "m.db")
    assert [(r.rule_id, dict(r.definition)) for r in store.list()] == [
        ("a", {}),
        ("b", {}),
        ("c", {"x": 1}),
    ]
    store.close()


def test_concurrent_creations_of_one_name_let_exactly_one_succeed(tmp_path: Path) -> None:
    store = RuleStore(tmp_path / "m.db")
    start = threading.Barrier(8)
    outcomes: list[str] = []
    lock = threading.Lock()

    def create(n: int) -> None:
        start.wait(30)
        try:
            store.create("Same", {"n": n}, enabled=True)
            outcome = "created"
        except RuleNameTakenError:
            outcome = "taken"
        with lock:
            outcomes.append(outcome)

    threads = [threading.Thread(target=create, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert sorted(outcomes) == ["created"] + ["taken"] * 7
    assert len(store.list()) == 1
    store.close()


def test_concurrent_writers_through_two_connections_lose_nothing(tmp_path: Path) -> None:
    stores = [RuleStore(tmp_path / "m.db"), RuleStore(tmp_path / "m.db")]
    start = threading.Barrier(8)

    def work(n: int) -> None:
        store = stores[n % 2]
        start.wait(30)
        for i in range(25):
            rule = store.create(f"R{n}_{i}", {"i": i}, enabled=True)
            store.replace(rule.rule_id, rule.name, {"i": i, "changed": True}, enabled=False)
            if i % 5 == 0:
                store.delete(rule.rule_id)

    threads = [threading.Thread(target=work, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    rows = stores[0].list()
    assert len(rows) == 8 * 20
    assert all(r.definition["changed"] and not r.enabled for r in rows)
    assert len({r.rule_id for r in rows}) == len(rows)
    for store in stores:
        store.close()
