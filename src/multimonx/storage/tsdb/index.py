"""The in-memory series index: ids, label sets and postings (docs/storage.md, "Index").

Ids come from a counter, so postings lists (``(name, value) -> ids``) stay sorted by
appending. The ids are also kept in the order of their label sets, which is the order
selections return series in. Writers hold the engine's head lock; readers copy what they
need under it.
"""

from __future__ import annotations

import bisect
from array import array
from collections.abc import Sequence
from itertools import pairwise

import numpy as np
import numpy.typing as npt

from multimonx.model import Labels, Matcher, MatchType


class Index:
    """Series ids, their label sets and the postings used to select them.

    ``labels[id]`` is the label set of a series (``None`` for an id that was never defined,
    e.g. one whose first commit failed before a restart); ``ids`` maps label sets back.
    Mutating methods require the caller to hold the head lock.
    """

    __slots__ = ("_rank", "ids", "labels", "postings")

    def __init__(self) -> None:
        self.labels: list[Labels | None] = []
        self.ids: dict[Labels, int] = {}
        self.postings: dict[str, dict[str, array[int]]] = {}
        self._rank: npt.NDArray[np.int64] = np.empty(0, dtype=np.int64)
        """Each id's position in the label order of the series defined at the last ordering
        (``_reorder``), -1 for the others."""

    def __len__(self) -> int:
        return len(self.ids)

    def add(self, sid: int, labels: Labels) -> None:
        """Register ``labels`` under ``sid`` (ids beyond the end leave undefined holes)."""
        while len(self.labels) <= sid:
            self.labels.append(None)
        self.labels[sid] = labels
        self.ids[labels] = sid
        postings = self.postings
        for name, value in labels.pairs:
            by_value = postings.get(name)
            if by_value is None:
                by_value = postings[name] = {}
            ids = by_value.get(value)
            if ids is None:
                by_value[value] = array("q", (sid,))
            elif ids[-1] < sid:
                ids.append(sid)
            else:
                ids.insert(_bisect(ids, sid), sid)

    def load(self, sids: Sequence[int], labels: Sequence[Labels]) -> None:
        """``add`` for many series at once (same result), e.g. the series table at startup:
        postings are grouped first and extended once per ``(name, value)``. The label sets
        must be new to the index and distinct, like the ids."""
        if len(sids) != len(labels):
            raise ValueError("sids and labels differ in length")
        if not sids:
            return
        order: Sequence[int] = range(len(sids))
        if any(a >= b for a, b in pairwise(sids)):
            order = sorted(order, key=sids.__getitem__)
        own = self.labels
        top = max(sids)
        if len(own) <= top:
            own.extend([None] * (top + 1 - len(own)))
        groups: dict[tuple[str, str], list[int]] = {}
        group = groups.setdefault
        ids = self.ids
        for i in order:
            sid, lbl = sids[i], labels[i]
            own[sid] = lbl
            ids[lbl] = sid
            for pair in lbl.pairs:
                group(pair, []).append(sid)
        postings = self.postings
        for (name, value), new in groups.items():
            by_value = postings.get(name)
            if by_value is None:
                by_value = postings[name] = {}
            old = by_value.get(value)
            if old is None:
                by_value[value] = array("q", new)
            elif old[-1] < new[0]:
                old.extend(array("q", new))
            else:
                old[:] = array("q", sorted(old.tolist() + new))

    def in_label_order(self, ids: Sequence[int]) -> list[int]:
        """``ids`` sorted by their label sets (caller holds the lock).

        The ids ranked at the last ordering are sorted by their rank, one numpy sort, where
        sorting the label sets themselves would compare tuples of strings (tens of
        milliseconds for a fleet-wide selector); ids added since are sorted by their labels
        and merged in by bisection. A select holding more than ``REORDER_AFTER`` of those
        orders the whole index again first (once: adding a series stays O(1))."""
        if len(ids) < 2:
            return list(ids)
        wanted = np.asarray(ids, dtype=np.int64)
        rank = self._ranks(wanted)
        if int((rank < 0).sum()) > REORDER_AFTER:
            self._reorder()
            rank = self._ranks(wanted)
        ranked = rank >= 0
        base = wanted[ranked][np.argsort(rank[ranked], kind="stable")]
        if bool(ranked.all()):
            return base.tolist()  # type: ignore[no-any-return]
        labels = self.labels
        late = sorted(wanted[~ranked].tolist(), key=lambda sid: _pairs(labels[sid]))
        base_pairs = [_pairs(labels[sid]) for sid in base.tolist()]
        at = [bisect.bisect_right(base_pairs, _pairs(labels[sid])) for sid in late]
        return np.insert(base, at, late).tolist()

    def _ranks(self, ids: npt.NDArray[np.int64]) -> npt.NDArray[np.int64]:
        rank = np.full(len(ids), -1, dtype=np.int64)
        known = ids < len(self._rank)
        rank[known] = self._rank[ids[known]]
        return rank

    def _reorder(self) -> None:
        """Rank every defined series by its label set."""
        order = sorted((lbl.pairs, sid) for sid, lbl in enumerate(self.labels) if lbl is not None)
        rank = np.full(len(self.labels), -1, dtype=np.int64)
        rank[np.fromiter((sid for _, sid in order), np.int64, len(order))] = np.arange(len(order))
        self._rank = rank

    def candidates(self, matchers: Sequence[Matcher], limit_id: int) -> list[int]:
        """Ids below ``limit_id`` of series matching every matcher (caller holds the lock),
        ascending.

        Works on postings, as Prometheus does, so each matcher is tested once per distinct
        value of its label rather than once per series: a matcher that rejects the empty value
        selects the union of the postings of the values it accepts; one that accepts the empty
        value (``!=``, ``!~``, ``=~".*"``, ``=""``) removes the postings of the values it
        rejects. Those sets are intersected (equality postings first, the smallest set
        bounding the work), then the removals are subtracted; with no selecting matcher the
        start is every defined id."""
        selecting: list[npt.NDArray[np.int64]] = []
        removing: list[npt.NDArray[np.int64]] = []
        for m in sorted(matchers, key=lambda m: m.type is not MatchType.EQUAL):
            by_value = self.postings.get(m.name, {})
            if m.type is MatchType.EQUAL and m.value != "":
                ids = by_value.get(m.value)
                if ids is None:
                    return []
                selecting.append(np.array(ids, dtype=np.int64))
            elif not m.matches_value(""):
                selecting.append(_union([by_value[v] for v in _accepted(m, by_value)]))
            else:
                removing.append(_union([by_value[v] for v in _rejected(m, by_value)]))
            if selecting and not len(selecting[-1]):
                return []
        if selecting:
            selecting.sort(key=len)
            pool = selecting[0]
            for other in selecting[1:]:
                pool = pool[_contains(other, pool)]
        else:
            pool = np.array([i for i, lbl in enumerate(self.labels) if lbl is not None], np.int64)
        pool = pool[pool < limit_id]
        for gone in removing:
            if len(gone) and len(pool):
                pool = pool[~_contains(gone, pool)]
        return pool.tolist()  # type: ignore[no-any-return]


