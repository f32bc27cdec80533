"""Properties of the dispatcher over random histories of alerts firing and resolving while
the receiver goes down and comes back: it never repeats itself within the repeat interval,
and once the receiver is back, what the receiver last heard matches what fires."""

from __future__ import annotations

import random

from hypothesis import given, settings
from hypothesis import strategies as st

from multimonx.model import Labels
from multimonx.notify import Alert, Dispatcher, NotificationLog, Route, RouteOpts, Silences
from multimonx.notify.config import NotifyConfig, ReceiverConfig
from tests.notify.recording import FakeClock, RecordingIntegration

T0 = 1_800_000_000.0
NAMES = ("Disk", "Load")
INSTANCES = ("a", "b", "c")

Step = tuple[str, int, int]
steps = st.lists(
    st.one_of(
        st.tuples(st.just("fire"), st.integers(0, 1), st.integers(0, 2)),
        st.tuples(st.just("resolve"), st.integers(0, 1), st.integers(0, 2)),
        st.tuples(st.just("receiver"), st.integers(0, 1), st.just(0)),
        st.tuples(st.just("wait"), st.integers(1, 400), st.just(0)),
    ),
    max_size=40,
)


@settings(max_examples=300, deadline=None)
@given(steps)
def test_no_repeats_and_the_receiver_ends_up_knowing_what_fires(history: list[Step]) -> None:
    clock = FakeClock(T0)
    hook = RecordingIntegration()
    opts = RouteOpts(
        "team", ("alertname",), group_wait=30, group_interval=120, repeat_interval=10**7
    )
    config = NotifyConfig(route=Route(opts), receivers={"team": ReceiverConfig("team")})
    d = Dispatcher(
        config,
        {"team": [hook]},
        nflog=NotificationLog(clock=clock),
        silences=Silences(clock=clock),
        clock=clock,
        rng=random.Random(0),  # the same history, the same retries
    )
    firing: dict[tuple[str, str], float] = {}  # (alertname, instance) -> starts_at

    def wait(seconds: float) -> None:
        end = clock.now + seconds
        while clock.now < end:
            clock.now = min(end, clock.now + 5)
            d.tick()
            assert d.settle(30.0)

    try:
        for kind, x, y in history:
            if kind == "fire":
                key = (NAMES[x], INSTANCES[y])
                firing.setdefault(key, clock.now)
                d.put([alert(key, firing[key], T0 + 10**8)])
            elif kind == "resolve":
                key = (NAMES[x], INSTANCES[y])
                if key in firing:
                    d.put([alert(key, firing.pop(key), clock.now)])
            elif kind == "receiver":
                hook.failing = bool(x)
            else:
                wait(x)
        hook.failing = False
        wait(600)
    finally:
        d.stop()

    by_group: dict[str, list[tuple[frozenset[str], frozenset[str]]]] = {}
    for note in hook.delivered:
        seen = (
            frozenset(a.labels["instance"] for a in note.firing),
            frozenset(a.labels["instance"] for a in note.resolved),
        )
        sent = by_group.setdefault(note.group_labels["alertname"], [])
        assert not sent or sent[-1] != seen, "the same notification twice"
        sent.append(seen)
    for name in NAMES:
        expected = frozenset(i for n, i in firing if n == name)
        last = by_group.get(name, [(frozenset(), frozenset())])[-1]
        assert last[0] == expected


def alert(key: tuple[str, str], starts: float, ends: float) -> Alert:
    name, instance = key
    return Alert(Labels.of(alertname=name, instance=instance), Labels(), starts, ends)
