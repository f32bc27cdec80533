"""Chunk encoding: bit-exact round trips, the paths it takes, input errors, damaged chunks and
its compression on node_exporter-like data."""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from functools import partial

import numpy as np
import numpy.typing as npt
import pytest
import zstandard
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from multimonx.model import STALE_NAN
from multimonx.storage.tsdb.chunkenc import ChunkCodec, ChunkFormatError

I64_MIN = -(2**63)
I64_MAX = 2**63 - 1
CHUNK = 360
START_MS = 1_700_000_000_000

Chunk = tuple[npt.NDArray[np.int64], npt.NDArray[np.float64]]
"""Timestamps and values of one chunk."""

SETTINGS = settings(deadline=None, suppress_health_check=[HealthCheck.too_slow])


def floats_from_bits(bits: list[int]) -> npt.NDArray[np.float64]:
    """Float64 values with exactly these IEEE bit patterns."""
    return np.array(bits, dtype=np.uint64).view(np.float64)


def assert_same(
    got: tuple[npt.NDArray[np.int64], npt.NDArray[np.float64]],
    timestamps: npt.NDArray[np.int64],
    values: npt.NDArray[np.float64],
) -> None:
    """Timestamps equal and values bitwise equal, with the documented dtypes."""
    ts, vs = got
    assert ts.dtype == np.int64
    assert vs.dtype == np.float64
    assert ts.tolist() == timestamps.tolist()
    assert vs.view(np.uint64).tolist() == values.view(np.uint64).tolist()


@st.composite
def timestamps_st(draw: st.DrawFn, max_size: int = 400) -> npt.NDArray[np.int64]:
    """Strictly increasing int64 timestamps anywhere in the int64 range."""
    raw = draw(st.lists(st.integers(I64_MIN, I64_MAX), unique=True, max_size=max_size))
    return np.array(sorted(raw), dtype=np.int64)


@st.composite
def regular_timestamps_st(draw: st.DrawFn, max_size: int = 400) -> npt.NDArray[np.int64]:
    """Scrape-like timestamps: a start, an interval and small jitter (still increasing)."""
    n = draw(st.integers(0, max_size))
    start = draw(st.integers(-(2**50), 2**50))
    step = draw(st.integers(1_000, 60_000))
    jitter = draw(st.lists(st.integers(-200, 200), min_size=n, max_size=n))
    return start + np.arange(n, dtype=np.int64) * step + np.array(jitter, dtype=np.int64)


@st.composite
def any_bits_chunk(draw: st.DrawFn, max_size: int = 400) -> Chunk:
    """Arbitrary timestamps with arbitrary float64 bit patterns."""
    ts = draw(st.one_of(timestamps_st(max_size), regular_timestamps_st(max_size)))
    bits = draw(st.lists(st.integers(0, 2**64 - 1), min_size=len(ts), max_size=len(ts)))
    return ts, floats_from_bits(bits)


@st.composite
def integral_chunk(draw: st.DrawFn, max_size: int = 400) -> Chunk:
    """Counters (never decreasing) or integral gauges, up to the +/-2**53 edge."""
    ts = draw(regular_timestamps_st(max_size))
    n = len(ts)
    first = draw(st.integers(-(2**53), 2**53))
    if draw(st.booleans()):
        steps = draw(st.lists(st.integers(0, 1_000), min_size=n, max_size=n))
    else:
        steps = draw(st.lists(st.integers(-(2**20), 2**20), min_size=n, max_size=n))
    ints = np.clip(first + np.cumsum(np.array(steps, dtype=np.int64)), -(2**53), 2**53)
    return ts, ints.astype(np.float64)


@given(any_bits_chunk())
@SETTINGS
def test_round_trip_of_any_bit_pattern(
    chunk: Chunk,
) -> None:
    ts, values = chunk
    codec = ChunkCodec()
    assert_same(codec.decode(codec.encode(ts, values)), ts, values)


