"""Downsampled tiers: aggregates against a plain-loop reference with Prometheus's NaN and
staleness rules, merge against downsample, tier choice, and reading tiers back per function."""

from __future__ import annotations

import itertools
import math
import struct
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from multimonx.model import STALE_NAN, is_stale_nan, same_value
from multimonx.storage.tsdb.downsample import (
    STALE_NAN_BITS,
    Aggregates,
    Tier,
    TierChoice,
    choose_tier,
    downsample,
    least_buckets,
    merge,
    reconstruct,
    stale_mask,
)

MINUTE = 60_000
FIVE = 5 * MINUTE
HOUR = 60 * MINUTE
DAY = 24 * HOUR
NOW = 1_700_000_100_000  # on a 5-minute boundary

SETTINGS = settings(deadline=None, suppress_health_check=[HealthCheck.too_slow], max_examples=300)


def from_bits(bits: int) -> float:
    """The float64 with exactly this IEEE bit pattern."""
    value: float = struct.unpack("<d", struct.pack("<Q", bits))[0]
    return value


PAYLOAD_NAN = from_bits(0x7FF8_0000_0000_BEEF)
QUIET_STALE = from_bits(STALE_NAN_BITS | 0x0008_0000_0000_0000)
SPECIALS = [math.nan, PAYLOAD_NAN, STALE_NAN, math.inf, -math.inf, 0.0, -0.0, QUIET_STALE]


# --- reference: one sample at a time, as Prometheus's *_over_time functions do -------------


@dataclass
class RefBucket:
    start: int
    ts: int
    last: float
    low: float | None = None
    high: float | None = None
    total: float = 0.0
    count: int = 0


def ref_downsample(ts: list[int], vals: list[float], bucket_ms: int) -> list[RefBucket]:
    out: list[RefBucket] = []
    for t, v in zip(ts, vals, strict=True):
        start = (t // bucket_ms) * bucket_ms
        if not out or out[-1].start != start:
            out.append(RefBucket(start=start, ts=t, last=v))
        b = out[-1]
        b.ts, b.last = t, v
        if is_stale_nan(v):
            continue
        # min_over_time / max_over_time: replace a NaN, otherwise only on a strict < / >.
        if b.low is None or v < b.low or math.isnan(b.low):
            b.low = v
        if b.high is None or v > b.high or math.isnan(b.high):
            b.high = v
        b.total += v
        b.count += 1
    return out


def same_or_both_nan(a: float, b: float) -> bool:
    return (math.isnan(a) and math.isnan(b)) or same_value(a, b)


def assert_matches_reference(aggs: Aggregates, ref: list[RefBucket]) -> None:
    assert len(aggs) == len(ref)
    assert aggs.timestamps.tolist() == [b.ts for b in ref]
    assert aggs.bucket_start.tolist() == [b.start for b in ref]
    assert aggs.count.tolist() == [float(b.count) for b in ref]
    for i, b in enumerate(ref):
        assert same_value(float(aggs.last[i]), b.last), i  # bit for bit, stale marker too
        low = math.nan if b.low is None else b.low
        high = math.nan if b.high is None else b.high
        assert same_or_both_nan(float(aggs.min[i]), low), i
        assert same_or_both_nan(float(aggs.max[i]), high), i
        assert same_or_both_nan(float(aggs.sum[i]), b.total), i  # same order: exact
        for column in (aggs.min, aggs.max, aggs.sum):
            assert not is_stale_nan(float(column[i]))


# --- strategies -----------------------------------------------------------------------------


def values_strategy() -> st.SearchStrategy[float]:
    return st.one_of(
        st.floats(-1e9, 1e9, allow_nan=False),
        st.integers(-1000, 1000).map(float),
        st.sampled_from(SPECIALS),
    )


@st.composite
def series(
    draw: st.DrawFn, values: st.SearchStrategy[float] | None = None
) -> tuple[list[int], list[float]]:
    """Irregular timestamps (gaps from 1 ms to hours, negative times too) and values."""
    start = draw(st.integers(-(10**13), 10**13))
    gaps = draw(
        st.lists(
            st.one_of(st.integers(1, 20_000), st.sampled_from([1, 5_000, MINUTE, FIVE, HOUR])),
            max_size=120,
        )
    )
    ts = [start]
    for gap in gaps:
        ts.append(ts[-1] + gap)
    elements = values_strategy() if values is None else values
    vals = draw(st.lists(elements, min_size=len(ts), max_size=len(ts)))
    return ts, vals


@st.composite
def counters(draw: st.DrawFn) -> tuple[list[int], list[float]]:
    """Counter series on aligned 5 s scrapes with occasional resets and staleness markers."""
    start = draw(st.integers(0, 10**9)) * 5_000
    n = draw(st.integers(1, 200))
    total = float(draw(st.integers(0, 10**6)))
    ts: list[int] = []
    vals: list[float] = []
    for i in range(n):
        step = draw(st.sampled_from(["grow", "grow", "grow", "reset", "stale"]))
        if step == "reset":
            total = float(draw(st.integers(0, 10)))
        elif step == "grow":
            total += draw(st.integers(0, 1000))
        ts.append(start + i * 5_000)
        vals.append(STALE_NAN if step == "stale" else total)
    return ts, vals


def arrays(
    ts: list[int], vals: list[float]
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.float64]]:
    return np.array(ts, dtype=np.int64), np.array(vals, dtype=np.float64)


