"""Our PromQL script files, run against a real Prometheus (to prove the expectations) and
against our engine; plus the script parser and the series notation."""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np
import pytest

from multimonx.model import Labels, is_stale_nan
from multimonx.promql.signatures import (
    AGGREGATIONS,
    ARITHMETIC_OPS,
    COMPARISON_OPS,
    FUNCTIONS,
    SET_OPS,
)
from multimonx.promql.values import MatrixSeries, QueryResult, VectorSample
from multimonx.rules.series import expand_values
from tests.promql.backends import EngineMissingError, OursBackend, PrometheusBackend
from tests.promql.scripting import (
    Clear,
    Eval,
    Load,
    ScriptError,
    load_script,
    parse_duration,
    parse_script,
    run_script,
)

SCRIPTS = sorted((Path(__file__).parent / "scripts").glob("*.test"))
SCRIPT_IDS = [p.stem for p in SCRIPTS]


# --- the scripts --------------------------------------------------------------------------


@pytest.fixture
def prometheus(tmp_path: Path) -> Iterator[PrometheusBackend]:
    """A fresh real Prometheus for one script."""
    backend = PrometheusBackend(tmp_path)
    try:
        yield backend
    finally:
        backend.close()


@pytest.mark.integration
@pytest.mark.parametrize("path", SCRIPTS, ids=SCRIPT_IDS)
def test_script_against_prometheus(
    path: Path, prometheus: PrometheusBackend, record_property: Callable[[str, object], None]
) -> None:
    """Every eval not marked 3.x gives what the script expects on Prometheus 2.42."""
    report = run_script(load_script(path), prometheus, skip_3x=True)
    record_property("evals_passed", len(report.passed))
    record_property("evals_skipped_3x", [f"{path.name}:{ev.line}" for ev in report.skipped_3x])
    assert not report.failures, "\n".join(report.failures)
    assert report.passed, "a script must run at least one eval"


@pytest.mark.parametrize("path", SCRIPTS, ids=SCRIPT_IDS)
def test_script_against_ours(path: Path) -> None:
    """Every eval, 3.x ones included, gives what the script expects on our engine."""
    script = load_script(path)
    try:
        backend = OursBackend()
    except EngineMissingError:
        pytest.xfail("engine not built yet")
    try:
        report = run_script(script, backend)
    finally:
        backend.close()
    assert not report.failures, "\n".join(report.failures)


def test_there_are_scripts() -> None:
    assert len(SCRIPTS) >= 5


# --- series notation ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("tokens", "expected"),
    [
        (["1"], [1.0]),
        (["0+10x3"], [0.0, 10.0, 20.0, 30.0]),
        (["-1-1x3"], [-1.0, -2.0, -3.0, -4.0]),
        (["3x2"], [3.0, 3.0, 3.0]),
        (["_", "1", "_x2", "2"], [None, 1.0, None, None, 2.0]),
        (["1.5e1+0.5x1"], [15.0, 15.5]),
        (["Inf", "-Inf"], [math.inf, -math.inf]),
        (["0x10"], [0.0] * 11),  # no hexadecimal in series values: 0, 11 times (Prometheus)
        (["10-2.5x2"], [10.0, 7.5, 5.0]),
    ],
)
def test_expand_values(tokens: list[str], expected: list[float | None]) -> None:
    assert list(expand_values(tokens)) == expected


def test_expand_stale_and_nan() -> None:
    stale, nan = expand_values(["stale", "NaN"])
    assert stale is not None
    assert is_stale_nan(stale)
    assert nan is not None
    assert math.isnan(nan)
    assert not is_stale_nan(nan)


@pytest.mark.parametrize("token", ["1+x3", "x3", "1+2", "abc", "1x", "_x"])
def test_expand_values_rejects(token: str) -> None:
    with pytest.raises(ValueError, match="bad"):
        expand_values([token])


@pytest.mark.parametrize(
    ("text", "ms"),
    [
        ("0", 0),
        ("1m", 60_000),
        ("1h30m", 5_400_000),
        ("90s", 90_000),
        ("5ms", 5),
        ("1d", 86_400_000),
    ],
)
def test_parse_duration(text: str, ms: int) -> None:
    assert parse_duration(text) == ms


@pytest.mark.parametrize("text", ["", "1", "m", "1x"])
def test_parse_duration_rejects(text: str) -> None:
    with pytest.raises(ValueError, match="duration"):
        parse_duration(text)


# --- script parser ------------------------------------------------------------------------