@given(integral_chunk())
@SETTINGS
def test_round_trip_of_integral_values(
    chunk: Chunk,
) -> None:
    ts, values = chunk
    codec = ChunkCodec()
    data = codec.encode(ts, values)
    assert_same(codec.decode(data), ts, values)


@given(regular_timestamps_st(), st.integers(0, 2**64 - 1))
@SETTINGS
def test_round_trip_of_constant_series(ts: npt.NDArray[np.int64], bits: int) -> None:
    values = floats_from_bits([bits] * len(ts))
    codec = ChunkCodec()
    assert_same(codec.decode(codec.encode(ts, values)), ts, values)


@given(st.data())
@SETTINGS
def test_round_trip_of_columns(data: st.DataObject) -> None:
    ts = data.draw(st.one_of(timestamps_st(max_size=100), regular_timestamps_st()))
    n = len(ts)
    columns = []
    for _ in range(data.draw(st.integers(0, 9))):
        if data.draw(st.booleans()):
            ints = data.draw(st.lists(st.integers(-(2**53), 2**53), min_size=n, max_size=n))
            columns.append(np.array(ints, dtype=np.float64))
        else:
            bits = data.draw(st.lists(st.integers(0, 2**64 - 1), min_size=n, max_size=n))
            columns.append(floats_from_bits(bits))
    codec = ChunkCodec()
    got_ts, got_columns = codec.decode_columns(codec.encode_columns(ts, columns))
    assert got_ts.tolist() == ts.tolist()
    assert len(got_columns) == len(columns)
    for got, want in zip(got_columns, columns, strict=True):
        assert got.view(np.uint64).tolist() == want.view(np.uint64).tolist()


@given(st.binary(max_size=200))
@SETTINGS
def test_garbage_is_a_format_error_or_decodes(data: bytes) -> None:
    codec = ChunkCodec()
    for decode in (codec.decode, codec.decode_columns):
        with contextlib.suppress(ChunkFormatError):
            decode(data)


NAN_PAYLOAD = floats_from_bits([0x7FF8_0000_DEAD_BEEF])[0]
NEG_NAN = floats_from_bits([0xFFF8_0000_0000_0001])[0]
SUBNORMAL = floats_from_bits([1])[0]

# (name, values, mode written in the header's bits 1-2: 0 XOR, 1 integer, 2 integer zigzag,
# 3 decimal)
EXAMPLES = [
    ("counter", [0.0, 5.0, 5.0, 17.0, 1e6], 1),
    ("constant integral", [42.0] * 5, 1),
    ("integral gauge going down", [10.0, 7.0, 9.0, -3.0, 0.0], 2),
    ("counter reset", [100.0, 120.0, 3.0, 8.0, 9.0], 2),
    ("2**53 edges", [2.0**53, -(2.0**53), 0.0, 1.0, 2.0**53], 2),
    ("beyond 2**53", [2.0**53 + 2, 0.0, 1.0, 2.0, 3.0], 0),
    ("two decimals", [0.5, 1.25, 1.37, 0.1, 3.0], 3),
    ("six decimals, negative", [-0.000001, 2.5, -3.141593, 0.0, 1.0], 3),
    ("not a decimal", [0.1 + 0.2, 1.0, 2.0, 3.0, 4.0], 0),
    ("beyond six decimals", [1e-7, 0.5, 1.0, 2.0, 3.0], 0),
    ("negative zero", [0.0, -0.0, 1.0, 2.0, 3.0], 0),
    ("staleness marker", [1.0, 2.0, STALE_NAN, 3.0, STALE_NAN], 0),
    ("NaN payloads", [np.nan, NAN_PAYLOAD, NEG_NAN, 1.0, np.nan], 0),
    ("infinities", [np.inf, -np.inf, 0.0, 1.0, np.inf], 0),
    ("subnormal and huge", [SUBNORMAL, -SUBNORMAL, 1.7976931348623157e308, -1e308, 5e-324], 0),
    ("huge first, decimal scale overflows", [1.8e302, 1.5, 2.25, 3.0, 4.0], 0),
]


