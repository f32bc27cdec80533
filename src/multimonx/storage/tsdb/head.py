"""The head: per series, the samples not yet in a chunk (docs/storage.md, "Head").

Per series id, the in-order samples form a sequence of blocks in time order: closed blocks
(``blocks[sid]``, each an immutable ``bytes`` blob: 16 bytes of first/last timestamp then a
``ChunkCodec`` chunk) and one open block (timestamps in ``ts[sid]`` as offsets from its
window's start ``base[sid]``, an ``array('i')``: 4 bytes each; values in ``vs[sid]``, an
``array('d')``). A block holds at most ``block_size`` samples of one aligned ``range_ms``
window (a flush boundary never cuts a block). When a sample does not fit the open block, the
open arrays are sealed (``Sealed``: the arrays and base, never appended to again) into
``blocks[sid]`` and queued in ``pending``; the commit path encodes them outside the head lock
(``encode_pending``) and swaps the blobs in (``install``). A sealed block and its blob hold the
same samples, so readers accept either. Older samples (out of order / backfill) go to the
series' out-of-order dict ``t -> v``. Every method expects the caller to hold the engine's head
lock (one lock for the head and the index).

Snapshots for queriers: block lists only grow at their end (or swap a sealed block for its
blob), open arrays only grow at their end until sealed, and out-of-order dicts only gain keys,
so a querier's snapshot is the number of closed blocks and the open length of each series (two
``array('q')`` copies) plus the dict sizes: it sees the first ``nblocks`` blocks and the first
``lengths`` samples of the next one (the open block then, or the block it was sealed into). A
flush never mutates them in place either: it replaces them with new objects holding what is
left, and if queriers are open, keeps the replaced objects (``retired``, keyed by the
generation they were live in) until those queriers close.
"""

from __future__ import annotations

import struct
import threading
from array import array
from bisect import bisect_left, bisect_right
from collections.abc import Sequence
from dataclasses import dataclass
from itertools import islice

import numpy as np
import numpy.typing as npt

from multimonx.storage.interface import MIN_TIME_MS
from multimonx.storage.tsdb.chunkenc import ChunkCodec

_pack = struct.Struct("<d").pack
_BOUNDS = struct.Struct("<qq")
BLOCK_PREFIX = _BOUNDS.size
"""Bytes before the chunk in a closed block's blob (its first and last timestamp)."""

Sealed = tuple["array[int]", "array[float]", int]
"""A closed block not encoded yet: its timestamps and values (never appended to again)."""
Block = bytes | Sealed
"""A closed block: a blob (``_BOUNDS`` + chunk) or a sealed pair of arrays."""
Objects = tuple["list[Block] | None", "array[int]", "array[float]", int, "dict[int, float] | None"]
Arrays = tuple[npt.NDArray[np.int64], npt.NDArray[np.float64]]

_DTYPES: dict[str, npt.DTypeLike] = {
    "i": np.dtype(np.int32),
    "q": np.dtype(np.int64),
}

DEFAULT_BLOCK_SIZE = 90
"""Samples per head block (Prometheus cuts its head chunks at 120): 7.5 minutes at 5 s, 4 per
30-minute window; 90 rather than 120 keeps a full open block (16 B/sample) smaller."""


def block_bounds(block: Block) -> tuple[int, int]:
    """First and last timestamp of a closed block."""
    if isinstance(block, bytes):
        first, last = _BOUNDS.unpack_from(block, 0)
        return int(first), int(last)
    return block[2] + block[0][0], block[2] + block[0][-1]


def block_count(block: Block) -> int:
    """How many samples a closed block holds (without decoding it)."""
    if not isinstance(block, bytes):
        return len(block[0])
    count, shift, pos = 0, 0, _BOUNDS.size + 1  # single-column chunk: a 1-byte header
    while True:
        byte = block[pos]
        count |= (byte & 0x7F) << shift
        if byte < 0x80:
            return count
        shift += 7
        pos += 1


def decode_block(codec: ChunkCodec, block: Block) -> Arrays:
    """The samples of a closed block (arrays a caller must not modify)."""
    if isinstance(block, bytes):
        return codec.decode(block[_BOUNDS.size :])
    return _absolute(block[0], block[2]), np.frombuffer(block[1], dtype=np.float64).copy()


