"""Alert rules managed through the REST API: a JSON body validated into a definition, and the
definitions turned into one rule group, ``api``, that the rule manager evaluates beside the
rule files' groups.

Two kinds of rule, told apart by ``kind`` (``"threshold"`` or ``"promql"``). Without ``kind``,
a body with any of ``metric``, ``operator`` or ``threshold`` is a threshold rule, any other a
PromQL rule.

- A **threshold rule** watches a friendly metric of the catalog (``metric``, such as
  ``disk.usage.percent``) or an instant-vector expression (``expr``) and alerts when it
  compares to ``threshold`` with ``operator``: ``(<expr>) <operator> <threshold>``. Catalog
  expressions keep the ``instance`` label, so there is one alert per host (per file system,
  core or disk for per-item metrics). Its ``severity`` defaults to ``warning`` and its
  ``summary`` annotation, unless given, names the host and the humanized value.
- A **PromQL rule** is a Prometheus alerting rule: ``expr`` is the whole alert expression.

Both have ``name`` (the alert name), ``for``, ``keep_firing_for``, ``severity``, ``labels``,
``annotations`` (templates, as in rule files), ``channels`` (receiver names of the
notification configuration) and ``enabled``. Every produced rule carries the label
``rule_id="<id>"``, by which the notifier routes its alerts to the rule's channels
(``channel_routes``). Body text is data: it is stored and returned as given, and reaches
PromQL only after parsing, never spliced into query text.
"""

from __future__ import annotations

import enum
import logging
import math
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from multimonx.model import METRIC_NAME_LABEL, valid_label_name
from multimonx.model.labels import valid_metric_name
from multimonx.promql.ast import Expr, ValueType
from multimonx.promql.catalog import HOST_LABEL, Catalog
from multimonx.promql.lexer import ParseError, parse_duration
from multimonx.promql.parser import parse, value_type
from multimonx.promql.printer import format_expr, go_float
from multimonx.rules.alerting import ALERT_NAME_LABEL
from multimonx.rules.rulefile import AlertingRule, RuleGroup
from multimonx.storage.rulestore import StoredRule
from multimonx.template.engine import Template, TemplateError, parse_template

log = logging.getLogger(__name__)

API_GROUP = "api"
"""The name, and file name, of the group of API rules."""
RULE_ID_LABEL = "rule_id"
"""The label every API rule's alerts carry: the rule's id."""
SEVERITY_LABEL = "severity"
DEFAULT_SEVERITY = "warning"
"""A threshold rule's severity when the body gives none."""
OPERATORS = (">", ">=", "<", "<=", "==", "!=")
"""A threshold rule's comparisons."""

_COMMON_FIELDS = (
    "kind",
    "name",
    "expr",
    "for",
    "keep_firing_for",
    "severity",
    "channels",
    "labels",
    "annotations",
    "enabled",
)
_THRESHOLD_FIELDS = ("metric", "operator", "threshold")
_READ_ONLY_FIELDS = frozenset({"id", "created", "updated", "query", "error"})
_RESERVED_LABELS = frozenset({METRIC_NAME_LABEL, ALERT_NAME_LABEL, RULE_ID_LABEL})

ReceiverNames = Callable[[], Collection[str]]
"""The receiver names of the current notification configuration."""


class ApiRuleError(ValueError):
    """A rule body that cannot be used; ``errors`` maps each bad field to its problem."""

    def __init__(self, errors: Mapping[str, str]) -> None:
        self.errors = dict(errors)
        super().__init__("; ".join(f"{field}: {message}" for field, message in errors.items()))


class RuleKind(enum.Enum):
    """What an API rule's body describes."""

    THRESHOLD = "threshold"
    PROMQL = "promql"


