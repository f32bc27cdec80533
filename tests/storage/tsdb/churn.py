"""A TSDB wrapper for the contract suite that flushes and/or reopens between operations, so
every contract also holds for data in chunks, merged out-of-order samples and replayed logs."""

from __future__ import annotations

import threading
from collections.abc import Sequence
from pathlib import Path

from multimonx.model import Labels, Matcher
from multimonx.storage import MAX_TIME_MS, AppendResult, Querier, SelectHints, StorageStats
from multimonx.storage.journal import JournalSync
from multimonx.storage.tsdb import TSDB, TSDBAppender, TSDBOptions, TSDBQuerier

OPTIONS = TSDBOptions(chunk_range_ms=2000, flush_delay_ms=1000, log_sync=JournalSync.NORMAL)
"""Small windows so that tiny test timestamps spread over several chunks."""


class Churn:
    """A Storage over a TSDB that flushes after each commit (``flush``: everything flushable
    if "all", only windows older than the batch's newest sample if "partial") and reopens the
    TSDB before each new appender when nothing is in flight (``reopen``)."""

    def __init__(self, directory: Path, *, flush: str | None, reopen: bool) -> None:
        self._dir = directory
        self._flush = flush
        self._reopen = reopen
        self._lock = threading.Lock()
        self._busy = 0
        self._closed = False
        self.db = TSDB.open(directory, options=OPTIONS)

    def appender(self) -> ChurnAppender:
        with self._lock:
            if self._reopen and not self._busy and not self._closed:
                self.db.close()
                self.db = TSDB.open(self._dir, options=OPTIONS)
            inner = self.db.appender()
            self._busy += 1
        return ChurnAppender(self, inner)

    def done(self, t_max: int | None) -> None:
        with self._lock:
            self._busy -= 1
            if self._closed or t_max is None:
                return
            if self._flush == "all":
                self.db.flush(MAX_TIME_MS)
            elif self._flush == "partial":
                self.db.flush(
                    min(t_max, MAX_TIME_MS - OPTIONS.flush_delay_ms) + OPTIONS.flush_delay_ms
                )

    def querier(self, mint: int, maxt: int) -> ChurnQuerier:
        with self._lock:
            q = self.db.querier(mint, maxt)
            self._busy += 1
        return ChurnQuerier(self, q)

    def release(self) -> None:
        with self._lock:
            self._busy -= 1

    def stats(self) -> StorageStats:
        return self.db.stats()

    def close(self) -> None:
        with self._lock:
            self._closed = True
            self.db.close()


class ChurnAppender:
    """Delegates to a TSDBAppender, then lets the wrapper flush."""

    def __init__(self, owner: Churn, inner: TSDBAppender) -> None:
        self._owner = owner
        self._inner = inner
        self._t_max: int | None = None
        self._done = False

    def append(self, labels: Labels, t_ms: int, value: float) -> None:
        self._inner.append(labels, t_ms, value)
        self._t_max = t_ms if self._t_max is None else max(self._t_max, t_ms)

    def _finish(self, t_max: int | None) -> None:
        if not self._done:
            self._done = True
            self._owner.done(t_max)

    def commit(self) -> AppendResult:
        try:
            result = self._inner.commit()
        except BaseException:
            self._finish(None)
            raise
        self._finish(self._t_max)
        return result

    def rollback(self) -> None:
        try:
            self._inner.rollback()
        finally:
            self._finish(None)


class ChurnQuerier:
    """Delegates to a TSDBQuerier; the wrapper does not reopen while one is open."""

    def __init__(self, owner: Churn, inner: TSDBQuerier) -> None:
        self._owner = owner
        self._inner = inner
        self._open = True

    def select(self, matchers: Sequence[Matcher], hints: SelectHints | None = None):  # type: ignore[no-untyped-def]
        return self._inner.select(matchers, hints)

    def select_sets(self, matchers: Sequence[Matcher], hints: SelectHints | None = None):  # type: ignore[no-untyped-def]
        return self._inner.select_sets(matchers, hints)

    def series_labels(self, matchers: Sequence[Matcher]) -> list[Labels]:
        return self._inner.series_labels(matchers)

    def label_names(self, matchers: Sequence[Matcher] = ()) -> list[str]:
        return self._inner.label_names(matchers)

    def label_values(self, name: str, matchers: Sequence[Matcher] = ()) -> list[str]:
        return self._inner.label_values(name, matchers)

    def close(self) -> None:
        if self._open:
            self._open = False
            self._inner.close()
            self._owner.release()

    def __enter__(self) -> Querier:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