def _absolute(offsets: array[int], base: int) -> npt.NDArray[np.int64]:
    """Timestamps from open-block offsets (a new array)."""
    ts: npt.NDArray[np.int64] = np.frombuffer(offsets, dtype=_DTYPES[offsets.typecode]).astype(
        np.int64
    )
    ts += np.int64(base)
    return ts


def encode_block(codec: ChunkCodec, block: Sealed) -> bytes:
    """The blob of a sealed block."""
    t, v, base = block
    body = codec.encode(_absolute(t, base), np.frombuffer(v, dtype=np.float64))
    return _BOUNDS.pack(base + t[0], base + t[-1]) + body


def encode_pending(codec: ChunkCodec, pending: Sequence[tuple[int, Sealed]]) -> list[bytes]:
    """Blobs of ``Head.take_pending`` output (no lock needed: sealed blocks are immutable)."""
    return [encode_block(codec, block) for _, block in pending]


@dataclass(frozen=True, slots=True)
class Extract:
    """What a flush took from one series, all older than the flush boundary: the first
    ``n_blocks`` closed blocks, the first ``n_head`` samples of the block after them (the open
    block when extracted), and some out-of-order samples (sorted ``ooo_t``/``ooo_v``)."""

    sid: int
    n_blocks: int
    blocks: list[Block]
    n_head: int
    head_t: npt.NDArray[np.int64]
    head_v: npt.NDArray[np.float64]
    ooo_t: list[int]
    ooo_v: list[float]


@dataclass(frozen=True, slots=True)
class Snapshot:
    """A querier's view of the head: generation, series count, closed-block counts and open
    lengths at creation."""

    gen: int
    n_series: int
    nblocks: array[int]
    lengths: array[int]
    ooo_lengths: dict[int, int]


@dataclass(frozen=True, slots=True)
class HeadRead:
    """The snapshot's head data of one series within a range, to decode outside the lock:
    closed blocks (whole; trim after decoding), the open part and the out-of-order pairs.
    The open part is in the reader's ``OpenParts`` (``open_part``: its offset width and its
    number there), or in ``head_t``/``head_v`` when the open block was sealed after the
    snapshot."""

    blocks: list[Block]
    head_t: npt.NDArray[np.int64]
    head_v: npt.NDArray[np.float64]
    pairs: list[tuple[int, float]]
    open_part: tuple[str, int] | None = None


class OpenParts:
    """The open-block samples of many series, gathered under the head lock as slices of their
    arrays (copies, the open arrays keep growing) and turned into numpy arrays afterwards in
    one pass per offset width, rather than a few numpy calls per series."""

    __slots__ = ("_groups",)

    def __init__(self) -> None:
        self._groups: dict[str, tuple[list[array[int]], list[array[float]], list[int]]] = {}

    def add(self, offsets: array[int], values: array[float], base: int) -> tuple[str, int]:
        """Keep one series' open part (``offsets`` from ``base``); where it went."""
        group = self._groups.get(offsets.typecode)
        if group is None:
            group = self._groups[offsets.typecode] = ([], [], [])
        group[0].append(offsets)
        group[1].append(values)
        group[2].append(base)
        return offsets.typecode, len(group[2]) - 1

    def arrays(self) -> dict[str, tuple[npt.NDArray[np.int64], npt.NDArray[np.float64], list[int]]]:
        """Per offset width: every part's timestamps and values end to end, and where each
        part starts (one more entry: the end)."""
        out = {}
        for code, (offsets, values, bases) in self._groups.items():
            lengths = np.fromiter(map(len, offsets), np.int64, len(offsets))
            ts = np.frombuffer(b"".join(offsets), dtype=_DTYPES[code]).astype(np.int64)
            ts += np.repeat(np.asarray(bases, dtype=np.int64), lengths)
            vs = np.frombuffer(b"".join(values), dtype=np.float64)
            at = np.zeros(len(lengths) + 1, dtype=np.int64)
            np.cumsum(lengths, out=at[1:])
            out[code] = (ts, vs, at.tolist())
        return out


