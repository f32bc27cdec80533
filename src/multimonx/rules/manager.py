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
from dataclasses import dataclass

from multimonx.model import Labels
from multimonx.rules.alerting import QueryFunc
from multimonx.rules.group import (
    DEFAULT_RESEND_DELAY_MS,
    AppendFunc,
    ForStateFunc,
    GroupState,
    GroupStatus,
    HistoryFunc,
    NotifyFunc,
    _no_history,
    _no_notify,
)
from multimonx.rules.rulefile import RuleGroup

log = logging.getLogger(__name__)

DEFAULT_INTERVAL_MS = 60_000
"""Prometheus's default ``evaluation_interval``."""


@dataclass(frozen=True, slots=True)
class RuleSinks:
    """Where evaluations go: samples to ``append``, alerts due to ``notify``, transitions to
    ``history``; ``for_state`` reads the stored ``for`` state back after a restart (None: no
    restoring). ``outage_tolerance_ms`` and ``grace_ms`` are Prometheus's
    ``--rules.alert.for-outage-tolerance`` and ``--rules.alert.for-grace-period``."""

    append: AppendFunc
    notify: NotifyFunc = _no_notify
    history: HistoryFunc = _no_history
    for_state: ForStateFunc | None = None
    outage_tolerance_ms: int = 3_600_000
    grace_ms: int = 600_000
    resend_delay_ms: int = DEFAULT_RESEND_DELAY_MS


class _Runner:
    """The thread evaluating one group."""

    def __init__(
        self,
        state: GroupState,
        query: QueryFunc,
        sinks: RuleSinks,
        clock: Callable[[], float],
    ) -> None:
        self.state = state
        self._query = query
        self._sinks = sinks
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
        sinks = self._sinks
        due = self.state.eval_time(self._now_ms()) + interval
        evaluations = 0
        while not self._stop.wait(max(due - self._now_ms(), 0) / 1000):
            try:
                self.state.eval(
                    due, self._query, sinks.append, notify=sinks.notify, history=sinks.history
                )
                evaluations += 1
                # As Prometheus: restore after the second evaluation, once recording rules
                # the alerts may depend on have caught up.
                if evaluations == 2 and not self.state.restored and sinks.for_state is not None:
                    self.state.restore(
                        self._now_ms(),
                        sinks.for_state,
                        tolerance_ms=sinks.outage_tolerance_ms,
                        grace_ms=sinks.grace_ms,
                    )
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
        sinks: RuleSinks | AppendFunc,
        *,
        default_interval_ms: int = DEFAULT_INTERVAL_MS,
        external_labels: Labels | None = None,
        external_url: str = "",
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._query = query
        self._sinks = sinks if isinstance(sinks, RuleSinks) else RuleSinks(sinks)
        self._default_interval_ms = default_interval_ms
        self._external_labels = external_labels
        self._external_url = external_url
        self._clock = clock
        self._lock = threading.Lock()
        self._runners: dict[tuple[str, str], _Runner] = {}
        self._states: list[GroupState] = []
        self._started = False
        self._restore_new_groups = self._sinks.for_state is not None
        """Groups loaded before the first start restore their ``for`` state; groups added
        later are new, with nothing to restore (Prometheus's ``Manager.restored``)."""

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
                    resend_delay_ms=self._sinks.resend_delay_ms,
                    restore=self._restore_new_groups,
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
            self._restore_new_groups = False
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
                runner = _Runner(state, self._query, self._sinks, self._clock)
                self._runners[state.key] = runner
                runner.start()
