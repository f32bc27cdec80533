"""Label names and values answered from the index and block/chunk bounds
(``tsdb.lookup.LabelLookup``) equal what a select over the same querier gives
(``label_names_of``/``label_values_of``), plus the series that only a downsampled tier still
holds in range: over histories with samples in the head, in flushed and merged chunks, out of
order, sealed after the querier's snapshot, across block and chunk boundaries, and after raw
retention expired."""

from __future__ import annotations

import tempfile
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from multimonx.model import Labels, Matcher
from multimonx.storage.interface import label_names_of, label_values_of
from multimonx.storage.journal import JournalSync
from multimonx.storage.tsdb import TSDB, ChunkCodec, TSDBOptions, TSDBQuerier
from multimonx.storage.tsdb.tiers import TierJob, read_tier

SEC = 1_000
MIN = 60 * SEC
HOUR = 60 * MIN
RANGE = 10 * MIN
T0 = 1_000 * HOUR
SPAN = 4 * HOUR
OPTS = TSDBOptions(
    chunk_range_ms=RANGE,
    flush_delay_ms=0,
    log_sync=JournalSync.NORMAL,
    raw_retention_ms=HOUR,
    minute_retention_ms=2 * HOUR,
    five_minute_retention_ms=8 * HOUR,
)
NAMES = ("__name__", "job", "inst", "k", "absent")
SERIES = [
    Labels.of(__name__=name, job=job, inst=inst, **({"k": "v"} if (i % 3 == 0) else {}))
    for i, (name, job, inst) in enumerate(
        (n, j, s) for n in ("up", "cpu") for j in ("api", "db") for s in ("1", "2")
    )
]

