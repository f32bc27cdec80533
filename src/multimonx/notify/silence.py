"""Silences: label matchers that mute matching alerts for a time window (Alertmanager's
``silence`` package), kept in memory and written through to SQLite so they survive restarts.

A silence is PENDING before ``starts_at``, ACTIVE from ``starts_at`` until ``ends_at`` and
EXPIRED from ``ends_at`` on (the end is exclusive here, so an expired silence stops muting at
once; Alertmanager's still mutes for the instant of its end). Expired silences are kept for
``retention`` (Alertmanager's 120 h) so they can be looked at and recreated, then forgotten.

Updating follows Alertmanager: a silence changes in place only if the change does not
rewrite history (same matchers; an active one keeps its start and does not end in the past;
a pending one does not start in the past); otherwise the old silence is expired and a new
one, with a new id, takes its place.
"""

from __future__ import annotations

import enum
import json
import sqlite3
import threading
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path

from multimonx.model import Labels, Matcher, MatchType, valid_label_name
from multimonx.storage import StorageUnavailable
from multimonx.storage.sqlitedb import open_sqlite

DEFAULT_RETENTION_S = 120 * 3600.0
"""How long an expired silence is kept (Alertmanager's ``--data.retention`` default)."""


class SilenceError(ValueError):
    """A silence that Alertmanager would refuse (no matchers, bad times, no author...)."""


class SilenceNotFoundError(KeyError):
    """No silence has this id."""


class SilenceState(enum.Enum):
    """Where a silence is in its life (Alertmanager's ``SilenceState``)."""

    PENDING = "pending"
    ACTIVE = "active"
    EXPIRED = "expired"


@dataclass(frozen=True, slots=True)
class Silence:
    """One silence. ``id`` is empty until the store assigns a UUID; times are Unix seconds;
    ``updated_at`` is set by the store on every change."""

    matchers: tuple[Matcher, ...]
    starts_at: float
    ends_at: float
    created_by: str
    comment: str
    id: str = ""
    updated_at: float = 0.0

    def state(self, now: float) -> SilenceState:
        """The state at ``now``."""
        if now < self.starts_at:
            return SilenceState.PENDING
        if now >= self.ends_at:
            return SilenceState.EXPIRED
        return SilenceState.ACTIVE

    def matches(self, labels: Labels) -> bool:
        """Whether every matcher matches ``labels`` (whatever the state)."""
        return all(m.matches(labels) for m in self.matchers)


def validate(silence: Silence, now: float) -> None:
    """Raise SilenceError unless ``silence`` may be stored at ``now`` (Alertmanager's
    ``validateSilence`` plus its API's checks: the end is after the start and not past)."""
    if not silence.matchers:
        raise SilenceError("at least one matcher is required")
    for matcher in silence.matchers:
        if not valid_label_name(matcher.name):
            raise SilenceError(f"invalid label name {matcher.name!r}")
    if all(m.matches_value("") for m in silence.matchers):
        raise SilenceError("at least one matcher must not match the empty string")
    if silence.ends_at <= silence.starts_at:
        raise SilenceError("start time must be before end time")
    if silence.ends_at <= now:
        raise SilenceError("end time can't be in the past")
    if not silence.created_by:
        raise SilenceError("creator information missing")
    if not silence.comment:
        raise SilenceError("comment missing")


