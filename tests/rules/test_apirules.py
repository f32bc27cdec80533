"""API alert rules: a JSON body validated field by field (every problem at once), turned into
the alerting rule the engine evaluates (expression, labels, annotations), grouped as ``api``,
and keeping alert state across changes that keep its name and labels."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pytest

from multimonx.model import Labels
from multimonx.promql.catalog import Catalog, load_catalog
from multimonx.promql.engine import Engine
from multimonx.rules.alerting import AlertState, OutputSample
from multimonx.rules.apirules import (
    API_GROUP,
    ApiRule,
    ApiRuleDefinition,
    ApiRuleError,
    RuleKind,
    alerting_rule,
    api_rule_groups,
    channel_routes,
    load_api_rules,
    parse_definition,
)
from multimonx.rules.group import GroupState
from multimonx.rules.query import engine_query
from multimonx.storage import MemoryStorage
from multimonx.storage.rulestore import StoredRule

MIN = 60_000
CATALOG = load_catalog()
RECEIVERS = frozenset({"ops-slack", "pager"})
THRESHOLD: dict[str, Any] = {
    "name": "DiskAlmostFull",
    "metric": "disk.usage.percent",
    "operator": ">",
    "threshold": 90,
    "for": "5m",
}
PROMQL: dict[str, Any] = {"name": "NodeDown", "expr": "up == 0", "for": "1m"}


def _parse(body: object, taken: Sequence[str] = ()) -> ApiRuleDefinition:
    return parse_definition(body, CATALOG, receivers=RECEIVERS, taken_names=taken)


def _errors(body: object, taken: Sequence[str] = ()) -> dict[str, str]:
    with pytest.raises(ApiRuleError) as caught:
        _parse(body, taken)
    return caught.value.errors


# --- validation ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "field", "message"),
    [
        ([1, 2], "body", "must be a JSON object"),
        ("text", "body", "must be a JSON object"),
        ({**PROMQL, "bogus": 1}, "bogus", "unknown field"),
        ({**PROMQL, "id": "abc"}, "id", "read-only: set by the server"),
        ({**PROMQL, "query": "up"}, "query", "read-only"),
        ({**PROMQL, "kind": "percent"}, "kind", 'must be "threshold" or "promql"'),
        ({**PROMQL, "kind": "promql", "threshold": 3}, "threshold", "only threshold rules"),
        ({"expr": "up"}, "name", "required"),
        ({**PROMQL, "name": ""}, "name", "must not be empty"),
        ({**PROMQL, "name": 5}, "name", "must be a string"),
        ({**PROMQL, "name": "9lives"}, "name", "not a valid alert name"),
        ({**PROMQL, "name": "Disk Full"}, "name", "not a valid alert name"),
        ({**PROMQL, "name": "<script>"}, "name", "not a valid alert name"),
        ({"name": "NodeDown"}, "expr", "required"),
        ({**PROMQL, "expr": "up =="}, "expr", "could not parse expression"),
        ({**PROMQL, "expr": "scalar(up)"}, "expr", "must be an instant vector expression"),
        ({**PROMQL, "expr": "up[5m]"}, "expr", "not a matrix"),
        ({**PROMQL, "expr": '"text"'}, "expr", "not a string"),
        ({**PROMQL, "expr": "(" * 5000 + "up" + ")" * 5000}, "expr", "nested too deeply"),
        ({**PROMQL, "for": "5 minutes"}, "for", "not a valid duration"),
        ({**PROMQL, "for": "-5m"}, "for", "not a valid duration"),
        ({**PROMQL, "for": 300}, "for", "must be a string"),
        ({**PROMQL, "for": ""}, "for", "must not be empty"),
        ({**PROMQL, "keep_firing_for": "1x"}, "keep_firing_for", "not a valid duration"),
        ({**PROMQL, "severity": ""}, "severity", "must be a non-empty string"),
        ({**PROMQL, "severity": ["page"]}, "severity", "must be a string"),
        ({**PROMQL, "labels": ["a"]}, "labels", "must be an object of strings"),
        ({**PROMQL, "labels": {"team-name": "x"}}, "labels.team-name", "invalid label name"),
        ({**PROMQL, "labels": {"rule_id": "x"}}, "labels.rule_id", "reserved"),
        ({**PROMQL, "labels": {"alertname": "x"}}, "labels.alertname", "reserved"),
        ({**PROMQL, "labels": {"team": 1}}, "labels.team", "must be a string"),
        ({**PROMQL, "labels": {"team": "{{ x"}}, "labels.team", "invalid template"),
        (
            {**PROMQL, "severity": "page", "labels": {"severity": "page"}},
            "labels.severity",
            "in the severity field only",
        ),
        ({**PROMQL, "annotations": {"sum mary": "x"}}, "annotations.sum mary", "invalid"),
        ({**PROMQL, "annotations": {"summary": "{{ end }}"}}, "annotations.summary", "template"),
        ({**PROMQL, "channels": "ops-slack"}, "channels", "must be a list of receiver names"),
        ({**PROMQL, "channels": [""]}, "channels", "must be a list of receiver names"),
        ({**PROMQL, "channels": ["pager", "pager"]}, "channels", "listed twice"),
        ({**PROMQL, "channels": ["ops-slack", "sms"]}, "channels", "no such receiver: sms"),
        ({**PROMQL, "enabled": "yes"}, "enabled", "must be true or false"),
        ({**THRESHOLD, "metric": "disk.full"}, "metric", "unknown metric 'disk.full'"),
        ({**THRESHOLD, "metric": ""}, "metric", "must not be empty"),
        ({**THRESHOLD, "expr": "up"}, "expr", "give metric or expr, not both"),
        ({"name": "X", "operator": ">", "threshold": 1}, "metric", "needs metric"),
        ({**THRESHOLD, "operator": "=~"}, "operator", "must be one of > >= < <= == !="),
        ({k: v for k, v in THRESHOLD.items() if k != "operator"}, "operator", "required"),
        ({k: v for k, v in THRESHOLD.items() if k != "threshold"}, "threshold", "required"),
        ({**THRESHOLD, "threshold": "90"}, "threshold", "must be a number"),
        ({**THRESHOLD, "threshold": True}, "threshold", "must be a number"),
        ({**THRESHOLD, "threshold": float("inf")}, "threshold", "must be a finite number"),
        ({**THRESHOLD, "threshold": float("nan")}, "threshold", "must be a finite number"),
        (
            {**THRESHOLD, "metric": None, "expr": "vector(1)[1m:]"},
            "expr",
            "must be an instant vector",
        ),
    ],
)
def test_each_bad_field_gets_its_message(body: object, field: str, message: str) -> None:
    errors = _errors(body)
    assert field in errors, errors
    assert message in errors[field]


def test_a_name_taken_by_another_api_rule_is_refused() -> None:
    assert _errors(PROMQL, taken=["NodeDown"]) == {
        "name": "an alert rule named 'NodeDown' already exists"
    }


def test_every_problem_is_reported_at_once() -> None:
    errors = _errors(
        {
            "name": "1x",
            "metric": "nope",
            "operator": "~",
            "threshold": "high",
            "for": "soon",
            "channels": ["nowhere"],
            "colour": "red",
        }
    )
    assert set(errors) == {"name", "metric", "operator", "threshold", "for", "channels", "colour"}
    assert "name: not a valid alert name" in str(ApiRuleError(errors))


def test_without_receivers_any_channel_is_unknown() -> None:
    with pytest.raises(ApiRuleError) as caught:
        parse_definition({**PROMQL, "channels": ["ops"]}, CATALOG, receivers=())
    assert caught.value.errors == {"channels": "no such receiver: ops (none are configured)"}
    assert parse_definition(PROMQL, CATALOG, receivers=()).channels == ()


@pytest.mark.parametrize(
    ("body", "kind"),
    [
        (PROMQL, RuleKind.PROMQL),
        (THRESHOLD, RuleKind.THRESHOLD),
        ({"name": "X", "expr": "up", "operator": ">", "threshold": 1}, RuleKind.THRESHOLD),
        ({**PROMQL, "kind": "promql"}, RuleKind.PROMQL),
        ({**THRESHOLD, "kind": "threshold"}, RuleKind.THRESHOLD),
    ],
)
def test_the_kind_is_given_or_follows_from_the_threshold_fields(
    body: dict[str, Any], kind: RuleKind
) -> None:
    assert _parse(body).kind is kind


def test_defaults_and_the_body_round_trip() -> None:
    threshold = _parse(THRESHOLD)
    assert threshold.to_json() == {
        "kind": "threshold",
        "name": "DiskAlmostFull",
        "metric": "disk.usage.percent",
        "operator": ">",
        "threshold": 90,
        "for": "5m",
        "keep_firing_for": "0s",
        "severity": "warning",
        "channels": [],
        "labels": {},
        "annotations": {},
        "enabled": True,
    }
    promql = _parse({**PROMQL, "labels": {"severity": "page", "team": "db"}, "for": "0"})
    assert promql.to_json() == {
        "kind": "promql",
        "name": "NodeDown",
        "expr": "up == 0",
        "for": "0",
        "keep_firing_for": "0s",
        "severity": "page",
        "channels": [],
        "labels": {"team": "db"},
        "annotations": {},
        "enabled": True,
    }
    for definition in (threshold, promql):
        assert _parse(definition.to_json()) == definition


HOSTILE = "<script>alert('x')</script>\x00\x1b[2J" + "é" * 1000


def test_hostile_text_is_kept_verbatim() -> None:
    definition = _parse(
        {**PROMQL, "severity": HOSTILE, "labels": {"note": HOSTILE}, "annotations": {"x": HOSTILE}}
    )
    assert definition.severity == HOSTILE
    assert definition.to_json()["labels"] == {"note": HOSTILE}
    assert definition.to_json()["annotations"] == {"x": HOSTILE}


# --- conversion ----------------------------------------------------------------------------


def test_a_threshold_rule_on_a_catalog_metric() -> None:
    entry = CATALOG.get("cpu.usage.total")
    assert entry is not None
    definition = _parse(
        {"name": "CpuHigh", "metric": "cpu.usage.total", "operator": ">=", "threshold": 92.5}
    )
    rule = alerting_rule("r1", definition, CATALOG)
    assert rule.alert == "CpuHigh"
    assert rule.expr_text == (
        '(100 * (1 - avg by (instance) (rate(node_cpu_seconds_total{mode="idle"}[1m])))) >= 92.5'
    )
    assert [(k, t.text) for k, t in rule.labels] == [("rule_id", "r1"), ("severity", "warning")]
    assert [(k, t.text) for k, t in rule.annotations] == [
        (
            "summary",
            "cpu.usage.total on {{ $labels.instance }} is {{ $value | humanize }} "
            "(threshold >= 92.5)",
        )
    ]
    assert (rule.for_ms, rule.keep_firing_for_ms) == (0, 0)


def test_a_threshold_rule_on_an_expression_keeps_given_annotations_and_labels() -> None:
    definition = _parse(
        {
            "name": "LoadHigh",
            "expr": "node_load1 or vector(0)",
            "operator": "<",
            "threshold": -1e-7,
            "severity": "critical",
            "labels": {"team": "{{ $labels.instance }}-ops"},
            "annotations": {"summary": "custom", "runbook": "https://example.org/r"},
            "for": "1h30m",
            "keep_firing_for": "10m",
        }
    )
    rule = alerting_rule("r2", definition, CATALOG)
    # the watched expression is parenthesised from its syntax tree: `or` binds loosest, so
    # the threshold applies to the whole of it
    assert rule.expr_text == "(node_load1 or vector(0)) < -1e-07"
    assert [(k, t.text) for k, t in rule.labels] == [
        ("rule_id", "r2"),
        ("severity", "critical"),
        ("team", "{{ $labels.instance }}-ops"),
    ]
    assert [(k, t.text) for k, t in rule.annotations] == [
        ("runbook", "https://example.org/r"),
        ("summary", "custom"),
    ]
    assert (rule.for_ms, rule.keep_firing_for_ms) == (90 * MIN, 10 * MIN)


def test_the_default_summary_of_a_per_item_metric_names_the_item() -> None:
    rule = alerting_rule("r", _parse(THRESHOLD), CATALOG)
    (summary,) = [t.text for k, t in rule.annotations if k == "summary"]
    assert summary == (
        "disk.usage.percent on {{ $labels.instance }} ({{ $labels.mountpoint }}, "
        "{{ $labels.device }}, {{ $labels.fstype }}) is {{ $value | humanize }} (threshold > 90)"
    )


def test_a_promql_rule_is_its_expression_with_severity_and_rule_id() -> None:
    rule = alerting_rule("r3", _parse({**PROMQL, "severity": "page"}), CATALOG)
    assert rule.expr_text == "up == 0"
    assert [(k, t.text) for k, t in rule.labels] == [("rule_id", "r3"), ("severity", "page")]
    assert rule.annotations == ()
    assert rule.for_ms == MIN
    bare = alerting_rule("r4", _parse(PROMQL), CATALOG)
    assert [k for k, _ in bare.labels] == ["rule_id"]


def _rule(rule_id: str, body: dict[str, Any]) -> ApiRule:
    return ApiRule(rule_id, _parse(body), 1.0, 1.0)


def test_enabled_rules_form_one_group_named_api() -> None:
    rules = [
        _rule("a", PROMQL),
        _rule("b", {**THRESHOLD, "enabled": False}),
        _rule("c", {**PROMQL, "name": "Other"}),
    ]
    (group,) = api_rule_groups(rules, CATALOG)
    assert (group.name, group.file, group.interval_ms, group.limit) == (API_GROUP, "api", None, 0)
    assert [r.alert for r in group.rules] == ["NodeDown", "Other"]  # type: ignore[union-attr]
    assert api_rule_groups([_rule("b", {**THRESHOLD, "enabled": False})], CATALOG) == []
    assert api_rule_groups([], CATALOG) == []


def test_channel_routes_name_each_rule_with_channels() -> None:
    rules = [
        _rule("a", {**PROMQL, "channels": ["pager", "ops-slack"]}),
        _rule("b", {**PROMQL, "name": "Quiet"}),
        _rule("c", {**THRESHOLD, "channels": ["ops-slack"], "enabled": False}),
    ]
    assert channel_routes(rules) == [("a", ("pager", "ops-slack")), ("c", ("ops-slack",))]


def test_stored_rules_load_without_checking_receivers_and_invalid_ones_are_skipped(
    caplog: pytest.LogCaptureFixture,
) -> None:
    good = _parse({**PROMQL, "channels": ["pager"]}).to_json()
    del good["enabled"]
    stored = [
        StoredRule("a", "NodeDown", good, False, 1.0, 2.0),
        StoredRule("b", "Gone", {**THRESHOLD, "name": "Gone", "metric": "old.name"}, True, 1, 1),
    ]
    (rule,) = load_api_rules(stored, CATALOG)  # "pager" need not be configured any more
    assert (rule.rule_id, rule.definition.enabled, rule.definition.channels) == (
        "a",
        False,
        ("pager",),
    )
    assert (rule.created, rule.updated) == (1.0, 2.0)
    assert "API rule b (Gone) is not evaluated: metric: unknown metric 'old.name'" in caplog.text


# --- evaluation ----------------------------------------------------------------------------


class _Fleet:
    """Real storage and engine with two hosts' file systems."""

    def __init__(self, catalog: Catalog) -> None:
        self.storage = MemoryStorage()
        self.query = engine_query(Engine(self.storage))
        self.catalog = catalog

    def disk(self, instance: str, used_percent: float, t_ms: int) -> None:
        app = self.storage.appender()
        common = {"instance": instance, "job": "node", "mountpoint": "/", "device": "sda1"}
        size = Labels.of(__name__="node_filesystem_size_bytes", fstype="ext4", **common)
        avail = Labels.of(__name__="node_filesystem_avail_bytes", fstype="ext4", **common)
        app.append(size, t_ms, 1000.0)
        app.append(avail, t_ms, 1000.0 * (1 - used_percent / 100))
        app.commit()

    def append(self, samples: Sequence[OutputSample]) -> None:
        pass


