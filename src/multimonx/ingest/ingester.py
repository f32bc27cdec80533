"""The ingester: one push request in, one atomic commit out, fleet registry updated.

Blocking (a durable commit waits for the disk); the web layer calls it from a worker thread.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from multimonx.config import IngestSection
from multimonx.ingest.decode import PushRequest, decode_push
from multimonx.ingest.fleet import FleetRegistry, PushReport
from multimonx.ingest.metadata import MetadataStore
from multimonx.storage import AppendResult, Storage


class Ingester:
    """Validates push requests and stores them all-or-nothing through one Appender.

    ``clock`` (Unix seconds) is a seam for tests; it bounds future timestamps.
    """

    def __init__(
        self,
        storage: Storage,
        fleet: FleetRegistry,
        limits: IngestSection,
        *,
        metadata: MetadataStore | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._storage = storage
        self._fleet = fleet
        self._limits = limits
        self._clock = clock
        self.metadata = metadata if metadata is not None else MetadataStore()
        """TYPE and HELP of the families stored (for ``/api/v1/metadata``)."""

    @property
    def limits(self) -> IngestSection:
        """The limits requests are checked against."""
        return self._limits

    def apply_config(self, limits: IngestSection) -> None:
        """Use new limits for the next requests."""
        self._limits = limits
        self._fleet.apply_config(limits.down_after_intervals)

    def decode(self, body: bytes, content_encoding: str | None) -> PushRequest:
        """Validate a request body without storing it; raises IngestError."""
        return decode_push(body, content_encoding, self._limits, int(self._clock() * 1000))

    def store(self, request: PushRequest, *, agent: str = "") -> AppendResult:
        """Commit a validated request atomically, then record its families' metadata and its
        hosts in the fleet registry.

        Raises StorageUnavailable (nothing stored, metadata and fleet untouched) if the commit
        fails.
        """
        appender = self._storage.appender()
        try:
            for labels, t_ms, value in request.samples:
                appender.append(labels, t_ms, value)
        except BaseException:
            appender.rollback()
            raise
        result = appender.commit()
        self.metadata.record(request.metadata, int(self._clock() * 1000))
        report = request.agent
        for host in request.hosts:
            self._fleet.record_push(
                PushReport(
                    instance=host.instance,
                    job=host.job,
                    agent=agent,
                    agent_version=report.version,
                    interval_seconds=report.interval_seconds,
                    newest_sample_ms=host.newest_sample_ms,
                    spool_bytes=report.spool_bytes,
                    dropped_samples=report.dropped_samples,
                    push_errors=report.push_errors,
                )
            )
        return result

    def ingest(self, body: bytes, content_encoding: str | None, *, agent: str = "") -> AppendResult:
        """Decode, validate and store one request body (IngestError / StorageUnavailable)."""
        return self.store(self.decode(body, content_encoding), agent=agent)
