"""Push request decoding: limits, encodings, and robustness against arbitrary input."""

from __future__ import annotations

import contextlib
import gzip
import math
import zlib

import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from multimonx.config import IngestSection
from multimonx.ingest import (
    BadDataError,
    IngestError,
    Metadata,
    PayloadTooLargeError,
    UnsupportedEncodingError,
    decode_push,
    decompress,
)
from multimonx.model import Labels, MetricFamily, encode_push, encode_round, is_stale_nan

NOW_MS = 1_750_000_000_000
LIMITS = IngestSection()


@pytest.mark.parametrize(
    ("encoding", "body", "limit", "expected"),
    [
        (None, b"abc", 3, b"abc"),
        ("identity", b"abc", 3, b"abc"),
        ("IDENTITY", b"abc", 3, b"abc"),
        ("gzip", gzip.compress(b"abc"), 3, b"abc"),
        ("x-gzip", gzip.compress(b"abc"), 3, b"abc"),
        (" Gzip ", gzip.compress(b""), 0, b""),
    ],
)
def test_decompress_accepts(encoding: str | None, body: bytes, limit: int, expected: bytes) -> None:
    assert decompress(body, encoding, limit) == expected


@pytest.mark.parametrize(
    ("encoding", "body", "limit", "error"),
    [
        (None, b"abcd", 3, PayloadTooLargeError),
        ("gzip", gzip.compress(b"abcd"), 3, PayloadTooLargeError),
        ("gzip", gzip.compress(b"\0" * 10**7), 10**6, PayloadTooLargeError),
        ("gzip", b"abcd", 10, BadDataError),
        ("gzip", gzip.compress(b"abcd")[:-3], 10, BadDataError),
        ("gzip", gzip.compress(b"ab") + b"zz", 10, BadDataError),
        ("deflate", zlib.compress(b"ab"), 10, UnsupportedEncodingError),
        ("br", b"", 10, UnsupportedEncodingError),
    ],
)
def test_decompress_refuses(
    encoding: str, body: bytes, limit: int, error: type[IngestError]
) -> None:
    with pytest.raises(error):
        decompress(body, encoding, limit)


@pytest.mark.parametrize(
    ("error", "status"),
    [(BadDataError, 400), (PayloadTooLargeError, 413), (UnsupportedEncodingError, 415)],
)
def test_error_statuses(error: type[IngestError], status: int) -> None:
    assert error("x").status == status


def test_decodes_a_wire_request() -> None:
    fams = [MetricFamily.gauge("g", "h", ("a",), [(("1",), float("nan")), (("2",), 2.0)])]
    rounds = [
        encode_round(NOW_MS - 1000, {"instance": "i", "job": "j"}, fams),
        encode_round(NOW_MS, {"job": "j"}, fams),
    ]
    req = decode_push(
        encode_push({"instance": "agent-host", "interval_seconds": 5}, rounds), None, LIMITS, NOW_MS
    )
    assert req.agent.instance == "agent-host"
    assert req.agent.interval_seconds == 5.0
    assert len(req.samples) == 4
    labels, t, v = req.samples[0]
    assert labels == Labels.of(__name__="g", a="1", instance="i", job="j")
    assert t == NOW_MS - 1000
    assert math.isnan(v)
    assert not is_stale_nan(v)
    assert sorted((h.instance, h.job, h.newest_sample_ms) for h in req.hosts) == [
        ("agent-host", "j", NOW_MS),
        ("i", "j", NOW_MS - 1000),
    ]


def test_families_metadata_is_decoded_with_prometheus_type_names() -> None:
    first = [
        MetricFamily.counter("c_total", "old help", (), [((), 1.0)]),
        MetricFamily.untyped("u", 'raw "kernel" counter\\n', (), [((), 1.0)]),
    ]
    second = [MetricFamily.counter("c_total", "new help", (), [((), 2.0)])]
    rounds = [encode_round(NOW_MS - 1000, {}, first), encode_round(NOW_MS, {}, second)]
    req = decode_push(encode_push({"instance": "h"}, rounds), None, LIMITS, NOW_MS)
    assert dict(req.metadata) == {
        "c_total": Metadata("counter", "new help"),  # the last given wins
        "u": Metadata("unknown", 'raw "kernel" counter\\n'),  # the text format's untyped
    }


def test_stale_marker_decodes_to_the_stale_nan() -> None:
    body = orjson.dumps(
        {
            "version": 1,
            "rounds": [
                {"timestamp": NOW_MS, "families": [{"name": "m", "samples": [[[], "stale"]]}]}
            ],
        }
    )
    ((_, _, v),) = decode_push(body, None, LIMITS, NOW_MS).samples
    assert is_stale_nan(v)


def test_empty_label_values_are_absent_labels() -> None:
    body = orjson.dumps(
        {
            "version": 1,
            "rounds": [
                {
                    "timestamp": NOW_MS,
                    "labels": {"z": ""},
                    "families": [{"name": "m", "label_names": ["a"], "samples": [[[""], 1]]}],
                }
            ],
        }
    )
    ((labels, _, _),) = decode_push(body, None, LIMITS, NOW_MS).samples
    assert labels == Labels.of(__name__="m")


json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(2**63), 2**64 - 1)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=10),
    lambda inner: (
        st.lists(inner, max_size=4)
        | st.dictionaries(
            st.sampled_from(
                [
                    "version",
                    "agent",
                    "rounds",
                    "timestamp",
                    "labels",
                    "families",
                    "name",
                    "type",
                    "label_names",
                    "samples",
                    "instance",
                    "x",
                ]
            ),
            inner,
            max_size=5,
        )
    ),
    max_leaves=30,
)


@given(json_values)
@settings(max_examples=500, deadline=None)
def test_arbitrary_json_is_accepted_or_refused_cleanly(doc: object) -> None:
    with contextlib.suppress(IngestError):
        decode_push(orjson.dumps(doc), None, LIMITS, NOW_MS)


@given(st.binary(max_size=300))
@settings(max_examples=300, deadline=None)
def test_arbitrary_bytes_never_crash(body: bytes) -> None:
    for encoding in (None, "gzip"):
        with contextlib.suppress(IngestError):
            decode_push(body, encoding, LIMITS, NOW_MS)
