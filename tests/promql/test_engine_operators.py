"""Aggregations and binary operators of the evaluator (data in
tests/promql/test_engine_data.py; at 10m metric is a1=10, a2=20, b1=100 and other is a1=5,
a2=4; expected values computed by hand)."""

from __future__ import annotations

import math
import statistics
from collections.abc import Iterator

import pytest

from multimonx.model import STALE_NAN, Labels
from multimonx.promql.engine import Engine
from multimonx.promql.errors import EvalError
from multimonx.storage.memory import MemoryStorage
from tests.promql.test_engine_data import MINUTE, as_dict, as_list, as_points, make_storage

T = 10 * MINUTE
A1 = 'metric{instance="1",job="a"}'
A2 = 'metric{instance="2",job="a"}'
B1 = 'metric{instance="1",job="b"}'
NA1 = '{instance="1",job="a"}'
NA2 = '{instance="2",job="a"}'
NB1 = '{instance="1",job="b"}'


@pytest.fixture
def engine() -> Iterator[Engine]:
    storage = make_storage()
    yield Engine(storage)
    storage.close()


def _engine_with(series: dict[Labels, float]) -> Engine:
    """An engine over one sample per series at time 0."""
    storage = MemoryStorage()
    appender = storage.appender()
    for labels, value in series.items():
        appender.append(labels, 0, value)
    appender.commit()
    return Engine(storage)


# --- aggregations ------------------------------------------------------------------------------

VALUES = [10.0, 20.0, 100.0]


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("sum(metric)", {"{}": 130.0}),
        ("sum by (job) (metric)", {'{job="a"}': 30.0, '{job="b"}': 100.0}),
        ("sum without (instance) (metric)", {'{job="a"}': 30.0, '{job="b"}': 100.0}),
        ("sum by (__name__) (metric)", {"metric{}": 130.0}),
        ("sum by (nope) (metric)", {"{}": 130.0}),
        ("avg(metric)", {"{}": 130.0 / 3}),
        ("avg by (instance) (metric)", {'{instance="1"}': 55.0, '{instance="2"}': 20.0}),
        ("count(metric)", {"{}": 3.0}),
        ("count by (job) (metric)", {'{job="a"}': 2.0, '{job="b"}': 1.0}),
        ("min(metric)", {"{}": 10.0}),
        ("max by (job) (metric)", {'{job="a"}': 20.0, '{job="b"}': 100.0}),
        ("group by (job) (metric)", {'{job="a"}': 1.0, '{job="b"}': 1.0}),
        ("stdvar(metric)", {"{}": statistics.pvariance(VALUES)}),
        ("stddev(metric)", {"{}": statistics.pstdev(VALUES)}),
        ('stddev by (job) (metric{job="b"})', {'{job="b"}': 0.0}),
        ("quantile(0.5, metric)", {"{}": 20.0}),
        ("quantile(0.25, metric)", {"{}": 15.0}),
        ("quantile(0.75, metric)", {"{}": 60.0}),
        ("quantile by (job) (1, metric)", {'{job="a"}': 20.0, '{job="b"}': 100.0}),
        ("quantile(2, metric)", {"{}": math.inf}),
        ("quantile(-1, metric)", {"{}": -math.inf}),
        (
            'count_values("value", metric)',
            {'{value="10"}': 1.0, '{value="20"}': 1.0, '{value="100"}': 1.0},
        ),
        (
            'count_values by (job) ("v", metric * 0)',
            {'{job="a",v="0"}': 2.0, '{job="b",v="0"}': 1.0},
        ),
        (
            'count_values by (job) ("job", metric)',
            {'{job="10"}': 1.0, '{job="20"}': 1.0, '{job="100"}': 1.0},
        ),
        (
            'count_values by (job) ("instance", metric * 0)',
            {'{instance="0",job="a"}': 2.0, '{instance="0",job="b"}': 1.0},
        ),
        (
            'count_values without (instance) ("v", metric * 0)',
            {'{job="a",v="0"}': 2.0, '{job="b",v="0"}': 1.0},
        ),
        ('count_values("v", metric / 4)', {'{v="2.5"}': 1.0, '{v="5"}': 1.0, '{v="25"}': 1.0}),
        ("topk by (job) (1, metric)", {A2: 20.0, B1: 100.0}),
        ("bottomk(1, metric)", {A1: 10.0}),
        ("topk(0, metric)", {}),
        ("topk(1.9, metric)", {B1: 100.0}),
        ("limitk by (job) (1, metric)", {A1: 10.0, B1: 100.0}),
        ("limit_ratio(1, metric)", {A1: 10.0, A2: 20.0, B1: 100.0}),
        ("limit_ratio(0, metric)", {}),
        ("sum(nope)", {}),
    ],
)
def test_aggregation(engine: Engine, query: str, expected: dict[str, float]) -> None:
    assert as_dict(engine.instant(query, T)) == pytest.approx(expected)