burst = st.tuples(
    st.integers(0, len(SERIES) - 1),  # series
    st.integers(0, SPAN // SEC),  # first sample, seconds after T0
    st.integers(1, 200),  # samples (a head block holds 90)
    st.sampled_from([1, 5, 15, 60, 170]),  # seconds apart
)
op = st.one_of(
    st.tuples(st.just("append"), st.lists(burst, min_size=1, max_size=4)),
    st.tuples(st.just("flush"), st.integers(0, SPAN // MIN)),  # minutes after T0
    st.tuples(st.just("tiers"), st.integers(0, SPAN // MIN)),
    st.tuples(st.just("age"), st.integers(0, (SPAN + 2 * HOUR) // MIN)),  # flush, then tiers
    st.tuples(st.just("querier"), st.just(0)),  # take the querier under test now
)
matcher = st.builds(
    Matcher.of,
    st.sampled_from(NAMES[:4]),
    st.sampled_from(["=", "!=", "=~", "!~"]),
    st.sampled_from(["up", "db", "1", "v", "", "c.*", "a.*|2", ".+"]),
)
WIDTHS_S = (0, 3, 40, 400, 599, 1199, 1800, 4000, 20000)
"""Range widths: from inside one block or chunk to the whole history (599 s: one window)."""


@st.composite
def ranges(draw: st.DrawFn, ops: list[tuple[str, object]]) -> tuple[int, int]:
    """A range starting near a sample of one of the bursts (or anywhere), in seconds after T0."""
    bursts = [b for kind, arg in ops if kind == "append" for b in arg]  # type: ignore[attr-defined]
    how = draw(st.sampled_from(["sample", "window", "anywhere"]))
    if bursts and how == "sample":
        _, first_s, count, step_s = draw(st.sampled_from(bursts))
        start = first_s + draw(st.integers(-2, count * step_s + 2))
    elif bursts and how == "window":  # whole windows in range, or windows the range cuts
        _, first_s, count, step_s = draw(st.sampled_from(bursts))
        at = first_s + draw(st.integers(0, count * step_s))
        start = at - at % (RANGE // SEC) + draw(st.sampled_from([-600, -1, 0, 1, 600]))
    else:
        start = draw(st.integers(-10, (SPAN + HOUR) // SEC))
    return start, draw(st.sampled_from(WIDTHS_S))


@contextmanager
def store() -> Iterator[tuple[TSDB, Path]]:
    with tempfile.TemporaryDirectory() as tmp:
        db = TSDB.open(Path(tmp), options=OPTS)
        try:
            yield db, Path(tmp)
        finally:
            db.close()


def commit(db: TSDB, bursts: Sequence[tuple[int, int, int, int]]) -> None:
    app = db.appender()
    for sid, first_s, count, step_s in bursts:
        for j in range(count):
            t = T0 + (first_s + j * step_s) * SEC
            app.append(SERIES[sid], t, float(sid * 1000 + j))
    app.commit()


def run_tiers(path: Path, now: int) -> None:
    job = TierJob(path / "chunks.db", OPTS)
    try:
        for _ in range(2):  # aggregate, then retention once the aggregates exist
            job.run_once(now)
    finally:
        job.close()


def tier_present(q: TSDBQuerier, db: TSDB, matchers: Sequence[Matcher]) -> set[Labels]:
    """Matching series holding a tier bucket whose timestamp lies in the querier's range."""
    conn = q.connection
    assert conn is not None
    chosen = [
        lbl for lbl in SERIES if lbl in db.index.ids and all(m.matches(lbl) for m in matchers)
    ]
    sids = [db.index.ids[lbl] for lbl in chosen]
    mint, maxt = q._mint, q._maxt
    found: set[int] = set()
    for tier in ("1m", "5m"):
        found.update(read_tier(conn, ChunkCodec(), tier, sids, mint, maxt, range_ms=RANGE))
    return {lbl for lbl, sid in zip(chosen, sids, strict=True) if sid in found}


def expected(
    q: TSDBQuerier, db: TSDB, matchers: Sequence[Matcher]
) -> tuple[list[Labels], list[str], dict[str, list[str]]]:
    """The select-based answer (raw samples) plus the series only a tier holds in range."""
    present = {s.labels for s in q.select(matchers)} | tier_present(q, db, matchers)
    return (
        sorted(present),
        label_names_of_labels(present),
        {name: sorted({lbl[name] for lbl in present if name in lbl}) for name in NAMES},
    )


def label_names_of_labels(present: set[Labels]) -> list[str]:
    return sorted({name for lbl in present for name in lbl})


def check(q: TSDBQuerier, db: TSDB, matchers: Sequence[Matcher]) -> None:
    series, names, values = expected(q, db, matchers)
    assert q.series_labels(matchers) == series
    assert q.label_names(matchers) == names
    for name in NAMES:
        assert q.label_values(name, matchers) == values[name], name


@given(st.data(), st.lists(op, min_size=1, max_size=10), st.lists(matcher, max_size=2))
@settings(
    max_examples=80,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
def test_lookups_equal_the_select_based_answer_with_tiers(
    data: st.DataObject, ops: list[tuple[str, object]], matchers: list[Matcher]
) -> None:
    windows = data.draw(st.lists(ranges(ops), min_size=1, max_size=4))
    with store() as (db, path):
        taken: list[TSDBQuerier] = []
        for kind, arg in ops:
            if kind == "append":
                commit(db, arg)  # type: ignore[arg-type]
            elif kind == "flush":
                db.flush(now_ms=T0 + int(arg) * MIN)  # type: ignore[call-overload]
            elif kind in {"tiers", "age"}:
                if kind == "age":
                    db.flush(now_ms=T0 + int(arg) * MIN)  # type: ignore[call-overload]
                run_tiers(path, T0 + int(arg) * MIN)  # type: ignore[call-overload]
            elif not taken:  # later ops change the engine under this querier's snapshot
                first_s, width_s = windows[0]
                taken.append(db.querier(T0 + first_s * SEC, T0 + (first_s + width_s) * SEC))
        try:
            for q in taken:
                check(q, db, matchers)
            for first_s, width_s in windows:
                with db.querier(T0 + first_s * SEC, T0 + (first_s + width_s) * SEC) as fresh:
                    assert isinstance(fresh, TSDBQuerier)
                    check(fresh, db, matchers)
        finally:
            for q in taken:
                q.close()


def test_old_select_oracle_agrees_without_tiers() -> None:
    """With no tier data, the answer is exactly the select-based one (the old behaviour)."""
    with store() as (db, _):
        commit(db, [(0, 0, 200, 5), (3, 600, 100, 15), (5, 3000, 50, 60)])
        db.flush(now_ms=T0 + HOUR)
        commit(db, [(0, 100, 3, 7), (6, 4000, 10, 1)])  # out of order, then new in the head
        commit(db, [(4, 4200, 100, 1), (7, 4400, 100, 2)])  # a closed head block each
        ranges = [(0, SPAN), (700, 702), (3000, 3001), (4005, 4005), (5, 4), (4250, 4251)]
        for mint, maxt in [*ranges, (4401, 4401), (4401, 4402)]:
            with db.querier(T0 + mint * SEC, T0 + maxt * SEC) as q:
                for matchers in ([], [Matcher.of("job", "!=", "db")], [Matcher.of("k", "=~", "")]):
                    series = list(q.select(matchers))
                    assert q.series_labels(matchers) == [one.labels for one in series]
                    assert q.label_names(matchers) == label_names_of(series)
                    for name in NAMES:
                        assert q.label_values(name, matchers) == label_values_of(series, name)


def test_series_kept_only_by_a_tier_is_listed() -> None:
    """After raw retention deleted a series' chunks, its 1m/5m buckets still list it."""
    with store() as (db, path):
        commit(db, [(2, 0, 120, 15)])  # 30 minutes, then silence
        commit(db, [(1, 3 * 3600, 10, 15)])
        db.flush(now_ms=T0 + SPAN)
        run_tiers(path, T0 + SPAN)
        with db.querier(T0, T0 + 40 * MIN) as q:
            assert list(q.select([])) == []  # raw is gone
            assert q.label_values("inst", []) == [SERIES[2]["inst"]]
            assert q.label_names([Matcher.of("job", "=", SERIES[2]["job"])]) == sorted(SERIES[2])
        # Only windows the range cuts (decoded): the 5m bucket ending at 9:45 lies inside.
        with db.querier(T0 + 5 * MIN + 1, T0 + 12 * MIN) as q:
            assert list(q.select([])) == []
            assert q.label_values("inst") == [SERIES[2]["inst"]]
        # A range cutting the last bucket's window after its last sample: nothing.
        with db.querier(T0 + 29 * MIN + 46 * SEC, T0 + 29 * MIN + 50 * SEC) as q:
            assert q.label_names() == []
