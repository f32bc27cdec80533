"""The fleet registry: every host that has pushed, when, and whether it is up.

Kept in memory and updated by the ingester on every accepted push. The server saves a
``snapshot`` periodically and at shutdown (``storage.HostStore``) and ``restore``s it at start,
so the list survives a restart without scanning stored samples; restored hosts count as down
until they push again. ``seed`` (from storage) remains for stores without a saved list. A host
is up while its last push is younger than ``down_after_intervals`` times its push interval.
"""

from __future__ import annotations

import dataclasses
import enum
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from multimonx.model import Matcher
from multimonx.storage import MAX_TIME_MS, MIN_TIME_MS, Storage

DEFAULT_INTERVAL_SECONDS = 15.0
"""The interval assumed for a host that never said what its interval is."""


class HostStatus(enum.Enum):
    """Whether a host is pushing on time."""

    UP = "up"
    DOWN = "down"


@dataclass(frozen=True, slots=True)
class HostInfo:
    """What the server knows about one host. Times: push in Unix seconds, samples in ms."""

    instance: str
    job: str = ""
    agent: str = ""
    agent_version: str = ""
    interval_seconds: float | None = None
    last_push: float | None = None
    newest_sample_ms: int | None = None
    spool_bytes: int = 0
    dropped_samples: int = 0
    push_errors: int = 0

    def status(self, now: float, down_after_intervals: float) -> HostStatus:
        """UP if the last push is recent enough for this host's interval."""
        if self.last_push is None:
            return HostStatus.DOWN
        interval = self.interval_seconds or DEFAULT_INTERVAL_SECONDS
        if now - self.last_push < down_after_intervals * interval:
            return HostStatus.UP
        return HostStatus.DOWN


_FIELDS = frozenset(f.name for f in dataclasses.fields(HostInfo))


@dataclass(frozen=True, slots=True)
class HostView:
    """A host with its status at the time the registry was read."""

    info: HostInfo
    status: HostStatus


@dataclass(frozen=True, slots=True)
class PushReport:
    """One accepted push, as the registry records it for one host."""

    instance: str
    job: str
    agent: str
    agent_version: str
    interval_seconds: float | None
    newest_sample_ms: int
    spool_bytes: int
    dropped_samples: int
    push_errors: int


class FleetRegistry:
    """Thread-safe registry of hosts. ``clock`` (Unix seconds) is a seam for tests."""

    def __init__(
        self, *, down_after_intervals: float = 3.0, clock: Callable[[], float] = time.time
    ) -> None:
        self._down_after = down_after_intervals
        self._clock = clock
        self._lock = threading.Lock()
        self._hosts: dict[str, HostInfo] = {}

    def record_push(self, report: PushReport) -> None:
        """Note an accepted push (at the server's clock)."""
        now = self._clock()
        with self._lock:
            old = self._hosts.get(report.instance)
            newest = report.newest_sample_ms
            if old is not None and old.newest_sample_ms is not None:
                newest = max(newest, old.newest_sample_ms)
            self._hosts[report.instance] = HostInfo(
                instance=report.instance,
                job=report.job or (old.job if old else ""),
                agent=report.agent,
                agent_version=report.agent_version,
                interval_seconds=report.interval_seconds,
                last_push=now,
                newest_sample_ms=newest,
                spool_bytes=report.spool_bytes,
                dropped_samples=report.dropped_samples,
                push_errors=report.push_errors,
            )

    def seed(self, storage: Storage) -> int:
        """Add every ``instance`` found in storage not yet known; returns how many were added."""
        found: dict[str, HostInfo] = {}
        with storage.querier(MIN_TIME_MS, MAX_TIME_MS) as querier:
            for series in querier.select([Matcher.of("instance", "!=", "")]):
                instance = series.labels["instance"]
                newest = int(series.timestamps[-1])
                old = found.get(instance)
                if old is None or (old.newest_sample_ms or MIN_TIME_MS) < newest:
                    found[instance] = HostInfo(
                        instance=instance,
                        job=series.labels.get("job", "") or (old.job if old else ""),
                        newest_sample_ms=newest,
                    )
        added = 0
        with self._lock:
            for instance, info in found.items():
                if instance not in self._hosts:
                    self._hosts[instance] = info
                    added += 1
        return added

    def snapshot(self) -> dict[str, dict[str, Any]]:
        """Every host as a plain record, for ``storage.HostStore.save``."""
        with self._lock:
            return {name: dataclasses.asdict(info) for name, info in self._hosts.items()}

    def restore(self, records: Mapping[str, Mapping[str, Any]]) -> int:
        """Add the hosts of a saved snapshot not known yet; returns how many were added.

        Records with unknown or missing fields are skipped, so an older or newer snapshot
        never stops the server from starting.
        """
        added = 0
        with self._lock:
            for name, record in records.items():
                if name in self._hosts:
                    continue
                try:
                    info = HostInfo(**{k: v for k, v in record.items() if k in _FIELDS})
                except TypeError:
                    continue
                if info.instance != name:
                    continue
                self._hosts[name] = info
                added += 1
        return added

    def get(self, instance: str) -> HostView | None:
        """One host, or None if never seen."""
        now = self._clock()
        with self._lock:
            info = self._hosts.get(instance)
        return None if info is None else HostView(info, info.status(now, self._down_after))

    def hosts(self) -> list[HostView]:
        """Every host, sorted by instance, with its current status."""
        now = self._clock()
        with self._lock:
            infos = sorted(self._hosts.values(), key=lambda h: h.instance)
        return [HostView(i, i.status(now, self._down_after)) for i in infos]

    @property
    def down_after_intervals(self) -> float:
        """How many push intervals without a push make a host down."""
        return self._down_after

    def apply_config(self, down_after_intervals: float) -> None:
        """Change the down threshold (takes effect on the next read)."""
        with self._lock:
            self._down_after = down_after_intervals

    def forget(self, instance: str) -> bool:
        """Remove a host from the list (it reappears on its next push)."""
        with self._lock:
            return self._hosts.pop(instance, None) is not None
