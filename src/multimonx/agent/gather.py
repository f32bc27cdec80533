"""The gatherer: runs each collector on its own interval and assembles collection rounds.

One thread calls ``run_due`` on every tick of the base interval. Collectors whose time has
come run, one after the other; their families become the round that is pushed (with one
timestamp, the tick's) and replace their previous families in the snapshot that ``/metrics``
serves. Around every collector the gatherer records node_exporter-style self-metrics
(``multimonx_agent_collector_duration_seconds`` and ``..._success``), and when a series that a
collector reported last time is gone, the next pushed round carries a staleness marker for it,
so the server stops showing it at once instead of after the 5-minute lookback, exactly as
Prometheus does for a scraped target.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field

from multimonx import __version__
from multimonx.agent.collectors.base import Collector, CollectorUnavailable
from multimonx.agent.process import ProcessMetrics
from multimonx.model import STALE_NAN, MetricFamily, MetricType

log = logging.getLogger(__name__)

SeriesKey = tuple[str, tuple[str, ...]]


@dataclass(frozen=True, slots=True)
class Round:
    """What one tick produced: the families to push, stamped with the tick's time."""

    timestamp_ms: int
    families: tuple[MetricFamily, ...]

    @property
    def samples(self) -> int:
        """Number of samples in the round."""
        return sum(len(f.samples) for f in self.families)


@dataclass(slots=True)
class _Slot:
    """Mutable per-collector state, owned by the gatherer thread."""

    collector: Collector
    next_due: float = 0.0
    families: tuple[MetricFamily, ...] = ()
    duration: float = 0.0
    success: bool = False
    ran: bool = False
    series: dict[str, tuple[MetricFamily, frozenset[tuple[str, ...]]]] = field(default_factory=dict)


def _stale_markers(
    before: dict[str, tuple[MetricFamily, frozenset[tuple[str, ...]]]],
    after: dict[str, tuple[MetricFamily, frozenset[tuple[str, ...]]]],
) -> list[MetricFamily]:
    markers = []
    for name, (family, rows) in before.items():
        gone = rows - after[name][1] if name in after else rows
        if gone:
            markers.append(
                MetricFamily(
                    name,
                    family.type,
                    family.help,
                    family.label_names,
                    tuple((values, STALE_NAN) for values in sorted(gone)),
                )
            )
    return markers


def _index(
    families: Iterable[MetricFamily],
) -> dict[str, tuple[MetricFamily, frozenset[tuple[str, ...]]]]:
    return {f.name: (f, frozenset(values for values, _ in f.samples)) for f in families}


