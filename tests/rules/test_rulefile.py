"""Rule files: what loads, and every problem reported with its place and Prometheus's words."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from multimonx.promql.printer import format_expr
from multimonx.rules import (
    AlertingRule,
    RecordingRule,
    RuleFileError,
    TemplateData,
    load_rule_file,
    parse_rule_groups,
)

GOOD = """
groups:
  - name: node
    interval: 30s
    limit: 10
    rules:
      - record: instance:cpu:rate5m
        expr: sum by (instance) (rate(node_cpu_seconds_total{mode!="idle"}[5m]))
        labels:
          source: recorded
      - alert: HighCPU
        expr: instance:cpu:rate5m > 0.8
        for: 5m
        keep_firing_for: 1m
        labels:
          severity: warning
          team: "{{ $labels.instance }}-ops"
        annotations:
          summary: "CPU high on {{ $labels.instance }}"
  - name: other
    rules:
      - alert: Up
        expr: up == 0
        for: 0
        labels: {code: 1}
"""


def test_a_good_file_loads_with_every_field() -> None:
    node, other = parse_rule_groups(GOOD, "good.yml")
    assert (node.name, node.file, node.interval_ms, node.limit) == ("node", "good.yml", 30_000, 10)
    record, alert = node.rules
    assert isinstance(record, RecordingRule)
    assert record.record == "instance:cpu:rate5m"
    assert record.labels == (("source", "recorded"),)
    assert format_expr(record.expr) == (
        'sum by (instance) (rate(node_cpu_seconds_total{mode!="idle"}[5m]))'
    )
    assert isinstance(alert, AlertingRule)
    assert (alert.alert, alert.for_ms, alert.keep_firing_for_ms) == ("HighCPU", 300_000, 60_000)
    assert alert.expr_text == "instance:cpu:rate5m > 0.8"
    data = TemplateData(labels={"instance": "web-1"}, value=0.93)
    assert [(k, t.render(data)) for k, t in alert.labels] == [
        ("severity", "warning"),
        ("team", "web-1-ops"),
    ]
    assert [(k, t.render(data)) for k, t in alert.annotations] == [("summary", "CPU high on web-1")]
    (up,) = other.rules
    assert isinstance(up, AlertingRule)
    assert other.interval_ms is None
    assert up.for_ms == 0
    assert [(k, t.render(data)) for k, t in up.labels] == [("code", "1")]


@pytest.mark.parametrize("text", ["", "groups:\n", "groups: []\n", "# nothing\n"])
def test_empty_files_hold_no_groups(text: str) -> None:
    assert parse_rule_groups(text, "empty.yml") == []


def _errors(text: str) -> list[str]:
    with pytest.raises(RuleFileError) as err:
        parse_rule_groups(textwrap.dedent(text), "f.yml")
    assert str(err.value) == "\n".join(err.value.errors)
    return err.value.errors


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            """
            groups:
              - name: g
                rules:
                  - record: a:b
                    alert: Both
                    expr: up
            """,
            [
                'f.yml: 5:17: group "g", rule 1, "Both": '
                "only one of 'record' and 'alert' must be set"
            ],
        ),
        (
            """
            groups:
              - name: g
                rules:
                  - expr: up
            """,
            ["f.yml: 5:9: group \"g\", rule 1, \"\": one of 'record' or 'alert' must be set"],
        ),
        (
            """
            groups:
              - name: g
                rules:
                  - alert: A
            """,
            ['f.yml: 5:9: group "g", rule 1, "A": field \'expr\' must be set in rule'],
        ),
        (
            """
            groups:
              - name: g
                rules:
                  - alert: A
                    expr: sum(up
            """,
            [
                'f.yml: 6:15: group "g", rule 1, "A": could not parse expression: '
                "1:7: parse error: unclosed left parenthesis"
            ],
        ),
        (
            """
            groups:
              - name: g
                rules:
                  - record: "bad name"
                    expr: up
                    for: 5m
                    keep_firing_for: 1m
                    annotations: {a: b}
            """,
            [
                'f.yml: 5:17: group "g", rule 1, "bad name": '
                "invalid field 'annotations' in recording rule",
                'f.yml: 5:17: group "g", rule 1, "bad name": '
                "invalid field 'for' in recording rule",
                'f.yml: 5:17: group "g", rule 1, "bad name": '
                "invalid field 'keep_firing_for' in recording rule",
                'f.yml: 5:17: group "g", rule 1, "bad name": invalid recording rule name: bad name',
            ],
        ),
        (
            """
            groups:
              - name: g
                rules:
                  - alert: A
                    expr: up
                    labels:
                      bad-label: x
                      __name__: y
                    annotations:
                      "bad ann": z
            """,
            [
                'f.yml: 8:22: group "g", rule 1, "A": invalid label name: bad-label',
                'f.yml: 9:21: group "g", rule 1, "A": invalid label name: __name__',
                'f.yml: 11:22: group "g", rule 1, "A": invalid annotation name: bad ann',
            ],
        ),
        (
            """
            groups:
              - name: g
                rules:
                  - alert: A
                    expr: up
                    annotations:
                      summary: "{{ $labels.x "
            """,
            [
                'f.yml: 8:20: group "g", rule 1, "A": annotation "summary": '
                "template: __alert_A:1: unclosed action"
            ],
        ),
        (
            """
            groups:
              - name: g
                rules: []
              - name: g
                rules: []
              - rules: []
            """,
            [
                'f.yml: 5:5: groupname: "g" is repeated in the same file',
                "f.yml: 7:5: Groupname must not be empty",
            ],
        ),
        (
            """
            groups:
              - name: g
                interval: 5x
                bogus: 1
                rules:
                  - alert: A
                    expr: up
                    expr: down
                    for: soon
            """,
            [
                "f.yml: 5:5: field bogus not found in a rule group",
                'f.yml: 4:15: interval: not a valid duration string: "5x"',
                'f.yml: 9:9: mapping key "expr" already defined at line 8',
                'f.yml: 10:14: for: not a valid duration string: "soon"',
            ],
        ),
        (
            """
            groups:
              - name: g
                rules:
                  - alert: A
                    expr: [up]
                    labels: [a, b]
            """,
            [
                "f.yml: 6:15: expr: expected a text value",
                "f.yml: 7:17: expected a mapping for labels",
                'f.yml: 6:15: group "g", rule 1, "A": field \'expr\' must be set in rule',
            ],
        ),
        ("groups: {a: 1}\n", ["f.yml: 1:9: groups: expected a list of groups"]),
        ("rules: []\n", ["f.yml: 1:1: field rules not found in the rule file"]),
        (
            "groups: [\n",
            ["f.yml: yaml: line 2: expected the node content, but found '<stream end>'"],
        ),
    ],
)
def test_every_problem_is_reported_with_its_place(text: str, expected: list[str]) -> None:
    assert _errors(text) == expected


def test_errors_of_several_rules_and_groups_come_together() -> None:
    errors = _errors(
        """
        groups:
          - name: a
            rules:
              - alert: A
                expr: up +
              - record: ok:rule
                expr: up
          - name: b
            rules:
              - record: "x y"
                expr: up
        """
    )
    assert [e.split(": ", 2)[2][:22] for e in errors] == [
        'group "a", rule 1, "A"',
        'group "b", rule 1, "x ',
    ]


def test_files_are_read_from_disk_and_unreadable_ones_are_errors(tmp_path: Path) -> None:
    path = tmp_path / "rules.yml"
    path.write_text(GOOD)
    assert [g.name for g in load_rule_file(path)] == ["node", "other"]
    assert load_rule_file(path)[0].file == str(path)
    with pytest.raises(RuleFileError, match="No such file"):
        load_rule_file(tmp_path / "missing.yml")
    path.write_bytes(b"\xff\xfe groups")
    with pytest.raises(RuleFileError, match="codec can't decode"):
        load_rule_file(path)
