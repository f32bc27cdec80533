"""Prometheus rule files: groups of recording and alerting rules, loaded and validated as
Prometheus 2.42 does (``rulefmt``), with every problem reported at once as
``<file>: <line>:<col>: group "<g>", rule <n>, "<name>": <reason>``.

A file holds ``groups:``, each with a ``name`` unique in the file, an optional ``interval``
(the server's evaluation interval when absent), an optional ``limit`` (the most alerts or
series one rule may produce, 0 for none) and ``rules``. A rule is either a recording rule
(``record``, ``expr``, ``labels``) or an alerting rule (``alert``, ``expr``, ``for``,
``keep_firing_for``, ``labels``, ``annotations``). Alerting rules' label and annotation
values are templates (``rules.template``), parsed here so that a bad one fails the file.

The YAML is read strictly, as Prometheus's ``yaml.UnmarshalStrict`` does: unknown keys,
repeated keys and values of the wrong kind are errors. Where Prometheus stops at the first
such error, this module goes on and reports the rest too.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

import yaml

from multimonx.model import METRIC_NAME_LABEL, valid_label_name
from multimonx.model.labels import valid_metric_name
from multimonx.promql.ast import Expr
from multimonx.promql.lexer import ParseError, parse_duration
from multimonx.promql.parser import parse
from multimonx.template.engine import Template, TemplateError, parse_template


class RuleFileError(Exception):
    """A rule file that cannot be used; ``errors`` lists every problem found, one line each,
    already prefixed with the file name."""

    def __init__(self, errors: list[str]) -> None:
        self.errors = errors
        super().__init__("\n".join(errors))


@dataclass(frozen=True, slots=True)
class RecordingRule:
    """Evaluates ``expr`` and stores the result as series named ``record``, with ``labels``
    added (replacing labels of the same name)."""

    record: str
    expr: Expr
    expr_text: str
    labels: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True, slots=True)
class AlertingRule:
    """Fires an alert for each series ``expr`` returns once it has been returned for ``for_ms``,
    and keeps it firing ``keep_firing_for_ms`` after it stops being returned. Label and
    annotation values are templates over the series' labels and value."""

    alert: str
    expr: Expr
    expr_text: str
    for_ms: int = 0
    keep_firing_for_ms: int = 0
    labels: tuple[tuple[str, Template], ...] = ()
    annotations: tuple[tuple[str, Template], ...] = ()


Rule = RecordingRule | AlertingRule


def rule_name(rule: Rule) -> str:
    """An alerting rule's alert name or a recording rule's series name."""
    return rule.alert if isinstance(rule, AlertingRule) else rule.record


@dataclass(frozen=True, slots=True)
class RuleGroup:
    """Rules evaluated together, in order, every ``interval_ms`` (None: the server's default
    evaluation interval). ``limit`` bounds the alerts or series of each rule (0: none)."""

    name: str
    file: str
    rules: tuple[Rule, ...]
    interval_ms: int | None = None
    limit: int = 0


def load_rule_file(path: Path) -> list[RuleGroup]:
    """The groups of the rule file at ``path``; raises RuleFileError listing every problem
    (an unreadable file included)."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as err:
        raise RuleFileError([f"{path}: {err}"]) from None
    return parse_rule_groups(text, str(path))


def parse_rule_groups(text: str, file: str) -> list[RuleGroup]:
    """The groups of a rule file's ``text`` (``file`` names it in errors and in the groups)."""
    reader = _Reader(file)
    groups = reader.read(text)
    if reader.errors:
        raise RuleFileError(reader.errors)
    return groups


_GROUP_KEYS = frozenset({"name", "interval", "limit", "rules"})
_RULE_KEYS = frozenset(
    {"record", "alert", "expr", "for", "keep_firing_for", "labels", "annotations"}
)


