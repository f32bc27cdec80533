"""Hand-written data for the engine tests (no tests here) and helpers to read results.

Series (one sample a minute from 0 to 10 minutes unless said otherwise):

- ``metric{job="a",instance="1"}``: 0, 1, ..., 10 (value = minute)
- ``metric{job="a",instance="2"}``: 0, 2, ..., 20 (value = 2 * minute)
- ``metric{job="b",instance="1"}``: 100 at every minute
- ``other{job="a",instance="1"}``: 5; ``other{job="a",instance="2"}``: 4
- ``info{job="a",team="x"}``: 1; ``info{job="b",team="y"}``: 1
- ``stale``: 1 at 0 s, 2 at 60 s, a staleness marker at 120 s, 4 at 240 s
- ``sparse``: 7 at 0 s only
- ``twin_x{a="1"}`` and ``twin_y{a="1"}``: 1 and 2 (same labels but for the name)
"""

from __future__ import annotations

from collections.abc import Callable

from multimonx.model import STALE_NAN, Labels
from multimonx.promql.values import QueryResult
from multimonx.storage.memory import MemoryStorage

MINUTE = 60_000


def make_storage() -> MemoryStorage:
    """A fresh MemoryStorage holding the series described above."""
    storage = MemoryStorage()
    appender = storage.appender()
    per_minute: dict[Labels, Callable[[int], float]] = {
        Labels.of(__name__="metric", job="a", instance="1"): float,
        Labels.of(__name__="metric", job="a", instance="2"): lambda m: 2.0 * m,
        Labels.of(__name__="metric", job="b", instance="1"): lambda m: 100.0,
        Labels.of(__name__="other", job="a", instance="1"): lambda m: 5.0,
        Labels.of(__name__="other", job="a", instance="2"): lambda m: 4.0,
        Labels.of(__name__="info", job="a", team="x"): lambda m: 1.0,
        Labels.of(__name__="info", job="b", team="y"): lambda m: 1.0,
        Labels.of(__name__="twin_x", a="1"): lambda m: 1.0,
        Labels.of(__name__="twin_y", a="1"): lambda m: 2.0,
    }
    for labels, value in per_minute.items():
        for minute in range(11):
            appender.append(labels, minute * MINUTE, value(minute))
    stale = Labels.of(__name__="stale")
    for t_ms, v in ((0, 1.0), (MINUTE, 2.0), (2 * MINUTE, STALE_NAN), (4 * MINUTE, 4.0)):
        appender.append(stale, t_ms, v)
    appender.append(Labels.of(__name__="sparse"), 0, 7.0)
    appender.commit()
    return storage


def label_text(labels: Labels) -> str:
    """A compact, readable key: ``name{a="1",b="2"}``."""
    inner = ",".join(f'{n}="{v}"' for n, v in labels.pairs if n != "__name__")
    return f"{labels.metric_name}{{{inner}}}"


def as_dict(result: QueryResult) -> dict[str, float]:
    """An instant vector result as {labels: value}."""
    assert result.result_type == "vector", result
    assert result.vector is not None
    return {label_text(s.labels): s.value for s in result.vector}


def as_list(result: QueryResult) -> list[tuple[str, float]]:
    """An instant vector result as [(labels, value)] in result order."""
    assert result.result_type == "vector", result
    assert result.vector is not None
    return [(label_text(s.labels), s.value) for s in result.vector]


def as_points(result: QueryResult) -> dict[str, list[tuple[int, float]]]:
    """A matrix result as {labels: [(t_ms, value)]}."""
    assert result.result_type == "matrix", result
    assert result.matrix is not None
    return {
        label_text(s.labels): list(zip(s.timestamps.tolist(), s.values.tolist(), strict=True))
        for s in result.matrix
    }