@pytest.mark.parametrize(("name", "values", "mode"), EXAMPLES, ids=[e[0] for e in EXAMPLES])
def test_examples_round_trip_on_the_expected_path(
    name: str, values: list[float], mode: int
) -> None:
    ts = START_MS + np.arange(len(values), dtype=np.int64) * 5_000
    vs = np.array(values, dtype=np.float64)
    codec = ChunkCodec()
    data = codec.encode(ts, vs)
    assert data[0] >> 4 == 1, "version 1"
    assert (data[0] >> 1) & 3 == mode, name
    assert data[0] & 1 == 0, "single column"
    assert_same(codec.decode(data), ts, vs)
    got_ts, got_columns = codec.decode_columns(data)
    assert_same((got_ts, got_columns[0]), ts, vs)


@pytest.mark.parametrize(
    "timestamps",
    [
        [],
        [0],
        [I64_MIN],
        [I64_MAX],
        [I64_MIN, I64_MAX],
        [I64_MIN, -1, 0, 1, I64_MAX],
        [I64_MAX - 2, I64_MAX - 1, I64_MAX],
        [1, 2, 4, 8, 1_000_000, 1_000_001],
    ],
)
def test_extreme_timestamps_round_trip(timestamps: list[int]) -> None:
    ts = np.array(timestamps, dtype=np.int64)
    vs = np.arange(len(timestamps), dtype=np.float64)
    codec = ChunkCodec()
    assert_same(codec.decode(codec.encode(ts, vs)), ts, vs)


@pytest.mark.parametrize(
    ("timestamps", "values", "message"),
    [
        ([1, 1], [0.0, 0.0], "strictly increasing"),
        ([2, 1], [0.0, 0.0], "strictly increasing"),
        ([1, 2], [0.0], "shape"),
        ([1, 2], [0.0, 1.0, 2.0], "shape"),
        ([[1, 2]], [[0.0, 1.0]], "one-dimensional"),
        ([1.0, 2.0], [0.0, 1.0], "integers"),
    ],
)
def test_bad_input_is_a_value_error(
    timestamps: list[float], values: list[float], message: str
) -> None:
    codec = ChunkCodec()
    with pytest.raises(ValueError, match=message):
        codec.encode(np.array(timestamps), np.array(values))


def test_bad_column_is_a_value_error() -> None:
    codec = ChunkCodec()
    ts = np.array([1, 2, 3], dtype=np.int64)
    with pytest.raises(ValueError, match="shape"):
        codec.encode_columns(ts, [np.zeros(3), np.zeros(2)])
    with pytest.raises(ValueError, match="columns"):
        codec.encode_columns(ts, [np.zeros(3)] * 256)


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"", "empty"),
        (b"\x20\x00", "version"),
        (b"\x00\x00", "version"),
        (b"\x10", "truncated"),
        (b"\x10\x80\x80\x80\x80\x80\x01", "too long"),
        (b"\x10\x00\x00", "trailing"),
        (b"\x10\x05", "zstd"),
        (b"\x11", "header"),
        (b"\x13\x01\x00\x00", "header"),
        (b"\x11\x02", "truncated"),
        (b"\x11\x01\x04\x00", "modes"),
    ],
)
def test_malformed_chunks_are_format_errors(data: bytes, message: str) -> None:
    codec = ChunkCodec()
    with pytest.raises(ChunkFormatError, match=message):
        codec.decode_columns(data)


def test_a_decimal_chunk_with_a_bad_scale_is_a_format_error() -> None:
    codec = ChunkCodec()
    ts = START_MS + np.arange(4, dtype=np.int64) * 5_000
    data = codec.encode(ts, np.array([0.25, 0.5, 0.75, 1.0]))
    assert (data[0] >> 1) & 3 == 3
    raw = bytearray(zstandard.ZstdDecompressor().decompress(data[2:]))
    raw[8 * 4] |= 7  # low byte of the value column's first word: the scale k, now 7
    forged = data[:2] + zstandard.ZstdCompressor(write_checksum=True).compress(bytes(raw))
    with pytest.raises(ChunkFormatError, match="decimal scale"):
        codec.decode(forged)


