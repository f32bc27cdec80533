"""The notification log: Alertmanager's dedup decision, entries in SQLite that survive a
restart, expiry after the retention."""

from __future__ import annotations

from pathlib import Path

import pytest

from multimonx.notify import LogEntry, LogKey, NotificationLog
from multimonx.notify.nflog import needs_update
from tests.notify.recording import FakeClock

T0 = 1_800_000_000.0
KEY = LogKey('{}:{alertname="Down"}', "team", "webhook[0]")


def entry(firing: set[str], resolved: set[str] | None = None, at: float = T0) -> LogEntry:
    return LogEntry(KEY, frozenset(firing), frozenset(resolved or ()), at, at + 3600)


@pytest.mark.parametrize(
    ("last", "firing", "resolved", "send_resolved", "now", "expected"),
    [
        (None, {"a"}, set(), True, T0, True),  # never notified, something fires
        (None, set(), {"a"}, True, T0, False),  # never notified, only resolved: nothing
        (entry({"a"}), {"a"}, set(), True, T0 + 10, False),  # unchanged
        (entry({"a"}), {"a", "b"}, set(), True, T0 + 10, True),  # a new firing alert
        (entry({"a", "b"}), {"a"}, {"b"}, True, T0 + 10, True),  # b resolved, sent
        (entry({"a", "b"}), {"a"}, {"b"}, False, T0 + 10, False),  # b resolved, not sent
        (entry({"a"}), set(), {"a"}, False, T0 + 10, True),  # all resolved: clear the log
        (entry(set(), {"a"}), set(), {"a"}, True, T0 + 10, False),  # already cleared
        (entry({"a"}, {"b"}), {"a"}, {"b"}, True, T0 + 10, False),  # resolved already sent
        (entry({"a"}), {"a"}, set(), True, T0 + 100, True),  # repeat interval over
        (entry({"a"}), {"a"}, set(), True, T0 + 99, False),
    ],
)
def test_needs_update(
    last: LogEntry | None,
    firing: set[str],
    resolved: set[str],
    send_resolved: bool,
    now: float,
    expected: bool,
) -> None:
    got = needs_update(
        last,
        frozenset(firing),
        frozenset(resolved),
        send_resolved=send_resolved,
        repeat_interval=100,
        now=now,
    )
    assert got is expected


def test_log_and_query(tmp_path: Path) -> None:
    clock = FakeClock(T0)
    log = NotificationLog(tmp_path / "nflog.db", clock=clock, retention=600)
    assert log.query(KEY) is None
    log.log(KEY, ["a", "b"], ["c"])
    other = LogKey(KEY.group_key, "team", "apprise[0]")
    log.log(other, ["a"], [], now=T0 + 5)
    got = log.query(KEY)
    assert got is not None
    assert (got.firing, got.resolved, got.timestamp) == (frozenset("ab"), frozenset("c"), T0)
    log.log(KEY, [], ["a", "b"])
    got = log.query(KEY)
    assert got is not None
    assert (got.firing, got.resolved) == (frozenset(), frozenset("ab"))
    log.close()

    reopened = NotificationLog(tmp_path / "nflog.db", clock=clock, retention=600)
    assert reopened.query(KEY) == got
    assert reopened.query(other) is not None
    clock.now = T0 + 600
    assert reopened.query(KEY) is None  # expired
    assert reopened.query(other) is not None
    assert reopened.gc() == 1
    reopened.close()
    again = NotificationLog(tmp_path / "nflog.db", clock=clock, retention=600)
    assert again.query(KEY) is None
    assert again.query(other) is not None
    again.close()
