"""The series index's matcher evaluation against a brute-force check of every series."""

from __future__ import annotations

import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from multimonx.model import Labels, Matcher, MatchType
from multimonx.storage.tsdb.index import Index

_NAMES = ["__name__", "instance", "cpu", "mode"]
_VALUES = ["", "a", "b", "ab", "host-1", "host-10", "x.y"]
_PATTERNS = [
    "",
    "a",
    "a.*",
    ".*",
    ".+",
    "host-1.*",
    "b|ab",
    "x\\.y",
    "(?i)A",
    "a|",
    "host-10|x\\.y|zz",
    "x\\..*",
]

label_sets = st.dictionaries(st.sampled_from(_NAMES), st.sampled_from(_VALUES[1:]), max_size=4)


@st.composite
def matchers(draw: st.DrawFn) -> Matcher:
    op = draw(st.sampled_from(list(MatchType)))
    regex = op in (MatchType.REGEX, MatchType.NOT_REGEX)
    value = draw(st.sampled_from(_PATTERNS if regex else _VALUES))
    return Matcher.of(draw(st.sampled_from(_NAMES)), op, value)


@settings(max_examples=300, deadline=None)
@given(
    sets=st.lists(label_sets, max_size=30),
    selector=st.lists(matchers(), min_size=1, max_size=3),
    limit=st.integers(0, 40),
    holes=st.sets(st.integers(0, 40), max_size=5),
)
def test_candidates_are_the_series_every_matcher_accepts(
    sets: list[dict[str, str]], selector: list[Matcher], limit: int, holes: set[int]
) -> None:
    index = Index()
    seen: set[Labels] = set()
    sid = 0
    for mapping in sets:
        labels = Labels.of(mapping)
        if labels in seen:
            continue
        seen.add(labels)
        while sid in holes:  # ids never defined (a failed first commit)
            sid += 1
        index.add(sid, labels)
        sid += 1
    expected = [
        i
        for i, lbl in enumerate(index.labels)
        if lbl is not None and i < limit and all(m.matches(lbl) for m in selector)
    ]
    assert index.candidates(selector, limit) == expected


def test_a_regex_is_tested_once_per_distinct_value() -> None:
    index = Index()
    for i in range(1000):
        index.add(i, Labels.of(__name__="m", instance=f"host-{i // 10}", cpu=str(i % 10)))
    tested: list[str] = []
    pattern = re.compile("(?s:host-(1|2))")

    class CountingPattern:
        def fullmatch(self, value: str) -> re.Match[str] | None:
            tested.append(value)
            return pattern.fullmatch(value)

    counting = Matcher("instance", MatchType.REGEX, "host-(1|2)", CountingPattern())  # type: ignore[arg-type]
    found = index.candidates([Matcher.of("__name__", "=", "m"), counting], 1000)
    assert found == list(range(10, 30))
    assert len(tested) == 101  # "" (is it selecting?), then the 100 distinct instances


@settings(max_examples=200, deadline=None)
@given(
    st.lists(
        st.dictionaries(st.sampled_from(["__name__", "a", "B", "job"]), st.sampled_from("xyz")),
        min_size=1,
        max_size=30,
        unique_by=lambda d: tuple(sorted((k, v) for k, v in d.items() if v)),
    ),
    st.integers(0, 30),
    st.integers(0, 4),
    st.data(),
)
def test_ids_come_back_in_label_order_after_loads_and_adds(
    sets: list[dict[str, str]], loaded: int, reorder_after: int, data: st.DataObject
) -> None:
    """Ids ranked by an earlier ordering, ids added since (merged in), and the reordering
    once a select holds more than ``REORDER_AFTER`` of the latter."""
    index = Index()
    labels = [Labels(one.items()) for one in sets]
    sids = list(range(len(labels)))
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr("multimonx.storage.tsdb.index.REORDER_AFTER", reorder_after)
        index.load(sids[:loaded], labels[:loaded])
        for sid in sids[loaded:]:
            index.add(sid, labels[sid])
            if data.draw(st.booleans()):  # queries between additions may reorder
                asked = data.draw(st.lists(st.sampled_from(sids[: sid + 1]), unique=True))
                assert index.in_label_order(asked) == sorted(asked, key=lambda i: labels[i].pairs)
        asked = data.draw(st.lists(st.sampled_from(sids), unique=True))
        assert index.in_label_order(asked) == sorted(asked, key=lambda i: labels[i].pairs)
