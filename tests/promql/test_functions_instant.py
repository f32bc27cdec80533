"""Instant functions: math, clamp family, round, date functions, vector/scalar/pi/time."""

from __future__ import annotations

import math
from datetime import UTC, datetime

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from multimonx.model import Labels
from multimonx.promql.errors import EvalError
from multimonx.promql.functions import INSTANT_FUNCTIONS
from multimonx.promql.values import StepScalar, StepValue, StepVector

nan, inf = math.nan, math.inf


def vector(rows: dict[Labels, list[float | None]]) -> StepVector:
    """A StepVector from rows of values, None meaning absent."""
    labels = list(rows)
    values = np.array([[nan if v is None else v for v in r] for r in rows.values()], dtype=float)
    present = np.array([[v is not None for v in r] for r in rows.values()], dtype=np.bool_)
    return StepVector(labels, values, present)


def scalar(*values: float) -> StepScalar:
    return StepScalar(np.array(values, dtype=float))


def run(name: str, *args: StepValue, steps: int = 1, eval_ts: list[int] | None = None) -> StepValue:
    ts = np.array(eval_ts if eval_ts is not None else [0] * steps, dtype=np.int64)
    return INSTANT_FUNCTIONS[name](list(args), ts)


def rows(value: StepValue) -> dict[Labels, list[float | None]]:
    assert isinstance(value, StepVector)
    return {
        ls: [float(v) if p else None for v, p in zip(vals, pres, strict=True)]
        for ls, vals, pres in zip(value.labels, value.values, value.present, strict=True)
    }


METRIC = Labels.of(__name__="m", job="a")
JOB = Labels.of(job="a")


@pytest.mark.parametrize(
    ("name", "value", "expected"),
    [
        ("abs", -2.5, 2.5),
        ("ceil", 1.2, 2.0),
        ("floor", -1.2, -2.0),
        ("exp", 0.0, 1.0),
        ("sqrt", 9.0, 3.0),
        ("sqrt", -1.0, nan),
        ("ln", math.e, 1.0),
        ("ln", 0.0, -inf),
        ("ln", -1.0, nan),
        ("log2", 8.0, 3.0),
        ("log10", 1000.0, 3.0),
        ("sgn", -3.0, -1.0),
        ("sgn", 0.0, 0.0),
        ("sgn", nan, nan),
        ("deg", math.pi, 180.0),
        ("rad", 180.0, math.pi),
        ("sin", math.pi / 2, 1.0),
        ("cos", 0.0, 1.0),
        ("tan", 0.0, 0.0),
        ("asin", 1.0, math.pi / 2),
        ("acos", 1.0, 0.0),
        ("atan", inf, math.pi / 2),
        ("sinh", 0.0, 0.0),
        ("cosh", 0.0, 1.0),
        ("tanh", inf, 1.0),
        ("asinh", 0.0, 0.0),
        ("acosh", 1.0, 0.0),
        ("atanh", 1.0, inf),
        ("abs", nan, nan),
    ],
)
def test_math_functions_drop_the_name(name: str, value: float, expected: float) -> None:
    out = rows(run(name, vector({METRIC: [value, None]}), steps=2))
    [got, absent] = out[JOB]
    assert absent is None
    assert got is not None
    if math.isnan(expected):
        assert math.isnan(got)
    else:
        assert got == pytest.approx(expected)


def test_dropping_the_name_merges_disjoint_series_and_rejects_overlap() -> None:
    a, b = Labels.of(__name__="x", job="a"), Labels.of(__name__="y", job="a")
    assert rows(run("abs", vector({a: [-1, None], b: [None, -2]}), steps=2)) == {JOB: [1, 2]}
    with pytest.raises(EvalError, match="same labelset"):
        run("abs", vector({a: [-1, None], b: [-3, -2]}), steps=2)


