"""Metric metadata (TYPE and HELP) of the families agents push, for ``/api/v1/metadata``.

Prometheus answers that endpoint from its scrape cache: the metadata of the targets it scrapes
now, kept in memory, gone with the target. Here the agents push instead, so each metric name
keeps the variants (type, help, unit) pushed within the last ``TTL_MS``, in memory: the next
pushes refill it after a restart, as the next scrapes refill Prometheus's. Bounded: at most
``MAX_VARIANTS`` variants per name and ``MAX_NAMES`` names, the least recently pushed going
first, so hostile pushes cannot grow it without end.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable
from dataclasses import dataclass

TTL_MS = 3_600_000
"""A variant not pushed for this long is forgotten (an agent that stopped, an old help)."""
MAX_VARIANTS = 16
"""Variants kept per metric name."""
MAX_NAMES = 100_000
"""Metric names kept."""


@dataclass(frozen=True, slots=True, order=True)
class Metadata:
    """One metadata variant of a metric family, as the API writes it (``unknown`` for the
    text format's ``untyped``)."""

    type: str
    help: str
    unit: str = ""


class MetadataStore:
    """Metadata variants by metric family name, each with the time it was last pushed."""

    def __init__(self) -> None:
        self._by_name: dict[str, dict[Metadata, int]] = {}
        self._lock = threading.Lock()

    def record(self, families: Iterable[tuple[str, Metadata]], now_ms: int) -> None:
        """Note that ``families`` (name, metadata) were pushed at ``now_ms``."""
        with self._lock:
            by_name = self._by_name
            for name, meta in families:
                variants = by_name.pop(name, None)  # re-inserted: names stay in push order
                if variants is None:
                    variants = {}
                variants.pop(meta, None)
                variants[meta] = now_ms  # variants in push order too
                if len(variants) > MAX_VARIANTS:
                    del variants[next(iter(variants))]
                by_name[name] = variants
            while len(by_name) > MAX_NAMES:
                del by_name[next(iter(by_name))]

    def query(
        self, now_ms: int, *, metric: str = "", limit: int = -1, limit_per_metric: int = -1
    ) -> dict[str, list[Metadata]]:
        """The variants pushed within ``TTL_MS`` of ``now_ms``, by name (sorted), as
        Prometheus's ``/api/v1/metadata`` selects them: only ``metric`` if given, at most
        ``limit`` names if it is not negative (0: none) and ``limit_per_metric`` variants
        per name if it is positive."""
        since = now_ms - TTL_MS
        with self._lock:
            if metric:
                chosen = {metric: self._by_name[metric]} if metric in self._by_name else {}
            else:
                chosen = self._by_name
            found = {
                name: sorted(meta for meta, seen in variants.items() if seen >= since)
                for name, variants in chosen.items()
            }
        out: dict[str, list[Metadata]] = {}
        for name in sorted(found):
            if 0 <= limit <= len(out):
                break
            variants = found[name]
            if not variants:
                continue
            out[name] = variants[:limit_per_metric] if limit_per_metric > 0 else variants
        return out
