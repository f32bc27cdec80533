"""PromQL test scripts in Prometheus's ``promqltest`` format, and a runner for them.

A script is a sequence of commands::

    load 1m
        metric{a="b"} 0+10x10 _ 1 stale 3x2 -1-1x3
    clear
    eval instant at 5m sum(metric)
        {} 50
    eval range from 0 to 2m step 1m metric
        expect ordered
        metric{a="b"} 0 10 20

Series notation (as in ``promtool test rules``): ``a+bxn`` is the n+1 values ``a, a+b, ...,
a+n*b``; ``axn`` is ``a`` n+1 times; ``_`` is no sample, ``_xn`` n of them; ``stale`` is a
staleness marker. ``eval_fail`` / ``expect fail [msg: text | regex: pattern]`` expect an
error, ``eval_ordered`` / ``expect ordered`` make the order of a vector result matter.
Expected lines are ``labels value`` (instant), ``labels v1 v2 _ v3`` (range: one value per
step, ``_`` for "no point"), a bare number (scalar) or a ``"string"``. An instant query of a
range selector is compared by the values of each series in time order.

A comment line ``# 3.x`` or ``# 3.x: why`` right before an eval marks it as depending on
Prometheus 3.x semantics that the 2.x reference server does not have; a runner told to skip
such evals counts and lists them instead.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from multimonx.model import Labels
from multimonx.promql.values import QueryResult
from multimonx.rules.series import expand_values, is_number, parse_number

# --- script model -------------------------------------------------------------------------


class ScriptError(ValueError):
    """A malformed script; the message starts with ``file:line``."""


@dataclass(frozen=True, slots=True)
class SeriesSpec:
    """A series line of a load or an eval: its labels and its expanded values (None is
    ``_``, no sample)."""

    labels: Labels
    values: tuple[float | None, ...]


@dataclass(frozen=True, slots=True)
class Load:
    """``load <interval>``: sample ``i`` of each series is at ``i * interval_ms``."""

    line: int
    interval_ms: int
    series: tuple[SeriesSpec, ...]

    def samples(self) -> list[tuple[Labels, int, float]]:
        """The samples to store, series by series in time order (``stale`` is STALE_NAN)."""
        return [
            (spec.labels, i * self.interval_ms, value)
            for spec in self.series
            for i, value in enumerate(spec.values)
            if value is not None
        ]


@dataclass(frozen=True, slots=True)
class Clear:
    """``clear``: drop everything loaded so far."""

    line: int


@dataclass(frozen=True, slots=True)
class Eval:
    """One ``eval`` and what it expects. An instant eval has ``start_ms == end_ms`` and
    ``step_ms == 0``."""

    line: int
    query: str
    start_ms: int
    end_ms: int
    step_ms: int
    series: tuple[SeriesSpec, ...] = ()
    scalar: float | None = None
    string: str | None = None
    fail: bool = False
    fail_msg: str | None = None
    fail_regex: str | None = None
    ordered: bool = False
    only_3x: bool = False

    @property
    def is_range(self) -> bool:
        """Whether this is a range query."""
        return self.step_ms > 0


Command = Load | Clear | Eval


@dataclass(frozen=True, slots=True)
class Script:
    """A parsed script file."""

    path: str
    commands: tuple[Command, ...]

    @property
    def evals(self) -> list[Eval]:
        """The evals, in order."""
        return [c for c in self.commands if isinstance(c, Eval)]


# --- lexical pieces -----------------------------------------------------------------------

_DURATION_RE = re.compile(
    r"(?:(\d+)y)?(?:(\d+)w)?(?:(\d+)d)?(?:(\d+)h)?(?:(\d+)m(?!s))?(?:(\d+)s)?(?:(\d+)ms)?"
)
_DURATION_UNITS_MS = (365 * 86_400_000, 7 * 86_400_000, 86_400_000, 3_600_000, 60_000, 1000, 1)


def parse_duration(text: str) -> int:
    """A Prometheus duration (``1h30m``, ``90s``, ``0``) in milliseconds; ValueError if bad."""
    if text == "0":
        return 0
    match = _DURATION_RE.fullmatch(text)
    if match is None or not text:
        raise ValueError(f"bad duration {text!r}")
    return sum(
        int(part) * unit
        for part, unit in zip(match.groups(), _DURATION_UNITS_MS, strict=True)
        if part
    )


_NAME_RE = re.compile(r"[a-zA-Z_:][a-zA-Z0-9_:]*")
_LABEL_RE = re.compile(
    r"\s*([a-zA-Z_][a-zA-Z0-9_]*)\s*=\s*(\"(?:[^\"\\]|\\.)*\"|'(?:[^'\\]|\\.)*')"
)
_ESCAPES = {"n": "\n", "t": "\t", "\\": "\\", '"': '"', "'": "'"}


def _unquote(quoted: str) -> str:
    return re.sub(r"\\(.)", lambda m: _ESCAPES.get(m.group(1), m.group(0)), quoted[1:-1])


def parse_series_labels(text: str) -> tuple[Labels, str]:
    """Split ``metric{a="b"} rest`` into the label set and ``rest``."""
    pairs: list[tuple[str, str]] = []
    pos = 0
    name = _NAME_RE.match(text)
    if name is not None:
        pairs.append(("__name__", name.group()))
        pos = name.end()
    if text[pos : pos + 1] == "{":
        pos += 1
        while True:
            close = re.compile(r"\s*,?\s*}").match(text, pos)
            if close is not None:
                pos = close.end()
                break
            label = _LABEL_RE.match(text, pos)
            if label is None:
                raise ValueError(f"bad label set in {text!r}")
            pairs.append((label.group(1), _unquote(label.group(2))))
            pos = label.end()
            comma = re.compile(r"\s*,").match(text, pos)
            if comma is not None:
                pos = comma.end()
    elif name is None:
        raise ValueError(f"expected a series, got {text!r}")
    return Labels(pairs), text[pos:]


def parse_series_line(text: str) -> SeriesSpec:
    """``metric{labels} values...`` as a SeriesSpec."""
    labels, rest = parse_series_labels(text)
    return SeriesSpec(labels, expand_values(rest.split()))


# --- script parser ------------------------------------------------------------------------

_LOAD_RE = re.compile(r"load\s+(\S+)")
_INSTANT_RE = re.compile(r"(eval(?:_fail|_ordered)?)\s+instant\s+at\s+(\S+)\s+(.+)")
_RANGE_RE = re.compile(
    r"(eval(?:_fail|_ordered)?)\s+range\s+from\s+(\S+)\s+to\s+(\S+)\s+step\s+(\S+)\s+(.+)"
)
_EXPECT_RE = re.compile(r"expect\s+(fail|ordered)(?:\s+(msg|regex)\s*:\s*(.*))?")
_MARK_3X_RE = re.compile(r"#\s*3\.x\s*(?::|$)")
_COMMAND_WORDS = ("load", "clear", "eval", "eval_fail", "eval_ordered")


@dataclass
class _Pending:
    """The command being read, with the lines that belong to it."""

    keyword: str
    line: int
    head: str
    body: list[tuple[int, str]] = field(default_factory=list)
    only_3x: bool = False


def parse_script(text: str, path: str = "<script>") -> Script:
    """Parse a whole script; ScriptError names the file and line of the first problem."""
    commands: list[Command] = []
    for pending in _group(text, path):
        try:
            commands.append(_build(pending))
        except ValueError as err:
            raise ScriptError(f"{path}:{pending.line}: {err}") from None
    return Script(path, tuple(commands))


def load_script(path: Path) -> Script:
    """Read and parse a script file."""
    return parse_script(path.read_text(encoding="utf-8"), str(path))


def _group(text: str, path: str) -> Iterator[_Pending]:
    """Split the lines into commands, each with its body and its ``# 3.x`` mark."""
    current: _Pending | None = None
    mark_3x = False
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line:
            continue
        if line.startswith("#"):
            mark_3x = mark_3x or _MARK_3X_RE.match(line) is not None
            continue
        word = line.split(None, 1)[0]
        if word in _COMMAND_WORDS:
            if current is not None:
                yield current
            current = _Pending(word, number, line, only_3x=mark_3x)
            mark_3x = False
        elif current is None:
            raise ScriptError(f"{path}:{number}: expected load, clear or eval, got {line!r}")
        else:
            current.body.append((number, line))
    if current is not None:
        yield current