def test_limit_ratio_and_its_negation_partition_the_series(engine: Engine) -> None:
    some = as_dict(engine.instant("limit_ratio(0.5, metric)", T))
    rest = as_dict(engine.instant("limit_ratio(-0.5, metric)", T))
    assert not set(some) & set(rest)
    assert set(some) | set(rest) == {A1, A2, B1}


def test_topk_order_within_groups(engine: Engine) -> None:
    assert as_list(engine.instant("topk(3, metric)", T)) == [(B1, 100.0), (A2, 20.0), (A1, 10.0)]
    assert as_list(engine.instant("bottomk(3, metric)", T)) == [(A1, 10.0), (A2, 20.0), (B1, 100.0)]


def test_topk_in_a_range_query_picks_per_step() -> None:
    storage = MemoryStorage()
    appender = storage.appender()
    for t_ms, (x, y) in enumerate([(1.0, 2.0), (3.0, 2.0), (1.0, 2.0)]):
        appender.append(Labels.of(__name__="m", s="x"), t_ms * MINUTE, x)
        appender.append(Labels.of(__name__="m", s="y"), t_ms * MINUTE, y)
    appender.commit()
    result = Engine(storage).range("topk(1, m)", 0, 2 * MINUTE, MINUTE)
    assert as_points(result) == {
        'm{s="x"}': [(MINUTE, 3.0)],
        'm{s="y"}': [(0, 2.0), (2 * MINUTE, 2.0)],
    }


def test_aggregation_of_nan_and_huge_values() -> None:
    engine = _engine_with(
        {
            Labels.of(__name__="h", i="1"): 1e308,
            Labels.of(__name__="h", i="2"): 1e308,
            Labels.of(__name__="n", i="1"): math.nan,
            Labels.of(__name__="n", i="2"): 3.0,
        }
    )
    assert as_dict(engine.instant("avg(h)", 0)) == {"{}": 1e308}
    assert as_dict(engine.instant("sum(h)", 0)) == {"{}": math.inf}
    assert as_dict(engine.instant("min(n)", 0)) == {"{}": 3.0}
    assert as_dict(engine.instant("max(n)", 0)) == {"{}": 3.0}
    assert as_list(engine.instant("topk(1, n)", 0)) == [('n{i="2"}', 3.0)]
    assert as_list(engine.instant("bottomk(1, n)", 0)) == [('n{i="2"}', 3.0)]
    assert math.isnan(as_dict(engine.instant('min(n{i="1"})', 0))["{}"])


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("topk(NaN, metric)", "overflows int64"),
        ('count_values("bad-name", metric)', "invalid label name"),
    ],
)
def test_aggregation_errors(engine: Engine, query: str, message: str) -> None:
    with pytest.raises(EvalError, match=message):
        engine.instant(query, T)


def test_sum_in_a_range_query(engine: Engine) -> None:
    result = engine.range('sum by (job) (metric{job="a"})', 0, 2 * MINUTE, MINUTE)
    assert as_points(result) == {'{job="a"}': [(0, 0.0), (MINUTE, 3.0), (2 * MINUTE, 6.0)]}


