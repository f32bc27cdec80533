"""Rule unit tests in ``promtool test rules``'s format, run on our engine and rule evaluation.

A test file names ``rule_files`` (relative to itself), an ``evaluation_interval`` (1m by
default), optionally ``group_eval_order``, and ``tests``: each a fresh storage loaded with
``input_series`` (value ``i`` of a series at ``i * interval``, in ``rules.series`` notation),
over which every group is evaluated at ``0, evaluation_interval, ...`` up to the latest time
a case asks about. ``alert_rule_test`` cases compare the alerts of one alert name that are
firing at ``eval_time`` (after the last evaluation at or before it) with ``exp_alerts``
(labels, ``alertname`` added, and annotations); ``promql_expr_test`` cases evaluate ``expr``
at ``eval_time`` and compare its samples with ``exp_samples``. As in promtool, pending
alerts are not compared, and sample values must be equal.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from multimonx.model import Labels, is_stale_nan
from multimonx.promql.engine import Engine
from multimonx.promql.errors import EvalError
from multimonx.promql.lexer import ParseError, parse_duration
from multimonx.promql.printer import format_duration, go_float
from multimonx.rules.alerting import ALERT_NAME_LABEL, AlertState, OutputSample
from multimonx.rules.group import GroupState
from multimonx.rules.query import engine_query
from multimonx.rules.rulefile import AlertingRule, RuleFileError, RuleGroup, load_rule_file
from multimonx.rules.series import expand_values, parse_series
from multimonx.storage.memory import MemoryStorage

DEFAULT_INTERVAL_MS = 60_000


class RuleTestError(Exception):
    """A test file that cannot be run: bad YAML, a bad field, or a rule file with errors."""


@dataclass(frozen=True, slots=True)
class AlertCase:
    """The alerts of ``alertname`` expected firing at ``eval_ms``: (labels, annotations)."""

    eval_ms: int
    alertname: str
    expected: tuple[tuple[Labels, Labels], ...]


@dataclass(frozen=True, slots=True)
class ExprCase:
    """The samples ``expr`` is expected to give at ``eval_ms``."""

    expr: str
    eval_ms: int
    expected: tuple[tuple[Labels, float], ...]


@dataclass(frozen=True, slots=True)
class TestGroup:
    """One test: its input series, its cases, and what templates see as external."""

    name: str
    interval_ms: int
    series: tuple[tuple[Labels, tuple[float | None, ...]], ...]
    alert_cases: tuple[AlertCase, ...]
    expr_cases: tuple[ExprCase, ...]
    external_labels: Labels
    external_url: str


@dataclass(frozen=True, slots=True)
class TestFile:
    """A whole test file, its rule files loaded."""

    path: Path
    groups: tuple[RuleGroup, ...]
    evaluation_interval_ms: int
    tests: tuple[TestGroup, ...]


def run_test_file(path: Path) -> list[str]:
    """Every failure of the tests of ``path`` (none: they all passed); raises RuleTestError
    when the file cannot be run."""
    loaded = load_test_file(path)
    failures: list[str] = []
    for test in loaded.tests:
        failures += _run(loaded, test)
    return failures


def load_test_file(path: Path) -> TestFile:
    """The test file at ``path`` with its rule files; RuleTestError on any problem."""
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as err:
        raise RuleTestError(f"{path}: {err}") from None
    top = _mapping(
        raw or {},
        "the test file",
        {"rule_files", "evaluation_interval", "group_eval_order", "tests"},
    )
    groups: list[RuleGroup] = []
    errors: list[str] = []
    for name in _list(top.get("rule_files"), "rule_files"):
        try:
            groups += load_rule_file(path.parent / str(name))
        except RuleFileError as err:
            errors += err.errors
    if errors:
        raise RuleTestError("\n".join(errors))
    order = [str(n) for n in _list(top.get("group_eval_order"), "group_eval_order")]
    if order:
        by_name = {g.name: g for g in groups}
        missing = [n for n in order if n not in by_name]
        if missing or len(order) != len(groups):
            raise RuleTestError(
                f"{path}: group_eval_order must name every group once (missing or unknown: "
                f"{', '.join(missing) or 'some groups are not listed'})"
            )
        groups = [by_name[n] for n in order]
    interval = (
        _duration(top.get("evaluation_interval"), "evaluation_interval") or DEFAULT_INTERVAL_MS
    )
    tests = tuple(
        _test_group(raw_test, interval, f"{path}: tests[{i}]")
        for i, raw_test in enumerate(_list(top.get("tests"), "tests"))
    )
    return TestFile(path, tuple(groups), interval, tests)


def _test_group(raw: object, default_interval_ms: int, where: str) -> TestGroup:
    fields = _mapping(
        raw,
        where,
        {
            "name",
            "interval",
            "input_series",
            "alert_rule_test",
            "promql_expr_test",
            "external_labels",
            "external_url",
        },
    )
    try:
        series = tuple(_input_series(s) for s in _list(fields.get("input_series"), "input_series"))
        alert_cases = tuple(
            _alert_case(c) for c in _list(fields.get("alert_rule_test"), "alert_rule_test")
        )
        expr_cases = tuple(
            _expr_case(c) for c in _list(fields.get("promql_expr_test"), "promql_expr_test")
        )
    except (KeyError, ValueError, RuleTestError) as err:
        raise RuleTestError(f"{where}: {err}") from None
    return TestGroup(
        str(fields.get("name", "")),
        _duration(fields.get("interval"), "interval") or default_interval_ms,
        series,
        alert_cases,
        expr_cases,
        Labels.of(_strings(fields.get("external_labels"), "external_labels")),
        str(fields.get("external_url") or ""),
    )


def _input_series(raw: object) -> tuple[Labels, tuple[float | None, ...]]:
    fields = _mapping(raw, "input_series", {"series", "values"})
    return parse_series(str(fields["series"])), expand_values(str(fields.get("values", "")).split())


def _alert_case(raw: object) -> AlertCase:
    fields = _mapping(raw, "alert_rule_test", {"eval_time", "alertname", "exp_alerts"})
    name = str(fields["alertname"])
    expected = []
    for alert in _list(fields.get("exp_alerts"), "exp_alerts"):
        parts = _mapping(alert, "exp_alerts", {"exp_labels", "exp_annotations"})
        labels = {**_strings(parts.get("exp_labels"), "exp_labels"), ALERT_NAME_LABEL: name}
        annotations = _strings(parts.get("exp_annotations"), "exp_annotations")
        expected.append((Labels.of(labels), Labels.of(annotations)))
    return AlertCase(_required_duration(fields, "eval_time"), name, tuple(sorted(expected)))


def _expr_case(raw: object) -> ExprCase:
    fields = _mapping(raw, "promql_expr_test", {"expr", "eval_time", "exp_samples"})
    expected = []
    for sample in _list(fields.get("exp_samples"), "exp_samples"):
        parts = _mapping(sample, "exp_samples", {"labels", "value"})
        labels = parse_series(str(parts["labels"])) if parts.get("labels") else Labels()
        expected.append((labels, float(parts.get("value", 0))))
    return ExprCase(
        str(fields["expr"]), _required_duration(fields, "eval_time"), tuple(sorted(expected))
    )


def _run(loaded: TestFile, test: TestGroup) -> list[str]:
    storage = MemoryStorage()
    batch = storage.appender()
    for labels, values in test.series:
        for i, value in enumerate(values):
            if value is not None:
                batch.append(labels, i * test.interval_ms, value)
    batch.commit()
    engine = Engine(storage)
    query = engine_query(engine)

    def store(samples: Sequence[OutputSample]) -> None:
        out = storage.appender()
        for sample in samples:
            out.append(sample.labels, sample.t_ms, sample.value)
        out.commit()

    states = [
        GroupState(
            group,
            default_interval_ms=loaded.evaluation_interval_ms,
            external_labels=test.external_labels,
            external_url=test.external_url,
        )
        for group in loaded.groups
    ]
    step = loaded.evaluation_interval_ms
    last = max(
        [c.eval_ms for c in test.alert_cases] + [c.eval_ms for c in test.expr_cases], default=0
    )
    got: dict[int, tuple[tuple[Labels, Labels], ...]] = {}
    t = 0
    while t <= last:
        for state in states:
            state.eval(t, query, store)
        for i, case in enumerate(test.alert_cases):
            if t <= case.eval_ms < t + step:
                got[i] = _firing(states, case.alertname)
        t += step
    failures = []
    for i, case in enumerate(test.alert_cases):
        if got.get(i, ()) != case.expected:
            failures.append(
                f"alertname: {case.alertname}, time: {format_duration(case.eval_ms)}, \n"
                f"    exp:{_show_alerts(case.expected)}, \n"
                f"    got:{_show_alerts(got.get(i, ()))}"
            )
    for expr_case in test.expr_cases:
        failure = _check_expr(engine, expr_case)
        if failure:
            failures.append(failure)
    prefix = f"name: {test.name},\n" if test.name else ""
    return [prefix + f for f in failures]


def _firing(states: Sequence[GroupState], alertname: str) -> tuple[tuple[Labels, Labels], ...]:
    found = [
        (alert.labels, alert.annotations)
        for state in states
        for rule in state.status().rules
        if isinstance(rule.rule, AlertingRule) and rule.rule.alert == alertname
        for alert in rule.alerts
        if alert.state is AlertState.FIRING
    ]
    return tuple(sorted(found))


def _check_expr(engine: Engine, case: ExprCase) -> str:
    where = f'expr: "{case.expr}", time: {format_duration(case.eval_ms)}'
    try:
        result = engine.instant(case.expr, case.eval_ms)
    except (EvalError, ParseError) as err:
        return f"{where}, err: {err}"
    if result.vector is not None:
        got = tuple(sorted((s.labels, s.value) for s in result.vector if not is_stale_nan(s.value)))
    elif result.scalar is not None:
        got = ((Labels(), result.scalar[1]),)
    else:
        return f"{where}, err: the expression's result is not a vector or scalar"
    if _same_samples(got, case.expected):
        return ""
    return f"{where}, \n    exp: {_show_samples(case.expected)}\n    got: {_show_samples(got)}"


def _same_samples(
    got: Sequence[tuple[Labels, float]], expected: Sequence[tuple[Labels, float]]
) -> bool:
    return len(got) == len(expected) and all(
        gl == el and (gv == ev or (math.isnan(gv) and math.isnan(ev)))
        for (gl, gv), (el, ev) in zip(got, expected, strict=True)
    )


def _show_alerts(alerts: Sequence[tuple[Labels, Labels]]) -> str:
    """Alerts as promtool lists them: numbered, labels then annotations, comma-separated."""
    if not alerts:
        return "[]"
    items = ",".join(
        f"\n        {i}:\n          Labels:{_show_labels(labels)}"
        f"\n          Annotations:{_show_labels(annotations)}"
        for i, (labels, annotations) in enumerate(alerts)
    )
    return f"[{items}\n        ]"


def _show_samples(samples: Sequence[tuple[Labels, float]]) -> str:
    return (
        "["
        + ", ".join(f"{_show_labels(labels)} {go_float(value)}" for labels, value in samples)
        + "]"
    )


def _show_labels(labels: Labels) -> str:
    return "{" + ", ".join(f'{k}="{v}"' for k, v in labels.pairs) + "}"


def _mapping(raw: object, what: str, keys: set[str]) -> Mapping[str, Any]:
    if not isinstance(raw, dict):
        raise RuleTestError(f"expected a mapping for {what}")
    unknown = sorted(set(map(str, raw)) - keys)
    if unknown:
        raise RuleTestError(f"field {unknown[0]} not found in {what}")
    return raw


def _list(raw: object, what: str) -> list[Any]:
    if raw is None:
        return []
    if not isinstance(raw, list):
        raise RuleTestError(f"{what}: expected a list")
    return raw


def _strings(raw: object, what: str) -> dict[str, str]:
    if raw is None:
        return {}
    if not isinstance(raw, dict):
        raise RuleTestError(f"{what}: expected a mapping")
    return {str(k): str(v) for k, v in raw.items()}


def _duration(raw: object, what: str) -> int:
    if raw is None:
        return 0
    text = str(raw)
    if text == "0":
        return 0
    try:
        return parse_duration(text)
    except ValueError:
        raise RuleTestError(f"{what}: not a valid duration string: {text!r}") from None


def _required_duration(fields: Mapping[str, Any], name: str) -> int:
    if name not in fields:
        raise RuleTestError(f"{name} must be set")
    return _duration(fields[name], name)
