"""Naive per-step reference implementations of PromQL range functions, written straight
from the Prometheus 3.x formulas (one Python loop per step, Kahan-Neumaier summation where
Prometheus uses it), to check the vectorised ones against."""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable

Window = list[tuple[int, float]]  # (timestamp ms, value) of one step's window


def kahan_inc(inc: float, total: float, c: float) -> tuple[float, float]:
    """One Kahan-Neumaier step."""
    t = total + inc
    if math.isinf(t):
        c = 0.0
    elif abs(total) >= abs(inc):
        c += (total - t) + inc
    else:
        c += (inc - t) + total
    return t, c


def extrapolated(
    window: Window, end: int, range_ms: int, is_counter: bool, is_rate: bool
) -> float | None:
    if len(window) < 2:
        return None
    result = window[-1][1] - window[0][1]
    if is_counter:
        for (_, prev), (_, cur) in itertools.pairwise(window):
            if cur < prev:
                result += prev
    first_t, last_t = window[0][0], window[-1][0]
    to_start = (first_t - (end - range_ms)) / 1000
    to_end = (end - last_t) / 1000
    sampled = (last_t - first_t) / 1000
    average = sampled / (len(window) - 1)
    if to_start >= average * 1.1:
        to_start = average / 2
    if is_counter and result > 0 and window[0][1] >= 0:
        to_start = min(to_start, sampled * (window[0][1] / result))
    if to_end >= average * 1.1:
        to_end = average / 2
    factor = (sampled + to_start + to_end) / sampled
    if is_rate:
        factor /= range_ms / 1000
    return result * factor


def instant_value(window: Window, is_rate: bool) -> float | None:
    if len(window) < 2:
        return None
    (t0, v0), (t1, v1) = window[-2], window[-1]
    result = v1 - v0
    if is_rate:
        if v1 < v0:
            result = v1
        result /= (t1 - t0) / 1000
    return result


def regression(window: Window, origin: int) -> tuple[float, float]:
    n = sx = cx = sy = cy = sxy = cxy = sx2 = cx2 = 0.0
    init = window[0][1]
    constant = all(v == init for _, v in window[1:])
    for t, v in window:
        n += 1
        x = (t - origin) / 1000
        sx, cx = kahan_inc(x, sx, cx)
        sy, cy = kahan_inc(v, sy, cy)
        sxy, cxy = kahan_inc(x * v, sxy, cxy)
        sx2, cx2 = kahan_inc(x * x, sx2, cx2)
    if constant:
        return (math.nan, math.nan) if math.isinf(init) else (0.0, init)
    sx, sy, sxy, sx2 = sx + cx, sy + cy, sxy + cxy, sx2 + cx2
    slope = (sxy - sx * sy / n) / (sx2 - sx * sx / n)
    return slope, sy / n - slope * sx / n


def kahan_sum(values: list[float]) -> float:
    total = c = 0.0
    for v in values:
        total, c = kahan_inc(v, total, c)
    return total if math.isinf(total) else total + c


def variance(values: list[float]) -> float:
    count = mean = c_mean = aux = c_aux = 0.0
    for v in values:
        count += 1
        delta = v - (mean + c_mean)
        mean, c_mean = kahan_inc(delta / count, mean, c_mean)
        aux, c_aux = kahan_inc(delta * (v - (mean + c_mean)), aux, c_aux)
    return (aux + c_aux) / count


def quantile(q: float, values: list[float]) -> float:
    if not values or math.isnan(q):
        return math.nan
    if q < 0:
        return -math.inf
    if q > 1:
        return math.inf
    ordered = sorted(values, key=lambda v: (not math.isnan(v), v if not math.isnan(v) else 0))
    rank = q * (len(ordered) - 1)
    lower = max(0, math.floor(rank))
    upper = min(len(ordered) - 1, lower + 1)
    weight = rank - math.floor(rank)
    return ordered[lower] * (1 - weight) + ordered[upper] * weight


def pairs(window: Window, counts: Callable[[float, float], bool]) -> float:
    return float(sum(counts(a, b) for (_, a), (_, b) in itertools.pairwise(window)))


def fmax(values: list[float]) -> float:
    best = values[0]
    for v in values:
        if v > best or math.isnan(best):
            best = v
    return best


def fmin(values: list[float]) -> float:
    best = values[0]
    for v in values:
        if v < best or math.isnan(best):
            best = v
    return best


def predicted(window: Window, eval_ts: int, seconds: float) -> float:
    slope, intercept = regression(window, eval_ts)
    return slope * seconds + intercept


Reference = Callable[[Window, int, int, int, float], float | None]


def _values(w: Window) -> list[float]:
    return [v for _, v in w]


REFERENCES: dict[str, Reference] = {
    "rate": lambda w, end, ts, r, a: extrapolated(w, end, r, True, True),
    "increase": lambda w, end, ts, r, a: extrapolated(w, end, r, True, False),
    "delta": lambda w, end, ts, r, a: extrapolated(w, end, r, False, False),
    "irate": lambda w, end, ts, r, a: instant_value(w, True),
    "idelta": lambda w, end, ts, r, a: instant_value(w, False),
    "deriv": lambda w, end, ts, r, a: regression(w, w[0][0])[0] if len(w) >= 2 else None,
    "predict_linear": lambda w, end, ts, r, a: predicted(w, ts, a) if len(w) >= 2 else None,
    "changes": lambda w, end, ts, r, a: (
        pairs(w, lambda x, y: x != y and not (math.isnan(x) and math.isnan(y))) if w else None
    ),
    "resets": lambda w, end, ts, r, a: pairs(w, lambda x, y: y < x) if w else None,
    "sum_over_time": lambda w, end, ts, r, a: kahan_sum(_values(w)) if w else None,
    "avg_over_time": lambda w, end, ts, r, a: kahan_sum(_values(w)) / len(w) if w else None,
    "min_over_time": lambda w, end, ts, r, a: fmin(_values(w)) if w else None,
    "max_over_time": lambda w, end, ts, r, a: fmax(_values(w)) if w else None,
    "count_over_time": lambda w, end, ts, r, a: float(len(w)) if w else None,
    "present_over_time": lambda w, end, ts, r, a: 1.0 if w else None,
    "last_over_time": lambda w, end, ts, r, a: w[-1][1] if w else None,
    "first_over_time": lambda w, end, ts, r, a: w[0][1] if w else None,
    "stdvar_over_time": lambda w, end, ts, r, a: variance(_values(w)) if w else None,
    "stddev_over_time": lambda w, end, ts, r, a: math.sqrt(variance(_values(w))) if w else None,
    "quantile_over_time": lambda w, end, ts, r, a: quantile(a, _values(w)) if w else None,
    "mad_over_time": lambda w, end, ts, r, a: (
        quantile(0.5, [abs(v - quantile(0.5, _values(w))) for v in _values(w)]) if w else None
    ),
}
"""Per-window reference of every vectorised range function (``a`` is the scalar argument)."""
