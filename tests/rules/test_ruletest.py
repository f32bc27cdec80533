"""Rule unit tests in promtool's format: the default pack's own tests pass, a wrong
expectation fails with promtool's report, and bad test files are refused."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from multimonx.rules.ruletest import RuleTestError, load_test_file, run_test_file

HERE = Path(__file__).parent
DEFAULT_PACK_TESTS = HERE / "default_rules_test.yml"

RULES = """
groups:
  - name: first
    rules:
      - record: job:x:sum
        expr: sum by (job) (x)
  - name: second
    rules:
      - alert: XHigh
        expr: job:x:sum > 5
        for: 2m
        labels: {severity: page}
        annotations: {summary: "{{ $labels.job }} at {{ $value }}"}
"""


def _files(tmp_path: Path, tests: str) -> Path:
    (tmp_path / "rules.yml").write_text(textwrap.dedent(RULES))
    path = tmp_path / "tests.yml"
    path.write_text(textwrap.dedent(tests))
    return path


TESTS = """
rule_files: [rules.yml]
evaluation_interval: 1m
tests:
  - interval: 1m
    input_series:
      - series: 'x{job="api", instance="a"}'
        values: '1+1x10'
      - series: 'x{job="api", instance="b"}'
        values: '0x10'
    alert_rule_test:
      - eval_time: 5m
        alertname: XHigh
        exp_alerts: []
      - eval_time: 7m30s
        alertname: XHigh
        exp_alerts:
          - exp_labels: {severity: page, job: api}
            exp_annotations: {summary: "api at 8"}
    promql_expr_test:
      - expr: job:x:sum
        eval_time: 2m
        exp_samples:
          - labels: 'job:x:sum{job="api"}'
            value: 3
      - expr: count(x)
        eval_time: 2m
        exp_samples:
          - value: 2
"""


def test_the_default_pack_passes_its_own_tests() -> None:
    assert run_test_file(DEFAULT_PACK_TESTS) == []
    loaded = load_test_file(DEFAULT_PACK_TESTS)
    assert [t.name for t in loaded.tests] == [
        "host down",
        "cpu",
        "memory",
        "disk",
        "disk filling",
        "iowait",
        "packet loss",
    ]


def test_alerts_and_expressions_are_checked(tmp_path: Path) -> None:
    assert run_test_file(_files(tmp_path, TESTS)) == []


def test_a_wrong_expectation_is_reported_as_promtool_reports_it(tmp_path: Path) -> None:
    failures = run_test_file(
        _files(tmp_path, TESTS.replace("severity: page, job: api", "severity: ticket, job: api"))
    )
    assert failures == [
        "alertname: XHigh, time: 7m30s, \n"
        "    exp:[\n"
        "        0:\n"
        '          Labels:{alertname="XHigh", job="api", severity="ticket"}\n'
        '          Annotations:{summary="api at 8"}\n'
        "        ], \n"
        "    got:[\n"
        "        0:\n"
        '          Labels:{alertname="XHigh", job="api", severity="page"}\n'
        '          Annotations:{summary="api at 8"}\n'
        "        ]"
    ]
    (failure,) = run_test_file(_files(tmp_path, TESTS.replace("value: 3", "value: 4")))
    assert failure == (
        'expr: "job:x:sum", time: 2m, \n'
        '    exp: [{__name__="job:x:sum", job="api"} 4]\n'
        '    got: [{__name__="job:x:sum", job="api"} 3]'
    )
    (failure,) = run_test_file(_files(tmp_path, TESTS.replace("expr: count(x)", "expr: count(x")))
    assert failure.startswith('expr: "count(x", time: 2m, err: ')


def test_groups_run_in_the_order_asked(tmp_path: Path) -> None:
    # the alert reads what the recording rule wrote in the same round only if it runs after
    ordered = TESTS.replace(
        "evaluation_interval: 1m\n", "evaluation_interval: 1m\ngroup_eval_order: [second, first]\n"
    )
    (failure,) = run_test_file(_files(tmp_path, ordered))
    assert failure.startswith("alertname: XHigh, time: 7m30s")


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (("rule_files: [rules.yml]", "rule_files: [missing.yml]"), "No such file"),
        (("evaluation_interval: 1m", "evaluation_interval: soon"), "not a valid duration"),
        (("  - interval: 1m", "  - interval: 1m\n    bogus: 1"), "field bogus not found"),
        (("values: '0x10'", "values: 'zero'"), "bad series value 'zero'"),
        (('x{job="api", instance="b"}', 'x{job=~"api"}'), "only = matchers"),
        (("      - eval_time: 5m\n", "      - eval_time: 5m\n        at: 1\n"), "field at"),
        (("tests:", "group_eval_order: [first]\ntests:"), "group_eval_order must name"),
    ],
)
def test_bad_test_files_are_refused_with_the_reason(
    tmp_path: Path, change: tuple[str, str], message: str
) -> None:
    old, new = change
    assert old in TESTS
    with pytest.raises(RuleTestError, match=message):
        run_test_file(_files(tmp_path, TESTS.replace(old, new)))