# --- downsample -----------------------------------------------------------------------------


@SETTINGS
@given(data=series(), bucket_ms=st.sampled_from([1, 7, 1_000, MINUTE, FIVE, HOUR]))
def test_downsample_matches_reference(data: tuple[list[int], list[float]], bucket_ms: int) -> None:
    ts, vals = data
    aggs = downsample(*arrays(ts, vals), bucket_ms)
    assert_matches_reference(aggs, ref_downsample(ts, vals, bucket_ms))


@SETTINGS
@given(data=counters())
def test_downsample_matches_reference_on_counters(data: tuple[list[int], list[float]]) -> None:
    ts, vals = data
    aggs = downsample(*arrays(ts, vals), MINUTE)
    assert_matches_reference(aggs, ref_downsample(ts, vals, MINUTE))


@pytest.mark.parametrize(
    ("values", "expected"),
    [
        # (values in one bucket) -> (min, max, sum, count, last)
        ([1.0, 2.0, 3.0], (1.0, 3.0, 6.0, 3.0, 3.0)),
        ([math.nan, 2.0, 1.0], (1.0, 2.0, math.nan, 3.0, 1.0)),
        ([2.0, math.nan], (2.0, 2.0, math.nan, 2.0, math.nan)),
        ([math.nan, math.nan], (math.nan, math.nan, math.nan, 2.0, math.nan)),
        ([1.0, STALE_NAN], (1.0, 1.0, 1.0, 1.0, STALE_NAN)),
        ([STALE_NAN, 4.0], (4.0, 4.0, 4.0, 1.0, 4.0)),
        ([STALE_NAN], (math.nan, math.nan, 0.0, 0.0, STALE_NAN)),
        ([math.inf, -math.inf], (-math.inf, math.inf, math.nan, 2.0, -math.inf)),
        ([math.inf, 1.0], (1.0, math.inf, math.inf, 2.0, 1.0)),
        ([0.0, -0.0], (0.0, 0.0, 0.0, 2.0, -0.0)),
        ([-0.0, 0.0], (-0.0, -0.0, 0.0, 2.0, 0.0)),
        ([-0.0, -0.0], (-0.0, -0.0, 0.0, 2.0, -0.0)),
        ([PAYLOAD_NAN], (math.nan, math.nan, math.nan, 1.0, PAYLOAD_NAN)),
        ([QUIET_STALE, 1.0], (1.0, 1.0, math.nan, 2.0, 1.0)),
    ],
)
def test_one_bucket_semantics(values: list[float], expected: tuple[float, ...]) -> None:
    ts = [1_000 * (i + 1) for i in range(len(values))]
    aggs = downsample(*arrays(ts, values), MINUTE)
    got = (aggs.min[0], aggs.max[0], aggs.sum[0], aggs.count[0], aggs.last[0])
    assert len(aggs) == 1
    assert aggs.timestamps[0] == ts[-1]
    for g, e in zip(got, expected, strict=True):
        assert same_or_both_nan(float(g), e), (got, expected)
    assert same_value(float(aggs.last[0]), expected[-1])  # last keeps payloads bit for bit


