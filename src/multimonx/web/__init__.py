"""Web: the server's HTTP app (push ingest, health, fleet list, own metrics, the Prometheus
HTTP API and the friendly REST API)."""

from multimonx.web.app import create_app
from multimonx.web.envelope import error_response, json_response, rfc3339
from multimonx.web.selfmetrics import ServerMetrics
from multimonx.web.workers import QueryWorkers

__all__ = [
    "QueryWorkers",
    "ServerMetrics",
    "create_app",
    "error_response",
    "json_response",
    "rfc3339",
]
