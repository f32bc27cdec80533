"""The PromQL evaluator: instant and range queries over a Storage (Prometheus 3.x semantics,
float samples).

A query is evaluated once over its whole grid of evaluation timestamps (one step for an
instant query), node by node, each node yielding a value for every step at once
(``values.StepVector``, ``StepScalar``, ``RangeVector``). Selectors read through one Querier
that spans everything the query needs. Limits: a timeout checked between nodes and series,
a maximum of samples loaded plus points held, and at most 11,000 points per series.
"""

from __future__ import annotations

import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np

from multimonx.model import METRIC_NAME_LABEL, Labels, MatchType
from multimonx.promql.aggregate import aggregate
from multimonx.promql.ast import (
    Aggregation,
    AtModifier,
    BinaryExpr,
    Call,
    Expr,
    MatrixSelector,
    NumberLiteral,
    ParenExpr,
    StringLiteral,
    SubqueryExpr,
    UnaryExpr,
    ValueType,
    VectorSelector,
)
from multimonx.promql.binary import binary, merge_rows, without_name
from multimonx.promql.errors import EvalError, QueryTimeout, TooManySamples
from multimonx.promql.labelmemo import WITHOUT_NAME
from multimonx.promql.parser import check_query_type, parse
from multimonx.promql.selectors import (
    SelectedRows,
    instant_rows,
    matrix_of_rows,
    range_batch,
    subquery_grid,
    windows,
)
from multimonx.promql.signatures import FUNCTIONS
from multimonx.promql.values import (
    Bools,
    Floats,
    Ints,
    MatrixSeries,
    QueryResult,
    RangeSeries,
    RangeVector,
    SeriesBatch,
    StepScalar,
    StepValue,
    StepVector,
    VectorSample,
)
from multimonx.storage.interface import Querier, SelectHints, SeriesSet, Storage

if TYPE_CHECKING:
    from multimonx.promql.functions import BatchedRangeFunction, InstantFunction, RangeFunction

BATCH_WINDOW_SAMPLES = 1 << 21
"""A batched range function gets at most about this many window samples at once (series are
split into chunks so that its temporary arrays stay a few tens of MB)."""
MAX_POINTS_PER_SERIES = 11_000
"""A range query may span at most this many steps ((end - start) / step, as Prometheus's API
counts them)."""
DEFAULT_EVALUATION_INTERVAL_MS = 60_000
"""Subqueries without a step use this resolution (Prometheus's default evaluation interval)."""

_ORDERED_FUNCTIONS = frozenset({"sort", "sort_desc", "sort_by_label", "sort_by_label_desc"})
_ORDERED_AGGREGATIONS = frozenset({"topk", "bottomk"})


@dataclass(frozen=True, slots=True)
class FunctionRegistry:
    """The functions the engine dispatches to (``multimonx.promql.functions`` by default;
    tests may pass their own)."""

    range_functions: Mapping[str, RangeFunction]
    instant_functions: Mapping[str, InstantFunction]
    keeps_metric_name: frozenset[str] = field(default_factory=frozenset)
    batched_range_functions: Mapping[str, BatchedRangeFunction] = field(default_factory=dict)
    """Range functions applied to all series at once; they must give the same results as
    their per-series forms in ``range_functions``, which the others go through."""

    @classmethod
    def default(cls) -> FunctionRegistry:
        """The registries of ``multimonx.promql.functions``."""
        from multimonx.promql import functions

        return cls(
            functions.RANGE_FUNCTIONS,
            functions.INSTANT_FUNCTIONS,
            frozenset(functions.KEEPS_METRIC_NAME),
            functions.BATCHED_RANGE_FUNCTIONS,
        )


