"""The evaluator's selectors, time handling, functions it owns, results and limits (data in
tests.promql.test_engine_data.py; expected values computed by hand)."""

from __future__ import annotations

from collections.abc import Iterator, Sequence

import numpy as np
import pytest

from multimonx.model import Labels, Matcher
from multimonx.promql.ast import (
    BinaryExpr,
    Call,
    MatrixSelector,
    NumberLiteral,
    VectorSelector,
)
from multimonx.promql.engine import Engine, FunctionRegistry
from multimonx.promql.errors import EvalError, QueryTimeout, TooManySamples
from multimonx.promql.parser import QueryTypeError
from multimonx.promql.values import Bools, Floats, Ints, RangeSeries, StepValue, StepVector
from multimonx.storage.interface import (
    Querier,
    SelectHints,
    Series,
    SeriesSet,
    select_sets_of,
)
from multimonx.storage.memory import MemoryStorage
from tests.promql.test_engine_data import MINUTE, as_dict, as_list, as_points, make_storage


@pytest.fixture
def storage() -> Iterator[MemoryStorage]:
    store = make_storage()
    yield store
    store.close()


@pytest.fixture
def engine(storage: MemoryStorage) -> Engine:
    return Engine(storage)


A1 = 'metric{instance="1",job="a"}'
A2 = 'metric{instance="2",job="a"}'
B1 = 'metric{instance="1",job="b"}'


# --- instant vector selectors: lookback, staleness, offset, @ -------------------------------


@pytest.mark.parametrize(
    ("query", "t_ms", "expected"),
    [
        ("metric", 10 * MINUTE, {A1: 10.0, A2: 20.0, B1: 100.0}),
        ('metric{job="a"}', 5 * MINUTE + 30_000, {A1: 5.0, A2: 10.0}),
        ('metric{job=~"b|c"}', 10 * MINUTE, {B1: 100.0}),
        # lookback is (t - 5m, t]: the sample at exactly t counts, the one at t - 5m does not
        ("sparse", 0, {"sparse{}": 7.0}),
        ("sparse", 5 * MINUTE - 1, {"sparse{}": 7.0}),
        ("sparse", 5 * MINUTE, {}),
        ("sparse", -1, {}),
        # ten minutes after the last sample: nothing
        ("metric", 15 * MINUTE, {}),
        ("metric", 15 * MINUTE - 1, {A1: 10.0, A2: 20.0, B1: 100.0}),
        # a staleness marker hides the series until the next real sample
        ("stale", MINUTE + 59_999, {"stale{}": 2.0}),
        ("stale", 2 * MINUTE, {}),
        ("stale", 3 * MINUTE, {}),
        ("stale", 4 * MINUTE, {"stale{}": 4.0}),
        # offset and @
        (f"{A1} offset 2m", 10 * MINUTE, {A1: 8.0}),
        (f"{A1} offset -1m", 5 * MINUTE, {A1: 6.0}),
        (f"{A1} @ 120", 10 * MINUTE, {A1: 2.0}),
        (f"{A1} @ 180 offset 1m", 10 * MINUTE, {A1: 2.0}),
        (f"{A1} @ start()", 7 * MINUTE, {A1: 7.0}),
        (f"{A1} @ end()", 7 * MINUTE, {A1: 7.0}),
    ],
)
def test_instant_selector(
    engine: Engine, query: str, t_ms: int, expected: dict[str, float]
) -> None:
    assert as_dict(engine.instant(query, t_ms)) == expected


def test_range_query_of_a_selector_skips_stale_and_empty_steps(engine: Engine) -> None:
    result = engine.range("stale", 0, 8 * MINUTE, MINUTE)
    assert as_points(result) == {
        "stale{}": [
            (0, 1.0),
            (MINUTE, 2.0),
            (4 * MINUTE, 4.0),
            (5 * MINUTE, 4.0),
            (6 * MINUTE, 4.0),
            (7 * MINUTE, 4.0),
            (8 * MINUTE, 4.0),
        ]
    }


def test_range_query_with_at_start_and_end(engine: Engine) -> None:
    start, end = 2 * MINUTE, 6 * MINUTE
    first = as_points(engine.range(f"{A1} @ start()", start, end, 2 * MINUTE))
    last = as_points(engine.range(f"{A1} @ end()", start, end, 2 * MINUTE))
    steps = [2 * MINUTE, 4 * MINUTE, 6 * MINUTE]
    assert first == {A1: [(t, 2.0) for t in steps]}
    assert last == {A1: [(t, 6.0) for t in steps]}