@dataclass(frozen=True, slots=True)
class ApiRuleDefinition:
    """A validated API rule, as its body gave it. ``expr`` is the whole alert expression of a
    PromQL rule, or the watched expression of a threshold rule without ``metric``; ``for_``
    and ``keep_firing_for`` keep their text (``5m``)."""

    kind: RuleKind
    name: str
    expr: str = ""
    metric: str = ""
    operator: str = ""
    threshold: float = 0.0
    for_: str = "0s"
    keep_firing_for: str = "0s"
    severity: str = ""
    channels: tuple[str, ...] = ()
    labels: tuple[tuple[str, str], ...] = ()
    annotations: tuple[tuple[str, str], ...] = ()
    enabled: bool = True

    def to_json(self) -> dict[str, Any]:
        """The definition as a JSON body (``parse_definition`` reads it back the same)."""
        out: dict[str, Any] = {"kind": self.kind.value, "name": self.name}
        if self.metric:
            out["metric"] = self.metric
        if self.expr:
            out["expr"] = self.expr
        if self.kind is RuleKind.THRESHOLD:
            out["operator"] = self.operator
            out["threshold"] = self.threshold
        out["for"] = self.for_
        out["keep_firing_for"] = self.keep_firing_for
        if self.severity:
            out["severity"] = self.severity
        out["channels"] = list(self.channels)
        out["labels"] = dict(self.labels)
        out["annotations"] = dict(self.annotations)
        out["enabled"] = self.enabled
        return out


@dataclass(frozen=True, slots=True)
class ApiRule:
    """A stored API rule: its id, its definition and when it was created and last changed
    (Unix seconds)."""

    rule_id: str
    definition: ApiRuleDefinition
    created: float
    updated: float


def parse_definition(
    body: object,
    catalog: Catalog,
    *,
    receivers: Collection[str] | None,
    taken_names: Collection[str] = (),
) -> ApiRuleDefinition:
    """The definition a JSON body describes; raises ApiRuleError listing every bad field.
    ``channels`` must name ``receivers`` (None: not checked, for rules already stored);
    ``name`` must not be one of ``taken_names``."""
    if not isinstance(body, dict):
        raise ApiRuleError({"body": "must be a JSON object"})
    reader = _BodyReader(body)
    definition = reader.definition(catalog, receivers, taken_names)
    if reader.errors or definition is None:
        raise ApiRuleError(reader.errors)
    return definition


def stored_definition(stored: StoredRule, catalog: Catalog) -> ApiRuleDefinition:
    """The definition of a stored rule (its channels are not checked against the receivers:
    a receiver that went away must not stop the rule); raises ApiRuleError if it is no
    longer valid (a catalog metric renamed by an upgrade, say)."""
    body = {**stored.definition, "enabled": stored.enabled}
    return parse_definition(body, catalog, receivers=None)


def load_api_rules(stored: Iterable[StoredRule], catalog: Catalog) -> list[ApiRule]:
    """The stored rules that are still valid (each invalid one is logged and skipped)."""
    out = []
    for row in stored:
        try:
            definition = stored_definition(row, catalog)
        except ApiRuleError as err:
            log.warning("rules: API rule %s (%s) is not evaluated: %s", row.rule_id, row.name, err)
            continue
        out.append(ApiRule(row.rule_id, definition, row.created, row.updated))
    return out


def alert_expr(definition: ApiRuleDefinition, catalog: Catalog) -> str:
    """The PromQL text the rule evaluates: a PromQL rule's own expression, or a threshold
    rule's ``(<expr>) <operator> <threshold>`` printed from the parsed syntax tree."""
    if definition.kind is RuleKind.PROMQL:
        return definition.expr
    entry = catalog.get(definition.metric) if definition.metric else None
    watched = entry.query if entry is not None else parse(definition.expr)
    return f"({format_expr(watched)}) {definition.operator} {go_float(definition.threshold)}"


def alerting_rule(rule_id: str, definition: ApiRuleDefinition, catalog: Catalog) -> AlertingRule:
    """The alerting rule of a valid definition, labelled with ``rule_id``."""
    text = alert_expr(definition, catalog)
    labels = dict(definition.labels)
    if definition.severity:
        labels[SEVERITY_LABEL] = definition.severity
    labels[RULE_ID_LABEL] = rule_id
    annotations = dict(definition.annotations)
    if definition.kind is RuleKind.THRESHOLD:
        annotations.setdefault("summary", _default_summary(definition, catalog))
    template_name = f"__alert_{definition.name}"
    return AlertingRule(
        alert=definition.name,
        expr=parse(text),
        expr_text=text,
        for_ms=_duration_ms(definition.for_),
        keep_firing_for_ms=_duration_ms(definition.keep_firing_for),
        labels=_templates(labels, template_name),
        annotations=_templates(annotations, template_name),
    )


def api_rule_groups(rules: Sequence[ApiRule], catalog: Catalog) -> list[RuleGroup]:
    """The group ``api`` of the enabled rules, in the order given, evaluated at the server's
    default interval; no group at all when no rule is enabled."""
    enabled = tuple(
        alerting_rule(rule.rule_id, rule.definition, catalog)
        for rule in rules
        if rule.definition.enabled
    )
    return [RuleGroup(API_GROUP, API_GROUP, enabled)] if enabled else []


