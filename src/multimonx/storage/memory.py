"""The reference storage: every sample in memory, optionally made durable by a Journal.

Each series holds a list of immutable, time-sorted numpy chunks with no timestamp repeated
across them. A commit adds one chunk per touched series and merges trailing chunks of similar
size (like a binary counter), so a series keeps O(log n) chunks and appends cost amortised
O(log n) copies. A chunk list is never mutated after it is published; a querier keeps the lists
it saw at creation, which gives it a consistent snapshot without copying samples.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from multimonx.model import Labels, Matcher, same_value
from multimonx.storage.interface import (
    MAX_TIME_MS,
    MIN_TIME_MS,
    AppenderFinishedError,
    AppendResult,
    InvalidSampleError,
    Querier,
    SelectHints,
    Series,
    SeriesSet,
    StorageClosed,
    StorageStats,
    label_names_of,
    label_values_of,
    select_sets_of,
)
from multimonx.storage.journal import Journal, SeriesSamples

_EMPTY_T: npt.NDArray[np.int64] = np.empty(0, dtype=np.int64)
_EMPTY_V: npt.NDArray[np.float64] = np.empty(0, dtype=np.float64)


@dataclass(frozen=True, slots=True)
class _Chunk:
    """Time-sorted samples of one series; never modified once built."""

    timestamps: npt.NDArray[np.int64]
    values: npt.NDArray[np.float64]

    @property
    def min_t(self) -> int:
        return int(self.timestamps[0])

    @property
    def max_t(self) -> int:
        return int(self.timestamps[-1])

    def find(self, t: int) -> float | None:
        """The value at ``t``, if this chunk has one."""
        if t < self.min_t or t > self.max_t:
            return None
        i = int(np.searchsorted(self.timestamps, t))
        if i < len(self.timestamps) and int(self.timestamps[i]) == t:
            return float(self.values[i])
        return None


def _merge(a: _Chunk, b: _Chunk) -> _Chunk:
    """One chunk holding both (their timestamps are disjoint)."""
    ts = np.concatenate((a.timestamps, b.timestamps))
    vs = np.concatenate((a.values, b.values))
    if a.max_t >= b.min_t:
        order = np.argsort(ts, kind="stable")
        ts, vs = ts[order], vs[order]
    ts.flags.writeable = False
    vs.flags.writeable = False
    return _Chunk(ts, vs)


class _MemSeries:
    """All chunks of one series. ``chunks`` is replaced, never mutated, on each change."""

    __slots__ = ("chunks", "max_t", "samples")

    def __init__(self) -> None:
        self.chunks: tuple[_Chunk, ...] = ()
        self.max_t = MIN_TIME_MS
        self.samples = 0

    def find(self, t: int) -> float | None:
        if t > self.max_t:
            return None
        for chunk in self.chunks:
            found = chunk.find(t)
            if found is not None:
                return found
        return None

    def add(self, chunk: _Chunk) -> None:
        chunks = [*self.chunks, chunk]
        while len(chunks) >= 2 and len(chunks[-1].timestamps) * 2 >= len(chunks[-2].timestamps):
            last = chunks.pop()
            chunks[-1] = _merge(chunks[-1], last)
        self.chunks = tuple(chunks)
        self.max_t = max(self.max_t, chunk.max_t)
        self.samples += len(chunk.timestamps)


class MemoryStorage:
    """A thread-safe in-memory Storage; durable when given a Journal, which it replays at open.

    With a journal, ``commit`` writes the journal record before applying the batch to memory
    and before returning; if that write fails (disk full, I/O error) the batch is not applied
    and ``commit`` raises StorageUnavailable. The storage owns the journal and closes it.
    """

    def __init__(self, journal: Journal | None = None) -> None:
        self._lock = threading.RLock()
        self._series: dict[Labels, _MemSeries] = {}
        self._samples = 0
        self._journal = journal
        self._closed = False
        if journal is not None:
            for batch in journal.replay():
                self._apply(self._dedup(batch)[0])

    def appender(self) -> MemoryAppender:
        """A new batch (see the Appender protocol)."""
        self._check_open()
        return MemoryAppender(self)

    def querier(self, mint: int, maxt: int) -> MemoryQuerier:
        """A snapshot of everything currently stored, read within ``[mint, maxt]``."""
        with self._lock:
            self._check_open()
            snapshot = {labels: s.chunks for labels, s in self._series.items()}
        return MemoryQuerier(snapshot, mint, maxt)

    def stats(self) -> StorageStats:
        """Series and sample counts."""
        with self._lock:
            self._check_open()
            return StorageStats(series=len(self._series), samples=self._samples)

    def close(self) -> None:
        """Close the journal; further use raises StorageClosed. Idempotent."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
            if self._journal is not None:
                self._journal.close()

    def _check_open(self) -> None:
        if self._closed:
            raise StorageClosed("storage is closed")

    def _commit(
        self, pending: dict[Labels, dict[int, float]], repeats: Sequence[tuple[Labels, int, float]]
    ) -> AppendResult:
        """Dedup against stored data, journal, then apply; all under the lock.

        ``repeats`` are samples whose timestamp the batch already had: each is a duplicate or a
        conflict of the value that is kept, the stored one if the series has that timestamp,
        else the batch's first.
        """
        batch = [
            (
                labels,
                np.fromiter(samples.keys(), np.int64, len(samples)),
                np.fromiter(samples.values(), np.float64, len(samples)),
            )
            for labels, samples in pending.items()
        ]
        with self._lock:
            self._check_open()
            dup = conf = 0
            for labels, t, v in repeats:
                series = self._series.get(labels)
                stored = series.find(t) if series is not None else None
                kept = stored if stored is not None else pending[labels][t]
                if same_value(kept, v):
                    dup += 1
                else:
                    conf += 1
            fresh, more_dup, more_conf = self._dedup(batch)
            if fresh and self._journal is not None:
                self._journal.append(fresh)
            self._apply(fresh)
        appended = sum(len(ts) for _, ts, _ in fresh)
        return AppendResult(appended, dup + more_dup, conf + more_conf)

    def _dedup(self, batch: Sequence[SeriesSamples]) -> tuple[list[SeriesSamples], int, int]:
        """The samples of ``batch`` not yet stored, plus duplicate and conflict counts."""
        fresh: list[SeriesSamples] = []
        dup = conf = 0
        for labels, ts, vs in batch:
            series = self._series.get(labels)
            if series is None or int(ts.min(initial=MAX_TIME_MS)) > series.max_t:
                if len(ts):
                    fresh.append((labels, ts, vs))
                continue
            keep = np.ones(len(ts), dtype=bool)
            for i, (t, v) in enumerate(zip(ts.tolist(), vs.tolist(), strict=True)):
                old = series.find(t)
                if old is not None:
                    keep[i] = False
                    if same_value(old, v):
                        dup += 1
                    else:
                        conf += 1
            if keep.any():
                fresh.append((labels, ts[keep], vs[keep]))
        return fresh, dup, conf

    def _apply(self, fresh: Sequence[SeriesSamples]) -> None:
        for labels, ts, vs in fresh:
            order = np.argsort(ts, kind="stable")
            chunk_t = np.ascontiguousarray(ts[order], dtype=np.int64)
            chunk_v = np.ascontiguousarray(vs[order], dtype=np.float64)
            chunk_t.flags.writeable = False
            chunk_v.flags.writeable = False
            series = self._series.get(labels)
            if series is None:
                series = self._series[labels] = _MemSeries()
            series.add(_Chunk(chunk_t, chunk_v))
            self._samples += len(chunk_t)