def test_the_threshold_rule_alerts_per_host_with_rendered_annotations() -> None:
    fleet = _Fleet(CATALOG)
    for t in (0, MIN):
        fleet.disk("web-1", 95.0, t)
        fleet.disk("web-2", 50.0, t)
    body = {**THRESHOLD, "for": "0s", "channels": ["pager"], "labels": {"team": "web"}}
    (group,) = api_rule_groups([_rule("abc123", body)], CATALOG)
    state = GroupState(group, default_interval_ms=MIN)
    state.eval(MIN, fleet.query, fleet.append)
    ((alert,),) = [r.alerts for r in state.status().rules]
    assert alert.state is AlertState.FIRING
    assert dict(alert.labels) == {
        "alertname": "DiskAlmostFull",
        "device": "sda1",
        "fstype": "ext4",
        "instance": "web-1",
        "job": "node",
        "mountpoint": "/",
        "rule_id": "abc123",
        "severity": "warning",
        "team": "web",
    }
    assert dict(alert.annotations) == {
        "summary": "disk.usage.percent on web-1 (/, sda1, ext4) is 95 (threshold > 90)"
    }


@pytest.mark.parametrize(
    ("change", "kept"),
    [
        ({"threshold": 80}, True),
        ({"for": "10m"}, True),
        ({"annotations": {"summary": "new text"}}, True),
        ({"channels": ["pager"]}, True),
        ({"severity": "critical"}, False),
        ({"labels": {"team": "db"}}, False),
        ({"name": "DiskFull"}, False),
    ],
)
def test_a_change_keeps_alert_state_unless_name_or_labels_change(
    change: dict[str, Any], kept: bool
) -> None:
    fleet = _Fleet(CATALOG)
    for t in range(0, 4 * MIN, MIN):
        fleet.disk("web-1", 95.0, t)
    (before,) = api_rule_groups([_rule("id1", THRESHOLD)], CATALOG)
    old = GroupState(before, default_interval_ms=MIN)
    old.eval(MIN, fleet.query, fleet.append)
    (after,) = api_rule_groups([_rule("id1", {**THRESHOLD, **change})], CATALOG)
    new = GroupState(after, default_interval_ms=MIN)
    assert new.key == old.key == ("api", "api")
    new.take_state_from(old)
    new.eval(2 * MIN, fleet.query, fleet.append)
    ((alert,),) = [r.alerts for r in new.status().rules]
    assert alert.state is AlertState.PENDING
    assert alert.active_at_ms == (MIN if kept else 2 * MIN)