def test_clamp_family() -> None:
    v = vector({METRIC: [-5, 0, 5, nan]})
    assert rows(run("clamp", v, scalar(-1, -1, -1, -1), scalar(1, 1, 1, 1), steps=4))[JOB][:3] == [
        -1,
        0,
        1,
    ]
    # max < min: no output at that step
    assert rows(run("clamp", v, scalar(0, 2, 0, 0), scalar(1, 1, 1, 1), steps=4))[JOB][1] is None
    assert rows(run("clamp_min", v, scalar(1, 1, 1, 1), steps=4))[JOB][:3] == [1, 1, 5]
    assert rows(run("clamp_max", v, scalar(1, 1, 1, 1), steps=4))[JOB][:3] == [-5, 0, 1]
    clamped_nan = rows(run("clamp_max", v, scalar(1, 1, 1, 1), steps=4))[JOB][3]
    assert clamped_nan is not None
    assert math.isnan(clamped_nan)


@pytest.mark.parametrize(
    ("value", "to", "expected"),
    [
        (2.5, 1.0, 3.0),
        (-2.5, 1.0, -2.0),  # ties round up
        (1.49, 1.0, 1.0),
        (1234.0, 100.0, 1200.0),
        (1250.0, 100.0, 1300.0),
        (0.123, 0.01, 0.12),
        (7.0, 5.0, 5.0),
        (inf, 1.0, inf),
    ],
)
def test_round(value: float, to: float, expected: float) -> None:
    got = rows(run("round", vector({METRIC: [value]}), scalar(to)))[JOB][0]
    assert got == pytest.approx(expected)


def test_round_defaults_to_one() -> None:
    assert rows(run("round", vector({METRIC: [2.5]})))[JOB] == [3.0]


LEAP_DAY = int(datetime(2024, 2, 29, 13, 45, 30, tzinfo=UTC).timestamp())


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("year", 2024),
        ("month", 2),
        ("day_of_month", 29),
        ("day_of_year", 60),
        ("days_in_month", 29),
        ("day_of_week", 4),  # Thursday
        ("hour", 13),
        ("minute", 45),
    ],
)
def test_date_functions(name: str, expected: float) -> None:
    # without argument: the evaluation time, as one series without labels
    assert rows(run(name, eval_ts=[LEAP_DAY * 1000 + 999])) == {Labels(): [expected]}
    # with a vector of Unix seconds (fractions truncated): the name is dropped
    assert rows(run(name, vector({METRIC: [LEAP_DAY + 0.9]}))) == {JOB: [expected]}


def test_date_functions_before_the_epoch_and_on_non_finite_values() -> None:
    before = vector({METRIC: [-1.0, -0.5, nan]})
    assert rows(run("year", before, steps=3))[JOB][:2] == [1969, 1970]
    assert rows(run("hour", before, steps=3))[JOB][:2] == [23, 0]
    got = rows(run("year", before, steps=3))[JOB][2]
    assert got is not None
    assert math.isnan(got)


@settings(max_examples=200, deadline=None)
@given(st.integers(-(10**10), 10**10))
def test_date_functions_match_python_datetime(seconds: int) -> None:
    moment = datetime.fromtimestamp(seconds, UTC)
    v = vector({METRIC: [float(seconds)]})
    expected = {
        "year": moment.year,
        "month": moment.month,
        "day_of_month": moment.day,
        "day_of_year": moment.timetuple().tm_yday,
        "day_of_week": moment.isoweekday() % 7,
        "hour": moment.hour,
        "minute": moment.minute,
    }
    for name, value in expected.items():
        assert rows(run(name, v))[JOB] == [value], name


def test_vector_scalar_pi_time() -> None:
    assert rows(run("vector", scalar(1, 2), steps=2)) == {Labels(): [1, 2]}
    two = vector({METRIC: [1, 1, None], Labels.of(job="b"): [2, None, None]})
    got = run("scalar", two, steps=3)
    assert isinstance(got, StepScalar)
    assert got.values[1] == 1
    assert math.isnan(got.values[0])
    assert math.isnan(got.values[2])
    empty = run("scalar", StepVector.empty(2), steps=2)
    assert isinstance(empty, StepScalar)
    assert np.isnan(empty.values).all()
    pi = run("pi", steps=2)
    assert isinstance(pi, StepScalar)
    assert pi.values.tolist() == [math.pi] * 2
    now = run("time", eval_ts=[1500, 3000])
    assert isinstance(now, StepScalar)
    assert now.values.tolist() == [1.5, 3.0]
