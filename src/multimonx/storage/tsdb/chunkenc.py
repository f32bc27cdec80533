"""Chunk encoding: one compact, self-describing byte string per chunk of one series.

A chunk holds strictly increasing int64 millisecond timestamps and one column of float64 values
(raw tier) or several (downsampled tiers: min, max, sum, count, last). Layout::

    byte 0      version (high nibble, currently 1) | flags (low nibble):
                  bit 0     COLUMNS: multi-column chunk
                  bits 1-2  the value column's mode when not COLUMNS (0 otherwise)
    [COLUMNS]   1 byte: column count n, then ceil(n / 4) bytes: each column's mode in 2 bits
                (column i in bits 2*(i%4) of byte i//4), unused bits zero
    varint      sample count (unsigned LEB128)
    [count > 0] one zstd frame (content size and checksum included) of, in order:
                  timestamps: first, first delta, then delta-of-delta;
                  each value column: integer path or XOR path;
                every stream byte-shuffled.

Value column modes: 0 XOR, 1 integer, 2 integer zigzag, 3 decimal (values that are exact
multiples of 10^-k, k in 1..6, such as two-decimal gauges: stored as zigzagged deltas of
value * 10^k, the first word carrying k in its low 3 bits; used only when dividing back
reproduces every value bit for bit).
The integer path is taken only when it is exact, i.e. every value is finite, integral, within
+/-2**53 and not -0.0: the first value then the deltas of the values as int64, zigzag-mapped
when any delta is negative (gauges), left as they are otherwise (counters: zigzag would only
double them).
XOR path (everything else): the IEEE bits of each value XOR the previous value's bits, so every
pattern (NaN payloads, the staleness marker, +/-Inf, -0.0, subnormals) round-trips bit-exactly.

Zigzag (``(x << 1) ^ (x >> 63)``) maps small negative integers (timestamp jitter, falling
gauges) to small unsigned ones, so their high bytes are zero like those of small positive ones.
Timestamp streams are always zigzagged.
Byte shuffling writes all first bytes, then all second bytes, ...: runs of equal deltas and
small numbers become long runs of zero bytes for zstd. All arithmetic is wrapping int64, so
even timestamps spanning the whole int64 range round-trip.
"""

from __future__ import annotations

import struct
from collections.abc import Sequence

import numpy as np
import numpy.typing as npt
import zstandard

__all__ = ["ChunkCodec", "ChunkFormatError"]

VERSION = 1
"""The format version written in the high nibble of the first byte."""

_FLAG_COLUMNS = 0x1
_MODE_XOR = 0
_MODE_INT = 1
_MODE_INT_ZIGZAG = 2
_MODE_DECIMAL = 3
_MODES = (_MODE_XOR, _MODE_INT, _MODE_INT_ZIGZAG, _MODE_DECIMAL)
_MAX_DECIMALS = 6
_MAX_COLUMNS = 255
_MAX_COUNT = 1 << 31
_MAX_EXACT_INT = float(2**53)
_SHIFT_1 = np.uint64(1)


class ChunkFormatError(ValueError):
    """A chunk that cannot be decoded: truncated, corrupt, or of an unknown version."""


def _zigzag(x: npt.NDArray[np.int64]) -> npt.NDArray[np.uint64]:
    """Signed to unsigned so that small magnitudes of either sign have zero high bytes."""
    u = x.view(np.uint64)
    sign = (x >> 63).view(np.uint64)
    mapped: npt.NDArray[np.uint64] = np.bitwise_xor(u << _SHIFT_1, sign)
    return mapped


def _unzigzag(u: npt.NDArray[np.uint64]) -> npt.NDArray[np.int64]:
    """Inverse of ``_zigzag``."""
    neg = np.negative((u & _SHIFT_1).view(np.int64)).view(np.uint64)
    signed: npt.NDArray[np.int64] = np.bitwise_xor(u >> _SHIFT_1, neg).view(np.int64)
    return signed


def _shuffle(words: npt.NDArray[np.uint64]) -> bytes:
    """Byte-shuffle little-endian 64-bit words: all byte 0s, then all byte 1s, ..."""
    return np.ascontiguousarray(words, dtype="<u8").view(np.uint8).reshape(-1, 8).T.tobytes()