class Head:
    """The in-memory samples of every series (see the module docstring)."""

    __slots__ = (
        "_local",
        "base",
        "block_size",
        "blocks",
        "gen",
        "in_order",
        "lengths",
        "live",
        "nblocks",
        "ooo",
        "pending",
        "range_ms",
        "retired",
        "ts",
        "typecode",
        "vs",
    )

    def __init__(self, range_ms: int, block_size: int = DEFAULT_BLOCK_SIZE) -> None:
        if block_size < 1:
            raise ValueError("block_size must be positive")
        self.range_ms = range_ms
        self.block_size = block_size
        self.blocks: list[list[Block] | None] = []
        self.ts: list[array[int]] = []
        self.vs: list[array[float]] = []
        self.lengths: array[int] = array("q")
        self.nblocks: array[int] = array("q")
        self.base: array[int] = array("q")  # the open block's window start
        self.typecode = "i" if range_ms < 2**31 else "q"  # offsets within one window
        self.ooo: dict[int, dict[int, float]] = {}
        self.pending: list[tuple[int, Sealed]] = []
        self.in_order = 0
        self.gen = 0
        self.live: dict[int, int] = {}
        self.retired: dict[int, dict[int, Objects]] = {}
        self._local = threading.local()

    def _codec(self) -> ChunkCodec:
        return self.thread_codec()

    def thread_codec(self) -> ChunkCodec:
        """The calling thread's codec (zstd contexts are per thread, and cost tens of
        microseconds to make: a query reuses its thread's)."""
        codec: ChunkCodec | None = getattr(self._local, "codec", None)
        if codec is None:
            codec = self._local.codec = ChunkCodec()
        return codec

    def __len__(self) -> int:
        return len(self.ts)

    def samples(self) -> int:
        """How many samples the head holds (in order and out of order)."""
        return self.in_order + sum(len(d) for d in self.ooo.values())

    def add_series(self, sid: int) -> None:
        """Make room for series ``sid`` (and any id below it)."""
        n = sid + 1 - len(self.ts)
        if n <= 0:
            return
        self.ts.extend(array(self.typecode) for _ in range(n))
        self.vs.extend(array("d") for _ in range(n))
        self.blocks.extend([None] * n)
        zeros = array("q", bytes(8 * n))
        self.lengths.extend(zeros)
        self.nblocks.extend(zeros)
        self.base.extend(zeros)

    def _window_start(self, t: int) -> int:
        return max(t - t % self.range_ms, MIN_TIME_MS)

    def apply(
        self, sids: Sequence[int], timestamps: Sequence[int], values: Sequence[float]
    ) -> tuple[int, int, int, int]:
        """Add samples in order; returns (appended, duplicates, conflicts, out_of_order).

        A repeated timestamp (against the head or earlier in the batch) keeps the first value:
        a bitwise-equal value counts as a duplicate, a different one as a conflict. Blocks
        sealed on the way are queued in ``pending``.
        """
        ts, vs, lengths, base = self.ts, self.vs, self.lengths, self.base
        size, range_ms = self.block_size, self.range_ms
        appended = dup = conf = ooo = 0
        for sid, t, v in zip(sids, timestamps, values, strict=True):
            a = ts[sid]
            n = lengths[sid]
            o = t - base[sid]
            if n and o > a[-1]:
                if n < size and o < range_ms:
                    a.append(o)
                    vs[sid].append(v)
                    lengths[sid] = n + 1
                    appended += 1
                    continue
                self._seal(sid)
                self._start(sid, t, v)
                appended += 1
                continue
            if not n:
                blocks = self.blocks[sid]
                if not blocks or t > block_bounds(blocks[-1])[1]:
                    self._start(sid, t, v)
                    appended += 1
                    continue
            old = self._find(sid, t)
            if old is None:
                d = self.ooo.get(sid)
                if d is None:
                    d = self.ooo[sid] = {}
                old = d.get(t)
                if old is None:
                    d[t] = v
                    appended += 1
                    ooo += 1
                    continue
            if _pack(old) == _pack(v):
                dup += 1
            else:
                conf += 1
        self.in_order += appended - ooo
        return appended, dup, conf, ooo

    def _seal(self, sid: int) -> None:
        sealed: Sealed = (self.ts[sid], self.vs[sid], self.base[sid])
        blocks = self.blocks[sid]
        if blocks is None:
            self.blocks[sid] = [sealed]
        else:
            blocks.append(sealed)
        self.nblocks[sid] += 1
        self.pending.append((sid, sealed))

    def _start(self, sid: int, t: int, v: float) -> None:
        """A new open block holding one sample (the previous one is empty or sealed)."""
        start = self._window_start(t)
        self.ts[sid] = array(self.typecode, (t - start,))
        self.vs[sid] = array("d", (v,))
        self.lengths[sid] = 1
        self.base[sid] = start

    def _find(self, sid: int, t: int) -> float | None:
        """The in-order head value at ``t`` (None if there is none)."""
        a = self.ts[sid]
        o = t - self.base[sid]
        if a and o >= a[0]:
            i = bisect_left(a, o)
            return self.vs[sid][i] if i < len(a) and a[i] == o else None
        for block in reversed(self.blocks[sid] or ()):
            first, last = block_bounds(block)
            if t > last:
                return None
            if t >= first:
                bt, bv = decode_block(self._codec(), block)
                i = int(np.searchsorted(bt, t))
                return float(bv[i]) if i < len(bt) and bt[i] == t else None
        return None

    def _sealed(self, ts: npt.NDArray[np.int64], vs: npt.NDArray[np.float64]) -> Sealed:
        """A sealed block of samples within one window."""
        start = self._window_start(int(ts[0]))
        offsets = (ts - np.int64(start)).astype(_DTYPES[self.typecode])
        return array(self.typecode, offsets.tobytes()), array("d", vs.tobytes()), start

    def take_pending(self) -> list[tuple[int, Sealed]]:
        """The sealed blocks waiting for their blobs (the queue is emptied)."""
        pending, self.pending = self.pending, []
        return pending

    def install(self, pending: Sequence[tuple[int, Sealed]], blobs: Sequence[bytes]) -> None:
        """Swap sealed blocks for their blobs (those a flush took meanwhile are skipped)."""
        for (sid, sealed), blob in zip(pending, blobs, strict=True):
            blocks = self.blocks[sid]
            if blocks is None:
                continue
            for i in range(len(blocks) - 1, -1, -1):
                if blocks[i] is sealed:
                    blocks[i] = blob
                    break

    def extract(self, lo: int, hi: int, boundary: int) -> list[Extract]:
        """References to (closed blocks) and copies of (open block) the samples older than
        ``boundary`` of series ``lo <= id < hi``. ``boundary`` must be a window start (or
        below every timestamp): blocks never straddle one."""
        out = []
        ts, vs, ooo, all_blocks = self.ts, self.vs, self.ooo, self.blocks
        for sid in range(lo, min(hi, len(ts))):
            blocks = all_blocks[sid] or []
            k = 0
            while k < len(blocks) and block_bounds(blocks[k])[0] < boundary:
                if block_bounds(blocks[k])[1] >= boundary:
                    raise ValueError(f"flush boundary {boundary} cuts a head block")
                k += 1
            a, b = ts[sid], self.base[sid]
            n = 0
            if k == len(blocks) and a and a[0] + b < boundary:
                n = bisect_left(a, boundary - b)
            d = ooo.get(sid)
            old = sorted(t for t in d if t < boundary) if d else []
            if k or n or old:
                out.append(
                    Extract(
                        sid,
                        k,
                        blocks[:k],
                        n,
                        _absolute(a[:n], b),
                        np.frombuffer(vs[sid][:n], dtype=np.float64),
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
            old_b, old_t, old_v = self.blocks[sid], self.ts[sid], self.vs[sid]
            old_d = self.ooo.get(sid)
            if retire is not None:
                retire.setdefault(sid, (old_b, old_t, old_v, self.base[sid], old_d))
            taken = sum(block_count(b) for b in e.blocks)
            if e.n_blocks or e.n_head:
                rest = list(old_b[e.n_blocks :]) if old_b else []
                if e.n_head and rest:  # the extracted open block was sealed meanwhile
                    bt, bv = decode_block(self._codec(), rest[0])
                    if len(bt) > e.n_head:
                        rest[0] = self._sealed(bt[e.n_head :], bv[e.n_head :])
                    else:
                        del rest[0]
                elif e.n_head:
                    self.ts[sid] = old_t[e.n_head :]
                    self.vs[sid] = old_v[e.n_head :]
                    self.lengths[sid] = len(self.ts[sid])
                self.blocks[sid] = rest or None
                self.nblocks[sid] = len(rest)
                taken += e.n_head
            if e.ooo_t and old_d is not None:
                gone = set(e.ooo_t)
                left = {t: v for t, v in old_d.items() if t not in gone}
                if left:
                    self.ooo[sid] = left
                else:
                    del self.ooo[sid]
            self.in_order -= taken
            removed += taken + len(e.ooo_t)
        self.gen += 1
        return removed

    def snapshot(self) -> Snapshot:
        """The current view, registered until ``release``."""
        snap = Snapshot(
            self.gen,
            len(self.ts),
            self.nblocks[:],
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

    def read(self, snap: Snapshot, sid: int, mint: int, maxt: int, opened: OpenParts) -> HeadRead:
        """The snapshot's head data of ``sid`` overlapping ``[mint, maxt]`` (see HeadRead);
        its open part goes to ``opened``."""
        blocks, a, b, base, d = self._objects(snap.gen, sid)
        k, n = snap.nblocks[sid], snap.lengths[sid]
        chosen: list[Block] = []
        if k and blocks:
            for block in islice(blocks, k):
                first, last = block_bounds(block)
                if first > maxt:
                    break
                if last >= mint:
                    chosen.append(block)
        head_t, head_v = _EMPTY_T, _EMPTY_V
        open_part = None
        if n:
            if blocks is not None and len(blocks) > k:  # the open block was sealed since
                ot, ov = decode_block(self._codec(), blocks[k])
                lo = int(np.searchsorted(ot[:n], mint, side="left"))
                hi = int(np.searchsorted(ot[:n], maxt, side="right"))
                if hi > lo:
                    head_t, head_v = ot[lo:hi].copy(), ov[lo:hi].copy()
            else:
                lo = bisect_left(a, mint - base, 0, n)
                hi = bisect_right(a, maxt - base, lo, n)
                if hi > lo:  # copies: the open arrays keep growing (no buffer export)
                    open_part = opened.add(a[lo:hi], b[lo:hi], base)
        pairs: list[tuple[int, float]] = []
        m = snap.ooo_lengths.get(sid, 0)
        if m and d is not None:
            pairs = [(t, v) for t, v in islice(d.items(), m) if mint <= t <= maxt]
        return HeadRead(chosen, head_t, head_v, pairs, open_part)

    def _objects(self, gen: int, sid: int) -> Objects:
        for g in range(gen, self.gen):
            bucket = self.retired.get(g)
            if bucket is not None:
                found = bucket.get(sid)
                if found is not None:
                    return found
        return self.blocks[sid], self.ts[sid], self.vs[sid], self.base[sid], self.ooo.get(sid)


_EMPTY_T: npt.NDArray[np.int64] = np.empty(0, dtype=np.int64)
_EMPTY_V: npt.NDArray[np.float64] = np.empty(0, dtype=np.float64)


Doubt = tuple[Block, int | None]
"""A closed block whose bounds straddle a range (first sample before it, last after it): the
block and how many of its first samples the snapshot sees (None: all of them)."""


def presence(
    head: Head, snap: Snapshot, sid: int, mint: int, maxt: int
) -> tuple[bool, list[Doubt]]:
    """Whether the snapshot's head holds a sample of ``sid`` within ``[mint, maxt]``, without
    decoding anything (the caller holds the head lock): ``(True, [])`` if it does; else
    ``(False, doubts)``, the blocks that may hold one and must be decoded (outside the lock)
    to tell. The open block answers exactly (bisect on its offsets), the out-of-order dict
    by its keys; a closed block by its first and last timestamp, both real samples, unless
    it starts before ``mint`` and ends after ``maxt``."""
    blocks, a, _, base, d = head._objects(snap.gen, sid)
    k, n = snap.nblocks[sid], snap.lengths[sid]
    doubts: list[Doubt] = []
    if n:
        sealed = blocks[k] if blocks is not None and len(blocks) > k else None
        if isinstance(sealed, bytes):  # the open block was sealed and encoded since
            first, last = block_bounds(sealed)
            whole = n >= block_count(sealed)
            if mint <= first <= maxt or (whole and mint <= last <= maxt):
                return True, []
            if first < mint <= last:
                doubts.append((sealed, n))
        else:
            if sealed is not None:  # sealed since, not encoded yet: the same offsets
                a, base = sealed[0], sealed[2]
            lo = bisect_left(a, mint - base, 0, n)
            if lo < n and a[lo] <= maxt - base:
                return True, []
    if blocks:
        for i in range(min(k, len(blocks)) - 1, -1, -1):
            first, last = block_bounds(blocks[i])
            if last < mint:
                break  # blocks are in time order: the older ones end earlier still
            if first > maxt:
                continue
            if first >= mint or last <= maxt:
                return True, []
            doubts.append((blocks[i], None))
    m = snap.ooo_lengths.get(sid, 0)
    if m and d is not None and any(mint <= t <= maxt for t in islice(d, m)):
        return True, []
    return False, doubts