# --- binary operators: scalars -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("1 + 2 * 3", 7.0),
        ("2 ^ 3 ^ 2", 512.0),
        ("-2 ^ 2", -4.0),
        ("5 % 3", 2.0),
        ("-5 % 3", -2.0),
        ("5.5 % -2", 1.5),
        ("1 / 0", math.inf),
        ("-1 / 0", -math.inf),
        ("1 atan2 1", math.pi / 4),
        ("1 == bool 1", 1.0),
        ("1 > bool 2", 0.0),
        ("Inf % 2", math.nan),
        ("3 % Inf", 3.0),
        ("0 / 0", math.nan),
        ("NaN == bool NaN", 0.0),
        ("NaN != bool NaN", 1.0),
    ],
)
def test_scalar_arithmetic(engine: Engine, query: str, expected: float) -> None:
    result = engine.instant(query, 0).scalar
    assert result is not None
    if math.isnan(expected):
        assert math.isnan(result[1])
    else:
        assert result[1] == pytest.approx(expected)


# --- binary operators: vector and scalar -------------------------------------------------------


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ('metric{job="a"} * 2', {NA1: 20.0, NA2: 40.0}),
        (f"2 - {A1}", {NA1: -8.0}),
        (f"{A1} % 3", {NA1: 1.0}),
        (f"{A1} ^ 2", {NA1: 100.0}),
        (f"{A1} / 0", {NA1: math.inf}),
        ("metric > 15", {A2: 20.0, B1: 100.0}),
        ("15 < metric", {A2: 20.0, B1: 100.0}),
        ("metric == 10", {A1: 10.0}),
        ("metric > bool 15", {NA1: 0.0, NA2: 1.0, NB1: 1.0}),
        ("15 >= bool metric", {NA1: 1.0, NA2: 0.0, NB1: 0.0}),
    ],
)
def test_vector_scalar(engine: Engine, query: str, expected: dict[str, float]) -> None:
    assert as_dict(engine.instant(query, T)) == expected


# --- binary operators: vector and vector -------------------------------------------------------


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("metric / other", {NA1: 2.0, NA2: 5.0}),
        ("metric > other", {A1: 10.0, A2: 20.0}),
        ("other > metric", {}),
        ("metric == bool other", {NA1: 0.0, NA2: 0.0}),
        ("metric / on(job, instance) other", {NA1: 2.0, NA2: 5.0}),
        (f"{A1} + on() {B1}", {"{}": 110.0}),
        (f"{A1} > on() {B1}", {}),
        (f"{B1} > on() {A1}", {"{}": 100.0}),
        (
            "metric / on(job) group_left sum by (job) (metric)",
            {NA1: 10.0 / 30.0, NA2: 20.0 / 30.0, NB1: 1.0},
        ),
        (
            "metric / ignoring(instance) group_left sum by (job) (metric)",
            {NA1: 10.0 / 30.0, NA2: 20.0 / 30.0, NB1: 1.0},
        ),
        (
            "metric * on(job) group_left(team) info",
            {
                '{instance="1",job="a",team="x"}': 10.0,
                '{instance="2",job="a",team="x"}': 20.0,
                '{instance="1",job="b",team="y"}': 100.0,
            },
        ),
        (
            "sum by (job) (metric) / on(job) group_right metric",
            {NA1: 3.0, NA2: 1.5, NB1: 1.0},
        ),
        # a group_left comparison filter keeps the many side's labels and the left value
        ("metric > on(job) group_left sum by (job) (other)", {A1: 10.0, A2: 20.0}),
        # set operators
        ("metric and other", {A1: 10.0, A2: 20.0}),
        ('metric and on(job) other{instance="1"}', {A1: 10.0, A2: 20.0}),
        ("metric unless other", {B1: 100.0}),
        ('metric unless on(instance) other{instance="2"}', {A1: 10.0, B1: 100.0}),
        (
            "other or metric",
            {'other{instance="1",job="a"}': 5.0, 'other{instance="2",job="a"}': 4.0, B1: 100.0},
        ),
        ('metric{job="b"} or on(job) metric', {B1: 100.0, A1: 10.0, A2: 20.0}),
        ("metric and nope", {}),
        ("nope or other", {'other{instance="1",job="a"}': 5.0, 'other{instance="2",job="a"}': 4.0}),
    ],
)
def test_vector_vector(engine: Engine, query: str, expected: dict[str, float]) -> None:
    assert as_dict(engine.instant(query, T)) == pytest.approx(expected)


