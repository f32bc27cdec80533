"""The storage contracts every backend implements: Appender, Querier, Storage and errors.

Modelled on Prometheus's ``storage`` package. Timestamps are int64 milliseconds since the Unix
epoch, values float64; time bounds are inclusive at both ends. The staleness marker
(``multimonx.model.STALE_NAN``) is an ordinary value to storage: it is stored and returned
bit-exactly, like every other NaN payload, ``-0.0`` and the infinities.

Implementations: ``multimonx.storage.memory.MemoryStorage`` (reference, optionally journaled),
the embedded engine (next issue) and remote backends (later). The shared conformance suite in
``tests/storage/`` runs against every one of them.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Protocol

import numpy as np
import numpy.typing as npt

from multimonx.model import Labels, Matcher

MIN_TIME_MS = -(2**63)
"""The smallest int64 timestamp: use as ``mint`` to mean "from the beginning"."""
MAX_TIME_MS = 2**63 - 1
"""The largest int64 timestamp: use as ``maxt`` to mean "until the end"."""


class StorageError(Exception):
    """Base class of every error raised by a storage backend."""


class StorageUnavailable(StorageError):  # noqa: N818 (Prometheus-style name)
    """The backend cannot accept or serve data right now (disk full, I/O error, remote down).

    Nothing of the failed operation took effect; the caller may retry later (HTTP 503).
    """


class StorageClosed(StorageUnavailable):
    """The storage was closed; no further appenders or queriers can be made."""


class AppenderFinishedError(StorageError):
    """An Appender was used after ``commit`` or ``rollback`` (a programming error)."""


class InvalidSampleError(StorageError):
    """A sample the storage refuses outright (for example a timestamp outside int64)."""


@dataclass(frozen=True, slots=True)
class AppendResult:
    """What one ``Appender.commit`` did with its batch.

    ``appended`` samples are new. ``duplicates`` had a sample already stored (or earlier in the
    same batch) at the same timestamp with a bitwise identical value: ignored, which makes
    replays idempotent. ``conflicts`` had a different value at the same timestamp: the first
    stored value is kept and the new one is dropped and counted.
    """

    appended: int = 0
    duplicates: int = 0
    conflicts: int = 0

    @property
    def total(self) -> int:
        """Every sample the batch held."""
        return self.appended + self.duplicates + self.conflicts


@dataclass(frozen=True, slots=True)
class SelectHints:
    """Optional hints a Querier may use to read less (it may also ignore them).

    ``start_ms``/``end_ms`` narrow the time range of one select inside the querier's bounds;
    ``step_ms``, ``func`` and ``range_ms`` (the range of a range selector, None for an instant
    selector) describe the query, as Prometheus's SelectHints do, so a backend can pick a
    downsampled tier: it may then answer with one point per bucket (at the bucket's last sample
    time) valued for ``func`` and say so through ``Series.counts``; ``limit`` caps the number of
    series returned.
    """

    start_ms: int | None = None
    end_ms: int | None = None
    step_ms: int | None = None
    func: str | None = None
    range_ms: int | None = None
    limit: int | None = None


@dataclass(frozen=True, slots=True, eq=False)
class Series:
    """One series read from storage: its labels and its samples, sorted by time, no repeats.

    ``timestamps`` is an int64 array and ``values`` a float64 array of the same length. The
    arrays belong to the caller but may share memory with the storage: treat them as read-only.
    ``counts`` is None for raw samples. A series answered from a downsampled tier has one point
    per bucket and ``counts`` holds, per point, how many raw samples the bucket aggregates
    (float64, same length): ``count_over_time`` then sums them, and ``avg_over_time`` (whose
    points are the buckets' sums) divides the summed sums by them.
    """

    labels: Labels
    timestamps: npt.NDArray[np.int64]
    values: npt.NDArray[np.float64]
    counts: npt.NDArray[np.float64] | None = None

    def __len__(self) -> int:
        return int(self.timestamps.shape[0])


@dataclass(frozen=True, slots=True)
class SeriesSet:
    """Series read from storage laid end to end (a columnar ``Series`` list): series ``i`` is
    ``labels[i]`` with the samples ``timestamps[starts[i]:stops[i]]``; every series has at
    least one sample, and each starts where the one before stops (the first at 0, the last
    stopping at the end of the arrays). ``counts`` is None when no series came from a
    downsampled tier; otherwise it holds every sample's raw count (1.0 for raw series) and
    ``tiered[i]`` says whether series ``i`` did. Arrays are read-only for the caller, like a
    Series'."""

    labels: list[Labels]
    timestamps: npt.NDArray[np.int64]
    values: npt.NDArray[np.float64]
    starts: npt.NDArray[np.int64]
    stops: npt.NDArray[np.int64]
    counts: npt.NDArray[np.float64] | None = None
    tiered: npt.NDArray[np.bool_] | None = None

    def __len__(self) -> int:
        return len(self.labels)

    @property
    def samples(self) -> int:
        """How many samples the set holds."""
        return int(self.timestamps.shape[0])

    @classmethod
    def of(cls, series: Sequence[Series]) -> SeriesSet:
        """The non-empty ``series``, laid end to end."""
        live = [one for one in series if len(one)]
        if not live:
            return cls.empty()
        lengths = np.fromiter((len(one) for one in live), np.int64, len(live))
        stops = np.cumsum(lengths)
        counts: npt.NDArray[np.float64] | None = None
        tiered: npt.NDArray[np.bool_] | None = None
        if any(one.counts is not None for one in live):
            tiered = np.array([one.counts is not None for one in live], dtype=np.bool_)
            counts = np.concatenate(
                [np.ones(len(one)) if one.counts is None else one.counts for one in live]
            )
        return cls(
            [one.labels for one in live],
            np.concatenate([one.timestamps for one in live]),
            np.concatenate([one.values for one in live]),
            stops - lengths,
            stops,
            counts,
            tiered,
        )

    @classmethod
    def empty(cls) -> SeriesSet:
        """No series."""
        none = np.empty(0, dtype=np.int64)
        return cls([], none, np.empty(0), none, none)

    @classmethod
    def concat(cls, parts: Sequence[SeriesSet]) -> SeriesSet:
        """``parts`` one after the other (e.g. the batches of ``Querier.select_sets``)."""
        parts = [one for one in parts if len(one)]
        if len(parts) <= 1:
            return parts[0] if parts else cls.empty()
        shift = np.cumsum([0, *(one.samples for one in parts[:-1])])
        counts: npt.NDArray[np.float64] | None = None
        tiered: npt.NDArray[np.bool_] | None = None
        if any(one.counts is not None for one in parts):
            counts = np.concatenate(
                [np.ones(one.samples) if one.counts is None else one.counts for one in parts]
            )
            tiered = np.concatenate(
                [
                    np.zeros(len(one), np.bool_) if one.tiered is None else one.tiered
                    for one in parts
                ]
            )
        return cls(
            [lbl for one in parts for lbl in one.labels],
            np.concatenate([one.timestamps for one in parts]),
            np.concatenate([one.values for one in parts]),
            np.concatenate([one.starts + at for one, at in zip(parts, shift, strict=True)]),
            np.concatenate([one.stops + at for one, at in zip(parts, shift, strict=True)]),
            counts,
            tiered,
        )

    def head(self, count: int) -> SeriesSet:
        """The first ``count`` series."""
        if count >= len(self):
            return self
        if count <= 0:
            return SeriesSet.empty()
        end = int(self.stops[count - 1])
        return SeriesSet(
            self.labels[:count],
            self.timestamps[:end],
            self.values[:end],
            self.starts[:count],
            self.stops[:count],
            None if self.counts is None else self.counts[:end],
            None if self.tiered is None else self.tiered[:count],
        )

    def series(self) -> list[Series]:
        """The set as Series (views of its arrays)."""
        out = []
        counts, tiered = self.counts, self.tiered
        for i, (a, b) in enumerate(zip(self.starts.tolist(), self.stops.tolist(), strict=True)):
            own = counts[a:b] if counts is not None and tiered is not None and tiered[i] else None
            out.append(Series(self.labels[i], self.timestamps[a:b], self.values[a:b], own))
        return out


SELECT_SET_SERIES = 512
"""Series per SeriesSet that ``select_sets_of`` groups a select into."""


def select_sets_of(series: Iterable[Series]) -> Iterator[SeriesSet]:
    """``Querier.select_sets`` for queriers that answer from ``select``."""
    group: list[Series] = []
    for one in series:
        group.append(one)
        if len(group) == SELECT_SET_SERIES:
            yield SeriesSet.of(group)
            group = []
    if group:
        yield SeriesSet.of(group)


@dataclass(frozen=True, slots=True)
class StorageStats:
    """Size counters of a storage, for health checks and the server's own metrics."""

    series: int
    samples: int


def label_names_of(series: Iterable[Series]) -> list[str]:
    """Sorted label names of ``series`` (for queriers that answer from a select)."""
    names: set[str] = set()
    for one in series:
        names.update(one.labels)
    return sorted(names)


def label_values_of(series: Iterable[Series], name: str) -> list[str]:
    """Sorted distinct values of label ``name`` among ``series``."""
    return sorted({one.labels[name] for one in series if name in one.labels})


class Appender(Protocol):
    """A batch of samples to add atomically.

    Samples may arrive in any order and at any age (out-of-order samples and backfill are
    accepted and merged). ``append`` only buffers; ``commit`` stores the whole batch or nothing.
    Once ``commit`` returns, the batch is durable (if the storage is durable) and visible to
    queriers created afterwards. An Appender must not be used after ``commit`` or ``rollback``
    (that raises AppenderFinishedError). An Appender is not thread-safe: use one per thread.
    """

    def append(self, labels: Labels, t_ms: int, value: float) -> None:
        """Buffer one sample of the series ``labels`` (which the caller has validated)."""
        ...

    def commit(self) -> AppendResult:
        """Store the batch atomically; raises StorageUnavailable if nothing could be stored."""
        ...

    def rollback(self) -> None:
        """Discard the batch."""
        ...


class Querier(Protocol):
    """A consistent read-only snapshot of the samples within ``[mint, maxt]`` (inclusive, ms).

    Samples committed after the querier was created are not visible through it. A Querier may
    be used from one thread at a time; ``close`` releases it and must be called (use ``with``).
    """

    def select(
        self, matchers: Sequence[Matcher], hints: SelectHints | None = None
    ) -> Iterator[Series]:
        """Every series matching all ``matchers`` that has samples in range, sorted by labels.

        At least one matcher should select a non-empty value (as PromQL requires); an empty
        matcher list selects every series.
        """
        ...

    def select_sets(
        self, matchers: Sequence[Matcher], hints: SelectHints | None = None
    ) -> Iterator[SeriesSet]:
        """What ``select`` returns, in consecutive groups laid end to end (the engine's way
        in: no object per series, and a caller can stop between groups, e.g. on a limit)."""
        ...

    def series_labels(self, matchers: Sequence[Matcher]) -> list[Labels]:
        """Sorted label sets of the series ``select`` would return, without their samples."""
        ...

    def label_names(self, matchers: Sequence[Matcher] = ()) -> list[str]:
        """Sorted label names (``__name__`` included) of series matching ``matchers``."""
        ...

    def label_values(self, name: str, matchers: Sequence[Matcher] = ()) -> list[str]:
        """Sorted distinct non-empty values of label ``name`` among matching series."""
        ...

    def close(self) -> None:
        """Release the snapshot."""
        ...

    def __enter__(self) -> Querier: ...

    def __exit__(self, *exc: object) -> None: ...


class Storage(Protocol):
    """A time-series store. All methods are thread-safe."""

    def appender(self) -> Appender:
        """A new, empty batch."""
        ...

    def querier(self, mint: int, maxt: int) -> Querier:
        """A snapshot for reads within ``[mint, maxt]`` (inclusive, ms)."""
        ...

    def stats(self) -> StorageStats:
        """Current series and sample counts (raises StorageUnavailable if it cannot tell)."""
        ...

    def close(self) -> None:
        """Flush and release everything; further use raises StorageClosed. Idempotent."""
        ...