class Silences:
    """The silence store. Thread-safe. ``path`` None keeps silences in memory only. A change
    that cannot be written raises StorageUnavailable and is not made."""

    def __init__(
        self,
        path: Path | None = None,
        *,
        clock: Callable[[], float] = time.time,
        retention: float = DEFAULT_RETENTION_S,
    ) -> None:
        self._clock = clock
        self._retention = retention
        self._lock = threading.Lock()
        self._by_id: dict[str, Silence] = {}
        self._db = open_sqlite(
            path,
            "the silences",
            "CREATE TABLE IF NOT EXISTS silences (id TEXT PRIMARY KEY, body TEXT)",
        )
        try:
            for _, body in self._db.execute("SELECT id, body FROM silences").fetchall():
                silence = _decode(str(body))
                if silence is not None:
                    self._by_id[silence.id] = silence
        except (OSError, sqlite3.Error) as err:
            raise StorageUnavailable(f"cannot open the silences at {path}: {err}") from err

    def add(self, silence: Silence) -> str:
        """Store a new silence (its ``id`` is ignored) and return its id. A start in the past
        becomes now."""
        with self._lock:
            now = self._clock()
            return self._create(silence, now)

    def update(self, silence: Silence) -> str:
        """Change the silence ``silence.id`` and return the id that now holds the change:
        the same one if it could change in place, else a new one (the old silence is
        expired). Raises SilenceNotFoundError or SilenceError."""
        with self._lock:
            now = self._clock()
            previous = self._by_id.get(silence.id)
            if previous is None:
                raise SilenceNotFoundError(silence.id)
            if _can_update(previous, silence, now):
                validate(silence, now)
                self._store(replace(silence, updated_at=now))
                return silence.id
            validate(silence, now)
            if previous.state(now) is not SilenceState.EXPIRED:
                self._expire(previous, now)
            return self._create(silence, now)

    def expire(self, silence_id: str) -> None:
        """End a silence now (a pending one ends before it starts). Raises
        SilenceNotFoundError, or SilenceError if it has already expired."""
        with self._lock:
            silence = self._by_id.get(silence_id)
            if silence is None:
                raise SilenceNotFoundError(silence_id)
            now = self._clock()
            if silence.state(now) is SilenceState.EXPIRED:
                raise SilenceError(f"silence {silence_id} already expired")
            self._expire(silence, now)

    def get(self, silence_id: str) -> Silence:
        """The silence with this id; raises SilenceNotFoundError."""
        with self._lock:
            silence = self._by_id.get(silence_id)
        if silence is None:
            raise SilenceNotFoundError(silence_id)
        return silence

    def query(
        self,
        *,
        states: Sequence[SilenceState] = (),
        labels: Labels | None = None,
        now: float | None = None,
    ) -> list[Silence]:
        """The silences in one of ``states`` (all if empty) whose matchers all match
        ``labels`` (any if None), sorted by id."""
        at = self._clock() if now is None else now
        with self._lock:
            found = list(self._by_id.values())
        return sorted(
            (
                s
                for s in found
                if (not states or s.state(at) in states) and (labels is None or s.matches(labels))
            ),
            key=lambda s: s.id,
        )

    def mutes(self, labels: Labels, now: float | None = None) -> list[str]:
        """The ids of the active silences that mute an alert with ``labels``."""
        return [s.id for s in self.query(states=(SilenceState.ACTIVE,), labels=labels, now=now)]

    def gc(self, now: float | None = None) -> int:
        """Forget silences expired for longer than the retention; returns how many."""
        with self._lock:
            at = self._clock() if now is None else now
            old = [s.id for s in self._by_id.values() if s.ends_at + self._retention <= at]
            for silence_id in old:
                del self._by_id[silence_id]
            try:
                self._db.executemany("DELETE FROM silences WHERE id = ?", [(i,) for i in old])
            except sqlite3.Error as err:
                raise StorageUnavailable(f"cannot delete old silences: {err}") from err
        return len(old)

    def close(self) -> None:
        """Close the file."""
        with self._lock:
            self._db.close()

    def _create(self, silence: Silence, now: float) -> str:
        validate(silence, now)
        created = replace(
            silence,
            id=str(uuid.uuid4()),
            starts_at=max(silence.starts_at, now),
            updated_at=now,
        )
        self._store(created)
        return created.id

    def _expire(self, silence: Silence, now: float) -> None:
        starts_at = min(silence.starts_at, now)
        self._store(replace(silence, starts_at=starts_at, ends_at=now, updated_at=now))

    def _store(self, silence: Silence) -> None:
        try:
            self._db.execute(
                "INSERT INTO silences (id, body) VALUES (?, ?) "
                "ON CONFLICT(id) DO UPDATE SET body = excluded.body",
                (silence.id, _encode(silence)),
            )
        except sqlite3.Error as err:
            raise StorageUnavailable(f"cannot save silence {silence.id}: {err}") from err
        self._by_id[silence.id] = silence


def _can_update(previous: Silence, new: Silence, now: float) -> bool:
    """Whether ``previous`` may become ``new`` in place without rewriting what was muted
    (Alertmanager's ``canUpdate``)."""
    if previous.matchers != new.matchers:
        return False
    state = previous.state(now)
    if state is SilenceState.ACTIVE:
        return new.starts_at == previous.starts_at and new.ends_at > now
    if state is SilenceState.PENDING:
        return new.starts_at >= now
    return False


def _encode(silence: Silence) -> str:
    return json.dumps(
        {
            "id": silence.id,
            "matchers": [[m.name, m.type.value, m.value] for m in silence.matchers],
            "starts_at": silence.starts_at,
            "ends_at": silence.ends_at,
            "created_by": silence.created_by,
            "comment": silence.comment,
            "updated_at": silence.updated_at,
        }
    )


def _decode(body: str) -> Silence | None:
    """A stored silence, or None if the row cannot be read (it is then ignored)."""
    try:
        record = json.loads(body)
        return Silence(
            id=str(record["id"]),
            matchers=tuple(
                Matcher.of(str(n), MatchType(str(op)), str(v)) for n, op, v in record["matchers"]
            ),
            starts_at=float(record["starts_at"]),
            ends_at=float(record["ends_at"]),
            created_by=str(record["created_by"]),
            comment=str(record["comment"]),
            updated_at=float(record["updated_at"]),
        )
    except (ValueError, KeyError, TypeError):
        return None
