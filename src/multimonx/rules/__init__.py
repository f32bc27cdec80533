"""Rules: Prometheus rule files (groups of recording and alerting rules) and the templates of
alert labels and annotations."""

from multimonx.rules.rulefile import (
    AlertingRule,
    RecordingRule,
    Rule,
    RuleFileError,
    RuleGroup,
    load_rule_file,
    parse_rule_groups,
)
from multimonx.template.engine import Template, TemplateData, TemplateError, parse_template

__all__ = [
    "AlertingRule",
    "RecordingRule",
    "Rule",
    "RuleFileError",
    "RuleGroup",
    "Template",
    "TemplateData",
    "TemplateError",
    "load_rule_file",
    "parse_rule_groups",
    "parse_template",
]
