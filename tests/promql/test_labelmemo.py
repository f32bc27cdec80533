"""The memo of derived label sets: interned results, identity grouping, and what happens when
it is emptied mid-way (the engine then falls back to comparing by value)."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from multimonx.model import Labels
from multimonx.promql import labelmemo
from multimonx.promql.engine import Engine
from multimonx.promql.errors import EvalError
from multimonx.promql.labelmemo import LabelMemo, distinct_objects, group_memo
from multimonx.storage import MemoryStorage


def _drop_name(labels: Labels) -> Labels:
    return labels.without("__name__")


def test_equal_results_are_one_object_and_repeat_lookups_reuse_them() -> None:
    memo = LabelMemo(_drop_name)
    a = Labels.of(__name__="a", job="x")
    b = Labels.of(__name__="b", job="x")
    first = memo.map([a, b])
    assert first[0] == Labels.of(job="x")
    assert first[0] is first[1]
    assert memo.map([Labels.of(__name__="a", job="x")])[0] is first[0]


def test_a_full_memo_is_emptied_and_counts_a_generation() -> None:
    memo = LabelMemo(_drop_name, max_entries=3)
    sets = [Labels.of(__name__="m", i=str(i)) for i in range(5)]
    memo.map(sets[:3])
    assert memo.generation == 0
    again = memo.map(sets[3:])
    assert memo.generation == 1
    assert again == [Labels.of(i="3"), Labels.of(i="4")]


@given(st.lists(st.integers(0, 5), max_size=40))
def test_distinct_objects_numbers_groups_in_order_of_first_appearance(keys: list[int]) -> None:
    interned = {k: Labels.of(k=str(k)) for k in keys}
    rows = [interned[k] for k in keys]
    ids, firsts = distinct_objects(rows)
    order = list(dict.fromkeys(keys))
    assert ids.tolist() == [order.index(k) for k in keys]
    assert [rows[i] for i in firsts] == [interned[k] for k in order]


def test_group_keys_by_and_without() -> None:
    labels = Labels.of(__name__="cpu", instance="h1", mode="user", cpu="0")
    assert group_memo(("instance",), False).map([labels]) == [Labels.of(instance="h1")]
    assert group_memo(("cpu",), True).map([labels]) == [Labels.of(instance="h1", mode="user")]
    assert group_memo(("__name__",), False).map([labels]) == [Labels.of(__name__="cpu")]


def _storage() -> MemoryStorage:
    storage = MemoryStorage()
    app = storage.appender()
    for name in ("a_total", "b_total"):
        for host in ("h1", "h2", "h3"):
            for t in range(0, 600_000, 15_000):
                app.append(Labels.of(__name__=name, host=host), t, float(t // 1000))
    app.commit()
    return storage


QUERIES = (
    "sum by (host) (rate(a_total[1m]))",
    "sum without (host) (rate(a_total[1m]))",
    "count by (__name__) ({__name__=~'a_total|b_total'})",
    "rate(b_total[1m])",
    "-a_total",
)


def test_results_hold_when_the_memos_are_emptied_at_every_miss(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    engine = Engine(_storage())
    expected = [engine.range(q, 60_000, 600_000, 15_000) for q in QUERIES]
    monkeypatch.setattr(labelmemo, "MAX_ENTRIES", 1)
    monkeypatch.setattr(labelmemo, "_GROUPINGS", {})
    tiny = labelmemo.LabelMemo(labelmemo.drop_name)
    for module in ("multimonx.promql.engine", "multimonx.promql.binary"):
        monkeypatch.setattr(f"{module}.WITHOUT_NAME", tiny)
    for query, want in zip(QUERIES, expected, strict=True):
        got = engine.range(query, 60_000, 600_000, 15_000)
        assert [s.labels for s in got.matrix or []] == [s.labels for s in want.matrix or []]
        for mine, theirs in zip(got.matrix or [], want.matrix or [], strict=True):
            np.testing.assert_array_equal(mine.values, theirs.values)
    assert tiny.generation > 0


def test_series_differing_only_by_name_collide_once_the_name_is_dropped() -> None:
    engine = Engine(_storage())
    with pytest.raises(EvalError, match="same labelset"):
        engine.instant("rate({__name__=~'a_total|b_total', host='h1'}[1m])", 300_000)


def test_group_memos_share_one_budget(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(labelmemo, "MAX_ENTRIES", 4)
    monkeypatch.setattr(labelmemo, "_GROUPINGS", {})
    sets = [Labels.of(__name__="m", a=str(i), b="x") for i in range(3)]
    by_a = group_memo(("a",), False)
    by_a.map(sets)
    assert group_memo(("a",), False) is by_a  # 3 entries: within the budget
    by_b = group_memo(("b",), False)
    by_b.map(sets)  # 6 entries held in all: over the budget
    fresh = group_memo(("a",), False)
    assert fresh is not by_a
    assert len(fresh) == 0
    assert fresh.map(sets[:1]) == [Labels.of(a="0")]


def test_many_groupings_start_afresh(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(labelmemo, "_GROUPINGS", {})
    first = group_memo(("l0",), False)
    for i in range(1, 20):
        group_memo((f"l{i}",), False)
    assert len(labelmemo._GROUPINGS) <= 16
    assert group_memo(("l0",), False) is not first