def _build(pending: _Pending) -> Command:
    if pending.keyword == "clear":
        if pending.head != "clear" or pending.body:
            raise ValueError("clear takes no arguments and no lines")
        return Clear(pending.line)
    if pending.keyword == "load":
        match = _LOAD_RE.fullmatch(pending.head)
        if match is None:
            raise ValueError(f"expected 'load <interval>', got {pending.head!r}")
        series = tuple(_body_series(pending.body))
        return Load(pending.line, parse_duration(match.group(1)), series)
    return _build_eval(pending)


def _body_series(body: list[tuple[int, str]]) -> Iterator[SeriesSpec]:
    for number, line in body:
        try:
            yield parse_series_line(line)
        except ValueError as err:
            raise ValueError(f"line {number}: {err}") from None


@dataclass
class _Body:
    """What an eval's lines say it expects."""

    series: list[SeriesSpec] = field(default_factory=list)
    scalar: float | None = None
    string: str | None = None
    fail: bool = False
    fail_msg: str | None = None
    fail_regex: str | None = None
    ordered: bool = False


def _build_eval(pending: _Pending) -> Eval:
    instant = _INSTANT_RE.fullmatch(pending.head)
    ranged = _RANGE_RE.fullmatch(pending.head)
    if instant is not None:
        keyword, query = instant.group(1), instant.group(3)
        start = end = parse_duration(instant.group(2))
        step = 0
    elif ranged is not None:
        keyword, query = ranged.group(1), ranged.group(5)
        start, end = parse_duration(ranged.group(2)), parse_duration(ranged.group(3))
        step = parse_duration(ranged.group(4))
        if step <= 0 or end < start:
            raise ValueError("a range eval needs step > 0 and end >= start")
    else:
        raise ValueError(f"malformed eval: {pending.head!r}")
    body = _Body(fail=keyword == "eval_fail", ordered=keyword == "eval_ordered")
    for number, line in pending.body:
        try:
            _apply_line(line, body, is_range=step > 0)
        except ValueError as err:
            raise ValueError(f"line {number}: {err}") from None
    if body.fail and (body.series or body.scalar is not None or body.string is not None):
        raise ValueError("an eval expected to fail cannot list a result")
    return Eval(
        pending.line,
        query.strip(),
        start,
        end,
        step,
        series=tuple(body.series),
        scalar=body.scalar,
        string=body.string,
        fail=body.fail,
        fail_msg=body.fail_msg,
        fail_regex=body.fail_regex,
        ordered=body.ordered,
        only_3x=pending.only_3x,
    )


