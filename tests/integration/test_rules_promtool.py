"""``multimonx check rules`` beside the real ``promtool check rules`` (Prometheus 2.42): both
accept and refuse the same files, and count the same rules."""

from __future__ import annotations

import contextlib
import io
import shutil
import subprocess
from pathlib import Path

import pytest

from multimonx.cli.main import main
from tests.integration.conftest import multimonx as multimonx_command_of

pytestmark = pytest.mark.integration

GOOD_FILES = {
    "full": """
groups:
  - name: node
    interval: 30s
    limit: 10
    rules:
      - record: instance:cpu:rate5m
        expr: sum by (instance) (rate(node_cpu_seconds_total{mode!="idle"}[5m]))
        labels: {source: recorded}
      - alert: HighCPU
        expr: instance:cpu:rate5m > 0.8
        for: 5m
        keep_firing_for: 1m
        labels: {severity: warning}
        annotations:
          summary: "{{ $labels.instance }}: {{ $value | humanizePercentage }}"
          description: >-
            {{ if gt $value 0.9 }}critical{{ else }}high{{ end }} on {{ .Labels.instance }}
""",
    "empty": "",
    "no groups": "groups:\n",
    "zero for, numeric label": (
        "groups:\n- name: a\n  rules:\n  - alert: A\n    expr: up\n    for: 0\n    labels: {x: 1}\n"
    ),
    "string expression, free alert name": (
        "groups:\n- name: a\n  rules:\n  - alert: 'any name!'\n    expr: '\"text\"'\n"
    ),
    "range over labels": (
        "groups:\n- name: a\n  rules:\n  - alert: A\n    expr: up\n    annotations:\n"
        "      all: '{{ range $k, $v := $labels }}{{ $k }}={{ $v }} {{ end }}'\n"
    ),
}

BAD_FILES = {
    "both names": "groups:\n- name: a\n  rules:\n  - record: a:b\n    alert: A\n    expr: up\n",
    "no name": "groups:\n- name: a\n  rules:\n  - expr: up\n",
    "no expr": "groups:\n- name: a\n  rules:\n  - alert: A\n",
    "bad expr": "groups:\n- name: a\n  rules:\n  - alert: A\n    expr: sum(up\n",
    "recording with for": (
        "groups:\n- name: a\n  rules:\n  - record: a\n    expr: up\n    for: 1m\n"
    ),
    "bad record name": "groups:\n- name: a\n  rules:\n  - record: 'a b'\n    expr: up\n",
    "bad label name": (
        "groups:\n- name: a\n  rules:\n  - alert: A\n    expr: up\n    labels: {'a-b': x}\n"
    ),
    "__name__ label": (
        "groups:\n- name: a\n  rules:\n  - alert: A\n    expr: up\n    labels: {__name__: x}\n"
    ),
    "bad annotation name": (
        "groups:\n- name: a\n  rules:\n  - alert: A\n    expr: up\n    annotations: {'a b': x}\n"
    ),
    "unclosed template": (
        "groups:\n- name: a\n  rules:\n  - alert: A\n    expr: up\n"
        "    annotations: {s: '{{ $labels.x '}\n"
    ),
    "unknown function": (
        "groups:\n- name: a\n  rules:\n  - alert: A\n    expr: up\n"
        "    annotations: {s: '{{ nosuch 1 }}'}\n"
    ),
    "unterminated if": (
        "groups:\n- name: a\n  rules:\n  - alert: A\n    expr: up\n"
        "    labels: {s: '{{ if $value }}x'}\n"
    ),
    "repeated group": "groups:\n- name: a\n  rules: []\n- name: a\n  rules: []\n",
    "empty group name": "groups:\n- name: ''\n  rules: []\n",
    "bad interval": "groups:\n- name: a\n  interval: 5x\n  rules: []\n",
    "bad for": "groups:\n- name: a\n  rules:\n  - alert: A\n    expr: up\n    for: soon\n",
    "unknown group field": "groups:\n- name: a\n  bogus: 1\n  rules: []\n",
    "unknown rule field": "groups:\n- name: a\n  rules:\n  - alert: A\n    expr: up\n    x: 1\n",
    "repeated key": "groups:\n- name: a\n  rules:\n  - alert: A\n    expr: up\n    expr: down\n",
    "not yaml": "groups: [\n",
    "unknown top-level field": "rules: []\n",
}


