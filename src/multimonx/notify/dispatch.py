"""The dispatcher (Alertmanager's ``dispatch`` and ``notify`` pipeline): it keeps the alerts,
sorts them into aggregation groups along the routing tree, flushes each group on its timers,
mutes what inhibition, silences and time intervals say, deduplicates against the
notification log and delivers to the integrations with retries.

Timing follows Alertmanager. A new group flushes ``group_wait`` after it was created, or at
once if one of its alerts started more than ``group_wait`` ago; then every
``group_interval``. A flush notifies an integration when the dedup stage says so
(``nflog.needs_update``); a delivery is logged only after it succeeded, so a failed one is
tried again at the next flush at the latest. Resolved alerts leave their group after a flush
that delivered everywhere.

Everything time-driven happens in ``tick(now)``: the dispatcher's own thread calls it (after
``start()``), tests call it directly with a fake clock and wait for deliveries with
``settle()``. Integrations run on a pool of delivery threads, one notification at a time per
integration.
"""

from __future__ import annotations

import logging
import random
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from typing import Protocol, runtime_checkable

from multimonx.model import MetricFamily
from multimonx.notify.alert import Alert
from multimonx.notify.config import NotifyConfig
from multimonx.notify.delivery import (
    AggregationGroup,
    Delivery,
    DeliveryState,
    Flush,
    StoredAlert,
    backoff,
    group_key,
    retry_cap,
)
from multimonx.notify.inhibit import Inhibitor
from multimonx.notify.nflog import LogKey, NotificationLog, needs_update
from multimonx.notify.notification import DeliveryError, Integration, Notification
from multimonx.notify.route import RouteOpts
from multimonx.notify.silence import Silences
from multimonx.notify.status import AlertStatus, IntegrationStats, metric_families

log = logging.getLogger(__name__)

MAINTENANCE_INTERVAL_S = 30.0
"""How often expired log entries, old silences and forgotten alerts are cleaned up."""
MAX_IDLE_WAIT_S = 1.0
"""The timer thread looks at the clock at least this often (a clock that jumps is noticed)."""


@runtime_checkable
class TimeIntervalLike(Protocol):
    """What the dispatcher needs of a named time interval."""

    def contains(self, t: float) -> bool: ...


