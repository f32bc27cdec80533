"""The JSON envelope every ``/api/v1`` response uses (Prometheus's): ``{"status": "success",
"data": ...}`` or ``{"status": "error", "errorType": ..., "error": ...}``; and RFC 3339 time
text. Shared by the app's own routes, the Prometheus API and the friendly API."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime

import orjson
from starlette.responses import Response


def json_response(
    body: object, status: int = 200, headers: Mapping[str, str] | None = None
) -> Response:
    """A JSON response serialised with orjson."""
    return Response(orjson.dumps(body), status, headers, media_type="application/json")


def error_response(
    status: int, error_type: str, message: str, headers: Mapping[str, str] | None = None
) -> Response:
    """The Prometheus-style error envelope."""
    return json_response(
        {"status": "error", "errorType": error_type, "error": message}, status, headers
    )


def rfc3339(unix_seconds: float | None) -> str | None:
    """A Unix time as RFC 3339 UTC text (millisecond precision), or None."""
    if unix_seconds is None:
        return None
    stamp = datetime.fromtimestamp(unix_seconds, UTC)
    return stamp.isoformat(timespec="milliseconds").replace("+00:00", "Z")