def test_buckets_are_aligned_half_open_and_empty_ones_absent() -> None:
    ts = [-1, 0, MINUTE - 1, MINUTE, 3 * MINUTE + 5]
    aggs = downsample(*arrays(ts, [1.0, 2.0, 3.0, 4.0, 5.0]), MINUTE)
    assert aggs.bucket_start.tolist() == [-MINUTE, 0, MINUTE, 3 * MINUTE]
    assert aggs.timestamps.tolist() == [-1, MINUTE - 1, MINUTE, 3 * MINUTE + 5]
    assert aggs.count.tolist() == [1.0, 2.0, 1.0, 1.0]
    assert aggs.sum.tolist() == [1.0, 5.0, 4.0, 5.0]


def test_empty_input_gives_no_buckets() -> None:
    aggs = downsample(np.empty(0, dtype=np.int64), np.empty(0), MINUTE)
    assert len(aggs) == 0
    assert len(merge(aggs, FIVE)) == 0
    ts, vals, counts = reconstruct(aggs, "avg_over_time")
    assert ts.size == 0
    assert vals.size == 0
    assert counts.size == 0


@pytest.mark.parametrize(
    ("ts", "vals", "bucket_ms", "error"),
    [
        ([2, 1], [1.0, 2.0], MINUTE, ValueError),
        ([1, 1], [1.0, 2.0], MINUTE, ValueError),
        ([1, 2], [1.0], MINUTE, ValueError),
        ([1], [1.0], 0, ValueError),
        ([1], [1.0], -MINUTE, ValueError),
        ([1], [1.0], 1.5, TypeError),
    ],
)
def test_downsample_rejects_bad_input(
    ts: list[int], vals: list[float], bucket_ms: int, error: type[Exception]
) -> None:
    with pytest.raises(error):
        downsample(np.array(ts, dtype=np.int64), np.array(vals, dtype=np.float64), bucket_ms)


def test_stale_mask_is_bitwise() -> None:
    vals = np.array([*SPECIALS, 1.0])
    assert stale_mask(vals).tolist() == [is_stale_nan(v) for v in [*SPECIALS, 1.0]]
    assert stale_mask(vals).sum() == 1
    assert STALE_NAN_BITS == 0x7FF0000000000002


# --- merge ----------------------------------------------------------------------------------


def assert_merge_equals_direct(ts: list[int], vals: list[float], fine: int, coarse: int) -> None:
    t, v = arrays(ts, vals)
    merged = merge(downsample(t, v, fine), coarse)
    direct = downsample(t, v, coarse)
    assert merged.timestamps.tolist() == direct.timestamps.tolist()
    assert merged.bucket_start.tolist() == direct.bucket_start.tolist()
    assert merged.count.tolist() == direct.count.tolist()
    for name in ("min", "max", "last"):
        for a, b in zip(getattr(merged, name), getattr(direct, name), strict=True):
            if name == "last":
                assert same_value(float(a), float(b))
            else:
                assert same_or_both_nan(float(a), float(b)), name
    # sum: added in another order, so equal up to rounding (bounded by n * eps * sum(|v|)).
    for i, (a, b) in enumerate(zip(merged.sum, direct.sum, strict=True)):
        if not math.isfinite(b):
            assert same_or_both_nan(float(a), float(b))
            continue
        in_bucket = [
            abs(x)
            for x, k in zip(vals, ts, strict=True)
            if k // coarse * coarse == direct.bucket_start[i] and not is_stale_nan(x)
        ]
        assert abs(a - b) <= len(in_bucket) * 2.3e-16 * sum(in_bucket)


