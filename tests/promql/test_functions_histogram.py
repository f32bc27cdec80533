"""histogram_quantile over classic buckets."""

from __future__ import annotations

import math
from collections.abc import Mapping

import numpy as np
import pytest

from multimonx.model import Labels
from multimonx.promql.errors import EvalError
from multimonx.promql.functions.histogram import bucket_quantile
from tests.promql.test_functions_instant import rows, run, scalar, vector

inf, nan = math.inf, math.nan


def buckets(
    counts: dict[str, list[float | None]], **labels: str
) -> dict[Labels, list[float | None]]:
    return {Labels.of(__name__="req_bucket", le=le, **labels): c for le, c in counts.items()}


def quantile(q: float, counts: Mapping[str, float]) -> float:
    got = rows(
        run("histogram_quantile", scalar(q), vector(buckets({k: [v] for k, v in counts.items()})))
    )
    [[value]] = got.values()
    assert value is not None
    return value


BASIC = {"0.1": 10, "0.5": 30, "1": 40, "+Inf": 40}


@pytest.mark.parametrize(
    ("q", "expected"),
    [
        (0.0, 0.0),
        (0.25, 0.1),  # rank 10 reaches the first bucket exactly
        (0.5, 0.1 + 0.4 * (10 / 20)),  # rank 20 in (0.1, 0.5]
        (0.9, 0.5 + 0.5 * (6 / 10)),
        (1.0, 1.0),
        (-0.5, -inf),
        (1.5, inf),
    ],
)
def test_interpolates_inside_the_bucket(q: float, expected: float) -> None:
    assert quantile(q, BASIC) == pytest.approx(expected)


def test_rank_in_the_inf_bucket_gives_the_highest_finite_bound() -> None:
    assert quantile(0.99, {"1": 5, "2": 8, "+Inf": 10}) == 2.0


def test_first_bucket_at_or_below_zero_gives_its_bound() -> None:
    assert quantile(0.1, {"-1": 5, "2": 8, "+Inf": 10}) == -1.0


@pytest.mark.parametrize(
    "counts",
    [
        {"1": 5, "2": 8},  # no +Inf bucket
        {"+Inf": 10},  # fewer than two buckets
        {"1": 0, "+Inf": 0},  # no observations
    ],
)
def test_nan_cases(counts: dict[str, float]) -> None:
    assert math.isnan(quantile(0.5, counts))


def test_nan_quantile() -> None:
    assert math.isnan(quantile(nan, BASIC))


def test_equal_bounds_are_merged() -> None:
    # "1" and "1.0" are one bucket of 10: rank 6 lies in (0.5, 1] at 4/8 of it
    counts = {"0.5": 2, "1": 5, "1.0": 5, "2": 10, "+Inf": 20}
    assert quantile(0.3, counts) == pytest.approx(0.75)


def test_decreasing_counts_are_forced_monotonic() -> None:
    # counts 5, 3, 8 become 5, 5, 8: rank 6 lies in (2, 3] at 1/3 of it
    assert quantile(0.75, {"1": 5, "2": 3, "3": 8, "+Inf": 8}) == pytest.approx(2 + 1 / 3)


def test_float_noise_between_buckets_is_ignored() -> None:
    # 10 + 1e-13 counts as 10 (relative difference below 1e-12)
    counts = np.array([[10.0], [10.0 + 1e-13], [20.0]])
    got = bucket_quantile(np.array([0.5]), np.array([1.0, 2.0, inf]), counts)
    assert got.tolist() == [1.0]


def test_histograms_differing_only_by_name_collide() -> None:
    series = {
        **buckets({"1": [1], "+Inf": [2]}, job="a"),
        **{
            ls.with_labels({"__name__": "other_bucket"}): v
            for ls, v in buckets({"1": [1], "+Inf": [2]}, job="a").items()
        },
    }
    with pytest.raises(EvalError, match="same labelset"):
        run("histogram_quantile", scalar(0.5), vector(series))


def test_groups_by_labels_without_le_and_name() -> None:
    series: dict[Labels, list[float | None]] = {
        **buckets({"1": [1], "+Inf": [2]}, job="a"),
        **buckets({"1": [2], "+Inf": [2]}, job="b"),
        Labels.of(__name__="req_bucket", job="c"): [1],  # no le: ignored
        Labels.of(__name__="req_bucket", le="junk", job="a"): [1],  # unparsable: ignored
    }
    out = rows(run("histogram_quantile", scalar(0.5), vector(series)))
    assert out == {Labels.of(job="a"): [1.0], Labels.of(job="b"): [0.5]}


def test_buckets_missing_at_some_steps() -> None:
    series = buckets({"1": [1, None, None], "2": [2, 2, None], "+Inf": [4, 4, None]})
    out = rows(run("histogram_quantile", scalar(0.5, 0.5, 0.5), vector(series), steps=3))
    # step 0: rank 2 -> bucket (1, 2] full -> 2; step 1: buckets 2, +Inf -> rank 2 -> 2 * 2/2
    assert out == {Labels(): [2.0, 2.0, None]}
