"""Silences: validation, states, in-place updates versus replacement, expiry, muting,
persistence in SQLite and retention, as Alertmanager's silence package behaves."""

from __future__ import annotations

import threading
import uuid
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from multimonx.model import Labels, Matcher
from multimonx.notify import Silence, SilenceError, SilenceNotFoundError, Silences, SilenceState
from multimonx.storage import StorageUnavailable
from tests.notify.recording import FakeClock

T0 = 1_800_000_000.0
HOUR = 3600.0
TEAM = (Matcher.of("team", "=", "db"),)


def silence(
    matchers: tuple[Matcher, ...] = TEAM,
    starts: float = T0,
    ends: float = T0 + HOUR,
    by: str = "ops",
    comment: str = "upgrade",
) -> Silence:
    return Silence(matchers, starts, ends, by, comment)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(T0)


@pytest.fixture
def store(clock: FakeClock) -> Silences:
    return Silences(clock=clock)


@pytest.mark.parametrize(
    ("bad", "message"),
    [
        (silence(matchers=()), "at least one matcher"),
        (silence(matchers=(Matcher.of("team", "=", ""),)), "must not match the empty string"),
        (
            silence(matchers=(Matcher.of("team", "=~", ".*"), Matcher.of("x", "!=", "y"))),
            "must not match the empty string",
        ),
        (silence(matchers=(Matcher.of("1team", "=", "db"),)), "invalid label name"),
        (silence(ends=T0 - 1), "start time must be before end time"),
        (silence(ends=T0), "start time must be before end time"),
        (silence(starts=T0 - 2 * HOUR, ends=T0 - HOUR), "end time can't be in the past"),
        (silence(by=""), "creator information missing"),
        (silence(comment=""), "comment missing"),
    ],
)
def test_invalid_silences_are_refused(store: Silences, bad: Silence, message: str) -> None:
    with pytest.raises(SilenceError, match=message):
        store.add(bad)
    assert store.query() == []


@pytest.mark.parametrize(
    ("at", "state"),
    [
        (T0 - 1, SilenceState.PENDING),
        (T0, SilenceState.ACTIVE),
        (T0 + HOUR - 0.001, SilenceState.ACTIVE),
        (T0 + HOUR, SilenceState.EXPIRED),
    ],
)
def test_states(at: float, state: SilenceState) -> None:
    assert silence().state(at) is state


def test_add_assigns_an_id_and_starts_no_earlier_than_now(
    store: Silences, clock: FakeClock
) -> None:
    silence_id = store.add(silence(starts=T0 - 100))
    assert uuid.UUID(silence_id).version == 4
    stored = store.get(silence_id)
    assert (stored.starts_at, stored.updated_at) == (T0, T0)
    assert stored.state(clock()) is SilenceState.ACTIVE


def test_mutes_only_matching_labels_while_active(store: Silences, clock: FakeClock) -> None:
    silence_id = store.add(silence(starts=T0 + 60))
    db = Labels.of(alertname="Down", team="db")
    assert store.mutes(db) == []  # pending
    clock.now = T0 + 60
    assert store.mutes(db) == [silence_id]
    assert store.mutes(Labels.of(alertname="Down", team="web")) == []
    clock.now = T0 + HOUR
    assert store.mutes(db) == []


def test_extending_an_active_silence_keeps_its_id(store: Silences, clock: FakeClock) -> None:
    silence_id = store.add(silence())
    clock.now = T0 + 60
    new = silence(ends=T0 + 2 * HOUR)
    assert store.update(replace(new, id=silence_id)) == silence_id
    assert store.get(silence_id).ends_at == T0 + 2 * HOUR
    assert store.get(silence_id).updated_at == T0 + 60


@pytest.mark.parametrize(
    "change",
    [
        {"matchers": (Matcher.of("team", "=", "web"),)},
        {"starts_at": T0 + 10},  # an active silence cannot move its start
    ],
)
def test_rewriting_an_active_silence_replaces_it(
    store: Silences, clock: FakeClock, change: dict[str, Any]
) -> None:
    old_id = store.add(silence())
    clock.now = T0 + 60
    changed = replace(store.get(old_id), **change)
    new_id = store.update(changed)
    assert new_id != old_id
    assert store.get(old_id).state(clock()) is SilenceState.EXPIRED
    assert store.get(old_id).ends_at == T0 + 60
    assert store.get(new_id).state(clock()) is SilenceState.ACTIVE