class MemoryAppender:
    """A batch for MemoryStorage: buffered in a dict until commit (see Appender)."""

    def __init__(self, storage: MemoryStorage) -> None:
        self._storage = storage
        self._pending: dict[Labels, dict[int, float]] = {}
        self._repeats: list[tuple[Labels, int, float]] = []
        self._finished = False

    def append(self, labels: Labels, t_ms: int, value: float) -> None:
        """Buffer one sample; a repeat of a timestamp within the batch is counted at commit
        against the value that is kept (the stored one if any, else the batch's first)."""
        if self._finished:
            raise AppenderFinishedError("appender used after commit or rollback")
        if not MIN_TIME_MS <= t_ms <= MAX_TIME_MS:
            raise InvalidSampleError(f"timestamp {t_ms} is outside int64")
        samples = self._pending.get(labels)
        if samples is None:
            samples = self._pending[labels] = {}
        if t_ms in samples:
            self._repeats.append((labels, t_ms, float(value)))
        else:
            samples[t_ms] = float(value)

    def commit(self) -> AppendResult:
        """Store the batch (all or nothing)."""
        if self._finished:
            raise AppenderFinishedError("appender used after commit or rollback")
        self._finished = True
        pending, self._pending = self._pending, {}
        return self._storage._commit(pending, self._repeats)

    def rollback(self) -> None:
        """Discard the batch."""
        if self._finished:
            raise AppenderFinishedError("appender used after commit or rollback")
        self._finished = True
        self._pending = {}
        self._repeats = []