def test_set_operators_decide_per_step(engine: Engine) -> None:
    result = engine.range("metric and stale", 0, 4 * MINUTE, MINUTE)
    # stale has no value at 2m and 3m, so nothing passes there; the matching is on all labels
    # but the name, which differ: nothing at all
    assert as_points(result) == {}
    result = engine.range(f"{A1} and on() stale", 0, 4 * MINUTE, MINUTE)
    assert as_points(result) == {A1: [(0, 0.0), (MINUTE, 1.0), (4 * MINUTE, 4.0)]}
    result = engine.range(f"{A1} unless on() stale", 0, 4 * MINUTE, MINUTE)
    assert as_points(result) == {A1: [(2 * MINUTE, 2.0), (3 * MINUTE, 3.0)]}
    result = engine.range(f"stale or on() {A1}", 0, 3 * MINUTE, MINUTE)
    assert as_points(result) == {
        "stale{}": [(0, 1.0), (MINUTE, 2.0)],
        A1: [(2 * MINUTE, 2.0), (3 * MINUTE, 3.0)],
    }


def test_group_left_include_labels_follow_the_match_per_step() -> None:
    storage = MemoryStorage()
    appender = storage.appender()
    for minute in range(3):
        appender.append(Labels.of(__name__="m", job="a"), minute * MINUTE, 1.0)
    appender.append(Labels.of(__name__="owner", job="a", team="x"), 0, 2.0)
    appender.append(Labels.of(__name__="owner", job="a", team="x"), MINUTE, STALE_NAN)
    appender.append(Labels.of(__name__="owner", job="a", team="y"), MINUTE, 3.0)
    appender.commit()
    result = Engine(storage).range("m * on(job) group_left(team) owner", 0, 2 * MINUTE, MINUTE)
    assert as_points(result) == {
        '{job="a",team="x"}': [(0, 2.0)],
        '{job="a",team="y"}': [(MINUTE, 3.0), (2 * MINUTE, 3.0)],
    }


@pytest.mark.parametrize(
    ("query", "message"),
    [
        (
            "metric / on(job) other",
            r"found duplicate series for the match group \{job=\"a\"\} on the right hand-side"
            r".*many-to-many matching not allowed: matching labels must be unique on one side",
        ),
        (
            "other / on(job) group_right sum by (job) (metric)",
            "on the left hand-side of the operation.*many-to-many matching not allowed",
        ),
        (
            "metric / on(job) group_left other",
            "many-to-many matching not allowed",
        ),
        (
            "metric - ignoring(instance) sum by (job) (other)",
            "multiple matches for labels: many-to-one matching must be explicit",
        ),
        ("twin_x + twin_y * 0 + twin_x", ""),
        ('{a="1"} * 2', "vector cannot contain metrics with the same labelset"),
        ('-{a="1"}', "vector cannot contain metrics with the same labelset"),
    ],
)
def test_matching_errors(engine: Engine, query: str, message: str) -> None:
    if not message:  # a valid query near the error cases: must not raise
        engine.instant(query, T)
        return
    with pytest.raises(EvalError, match=message):
        engine.instant(query, T)


def test_group_left_output_collisions_are_an_error() -> None:
    engine = _engine_with(
        {
            Labels.of(__name__="m1", job="a"): 1.0,
            Labels.of(__name__="m2", job="a"): 2.0,
            Labels.of(__name__="o", job="a"): 1.0,
        }
    )
    with pytest.raises(EvalError, match="grouping labels must ensure unique matches"):
        engine.instant('{__name__=~"m1|m2"} - on(job) group_left o', 0)
    # a filter keeps the names, so the outputs stay distinct
    assert as_dict(engine.instant('{__name__=~"m1|m2"} >= on(job) group_left o', 0)) == {
        'm1{job="a"}': 1.0,
        'm2{job="a"}': 2.0,
    }