def test_range_query_offset(engine: Engine) -> None:
    result = engine.range(f"{A1} offset 1m", 0, 3 * MINUTE, MINUTE)
    assert as_points(result) == {A1: [(MINUTE, 0.0), (2 * MINUTE, 1.0), (3 * MINUTE, 2.0)]}


# --- range vector selectors and subqueries ---------------------------------------------------


def test_matrix_selector_is_left_open(engine: Engine) -> None:
    result = engine.instant(f"{A1}[2m]", 10 * MINUTE)
    assert as_points(result) == {A1: [(9 * MINUTE, 9.0), (10 * MINUTE, 10.0)]}


def test_matrix_selector_drops_staleness_markers(engine: Engine) -> None:
    result = engine.instant("stale[10m]", 5 * MINUTE)
    assert as_points(result) == {"stale{}": [(0, 1.0), (MINUTE, 2.0), (4 * MINUTE, 4.0)]}


def test_matrix_selector_offset_and_at_keep_sample_times(engine: Engine) -> None:
    moved = engine.instant(f"{A1}[2m] offset 3m", 10 * MINUTE)
    fixed = engine.instant(f"{A1}[1m] @ 240", 10 * MINUTE)
    assert as_points(moved) == {A1: [(6 * MINUTE, 6.0), (7 * MINUTE, 7.0)]}
    assert as_points(fixed) == {A1: [(4 * MINUTE, 4.0)]}


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        # inner steps at multiples of 2m in (5m, 10m]: 6m, 8m, 10m
        (f"sum_over_time({A1}[5m:2m])", 6.0 + 8.0 + 10.0),
        # window (4m, 9m] after the offset: 6m, 8m
        (f"sum_over_time({A1}[5m:2m] offset 1m)", 6.0 + 8.0),
        # default step: the 1m evaluation interval -> 6m..10m
        (f"count_over_time({A1}[5m:])", 5.0),
        # @ fixes the window (0, 4m] -> 2m, 4m
        (f"sum_over_time({A1}[4m:2m] @ 240)", 2.0 + 4.0),
        # a subquery of an expression, nested in another subquery
        (f"max_over_time(sum_over_time({A1}[2m:1m])[4m:2m])", 9.0 + 10.0),
    ],
)
def test_subquery(engine: Engine, query: str, expected: float) -> None:
    assert list(as_dict(engine.instant(query, 10 * MINUTE)).values()) == [expected]


def test_bare_subquery_in_an_instant_query_is_a_matrix(engine: Engine) -> None:
    result = engine.instant(f"{A1}[5m:2m]", 10 * MINUTE + 1)
    assert as_points(result) == {A1: [(6 * MINUTE, 6.0), (8 * MINUTE, 8.0), (10 * MINUTE, 10.0)]}


def test_subquery_in_a_range_query_ignores_the_query_step(engine: Engine) -> None:
    result = engine.range(f"count_over_time({A1}[3m:1m])", 5 * MINUTE, 10 * MINUTE, 5 * MINUTE)
    assert as_points(result) == {'{instance="1",job="a"}': [(5 * MINUTE, 3.0), (10 * MINUTE, 3.0)]}


# --- functions the evaluator owns -----------------------------------------------------------


@pytest.mark.parametrize(
    ("query", "t_ms", "expected"),
    [
        (f"timestamp({A1})", 10 * MINUTE + 30_000, {'{instance="1",job="a"}': 600.0}),
        (f"timestamp({A1} offset 3m)", 10 * MINUTE, {'{instance="1",job="a"}': 420.0}),
        (f"timestamp(({A1} @ 90))", 10 * MINUTE, {'{instance="1",job="a"}': 60.0}),
        (f"timestamp({A1} + 1)", 10 * MINUTE + 30_000, {'{instance="1",job="a"}': 630.0}),
        ('absent(nope{job="x",env=~"p.*",dc="1",dc="2"})', 0, {'{job="x"}': 1.0}),
        ("absent(metric)", 0, {}),
        ("absent(sum(nope))", 0, {"{}": 1.0}),
        ('absent_over_time(nope{job="x"}[1m])', 0, {'{job="x"}': 1.0}),
        ("absent_over_time(sparse[1m])", 30_000, {}),
        ("absent_over_time(sparse[1m])", MINUTE, {"{}": 1.0}),
        ("absent_over_time(nope[1m:])", 0, {"{}": 1.0}),
    ],
)
def test_evaluator_functions(
    engine: Engine, query: str, t_ms: int, expected: dict[str, float]
) -> None:
    assert as_dict(engine.instant(query, t_ms)) == expected


