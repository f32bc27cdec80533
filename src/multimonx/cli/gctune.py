"""Garbage-collector settings for the long-running server process."""

from __future__ import annotations

import gc

YOUNG_THRESHOLD = 50_000
"""Allocations of container objects between young-generation collections (CPython: 700)."""


def tune_gc() -> None:
    """Collect less often, for a process holding a large, long-lived heap.

    The server keeps millions of long-lived objects (series labels, head block lists, index
    postings) and makes almost no reference cycles, yet with CPython's defaults every 700
    container allocations start a collection and the growing heap makes the full ones
    longer. Measured with ``bench/storage.py`` data (200 hosts x 200 series, 6 minutes),
    collections took about half of ingest time. Call it once startup has built the heap:
    it is collected once and frozen out of future collections, and young collections run
    every ``YOUNG_THRESHOLD`` allocations.
    """
    gc.collect()
    gc.freeze()
    _, middle, old = gc.get_threshold()
    gc.set_threshold(YOUNG_THRESHOLD, middle, old)