@pytest.fixture(scope="module")
def promtool() -> str:
    path = shutil.which("promtool")
    if path is None:
        pytest.skip("promtool is not installed")
    return path


def _ours(path: Path) -> tuple[int, str]:
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        status = main(["check", "rules", str(path)])
    return status, out.getvalue()


def _theirs(promtool: str, path: Path) -> tuple[int, str]:
    done = subprocess.run(
        [promtool, "check", "rules", str(path)],
        check=False,
        capture_output=True,
        text=True,
        timeout=60,
    )
    return done.returncode, done.stdout + done.stderr


@pytest.mark.parametrize("name", sorted(GOOD_FILES))
def test_files_promtool_accepts_are_accepted_with_the_same_rule_count(
    promtool: str, tmp_path: Path, name: str
) -> None:
    path = tmp_path / "rules.yml"
    path.write_text(GOOD_FILES[name])
    their_status, their_out = _theirs(promtool, path)
    our_status, our_out = _ours(path)
    assert their_status == 0, their_out
    assert our_status == 0, our_out
    counted = [line for line in our_out.splitlines() if "SUCCESS" in line]
    assert counted == [line for line in their_out.splitlines() if "SUCCESS" in line]


@pytest.mark.parametrize("name", sorted(BAD_FILES))
def test_files_promtool_refuses_are_refused(promtool: str, tmp_path: Path, name: str) -> None:
    path = tmp_path / "rules.yml"
    path.write_text(BAD_FILES[name])
    their_status, their_out = _theirs(promtool, path)
    our_status, our_out = _ours(path)
    assert their_status == 1, their_out
    assert our_status == 1, our_out
    assert our_out.startswith(f"Checking {path}\n  FAILED:\n{path}: ")


PACK_TESTS = Path(__file__).resolve().parents[1] / "rules" / "default_rules_test.yml"
PACK = Path(__file__).resolve().parents[2] / "src" / "multimonx" / "rules" / "default_rules.yml"


def multimonx_command() -> list[str]:
    return multimonx_command_of()


def _test_rules(command: list[str], path: Path) -> tuple[int, str]:
    done = subprocess.run(
        [*command, "test", "rules", path.name],
        check=False,
        capture_output=True,
        text=True,
        timeout=300,
        cwd=path.parent,
    )
    return done.returncode, done.stdout + done.stderr


def test_the_default_pack_passes_promtool_check_rules(promtool: str) -> None:
    status, out = _theirs(promtool, PACK)
    assert status == 0, out
    assert "SUCCESS: 10 rules found" in out


@pytest.mark.parametrize(
    ("change", "fails"),
    [
        (None, False),
        (("summary: CPU usage on h1 is 90.0%", "summary: CPU usage on h1 is 91.0%"), True),
        (("      - eval_time: 16m\n", "      - eval_time: 14m\n"), True),
        (("exp_labels: {severity: warning, instance: h1}", "exp_labels: {instance: h1}"), True),
    ],
)
def test_rule_unit_tests_pass_and_fail_as_with_promtool(
    promtool: str, tmp_path: Path, change: tuple[str, str] | None, fails: bool
) -> None:
    """The default pack's unit tests, as written and with one expectation made wrong, give
    the same verdict from ``promtool test rules`` and ``multimonx test rules``."""
    text = PACK_TESTS.read_text().replace("../../src/multimonx/rules/default_rules.yml", str(PACK))
    if change is not None:
        assert change[0] in text
        text = text.replace(change[0], change[1], 1)
    path = tmp_path / "tests.yml"
    path.write_text(text)
    their_status, their_out = _test_rules([promtool], path)
    our_status, our_out = _test_rules(multimonx_command(), path)
    assert their_status == int(fails), their_out
    assert our_status == int(fails), our_out
    if fails:  # the same failures, reported the same way
        assert our_out.replace(" \n", "\n").split("FAILED:")[1].split() == (
            their_out.replace(" \n", "\n").split("FAILED:")[1].split()
        )
