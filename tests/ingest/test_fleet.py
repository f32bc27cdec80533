"""The fleet registry: up/down by interval, seeding from storage."""

from __future__ import annotations

import pytest

from multimonx.ingest import FleetRegistry, HostStatus, PushReport
from multimonx.model import Labels
from multimonx.storage import MemoryStorage


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def report(instance: str = "a", interval: float | None = 10.0, newest: int = 5) -> PushReport:
    return PushReport(instance, "node", "key", "0.1", interval, newest, 0, 0, 0)


@pytest.mark.parametrize(
    ("interval", "elapsed", "status"),
    [
        (10.0, 0.0, HostStatus.UP),
        (10.0, 29.9, HostStatus.UP),
        (10.0, 30.0, HostStatus.DOWN),
        (None, 44.0, HostStatus.UP),  # default interval 15 s
        (None, 45.0, HostStatus.DOWN),
    ],
)
def test_status_follows_the_interval(
    interval: float | None, elapsed: float, status: HostStatus
) -> None:
    clock = Clock()
    fleet = FleetRegistry(down_after_intervals=3, clock=clock)
    fleet.record_push(report(interval=interval))
    clock.now += elapsed
    view = fleet.get("a")
    assert view is not None
    assert view.status is status


def test_newest_sample_never_goes_backwards() -> None:
    fleet = FleetRegistry(clock=Clock())
    fleet.record_push(report(newest=50))
    fleet.record_push(report(newest=20))  # a spool replay of older data
    view = fleet.get("a")
    assert view is not None
    assert view.info.newest_sample_ms == 50


def test_seed_from_storage_lists_known_hosts_as_down() -> None:
    storage = MemoryStorage()
    app = storage.appender()
    app.append(Labels.of(__name__="up", instance="b", job="node"), 100, 1.0)
    app.append(Labels.of(__name__="load", instance="b", job="node"), 300, 1.0)
    app.append(Labels.of(__name__="up", instance="a", job="x"), 200, 1.0)
    app.append(Labels.of(__name__="no_instance"), 900, 1.0)
    app.commit()
    fleet = FleetRegistry(clock=Clock())
    fleet.record_push(report(instance="a", newest=500))
    assert fleet.seed(storage) == 1
    hosts = fleet.hosts()
    assert [(h.info.instance, h.info.job, h.info.newest_sample_ms, h.status) for h in hosts] == [
        ("a", "node", 500, HostStatus.UP),
        ("b", "node", 300, HostStatus.DOWN),
    ]


def test_apply_config_changes_the_threshold() -> None:
    clock = Clock()
    fleet = FleetRegistry(down_after_intervals=3, clock=clock)
    fleet.record_push(report())
    clock.now += 25
    fleet.apply_config(2)
    assert fleet.hosts()[0].status is HostStatus.DOWN
    assert fleet.forget("a")
    assert fleet.hosts() == []


def test_snapshot_and_restore_round_trip_and_skip_bad_records() -> None:
    source = FleetRegistry(clock=lambda: 1000.0)
    source.record_push(report("web-1"))
    snapshot = source.snapshot()
    target = FleetRegistry(clock=lambda: 5000.0)
    added = target.restore(
        {
            **snapshot,
            "bad-1": {"instance": "bad-1", "job": 7, "unknown_field": "ignored"},
            "bad-2": {"no_instance": True},
            "mismatch": {"instance": "other"},
        }
    )
    assert added == 2  # web-1, and bad-1 with the unknown field dropped
    view = target.get("web-1")
    assert view is not None
    assert view.info == source.get("web-1").info  # type: ignore[union-attr]
    assert view.status.value == "down"  # restored hosts are down until they push
    assert target.get("mismatch") is None
