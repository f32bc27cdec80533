"""Ingest: decode and validate pushed payloads, commit them through an Appender, and keep
the fleet registry (which hosts push, when, and whether they are up)."""

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

__all__ = [
    "AgentReport",
    "BadDataError",
    "FleetRegistry",
    "HostInfo",
    "HostSeen",
    "HostStatus",
    "HostView",
    "IngestError",
    "Ingester",
    "PayloadTooLargeError",
    "PushReport",
    "PushRequest",
    "UnsupportedEncodingError",
    "decode_push",
    "decompress",
]
