"""The head: per series, the samples not yet in a chunk (docs/storage.md, "Head").

Per series id: timestamps in an ``array('q')`` and values in an ``array('d')`` (appended in
time order), plus an out-of-order dict ``t -> v`` for older samples. Every method expects the
caller to hold the engine's head lock (one lock for the head and the index).

Snapshots for queriers: head arrays only grow at their end between flushes and out-of-order
dicts only gain keys (insertion-ordered), so a querier's snapshot is just the length of each:
one ``array('q')`` copy of ``lengths`` plus the dict sizes. A flush never mutates them in place
either: it replaces them with new objects holding what is left, and if queriers are open, keeps
the replaced objects (``retired``, keyed by the generation they were live in) until those
queriers close.
"""

from __future__ import annotations

import struct
from array import array
from bisect import bisect_left, bisect_right
from collections.abc import Sequence
from dataclasses import dataclass
from itertools import islice

import numpy as np
import numpy.typing as npt

_pack = struct.Struct("<d").pack

Objects = tuple["array[int]", "array[float]", "dict[int, float] | None"]


@dataclass(frozen=True, slots=True)
class Extract:
    """What a flush took from one series: the first ``n_head`` head samples and some
    out-of-order samples (sorted ``ooo_t``/``ooo_v``), all older than the flush boundary."""

    sid: int
    n_head: int
    head_t: array[int]
    head_v: array[float]
    ooo_t: list[int]
    ooo_v: list[float]


@dataclass(frozen=True, slots=True)
class Snapshot:
    """A querier's view of the head: generation, series count, lengths at creation."""

    gen: int
    n_series: int
    lengths: array[int]
    ooo_lengths: dict[int, int]


class Head:
    """The in-memory samples of every series (see the module docstring)."""

    __slots__ = ("gen", "lengths", "live", "ooo", "retired", "ts", "vs")

    def __init__(self) -> None:
        self.ts: list[array[int]] = []
        self.vs: list[array[float]] = []
        self.lengths: array[int] = array("q")
        self.ooo: dict[int, dict[int, float]] = {}
        self.gen = 0
        self.live: dict[int, int] = {}
        self.retired: dict[int, dict[int, Objects]] = {}

    def add_series(self, sid: int) -> None:
        """Make room for series ``sid`` (and any id below it)."""
        while len(self.ts) <= sid:
            self.ts.append(array("q"))
            self.vs.append(array("d"))
            self.lengths.append(0)

    def apply(
        self, sids: Sequence[int], timestamps: Sequence[int], values: Sequence[float]
    ) -> tuple[int, int, int, int]:
        """Add samples in order; returns (appended, duplicates, conflicts, out_of_order).

        A repeated timestamp (against the head or earlier in the batch) keeps the first value:
        a bitwise-equal value counts as a duplicate, a different one as a conflict.
        """
        ts, vs, lengths = self.ts, self.vs, self.lengths
        appended = dup = conf = ooo = 0
        for sid, t, v in zip(sids, timestamps, values, strict=True):
            a = ts[sid]
            if not a or t > a[-1]:
                a.append(t)
                vs[sid].append(v)
                lengths[sid] += 1
                appended += 1
                continue
            i = bisect_left(a, t)
            if i < len(a) and a[i] == t:
                if _pack(vs[sid][i]) == _pack(v):
                    dup += 1
                else:
                    conf += 1
                continue
            d = self.ooo.get(sid)
            if d is None:
                d = self.ooo[sid] = {}
            old = d.get(t)
            if old is None:
                d[t] = v
                appended += 1
                ooo += 1
            elif _pack(old) == _pack(v):
                dup += 1
            else:
                conf += 1
        return appended, dup, conf, ooo

    def extract(self, lo: int, hi: int, boundary: int) -> list[Extract]:
        """Copies of the samples older than ``boundary`` of series ``lo <= id < hi``."""
        out = []
        ts, vs, ooo = self.ts, self.vs, self.ooo
        for sid in range(lo, min(hi, len(ts))):
            a = ts[sid]
            n = bisect_left(a, boundary) if a and a[0] < boundary else 0
            d = ooo.get(sid)
            old = sorted(t for t in d if t < boundary) if d else []
            if n or old:
                assert d is not None or not old
                out.append(
                    Extract(
                        sid,
                        n,
                        a[:n],
                        vs[sid][:n],
                        old,
                        [d[t] for t in old] if d is not None else [],
                    )
                )
        return out

    def remove(self, extracts: Sequence[Extract]) -> int:
        """Drop what ``extract`` took (now on disk); returns how many samples went."""
        retire = self.retired.setdefault(self.gen, {}) if self.live else None
        removed = 0
        for e in extracts:
            sid = e.sid
            old_t, old_v, old_d = self.ts[sid], self.vs[sid], self.ooo.get(sid)
            if retire is not None:
                retire.setdefault(sid, (old_t, old_v, old_d))
            if e.n_head:
                self.ts[sid] = old_t[e.n_head :]
                self.vs[sid] = old_v[e.n_head :]
                self.lengths[sid] = len(self.ts[sid])
            if e.ooo_t and old_d is not None:
                gone = set(e.ooo_t)
                left = {t: v for t, v in old_d.items() if t not in gone}
                if left:
                    self.ooo[sid] = left
                else:
                    del self.ooo[sid]
            removed += e.n_head + len(e.ooo_t)
        self.gen += 1
        return removed

    def snapshot(self) -> Snapshot:
        """The current view, registered until ``release``."""
        snap = Snapshot(
            self.gen,
            len(self.ts),
            self.lengths[:],
            {sid: len(d) for sid, d in self.ooo.items()},
        )
        self.live[snap.gen] = self.live.get(snap.gen, 0) + 1
        return snap

    def release(self, snap: Snapshot) -> None:
        """Forget a snapshot; drops retired objects no open snapshot can need."""
        left = self.live[snap.gen] - 1
        if left:
            self.live[snap.gen] = left
        else:
            del self.live[snap.gen]
        oldest = min(self.live, default=self.gen + 1)
        for gen in [g for g in self.retired if g < oldest]:
            del self.retired[gen]

    def read(
        self, snap: Snapshot, sid: int, mint: int, maxt: int
    ) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.float64], list[tuple[int, float]]]:
        """The snapshot's head samples of ``sid`` within ``[mint, maxt]``: the in-order part
        as arrays and the out-of-order part as unsorted pairs."""
        a, b, d = self._objects(snap.gen, sid)
        n = snap.lengths[sid]
        lo = bisect_left(a, mint, 0, n)
        hi = bisect_right(a, maxt, lo, n)
        head_t = np.frombuffer(a[lo:hi], dtype=np.int64) if hi > lo else _EMPTY_T
        head_v = np.frombuffer(b[lo:hi], dtype=np.float64) if hi > lo else _EMPTY_V
        pairs: list[tuple[int, float]] = []
        m = snap.ooo_lengths.get(sid, 0)
        if m and d is not None:
            pairs = [(t, v) for t, v in islice(d.items(), m) if mint <= t <= maxt]
        return head_t, head_v, pairs

    def _objects(self, gen: int, sid: int) -> Objects:
        for g in range(gen, self.gen):
            bucket = self.retired.get(g)
            if bucket is not None:
                found = bucket.get(sid)
                if found is not None:
                    return found
        return self.ts[sid], self.vs[sid], self.ooo.get(sid)


_EMPTY_T: npt.NDArray[np.int64] = np.empty(0, dtype=np.int64)
_EMPTY_V: npt.NDArray[np.float64] = np.empty(0, dtype=np.float64)