@SETTINGS
@given(
    data=series(),
    sizes=st.sampled_from([(MINUTE, FIVE), (1_000, MINUTE), (7, 21), (FIVE, HOUR)]),
)
def test_merge_equals_direct_downsample(
    data: tuple[list[int], list[float]], sizes: tuple[int, int]
) -> None:
    assert_merge_equals_direct(*data, *sizes)


@SETTINGS
@given(data=series(st.integers(-(10**6), 10**6).map(float)))
def test_merge_sum_is_exact_for_integral_values(data: tuple[list[int], list[float]]) -> None:
    t, v = arrays(*data)
    assert merge(downsample(t, v, MINUTE), FIVE).sum.tolist() == downsample(t, v, FIVE).sum.tolist()


@SETTINGS
@given(data=counters())
def test_merge_equals_direct_on_counters_and_chains(data: tuple[list[int], list[float]]) -> None:
    t, v = arrays(*data)
    direct = downsample(t, v, HOUR)
    chained = merge(merge(downsample(t, v, MINUTE), FIVE), HOUR)
    for name in ("timestamps", "bucket_start", "min", "max", "sum", "count"):
        assert np.array_equal(getattr(chained, name), getattr(direct, name), equal_nan=True), name
    assert chained.last.view(np.uint64).tolist() == direct.last.view(np.uint64).tolist()


def test_merge_keeps_staleness_at_the_end_of_the_coarse_bucket() -> None:
    ts = [10_000, 70_000, 130_000]  # one sample per minute, the last a staleness marker
    merged = merge(downsample(*arrays(ts, [1.0, 2.0, STALE_NAN]), MINUTE), FIVE)
    assert merged.timestamps.tolist() == [130_000]
    assert is_stale_nan(float(merged.last[0]))
    assert (merged.count[0], merged.sum[0], merged.min[0], merged.max[0]) == (2.0, 3.0, 1.0, 2.0)


def test_merge_rejects_a_size_that_is_not_a_multiple() -> None:
    aggs = downsample(*arrays([60_000, 100_000], [1.0, 2.0]), MINUTE)
    with pytest.raises(ValueError, match="multiple"):
        merge(aggs, 90_000)


def test_aggregates_validate_their_arrays() -> None:
    ints = np.zeros(2, dtype=np.int64)
    floats = np.zeros(2)
    Aggregates(ints, ints, floats, floats, floats, floats, floats)
    with pytest.raises(ValueError, match="count"):
        Aggregates(ints, ints, floats, floats, floats, np.zeros(3), floats)
    narrow: Any = ints.astype(np.int32)
    with pytest.raises(ValueError, match="bucket_start"):
        Aggregates(ints, narrow, floats, floats, floats, floats, floats)


# --- choose_tier ----------------------------------------------------------------------------

RAW = Tier("raw", 0, DAY)
ONE = Tier("1m", MINUTE, 7 * DAY)
FIVE_TIER = Tier("5m", FIVE, 30 * DAY)
TIERS = [RAW, ONE, FIVE_TIER]