class Engine:
    """Evaluates PromQL queries against ``storage``.

    ``lookback_ms`` is how far back an instant selector looks for a sample; ``timeout_s``
    bounds a query's evaluation time (QueryTimeout); ``max_samples`` bounds the samples loaded
    from storage plus the points held by the evaluation (TooManySamples). Errors are
    EvalError subclasses, and ParseError for invalid query text. An Engine is thread-safe:
    each query gets its own evaluation state.
    """

    def __init__(
        self,
        storage: Storage,
        *,
        lookback_ms: int = 300_000,
        timeout_s: float = 120.0,
        max_samples: int = 50_000_000,
        functions: FunctionRegistry | None = None,
    ) -> None:
        self._storage = storage
        self._lookback_ms = lookback_ms
        self._timeout_s = timeout_s
        self._max_samples = max_samples
        self._functions = functions or FunctionRegistry.default()

    def instant(
        self, query: str | Expr, t_ms: int, *, timeout_s: float | None = None
    ) -> QueryResult:
        """Evaluate ``query`` at ``t_ms``: a vector, scalar, string, or a matrix for a range
        vector expression. ``timeout_s`` lowers the configured timeout for this query."""
        expr = _parse(query)
        value = self._run(expr, t_ms, t_ms, None, timeout_s)
        return _instant_result(expr, value, t_ms)

    def range(
        self,
        query: str | Expr,
        start_ms: int,
        end_ms: int,
        step_ms: int,
        *,
        timeout_s: float | None = None,
    ) -> QueryResult:
        """Evaluate ``query`` at ``start_ms, start_ms + step_ms, ..., <= end_ms``: a matrix (a
        scalar expression gives one series without labels). ``timeout_s`` lowers the
        configured timeout for this query."""
        if step_ms <= 0:
            raise EvalError(
                "zero or negative query resolution step widths are not accepted. "
                "Try a positive integer"
            )
        if end_ms < start_ms:
            raise EvalError("end timestamp must not be before start time")
        if (end_ms - start_ms) // step_ms > MAX_POINTS_PER_SERIES:  # as Prometheus's API checks
            raise EvalError(
                "exceeded maximum resolution of 11,000 points per timeseries. "
                "Try decreasing the query resolution (?step=XX)"
            )
        expr = _parse(query)
        check_query_type(expr, range_query=True)
        value = self._run(expr, start_ms, end_ms, step_ms, timeout_s)
        grid = np.arange(start_ms, end_ms + 1, step_ms, dtype=np.int64)
        return _range_result(value, grid)

    def _run(
        self,
        expr: Expr,
        start_ms: int,
        end_ms: int,
        step_ms: int | None,
        timeout_s: float | None = None,
    ) -> StepValue:
        """Evaluate ``expr`` over the grid ``start..end`` (one step when ``step_ms`` is None)
        within the smaller of ``timeout_s`` and the configured timeout."""
        if timeout_s is None or timeout_s > self._timeout_s:
            timeout_s = self._timeout_s
        evaluator = _Evaluator(
            start_ms=start_ms,
            end_ms=end_ms,
            step_ms=step_ms,
            lookback_ms=self._lookback_ms,
            deadline=time.monotonic() + timeout_s,
            max_samples=self._max_samples,
            functions=self._functions,
            tiered=step_ms is not None,
        )
        grid = (
            np.asarray([start_ms], dtype=np.int64)
            if step_ms is None
            else np.arange(start_ms, end_ms + 1, step_ms, dtype=np.int64)
        )
        span = evaluator.span(expr, start_ms, end_ms)
        if span is None:
            return evaluator.eval(expr, grid)
        with self._storage.querier(span[0], span[1]) as querier:
            evaluator.querier = querier
            return evaluator.eval(expr, grid)


def _parse(query: str | Expr) -> Expr:
    if isinstance(query, str):
        return parse(query)
    return query


def _unwrap(expr: Expr) -> Expr:
    while isinstance(expr, ParenExpr):
        expr = expr.expr
    return expr


