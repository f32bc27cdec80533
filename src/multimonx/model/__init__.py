"""Shared vocabulary: labels, matchers, samples, metric families and wire formats.

This package imports nothing else from MultiMonX, so the agent and the server can both use it.
"""

from multimonx.model.exposition import (
    OPENMETRICS_CONTENT_TYPE,
    TEXT_CONTENT_TYPE,
    MetricFamily,
    MetricType,
    negotiate,
    render_openmetrics,
    render_text,
)
from multimonx.model.labels import (
    METRIC_NAME_LABEL,
    LabelError,
    Labels,
    valid_label_name,
    valid_metric_name,
)
from multimonx.model.matcher import Matcher, MatchType
from multimonx.model.sample import STALE_NAN, Sample, is_stale_nan, now_ms, same_value
from multimonx.model.wire import COLLECT_PATH, WIRE_VERSION, encode_push, encode_round

__all__ = [
    "COLLECT_PATH",
    "METRIC_NAME_LABEL",
    "OPENMETRICS_CONTENT_TYPE",
    "STALE_NAN",
    "TEXT_CONTENT_TYPE",
    "WIRE_VERSION",
    "LabelError",
    "Labels",
    "MatchType",
    "Matcher",
    "MetricFamily",
    "MetricType",
    "Sample",
    "encode_push",
    "encode_round",
    "is_stale_nan",
    "negotiate",
    "now_ms",
    "render_openmetrics",
    "render_text",
    "same_value",
    "valid_label_name",
    "valid_metric_name",
]
