"""The in-memory series index: ids, label sets and postings (docs/storage.md, "Index").

Ids come from a counter, so postings lists (``(name, value) -> ids``) stay sorted by
appending. Writers hold the engine's head lock; readers copy what they need under it.
"""

from __future__ import annotations

from array import array
from collections.abc import Iterable, Sequence
from itertools import pairwise

import numpy as np

from multimonx.model import Labels, Matcher, MatchType


class Index:
    """Series ids, their label sets and the postings used to select them.

    ``labels[id]`` is the label set of a series (``None`` for an id that was never defined,
    e.g. one whose first commit failed before a restart); ``ids`` maps label sets back.
    Mutating methods require the caller to hold the head lock.
    """

    __slots__ = ("ids", "labels", "postings")

    def __init__(self) -> None:
        self.labels: list[Labels | None] = []
        self.ids: dict[Labels, int] = {}
        self.postings: dict[str, dict[str, array[int]]] = {}

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

    def candidates(self, matchers: Sequence[Matcher], limit_id: int) -> list[int]:
        """Ids below ``limit_id`` of series matching every matcher (caller holds the lock),
        unsorted. Equality postings are intersected; other matchers filter those candidates
        (or the postings of the values they accept when no equality matcher narrows)."""
        narrowing = [m for m in matchers if m.type is MatchType.EQUAL and m.value != ""]
        pool: Iterable[int] | None = None
        if narrowing:
            lists = []
            for m in narrowing:
                ids = self.postings.get(m.name, {}).get(m.value)
                if ids is None:
                    return []
                lists.append(ids)
            pool = _intersect(sorted(lists, key=len))
        if pool is None:
            for m in matchers:
                if m.matches_value(""):
                    continue
                found: set[int] = set()
                for value, ids in self.postings.get(m.name, {}).items():
                    if m.matches_value(value):
                        found.update(ids)
                pool = found
                break
        labels = self.labels
        if pool is None:
            chosen = [i for i in range(min(limit_id, len(labels))) if labels[i] is not None]
        else:
            chosen = [i for i in pool if i < limit_id]
        rest = [m for m in matchers if m not in narrowing]
        if not rest:
            return chosen
        out = []
        for i in chosen:
            lbl = labels[i]
            if lbl is not None and all(m.matches(lbl) for m in rest):
                out.append(i)
        return out


def _intersect(postings: Sequence[array[int]]) -> list[int]:
    """Ids in every one of ``postings`` (sorted id arrays, shortest first): each longer list
    is probed by binary search for the survivors, so the cost follows the shortest list."""
    pool = np.array(postings[0], dtype=np.int64)
    for ids in postings[1:]:
        if not len(pool):
            break
        other = np.frombuffer(ids, dtype=np.int64)  # a view: dropped before the lock is
        at = np.searchsorted(other, pool).clip(max=len(other) - 1)
        pool = pool[other[at] == pool]
        del other, at
    return pool.tolist()  # type: ignore[no-any-return]


def _bisect(ids: array[int], sid: int) -> int:
    lo, hi = 0, len(ids)
    while lo < hi:
        mid = (lo + hi) // 2
        if ids[mid] < sid:
            lo = mid + 1
        else:
            hi = mid
    return lo