def test_decode_refuses_a_multi_column_chunk() -> None:
    codec = ChunkCodec()
    ts = np.array([1, 2], dtype=np.int64)
    data = codec.encode_columns(ts, [np.zeros(2), np.ones(2)])
    with pytest.raises(ChunkFormatError, match="decode_columns"):
        codec.decode(data)


def test_payload_not_matching_the_count_is_a_format_error() -> None:
    codec = ChunkCodec()
    data = codec.encode(np.array([1, 2, 3], dtype=np.int64), np.array([1.0, 2.0, 3.0]))
    assert data[1] == 3
    with pytest.raises(ChunkFormatError, match="expected"):
        codec.decode(data[:1] + b"\x02" + data[2:])
    with pytest.raises(ChunkFormatError, match="trailing"):
        codec.decode(data + b"\x00")


def test_non_increasing_decoded_timestamps_are_a_format_error() -> None:
    codec = ChunkCodec()
    zeros = np.zeros(2, dtype=np.uint64)
    body = zeros.tobytes() + zeros.tobytes()  # timestamps 0, 0
    data = b"\x12\x02" + zstd_frame(body)
    with pytest.raises(ChunkFormatError, match="increasing"):
        codec.decode(data)


def zstd_frame(body: bytes) -> bytes:
    """A zstd frame like the codec writes (content size and checksum)."""
    return zstandard.ZstdCompressor(write_checksum=True).compress(body)


def damaged_samples() -> list[tuple[str, bytes]]:
    """Valid chunks of every kind, to truncate and bit-flip."""
    rng = np.random.default_rng(7)
    ts = START_MS + np.arange(60, dtype=np.int64) * 5_000 + rng.integers(-50, 50, 60)
    codec = ChunkCodec()
    counter = np.cumsum(rng.integers(0, 9, 60)).astype(np.float64)
    gauge = rng.random(60)
    walk = np.cumsum(rng.integers(-5, 6, 60)).astype(np.float64)
    return [
        ("integer", codec.encode(ts, counter)),
        ("zigzag", codec.encode(ts, walk)),
        ("xor", codec.encode(ts, gauge)),
        ("columns", codec.encode_columns(ts, [gauge, counter, walk, gauge, counter])),
        ("empty", codec.encode(ts[:0], gauge[:0])),
        ("empty columns", codec.encode_columns(ts[:0], [gauge[:0]] * 5)),
    ]


def truncations_and_bit_flips(data: bytes) -> list[bytes]:
    """Every prefix of ``data`` and every copy of it with one bit flipped."""
    candidates = [data[:cut] for cut in range(len(data))]
    for i in range(len(data)):
        for bit in range(8):
            flipped = bytearray(data)
            flipped[i] ^= 1 << bit
            candidates.append(bytes(flipped))
    return candidates


@pytest.mark.parametrize(("name", "data"), damaged_samples(), ids=[s[0] for s in damaged_samples()])
def test_every_truncation_and_bit_flip_is_a_format_error_or_decodes(name: str, data: bytes) -> None:
    codec = ChunkCodec()
    candidates = truncations_and_bit_flips(data)
    errors = 0
    for candidate in candidates:
        try:
            ts, columns = codec.decode_columns(candidate)
        except ChunkFormatError:
            errors += 1
            continue
        assert all(col.shape == ts.shape for col in columns), name
    # A flip can only go unnoticed in the header's mode bits (a different but valid decoding);
    # the zstd checksum and the length checks catch the rest.
    assert errors >= len(candidates) - 16, name


def test_any_level_decodes_any_level() -> None:
    ts = START_MS + np.arange(CHUNK, dtype=np.int64) * 5_000
    values = np.sin(np.arange(CHUNK) / 10.0)
    data = ChunkCodec(level=19).encode(ts, values)
    assert_same(ChunkCodec(level=1).decode(data), ts, values)


def test_decoded_arrays_are_writable_copies() -> None:
    codec = ChunkCodec()
    ts, values = codec.decode(codec.encode(np.array([1, 2], dtype=np.int64), np.ones(2)))
    ts[0] = 0
    values[0] = 5.0
    assert ts.flags.writeable
    assert values.flags.writeable


