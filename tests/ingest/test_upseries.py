"""The ``up`` series the server writes for pushing hosts: 1 on time, 0 once down, and no
verdict on a host known from before a restart until the server has waited long enough."""

from __future__ import annotations

from multimonx.ingest import FleetRegistry, PushReport, UpWriter
from multimonx.model import Labels
from multimonx.promql.engine import Engine
from multimonx.storage import MemoryStorage

START = 1_700_000_000.0


class _Clock:
    def __init__(self) -> None:
        self.now = START

    def __call__(self) -> float:
        return self.now


def _push(fleet: FleetRegistry, instance: str, job: str = "node") -> None:
    fleet.record_push(
        PushReport(
            instance=instance,
            job=job,
            agent="agent",
            agent_version="1",
            interval_seconds=10.0,
            newest_sample_ms=0,
            spool_bytes=0,
            dropped_samples=0,
            push_errors=0,
        )
    )


def _up(storage: MemoryStorage, t_s: float) -> dict[str, float]:
    result = Engine(storage).instant("up", round(t_s * 1000))
    assert result.vector is not None
    return {s.labels["instance"]: s.value for s in result.vector}


def test_up_is_one_while_pushing_and_zero_once_three_intervals_are_missed() -> None:
    clock = _Clock()
    fleet = FleetRegistry(clock=clock)
    storage = MemoryStorage()
    writer = UpWriter(fleet, storage, clock)
    _push(fleet, "web-1")
    _push(fleet, "web-2", job="")
    writer.write()
    assert _up(storage, clock.now) == {"web-1": 1.0, "web-2": 1.0}
    result = Engine(storage).instant("up", round(clock.now * 1000))
    assert result.vector is not None
    assert [s.labels for s in result.vector] == [
        Labels.of(__name__="up", instance="web-1", job="node"),
        Labels.of(__name__="up", instance="web-2"),
    ]
    clock.now += 29.0
    _push(fleet, "web-2", job="")
    writer.write()
    assert _up(storage, clock.now) == {"web-1": 1.0, "web-2": 1.0}  # 29 s < 3 x 10 s
    clock.now += 1.0
    writer.write()
    assert _up(storage, clock.now) == {"web-1": 0.0, "web-2": 1.0}


def test_hosts_known_from_before_a_restart_get_no_verdict_until_they_could_have_pushed() -> None:
    clock = _Clock()
    before = FleetRegistry(clock=clock)
    _push(before, "web-1")
    clock.now += 3600.0  # the server was stopped for an hour
    fleet = FleetRegistry(clock=clock)
    fleet.restore(before.snapshot())
    storage = MemoryStorage()
    writer = UpWriter(fleet, storage, clock)
    writer.write()
    assert _up(storage, clock.now) == {}
    clock.now += 5.0
    _push(fleet, "web-1")  # it pushes soon after the start: up, never down
    writer.write()
    assert _up(storage, clock.now) == {"web-1": 1.0}

    fleet.restore({"web-9": {**before.snapshot()["web-1"], "instance": "web-9"}})
    writer.write()
    assert "web-9" not in _up(storage, clock.now)
    clock.now += 30.0  # the server has run one down threshold: silence now means down
    _push(fleet, "web-1")
    writer.write()
    assert _up(storage, clock.now) == {"web-1": 1.0, "web-9": 0.0}