@pytest.mark.parametrize(
    ("start_ago", "step_ms", "expected"),
    [
        (HOUR, 15_000, TierChoice(RAW, covers_start=True, fits=True)),
        (HOUR, 0, TierChoice(RAW, covers_start=True, fits=True)),
        (HOUR, 59_999, TierChoice(RAW, covers_start=True, fits=True)),
        (HOUR, MINUTE, TierChoice(ONE, covers_start=True, fits=True)),
        (HOUR, 2 * MINUTE, TierChoice(ONE, covers_start=True, fits=True)),
        (HOUR, FIVE, TierChoice(FIVE_TIER, covers_start=True, fits=True)),
        (HOUR, HOUR, TierChoice(FIVE_TIER, covers_start=True, fits=True)),
        (DAY, 15_000, TierChoice(RAW, covers_start=True, fits=True)),  # exactly retained
        (DAY + 1, 15_000, TierChoice(ONE, covers_start=True, fits=False)),  # raw expired
        (2 * DAY, 0, TierChoice(ONE, covers_start=True, fits=False)),
        (2 * DAY, MINUTE, TierChoice(ONE, covers_start=True, fits=True)),
        (2 * DAY, HOUR, TierChoice(FIVE_TIER, covers_start=True, fits=True)),
        (10 * DAY, 15_000, TierChoice(FIVE_TIER, covers_start=True, fits=False)),
        (10 * DAY, MINUTE, TierChoice(FIVE_TIER, covers_start=True, fits=False)),
        (10 * DAY, HOUR, TierChoice(FIVE_TIER, covers_start=True, fits=True)),
        (60 * DAY, HOUR, TierChoice(FIVE_TIER, covers_start=False, fits=True)),
        (60 * DAY, 15_000, TierChoice(FIVE_TIER, covers_start=False, fits=False)),
        (-HOUR, 15_000, TierChoice(RAW, covers_start=True, fits=True)),  # future range
    ],
)
def test_choose_tier(start_ago: int, step_ms: int, expected: TierChoice) -> None:
    start = NOW - start_ago
    end = max(NOW, start)
    assert choose_tier(start, end, step_ms, NOW, TIERS) == expected
    assert choose_tier(start, end, step_ms, NOW, list(reversed(TIERS))) == expected


@pytest.mark.parametrize(
    ("start_ago", "end_shift", "step_ms", "range_ms", "func", "expected"),
    [
        # evaluation times off bucket boundaries: windows would hold part of a bucket
        (HOUR, 15_000, FIVE, None, None, TierChoice(RAW, covers_start=True, fits=True)),
        (HOUR, MINUTE, FIVE, None, None, TierChoice(ONE, covers_start=True, fits=True)),
        (HOUR, 0, 90_000, None, None, TierChoice(RAW, covers_start=True, fits=True)),
        (HOUR, 0, 7 * MINUTE, None, None, TierChoice(ONE, covers_start=True, fits=True)),
        # an instant selector reads `last` whatever encloses it (a subquery's function)
        (HOUR, 0, FIVE, None, "quantile_over_time", TierChoice(FIVE_TIER, True, fits=True)),
        # aggregates need a range of whole buckets
        (HOUR, 0, FIVE, FIVE, "max_over_time", TierChoice(FIVE_TIER, True, fits=True)),
        (HOUR, 0, FIVE, 7 * MINUTE, "avg_over_time", TierChoice(ONE, True, fits=True)),
        (HOUR, 0, FIVE, 30_000, "count_over_time", TierChoice(RAW, True, fits=True)),
        (HOUR, 0, HOUR, HOUR, "last_over_time", TierChoice(FIVE_TIER, True, fits=True)),
        # two-point functions need two buckets: rate(x[1m]) at a 5m step stays raw
        (HOUR, 0, FIVE, MINUTE, "rate", TierChoice(RAW, covers_start=True, fits=True)),
        (HOUR, 0, FIVE, FIVE, "rate", TierChoice(ONE, covers_start=True, fits=True)),
        (HOUR, 0, FIVE, 2 * FIVE, "increase", TierChoice(FIVE_TIER, True, fits=True)),
        (HOUR, 0, HOUR, 2 * MINUTE, "changes", TierChoice(ONE, covers_start=True, fits=True)),
        # what bucket aggregates cannot answer reads raw while it is kept...
        (HOUR, 0, HOUR, HOUR, "quantile_over_time", TierChoice(RAW, True, fits=True)),
        (HOUR, 0, HOUR, HOUR, "stddev_over_time", TierChoice(RAW, True, fits=True)),
        (HOUR, 0, HOUR, HOUR, None, TierChoice(RAW, covers_start=True, fits=True)),
        # ... then the finest tier left, approximately
        (2 * DAY, 0, HOUR, HOUR, "quantile_over_time", TierChoice(ONE, True, fits=False)),
        (2 * DAY, 0, FIVE, MINUTE, "rate", TierChoice(ONE, covers_start=True, fits=False)),
        (2 * DAY, 0, FIVE, FIVE, "rate", TierChoice(ONE, covers_start=True, fits=True)),
        (10 * DAY, 0, FIVE, FIVE, "rate", TierChoice(FIVE_TIER, True, fits=False)),
        (60 * DAY, 0, HOUR, HOUR, "rate", TierChoice(FIVE_TIER, False, fits=True)),
    ],
)
def test_choose_tier_needs_a_tier_that_answers_the_select(
    start_ago: int,
    end_shift: int,
    step_ms: int,
    range_ms: int | None,
    func: str | None,
    expected: TierChoice,
) -> None:
    start = NOW - start_ago
    end = NOW - end_shift
    got = choose_tier(start, end, step_ms, NOW, TIERS, range_ms=range_ms, func=func)
    assert got == expected


