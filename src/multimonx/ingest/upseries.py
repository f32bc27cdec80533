"""The ``up`` series of pushing hosts, as Prometheus writes ``up`` for the targets it scrapes:
``up{instance, job}`` is 1 while a host pushes on time and 0 once it has missed
``down_after_intervals`` of its pushes (``FleetRegistry``), written for every known host every
``UP_INTERVAL_S``. Dashboards and rules written for Prometheus (``up == 0``) then work on
pushed data.

Right after the server starts, a host known from before that has not pushed yet is left out
rather than written down: until the server has run for that host's down threshold, silence
says nothing about it.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from multimonx.ingest.fleet import DEFAULT_INTERVAL_SECONDS, FleetRegistry, HostStatus, HostView
from multimonx.model import METRIC_NAME_LABEL, Labels
from multimonx.storage import Storage

UP_METRIC = "up"
UP_INTERVAL_S = 5.0


def up_samples(
    hosts: Sequence[HostView], now_s: float, started_s: float, down_after_intervals: float
) -> list[tuple[Labels, float]]:
    """Each host's ``up`` series and value at ``now_s`` (the server started at
    ``started_s``)."""
    out = []
    for view in hosts:
        info = view.info
        if view.status is HostStatus.UP:
            value = 1.0
        else:
            interval = info.interval_seconds or DEFAULT_INTERVAL_SECONDS
            if now_s - started_s < down_after_intervals * interval:
                continue
            value = 0.0
        labels = {METRIC_NAME_LABEL: UP_METRIC, "instance": info.instance}
        if info.job:
            labels["job"] = info.job
        out.append((Labels.of(labels), value))
    return out


class UpWriter:
    """Writes the ``up`` samples of ``fleet`` into ``storage`` when called (by a periodic
    task of the server)."""

    def __init__(self, fleet: FleetRegistry, storage: Storage, clock: Callable[[], float]) -> None:
        self.fleet = fleet
        self.storage = storage
        self.clock = clock
        self.started = clock()

    def write(self) -> None:
        """Store one ``up`` sample per known host, at the current time."""
        now = self.clock()
        samples = up_samples(self.fleet.hosts(), now, self.started, self.fleet.down_after_intervals)
        if not samples:
            return
        t_ms = round(now * 1000)
        app = self.storage.appender()
        for labels, value in samples:
            app.append(labels, t_ms, value)
        app.commit()
