"""The call shapes the evaluator uses for functions."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from multimonx.promql.values import Bools, Floats, Ints, RangeSeries, StepValue

RangeFunction = Callable[[RangeSeries, Ints, Ints, int, Sequence[Floats]], tuple[Floats, Bools]]
"""``fn(series, ends, eval_ts, range_ms, args) -> (values, present)``: one series of a range
vector to one output value per step. ``ends[j]`` closes step ``j``'s window
``(ends[j] - range_ms, ends[j]]``; ``eval_ts`` is the evaluation time (``predict_linear``'s
intercept); ``args`` are the scalar arguments, one value per step, in call order."""

InstantFunction = Callable[[Sequence[StepValue], Ints], StepValue]
"""``fn(args, eval_ts) -> value``: already evaluated arguments to the function's value."""
