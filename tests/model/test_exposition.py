import json
import math

import pytest
from hypothesis import given
from hypothesis import strategies as st
from prometheus_client.parser import text_string_to_metric_families

from multimonx.model import (
    STALE_NAN,
    MetricFamily,
    MetricType,
    encode_push,
    encode_round,
    is_stale_nan,
    negotiate,
    render_openmetrics,
    render_text,
    same_value,
)
from multimonx.model.exposition import format_value


def _families() -> list[MetricFamily]:
    return [
        MetricFamily.counter(
            "node_cpu_seconds_total",
            "Seconds the CPUs spent in each mode.",
            ("cpu", "mode"),
            [(("0", "user"), 12.5), (("0", "idle"), 100.0)],
        ),
        MetricFamily.gauge("node_load1", "1m load average.", (), [((), 0.25)]),
        MetricFamily.gauge(
            "weird",
            'Help with \\ and\nnewline and "quotes".',
            ("v",),
            [(('a"b\\c\nd ☃ <script>',), 1.0), (("",), 2.0)],
        ),
    ]


def test_text_format_is_parsed_back_exactly_by_prometheus_client() -> None:
    text = render_text(_families())
    parsed = {f.name: f for f in text_string_to_metric_families(text)}
    cpu = parsed["node_cpu_seconds"]
    assert cpu.type == "counter"
    assert {(s.labels["mode"], s.value) for s in cpu.samples} == {("user", 12.5), ("idle", 100.0)}
    weird = parsed["weird"]
    assert weird.documentation == 'Help with \\ and\nnewline and "quotes".'
    values = sorted((s.value, s.labels.get("v")) for s in weird.samples)
    assert values == [(1.0, 'a"b\\c\nd ☃ <script>'), (2.0, None)]


def test_openmetrics_strips_total_from_the_family_and_ends_with_eof() -> None:
    text = render_openmetrics(_families())
    assert "# TYPE node_cpu_seconds counter\n" in text
    assert 'node_cpu_seconds_total{cpu="0",mode="user"} 12.5\n' in text
    assert text.endswith("# EOF\n")


@pytest.mark.parametrize(
    ("accept", "openmetrics"),
    [
        (None, False),
        ("text/plain", False),
        ("application/openmetrics-text;version=1.0.0,text/plain;version=0.0.4;q=0.5", True),
    ],
)
def test_negotiate(accept: str | None, openmetrics: bool) -> None:
    assert negotiate(accept)[1] is openmetrics


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (1.0, "1"),
        (0.5, "0.5"),
        (math.inf, "+Inf"),
        (-math.inf, "-Inf"),
        (math.nan, "NaN"),
        (1e20, "1e+20"),
        (-0.0, "0"),
    ],
)
def test_format_value(value: float, text: str) -> None:
    assert format_value(value) == text


def test_stale_nan_is_distinct_from_nan() -> None:
    assert is_stale_nan(STALE_NAN)
    assert not is_stale_nan(math.nan)
    assert not same_value(STALE_NAN, math.nan)
    assert same_value(STALE_NAN, STALE_NAN)
    assert not same_value(0.0, -0.0)


@given(st.floats(allow_nan=True, allow_infinity=True) | st.just(STALE_NAN))
def test_round_encoding_spells_every_value_in_json(value: float) -> None:
    family = MetricFamily.gauge("g", "h", ("a",), [(("x",), value)])
    body = encode_push({"instance": "h"}, [encode_round(1000, {"instance": "h"}, [family])])
    decoded = json.loads(body)  # strict JSON: no NaN/Infinity tokens
    wire = decoded["rounds"][0]["families"][0]["samples"][0][1]
    if is_stale_nan(value):
        assert wire == "stale"
    elif math.isnan(value):
        assert wire == "NaN"
    elif math.isinf(value):
        assert wire == ("+Inf" if value > 0 else "-Inf")
    else:
        assert wire == value


def test_encode_push_carries_rounds_in_order() -> None:
    rounds = [encode_round(t, {"instance": "h"}, []) for t in (3000, 1000, 2000)]
    decoded = json.loads(encode_push({"instance": "h", "version": "x"}, rounds))
    assert decoded["version"] == 1
    assert decoded["agent"] == {"instance": "h", "version": "x"}
    assert [r["timestamp"] for r in decoded["rounds"]] == [3000, 1000, 2000]
    assert MetricType.UNTYPED.value == "untyped"