def node_exporter_like(seed: int) -> dict[str, Chunk]:
    """360-sample chunks shaped like node_exporter series scraped every 5 s (1% jitter)."""
    rng = np.random.default_rng(seed)

    def stamps() -> npt.NDArray[np.int64]:
        jitter = rng.normal(0, 50, CHUNK).round().astype(np.int64)
        return START_MS + np.arange(CHUNK, dtype=np.int64) * 5_000 + jitter

    load = np.clip(1.5 + np.cumsum(rng.normal(0, 0.05, CHUNK)), 0, None).round(2)
    return {
        "counter (+0..49 per scrape)": (
            stamps(),
            1e6 + np.cumsum(rng.integers(0, 50, CHUNK)).astype(np.float64),
        ),
        "byte counter (+0..200k)": (
            stamps(),
            3e12 + np.cumsum(rng.integers(0, 200_000, CHUNK)).astype(np.float64),
        ),
        "integral gauge (random walk)": (
            stamps(),
            8e9 + np.cumsum(rng.integers(-4096 * 50, 4096 * 50, CHUNK)).astype(np.float64),
        ),
        "load average (2 decimals)": (stamps(), load),
        "constant": (stamps(), np.full(CHUNK, 4.0)),
        "constant, exact 5 s": (
            START_MS + np.arange(CHUNK, dtype=np.int64) * 5_000,
            np.full(CHUNK, 1.0),
        ),
    }


def test_compression_on_node_exporter_like_data() -> None:
    codec = ChunkCodec()
    totals: dict[str, list[float]] = {}
    for seed in range(10):
        for name, (ts, values) in node_exporter_like(seed).items():
            data = codec.encode(ts, values)
            assert_same(codec.decode(data), ts, values)
            totals.setdefault(name, []).append(len(data) / CHUNK)
    print()
    for name, sizes in totals.items():
        print(f"{name:32s} {np.mean(sizes):6.3f} bytes/sample")
    # Loose bounds: raw storage is 16 bytes/sample.
    assert np.mean(totals["constant"]) < 3
    assert np.mean(totals["constant, exact 5 s"]) < 0.5
    assert np.mean(totals["counter (+0..49 per scrape)"]) < 4


# decode_many: many chunks in one vectorised pass, bit for bit what decode gives one by one.

SMALL = 120
"""The longest chunk drawn for lists of chunks (longer ones only slow the examples down)."""

SPECIAL_VALUES = [np.nan, STALE_NAN, NAN_PAYLOAD, NEG_NAN, np.inf, -np.inf, -0.0, 0.0, 1.5]


@st.composite
def decimal_chunk(draw: st.DrawFn, max_size: int = SMALL) -> Chunk:
    """Gauges with k = 1..6 decimals, like load averages (the decimal path)."""
    ts = draw(regular_timestamps_st(max_size))
    k = draw(st.integers(1, 6))
    ints = draw(st.lists(st.integers(-(10**12), 10**12), min_size=len(ts), max_size=len(ts)))
    return ts, np.array(ints, dtype=np.float64) / 10.0**k


@st.composite
def special_chunk(draw: st.DrawFn, max_size: int = SMALL) -> Chunk:
    """NaNs, stale markers, infinities and -0.0 among ordinary floats (the XOR path)."""
    ts = draw(timestamps_st(max_size))
    values = st.one_of(st.sampled_from(SPECIAL_VALUES), st.floats())
    return ts, np.array(draw(st.lists(values, min_size=len(ts), max_size=len(ts))))


def chunk_of_any_mode() -> st.SearchStrategy[Chunk]:
    """A chunk of 0 to SMALL samples taking any of the value paths."""
    return st.one_of(any_bits_chunk(SMALL), integral_chunk(SMALL), decimal_chunk(), special_chunk())