EXAMPLE = """\
# a comment
load 1m
    metric{a="b", c='x y'} 0+10x2 _ stale
    {__name__="other"} 1

eval instant at 2m metric
    metric{a="b", c="x y"} 20

# 3.x: left-open window
eval range from 0 to 2m step 1m rate(metric[2m])
    expect ordered
    {a="b", c="x y"} _ 1 2

clear

eval instant at 0 1 + 1
    2

eval instant at 0 "hi"
    "hi"

eval_fail instant at 0 foo(

eval instant at 0 bar(
    expect fail regex: parse error
"""


def test_parse_example() -> None:
    script = parse_script(EXAMPLE, "example.test")
    kinds = [type(c) for c in script.commands]
    assert kinds == [Load, Eval, Eval, Clear, Eval, Eval, Eval, Eval]
    load = script.commands[0]
    assert isinstance(load, Load)
    series = Labels.of(__name__="metric", a="b", c="x y")
    samples = load.samples()
    assert [(lab, t) for lab, t, _ in samples] == [
        (series, 0),
        (series, 60_000),
        (series, 120_000),
        (series, 240_000),
        (Labels.of(__name__="other"), 0),
    ]
    assert is_stale_nan(samples[3][2])
    instant, ranged, _, scalar, string, fail1, fail2 = script.commands[1:]
    assert isinstance(instant, Eval)
    assert not instant.is_range
    assert instant.start_ms == 120_000
    assert instant.series[0].labels == series
    assert not instant.only_3x
    assert isinstance(ranged, Eval)
    assert ranged.is_range
    assert ranged.ordered
    assert ranged.only_3x
    assert (ranged.start_ms, ranged.end_ms, ranged.step_ms) == (0, 120_000, 60_000)
    assert ranged.series[0].values == (None, 1.0, 2.0)
    assert isinstance(scalar, Eval)
    assert scalar.scalar == 2.0
    assert isinstance(string, Eval)
    assert string.string == "hi"
    assert isinstance(fail1, Eval)
    assert fail1.fail
    assert isinstance(fail2, Eval)
    assert fail2.fail
    assert fail2.fail_regex == "parse error"


@pytest.mark.parametrize(
    ("text", "line"),
    [
        ("metric 1\n", 1),
        ("load 1m\n  metric 1\nload\n", 3),
        ("\nload 1m\n  metric{a=b} 1\n", 2),
        ("eval instant at x foo\n", 1),
        ("eval instant at 1m foo\n  expect warn\n", 1),
        ("eval range from 2m to 1m step 1m foo\n", 1),
        ("eval_fail instant at 1m foo\n  foo 1\n", 1),
        ("clear now\n", 1),
    ],
)
def test_malformed_scripts_name_file_and_line(text: str, line: int) -> None:
    with pytest.raises(ScriptError, match=rf"^bad\.test:{line}: "):
        parse_script(text, "bad.test")


# --- the runner's comparison, with a canned backend ----------------------------------------


class Canned:
    """A backend answering every query with one fixed result."""

    def __init__(self, result: QueryResult) -> None:
        self.result = result
        self.loaded: list[tuple[Labels, int, float]] = []

    def load(self, samples: list[tuple[Labels, int, float]]) -> None:
        self.loaded.extend(samples)

    def clear(self) -> None:
        self.loaded = []

    def instant(self, query: str, t_ms: int) -> QueryResult:
        return self.result

    def range(self, query: str, start_ms: int, end_ms: int, step_ms: int) -> QueryResult:
        return self.result


A, B = Labels.of(a="1"), Labels.of(a="2")


def _vector(*samples: tuple[Labels, float]) -> QueryResult:
    return QueryResult("vector", vector=[VectorSample(lab, 60_000, v) for lab, v in samples])


def _matrix(*series: tuple[Labels, list[int], list[float]]) -> QueryResult:
    return QueryResult(
        "matrix",
        matrix=[MatrixSeries(lab, np.array(ts, np.int64), np.array(vs)) for lab, ts, vs in series],
    )


