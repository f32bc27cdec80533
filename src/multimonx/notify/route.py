"""The routing tree (Alertmanager's ``dispatch.Route``): which receivers an alert goes to and
with which grouping and timing.

An alert enters at the root and descends into the first child whose matchers all match; with
``continue`` on that child, it also tries the following siblings. A route none of whose
children match takes the alert itself. The root matches every alert.
"""

from __future__ import annotations

from dataclasses import dataclass

from multimonx.model import Labels, Matcher

DEFAULT_GROUP_WAIT_S = 30.0
DEFAULT_GROUP_INTERVAL_S = 300.0
DEFAULT_REPEAT_INTERVAL_S = 300.0
"""Five minutes, the specification's deduplication window (Alertmanager's default is 4 h)."""


@dataclass(frozen=True, slots=True)
class RouteOpts:
    """What a route does with the alerts it takes. ``group_by`` None means every label
    (Alertmanager's ``group_by: ['...']``); the time intervals are names from the
    configuration's ``time_intervals``."""

    receiver: str
    group_by: tuple[str, ...] | None = ()
    group_wait: float = DEFAULT_GROUP_WAIT_S
    group_interval: float = DEFAULT_GROUP_INTERVAL_S
    repeat_interval: float = DEFAULT_REPEAT_INTERVAL_S
    mute_time_intervals: tuple[str, ...] = ()
    active_time_intervals: tuple[str, ...] = ()

    def group_labels(self, labels: Labels) -> Labels:
        """The labels an alert is grouped by on this route."""
        if self.group_by is None:
            return labels
        return Labels((n, v) for n, v in labels.pairs if n in self.group_by)


@dataclass(frozen=True, slots=True, eq=False)
class Route:
    """One node of the tree. ``key`` identifies the route across reloads (Alertmanager's
    ``Route.Key()``: the matchers of the path from the root) and prefixes its groups' keys;
    ``index`` numbers siblings so routes with equal matchers keep distinct keys."""

    opts: RouteOpts
    matchers: tuple[Matcher, ...] = ()
    continue_matching: bool = False
    routes: tuple[Route, ...] = ()
    key: str = "{}"
    index: int = 0

    def match(self, labels: Labels) -> list[Route]:
        """The routes that take an alert with ``labels``, in tree order (depth first)."""
        found: list[Route] = []
        for child in self.routes:
            if all(m.matches(labels) for m in child.matchers):
                found += child.match(labels)
                if not child.continue_matching:
                    break
        return found or [self]

    def walk(self) -> list[Route]:
        """This route and every route below it, depth first."""
        out = [self]
        for child in self.routes:
            out += child.walk()
        return out
