"""Shared pieces for the notifier's tests: a settable clock and an integration that records
what it was asked to deliver (a real, small implementation of the protocol, not a mock)."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field

from multimonx.notify import DeliveryError, Notification


@dataclass
class FakeClock:
    """A clock the test moves by hand."""

    now: float

    def __call__(self) -> float:
        return self.now


@dataclass
class RecordingIntegration:
    """Records every notification it delivers; fails its first ``fail_times`` calls (with a
    retryable or a final DeliveryError), or while ``failing`` is set."""

    name: str = "webhook[0]"
    send_resolved: bool = True
    fail_times: int = 0
    retryable: bool = True
    failing: bool = False
    delay: float = 0.0
    calls: int = 0
    active: int = 0
    max_active: int = 0
    delivered: list[Notification] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)
    event: threading.Event = field(default_factory=threading.Event)

    def notify(self, notification: Notification) -> None:
        with self.lock:
            self.active += 1
            self.max_active = max(self.max_active, self.active)
        try:
            time.sleep(self.delay)  # a slow receiver, so overlapping calls would show
            self._deliver(notification)
        finally:
            with self.lock:
                self.active -= 1

    def _deliver(self, notification: Notification) -> None:
        with self.lock:
            self.calls += 1
            if self.failing or self.calls <= self.fail_times:
                raise DeliveryError("receiver answered 503", retryable=self.retryable)
            self.delivered.append(notification)
        self.event.set()

    def names(self) -> list[list[str]]:
        """Per delivered notification, the ``alertname``/``instance`` of its alerts."""
        return [
            [f"{a.labels.get('alertname')}@{a.labels.get('instance', '')}" for a in n.alerts]
            for n in self.delivered
        ]