class Dispatcher:
    """Routes, groups, mutes and delivers alerts. ``put``, ``alerts``, ``stats`` and
    ``apply_config`` are thread-safe. ``integrations`` maps receiver names to their
    integrations; ``nflog`` and ``silences`` are owned by the caller (``stop`` does not close
    them)."""

    def __init__(
        self,
        config: NotifyConfig,
        integrations: Mapping[str, Sequence[Integration]],
        *,
        nflog: NotificationLog,
        silences: Silences,
        clock: Callable[[], float] = time.time,
        external_url: str = "",
        delivery_threads: int = 8,
        rng: random.Random | None = None,
    ) -> None:
        self._cond = threading.Condition()
        self._config = config
        self._integrations = {name: tuple(i) for name, i in integrations.items()}
        self._nflog = nflog
        self._silences = silences
        self._clock = clock
        self._external_url = external_url
        self._rng = rng or random.Random()
        self._store: dict[str, StoredAlert] = {}
        self._groups: dict[str, AggregationGroup] = {}
        self._pending: list[Delivery] = []
        self._running: set[tuple[str, str]] = set()
        self._stats: dict[tuple[str, str], IntegrationStats] = {}
        self._executor = ThreadPoolExecutor(delivery_threads, thread_name_prefix="notify")
        self._thread: threading.Thread | None = None
        self._stopping = False
        self._wake = False
        self._next_maintenance = clock() + MAINTENANCE_INTERVAL_S
        self._add_stats_rows()

    # ---- input -------------------------------------------------------------------------

    def put(self, alerts: Sequence[Alert]) -> None:
        """Take new or updated alerts. An alert already held (same fingerprint) whose time
        range overlaps the new one is merged: the new one wins but keeps the earliest
        ``starts_at``; otherwise the new one replaces it (the alert fired again). An alert
        without an end (``ends_at`` 0) ends ``resolve_timeout`` from now, as Alertmanager
        does for alerts posted without one."""
        with self._cond:
            now = self._clock()
            for alert in alerts:
                stored = StoredAlert(self._merged(alert, now), now)
                self._store[alert.fingerprint] = stored
                self._route(stored, now)
            self._wake = True
            self._cond.notify_all()

    def apply_config(
        self, config: NotifyConfig, integrations: Mapping[str, Sequence[Integration]]
    ) -> None:
        """Switch to a new configuration, keeping the alerts (the log and the silences live
        outside). Groups are rebuilt from the held alerts as Alertmanager does on reload:
        pending retries stop, and groups whose alerts are older than ``group_wait`` flush
        at once, the log keeping them from repeating what was sent."""
        with self._cond:
            now = self._clock()
            for group in self._groups.values():
                if group.flush is not None:
                    self._supersede(group.flush, "configuration reloaded")
            self._groups.clear()
            self._config = config
            self._integrations = {name: tuple(i) for name, i in integrations.items()}
            for stored in self._store.values():
                self._route(stored, now)
            self._add_stats_rows()
            self._wake = True
            self._cond.notify_all()

    # ---- the timer ---------------------------------------------------------------------

    def tick(self, now: float | None = None) -> None:
        """Do what is due at ``now`` (default: the clock): flush groups, launch deliveries
        and retries, clean up. Returns without waiting for deliveries."""
        with self._cond:
            if self._stopping:
                return
            at = self._clock() if now is None else now
            if at >= self._next_maintenance:
                self._maintain(at)
            due = [g for g in self._groups.values() if g.next_flush <= at]
            if due:
                inhibitor = Inhibitor(
                    self._config.inhibit_rules, (s.alert for s in self._store.values()), at
                )
                for group in due:
                    self._flush(group, at, inhibitor)
            self._launch(at)

    def settle(self, timeout: float = 30.0) -> bool:
        """Wait until no integration is being called; False if ``timeout`` passed first."""
        with self._cond:
            return self._cond.wait_for(lambda: not self._running, timeout)

    def start(self) -> None:
        """Start the timer thread (it calls ``tick`` whenever something is due)."""
        with self._cond:
            if self._thread is not None:
                return
            self._thread = threading.Thread(target=self._run, name="notify-dispatch", daemon=True)
            self._thread.start()

    def stop(self, timeout: float = 10.0) -> None:
        """Stop flushing and retrying, and wait up to ``timeout`` for the integrations being
        called. The dispatcher cannot be started again."""
        with self._cond:
            self._stopping = True
            for delivery in self._pending:
                if delivery.state in (DeliveryState.WAITING, DeliveryState.BACKOFF):
                    delivery.state = DeliveryState.FAILED
                    delivery.last_error = "dispatcher stopped"
            self._pending = [d for d in self._pending if not d.done]
            self._cond.notify_all()
            thread = self._thread
        deadline = time.monotonic() + timeout
        if thread is not None:
            thread.join(timeout)
        self.settle(max(0.0, deadline - time.monotonic()))
        self._executor.shutdown(wait=False, cancel_futures=True)

    def _run(self) -> None:
        while not self._stopped():
            try:
                self.tick()
            except Exception:
                log.exception("notify: dispatcher tick failed")
            with self._cond:
                wait = min(MAX_IDLE_WAIT_S, max(0.0, self._next_due() - self._clock()))
                self._cond.wait_for(lambda: self._wake or self._stopping, wait)
                self._wake = False

    def _stopped(self) -> bool:
        with self._cond:
            return self._stopping

    def _next_due(self) -> float:
        times = [self._next_maintenance]
        times += [g.next_flush for g in self._groups.values()]
        # A delivery waiting for its integration to be free is started when that call ends,
        # so only the retries of free integrations need the timer.
        times += [
            d.attempt_at
            for d in self._pending
            if d.state is DeliveryState.BACKOFF and d.slot not in self._running
        ]
        return min(times)

    # ---- reading -----------------------------------------------------------------------

    def alerts(self) -> list[AlertStatus]:
        """The alerts not yet resolved, by fingerprint, with their receivers and what mutes
        them now."""
        now = self._clock()
        with self._cond:
            stored = list(self._store.values())
            config = self._config
        inhibitor = Inhibitor(config.inhibit_rules, (s.alert for s in stored), now)
        out = []
        for one in sorted(stored, key=lambda s: s.alert.fingerprint):
            labels = one.alert.labels
            if one.alert.resolved_at(now):
                continue
            receivers = sorted({r.opts.receiver for r in config.route.match(labels)})
            out.append(
                AlertStatus(
                    one.alert,
                    one.updated_at,
                    tuple(receivers),
                    tuple(self._silences.mutes(labels, now)),
                    inhibitor.mutes(labels),
                )
            )
        return out

    def stats(self) -> list[IntegrationStats]:
        """Delivery counters per receiver and integration, sorted."""
        with self._cond:
            return [self._stats[k] for k in sorted(self._stats)]

    def metrics(self) -> list[MetricFamily]:
        """The dispatcher's metric families, for the server's ``/metrics``."""
        return metric_families(self.stats(), self.alerts())

    # ---- under the lock ----------------------------------------------------------------

    def _merged(self, alert: Alert, now: float) -> Alert:
        """``alert`` with its end set if it has none, merged with the one held, if any."""
        if alert.ends_at <= 0:
            alert = replace(alert, ends_at=now + self._config.resolve_timeout)
        old = self._store.get(alert.fingerprint)
        if old is not None and _overlap(old.alert, alert):
            alert = replace(alert, starts_at=min(old.alert.starts_at, alert.starts_at))
        return alert

    def _route(self, stored: StoredAlert, now: float) -> None:
        """Put an alert into the group of every route that takes it."""
        labels = stored.alert.labels
        for route in self._config.route.match(labels):
            opts = route.opts
            group_labels = opts.group_labels(labels)
            key = group_key(route, group_labels)
            group = self._groups.get(key)
            if group is None:
                group = AggregationGroup(route, group_labels, key, now + opts.group_wait)
                self._groups[key] = group
            group.alerts[stored.alert.fingerprint] = stored
            if not group.has_flushed and stored.alert.starts_at + opts.group_wait < now:
                group.next_flush = min(group.next_flush, now)

    def _flush(self, group: AggregationGroup, now: float, inhibitor: Inhibitor) -> None:
        opts = group.route.opts
        group.next_flush = now + opts.group_interval
        group.has_flushed = True
        if group.flush is not None:
            self._supersede(group.flush, "superseded by the next flush")
        flush = Flush(
            group,
            {fp: s.updated_at for fp, s in group.alerts.items() if s.alert.resolved_at(now)},
        )
        group.flush = flush
        if self._time_muted(opts, now):
            log.debug("notify: group %s muted by time intervals", group.key)
            self._finish(flush)
            return
        alerts = tuple(
            s.alert
            for s in sorted(group.alerts.values(), key=lambda s: s.alert.labels)
            if not inhibitor.mutes(s.alert.labels) and not self._silences.mutes(s.alert.labels, now)
        )
        if alerts:
            for integration in self._integrations.get(opts.receiver, ()):
                delivery = Delivery(
                    flush,
                    LogKey(group.key, opts.receiver, integration.name),
                    integration,
                    alerts,
                    flush_at=now,
                    deadline=now + opts.group_interval,
                    repeat_interval=opts.repeat_interval,
                    retry_cap=retry_cap(opts.group_interval),
                )
                flush.deliveries.append(delivery)
                self._pending.append(delivery)
        if not flush.deliveries:
            self._finish(flush)

    def _time_muted(self, opts: RouteOpts, now: float) -> bool:
        """Whether the route's mute intervals contain ``now``, or it has active intervals
        and none contains ``now``."""
        intervals = self._config.time_intervals

        def contains(name: str) -> bool:
            interval = intervals.get(name)
            return isinstance(interval, TimeIntervalLike) and interval.contains(now)

        if any(contains(name) for name in opts.mute_time_intervals):
            return True
        return bool(opts.active_time_intervals) and not any(
            contains(name) for name in opts.active_time_intervals
        )

    def _supersede(self, flush: Flush, reason: str) -> None:
        """Stop retrying an older flush's deliveries (one being tried finishes its attempt)."""
        for delivery in flush.deliveries:
            if delivery.state in (DeliveryState.WAITING, DeliveryState.BACKOFF):
                delivery.state = DeliveryState.FAILED
                delivery.last_error = reason
            elif delivery.state is DeliveryState.RUNNING:
                delivery.superseded = True
        self._pending = [d for d in self._pending if not d.done]
        if flush.done:
            self._finish(flush)

    def _finish(self, flush: Flush) -> None:
        """A flush is over: drop the resolved alerts it delivered, and the group if empty."""
        group = flush.group
        if group.flush is flush:
            group.flush = None
        if flush.ok:
            for fp, updated_at in flush.resolved.items():
                current = group.alerts.get(fp)
                if current is not None and current.updated_at == updated_at:
                    del group.alerts[fp]
        if not group.alerts and group.flush is None and self._groups.get(group.key) is group:
            del self._groups[group.key]

    def _launch(self, now: float) -> None:
        """Start the deliveries and retries that are due, one per integration at a time."""
        for delivery in self._pending:
            if delivery.slot in self._running or (
                delivery.state is DeliveryState.BACKOFF and delivery.attempt_at > now
            ):
                continue
            if delivery.state is DeliveryState.WAITING:
                try:
                    needed = self._prepare(delivery, now)
                except Exception as err:  # the log cannot be read: try at the next flush
                    log.error("notify: notification log failed for %s: %s", delivery.key, err)
                    delivery.state, delivery.last_error = DeliveryState.FAILED, str(err)
                    needed = False
                if not needed:
                    if delivery.state is DeliveryState.WAITING:
                        delivery.state = DeliveryState.SUCCEEDED
                    if delivery.flush.done:
                        self._finish(delivery.flush)
                    continue
            if delivery.state in (DeliveryState.WAITING, DeliveryState.BACKOFF):
                delivery.state = DeliveryState.RUNNING
                self._running.add(delivery.slot)
                self._executor.submit(self._attempt, delivery)
        self._pending = [d for d in self._pending if not d.done]

    def _prepare(self, delivery: Delivery, now: float) -> bool:
        """The dedup stage: whether ``delivery`` has anything to send. Sets its notification;
        logs at once a resolved-only change that its integration does not send."""
        at = delivery.flush_at
        firing = [a for a in delivery.alerts if not a.resolved_at(at)]
        resolved = [a for a in delivery.alerts if a.resolved_at(at)]
        delivery.firing = frozenset(a.fingerprint for a in firing)
        delivery.resolved = frozenset(a.fingerprint for a in resolved)
        integration = delivery.integration
        entry = self._nflog.query(delivery.key, now)
        if not needs_update(
            entry,
            delivery.firing,
            delivery.resolved,
            send_resolved=integration.send_resolved,
            repeat_interval=delivery.repeat_interval,
            now=at,
        ):
            return False
        if not firing and not integration.send_resolved:
            self._nflog.log(delivery.key, delivery.firing, delivery.resolved, at)
            return False
        sent = firing + resolved if integration.send_resolved else firing
        group = delivery.flush.group
        delivery.notification = Notification(
            delivery.key.receiver, group.key, group.labels, tuple(sent), at, self._external_url
        )
        return True

    def _attempt(self, delivery: Delivery) -> None:
        """One call of the integration, on a delivery thread, and what follows from it."""
        assert delivery.notification is not None
        error = ""
        retryable = True
        try:
            delivery.integration.notify(delivery.notification)
        except DeliveryError as err:
            error, retryable = str(err) or type(err).__name__, err.retryable
        except Exception as err:
            error = f"{type(err).__name__}: {err}"
        with self._cond:
            self._running.discard(delivery.slot)
            delivery.attempts += 1
            now = self._clock()
            if not error:
                self._succeeded(delivery, now)
            else:
                self._failed(delivery, error, retryable, now)
            if delivery.done and delivery.flush.done:
                self._finish(delivery.flush)
            if not self._stopping:
                self._launch(now)  # whatever waited for this integration
            self._wake = True
            self._cond.notify_all()

    def _succeeded(self, delivery: Delivery, now: float) -> None:
        stats = self._stats_of(delivery)
        self._stats[delivery.slot] = replace(
            stats, attempts=stats.attempts + 1, sent=stats.sent + 1, last_success_at=now
        )
        try:
            self._nflog.log(delivery.key, delivery.firing, delivery.resolved, delivery.flush_at)
        except Exception as err:
            log.error("notify: sent to %s but could not log it: %s", delivery.key, err)
            delivery.state = DeliveryState.FAILED
            return
        delivery.state = DeliveryState.SUCCEEDED

    def _failed(self, delivery: Delivery, error: str, retryable: bool, now: float) -> None:
        stats = self._stats_of(delivery)
        self._stats[delivery.slot] = replace(
            stats,
            attempts=stats.attempts + 1,
            failed=stats.failed + 1,
            last_error=error,
            last_error_at=now,
        )
        delivery.last_error = error
        retry_at = now + backoff(delivery.attempts, delivery.retry_cap, self._rng)
        give_up = (
            not retryable or delivery.superseded or self._stopping or retry_at >= delivery.deadline
        )
        log.warning(
            "notify: receiver %s integration %s group %s: attempt %d failed%s: %s",
            delivery.key.receiver,
            delivery.key.integration,
            delivery.key.group_key,
            delivery.attempts,
            "" if not give_up else (" (not retryable)" if not retryable else ", giving up"),
            error,
        )
        if give_up:
            delivery.state = DeliveryState.FAILED
        else:
            delivery.state = DeliveryState.BACKOFF
            delivery.attempt_at = retry_at

    def _stats_of(self, delivery: Delivery) -> IntegrationStats:
        return self._stats.get(delivery.slot) or IntegrationStats(*delivery.slot)

    def _add_stats_rows(self) -> None:
        for receiver, integrations in self._integrations.items():
            for integration in integrations:
                key = (receiver, integration.name)
                self._stats.setdefault(key, IntegrationStats(*key))

    def _maintain(self, now: float) -> None:
        """Forget expired log entries and silences, and resolved alerts no group holds."""
        self._next_maintenance = now + MAINTENANCE_INTERVAL_S
        try:
            self._nflog.gc(now)
            self._silences.gc(now)
        except Exception as err:
            log.warning("notify: cleanup failed: %s", err)
        held = {fp for g in self._groups.values() for fp in g.alerts}
        for fp in [fp for fp, s in self._store.items() if s.alert.resolved_at(now)]:
            if fp not in held:
                del self._store[fp]
        for key in [k for k, g in self._groups.items() if not g.alerts and g.flush is None]:
            del self._groups[key]


def _overlap(old: Alert, new: Alert) -> bool:
    """Whether two alerts with the same labels are the same firing (their ranges meet)."""
    return new.starts_at <= old.ends_at and old.starts_at <= new.ends_at