def _apply_line(line: str, body: _Body, *, is_range: bool) -> None:
    """Apply one expect line or expected result line to ``body``."""
    expect = _EXPECT_RE.fullmatch(line)
    if expect is not None:
        kind, match_type, text = expect.groups()
        if kind == "ordered":
            body.ordered = True
        else:
            body.fail = True
            if match_type == "msg":
                body.fail_msg = _strip_quotes(text)
            elif match_type == "regex":
                body.fail_regex = _strip_quotes(text)
    elif line.startswith("expect"):
        raise ValueError(f"unsupported expect line {line!r}")
    elif line.startswith('"'):
        body.string = _unquote(line)
    elif is_number(line) and not is_range:
        body.scalar = parse_number(line)
    else:
        body.series.append(parse_series_line(line))


def _strip_quotes(text: str) -> str:
    text = text.strip()
    if len(text) >= 2 and text[0] == text[-1] == '"':
        return _unquote(text)
    return text


# --- backends and running -----------------------------------------------------------------


class Backend(Protocol):
    """A PromQL implementation under test. Times are milliseconds; a failing query raises
    any exception (its message is what ``expect fail msg:`` compares)."""

    def load(self, samples: list[tuple[Labels, int, float]]) -> None:
        """Add samples (series by series, each in time order) to what was loaded before."""

    def clear(self) -> None:
        """Forget every sample."""

    def instant(self, query: str, t_ms: int) -> QueryResult:
        """Evaluate ``query`` at ``t_ms``."""

    def range(self, query: str, start_ms: int, end_ms: int, step_ms: int) -> QueryResult:
        """Evaluate ``query`` at ``start_ms, start_ms + step_ms, ..., <= end_ms``."""


