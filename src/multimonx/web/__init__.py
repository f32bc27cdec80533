"""Web: the server's HTTP app (push ingest, health, fleet list, own metrics)."""

from multimonx.web.app import create_app, error_response, json_response, rfc3339
from multimonx.web.selfmetrics import ServerMetrics

__all__ = ["ServerMetrics", "create_app", "error_response", "json_response", "rfc3339"]
