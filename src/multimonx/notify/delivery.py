"""The bookkeeping of the dispatcher: aggregation groups, their flushes, and each flush's
deliveries to the receiver's integrations with their retries.

These are plain records that the dispatcher changes under its lock; nothing here runs on its
own. A flush snapshots a group's alerts; it makes one ``Delivery`` per integration of the
route's receiver; a delivery is attempted until it succeeds, fails for good, or the group's
next flush supersedes it (Alertmanager stops retrying at the next flush, which tries again
because nothing was logged).

Retry timing (our choice, documented): exponential backoff starting at 1 s and doubling per
failed attempt, capped at a quarter of the route's ``group_interval`` (at least 1 s, at most
60 s, Alertmanager's backoff cap), with "equal jitter": the delay is drawn uniformly between
half the step and the whole step, so integrations failing together do not retry in step.
"""

from __future__ import annotations

import enum
import json
import random
from dataclasses import dataclass, field

from multimonx.model import Labels
from multimonx.notify.alert import Alert
from multimonx.notify.nflog import LogKey
from multimonx.notify.notification import Integration, Notification
from multimonx.notify.route import Route

FIRST_RETRY_S = 1.0
MAX_RETRY_S = 60.0


def retry_cap(group_interval: float) -> float:
    """The longest wait between two attempts on a route with this group interval."""
    return min(MAX_RETRY_S, max(FIRST_RETRY_S, group_interval / 4))


def backoff(attempts: int, cap: float, rng: random.Random) -> float:
    """The wait after the ``attempts``-th failed attempt (1 for the first)."""
    step = min(cap, FIRST_RETRY_S * float(2 ** min(attempts - 1, 30)))
    return step / 2 + rng.uniform(0, step / 2)


def group_key(route: Route, labels: Labels) -> str:
    """A group's key: the route's key, a colon and the group labels as Alertmanager prints
    a label set (``{a="b", c="d"}``). Stable across restarts and reloads."""
    inner = ", ".join(f"{n}={json.dumps(v, ensure_ascii=False)}" for n, v in labels.pairs)
    return f"{route.key}:{{{inner}}}"


@dataclass(frozen=True, slots=True)
class StoredAlert:
    """An alert as the dispatcher holds it: ``updated_at`` is when it was last received."""

    alert: Alert
    updated_at: float


@dataclass(slots=True, eq=False)
class AggregationGroup:
    """The alerts one route groups under one set of group labels, and when it flushes."""

    route: Route
    labels: Labels
    key: str
    next_flush: float
    alerts: dict[str, StoredAlert] = field(default_factory=dict)
    has_flushed: bool = False
    flush: Flush | None = None


class DeliveryState(enum.Enum):
    """Where one delivery is: not yet tried (the dedup check comes first), being tried, waiting
    for its next attempt, or finished."""

    WAITING = "waiting"
    RUNNING = "running"
    BACKOFF = "backoff"
    SUCCEEDED = "succeeded"
    FAILED = "failed"


@dataclass(slots=True, eq=False)
class Delivery:
    """One flush's notification to one integration, through its retries. ``alerts`` are the
    flushed alerts left after muting (firing and resolved); ``deadline`` is the group's next
    flush, when retrying stops."""

    flush: Flush
    key: LogKey
    integration: Integration
    alerts: tuple[Alert, ...]
    flush_at: float
    deadline: float
    repeat_interval: float
    retry_cap: float
    state: DeliveryState = DeliveryState.WAITING
    attempt_at: float = 0.0
    attempts: int = 0
    superseded: bool = False
    last_error: str = ""
    firing: frozenset[str] = frozenset()
    resolved: frozenset[str] = frozenset()
    notification: Notification | None = None

    @property
    def done(self) -> bool:
        """Whether nothing more will be tried."""
        return self.state in (DeliveryState.SUCCEEDED, DeliveryState.FAILED)

    @property
    def slot(self) -> tuple[str, str]:
        """(receiver, integration): an integration gets one notification at a time."""
        return (self.key.receiver, self.key.integration)


@dataclass(slots=True, eq=False)
class Flush:
    """One flush of a group: its deliveries, and the resolved alerts it saw (fingerprint to
    ``updated_at``), which leave the group if every delivery succeeds and they did not
    change meanwhile (Alertmanager deletes resolved alerts after a successful flush)."""

    group: AggregationGroup
    resolved: dict[str, float]
    deliveries: list[Delivery] = field(default_factory=list)

    @property
    def done(self) -> bool:
        """Whether every delivery has finished."""
        return all(d.done for d in self.deliveries)

    @property
    def ok(self) -> bool:
        """Whether every delivery succeeded (or had nothing to send)."""
        return all(d.state is DeliveryState.SUCCEEDED for d in self.deliveries)