def test_a_pending_silence_may_move_but_not_into_the_past(
    store: Silences, clock: FakeClock
) -> None:
    silence_id = store.add(silence(starts=T0 + 600, ends=T0 + HOUR))
    later = replace(store.get(silence_id), starts_at=T0 + 900)
    assert store.update(later) == silence_id
    earlier = replace(store.get(silence_id), starts_at=T0 - 60)
    new_id = store.update(earlier)
    assert new_id != silence_id
    assert store.get(new_id).starts_at == T0
    assert store.get(silence_id).state(clock()) is SilenceState.EXPIRED


def test_update_of_an_unknown_id(store: Silences) -> None:
    with pytest.raises(SilenceNotFoundError):
        store.update(replace(silence(), id="nope"))


def test_expire(store: Silences, clock: FakeClock) -> None:
    active = store.add(silence())
    pending = store.add(silence(starts=T0 + 600))
    clock.now = T0 + 30
    store.expire(active)
    store.expire(pending)
    assert store.get(active).ends_at == T0 + 30
    assert (store.get(pending).starts_at, store.get(pending).ends_at) == (T0 + 30, T0 + 30)
    assert store.mutes(Labels.of(team="db")) == []
    with pytest.raises(SilenceError, match="already expired"):
        store.expire(active)
    with pytest.raises(SilenceNotFoundError):
        store.expire("nope")


def test_query_by_state_and_labels(store: Silences, clock: FakeClock) -> None:
    active = store.add(silence())
    pending = store.add(silence(matchers=(Matcher.of("team", "=~", "d.*"),), starts=T0 + 600))
    expired = store.add(silence(matchers=(Matcher.of("env", "=", "prod"),)))
    store.expire(expired)
    clock.now = T0 + 1
    assert [s.id for s in store.query(states=(SilenceState.ACTIVE,))] == [active]
    assert [s.id for s in store.query(states=(SilenceState.PENDING,))] == [pending]
    assert [s.id for s in store.query(states=(SilenceState.EXPIRED,))] == [expired]
    assert {s.id for s in store.query(labels=Labels.of(team="db"))} == {active, pending}


def test_silences_survive_a_restart_and_expire_after_retention(
    tmp_path: Path, clock: FakeClock
) -> None:
    path = tmp_path / "silences.db"
    store = Silences(path, clock=clock)
    kept = store.add(silence(matchers=(Matcher.of("job", "=~", "node|db"),)))
    gone = store.add(silence())
    store.expire(gone)
    store.close()

    clock.now = T0 + 120 * HOUR + 1
    reopened = Silences(path, clock=clock)
    assert reopened.get(kept) == Silences(path, clock=clock).get(kept)
    assert reopened.get(kept).matchers == (Matcher.of("job", "=~", "node|db"),)
    assert reopened.gc() == 1
    with pytest.raises(SilenceNotFoundError):
        reopened.get(gone)
    reopened.close()
    assert [s.id for s in Silences(path, clock=clock).query()] == [kept]


def test_concurrent_adds(store: Silences) -> None:
    ids: list[str] = []
    lock = threading.Lock()

    def add_many() -> None:
        for _ in range(50):
            one = store.add(silence())
            with lock:
                ids.append(one)

    threads = [threading.Thread(target=add_many) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert len(set(ids)) == 400
    assert len(store.query()) == 400


def test_a_store_that_cannot_be_opened_or_written(tmp_path: Path, clock: FakeClock) -> None:
    (tmp_path / "file").write_text("")
    with pytest.raises(StorageUnavailable, match="cannot open the silences"):
        Silences(tmp_path / "file" / "silences.db", clock=clock)
    store = Silences(tmp_path / "silences.db", clock=clock)
    store.close()
    with pytest.raises(StorageUnavailable, match="cannot save silence"):
        store.add(silence())
    assert store.query() == []