def _unshuffle(raw: bytes, n: int) -> npt.NDArray[np.uint64]:
    """Inverse of ``_shuffle`` for ``n`` words held in ``raw`` (exactly 8 * n bytes)."""
    planes = np.frombuffer(raw, dtype=np.uint8).reshape(8, n)
    return planes.T.copy().view("<u8").reshape(n).astype(np.uint64, copy=False)


def _integral(values: npt.NDArray[np.float64]) -> bool:
    """Whether the integer path represents ``values`` exactly (finite, integral, no -0.0)."""
    with np.errstate(invalid="ignore"):
        if not bool(np.all(np.abs(values) <= _MAX_EXACT_INT)):  # also rejects NaN and Inf
            return False
    if not bool(np.all(np.trunc(values) == values)):
        return False
    return not bool(np.any(np.signbit(values) & (values == 0.0)))


def _encode_column(values: npt.NDArray[np.float64]) -> tuple[int, npt.NDArray[np.uint64]]:
    """(mode, the words to shuffle) for one value column."""
    if _integral(values):
        ints = values.astype(np.int64)
        deltas = np.empty_like(ints)
        deltas[:1] = ints[:1]
        np.subtract(ints[1:], ints[:-1], out=deltas[1:])
        if bool(np.any(deltas[1:] < 0)):
            return _MODE_INT_ZIGZAG, _zigzag(deltas)
        return _MODE_INT, deltas.view(np.uint64)
    decimal = _decimal(values)
    if decimal is not None:
        return _MODE_DECIMAL, decimal
    bits = values.view(np.uint64)
    xored = np.empty_like(bits)
    xored[:1] = bits[:1]
    np.bitwise_xor(bits[1:], bits[:-1], out=xored[1:])
    return _MODE_XOR, xored


def _decimal(values: npt.NDArray[np.float64]) -> npt.NDArray[np.uint64] | None:
    """The decimal-mode words of ``values``, or None if no scale 10^k (k <= 6) is exact."""
    if not len(values) or not bool(np.all(np.isfinite(values))):
        return None
    probe = values[:4].tolist()
    for k in range(1, _MAX_DECIMALS + 1):
        scale = 10.0**k
        # A cheap look at a few values in plain Python before any numpy pass.
        if not all(_exact_one(v, scale) for v in probe):
            continue
        if not _exact(values, scale):
            return None
        ints = np.round(values * scale).astype(np.int64)
        deltas = np.empty_like(ints)
        deltas[:1] = ints[:1]
        np.subtract(ints[1:], ints[:-1], out=deltas[1:])
        words = _zigzag(deltas)
        words[0] = (words[0] << np.uint64(3)) | np.uint64(k)
        return words
    return None


def _exact_one(value: float, scale: float) -> bool:
    """``_exact`` for one value."""
    scaled = round(value * scale)
    return abs(scaled) <= _MAX_EXACT_INT / 8 and struct.pack("<d", scaled / scale) == struct.pack(
        "<d", value
    )


def _exact(values: npt.NDArray[np.float64], scale: float) -> bool:
    """Whether ``round(values * scale) / scale`` gives back every value bit for bit (within
    the range where the integers stay exact)."""
    with np.errstate(over="ignore", invalid="ignore"):
        scaled = np.round(values * scale)
        if not bool(np.all(np.abs(scaled) <= _MAX_EXACT_INT / 8)):  # room for k in word 0
            return False
        back = scaled.astype(np.int64).astype(np.float64) / scale  # as decoding computes it
    return bool(np.array_equal(back.view(np.uint64), values.view(np.uint64)))


def _decode_column(words: npt.NDArray[np.uint64], mode: int) -> npt.NDArray[np.float64]:
    """Inverse of ``_encode_column``."""
    if mode == _MODE_XOR:
        return np.bitwise_xor.accumulate(words).view(np.float64)
    if mode == _MODE_DECIMAL:
        if not len(words):
            return np.empty(0, np.float64)
        k = int(words[0] & np.uint64(7))
        if not 1 <= k <= _MAX_DECIMALS:
            raise ChunkFormatError("bad decimal scale")
        words = words.copy()
        words[0] >>= np.uint64(3)
        ints = np.cumsum(_unzigzag(words), dtype=np.int64)
        return ints.astype(np.float64) / 10.0**k
    deltas = _unzigzag(words) if mode == _MODE_INT_ZIGZAG else words.view(np.int64)
    return np.cumsum(deltas, dtype=np.int64).astype(np.float64)