def decode_one_by_one(codec: ChunkCodec, blobs: list[bytes]) -> Chunk:
    """What decode_many must return: the concatenation of decoding each chunk alone."""
    parts = [codec.decode(blob) for blob in blobs]
    return (
        np.concatenate([np.empty(0, np.int64), *(ts for ts, _ in parts)]),
        np.concatenate([np.empty(0, np.float64), *(vs for _, vs in parts)]),
    )


@given(st.lists(chunk_of_any_mode(), max_size=30))
@SETTINGS
def test_decode_many_is_decode_one_by_one(chunks: list[Chunk]) -> None:
    codec = ChunkCodec()
    blobs = [codec.encode(ts, values) for ts, values in chunks]
    ts, values, counts = codec.decode_many(blobs)
    assert counts.dtype == np.int64
    assert counts.tolist() == [len(chunk_ts) for chunk_ts, _ in chunks]
    assert_same((ts, values), *decode_one_by_one(codec, blobs))
    assert_same(
        (ts, values),
        np.concatenate([np.empty(0, np.int64), *(chunk_ts for chunk_ts, _ in chunks)]),
        np.concatenate([np.empty(0, np.float64), *(chunk_vs for _, chunk_vs in chunks)]),
    )


@given(st.lists(chunk_of_any_mode(), max_size=30), st.binary(min_size=16, max_size=16))
@SETTINGS
def test_decode_many_skips_a_prefix(chunks: list[Chunk], prefix: bytes) -> None:
    codec = ChunkCodec()
    blobs = [codec.encode(ts, values) for ts, values in chunks]
    ts, values, counts = codec.decode_many([prefix + blob for blob in blobs], skip=16)
    assert counts.tolist() == [len(chunk_ts) for chunk_ts, _ in chunks]
    assert_same((ts, values), *decode_one_by_one(codec, blobs))


def test_decode_many_across_batches() -> None:
    """Enough chunks for several batches and for unshuffling plane by plane: every path,
    lengths from 0 to 400, timestamps starting over from chunk to chunk."""
    rng = np.random.default_rng(3)
    codec = ChunkCodec()
    blobs = []
    for i in range(1_200):
        n = int(rng.choice([0, 1, 2, 37, 90, 90, 90, 90, 400]))
        ts = START_MS + np.arange(n, dtype=np.int64) * 5_000 + rng.integers(-3, 4, n)
        kind = i % 5
        if kind == 0:
            values = np.cumsum(rng.integers(0, 5_000, n)).astype(np.float64)
        elif kind == 1:
            values = np.cumsum(rng.integers(-50, 50, n)).astype(np.float64)
        elif kind == 2:
            values = (rng.integers(0, 500, n) / 100.0).round(2)
        elif kind == 3:
            values = rng.random(n)
        else:
            values = rng.choice(np.array(SPECIAL_VALUES), n)
        blobs.append(codec.encode(ts, values))
    ts, values, counts = codec.decode_many(blobs)
    assert counts.sum() > 60_000
    assert_same((ts, values), *decode_one_by_one(codec, blobs))
    assert ts.flags.writeable
    assert values.flags.writeable


def test_decode_many_of_nothing() -> None:
    codec = ChunkCodec()
    for chunks in ([], [codec.encode(np.empty(0, np.int64), np.empty(0))] * 3):
        ts, values, counts = codec.decode_many(chunks)
        assert ts.dtype == np.int64
        assert values.dtype == np.float64
        assert counts.dtype == np.int64
        assert (ts.size, values.size) == (0, 0)
        assert counts.tolist() == [0] * len(chunks)


def test_decode_many_refuses_a_multi_column_chunk() -> None:
    codec = ChunkCodec()
    ts = np.array([1, 2], dtype=np.int64)
    good = codec.encode(ts, np.zeros(2))
    for columns in ([np.zeros(2)], [np.zeros(2), np.ones(2)]):
        data = codec.encode_columns(ts, columns)
        with pytest.raises(ChunkFormatError, match="decode_columns"):
            codec.decode_many([good, data, good])


def test_decode_many_refuses_a_negative_skip() -> None:
    with pytest.raises(ValueError, match="skip"):
        ChunkCodec().decode_many([], skip=-1)


