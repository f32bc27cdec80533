"""Alert history: every state change of every alert, kept in the metadata database.

Prometheus keeps no history of its alerts beyond the ``ALERTS`` series; operators asking
"what fired last night on host-07?" get it here. Each row is one transition of one alert:
the alert's labels and annotations as of the transition, the rule's value, the state it
entered and when. The alert's ``instance``, ``alertname`` and ``severity`` labels are kept in
their own indexed columns so the usual filters do not scan JSON.
"""

from __future__ import annotations

import enum
import json
import math
import sqlite3
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from multimonx.model import Labels
from multimonx.storage.interface import StorageUnavailable
from multimonx.storage.sqlitedb import execute_many, open_sqlite

MAX_QUERY_ROWS = 10_000
"""The most rows one query returns (the caller asks for less, or narrows the range)."""


class AlertPhase(enum.Enum):
    """The state an alert entered."""

    PENDING = "pending"
    FIRING = "firing"
    RESOLVED = "resolved"


@dataclass(frozen=True, slots=True)
class AlertEvent:
    """One transition of one alert. ``t_ms`` is the rule evaluation's time; ``value`` the
    rule expression's value then (NaN for a resolution, which has none)."""

    labels: Labels
    annotations: Labels
    phase: AlertPhase
    t_ms: int
    value: float = math.nan

    @property
    def alertname(self) -> str:
        """The alert's rule name."""
        return self.labels.get("alertname", "")


@dataclass(frozen=True, slots=True)
class HistoryFilter:
    """Which events a query returns: time range (inclusive, ms), then each given label
    equal to its value; ``phase`` None for every phase."""

    start_ms: int
    end_ms: int
    instance: str | None = None
    alertname: str | None = None
    severity: str | None = None
    phase: AlertPhase | None = None
    limit: int = 1000


_QUERY = """
    SELECT t_ms, phase, labels, annotations, value FROM alert_events
    WHERE t_ms >= ? AND t_ms <= ?
        AND (? IS NULL OR instance = ?)
        AND (? IS NULL OR alertname = ?)
        AND (? IS NULL OR severity = ?)
        AND (? IS NULL OR phase = ?)
    ORDER BY t_ms DESC, id DESC LIMIT ?
"""


class AlertHistory:
    """The events in a SQLite file (the metadata file). Thread-safe."""

    def __init__(self, path: Path) -> None:
        self._lock = threading.Lock()
        self._db = open_sqlite(
            path,
            "the alert history",
            """
                CREATE TABLE IF NOT EXISTS alert_events (
                    id INTEGER PRIMARY KEY,
                    t_ms INTEGER NOT NULL,
                    phase TEXT NOT NULL,
                    alertname TEXT NOT NULL,
                    instance TEXT NOT NULL,
                    severity TEXT NOT NULL,
                    labels TEXT NOT NULL,
                    annotations TEXT NOT NULL,
                    value REAL
                );
                CREATE INDEX IF NOT EXISTS alert_events_t ON alert_events (t_ms);
                CREATE INDEX IF NOT EXISTS alert_events_instance
                    ON alert_events (instance, t_ms);
                CREATE INDEX IF NOT EXISTS alert_events_alertname
                    ON alert_events (alertname, t_ms);
                """,
        )

    def add(self, events: Sequence[AlertEvent]) -> None:
        """Store ``events`` in one transaction."""
        if not events:
            return
        rows = [
            (
                e.t_ms,
                e.phase.value,
                e.alertname,
                e.labels.get("instance", ""),
                e.labels.get("severity", ""),
                json.dumps(dict(e.labels)),
                json.dumps(dict(e.annotations)),
                None if math.isnan(e.value) else e.value,  # SQLite has no NaN
            )
            for e in events
        ]
        with self._lock:
            execute_many(
                self._db,
                "INSERT INTO alert_events (t_ms, phase, alertname, instance, severity, "
                "labels, annotations, value) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                rows,
                "store alert history",
            )

    def query(self, where: HistoryFilter) -> list[AlertEvent]:
        """The matching events, newest first, at most ``where.limit`` (capped at
        MAX_QUERY_ROWS)."""
        phase = where.phase.value if where.phase else None
        args = (
            where.start_ms,
            where.end_ms,
            *(where.instance, where.instance),
            *(where.alertname, where.alertname),
            *(where.severity, where.severity),
            *(phase, phase),
            max(0, min(where.limit, MAX_QUERY_ROWS)),
        )
        with self._lock:
            rows = self._db.execute(_QUERY, args).fetchall()
        return [
            AlertEvent(
                Labels(json.loads(labels).items()),
                Labels(json.loads(annotations).items()),
                AlertPhase(phase),
                int(t_ms),
                math.nan if value is None else float(value),
            )
            for t_ms, phase, labels, annotations, value in rows
        ]

    def delete_before(self, t_ms: int) -> int:
        """Forget events older than ``t_ms``; how many were deleted."""
        with self._lock:
            try:
                return self._db.execute("DELETE FROM alert_events WHERE t_ms < ?", (t_ms,)).rowcount
            except sqlite3.Error as err:
                raise StorageUnavailable(f"cannot trim alert history: {err}") from err

    def close(self) -> None:
        """Close the file."""
        with self._lock:
            self._db.close()