REORDER_AFTER = 1024
"""Series added since the index last ordered its label sets that one select may hold before
the index orders them all again."""


def _pairs(labels: Labels | None) -> tuple[tuple[str, str], ...]:
    return labels.pairs if labels is not None else ()


def _accepted(m: Matcher, by_value: dict[str, array[int]]) -> list[str]:
    """The values of ``by_value`` that ``m`` accepts (a regex's literal forms are looked up
    or prefix-tested rather than run: ``Matcher.regex_hits``)."""
    if m.type is MatchType.REGEX:
        return m.regex_hits(by_value.keys())
    return [v for v in by_value if m.matches_value(v)]


def _rejected(m: Matcher, by_value: dict[str, array[int]]) -> list[str]:
    """The values of ``by_value`` that ``m`` rejects."""
    if m.type is MatchType.NOT_REGEX:
        return m.regex_hits(by_value.keys())
    return [v for v in by_value if not m.matches_value(v)]


def _union(postings: Sequence[array[int]]) -> npt.NDArray[np.int64]:
    """The sorted ids of all ``postings`` (distinct values of one label: disjoint lists)."""
    if not postings:
        return np.empty(0, dtype=np.int64)
    if len(postings) == 1:
        return np.array(postings[0], dtype=np.int64)
    joined = np.concatenate([np.frombuffer(ids, dtype=np.int64) for ids in postings])
    joined.sort()
    return joined


def _contains(
    sorted_ids: npt.NDArray[np.int64], ids: npt.NDArray[np.int64]
) -> npt.NDArray[np.bool_]:
    """Which of ``ids`` are in ``sorted_ids`` (binary search: the cost follows ``ids``)."""
    if not len(sorted_ids):
        return np.zeros(len(ids), dtype=bool)
    at = np.searchsorted(sorted_ids, ids).clip(max=len(sorted_ids) - 1)
    return sorted_ids[at] == ids  # type: ignore[no-any-return]


def _bisect(ids: array[int], sid: int) -> int:
    lo, hi = 0, len(ids)
    while lo < hi:
        mid = (lo + hi) // 2
        if ids[mid] < sid:
            lo = mid + 1
        else:
            hi = mid
    return lo
