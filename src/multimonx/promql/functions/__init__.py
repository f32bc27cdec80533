"""PromQL functions, split by family: range functions (``rate``, ``*_over_time``...) map one
series of a range vector to a value per step; instant functions map evaluated arguments
(instant vectors, scalars, strings) to a value. ``absent``, ``absent_over_time`` and
``timestamp`` need the evaluator's view (selector labels, sample timestamps) and live there.
The hot range functions also have a batched form (``batched.py``) that the evaluator applies
to every series of a range vector at once."""

from __future__ import annotations

from multimonx.promql.functions import histogram, instant, labels, over_time, rate
from multimonx.promql.functions.batched import BATCHED_RANGE_FUNCTIONS, BatchedRangeFunction
from multimonx.promql.functions.labels import drop_metric_name, expand, merge_same_labels
from multimonx.promql.functions.protocols import InstantFunction, RangeFunction
from multimonx.promql.signatures import DATE_FUNCTIONS

RANGE_FUNCTIONS: dict[str, RangeFunction] = {
    "rate": rate.rate,
    "increase": rate.increase,
    "delta": rate.delta,
    "irate": rate.irate,
    "idelta": rate.idelta,
    "deriv": rate.deriv,
    "predict_linear": rate.predict_linear,
    "changes": rate.changes,
    "resets": rate.resets,
    "avg_over_time": over_time.avg_over_time,
    "sum_over_time": over_time.sum_over_time,
    "min_over_time": over_time.min_over_time,
    "max_over_time": over_time.max_over_time,
    "count_over_time": over_time.count_over_time,
    "last_over_time": over_time.last_over_time,
    "first_over_time": over_time.first_over_time,
    "present_over_time": over_time.present_over_time,
    "stddev_over_time": over_time.stddev_over_time,
    "stdvar_over_time": over_time.stdvar_over_time,
    "quantile_over_time": over_time.quantile_over_time,
    "mad_over_time": over_time.mad_over_time,
    "double_exponential_smoothing": over_time.double_exponential_smoothing,
}
"""Functions whose (first matrix) argument is a range vector; scalar arguments arrive in
``args`` in call order (``quantile_over_time``'s phi is ``args[0]``)."""

KEEPS_METRIC_NAME = frozenset({"last_over_time", "first_over_time"})
"""Range functions whose output keeps the input's ``__name__``; all others drop it."""

INSTANT_FUNCTIONS: dict[str, InstantFunction] = {
    **{name: instant.math_function(fn) for name, fn in instant.MATH.items()},
    **{name: instant.date_function(name) for name in DATE_FUNCTIONS},
    "clamp": instant.clamp,
    "clamp_min": instant.clamp_min,
    "clamp_max": instant.clamp_max,
    "round": instant.round_,
    "vector": instant.vector,
    "scalar": instant.scalar,
    "pi": instant.pi,
    "time": instant.time,
    "histogram_quantile": histogram.histogram_quantile,
    "label_replace": labels.label_replace,
    "label_join": labels.label_join,
    "sort": labels.sort,
    "sort_desc": labels.sort_desc,
    "sort_by_label": labels.sort_by_label,
    "sort_by_label_desc": labels.sort_by_label_desc,
}
"""Functions over already evaluated instant vectors, scalars and strings. Every one that
returns series derived from its input drops ``__name__``, except ``label_replace``,
``label_join`` and the sort family."""

__all__ = [
    "BATCHED_RANGE_FUNCTIONS",
    "INSTANT_FUNCTIONS",
    "KEEPS_METRIC_NAME",
    "RANGE_FUNCTIONS",
    "BatchedRangeFunction",
    "InstantFunction",
    "RangeFunction",
    "drop_metric_name",
    "expand",
    "merge_same_labels",
]