@dataclass
class RunReport:
    """What running one script did: evals run and passed, 3.x evals skipped, failures."""

    passed: list[Eval] = field(default_factory=list)
    skipped_3x: list[Eval] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)

    @property
    def ran(self) -> int:
        """How many evals ran (passed or failed)."""
        return len(self.passed) + len(self.failures)


def run_script(script: Script, backend: Backend, *, skip_3x: bool = False) -> RunReport:
    """Run every command against ``backend``; failures are collected, not raised."""
    report = RunReport()
    for command in script.commands:
        if isinstance(command, Load):
            backend.load(command.samples())
        elif isinstance(command, Clear):
            backend.clear()
        elif skip_3x and command.only_3x:
            report.skipped_3x.append(command)
        else:
            problem = check_eval(command, backend)
            if problem is None:
                report.passed.append(command)
            else:
                report.failures.append(f"{script.path}:{command.line}: {problem}")
    return report


def check_eval(ev: Eval, backend: Backend) -> str | None:
    """Run one eval; None if it behaved as expected, else what went wrong."""
    try:
        if ev.is_range:
            result = backend.range(ev.query, ev.start_ms, ev.end_ms, ev.step_ms)
        else:
            result = backend.instant(ev.query, ev.start_ms)
    except Exception as err:  # any backend error is a query failure
        return _check_failure(ev, str(err))
    if ev.fail:
        return f"{ev.query}\n  expected an error, got {render_result(result)}"
    problem = _compare(ev, result)
    if problem is None:
        return None
    return f"{ev.query}\n  {problem}\n  expected: {_render_expected(ev)}\n  got: " + (
        render_result(result)
    )


def _check_failure(ev: Eval, message: str) -> str | None:
    if not ev.fail:
        return f"{ev.query}\n  unexpected error: {message}"
    if ev.fail_msg is not None and message != ev.fail_msg:
        return f"{ev.query}\n  error {message!r} is not {ev.fail_msg!r}"
    if ev.fail_regex is not None and re.search(ev.fail_regex, message) is None:
        return f"{ev.query}\n  error {message!r} does not match /{ev.fail_regex}/"
    return None


def same_value(expected: float, got: float) -> bool:
    """Equal within 1e-6 relative, NaN equal to NaN."""
    if math.isnan(expected) or math.isnan(got):
        return math.isnan(expected) and math.isnan(got)
    return expected == got or math.isclose(expected, got, rel_tol=1e-6)


def _compare(ev: Eval, result: QueryResult) -> str | None:
    if ev.string is not None:
        got = result.string
        if result.result_type != "string" or got is None or got[1] != ev.string:
            return "wrong string"
        return None
    if ev.scalar is not None:
        if result.result_type != "scalar" or result.scalar is None:
            return "expected a scalar"
        if result.scalar[0] != ev.start_ms or not same_value(ev.scalar, result.scalar[1]):
            return "wrong scalar"
        return None
    if ev.is_range:
        return _compare_range(ev, result)
    if result.result_type == "matrix":
        return _compare_instant_matrix(ev, result)
    if result.result_type != "vector" or result.vector is None:
        return f"expected a vector, got a {result.result_type}"
    return _compare_vector(ev, result)