def test_absent_in_a_range_query_covers_the_gaps(engine: Engine) -> None:
    result = engine.range("absent(stale)", 0, 4 * MINUTE, MINUTE)
    assert as_points(result) == {"{}": [(2 * MINUTE, 1.0), (3 * MINUTE, 1.0)]}


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("sort(metric)", [(A1, 10.0), (A2, 20.0), (B1, 100.0)]),
        ("sort_desc(metric)", [(B1, 100.0), (A2, 20.0), (A1, 10.0)]),
        ("topk(2, metric)", [(B1, 100.0), (A2, 20.0)]),
        ("bottomk(2, metric)", [(A1, 10.0), (A2, 20.0)]),
        # no ordering function: sorted by labels
        (
            "-metric",
            [
                ('{instance="1",job="a"}', -10.0),
                ('{instance="1",job="b"}', -100.0),
                ('{instance="2",job="a"}', -20.0),
            ],
        ),
    ],
)
def test_instant_vector_order(
    engine: Engine, query: str, expected: list[tuple[str, float]]
) -> None:
    assert as_list(engine.instant(query, 10 * MINUTE)) == expected


def test_rate_through_the_default_registry(engine: Engine) -> None:
    result = as_dict(engine.instant(f"rate({A1}[5m])", 10 * MINUTE))
    assert result == {'{instance="1",job="a"}': pytest.approx(1.0 / 60.0)}


def test_last_over_time_keeps_the_metric_name(engine: Engine) -> None:
    assert as_dict(engine.instant(f"last_over_time({A1}[5m])", 10 * MINUTE)) == {A1: 10.0}


def test_label_replace_to_duplicate_labelsets_is_an_error(engine: Engine) -> None:
    with pytest.raises(EvalError, match="same labelset"):
        engine.instant('label_replace(metric{job="a"}, "instance", "", "", "")', 10 * MINUTE)


def test_dropping_the_name_to_duplicate_labelsets_is_an_error(engine: Engine) -> None:
    with pytest.raises(EvalError, match="vector cannot contain metrics with the same labelset"):
        engine.instant('rate({a="1"}[5m])', 10 * MINUTE)


# --- a fake function registry: dispatch, arguments, metric names ------------------------------


def _fake_count(
    series: RangeSeries, ends: Ints, eval_ts: Ints, range_ms: int, args: Sequence[Floats]
) -> tuple[Floats, Bools]:
    """Samples in each window times the first scalar argument (1 without)."""
    factor = args[0] if args else np.ones(len(ends))
    count = (series.hi - series.lo).astype(np.float64)
    return count * factor, np.asarray(count > 0)


def _fake_double(args: Sequence[StepValue], eval_ts: Ints) -> StepValue:
    vector = args[0]
    assert isinstance(vector, StepVector)
    return StepVector(vector.labels, vector.values * 2, vector.present)


def test_engine_with_a_fake_registry(storage: MemoryStorage) -> None:
    registry = FunctionRegistry(
        range_functions={"count_over_time": _fake_count, "quantile_over_time": _fake_count},
        instant_functions={"abs": _fake_double},
        keeps_metric_name=frozenset({"count_over_time"}),
    )
    engine = Engine(storage, functions=registry)
    assert as_dict(engine.instant(f"count_over_time({A1}[3m])", 10 * MINUTE)) == {A1: 3.0}
    assert as_dict(engine.instant(f"quantile_over_time(2, {A1}[3m])", 10 * MINUTE)) == {
        '{instance="1",job="a"}': 6.0
    }
    assert as_dict(engine.instant(f"abs({A1})", 10 * MINUTE)) == {A1: 20.0}


def test_hand_built_syntax_tree(engine: Engine) -> None:
    selector = VectorSelector(
        "metric", (Matcher.of("__name__", "=", "metric"), Matcher.of("job", "=", "b"))
    )
    tree = BinaryExpr(
        "*", Call("count_over_time", (MatrixSelector(selector, 2 * MINUTE),)), NumberLiteral(10.0)
    )
    assert as_dict(engine.instant(tree, 10 * MINUTE)) == {'{instance="1",job="b"}': 20.0}


