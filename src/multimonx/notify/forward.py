"""Forwarding alerts to external Alertmanagers, as Prometheus's notifier does
(``notifier/notifier.go``): the rules hand over their alerts at each evaluation, and a
background thread per Alertmanager posts them in batches to ``<url>/api/v2/alerts``.

Like Prometheus's (per-Alertmanager) queues, each queue is bounded: when it is full the
oldest alerts are dropped and counted, since a newer copy of a still-firing alert is sent
at the next evaluation anyway. Unlike Prometheus, a batch that fails with a retryable error
(connection error, timeout, 5xx, 429) is tried again with exponential backoff, up to
``max_attempts`` times, before its alerts count as failed. One slow Alertmanager does not
hold back another.

Thread safety: ``send``, ``stats`` and ``metrics`` may be called from any thread.
``start`` and ``stop`` are called once each, by the composition root.
"""

from __future__ import annotations

import json
import threading
import time
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Final
from urllib.parse import urlsplit, urlunsplit

from multimonx.model import MetricFamily, MetricType
from multimonx.notify.alert import Alert
from multimonx.notify.notification import DeliveryError
from multimonx.notify.receivers.post import endpoint, post_json
from multimonx.notify.receivers.webhook import go_time

DEFAULT_QUEUE_CAPACITY: Final = 10_000
DEFAULT_BATCH_SIZE: Final = 64
API_PATH: Final = "/api/v2/alerts"


def postable_alert(alert: Alert) -> dict[str, Any]:
    """An alert as Alertmanager's API v2 takes it (``models.PostableAlert``)."""
    out: dict[str, Any] = {
        "labels": dict(alert.labels.pairs),
        "annotations": dict(alert.annotations.pairs),
        "startsAt": go_time(alert.starts_at),
        "endsAt": go_time(alert.ends_at),
    }
    if alert.generator_url:
        out["generatorURL"] = alert.generator_url
    return out


@dataclass(frozen=True, slots=True)
class ForwardStats:
    """One Alertmanager's counters: alerts delivered, alerts that failed every attempt,
    alerts dropped from a full queue (or left queued at stop), alerts waiting now."""

    alertmanager: str
    sent: int
    failed: int
    dropped: int
    queued: int


class _Queue:
    """One Alertmanager's bounded queue, its counters and its sending thread."""

    def __init__(self, url: str, owner: AlertmanagerForwarder) -> None:
        parts = urlsplit(url)
        path = parts.path.rstrip("/") + API_PATH
        self.url = urlunsplit(parts._replace(path=path, fragment=""))
        self.label = endpoint(url) + path  # no credentials, no query
        self.owner = owner
        self.pending: deque[dict[str, Any]] = deque()
        self.cond = threading.Condition()
        self.sent = self.failed = self.dropped = 0
        self.thread = threading.Thread(target=self.run, name=f"forward {self.label}", daemon=True)

    def put(self, alerts: list[dict[str, Any]]) -> None:
        capacity = self.owner.queue_capacity
        with self.cond:
            if self.owner.stopping.is_set():
                self.dropped += len(alerts)
                return
            self.pending.extend(alerts)
            excess = len(self.pending) - capacity
            if excess > 0:
                for _ in range(excess):
                    self.pending.popleft()
                self.dropped += excess
            self.cond.notify_all()

    def stats(self) -> ForwardStats:
        with self.cond:
            return ForwardStats(self.label, self.sent, self.failed, self.dropped, len(self.pending))

    def _next_batch(self) -> list[dict[str, Any]] | None:
        """The next batch, waiting for one; None once stopping and drained (or past the
        drain deadline, the rest counted as dropped)."""
        owner = self.owner
        with self.cond:
            while not self.pending and not owner.stopping.is_set():
                self.cond.wait()
            if owner.stopping.is_set() and (
                not self.pending or owner.clock() >= owner.drain_deadline
            ):
                self.dropped += len(self.pending)
                self.pending.clear()
                return None
            size = min(owner.batch_size, len(self.pending))
            return [self.pending.popleft() for _ in range(size)]

    def run(self) -> None:
        while (batch := self._next_batch()) is not None:
            delivered = self._deliver(json.dumps(batch).encode())
            with self.cond:
                if delivered:
                    self.sent += len(batch)
                else:
                    self.failed += len(batch)

    def _deliver(self, body: bytes) -> bool:
        """One batch: retried with backoff while the errors are retryable; once stopping,
        no more waiting (the wait ends at stop, and the next failure is final)."""
        owner = self.owner
        delay = owner.backoff[0]
        for attempt in range(1, owner.max_attempts + 1):
            try:
                post_json(self.url, body, timeout=owner.timeout)
                return True
            except DeliveryError as err:
                final = attempt == owner.max_attempts or owner.stopping.is_set()
                if final or not err.retryable:
                    return False
            owner.stopping.wait(delay)
            delay = min(delay * 2, owner.backoff[1])
        return False