def channel_routes(rules: Iterable[ApiRule]) -> list[tuple[str, tuple[str, ...]]]:
    """``(rule_id, channels)`` of every rule with channels: the notifier sends the alerts
    labelled ``rule_id="<id>"`` to those receivers."""
    return [(rule.rule_id, rule.definition.channels) for rule in rules if rule.definition.channels]


def _default_summary(definition: ApiRuleDefinition, catalog: Catalog) -> str:
    entry = catalog.get(definition.metric) if definition.metric else None
    what = entry.name if entry is not None else definition.name
    items = ", ".join(f"{{{{ $labels.{label} }}}}" for label in entry.labels) if entry else ""
    where = f"{{{{ $labels.{HOST_LABEL} }}}}" + (f" ({items})" if items else "")
    threshold = go_float(definition.threshold)
    return (
        f"{what} on {where} is {{{{ $value | humanize }}}} "
        f"(threshold {definition.operator} {threshold})"
    )


def _templates(values: Mapping[str, str], name: str) -> tuple[tuple[str, Template], ...]:
    return tuple((key, parse_template(text, name)) for key, text in sorted(values.items()))


def _duration_ms(text: str) -> int:
    return 0 if text == "0" else parse_duration(text)


class _BodyReader:
    """Reads one body's fields, collecting a problem per bad field."""

    def __init__(self, body: Mapping[str, Any]) -> None:
        self.body = body
        self.errors: dict[str, str] = {}

    def error(self, field: str, message: str) -> None:
        self.errors.setdefault(field, message)

    def definition(
        self, catalog: Catalog, receivers: Collection[str] | None, taken: Collection[str]
    ) -> ApiRuleDefinition | None:
        kind = self.kind()
        allowed = set(_COMMON_FIELDS) | (
            set(_THRESHOLD_FIELDS) if kind is not RuleKind.PROMQL else set()
        )
        for key in self.body:
            if key in _READ_ONLY_FIELDS:
                self.error(key, "read-only: set by the server")
            elif key in _THRESHOLD_FIELDS and kind is RuleKind.PROMQL:
                self.error(key, 'only threshold rules have this field (kind "threshold")')
            elif key not in allowed:
                self.error(key, "unknown field")
        name = self.name(taken)
        severity = self.text("severity", required=False)
        if severity == "" and "severity" in self.body:
            self.error("severity", "must be a non-empty string")
        labels = self.mapping("labels", name)
        if SEVERITY_LABEL in labels:
            if "severity" in self.body:
                self.error("labels.severity", "give the severity in the severity field only")
            severity = labels.pop(SEVERITY_LABEL)
        if kind is RuleKind.THRESHOLD and not severity:
            severity = DEFAULT_SEVERITY
        annotations = self.mapping("annotations", name)
        metric, expr = self.watched(kind, catalog)
        threshold = self.threshold() if kind is RuleKind.THRESHOLD else 0.0
        operator = self.operator() if kind is RuleKind.THRESHOLD else ""
        for_ = self.duration("for")
        keep = self.duration("keep_firing_for")
        channels = self.channels(receivers)
        enabled = self.body.get("enabled", True)
        if not isinstance(enabled, bool):
            self.error("enabled", "must be true or false")
        if self.errors or kind is None:
            return None
        return ApiRuleDefinition(
            kind=kind,
            name=name,
            expr=expr,
            metric=metric,
            operator=operator,
            threshold=threshold,
            for_=for_,
            keep_firing_for=keep,
            severity=severity,
            channels=channels,
            labels=tuple(sorted(labels.items())),
            annotations=tuple(sorted(annotations.items())),
            enabled=enabled,
        )

    def kind(self) -> RuleKind | None:
        raw = self.body.get("kind")
        if raw is None:
            threshold_like = any(self.body.get(key) is not None for key in _THRESHOLD_FIELDS)
            return RuleKind.THRESHOLD if threshold_like else RuleKind.PROMQL
        try:
            return RuleKind(raw)
        except (ValueError, TypeError):
            self.error("kind", 'must be "threshold" or "promql"')
            return None

    def text(self, field: str, *, required: bool) -> str:
        """A string field ("" when absent; required ones must be non-empty)."""
        value = self.body.get(field)
        if value is None:
            if required:
                self.error(field, "required")
            return ""
        if not isinstance(value, str):
            self.error(field, "must be a string")
            return ""
        if required and not value:
            self.error(field, "must not be empty")
        return value

    def name(self, taken: Collection[str]) -> str:
        name = self.text("name", required=True)
        if name and not valid_metric_name(name):
            self.error("name", "not a valid alert name (letters, digits, _ and :; no digit first)")
        elif name in taken:
            self.error("name", f"an alert rule named {name!r} already exists")
        return name

    def watched(self, kind: RuleKind | None, catalog: Catalog) -> tuple[str, str]:
        """(metric, expr): a threshold rule's catalog metric or expression, or a PromQL
        rule's alert expression; each checked."""
        metric = self.text("metric", required=False) if kind is RuleKind.THRESHOLD else ""
        expr = self.text("expr", required=kind is RuleKind.PROMQL)
        if kind is RuleKind.THRESHOLD:
            has_metric, has_expr = (self.body.get(key) is not None for key in ("metric", "expr"))
            if has_metric and has_expr:
                self.error("expr", "give metric or expr, not both")
            elif not has_metric and not has_expr:
                self.error("metric", "a threshold rule needs metric (a catalog name) or expr")
            if metric and catalog.get(metric) is None:
                self.error(
                    "metric", f"unknown metric {metric!r}; /api/v1/metrics/catalog lists them"
                )
            elif has_metric and not metric:
                self.error("metric", "must not be empty")
            if has_expr and not expr:
                self.error("expr", "must not be empty")
        if expr:
            self.expression(expr)
        return metric, expr

    def expression(self, text: str) -> None:
        try:
            expr: Expr = parse(text)
        except ParseError as err:
            self.error("expr", f"could not parse expression: {err}")
            return
        kind = value_type(expr)
        if kind is not ValueType.VECTOR:
            self.error("expr", f"must be an instant vector expression, not a {kind.value}")

    def operator(self) -> str:
        operator = self.text("operator", required=True)
        if operator and operator not in OPERATORS:
            self.error("operator", f"must be one of {' '.join(OPERATORS)}")
        return operator

    def threshold(self) -> float:
        value = self.body.get("threshold")
        if value is None:
            self.error("threshold", "required")
            return 0.0
        if isinstance(value, bool) or not isinstance(value, int | float):
            self.error("threshold", "must be a number")
            return 0.0
        if not math.isfinite(value):
            self.error("threshold", "must be a finite number")
            return 0.0
        return value

    def duration(self, field: str) -> str:
        text = self.text(field, required=False)
        if not text:
            if field in self.body and field not in self.errors:
                self.error(field, "must not be empty (0s for none)")
            return "0s"
        if text != "0":
            try:
                parse_duration(text)
            except ValueError:
                self.error(field, f"not a valid duration (such as 5m or 1h30m): {text!r}")
        return text

    def mapping(self, field: str, name: str) -> dict[str, str]:
        """Labels or annotations: names checked, values parsed as templates."""
        raw = self.body.get(field)
        if raw is None:
            return {}
        if not isinstance(raw, dict):
            self.error(field, "must be an object of strings")
            return {}
        out: dict[str, str] = {}
        for key, value in raw.items():
            where = f"{field}.{key}"
            if not valid_label_name(key):
                self.error(where, f"invalid {field[:-1]} name")
            elif field == "labels" and key in _RESERVED_LABELS:
                self.error(where, "reserved: set by the server")
            elif not isinstance(value, str):
                self.error(where, "must be a string")
            else:
                try:
                    parse_template(value, f"__alert_{name}")
                except (TemplateError, RecursionError) as err:
                    self.error(where, f"invalid template: {err}")
                out[key] = value
        return out

    def channels(self, receivers: Collection[str] | None) -> tuple[str, ...]:
        raw = self.body.get("channels")
        if raw is None:
            return ()
        if not isinstance(raw, list) or not all(isinstance(c, str) and c for c in raw):
            self.error("channels", "must be a list of receiver names")
            return ()
        if len(set(raw)) != len(raw):
            self.error("channels", "a receiver is listed twice")
        if receivers is not None:
            unknown = [c for c in raw if c not in receivers]
            if unknown:
                known = ", ".join(sorted(receivers)) or "none are configured"
                self.error("channels", f"no such receiver: {', '.join(unknown)} ({known})")
        return tuple(raw)