@pytest.mark.parametrize(
    ("func", "least"),
    [
        ("max_over_time", 1),
        ("avg_over_time", 1),
        ("last_over_time", 1),
        ("present_over_time", 1),
        ("rate", 2),
        ("irate", 2),
        ("resets", 2),
        ("predict_linear", 2),
        ("quantile_over_time", None),
        ("first_over_time", None),
        ("mad_over_time", None),
        ("double_exponential_smoothing", None),
        (None, None),
    ],
)
def test_least_buckets(func: str | None, least: int | None) -> None:
    assert least_buckets(func) == least


def test_choose_tier_prefers_the_finest_of_equally_long_retentions() -> None:
    tiers = [Tier("5m", FIVE, 7 * DAY), Tier("1m", MINUTE, 7 * DAY)]
    assert choose_tier(NOW - 30 * DAY, NOW, HOUR, NOW, tiers).tier.name == "1m"


@pytest.mark.parametrize(
    ("start", "end", "step", "tiers", "message"),
    [
        (NOW, NOW, 0, [], "no tiers"),
        (NOW, NOW - 1, 0, TIERS, "end_ms"),
        (NOW, NOW, -1, TIERS, "step_ms"),
    ],
)
def test_choose_tier_rejects_bad_input(
    start: int, end: int, step: int, tiers: list[Tier], message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        choose_tier(start, end, step, NOW, tiers)


@pytest.mark.parametrize(
    ("bucket", "retention", "message"),
    [(-1, DAY, "bucket_ms"), (0, 0, "retention_ms"), (MINUTE, -DAY, "retention_ms")],
)
def test_tier_rejects_bad_settings(bucket: int, retention: int, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        Tier("x", bucket, retention)


# --- reconstruct ----------------------------------------------------------------------------

# Three one-minute buckets: [1, NaN, 3] / only a staleness marker / [4, 6].
RECON_TS = [1_000, 2_000, 3_000, 61_000, 121_000, 122_000]
RECON_VALS = [1.0, math.nan, 3.0, STALE_NAN, 4.0, 6.0]


@pytest.mark.parametrize(
    ("func", "timestamps", "values", "counts"),
    [
        (None, [3_000, 61_000, 122_000], [3.0, STALE_NAN, 6.0], [3.0, 0.0, 2.0]),
        ("rate", [3_000, 61_000, 122_000], [3.0, STALE_NAN, 6.0], [3.0, 0.0, 2.0]),
        ("irate", [3_000, 61_000, 122_000], [3.0, STALE_NAN, 6.0], [3.0, 0.0, 2.0]),
        ("last_over_time", [3_000, 61_000, 122_000], [3.0, STALE_NAN, 6.0], [3.0, 0.0, 2.0]),
        ("max_over_time", [3_000, 122_000], [3.0, 6.0], [3.0, 2.0]),
        ("min_over_time", [3_000, 122_000], [1.0, 4.0], [3.0, 2.0]),
        ("sum_over_time", [3_000, 122_000], [math.nan, 10.0], [3.0, 2.0]),
        ("count_over_time", [3_000, 122_000], [3.0, 2.0], [3.0, 2.0]),
        # sums, not means: the engine divides the summed sums by the summed counts
        ("avg_over_time", [3_000, 122_000], [math.nan, 10.0], [3.0, 2.0]),
    ],
)
def test_reconstruct_per_function(
    func: str | None, timestamps: list[int], values: list[float], counts: list[float]
) -> None:
    aggs = downsample(*arrays(RECON_TS, RECON_VALS), MINUTE)
    ts, vals, behind = reconstruct(aggs, func)
    assert ts.dtype == np.int64
    assert vals.dtype == np.float64
    assert behind.dtype == np.float64
    assert ts.tolist() == timestamps
    assert behind.tolist() == counts
    assert len(vals) == len(values)
    for got, want in zip(vals.tolist(), values, strict=True):
        assert same_value(got, want) if is_stale_nan(want) else same_or_both_nan(got, want)


def test_reconstruct_returns_copies() -> None:
    aggs = downsample(*arrays([1_000], [1.0]), MINUTE)
    for func in (None, "count_over_time"):
        ts, vals, counts = reconstruct(aggs, func)
        ts[0], vals[0], counts[0] = 0, 0.0, 0.0
        assert (aggs.timestamps[0], aggs.last[0], aggs.count[0]) == (1_000, 1.0, 1.0)


def ref_increase(ts: list[int], vals: list[float]) -> float:
    """Prometheus's un-extrapolated increase: last - first plus the value before each drop,
    staleness markers removed as in a range vector."""
    points = [v for v in vals if not is_stale_nan(v)]
    total = points[-1] - points[0]
    for prev, cur in itertools.pairwise(points):
        if cur < prev:
            total += prev
    return total


@SETTINGS
@given(data=counters())
def test_last_is_the_raw_series_thinned_to_bucket_ends(data: tuple[list[int], list[float]]) -> None:
    """So rate/increase over the tier equal rate/increase over the raw samples at the
    buckets' last timestamps."""
    ts, vals = data
    tier_ts, tier_vals, _ = reconstruct(downsample(*arrays(ts, vals), MINUTE), None)
    ends = [b.ts for b in ref_downsample(ts, vals, MINUTE)]
    raw = dict(zip(ts, vals, strict=True))
    assert tier_ts.tolist() == ends
    assert all(same_value(raw[t], v) for t, v in zip(ends, tier_vals.tolist(), strict=True))


@pytest.mark.parametrize(
    ("buckets", "raw_increase", "tier_increase"),
    [
        # 5 s scrapes; increase from the last sample of the first bucket to the end.
        # steady growth: the same
        ([[float(i) for i in range(12)], [float(12 + i) for i in range(12)]], 12.0, 12.0),
        # reset between two buckets' last samples: a drop of `last`, corrected the same way
        ([[100.0 + i for i in range(12)], [float(i) for i in range(12)]], 11.0, 11.0),
        # reset inside a bucket that ends below the previous bucket's last: seen as a reset,
        # only the growth before it (111 -> 112) is lost
        ([[100.0, 111.0], [112.0, 5.0, 50.0]], 50.0 + 112.0 - 111.0, 50.0),
        # reset inside a bucket, then growth past the previous bucket's last: invisible,
        # the growth before the reset (111 -> 117) is lost
        ([[100.0, 111.0], [112.0, 117.0, 0.0, 150.0, 250.0]], 250.0 - 111.0 + 117.0, 139.0),
    ],
)
def test_counter_resets_through_last(
    buckets: list[list[float]], raw_increase: float, tier_increase: float
) -> None:
    ts: list[int] = []
    vals: list[float] = []
    for k, bucket in enumerate(buckets):
        ts += [k * MINUTE + 1_000 + 5_000 * i for i in range(len(bucket))]
        vals += bucket
    first = len(buckets[0]) - 1
    assert ref_increase(ts[first:], vals[first:]) == raw_increase
    tier_ts, tier_vals, _ = reconstruct(downsample(*arrays(ts, vals), MINUTE), "increase")
    assert tier_ts.tolist() == [ts[first], ts[-1]]
    assert ref_increase(tier_ts.tolist(), tier_vals.tolist()) == tier_increase
