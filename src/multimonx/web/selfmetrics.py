"""The server's own metrics (``GET /metrics``): requests, ingested samples, rejections.

One ``ServerMetrics`` per app (no global registry); thread-safe counters rendered as
``MetricFamily`` values, so the text format comes from ``multimonx.model.render_text``.
"""

from __future__ import annotations

import threading
from collections import Counter

from multimonx.model import MetricFamily, MetricType
from multimonx.storage import AppendResult, StorageStats


class ServerMetrics:
    """Counters updated by the web app and read by its ``/metrics`` handler."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._requests: Counter[tuple[str, str, str]] = Counter()
        self._rejected: Counter[str] = Counter()
        self._samples: Counter[str] = Counter()

    def request(self, method: str, handler: str, code: int) -> None:
        """Count one answered HTTP request (``handler`` is the route, not the raw path)."""
        with self._lock:
            self._requests[(method, handler, str(code))] += 1

    def rejected(self, reason: str) -> None:
        """Count one refused push request by reason (bad_data, too_large, unauthorized...)."""
        with self._lock:
            self._rejected[reason] += 1

    def ingested(self, result: AppendResult) -> None:
        """Count the samples of one accepted push."""
        with self._lock:
            self._samples["appended"] += result.appended
            self._samples["duplicate"] += result.duplicates
            self._samples["conflict"] += result.conflicts

    def families(self, stats: StorageStats | None) -> list[MetricFamily]:
        """Everything as metric families (storage gauges only when ``stats`` is known)."""
        with self._lock:
            requests = sorted(self._requests.items())
            rejected = sorted(self._rejected.items())
            samples = [(k, self._samples[k]) for k in ("appended", "duplicate", "conflict")]
        out = [
            MetricFamily(
                "multimonx_http_requests_total",
                MetricType.COUNTER,
                "HTTP requests answered, by method, route and status code.",
                ("method", "handler", "code"),
                tuple(((m, h, c), float(n)) for (m, h, c), n in requests),
            ),
            MetricFamily(
                "multimonx_ingest_rejected_requests_total",
                MetricType.COUNTER,
                "Push requests refused, by reason; nothing of them was stored.",
                ("reason",),
                tuple(((r,), float(n)) for r, n in rejected),
            ),
            MetricFamily(
                "multimonx_ingest_samples_total",
                MetricType.COUNTER,
                "Samples received in accepted pushes, by outcome (appended, duplicate, conflict).",
                ("outcome",),
                tuple(((o,), float(n)) for o, n in samples),
            ),
        ]
        if stats is not None:
            out.append(
                MetricFamily.single(
                    "multimonx_storage_series", MetricType.GAUGE, "Series in storage.", stats.series
                )
            )
            out.append(
                MetricFamily.single(
                    "multimonx_storage_samples",
                    MetricType.GAUGE,
                    "Samples in storage.",
                    stats.samples,
                )
            )
        return out
