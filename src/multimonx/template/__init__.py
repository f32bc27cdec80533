"""Text templates: the part of Go's ``text/template`` that Prometheus rules and Alertmanager
notifications use, with Prometheus's template functions."""

from multimonx.template.engine import Template, TemplateData, TemplateError, parse_template
from multimonx.template.funcs import QueryFunction

__all__ = ["QueryFunction", "Template", "TemplateData", "TemplateError", "parse_template"]
