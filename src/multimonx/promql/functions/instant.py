"""Instant-vector and scalar functions: math, clamp family, round, date functions,
``vector``, ``scalar``, ``pi`` and ``time`` (Prometheus 3.x), applied to whole step grids."""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

from multimonx.model import Labels
from multimonx.promql.errors import EvalError
from multimonx.promql.functions.labels import drop_metric_name
from multimonx.promql.values import Floats, Ints, StepScalar, StepValue, StepVector

FloatMap = Callable[[Floats], Floats]


def _vector(arg: StepValue) -> StepVector:
    if not isinstance(arg, StepVector):
        raise EvalError(f"expected an instant vector argument, got {type(arg).__name__}")
    return arg


def _scalar(arg: StepValue) -> Floats:
    if not isinstance(arg, StepScalar):
        raise EvalError(f"expected a scalar argument, got {type(arg).__name__}")
    return arg.values


def _mapped(vector: StepVector, values: Floats) -> StepVector:
    """``vector`` with new values, without ``__name__``."""
    return drop_metric_name(StepVector(vector.labels, values, vector.present))


def _sgn(v: Floats) -> Floats:
    return np.where(v < 0, -1.0, np.where(v > 0, 1.0, v))


MATH: dict[str, FloatMap] = {
    "abs": np.abs,
    "ceil": np.ceil,
    "floor": np.floor,
    "exp": np.exp,
    "sqrt": np.sqrt,
    "ln": np.log,
    "log2": np.log2,
    "log10": np.log10,
    "sgn": _sgn,
    "deg": lambda v: v * 180 / np.pi,
    "rad": lambda v: v * np.pi / 180,
    "sin": np.sin,
    "cos": np.cos,
    "tan": np.tan,
    "asin": np.arcsin,
    "acos": np.arccos,
    "atan": np.arctan,
    "sinh": np.sinh,
    "cosh": np.cosh,
    "tanh": np.tanh,
    "asinh": np.arcsinh,
    "acosh": np.arccosh,
    "atanh": np.arctanh,
}
"""Elementwise float functions by PromQL name (Go's ``math`` equivalents)."""


def math_function(fn: FloatMap) -> Callable[[Sequence[StepValue], Ints], StepValue]:
    """The PromQL function applying ``fn`` to every sample (dropping ``__name__``)."""

    def apply(args: Sequence[StepValue], eval_ts: Ints) -> StepValue:
        vector = _vector(args[0])
        with np.errstate(all="ignore"):
            return _mapped(vector, fn(vector.values))

    return apply


def _clamped(vector: StepVector, low: Floats, high: Floats) -> StepVector:
    """Clamp to ``[low, high]`` per step; steps where ``high < low`` give no output."""
    values = np.maximum(low, np.minimum(high, vector.values))
    present = vector.present & ~(high < low)
    return drop_metric_name(StepVector(vector.labels, values, present))


def clamp(args: Sequence[StepValue], eval_ts: Ints) -> StepValue:
    """``clamp(v, min, max)``."""
    return _clamped(_vector(args[0]), _scalar(args[1]), _scalar(args[2]))


def clamp_min(args: Sequence[StepValue], eval_ts: Ints) -> StepValue:
    """``clamp_min(v, min)``."""
    low = _scalar(args[1])
    return _clamped(_vector(args[0]), low, np.full_like(low, np.inf))


def clamp_max(args: Sequence[StepValue], eval_ts: Ints) -> StepValue:
    """``clamp_max(v, max)``."""
    high = _scalar(args[1])
    return _clamped(_vector(args[0]), np.full_like(high, -np.inf), high)


def round_(args: Sequence[StepValue], eval_ts: Ints) -> StepValue:
    """``round(v, to_nearest=1)``: ties round up; computed as Prometheus does, through the
    inverse of ``to_nearest`` (``floor(v * (1/to) + 0.5) / (1/to)``)."""
    vector = _vector(args[0])
    to_nearest = _scalar(args[1]) if len(args) > 1 else np.ones(eval_ts.size)
    with np.errstate(all="ignore"):
        inverse = 1.0 / to_nearest
        values = np.floor(vector.values * inverse + 0.5) / inverse
    return _mapped(vector, values)


def _calendar(seconds: Floats) -> dict[str, Floats]:
    """UTC calendar fields of Unix times (truncated to whole seconds toward zero, as Go's
    ``time.Unix(int64(f), 0)``); non-finite times give NaN."""
    finite = np.isfinite(seconds)
    whole = np.trunc(np.where(finite, seconds, 0.0)).astype(np.int64)
    days = np.floor_divide(whole, 86400)
    second_of_day = whole - days * 86400
    day = days.astype("datetime64[D]")
    month = day.astype("datetime64[M]")
    year = day.astype("datetime64[Y]")
    next_month = (month + 1).astype("datetime64[D]")
    fields = {
        "year": year.astype(np.int64) + 1970,
        "month": (month - year.astype("datetime64[M]")).astype(np.int64) + 1,
        "day_of_month": (day - month.astype("datetime64[D]")).astype(np.int64) + 1,
        "day_of_year": (day - year.astype("datetime64[D]")).astype(np.int64) + 1,
        "days_in_month": (next_month - month.astype("datetime64[D]")).astype(np.int64),
        "day_of_week": np.mod(days + 4, 7),  # 1970-01-01 was a Thursday
        "hour": second_of_day // 3600,
        "minute": (second_of_day % 3600) // 60,
    }
    return {name: np.where(finite, v.astype(np.float64), np.nan) for name, v in fields.items()}


def date_function(field: str) -> Callable[[Sequence[StepValue], Ints], StepValue]:
    """The PromQL date function giving ``field`` of its argument's values (Unix seconds), or of
    the evaluation time when called without argument."""

    def apply(args: Sequence[StepValue], eval_ts: Ints) -> StepValue:
        if not args:
            seconds = (np.sign(eval_ts) * (np.abs(eval_ts) // 1000)).astype(np.float64)
            values = _calendar(seconds)[field][np.newaxis, :]
            return StepVector([Labels()], values, np.ones(values.shape, dtype=np.bool_))
        vector = _vector(args[0])
        return _mapped(vector, _calendar(vector.values.ravel())[field].reshape(vector.values.shape))

    return apply


def vector(args: Sequence[StepValue], eval_ts: Ints) -> StepValue:
    """``vector(s)``: the scalar as one series without labels."""
    values = _scalar(args[0])[np.newaxis, :]
    return StepVector([Labels()], values.copy(), np.ones(values.shape, dtype=np.bool_))


def scalar(args: Sequence[StepValue], eval_ts: Ints) -> StepValue:
    """``scalar(v)``: the only sample of each step, NaN where there is not exactly one."""
    vector = _vector(args[0])
    if not vector.labels:
        return StepScalar(np.full(eval_ts.size, np.nan))
    single = vector.present.sum(axis=0) == 1
    chosen = np.argmax(vector.present, axis=0)
    picked = vector.values[chosen, np.arange(eval_ts.size)]
    return StepScalar(np.where(single, picked, np.nan))


def pi(args: Sequence[StepValue], eval_ts: Ints) -> StepValue:
    """``pi()``."""
    return StepScalar(np.full(eval_ts.size, np.pi))


def time(args: Sequence[StepValue], eval_ts: Ints) -> StepValue:
    """``time()``: the evaluation time in seconds."""
    return StepScalar(eval_ts / 1000.0)
