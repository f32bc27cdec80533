"""Text templates: the part of Go's ``text/template`` that Prometheus rules and Alertmanager
notifications use, with Prometheus's and Alertmanager's template functions."""

from multimonx.template.engine import (
    Template,
    TemplateData,
    TemplateError,
    TemplateKind,
    parse_notification_template,
    parse_template,
)
from multimonx.template.funcs import QueryFunction
from multimonx.template.notification import KV, Alerts, alert_data, notification_data

__all__ = [
    "KV",
    "Alerts",
    "QueryFunction",
    "Template",
    "TemplateData",
    "TemplateError",
    "TemplateKind",
    "alert_data",
    "notification_data",
    "parse_notification_template",
    "parse_template",
]