@dataclass(slots=True)
class _Evaluator:
    """The state of one query's evaluation."""

    start_ms: int
    end_ms: int
    step_ms: int | None
    lookback_ms: int
    deadline: float
    max_samples: int
    functions: FunctionRegistry
    querier: Querier | None = None
    loaded: int = 0
    tiered: bool = False
    """Whether selects may be answered from a downsampled tier: only in a range query (an
    instant query, e.g. an alert rule's, reads raw samples even inside a subquery)."""
    selected: dict[tuple[object, ...], SeriesSet] = field(default_factory=dict)
    """What each distinct select of this evaluation read: a selector repeated in the query
    (``a / (a + b)``, the catalog's combined expression) reads storage once."""

    # -- time span -------------------------------------------------------------------------

    def at_ms(self, at: AtModifier) -> int | None:
        """The timestamp an ``@`` modifier fixes, if any."""
        if at == "start":
            return self.start_ms
        if at == "end":
            return self.end_ms
        return at

    def span(self, expr: Expr, first: int, last: int) -> tuple[int, int] | None:
        """The time range (inclusive) the selectors of ``expr`` read when it is evaluated at
        ``first..last``; None when it has no selector."""
        match expr:
            case VectorSelector():
                low, high = self._moved(expr.at, expr.offset_ms, first, last)
                return low - self.lookback_ms + 1, high
            case MatrixSelector(vector=vector, range_ms=range_ms):
                low, high = self._moved(vector.at, vector.offset_ms, first, last)
                return low - range_ms + 1, high
            case SubqueryExpr():
                low, high = self._moved(expr.at, expr.offset_ms, first, last)
                inner = self.subquery_grid(expr, low, high)
                if len(inner) == 0:
                    return None
                return self.span(expr.expr, int(inner[0]), int(inner[-1]))
        spans = [self.span(child, first, last) for child in _children(expr)]
        found = [one for one in spans if one is not None]
        if not found:
            return None
        return min(one[0] for one in found), max(one[1] for one in found)

    def subquery_grid(self, node: SubqueryExpr, first: int, last: int) -> Ints:
        """The inner evaluation times of ``node`` for outer window ends ``first..last``; a
        grid longer than the samples limit is refused before it is allocated (``x[1w:1ms]``
        would otherwise take gigabytes)."""
        step = node.step_ms or DEFAULT_EVALUATION_INTERVAL_MS
        self.hold((last - first + node.range_ms) // step)
        return subquery_grid(first, last, node.range_ms, step)

    def _moved(self, at: AtModifier, offset_ms: int, first: int, last: int) -> tuple[int, int]:
        fixed = self.at_ms(at)
        if fixed is not None:
            first = last = fixed
        return first - offset_ms, last - offset_ms

    # -- limits ----------------------------------------------------------------------------

    def check_time(self) -> None:
        """Raise QueryTimeout once the deadline has passed."""
        if time.monotonic() > self.deadline:
            raise QueryTimeout("query timed out in query execution")

    def hold(self, points: int) -> None:
        """Raise TooManySamples if the samples loaded plus ``points`` exceed the maximum."""
        if self.loaded + points > self.max_samples:
            raise TooManySamples(
                "query processing would load too many samples into memory in query execution"
            )

    def select(
        self,
        selector: VectorSelector,
        start: int,
        end: int,
        func: str | None,
        range_ms: int | None = None,
    ) -> SeriesSet:
        """The series of ``selector`` with samples in ``[start, end]``; ``range_ms`` is the
        range of a matrix selector (None for an instant selector), a hint for storage. The
        time and sample limits are checked after each group storage reads."""
        if self.querier is None:  # pragma: no cover - span() found this selector
            raise EvalError("no querier for a selector")
        hints = SelectHints(
            start_ms=start,
            end_ms=end,
            step_ms=self.step_ms if self.tiered else None,
            func=func,
            range_ms=range_ms,
        )
        # without a step, storage reads raw samples whatever the function (its only use)
        key = (tuple(selector.matchers), hints if self.tiered else (start, end))
        known = self.selected.get(key)
        if known is not None:
            return known
        found: list[SeriesSet] = []
        for part in self.querier.select_sets(selector.matchers, hints):
            self.check_time()
            self.loaded += part.samples
            self.hold(0)
            found.append(part)
        whole = self.selected[key] = SeriesSet.concat(found)
        return whole

    # -- evaluation ------------------------------------------------------------------------

    def eval(self, expr: Expr, grid: Ints, func: str | None = None) -> StepValue:
        """The value of ``expr`` at every step of ``grid``. ``func`` is the storage hint
        Prometheus derives from the path: the innermost function or aggregation enclosing
        ``expr``, seen through parentheses, unary operators, subqueries and range selectors,
        but not through binary operators."""
        self.check_time()
        value = self._dispatch(expr, grid, func)
        if isinstance(value, StepVector):
            self.hold(int(value.present.sum()))
        elif isinstance(value, RangeVector):
            self.hold(value.batch.samples)
        return value

    def _dispatch(self, expr: Expr, grid: Ints, func: str | None) -> StepValue:
        match expr:
            case NumberLiteral(value=value):
                return StepScalar(np.full(len(grid), value))
            case StringLiteral(value=value):
                return value
            case ParenExpr(expr=inner):
                return self.eval(inner, grid, func)
            case VectorSelector():
                rows = self.instant_selector(expr, grid, func)
                return StepVector(rows.labels, rows.values, rows.present)
            case MatrixSelector():
                return self.matrix_selector(expr, grid, func)
            case SubqueryExpr():
                return self.subquery(expr, grid, func)
            case Call():
                return self.call(expr, grid)
            case Aggregation():
                return self.aggregation(expr, grid)
            case BinaryExpr():
                return binary(expr, self.eval(expr.lhs, grid), self.eval(expr.rhs, grid))
            case UnaryExpr():
                return self.unary(expr, grid, func)
        raise EvalError(f"unexpected expression {expr!r}")  # pragma: no cover

    def _times(self, at: AtModifier, offset_ms: int, grid: Ints) -> Ints:
        """The grid moved by ``@`` and ``offset``."""
        fixed = self.at_ms(at)
        times = grid if fixed is None else np.full(len(grid), fixed, dtype=np.int64)
        return times - offset_ms

    def instant_selector(
        self, selector: VectorSelector, grid: Ints, func: str | None
    ) -> SelectedRows:
        """The sample each series has at each step (lookback and staleness applied)."""
        times = self._times(selector.at, selector.offset_ms, grid)
        found = self.select(
            selector, int(times.min()) - self.lookback_ms + 1, int(times.max()), func
        )
        return instant_rows(found, times, self.lookback_ms)

    def matrix_selector(self, node: MatrixSelector, grid: Ints, func: str | None) -> RangeVector:
        """The samples of each series in each step's window ``(end - range, end]``."""
        selector = node.vector
        ends = self._times(selector.at, selector.offset_ms, grid)
        found = self.select(
            selector, int(ends.min()) - node.range_ms + 1, int(ends.max()), func, node.range_ms
        )
        return RangeVector(
            range_batch(found, ends, node.range_ms),
            node.range_ms,
            ends,
            self._eval_ts(selector.at, grid),
        )

    def _eval_ts(self, at: AtModifier, grid: Ints) -> Ints:
        """The evaluation time functions see: a step-invariant (``@``) expression is evaluated
        once, at the query's start, as in Prometheus."""
        if at is None:
            return grid
        return np.full(len(grid), self.start_ms, dtype=np.int64)

    def subquery(self, node: SubqueryExpr, grid: Ints, func: str | None) -> RangeVector:
        """Evaluate the inner expression on its own grid, aligned to multiples of its step,
        and present its points as a range vector."""
        ends = self._times(node.at, node.offset_ms, grid)
        step = node.step_ms or DEFAULT_EVALUATION_INTERVAL_MS
        inner_grid = self.subquery_grid(node, int(ends.min()), int(ends.max()))
        series: list[RangeSeries] = []
        if len(inner_grid):
            outer_step, self.step_ms = self.step_ms, step
            try:
                inner = self.eval(node.expr, inner_grid, func)
            finally:
                self.step_ms = outer_step
            if isinstance(inner, StepScalar):
                inner = _scalar_as_vector(inner)
            if not isinstance(inner, StepVector):
                raise EvalError("subquery is only allowed on instant vector")
            for labels, ts, vs in matrix_of_rows(
                inner.labels, inner.values, inner.present, inner_grid
            ):
                found = windows(labels, ts, vs, ends, node.range_ms)
                if found is not None:
                    series.append(found)
        batch = SeriesBatch.of(series, len(grid))
        return RangeVector(batch, node.range_ms, ends, self._eval_ts(node.at, grid))

    def unary(self, node: UnaryExpr, grid: Ints, func: str | None) -> StepValue:
        """``-x`` negates (and drops the metric name); ``+x`` is ``x``."""
        value = self.eval(node.expr, grid, func)
        if node.op == "+":
            return value
        if isinstance(value, StepScalar):
            return StepScalar(-value.values)
        if isinstance(value, StepVector):
            return merge_rows(without_name(value.labels), -value.values, value.present)
        raise EvalError("unary minus is only defined on scalars and instant vectors")

    def aggregation(self, node: Aggregation, grid: Ints) -> StepVector:
        """Evaluate an aggregation operator."""
        param: StepScalar | str | None = None
        if node.param is not None:
            value = self.eval(node.param, grid)
            if not isinstance(value, StepScalar | str):
                raise EvalError(f"invalid parameter of {node.op}")
            param = value
        vector = self.eval(node.expr, grid, node.op)
        if not isinstance(vector, StepVector):
            raise EvalError(f"{node.op} expects an instant vector")
        return aggregate(node, vector, param)

    # -- functions -------------------------------------------------------------------------

    def call(self, node: Call, grid: Ints) -> StepValue:
        """Evaluate a function call."""
        name = node.func
        if name == "timestamp":
            return self.timestamp(node.args[0], grid)
        if name == "absent":
            return self.absent(node.args[0], grid)
        if name == "absent_over_time":
            return self.absent_over_time(node.args[0], grid)
        if name in self.functions.range_functions:
            return self.range_call(node, grid)
        function = self.functions.instant_functions.get(name)
        if function is None:
            raise EvalError(f"unknown function {name!r}")
        args = [self.eval(arg, grid, name) for arg in node.args]
        return function(args, grid)

    def range_call(self, node: Call, grid: Ints) -> StepVector:
        """A function of a range vector over all steps at once: to every series together
        when it has a batched form, else series by series, in chunks of series."""
        name = node.func
        kinds = FUNCTIONS[name].args
        matrix: RangeVector | None = None
        scalars: list[Floats] = []
        for kind, arg in zip(kinds, node.args, strict=False):
            value = self.eval(arg, grid, name)
            if kind is ValueType.MATRIX and isinstance(value, RangeVector):
                matrix = value
            elif isinstance(value, StepScalar):
                scalars.append(value.values)
        if matrix is None:
            raise EvalError(f"{name} expects a range vector")
        keep_name = name in self.functions.keeps_metric_name
        generation = WITHOUT_NAME.generation
        labels: list[Labels] = []
        rows_v: list[Floats] = []
        rows_p: list[Bools] = []
        for chunk in _chunks(matrix.batch):
            self.check_time()
            values, present = self._apply(name, chunk, matrix, scalars)
            keep = present.any(axis=1)
            rows = np.flatnonzero(keep).tolist()
            kept = chunk.labels if len(rows) == len(chunk) else [chunk.labels[i] for i in rows]
            labels.extend(kept if keep_name else WITHOUT_NAME.map(kept))
            rows_v.append(values[keep])
            rows_p.append(present[keep])
        if not labels:
            return StepVector.empty(len(grid))
        values, present = np.concatenate(rows_v), np.concatenate(rows_p)
        if not keep_name and _distinct_interned(labels, generation):
            return StepVector(labels, values, present)
        # two series differing only in their name now collide (an error if both present)
        return merge_rows(labels, values, present)

    def _apply(
        self, name: str, batch: SeriesBatch, matrix: RangeVector, scalars: list[Floats]
    ) -> tuple[Floats, Bools]:
        """Range function ``name`` over the series of ``batch``: batched if it has a batched
        form, else series by series."""
        args = (matrix.ends, matrix.eval_ts, matrix.range_ms, scalars)
        batched = self.functions.batched_range_functions.get(name)
        if batched is not None:
            return batched(batch, *args)
        function = self.functions.range_functions[name]
        steps = len(matrix.ends)
        values = np.full((len(batch), steps), np.nan)
        present = np.zeros((len(batch), steps), dtype=np.bool_)
        for row in range(len(batch)):
            self.check_time()
            values[row], present[row] = function(batch.series(row), *args)
        return values, present

    def timestamp(self, arg: Expr, grid: Ints) -> StepVector:
        """``timestamp(v)``: a selector's sample times, else the evaluation time, in seconds."""
        inner = _unwrap(arg)
        if isinstance(inner, VectorSelector):
            rows = self.instant_selector(inner, grid, "timestamp")
            labels, times = rows.labels, rows.timestamps
            present = rows.present
        else:
            value = self.eval(arg, grid, "timestamp")
            if not isinstance(value, StepVector):
                raise EvalError("timestamp expects an instant vector")
            labels, present = value.labels, value.present
            times = np.broadcast_to(grid, present.shape)
        return merge_rows(without_name(labels), times / 1000.0, present)

    def absent(self, arg: Expr, grid: Ints) -> StepVector:
        """``absent(v)``: 1 at the steps where ``v`` has no sample."""
        value = self.eval(arg, grid, "absent")
        if not isinstance(value, StepVector):
            raise EvalError("absent expects an instant vector")
        missing: Bools = np.asarray(~value.present.any(axis=0))
        return _absent_vector(_absent_labels(arg), missing)

    def absent_over_time(self, arg: Expr, grid: Ints) -> StepVector:
        """``absent_over_time(m[r])``: 1 at the steps whose window holds no sample."""
        value = self.eval(arg, grid, "absent_over_time")
        if not isinstance(value, RangeVector):
            raise EvalError("absent_over_time expects a range vector")
        seen: Bools = np.asarray((value.batch.hi > value.batch.lo).any(axis=0))
        return _absent_vector(_absent_labels(arg), ~seen)


def _distinct_interned(labels: list[Labels], generation: int) -> bool:
    """Whether label sets from ``WITHOUT_NAME`` are pairwise different: they are interned,
    so distinct objects suffice, unless the memo was emptied since ``generation``."""
    return WITHOUT_NAME.generation == generation and len(set(map(id, labels))) == len(labels)


def _chunks(batch: SeriesBatch) -> Iterator[SeriesBatch]:
    """``batch`` in consecutive runs of series holding about BATCH_WINDOW_SAMPLES window
    samples each (at least one series per run)."""
    total = int((batch.hi - batch.lo).sum())
    rows = len(batch)
    per_chunk = max(
        1, rows if total <= BATCH_WINDOW_SAMPLES else rows * BATCH_WINDOW_SAMPLES // total
    )
    for first in range(0, rows, per_chunk):
        yield batch.rows(first, min(first + per_chunk, rows))


def _children(expr: Expr) -> Sequence[Expr]:
    match expr:
        case ParenExpr(expr=inner) | UnaryExpr(expr=inner):
            return (inner,)
        case Call(args=args):
            return args
        case Aggregation(expr=inner, param=param):
            return (inner,) if param is None else (param, inner)
        case BinaryExpr(lhs=lhs, rhs=rhs):
            return (lhs, rhs)
    return ()


def _absent_labels(arg: Expr) -> Labels:
    """The labels of absent()'s output: the equality matchers of a selector argument (a label
    matched more than once, or not by equality, is left out), as Prometheus derives them."""
    inner = _unwrap(arg)
    if isinstance(inner, MatrixSelector):
        inner = inner.vector
    if not isinstance(inner, VectorSelector):
        return Labels()
    pairs: dict[str, str] = {}
    seen: set[str] = set()
    for matcher in inner.matchers:
        if matcher.name == METRIC_NAME_LABEL:
            continue
        if matcher.type is MatchType.EQUAL and matcher.name not in seen:
            pairs[matcher.name] = matcher.value
        else:
            pairs.pop(matcher.name, None)
        seen.add(matcher.name)
    return Labels(pairs.items())


def _absent_vector(labels: Labels, missing: Bools) -> StepVector:
    if not missing.any():
        return StepVector.empty(len(missing))
    return StepVector([labels], np.ones((1, len(missing))), missing[np.newaxis, :].copy())


def _scalar_as_vector(value: StepScalar) -> StepVector:
    """A scalar as one series without labels, present at every step."""
    values = value.values[np.newaxis, :]
    return StepVector([Labels()], values, np.ones(values.shape, dtype=np.bool_))


# -- results ---------------------------------------------------------------------------------


def _instant_result(expr: Expr, value: StepValue, t_ms: int) -> QueryResult:
    """An instant query's result in the shape of the HTTP API's ``data``."""
    if isinstance(value, str):
        return QueryResult("string", string=(t_ms, value))
    if isinstance(value, StepScalar):
        return QueryResult("scalar", scalar=(t_ms, float(value.values[0])))
    if isinstance(value, RangeVector):
        matrix = [
            MatrixSeries(
                one.labels, one.timestamps[one.lo[0] : one.hi[0]], one.values[one.lo[0] : one.hi[0]]
            )
            for one in value.series
            if one.hi[0] > one.lo[0]
        ]
        return QueryResult("matrix", matrix=sorted(matrix, key=lambda one: one.labels.pairs))
    rows = np.flatnonzero(value.present[:, 0]).tolist()
    if not _keeps_order(expr):
        rows.sort(key=lambda i: value.labels[i].pairs)
    samples = [VectorSample(value.labels[i], t_ms, float(value.values[i, 0])) for i in rows]
    return QueryResult("vector", vector=samples)


def _keeps_order(expr: Expr) -> bool:
    """Whether the outermost operation orders an instant vector (sort*, topk, bottomk)."""
    inner = _unwrap(expr)
    if isinstance(inner, Call):
        return inner.func in _ORDERED_FUNCTIONS
    return isinstance(inner, Aggregation) and inner.op in _ORDERED_AGGREGATIONS


def _range_result(value: StepValue, grid: Ints) -> QueryResult:
    """A range query's result: the present points of each series, sorted by labels."""
    if isinstance(value, StepScalar):
        value = _scalar_as_vector(value)
    if not isinstance(value, StepVector):
        raise EvalError("a range query must evaluate to a scalar or an instant vector")
    matrix = [
        MatrixSeries(labels, ts, vs)
        for labels, ts, vs in matrix_of_rows(value.labels, value.values, value.present, grid)
    ]
    return QueryResult("matrix", matrix=sorted(matrix, key=lambda one: one.labels.pairs))


__all__ = ["DEFAULT_EVALUATION_INTERVAL_MS", "MAX_POINTS_PER_SERIES", "Engine", "FunctionRegistry"]