def _compare_vector(ev: Eval, result: QueryResult) -> str | None:
    assert result.vector is not None
    got_labels = [s.labels for s in result.vector]
    if len(set(got_labels)) != len(got_labels):
        return "duplicate label sets in the result"
    if any(s.t_ms != ev.start_ms for s in result.vector):
        return "a sample's timestamp is not the evaluation time"
    want_labels = [spec.labels for spec in ev.series]
    if set(got_labels) != set(want_labels):
        return "different series"
    if ev.ordered and got_labels != want_labels:
        return "different order"
    for spec in ev.series:
        if len(spec.values) != 1 or spec.values[0] is None:
            raise ScriptError(f"line {ev.line}: an instant vector expects one value per series")
    got = {s.labels: s.value for s in result.vector}
    expected = {spec.labels: spec.values[0] for spec in ev.series}
    for labels, value in expected.items():
        assert value is not None
        if not same_value(value, got[labels]):
            return f"wrong value for {labels!r}"
    return None


def _compare_instant_matrix(ev: Eval, result: QueryResult) -> str | None:
    got = {s.labels: [float(v) for v in s.values.tolist()] for s in result.matrix or []}
    want = {spec.labels: [v for v in spec.values if v is not None] for spec in ev.series}
    return _compare_points(got, want)


def _compare_range(ev: Eval, result: QueryResult) -> str | None:
    if result.result_type != "matrix":
        return f"expected a matrix, got a {result.result_type}"
    steps = (ev.end_ms - ev.start_ms) // ev.step_ms + 1
    want: dict[Labels, list[tuple[int, float]]] = {}
    for spec in ev.series:
        if len(spec.values) != steps:
            raise ScriptError(
                f"line {ev.line}: {len(spec.values)} values for {steps} steps of {spec.labels!r}"
            )
        points = [
            (ev.start_ms + i * ev.step_ms, v) for i, v in enumerate(spec.values) if v is not None
        ]
        if points:  # a series without any point is not part of a range result
            want[spec.labels] = points
    got: dict[Labels, list[tuple[int, float]]] = {
        s.labels: [(int(t), float(v)) for t, v in zip(s.timestamps, s.values, strict=True)]
        for s in result.matrix or []
    }
    if len(got) != len(result.matrix or []):
        return "duplicate label sets in the result"
    return _compare_points(got, want)


def _compare_points(
    got: Mapping[Labels, Sequence[object]], want: Mapping[Labels, Sequence[object]]
) -> str | None:
    if set(got) != set(want):
        return "different series"
    for labels, points in want.items():
        if not _same_points(points, got[labels]):
            return f"wrong points for {labels!r}"
    return None


def _same_points(want: Sequence[object], got: Sequence[object]) -> bool:
    if len(want) != len(got):
        return False
    for w, g in zip(want, got, strict=True):
        if isinstance(w, tuple) and isinstance(g, tuple):
            if w[0] != g[0] or not same_value(w[1], g[1]):
                return False
        elif not (isinstance(w, float) and isinstance(g, float) and same_value(w, g)):
            return False
    return True


# --- rendering for failure messages --------------------------------------------------------


def _render_expected(ev: Eval) -> str:
    if ev.string is not None:
        return repr(ev.string)
    if ev.scalar is not None:
        return f"scalar {ev.scalar!r}"
    lines = [
        f"{spec.labels!r} " + " ".join("_" if v is None else repr(v) for v in spec.values)
        for spec in ev.series
    ]
    return "\n    " + "\n    ".join(lines) if lines else "(nothing)"


def render_result(result: QueryResult) -> str:
    """A result in script notation, for failure messages."""
    if result.result_type == "string" and result.string is not None:
        return repr(result.string[1])
    if result.result_type == "scalar" and result.scalar is not None:
        return f"scalar {result.scalar[1]!r} at {result.scalar[0]}"
    if result.result_type == "vector":
        lines = [f"{s.labels!r} {s.value!r}" for s in result.vector or []]
    else:
        lines = [
            f"{s.labels!r} "
            + " ".join(
                f"{v!r}@{t}" for t, v in zip(s.timestamps.tolist(), s.values.tolist(), strict=True)
            )
            for s in result.matrix or []
        ]
    return f"{result.result_type}\n    " + "\n    ".join(lines) if lines else "(nothing)"
