"""Garbage-collector and allocator settings for the long-running server process."""

from __future__ import annotations

import ctypes
import gc
import platform

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


MMAP_THRESHOLD = 1 << 30
"""Allocations up to this size come from malloc's heap rather than a fresh ``mmap`` each."""
TRIM_THRESHOLD = 512 << 20
"""Free memory at the top of malloc's heap kept for reuse before it is returned to the OS."""

_M_TRIM_THRESHOLD = -1
_M_MMAP_THRESHOLD = -3


def tune_malloc() -> bool:
    """Let glibc's malloc reuse the memory of large numpy arrays; whether it could be set.

    A query over a fleet works on arrays of tens of MB. glibc serves each allocation above
    its mmap threshold (32 MiB at most, adjusted dynamically) with a fresh ``mmap`` and unmaps
    it when freed, so every such array is page-faulted in anew: measured on
    ``bench/query.py`` data (1,000 hosts), a fleet-wide ``rate`` over one hour took 1.07 s
    with the defaults and 0.84 s with these settings, and its slowest runs lost their 40 %
    outliers. The price is that up to ``TRIM_THRESHOLD`` of freed memory stays with the
    process. A no-op (False) on other C libraries.
    """
    if platform.libc_ver()[0] != "glibc":
        return False
    try:
        libc = ctypes.CDLL(None)
        mallopt = libc.mallopt
    except (OSError, AttributeError):
        return False
    mallopt.argtypes = [ctypes.c_int, ctypes.c_int]
    mallopt.restype = ctypes.c_int
    return bool(mallopt(_M_MMAP_THRESHOLD, MMAP_THRESHOLD)) and bool(
        mallopt(_M_TRIM_THRESHOLD, TRIM_THRESHOLD)
    )