@pytest.mark.parametrize(
    ("script", "result", "ok"),
    [
        ("eval instant at 1m q\n {a='1'} 1\n {a='2'} 2", _vector((B, 2.0), (A, 1.0)), True),
        (
            "eval instant at 1m q\n expect ordered\n {a='1'} 1\n {a='2'} 2",
            _vector((B, 2), (A, 1)),
            False,
        ),
        ("eval instant at 1m q\n {a='1'} 1", _vector((A, 1.0000001)), True),
        ("eval instant at 1m q\n {a='1'} 1", _vector((A, 1.00001)), False),
        ("eval instant at 1m q\n {a='1'} NaN", _vector((A, math.nan)), True),
        ("eval instant at 1m q\n {a='1'} 1", _vector((A, 1.0), (B, 1.0)), False),
        ("eval instant at 1m q", _vector(), True),
        ("eval instant at 1m q\n 3", QueryResult("scalar", scalar=(60_000, 3.0)), True),
        ("eval instant at 1m q\n 3", _vector((A, 3.0)), False),
        (
            "eval range from 0 to 2m step 1m q\n {a='1'} 1 _ 3",
            _matrix((A, [0, 120_000], [1, 3])),
            True,
        ),
        (
            "eval range from 0 to 2m step 1m q\n {a='1'} 1 2 3",
            _matrix((A, [0, 120_000], [1, 3])),
            False,
        ),
        ("eval range from 0 to 2m step 1m q\n {a='1'} _x3", _matrix(), True),
        ("eval instant at 1m q[2m]\n {a='1'} 1 2", _matrix((A, [0, 60_000], [1, 2])), True),
        ("eval_fail instant at 1m q", _vector(), False),
    ],
)
def test_runner_compares(script: str, result: QueryResult, ok: bool) -> None:
    report = run_script(parse_script(script, "t.test"), Canned(result))
    assert (not report.failures) is ok, report.failures
    if not ok:
        assert report.failures[0].startswith("t.test:1: ")


def test_runner_skips_3x_evals_when_told() -> None:
    script = parse_script(
        "# 3.x\neval instant at 1m q\n# 3.x: why\neval instant at 1m q\n"
        "# 3.x is not a mark here\neval instant at 1m q\n",
        "t.test",
    )
    report = run_script(script, Canned(_vector()), skip_3x=True)
    assert report.ran == 1
    assert [ev.line for ev in report.skipped_3x] == [2, 4]


def test_runner_loads_with_stale_markers() -> None:
    backend = Canned(_vector())
    run_script(parse_script("load 30s\n  m 1 stale\n", "t.test"), backend)
    assert backend.loaded[0] == (Labels.of(__name__="m"), 0, 1.0)
    assert backend.loaded[1][1] == 30_000
    assert is_stale_nan(backend.loaded[1][2])


# --- coverage of the scripts ----------------------------------------------------------------


def _all_queries() -> str:
    return "\n".join(ev.query for path in SCRIPTS for ev in load_script(path).evals)


@pytest.mark.parametrize("name", sorted({*FUNCTIONS, *AGGREGATIONS}))
def test_scripts_cover_function_or_aggregation(name: str) -> None:
    assert re.search(rf"\b{name}\s*(\(|by|without)", _all_queries()), f"no eval uses {name}"


@pytest.mark.parametrize(
    "pattern",
    [
        *(re.escape(f" {op} ") for op in sorted(ARITHMETIC_OPS | COMPARISON_OPS | SET_OPS)),
        r"\bbool\b",
        r"\bon\(",
        r"\bignoring\(",
        r"\bgroup_left\b",
        r"\bgroup_right\b",
        r"\boffset\b",
        r"@ start\(\)",
        r"@ end\(\)",
        r"\[\w+:\w*\]",
    ],
)
def test_scripts_cover_operator_or_modifier(pattern: str) -> None:
    assert re.search(pattern, _all_queries()), f"no eval matches {pattern}"


def test_scripts_have_error_cases() -> None:
    fails = [ev for path in SCRIPTS for ev in load_script(path).evals if ev.fail]
    assert len(fails) >= 20


@pytest.mark.integration
def test_prometheus_backend_reloads_samples_older_than_its_head(
    prometheus: PrometheusBackend,
) -> None:
    """A later load reaching more than an hour back is still visible (by a restart)."""
    late, early = Labels.of(__name__="late"), Labels.of(__name__="early")
    prometheus.load([(late, 3 * 3_600_000, 1.0)])
    prometheus.load([(early, 0, 2.0)])
    assert prometheus.restarts == 1
    result = prometheus.instant("early or late", 3 * 3_600_000)
    assert {(s.labels, s.value) for s in result.vector or []} == {(late, 1.0)}
    result = prometheus.instant("early", 60_000)
    assert [(s.labels, s.value) for s in result.vector or []] == [(early, 2.0)]


@pytest.mark.integration
def test_prometheus_backend_clear_forgets(prometheus: PrometheusBackend) -> None:
    prometheus.load([(Labels.of(__name__="m"), 0, 1.0)])
    prometheus.clear()
    assert prometheus.instant("m", 0).vector == []


def test_engine_missing_is_reported(monkeypatch: pytest.MonkeyPatch) -> None:
    def missing(name: str) -> None:
        raise ModuleNotFoundError(name)

    monkeypatch.setattr("tests.promql.backends.importlib.import_module", missing)
    with pytest.raises(EngineMissingError, match="engine not built yet"):
        OursBackend()
