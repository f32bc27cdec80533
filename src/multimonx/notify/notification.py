"""What the dispatcher hands a receiver's integrations: one group's alerts at one flush
(Alertmanager's notification data), and the contract every integration keeps."""

from __future__ import annotations

import enum
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Protocol

from multimonx.model import Labels
from multimonx.notify.alert import Alert


class GroupStatus(enum.Enum):
    """``firing`` if any alert of the notification is firing, else ``resolved``."""

    FIRING = "firing"
    RESOLVED = "resolved"


@dataclass(frozen=True, slots=True)
class Notification:
    """One group's alerts for one receiver, as of one flush.

    ``alerts`` holds the firing alerts, then the resolved ones (resolved alerts only when the
    integration sends resolved notifications); ``group_key`` identifies the group across
    flushes and restarts (route key + group labels, Alertmanager's ``groupKey``);
    ``external_url`` is the server's public base URL, for links to the dashboard."""

    receiver: str
    group_key: str
    group_labels: Labels
    alerts: tuple[Alert, ...]
    now: float
    external_url: str = ""

    @property
    def firing(self) -> tuple[Alert, ...]:
        """The alerts still firing at ``now``."""
        return tuple(a for a in self.alerts if not a.resolved_at(self.now))

    @property
    def resolved(self) -> tuple[Alert, ...]:
        """The alerts resolved at ``now``."""
        return tuple(a for a in self.alerts if a.resolved_at(self.now))

    @property
    def status(self) -> GroupStatus:
        """``firing`` if any alert fires."""
        return GroupStatus.FIRING if self.firing else GroupStatus.RESOLVED

    @property
    def common_labels(self) -> Labels:
        """The label pairs every alert has."""
        return _common(a.labels for a in self.alerts)

    @property
    def common_annotations(self) -> Labels:
        """The annotation pairs every alert has."""
        return _common(a.annotations for a in self.alerts)


def _common(sets: Iterable[Labels]) -> Labels:
    common: set[tuple[str, str]] | None = None
    for labels in sets:
        pairs = set(labels.pairs)
        common = pairs if common is None else common & pairs
    return Labels(common or ())


class DeliveryError(Exception):
    """An integration could not deliver. ``retryable`` False means trying again cannot help
    (a 4xx answer other than 429, a malformed URL): the dispatcher gives up on this flush."""

    def __init__(self, message: str, *, retryable: bool = True) -> None:
        super().__init__(message)
        self.retryable = retryable


class Integration(Protocol):
    """One way of delivering a receiver's notifications (a webhook URL, an apprise URL).

    ``notify`` blocks until delivered or failed, and raises DeliveryError on failure; it is
    called from the dispatcher's delivery threads, one notification at a time per
    integration, and must bound its own network waits (a timeout). ``name`` is unique within
    its receiver (``webhook[0]``, ``apprise[1]``) and keys the notification log."""

    @property
    def name(self) -> str: ...

    @property
    def send_resolved(self) -> bool: ...

    def notify(self, notification: Notification) -> None: ...
