"""The alert history store: events in, filtered events out, newest first, across reopen."""

from __future__ import annotations

import math
import threading
from pathlib import Path

import pytest

from multimonx.model import Labels
from multimonx.storage.alerthistory import (
    MAX_QUERY_ROWS,
    AlertEvent,
    AlertHistory,
    AlertPhase,
    HistoryFilter,
)


def _event(
    t: int,
    instance: str,
    name: str = "HostCpuHigh",
    severity: str = "warning",
    phase: AlertPhase = AlertPhase.FIRING,
    value: float = 0.9,
) -> AlertEvent:
    return AlertEvent(
        Labels.of(alertname=name, instance=instance, severity=severity),
        Labels.of(summary=f"{name} on {instance}"),
        phase,
        t,
        value,
    )


@pytest.fixture
def history(tmp_path: Path) -> AlertHistory:
    store = AlertHistory(tmp_path / "metadata.db")
    store.add(
        [
            _event(1000, "web-1", phase=AlertPhase.PENDING),
            _event(2000, "web-1"),
            _event(3000, "web-2", name="HostDown", severity="critical"),
            _event(4000, "web-1", phase=AlertPhase.RESOLVED, value=math.nan),
        ]
    )
    return store


@pytest.mark.parametrize(
    ("where", "times"),
    [
        (HistoryFilter(0, 10_000), [4000, 3000, 2000, 1000]),
        (HistoryFilter(1500, 3000), [3000, 2000]),
        (HistoryFilter(0, 10_000, instance="web-1"), [4000, 2000, 1000]),
        (HistoryFilter(0, 10_000, alertname="HostDown"), [3000]),
        (HistoryFilter(0, 10_000, severity="warning"), [4000, 2000, 1000]),
        (HistoryFilter(0, 10_000, phase=AlertPhase.RESOLVED), [4000]),
        (HistoryFilter(0, 10_000, instance="web-1", phase=AlertPhase.FIRING), [2000]),
        (HistoryFilter(0, 10_000, instance="nope"), []),
        (HistoryFilter(0, 10_000, limit=2), [4000, 3000]),
        (HistoryFilter(0, 10_000, limit=-5), []),
    ],
)
def test_filters(history: AlertHistory, where: HistoryFilter, times: list[int]) -> None:
    assert [e.t_ms for e in history.query(where)] == times


def test_events_round_trip_with_labels_annotations_and_nan_values(history: AlertHistory) -> None:
    resolved, firing = history.query(HistoryFilter(2000, 4000, instance="web-1"))
    assert firing == _event(2000, "web-1")
    assert resolved.phase is AlertPhase.RESOLVED
    assert math.isnan(resolved.value)


def test_hostile_label_values_are_stored_verbatim(tmp_path: Path) -> None:
    store = AlertHistory(tmp_path / "m.db")
    nasty = "x'); DROP TABLE alert_events; -- <script>alert(1)</script>\u0000"
    store.add([_event(1, nasty)])
    (event,) = store.query(HistoryFilter(0, 10, instance=nasty))
    assert event.labels["instance"] == nasty


def test_history_survives_reopening_and_old_events_can_be_trimmed(tmp_path: Path) -> None:
    path = tmp_path / "m.db"
    store = AlertHistory(path)
    store.add([_event(t, "web-1") for t in (1, 2, 3)])
    store.close()
    store = AlertHistory(path)
    assert store.delete_before(3) == 2
    assert [e.t_ms for e in store.query(HistoryFilter(0, 10))] == [3]


def test_a_query_returns_at_most_the_cap(tmp_path: Path) -> None:
    store = AlertHistory(tmp_path / "m.db")
    store.add([_event(t, "web-1") for t in range(MAX_QUERY_ROWS + 5)])
    assert len(store.query(HistoryFilter(0, 10**9, limit=10**9))) == MAX_QUERY_ROWS


def test_concurrent_writers_lose_nothing(tmp_path: Path) -> None:
    store = AlertHistory(tmp_path / "m.db")

    def write(n: int) -> None:
        store.add([_event(n * 1000 + i, f"host-{n}") for i in range(50)])

    threads = [threading.Thread(target=write, args=(n,)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(store.query(HistoryFilter(0, 10**9, limit=1000))) == 200