# --- result shapes -----------------------------------------------------------------------------


def test_scalar_and_string_results(engine: Engine) -> None:
    assert engine.instant("1 + 2 * 3", 5000).scalar == (5000, 7.0)
    assert engine.instant("time()", 5000).scalar == (5000, 5.0)
    assert engine.instant('"text"', 5000).string == (5000, "text")


def test_scalar_in_a_range_query_is_a_series_without_labels(engine: Engine) -> None:
    result = engine.range("time() * 2", 0, 2 * MINUTE, MINUTE)
    assert as_points(result) == {"{}": [(0, 0.0), (MINUTE, 120.0), (2 * MINUTE, 240.0)]}


def test_range_query_of_a_range_vector_is_rejected(engine: Engine) -> None:
    with pytest.raises(QueryTypeError, match="range query"):
        engine.range("metric[5m]", 0, MINUTE, MINUTE)


def test_range_query_matrix_sorted_by_labels(engine: Engine) -> None:
    result = engine.range("metric", 9 * MINUTE, 10 * MINUTE, MINUTE)
    assert list(as_points(result)) == [A1, B1, A2]


# --- limits ------------------------------------------------------------------------------------


def test_too_many_points_per_series(engine: Engine) -> None:
    with pytest.raises(EvalError, match=r"exceeded maximum resolution of 11,000 points"):
        engine.range("metric", 0, 11_001 * 1000, 1000)
    # Prometheus compares (end - start) / step with 11,000: one more point passes
    assert engine.range("metric", 0, 11_000 * 1000, 1000).result_type == "matrix"


@pytest.mark.parametrize(
    ("start", "end", "step"), [(0, MINUTE, 0), (0, MINUTE, -1), (MINUTE, 0, 1)]
)
def test_bad_range_parameters(engine: Engine, start: int, end: int, step: int) -> None:
    with pytest.raises(EvalError):
        engine.range("metric", start, end, step)


def test_too_many_samples(storage: MemoryStorage) -> None:
    # metric[10m] at 10m loads 3 series x 10 samples in (0, 10m] (storage returns 11 each)
    small = Engine(storage, max_samples=20)
    with pytest.raises(TooManySamples, match="query processing would load too many samples"):
        small.instant("metric[10m]", 10 * MINUTE)
    assert Engine(storage, max_samples=100).instant("metric[10m]", 10 * MINUTE).matrix


def test_points_held_count_against_the_sample_limit(storage: MemoryStorage) -> None:
    # no samples loaded, but a 61-step subquery of a scalar-free vector holds 61 points
    engine = Engine(storage, max_samples=50)
    with pytest.raises(TooManySamples):
        engine.instant("max_over_time(vector(1)[1h:1m])", 60 * MINUTE)


def test_huge_subquery_grid_is_refused_before_it_is_built(storage: MemoryStorage) -> None:
    # a week at 1 ms is 604,800,000 inner steps: refused at once, not allocated
    engine = Engine(storage)
    with pytest.raises(TooManySamples):
        engine.instant("max_over_time(metric[1w:1ms])", 60 * MINUTE)
    with pytest.raises(TooManySamples):
        engine.range("max_over_time(metric[1w:1ms])", 0, 60 * MINUTE, MINUTE)


def test_timeout(storage: MemoryStorage) -> None:
    with pytest.raises(QueryTimeout, match="query timed out"):
        Engine(storage, timeout_s=-1.0).instant("metric", 0)


# --- storage access ----------------------------------------------------------------------------


class _Recording:
    """A Storage wrapper that records the querier span and the select hints."""

    def __init__(self, inner: MemoryStorage) -> None:
        self.inner = inner
        self.spans: list[tuple[int, int]] = []
        self.hints: list[SelectHints | None] = []

    def querier(self, mint: int, maxt: int) -> Querier:
        self.spans.append((mint, maxt))
        querier = self.inner.querier(mint, maxt)
        recorder = self

        class _Q:
            def select(
                self, matchers: Sequence[Matcher], hints: SelectHints | None = None
            ) -> Iterator[Series]:
                recorder.hints.append(hints)
                return querier.select(matchers, hints)

            def select_sets(
                self, matchers: Sequence[Matcher], hints: SelectHints | None = None
            ) -> Iterator[SeriesSet]:
                return select_sets_of(self.select(matchers, hints))

            def series_labels(self, matchers: Sequence[Matcher]) -> list[Labels]:
                return querier.series_labels(matchers)

            def label_names(self, matchers: Sequence[Matcher] = ()) -> list[str]:
                return querier.label_names(matchers)

            def label_values(self, name: str, matchers: Sequence[Matcher] = ()) -> list[str]:
                return querier.label_values(name, matchers)

            def close(self) -> None:
                querier.close()

            def __enter__(self) -> Querier:
                return self

            def __exit__(self, *exc: object) -> None:
                querier.close()

        return _Q()

    def __getattr__(self, name: str) -> object:
        return getattr(self.inner, name)