def _encode_timestamps(ts: npt.NDArray[np.int64]) -> npt.NDArray[np.uint64]:
    """First timestamp, first delta, then delta-of-delta (wrapping int64), zigzagged."""
    out = np.empty_like(ts)
    out[:1] = ts[:1]
    deltas = np.subtract(ts[1:], ts[:-1])
    out[1:2] = deltas[:1]
    np.subtract(deltas[1:], deltas[:-1], out=out[2:])
    return _zigzag(out)


def _decode_timestamps(words: npt.NDArray[np.uint64]) -> npt.NDArray[np.int64]:
    """Inverse of ``_encode_timestamps`` (wrapping int64 prefix sums)."""
    dod = _unzigzag(words)
    deltas = np.cumsum(dod[1:], dtype=np.int64)
    out = np.empty_like(dod)
    out[:1] = dod[:1]
    np.cumsum(deltas, out=out[1:])
    out[1:] += dod[:1]
    return out


def _as_timestamps(timestamps: npt.NDArray[np.int64]) -> npt.NDArray[np.int64]:
    """Validated contiguous int64 timestamps (1-D, strictly increasing)."""
    ts = np.asarray(timestamps)
    if ts.ndim != 1:
        raise ValueError("timestamps must be one-dimensional")
    if ts.size and not np.issubdtype(ts.dtype, np.integer):
        raise ValueError(f"timestamps must be integers, not {ts.dtype}")
    ts = np.ascontiguousarray(ts, dtype=np.int64)
    if not bool(np.all(ts[1:] > ts[:-1])):
        raise ValueError("timestamps must be strictly increasing")
    return ts


def _as_column(values: npt.NDArray[np.float64], n: int) -> npt.NDArray[np.float64]:
    """A validated contiguous float64 column of length ``n``."""
    col = np.ascontiguousarray(values, dtype=np.float64)
    if col.shape != (n,):
        raise ValueError(f"a value column has shape {col.shape}, expected ({n},)")
    return col


def _varint(n: int) -> bytes:
    """Unsigned LEB128."""
    out = bytearray()
    while n >= 0x80:
        out.append((n & 0x7F) | 0x80)
        n >>= 7
    out.append(n)
    return bytes(out)


def _read_varint(data: bytes, pos: int) -> tuple[int, int]:
    """(value, position after it); at most 5 bytes, so the value stays below 2**35."""
    value = 0
    for i in range(5):
        if pos + i >= len(data):
            raise ChunkFormatError("chunk truncated in its sample count")
        byte = data[pos + i]
        value |= (byte & 0x7F) << (7 * i)
        if byte < 0x80:
            return value, pos + i + 1
    raise ChunkFormatError("sample count varint too long")