class AlertmanagerForwarder:
    """Sends alerts to one or more Alertmanagers (Prometheus's ``notifier.Manager``).

    ``timeout`` bounds each POST; ``clock`` (monotonic seconds) times the drain at stop.
    At most ``queue_capacity`` alerts wait per Alertmanager; they are posted ``batch_size``
    at a time. A failed batch is tried ``max_attempts`` times, waiting ``backoff[0]``
    seconds, doubling up to ``backoff[1]``."""

    def __init__(
        self,
        urls: Sequence[str],
        *,
        timeout: float = 10.0,
        clock: Callable[[], float] = time.monotonic,
        queue_capacity: int = DEFAULT_QUEUE_CAPACITY,
        batch_size: int = DEFAULT_BATCH_SIZE,
        max_attempts: int = 3,
        backoff: tuple[float, float] = (0.5, 10.0),
    ) -> None:
        if queue_capacity < 1 or batch_size < 1 or max_attempts < 1:
            raise ValueError("queue_capacity, batch_size and max_attempts must be positive")
        for url in urls:
            if urlsplit(url).scheme not in ("http", "https"):
                raise ValueError(f"an Alertmanager URL must be http(s): {endpoint(url)}")
        self.timeout = timeout
        self.clock = clock
        self.queue_capacity = queue_capacity
        self.batch_size = batch_size
        self.max_attempts = max_attempts
        self.backoff = backoff
        self.stopping = threading.Event()
        self.drain_deadline = float("inf")
        self._queues = [_Queue(url, self) for url in urls]
        self._started = False

    def start(self) -> None:
        """Starts one sending thread per Alertmanager."""
        if self._started:
            raise RuntimeError("the forwarder is already started")
        self._started = True
        for queue in self._queues:
            queue.thread.start()

    def send(self, alerts: Sequence[Alert]) -> None:
        """Queues ``alerts`` for every Alertmanager (never blocks on the network); after
        ``stop`` they are counted as dropped."""
        if not alerts or not self._queues:
            return
        postable = [postable_alert(a) for a in alerts]
        for queue in self._queues:
            queue.put(postable)

    def stop(self, drain_timeout: float = 5.0) -> None:
        """Stops accepting work and sends what is queued for up to ``drain_timeout``
        seconds (an attempt in flight may add one ``timeout``); what is left is dropped."""
        self.drain_deadline = self.clock() + drain_timeout
        self.stopping.set()
        for queue in self._queues:
            with queue.cond:
                queue.cond.notify_all()
        if self._started:
            for queue in self._queues:
                queue.thread.join(drain_timeout + self.timeout + 1.0)

    def stats(self) -> list[ForwardStats]:
        """Each Alertmanager's counters, in configuration order."""
        return [queue.stats() for queue in self._queues]

    def metrics(self) -> list[MetricFamily]:
        """The counters as metric families for ``/metrics`` (Prometheus's
        ``prometheus_notifications_*`` under our prefix)."""
        stats = self.stats()

        def family(name: str, kind: MetricType, help: str, values: list[int]) -> MetricFamily:
            rows = tuple(((s.alertmanager,), float(v)) for s, v in zip(stats, values, strict=True))
            return MetricFamily(name, kind, help, ("alertmanager",), rows)

        counter, gauge = MetricType.COUNTER, MetricType.GAUGE
        return [
            family(
                "multimonx_notifications_sent_total",
                counter,
                "Alerts delivered to each Alertmanager.",
                [s.sent for s in stats],
            ),
            family(
                "multimonx_notifications_errors_total",
                counter,
                "Alerts that failed every attempt to reach each Alertmanager.",
                [s.failed for s in stats],
            ),
            family(
                "multimonx_notifications_dropped_total",
                counter,
                "Alerts dropped from a full queue, or still queued at shutdown.",
                [s.dropped for s in stats],
            ),
            family(
                "multimonx_notifications_queue_length",
                gauge,
                "Alerts waiting to be sent to each Alertmanager.",
                [s.queued for s in stats],
            ),
            MetricFamily.single(
                "multimonx_notifications_queue_capacity",
                gauge,
                "The capacity of each Alertmanager's queue.",
                self.queue_capacity,
            ),
        ]