class MemoryQuerier:
    """A snapshot of MemoryStorage (see Querier)."""

    def __init__(self, snapshot: dict[Labels, tuple[_Chunk, ...]], mint: int, maxt: int) -> None:
        self._snapshot = snapshot
        self._mint = mint
        self._maxt = maxt

    def _matching(self, matchers: Sequence[Matcher]) -> list[Labels]:
        return sorted(
            labels for labels in self._snapshot if all(m.matches(labels) for m in matchers)
        )

    def select(
        self, matchers: Sequence[Matcher], hints: SelectHints | None = None
    ) -> Iterator[Series]:
        """Matching series with samples in range, sorted by labels."""
        mint, maxt = self._mint, self._maxt
        if hints is not None:
            mint = max(mint, hints.start_ms) if hints.start_ms is not None else mint
            maxt = min(maxt, hints.end_ms) if hints.end_ms is not None else maxt
        limit = hints.limit if hints is not None else None
        emitted = 0
        for labels in self._matching(matchers):
            if limit is not None and emitted >= limit:
                return
            ts, vs = self._read(self._snapshot[labels], mint, maxt)
            if len(ts):
                emitted += 1
                yield Series(labels, ts, vs)

    def select_sets(
        self, matchers: Sequence[Matcher], hints: SelectHints | None = None
    ) -> Iterator[SeriesSet]:
        """``select`` in groups laid end to end."""
        return select_sets_of(self.select(matchers, hints))

    @staticmethod
    def _read(
        chunks: tuple[_Chunk, ...], mint: int, maxt: int
    ) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.float64]]:
        parts = [c for c in chunks if c.max_t >= mint and c.min_t <= maxt]
        if not parts:
            return _EMPTY_T, _EMPTY_V
        if len(parts) == 1:
            ts, vs = parts[0].timestamps, parts[0].values
        else:
            ts = np.concatenate([c.timestamps for c in parts])
            vs = np.concatenate([c.values for c in parts])
            order = np.argsort(ts, kind="stable")
            ts, vs = ts[order], vs[order]
        lo = int(np.searchsorted(ts, mint, side="left"))
        hi = int(np.searchsorted(ts, maxt, side="right"))
        return ts[lo:hi], vs[lo:hi]

    def series_labels(self, matchers: Sequence[Matcher]) -> list[Labels]:
        """Sorted label sets of matching series with samples in range."""
        return [one.labels for one in self.select(matchers)]

    def label_names(self, matchers: Sequence[Matcher] = ()) -> list[str]:
        """Sorted label names of matching series with samples in range."""
        return label_names_of(self.select(matchers))

    def label_values(self, name: str, matchers: Sequence[Matcher] = ()) -> list[str]:
        """Sorted distinct values of ``name`` among matching series with samples in range."""
        return label_values_of(self.select(matchers), name)

    def close(self) -> None:
        """Drop the snapshot."""
        self._snapshot = {}

    def __enter__(self) -> Querier:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