class ChunkCodec:
    """One thread's encoder/decoder (owns a ZstdCompressor and a ZstdDecompressor).

    zstd contexts must not be shared between threads: give each thread its own codec (the
    flush thread keeps one, each querier makes one). Encoded chunks carry everything needed to
    decode them; any codec (any level) decodes any chunk of a known version.
    """

    __slots__ = ("_compressor", "_decompressor")

    def __init__(self, level: int = 3) -> None:
        self._compressor = zstandard.ZstdCompressor(
            level=level, write_checksum=True, write_content_size=True
        )
        self._decompressor = zstandard.ZstdDecompressor()

    def encode(self, timestamps: npt.NDArray[np.int64], values: npt.NDArray[np.float64]) -> bytes:
        """Encode one series' samples; ValueError if timestamps are not strictly increasing
        or the lengths differ."""
        ts = _as_timestamps(timestamps)
        mode, words = _encode_column(_as_column(values, ts.shape[0]))
        header = bytes([VERSION << 4 | mode << 1])
        return self._finish(header, ts, [words])

    def encode_columns(
        self, timestamps: npt.NDArray[np.int64], columns: Sequence[npt.NDArray[np.float64]]
    ) -> bytes:
        """Encode several value columns sharing the timestamps (downsampled tiers: min, max,
        sum, count, last); each column takes the integer or XOR path on its own."""
        ts = _as_timestamps(timestamps)
        if len(columns) > _MAX_COLUMNS:
            raise ValueError(f"at most {_MAX_COLUMNS} columns, got {len(columns)}")
        modes = bytearray((len(columns) + 3) // 4)
        streams = []
        for i, column in enumerate(columns):
            mode, words = _encode_column(_as_column(column, ts.shape[0]))
            modes[i // 4] |= mode << (2 * (i % 4))
            streams.append(words)
        header = bytes([VERSION << 4 | _FLAG_COLUMNS, len(columns)]) + bytes(modes)
        return self._finish(header, ts, streams)

    def decode(self, data: bytes) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.float64]]:
        """(timestamps, values) of a chunk written by ``encode``; ChunkFormatError if the
        chunk is damaged, of an unknown version, or a multi-column chunk."""
        ts, columns = self._decode(data, single=True)
        return ts, columns[0]

    def decode_columns(
        self, data: bytes
    ) -> tuple[npt.NDArray[np.int64], list[npt.NDArray[np.float64]]]:
        """(timestamps, columns) of a chunk written by ``encode_columns`` (or ``encode``: one
        column); ChunkFormatError if the chunk is damaged or of an unknown version."""
        return self._decode(data, single=False)

    def _finish(
        self, header: bytes, ts: npt.NDArray[np.int64], streams: list[npt.NDArray[np.uint64]]
    ) -> bytes:
        n = int(ts.shape[0])
        if n >= _MAX_COUNT:
            raise ValueError(f"a chunk holds fewer than {_MAX_COUNT} samples, got {n}")
        if n == 0:
            return header + _varint(0)
        body = b"".join([_shuffle(_encode_timestamps(ts)), *(_shuffle(s) for s in streams)])
        return header + _varint(n) + self._compressor.compress(body)

    def _decode(
        self, data: bytes, *, single: bool
    ) -> tuple[npt.NDArray[np.int64], list[npt.NDArray[np.float64]]]:
        data = bytes(data)
        if not data:
            raise ChunkFormatError("empty chunk")
        version, flags = data[0] >> 4, data[0] & 0x0F
        if version != VERSION:
            raise ChunkFormatError(f"unknown chunk version {version}")
        if flags & _FLAG_COLUMNS:
            if single:
                raise ChunkFormatError("multi-column chunk: use decode_columns")
            if flags != _FLAG_COLUMNS or len(data) < 2:
                raise ChunkFormatError("bad multi-column chunk header")
            ncols = data[1]
            pos = 2 + (ncols + 3) // 4
            packed = data[2:pos]
            if len(packed) != (ncols + 3) // 4:
                raise ChunkFormatError("chunk truncated in its header")
            if ncols % 4 and packed[-1] >> (2 * (ncols % 4)):
                raise ChunkFormatError("bad column modes")
            modes = [packed[i // 4] >> (2 * (i % 4)) & 3 for i in range(ncols)]
        else:
            pos = 1
            modes = [flags >> 1]
        if any(mode not in _MODES for mode in modes):
            raise ChunkFormatError("unknown value column mode")
        n, pos = _read_varint(data, pos)
        if n >= _MAX_COUNT:
            raise ChunkFormatError(f"implausible sample count {n}")
        if n == 0:
            if pos != len(data):
                raise ChunkFormatError("trailing bytes after an empty chunk")
            return np.empty(0, np.int64), [np.empty(0, np.float64) for _ in modes]
        raw = self._decompress(data[pos:], 8 * n * (1 + len(modes)))
        step = 8 * n
        ts = _decode_timestamps(_unshuffle(raw[:step], n))
        if not bool(np.all(ts[1:] > ts[:-1])):
            raise ChunkFormatError("decoded timestamps are not strictly increasing")
        columns = [
            _decode_column(_unshuffle(raw[step * (i + 1) : step * (i + 2)], n), mode)
            for i, mode in enumerate(modes)
        ]
        return ts, columns

    def _decompress(self, frame: bytes, expected: int) -> bytes:
        """The payload of the zstd frame, which must be exactly ``expected`` bytes long and be
        the whole rest of the chunk."""
        try:
            size = zstandard.frame_content_size(frame)
        except zstandard.ZstdError as err:
            raise ChunkFormatError(f"bad zstd frame header: {err}") from err
        if size != expected:
            raise ChunkFormatError(f"payload of {size} bytes, expected {expected}")
        stream = self._decompressor.decompressobj()
        try:
            raw = stream.decompress(frame)
        except zstandard.ZstdError as err:
            raise ChunkFormatError(f"corrupt chunk payload: {err}") from err
        if not stream.eof:
            raise ChunkFormatError("chunk payload truncated")
        if stream.unused_data:
            raise ChunkFormatError("trailing bytes after the chunk payload")
        if len(raw) != expected:
            raise ChunkFormatError(f"payload of {len(raw)} bytes, expected {expected}")
        return raw