def test_one_querier_spans_every_selector(storage: MemoryStorage) -> None:
    recording = _Recording(storage)
    engine = Engine(recording, lookback_ms=5 * MINUTE)  # type: ignore[arg-type]
    engine.range(
        "rate(metric[2m]) + on() group_left metric offset 10m", 20 * MINUTE, 30 * MINUTE, MINUTE
    )
    assert recording.spans == [(10 * MINUTE - 5 * MINUTE + 1, 30 * MINUTE)]
    rate_hints, selector_hints = recording.hints
    assert rate_hints == SelectHints(18 * MINUTE + 1, 30 * MINUTE, MINUTE, "rate", 2 * MINUTE)
    assert selector_hints == SelectHints(5 * MINUTE + 1, 20 * MINUTE, MINUTE, None)


def test_only_range_queries_hint_a_step(storage: MemoryStorage) -> None:
    # a step lets storage answer from a downsampled tier: an instant query (an alert rule)
    # reads raw samples, even inside a subquery, whose step does hint in a range query
    recording = _Recording(storage)
    engine = Engine(recording)  # type: ignore[arg-type]
    engine.instant("max_over_time(rate(metric[2m])[10m:1m])", 30 * MINUTE)
    engine.range("max_over_time(rate(metric[2m])[10m:1m])", 30 * MINUTE, 40 * MINUTE, 5 * MINUTE)
    assert [h.step_ms if h else "no hints" for h in recording.hints] == [None, MINUTE]


def test_a_repeated_selector_reads_storage_once(storage: MemoryStorage) -> None:
    recording = _Recording(storage)
    engine = Engine(recording)  # type: ignore[arg-type]
    result = engine.instant(
        "metric / (metric + sum without () (metric)) + rate(metric[5m])", 10 * MINUTE
    )
    assert result.vector
    # the instant selector twice plus once under sum (a different function, same samples),
    # and the range selector, whose window is the lookback's
    assert len(recording.hints) == 1
    engine.range("metric / (metric + 1)", 0, 10 * MINUTE, MINUTE)
    assert len(recording.hints) == 2


def test_query_without_selectors_opens_no_querier(storage: MemoryStorage) -> None:
    recording = _Recording(storage)
    engine = Engine(recording)  # type: ignore[arg-type]
    assert engine.instant("vector(1)", 0).vector
    assert recording.spans == []


@pytest.mark.parametrize(
    ("query", "funcs", "step"),
    [
        ("metric", [None], None),
        ("sum(metric)", ["sum"], None),
        ("-rate(metric[5m])", ["rate"], None),
        ("sum(metric + metric)", [None], None),  # one read for both
        ("max_over_time((metric)[10m:5m])", ["max_over_time"], None),  # instant: raw
        ("timestamp(metric)", ["timestamp"], None),
    ],
)
def test_select_hints_name_the_enclosing_function(
    storage: MemoryStorage, query: str, funcs: list[str | None], step: int | None
) -> None:
    recording = _Recording(storage)
    Engine(recording).instant(query, 10 * MINUTE)  # type: ignore[arg-type]
    assert [h.func if h else "no hints" for h in recording.hints] == funcs
    assert {h.step_ms if h else "no hints" for h in recording.hints} == {step}


def test_subquery_querier_span_starts_at_its_first_inner_step(storage: MemoryStorage) -> None:
    recording = _Recording(storage)
    Engine(recording).instant("max_over_time(metric[10m:5m])", 10 * MINUTE)  # type: ignore[arg-type]
    # inner steps at 5m and 10m; the one at 5m looks back (0, 5m]
    assert recording.spans == [(1, 10 * MINUTE)]
