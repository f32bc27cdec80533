"""Ingest: decode and validate pushed payloads, commit them through an Appender, and keep
the fleet registry (which hosts push, when, and whether they are up) and the metadata (TYPE
and HELP) of the pushed families."""

from multimonx.ingest.decode import (
    AgentReport,
    BadDataError,
    HostSeen,
    IngestError,
    PayloadTooLargeError,
    PushRequest,
    UnsupportedEncodingError,
    decode_push,
    decompress,
)
from multimonx.ingest.fleet import FleetRegistry, HostInfo, HostStatus, HostView, PushReport
from multimonx.ingest.ingester import Ingester
from multimonx.ingest.metadata import Metadata, MetadataStore
from multimonx.ingest.upseries import UP_INTERVAL_S, UpWriter

__all__ = [
    "UP_INTERVAL_S",
    "UpWriter",
    "AgentReport",
    "BadDataError",
    "FleetRegistry",
    "HostInfo",
    "HostSeen",
    "HostStatus",
    "HostView",
    "IngestError",
    "Ingester",
    "Metadata",
    "MetadataStore",
    "PayloadTooLargeError",
    "PushReport",
    "PushRequest",
    "UnsupportedEncodingError",
    "decode_push",
    "decompress",
]
