"""Label sets derived from series' labels (without ``__name__``, a group key), memoised
across queries.

A query over a fleet drops ``__name__`` from, or takes the group key of, tens of thousands of
series, and the series' Labels are the index's own objects, the same in every query: a
dashboard refreshing a fleet-wide panel would rebuild the same label sets every time. A memo
maps each label set to what is derived from it, and interns the results, so that equal
derived sets are one object: rows can then be grouped by object identity in numpy, and a
result without two rows of the same object has no two equal label sets. Bounded: a memo that
outgrows its limit is emptied and refills; its generation tells a caller whether that
happened while it worked (then identity no longer implies equality across the two halves).
"""

from __future__ import annotations

import functools
import threading
from collections.abc import Callable, Sequence

import numpy as np

from multimonx.model import METRIC_NAME_LABEL, Labels
from multimonx.promql.values import Ints

MAX_ENTRIES = 1 << 19
"""Label sets the memo of names, and the group-key memos together, hold before they are
emptied (about 250 bytes each: some 130 MB at most for each of the two)."""


class LabelMemo:
    """``derive(labels)`` for many label sets at once, memoised and interned."""

    def __init__(self, derive: Callable[[Labels], Labels], max_entries: int | None = None) -> None:
        self._derive = derive
        self._max_entries = MAX_ENTRIES if max_entries is None else max_entries
        self._known: dict[Labels, Labels] = {}
        self._interned: dict[Labels, Labels] = {}
        self._lock = threading.Lock()
        self.generation = 0
        """Incremented each time the memo is emptied."""

    def __len__(self) -> int:
        return len(self._known)

    def map(self, labels: Sequence[Labels]) -> list[Labels]:
        """``derive`` of each of ``labels``; equal results are the same object unless the
        memo was emptied meanwhile (``generation`` changed)."""
        found: list[Labels | None] = list(map(self._known.get, labels))
        missing = [i for i, one in enumerate(found) if one is None]
        if missing:
            with self._lock:
                if len(self._known) + len(missing) > self._max_entries:
                    self.generation += 1
                    self._known.clear()
                    self._interned.clear()
                for i in missing:
                    derived = self._derive(labels[i])
                    derived = self._interned.setdefault(derived, derived)
                    found[i] = self._known[labels[i]] = derived
        return found  # type: ignore[return-value]  # every None was filled above


def drop_name(labels: Labels) -> Labels:
    """``labels`` without ``__name__``."""
    return labels.without(METRIC_NAME_LABEL) if METRIC_NAME_LABEL in labels else labels


WITHOUT_NAME = LabelMemo(drop_name)
"""Label sets without ``__name__`` (what most functions and operators return)."""

_GROUPINGS: dict[tuple[tuple[str, ...], bool], LabelMemo] = {}
_MAX_GROUPINGS = 16
_groupings_lock = threading.Lock()


def group_memo(grouping: Sequence[str], without: bool) -> LabelMemo:
    """The memo of an aggregation's group keys: the labels ``by (grouping)`` keeps, or those
    ``without (grouping)`` leaves (``__name__`` always dropped). The group-key memos share
    one budget of ``MAX_ENTRIES``: past it, or past ``_MAX_GROUPINGS`` groupings, all are
    dropped and start afresh (a caller still holding one gets right answers from it)."""
    key = (tuple(grouping), without)
    memo = _GROUPINGS.get(key)
    if memo is not None and sum(map(len, _GROUPINGS.values())) <= MAX_ENTRIES:
        return memo
    with _groupings_lock:
        held = sum(map(len, _GROUPINGS.values()))
        if held > MAX_ENTRIES or len(_GROUPINGS) >= _MAX_GROUPINGS:
            _GROUPINGS.clear()
        return _GROUPINGS.setdefault(
            key, LabelMemo(functools.partial(group_key, grouping=key[0], without=without))
        )


def group_key(labels: Labels, grouping: Sequence[str], without: bool) -> Labels:
    """The labels a series contributes to its group's output."""
    if without:
        return labels.without(METRIC_NAME_LABEL, *grouping)
    return Labels((n, v) for n, v in labels.pairs if n in grouping)


def distinct_objects(labels: Sequence[Labels]) -> tuple[Ints, list[int]]:
    """Rows grouped by object identity: each row's group number (groups numbered in order
    of first appearance) and each group's first row."""
    address = np.fromiter(map(id, labels), dtype=np.int64, count=len(labels))
    _, first, inverse = np.unique(address, return_index=True, return_inverse=True)
    order = np.argsort(first, kind="stable")
    rank = np.empty_like(order)
    rank[order] = np.arange(len(order))
    ids: Ints = rank[inverse].astype(np.int64, copy=False)
    return ids, first[order].tolist()


__all__ = ["WITHOUT_NAME", "LabelMemo", "distinct_objects", "drop_name", "group_key", "group_memo"]
