"""Argument and return types of PromQL's functions, aggregations and operators (Prometheus
3.x, float samples), as the parser checks them and the evaluator dispatches on them."""

from __future__ import annotations

from dataclasses import dataclass

from multimonx.promql.ast import ValueType

S, V, M, STR = ValueType.SCALAR, ValueType.VECTOR, ValueType.MATRIX, ValueType.STRING


@dataclass(frozen=True, slots=True)
class Signature:
    """``args`` are the declared argument types; with ``variadic`` > 0 the last one may repeat
    up to that many extra times, with ``variadic`` -1 any number of times including none (as
    Prometheus's parser allows: ``label_join(v, "dst", "sep")``), and with ``optional`` the
    last ``optional`` arguments may be left out."""

    args: tuple[ValueType, ...]
    returns: ValueType
    variadic: int = 0
    optional: int = 0

    def accepts(self, count: int) -> bool:
        """Whether ``count`` arguments are allowed."""
        least = len(self.args) - self.optional
        if self.variadic < 0:
            return count >= least - 1
        return least <= count <= len(self.args) + self.variadic


_MATH = [
    "abs",
    "ceil",
    "floor",
    "exp",
    "sqrt",
    "ln",
    "log2",
    "log10",
    "sgn",
    "deg",
    "rad",
    "sin",
    "cos",
    "tan",
    "asin",
    "acos",
    "atan",
    "sinh",
    "cosh",
    "tanh",
    "asinh",
    "acosh",
    "atanh",
]
_OVER_TIME = [
    "avg_over_time",
    "min_over_time",
    "max_over_time",
    "sum_over_time",
    "count_over_time",
    "last_over_time",
    "first_over_time",
    "present_over_time",
    "stddev_over_time",
    "stdvar_over_time",
    "mad_over_time",
]
_RANGE = ["rate", "irate", "increase", "delta", "idelta", "deriv", "changes", "resets"]
DATE_FUNCTIONS = [
    "day_of_month",
    "day_of_week",
    "day_of_year",
    "days_in_month",
    "hour",
    "minute",
    "month",
    "year",
]
"""Functions of a date field of their argument, or of the evaluation time without one."""

FUNCTIONS: dict[str, Signature] = {
    **{name: Signature((V,), V) for name in _MATH},
    **{name: Signature((M,), V) for name in (*_OVER_TIME, *_RANGE)},
    **{name: Signature((V,), V, optional=1) for name in DATE_FUNCTIONS},
    "absent": Signature((V,), V),
    "absent_over_time": Signature((M,), V),
    "quantile_over_time": Signature((S, M), V),
    "predict_linear": Signature((M, S), V),
    "double_exponential_smoothing": Signature((M, S, S), V),
    "clamp": Signature((V, S, S), V),
    "clamp_max": Signature((V, S), V),
    "clamp_min": Signature((V, S), V),
    "round": Signature((V, S), V, optional=1),
    "histogram_quantile": Signature((S, V), V),
    "label_replace": Signature((V, STR, STR, STR, STR), V),
    "label_join": Signature((V, STR, STR, STR), V, variadic=-1),
    "sort": Signature((V,), V),
    "sort_desc": Signature((V,), V),
    "sort_by_label": Signature((V, STR), V, variadic=-1),
    "sort_by_label_desc": Signature((V, STR), V, variadic=-1),
    "timestamp": Signature((V,), V),
    "scalar": Signature((V,), S),
    "vector": Signature((S,), V),
    "time": Signature((), S),
    "pi": Signature((), S),
}
"""Every function of the Prometheus 3.x documentation that applies to float samples."""

AGGREGATIONS: dict[str, ValueType | None] = {
    "sum": None,
    "avg": None,
    "count": None,
    "min": None,
    "max": None,
    "group": None,
    "stddev": None,
    "stdvar": None,
    "topk": S,
    "bottomk": S,
    "quantile": S,
    "count_values": STR,
    "limitk": S,
    "limit_ratio": S,
}
"""Aggregation operators and the type of their leading parameter (None: no parameter)."""

COMPARISON_OPS = frozenset({"==", "!=", ">", "<", ">=", "<="})
SET_OPS = frozenset({"and", "or", "unless"})
ARITHMETIC_OPS = frozenset({"+", "-", "*", "/", "%", "^", "atan2"})

PRECEDENCE: dict[str, int] = {
    "or": 1,
    "and": 2,
    "unless": 2,
    **dict.fromkeys(COMPARISON_OPS, 3),
    "+": 4,
    "-": 4,
    "*": 5,
    "/": 5,
    "%": 5,
    "atan2": 5,
    "^": 6,  # right-associative; unary minus binds looser than ^ (-2^2 == -4)
}
"""Binary operator precedence, lowest first, as in Prometheus's grammar."""