class _Reader:
    """Walks the YAML node tree, collecting errors with their positions."""

    def __init__(self, file: str) -> None:
        self.file = file
        self.errors: list[str] = []

    def error(self, node: yaml.Node | None, message: str) -> None:
        where = f"{_line_col(node)}: " if node is not None else ""
        self.errors.append(f"{self.file}: {where}{message}")

    def read(self, text: str) -> list[RuleGroup]:
        try:
            root = yaml.compose(text, Loader=yaml.SafeLoader)
        except yaml.YAMLError as err:
            mark = getattr(err, "problem_mark", None)
            line = f"line {mark.line + 1}: " if mark is not None else ""
            problem = getattr(err, "problem", None) or str(err)
            self.errors.append(f"{self.file}: yaml: {line}{problem}")
            return []
        if root is None or _is_null(root):
            return []
        fields = self.mapping(root, frozenset({"groups"}), "the rule file")
        groups_node = fields.get("groups")
        if groups_node is None or _is_null(groups_node):
            return []
        if not isinstance(groups_node, yaml.SequenceNode):
            self.error(groups_node, "groups: expected a list of groups")
            return []
        groups: list[RuleGroup] = []
        seen: set[str] = set()
        for node in groups_node.value:
            group = self.group(node)
            if group is None:
                continue
            if group.name in seen:
                self.error(node, f"groupname: {_quote(group.name)} is repeated in the same file")
            seen.add(group.name)
            groups.append(group)
        return groups

    def mapping(self, node: yaml.Node, keys: frozenset[str], what: str) -> dict[str, yaml.Node]:
        """``node``'s keys and value nodes; unknown, repeated or non-text keys are errors."""
        if not isinstance(node, yaml.MappingNode):
            self.error(node, f"expected a mapping for {what}")
            return {}
        out: dict[str, yaml.Node] = {}
        for key_node, value_node in node.value:
            key = key_node.value if isinstance(key_node, yaml.ScalarNode) else None
            if key is None:
                self.error(key_node, f"keys of {what} must be text")
            elif key in out:
                self.error(
                    key_node,
                    f"mapping key {_quote(key)} already defined at line "
                    f"{out[key].start_mark.line + 1}",
                )
            elif keys and key not in keys:
                self.error(key_node, f"field {key} not found in {what}")
            else:
                out[key] = value_node
        return out

    def text(self, node: yaml.Node | None, field: str) -> str:
        """A scalar's text ("" when absent or null); other kinds are errors."""
        if node is None or _is_null(node):
            return ""
        if not isinstance(node, yaml.ScalarNode):
            self.error(node, f"{field}: expected a text value")
            return ""
        return str(node.value)

    def duration(self, node: yaml.Node | None, field: str) -> int | None:
        """Milliseconds of a Prometheus duration ("0" included), None when absent."""
        text = self.text(node, field)
        if not text:
            return None
        if text == "0":
            return 0
        try:
            return parse_duration(text)
        except ValueError:
            self.error(node, f"{field}: not a valid duration string: {_quote(text)}")
            return None

    def strings(self, node: yaml.Node | None, field: str) -> dict[str, tuple[str, yaml.Node]]:
        """A mapping of text to text (labels, annotations), with each value's node."""
        if node is None or _is_null(node):
            return {}
        out: dict[str, tuple[str, yaml.Node]] = {}
        for key, value in self.mapping(node, frozenset(), field).items():
            out[key] = (self.text(value, f"{field}.{key}"), value)
        return out

    def group(self, node: yaml.Node) -> RuleGroup | None:
        fields = self.mapping(node, _GROUP_KEYS, "a rule group")
        if not isinstance(node, yaml.MappingNode):
            return None
        name = self.text(fields.get("name"), "name")
        if not name:
            self.error(node, "Groupname must not be empty")
        interval = self.duration(fields.get("interval"), "interval")
        if interval == 0:
            interval = None  # Prometheus: an interval of 0 is the global one
        limit = self.limit(fields.get("limit"))
        rules_node = fields.get("rules")
        rules: list[Rule] = []
        if rules_node is not None and not _is_null(rules_node):
            if isinstance(rules_node, yaml.SequenceNode):
                for number, rule_node in enumerate(rules_node.value, 1):
                    rule = self.rule(rule_node, name, number)
                    if rule is not None:
                        rules.append(rule)
            else:
                self.error(rules_node, "rules: expected a list of rules")
        return RuleGroup(name, self.file, tuple(rules), interval, limit)

    def limit(self, node: yaml.Node | None) -> int:
        text = self.text(node, "limit")
        if not text:
            return 0
        try:
            return max(int(text), 0)
        except ValueError:
            self.error(node, f"limit: {_quote(text)} is not a whole number")
            return 0

    def rule(self, node: yaml.Node, group: str, number: int) -> Rule | None:
        fields = self.mapping(node, _RULE_KEYS, "a rule")
        if not isinstance(node, yaml.MappingNode):
            return None
        record_node, alert_node = fields.get("record"), fields.get("alert")
        record, alert = self.text(record_node, "record"), self.text(alert_node, "alert")
        expr_node = fields.get("expr")
        expr_text = self.text(expr_node, "expr")
        for_ms = self.duration(fields.get("for"), "for")
        keep_ms = self.duration(fields.get("keep_firing_for"), "keep_firing_for")
        labels = self.strings(fields.get("labels"), "labels")
        annotations = self.strings(fields.get("annotations"), "annotations")

        name_node = alert_node if alert else record_node
        prefix = f"group {_quote(group)}, rule {number}, {_quote(alert or record)}: "
        problems = _Problems(self, prefix, name_node or node)
        if record and alert:
            problems.add("only one of 'record' and 'alert' must be set", record_node)
        elif not record and not alert:
            problems.add("one of 'record' or 'alert' must be set", None)
        expr: Expr | None = None
        if not expr_text:
            problems.add("field 'expr' must be set in rule", expr_node or node)
        else:
            try:
                expr = parse(expr_text)
            except ParseError as err:
                problems.add(f"could not parse expression: {err}", expr_node)
        if record:
            if annotations:
                problems.add("invalid field 'annotations' in recording rule", record_node)
            if for_ms:
                problems.add("invalid field 'for' in recording rule", record_node)
            if keep_ms:
                problems.add("invalid field 'keep_firing_for' in recording rule", record_node)
            if not valid_metric_name(record):
                problems.add(f"invalid recording rule name: {record}", record_node)
        for key, (_, value_node) in labels.items():
            if not valid_label_name(key) or key == METRIC_NAME_LABEL:
                problems.add(f"invalid label name: {key}", value_node)
        for key, (_, value_node) in annotations.items():
            if not valid_label_name(key):
                problems.add(f"invalid annotation name: {key}", value_node)
        label_templates: tuple[tuple[str, Template], ...] = ()
        annotation_templates: tuple[tuple[str, Template], ...] = ()
        if alert:
            label_templates = tuple(problems.templates(alert, "label", labels))
            annotation_templates = tuple(problems.templates(alert, "annotation", annotations))
        if problems.found or expr is None:
            return None
        if record:
            pairs = tuple(sorted((k, text) for k, (text, _) in labels.items()))
            return RecordingRule(record, expr, expr_text, pairs)
        return AlertingRule(
            alert,
            expr,
            expr_text,
            for_ms or 0,
            keep_ms or 0,
            label_templates,
            annotation_templates,
        )


