"""The host list's store: saved records come back after reopening; bad rows never stop a load."""

import sqlite3
import threading
from pathlib import Path

from multimonx.storage import HostStore, PeriodicTask, StorageUnavailable


def test_records_survive_reopen_and_updates_replace(tmp_path: Path) -> None:
    store = HostStore(tmp_path / "metadata.db")
    store.save({"web-1": {"instance": "web-1", "job": "node"}, "db-1": {"instance": "db-1"}})
    store.save({"web-1": {"instance": "web-1", "job": "api"}})
    store.close()
    reopened = HostStore(tmp_path / "metadata.db")
    assert reopened.load() == {
        "web-1": {"instance": "web-1", "job": "api"},
        "db-1": {"instance": "db-1"},
    }
    reopened.delete("db-1")
    assert list(reopened.load()) == ["web-1"]
    reopened.close()


def test_rows_that_are_not_json_objects_are_skipped(tmp_path: Path) -> None:
    HostStore(tmp_path / "m.db").close()
    db = sqlite3.connect(tmp_path / "m.db")
    db.executemany(
        "INSERT INTO hosts VALUES (?, ?)", [("a", "not json"), ("b", "[1]"), ("c", '{"x": 1}')]
    )
    db.commit()
    db.close()
    store = HostStore(tmp_path / "m.db")
    assert store.load() == {"c": {"x": 1}}
    store.close()


def test_periodic_task_runs_until_stopped_and_once_more_at_stop() -> None:
    calls: list[int] = []
    ran_twice = threading.Event()

    def task() -> None:
        calls.append(1)
        if len(calls) >= 2:
            ran_twice.set()

    periodic = PeriodicTask(task, 0.01)
    periodic.start()
    assert ran_twice.wait(30)
    periodic.stop()
    after_stop = len(calls)
    assert after_stop >= 3  # the final call at stop


def test_periodic_task_without_a_final_call_stops_without_calling() -> None:
    calls: list[int] = []
    ran = threading.Event()

    def task() -> None:
        calls.append(1)
        ran.set()

    periodic = PeriodicTask(task, 0.01, final_call=False)
    periodic.start()
    assert ran.wait(30)
    periodic.stop()  # joins the thread: no call runs after this
    stopped_at = len(calls)
    periodic.stop()
    assert len(calls) == stopped_at


def test_periodic_task_survives_storage_errors() -> None:
    failures: list[int] = []

    def failing() -> None:
        failures.append(1)
        raise StorageUnavailable("disk full")

    periodic = PeriodicTask(failing, 0.01)
    periodic.start()
    periodic.stop()  # must not raise
    assert failures
