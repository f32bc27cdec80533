"""The rule manager: every rule group evaluated on its own thread at its interval (Prometheus's
``rules.Manager``), and replaced by a reload without losing alert state.

A group's thread waits for the next timestamp of the group's grid (``GroupState.eval_time``),
evaluates there, and skips the timestamps it missed if an evaluation overran. ``update``
swaps in a new set of groups: a group with the same file and name takes over the state of
its rules that kept their kind, name and labels (``GroupState.take_state_from``).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Sequence

from multimonx.model import Labels
from multimonx.rules.alerting import QueryFunc
from multimonx.rules.group import AppendFunc, GroupState, GroupStatus
from multimonx.rules.rulefile import RuleGroup

log = logging.getLogger(__name__)

DEFAULT_INTERVAL_MS = 60_000
"""Prometheus's default ``evaluation_interval``."""


class _Runner:
    """The thread evaluating one group."""

    def __init__(
        self,
        state: GroupState,
        query: QueryFunc,
        append: AppendFunc,
        clock: Callable[[], float],
    ) -> None:
        self.state = state
        self._query = query
        self._append = append
        self._clock = clock
        self._stop = threading.Event()
        self._thread = threading.Thread(
            target=self._run, name=f"rules-{state.group.name}", daemon=True
        )

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join()

    def _now_ms(self) -> int:
        return round(self._clock() * 1000)

    def _run(self) -> None:
        interval = self.state.interval_ms
        due = self.state.eval_time(self._now_ms()) + interval
        while not self._stop.wait(max(due - self._now_ms(), 0) / 1000):
            try:
                self.state.eval(due, self._query, self._append)
            except Exception:  # a bug in one rule must not end the group's evaluations
                log.exception("rules: evaluating group %s failed", self.state.group.name)
            latest = self.state.eval_time(self._now_ms())
            due = max(due + interval, latest + (interval if latest <= due else 0))


class RuleManager:
    """Runs rule groups. ``start`` once; ``update`` any time (also before ``start``);
    ``stop`` waits for evaluations in progress. ``status`` may be called from any thread."""

    def __init__(
        self,
        query: QueryFunc,
        append: AppendFunc,
        *,
        default_interval_ms: int = DEFAULT_INTERVAL_MS,
        external_labels: Labels | None = None,
        external_url: str = "",
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._query = query
        self._append = append
        self._default_interval_ms = default_interval_ms
        self._external_labels = external_labels
        self._external_url = external_url
        self._clock = clock
        self._lock = threading.Lock()
        self._runners: dict[tuple[str, str], _Runner] = {}
        self._states: list[GroupState] = []
        self._started = False

    def update(self, groups: Sequence[RuleGroup]) -> None:
        """Evaluate ``groups`` from now on instead of the current ones."""
        with self._lock:
            old = {state.key: state for state in self._states}
            states = []
            for group in groups:
                state = GroupState(
                    group,
                    default_interval_ms=self._default_interval_ms,
                    external_labels=self._external_labels,
                    external_url=self._external_url,
                )
                before = old.get(state.key)
                if before is not None:
                    runner = self._runners.pop(state.key, None)
                    if runner is not None:
                        runner.stop()  # its evaluation in progress ends before the handover
                    state.take_state_from(before)
                states.append(state)
            for runner in self._runners.values():  # groups that are gone
                runner.stop()
            self._runners = {}
            self._states = states
            if self._started:
                self._start_runners()

    def start(self) -> None:
        """Start evaluating the groups given so far."""
        with self._lock:
            self._started = True
            self._start_runners()

    def stop(self) -> None:
        """Stop every group, after its evaluation in progress."""
        with self._lock:
            self._started = False
            for runner in self._runners.values():
                runner.stop()
            self._runners = {}

    def status(self) -> list[GroupStatus]:
        """Every group's state, in the order given."""
        with self._lock:
            states = list(self._states)
        return [state.status() for state in states]

    def _start_runners(self) -> None:
        for state in self._states:
            if state.key not in self._runners:
                runner = _Runner(state, self._query, self._append, self._clock)
                self._runners[state.key] = runner
                runner.start()