def forged(mode: int, n: int, raw: bytes) -> bytes:
    """A single-column chunk of ``n`` samples around a payload made by hand."""
    return bytes([0x10 | mode << 1, n]) + zstd_frame(raw)


def halves(n: int) -> npt.NDArray[np.float64]:
    """0, 0.5, 1, ... (n values, on the decimal path)."""
    return np.array([i / 2 for i in range(n)], dtype=np.float64)


def format_error(decode: Callable[[], object]) -> str | None:
    """The message of the ChunkFormatError that ``decode()`` raises; None if it decodes."""
    try:
        decode()
    except ChunkFormatError as err:
        return str(err)
    return None


def damaged_chunks() -> list[tuple[str, bytes]]:
    """Chunks that decode refuses, one of each kind of damage."""
    codec = ChunkCodec()
    ts = START_MS + np.arange(6, dtype=np.int64) * 5_000
    good = codec.encode(ts, np.array([0.25, 0.5, 0.75, 1.0, 1.25, 1.5]))
    frame = good[2:]
    raw = zstandard.ZstdDecompressor().decompress(frame)
    flipped = bytearray(good)
    flipped[len(good) // 2] ^= 0x10
    bad_scale = bytearray(raw)
    bad_scale[8 * 6] |= 7
    return [
        ("empty", b""),
        ("unknown version", b"\x20" + good[1:]),
        ("unknown mode", b"\x18" + good[1:]),
        ("count truncated", b"\x10\x80"),
        ("count too long", b"\x10\x80\x80\x80\x80\x80\x01"),
        ("count of 2**31", b"\x10\x80\x80\x80\x80\x08" + frame),
        ("count too large for the frame", b"\x10\x90\x4e\x00\x00\x00"),
        ("bytes after an empty chunk", b"\x10\x00\x00"),
        ("count not the frame's", good[:1] + b"\x05" + frame),
        ("frame truncated", good[:-1]),
        ("bytes after the frame", good + b"\x00"),
        ("bit flipped", bytes(flipped)),
        ("decimal scale 7", good[:2] + zstd_frame(bytes(bad_scale))),
        ("timestamps not increasing", forged(0, 2, bytes(32))),
    ]


@pytest.mark.parametrize(
    ("name", "data"), damaged_chunks(), ids=[name for name, _ in damaged_chunks()]
)
def test_a_damaged_chunk_among_good_ones_fails_decode_many_as_decode(
    name: str, data: bytes
) -> None:
    codec = ChunkCodec()
    good = [codec.encode(START_MS + np.arange(n, dtype=np.int64), halves(n)) for n in (1, 90, 0, 7)]
    with pytest.raises(ChunkFormatError) as alone:
        codec.decode(data)
    chunks = [*good[:2], data, *good[2:]]
    with pytest.raises(ChunkFormatError) as among:
        codec.decode_many(chunks)
    assert str(among.value) == str(alone.value), name
    with pytest.raises(ChunkFormatError) as prefixed:
        codec.decode_many([b"\xff" * 16 + blob for blob in chunks], skip=16)
    assert str(prefixed.value) == str(alone.value), name


@pytest.mark.parametrize(("name", "data"), damaged_samples(), ids=[s[0] for s in damaged_samples()])
def test_every_truncation_and_bit_flip_fails_decode_many_as_decode(name: str, data: bytes) -> None:
    codec = ChunkCodec()
    good = codec.encode(np.array([5, 6], dtype=np.int64), np.array([1.0, -1.0]))
    candidates = truncations_and_bit_flips(data)
    for candidate in candidates:
        error = format_error(partial(codec.decode, candidate))
        assert format_error(partial(codec.decode_many, [good, candidate, good])) == error, name
        if error is not None:
            continue
        want = codec.decode(candidate)
        ts, values, counts = codec.decode_many([good, candidate, good])
        assert counts.tolist() == [2, len(want[0]), 2], name
        assert_same((ts[2:-2], values[2:-2]), *want)