class Gatherer:
    """Schedules collectors and keeps the latest snapshot for ``/metrics``.

    ``run_due`` must be called from one thread only (the collection loop); ``snapshot`` may be
    called from any thread (HTTP handlers) and sees whole rounds, never half of one.
    """

    def __init__(
        self,
        collectors: Sequence[Collector],
        *,
        extra: Callable[[], Sequence[MetricFamily]] = tuple,
        clock: Callable[[], float] = time.time,
        timer: Callable[[], float] = time.perf_counter,
    ) -> None:
        self._slots = [_Slot(c) for c in collectors]
        self._extra = extra
        self._clock = clock
        self._timer = timer
        self._lock = threading.Lock()
        self._process = ProcessMetrics()
        self._rounds = 0
        self._last_round_seconds = 0.0
        self._round_seconds_total = 0.0

    @property
    def collector_names(self) -> list[str]:
        """Names of the collectors still scheduled."""
        return [s.collector.name for s in self._slots]

    def run_due(self, now: float | None = None) -> Round:
        """Run every collector that is due at ``now`` and return the round to push."""
        now = self._clock() if now is None else now
        started = self._timer()
        fresh: list[MetricFamily] = []
        ran: list[_Slot] = []
        for slot in list(self._slots):
            # A tick that fires a little early still counts: wake-ups jitter on a busy host.
            if slot.next_due - 0.1 * slot.collector.interval > now:
                continue
            slot.next_due = now + slot.collector.interval
            families = self._run(slot)
            if families is not None:
                ran.append(slot)
                fresh.extend(families)
        elapsed = self._timer() - started
        with self._lock:
            self._rounds += 1
            self._last_round_seconds = elapsed
            self._round_seconds_total += elapsed
        if ran:
            fresh.extend(self._collector_families(ran))
        fresh.extend(self._self_families())
        fresh.extend(self._extra())
        return Round(int(now * 1000), tuple(fresh))

    def _run(self, slot: _Slot) -> tuple[MetricFamily, ...] | None:
        """Collect one slot: the families to push (with staleness markers for series that
        vanished), or None if the collector turned out to be unavailable."""
        name = slot.collector.name
        started = self._timer()
        try:
            families = tuple(slot.collector.collect())
            success = True
        except CollectorUnavailable as err:
            log.info("collector %s not available: %s", name, err)
            with self._lock:
                self._slots.remove(slot)
            return None
        except Exception:
            log.exception("collector %s failed", name)
            families, success = (), False
        duration = self._timer() - started
        markers: list[MetricFamily] = []
        if success:
            after = _index(families)
            markers = _stale_markers(slot.series, after)
            slot.series = after
        with self._lock:
            slot.families = families
            slot.duration, slot.success, slot.ran = duration, success, True
        return families + tuple(markers)

    def _collector_families(self, slots: Sequence[_Slot]) -> list[MetricFamily]:
        return [
            MetricFamily.gauge(
                "multimonx_agent_collector_duration_seconds",
                "Duration of a collector's last collection.",
                ("collector",),
                [((s.collector.name,), s.duration) for s in slots],
            ),
            MetricFamily.gauge(
                "multimonx_agent_collector_success",
                "Whether a collector's last collection succeeded.",
                ("collector",),
                [((s.collector.name,), 1.0 if s.success else 0.0) for s in slots],
            ),
        ]

    def _self_families(self) -> list[MetricFamily]:
        with self._lock:
            rounds, last, total = self._rounds, self._last_round_seconds, self._round_seconds_total
        return [
            *self._process.families(),
            MetricFamily.gauge(
                "multimonx_agent_build_info",
                "A metric with a constant '1' value labelled by the agent's version.",
                ("version",),
                [((__version__,), 1.0)],
            ),
            MetricFamily.single(
                "multimonx_agent_rounds_total",
                MetricType.COUNTER,
                "Collection rounds run since the agent started.",
                rounds,
            ),
            MetricFamily.single(
                "multimonx_agent_round_duration_seconds",
                MetricType.GAUGE,
                "Wall-clock duration of the last collection round.",
                last,
            ),
            MetricFamily.single(
                "multimonx_agent_round_duration_seconds_total",
                MetricType.COUNTER,
                "Total wall-clock time spent in collection rounds.",
                total,
            ),
        ]

    def snapshot(self) -> list[MetricFamily]:
        """The latest families of every collector plus the agent's own, for ``/metrics``."""
        with self._lock:
            slots = [s for s in self._slots if s.ran]
            families = [f for s in slots for f in s.families]
        families.extend(self._collector_families(slots))
        families.extend(self._self_families())
        families.extend(self._extra())
        return families

    def run_forever(
        self,
        base_interval: float,
        stop: threading.Event,
        on_round: Callable[[Round], None],
    ) -> None:
        """Tick every ``base_interval`` seconds, aligned to the wall clock, until ``stop``."""
        while not stop.is_set():
            now = self._clock()
            rnd = self.run_due(now)
            try:
                on_round(rnd)
            except Exception:
                log.exception("handling a collection round failed")
            next_tick = (now // base_interval + 1) * base_interval
            stop.wait(max(0.0, next_tick - self._clock()))