class _Problems:
    """The problems of one rule, reported with its group, number and name."""

    def __init__(self, reader: _Reader, prefix: str, default: yaml.Node | None) -> None:
        self.reader = reader
        self.prefix = prefix
        self.default = default
        self.found = False

    def add(self, message: str, node: yaml.Node | None) -> None:
        self.found = True
        self.reader.error(node or self.default, self.prefix + message)

    def templates(
        self, alert: str, kind: str, values: Mapping[str, tuple[str, yaml.Node]]
    ) -> Iterator[tuple[str, Template]]:
        """Each value parsed as a template, as Prometheus names them (``__alert_<name>``)."""
        for key, (text, node) in sorted(values.items()):
            try:
                yield key, parse_template(text, f"__alert_{alert}")
            except TemplateError as err:
                self.add(f"{kind} {_quote(key)}: {err}", node)


def _line_col(node: yaml.Node) -> str:
    mark = node.start_mark
    return f"{mark.line + 1}:{mark.column + 1}"


def _is_null(node: yaml.Node) -> bool:
    return isinstance(node, yaml.ScalarNode) and node.tag == "tag:yaml.org,2002:null"


def _quote(text: str) -> str:
    """``text`` quoted as Go's ``%q`` does for printable text."""
    return json.dumps(text, ensure_ascii=False)
