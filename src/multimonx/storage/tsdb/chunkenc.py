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

Decoding many chunks (``ChunkCodec.decode_many``, the querier's path) costs Python work per
chunk only for its header and its one zstd decompression; the rest runs vectorised over all
of them, in batches that stay in the CPU caches: the chunks of one sample count are unshuffled
by one strided copy, then the timestamps and each value mode are rebuilt by prefix sums (XOR
accumulations for the XOR path) over the concatenated streams, restarting at each chunk.
``decode`` and ``decode_columns`` take the same steps for one chunk.
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
_MAX_ZSTD_RATIO = 1 << 15
"""No zstd frame decompresses to more than this times its size (an RLE block: 4 bytes for
128 KiB), so a sample count needing more is damage, refused before allocating for it."""
_MAX_EXACT_INT = float(2**53)
_BATCH_SAMPLES = 32_768
"""Samples that ``decode_many`` decodes at once (about 1 MiB of payloads and words)."""
_PLANE_COPY_SAMPLES = 2_048
_PLANE_COPY_RUN = 20
"""Unshuffling copies byte plane by byte plane from this many samples in all and per chunk."""
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
    """Inverse of ``_zigzag``, in place: returns ``u`` viewed as int64."""
    sign = u & _SHIFT_1
    np.negative(sign.view(np.int64), out=sign.view(np.int64))
    u >>= _SHIFT_1
    u ^= sign
    return u.view(np.int64)


def _shuffle(words: npt.NDArray[np.uint64]) -> bytes:
    """Byte-shuffle little-endian 64-bit words: all byte 0s, then all byte 1s, ..."""
    return np.ascontiguousarray(words, dtype="<u8").view(np.uint8).reshape(-1, 8).T.tobytes()


def _unshuffle_into(
    out: npt.NDArray[np.uint64], raw: npt.NDArray[np.uint8], chunks: int, n: int
) -> None:
    """Inverse of ``_shuffle`` for ``chunks`` chunks of ``n`` samples at once (one strided
    copy): ``raw`` holds each chunk's shuffled streams, chunk after chunk; stream ``s`` of chunk
    ``c`` goes to ``out[s, c * n : (c + 1) * n]`` (``out``: little-endian words)."""
    streams = out.shape[0]
    dst = out.view(np.uint8).reshape(streams, chunks, n, 8)
    src = raw.reshape(chunks, streams, 8, n)
    if chunks * n < _PLANE_COPY_SAMPLES or n < _PLANE_COPY_RUN:
        dst[...] = src.transpose(1, 0, 3, 2)
        return
    # numpy copies the whole transpose 8 bytes at a time; plane by plane, it copies runs of
    # n bytes: up to twice as fast once the 8 * streams calls are paid for.
    for stream in range(streams):
        for byte in range(8):
            dst[stream, :, :, byte] = src[:, stream, byte, :]


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
    product = value * scale  # may overflow to +/-Inf: then out of range below
    if not abs(product) <= _MAX_EXACT_INT / 8:
        return False
    scaled = round(product)
    return struct.pack("<d", scaled / scale) == struct.pack("<d", value)


def _exact(values: npt.NDArray[np.float64], scale: float) -> bool:
    """Whether ``round(values * scale) / scale`` gives back every value bit for bit (within
    the range where the integers stay exact)."""
    with np.errstate(over="ignore", invalid="ignore"):
        scaled = np.round(values * scale)
        if not bool(np.all(np.abs(scaled) <= _MAX_EXACT_INT / 8)):  # room for k in word 0
            return False
        back = scaled.astype(np.int64).astype(np.float64) / scale  # as decoding computes it
    return bool(np.array_equal(back.view(np.uint64), values.view(np.uint64)))


def _encode_timestamps(ts: npt.NDArray[np.int64]) -> npt.NDArray[np.uint64]:
    """First timestamp, first delta, then delta-of-delta (wrapping int64), zigzagged."""
    out = np.empty_like(ts)
    out[:1] = ts[:1]
    deltas = np.subtract(ts[1:], ts[:-1])
    out[1:2] = deltas[:1]
    np.subtract(deltas[1:], deltas[:-1], out=out[2:])
    return _zigzag(out)


def _segmented_cumsum(x: npt.NDArray[np.int64], starts: npt.NDArray[np.intp]) -> None:
    """Prefix sums of ``x`` in place, restarting at each segment (``starts``: where each
    segment begins, ascending from 0, none empty): each segment's first element less the
    previous segment's total, then one global prefix sum, so the running total is back to 0
    where each segment starts. Wrapping int64 arithmetic keeps this exact, overflow or not."""
    if len(starts) > 1:
        totals = np.add.reduceat(x, starts)
        x[starts[1:]] -= totals[:-1]
    np.cumsum(x, out=x)


def _segmented_xor(words: npt.NDArray[np.uint64], starts: npt.NDArray[np.intp]) -> None:
    """``_segmented_cumsum`` with XOR instead of addition."""
    if len(starts) > 1:
        totals = np.bitwise_xor.reduceat(words, starts)
        words[starts[1:]] ^= totals[:-1]
    np.bitwise_xor.accumulate(words, out=words)


def _decode_timestamps(
    words: npt.NDArray[np.uint64], starts: npt.NDArray[np.intp]
) -> npt.NDArray[np.int64]:
    """Inverse of ``_encode_timestamps`` for consecutive segments (one per chunk), in place:
    returns ``words`` viewed as int64."""
    dod = _unzigzag(words)
    first = dod[starts]
    dod[starts] = 0
    _segmented_cumsum(dod, starts)  # now 0 at each start, then the deltas
    dod[starts] = first
    _segmented_cumsum(dod, starts)
    rising = dod[1:] > dod[:-1]
    if len(starts) > 1:
        rising[starts[1:] - 1] = True  # timestamps may go down from one chunk to the next
    if not bool(np.all(rising)):
        raise ChunkFormatError("decoded timestamps are not strictly increasing")
    return dod


_DECIMAL_SCALES = frozenset(range(1, _MAX_DECIMALS + 1))
_POWERS_OF_TEN = tuple(10.0**k for k in range(_MAX_DECIMALS + 1))
"""10^k for the decimal scales k (exact in float64)."""


def _decode_values(
    words: npt.NDArray[np.uint64],
    mode: int,
    starts: npt.NDArray[np.intp],
    sizes: npt.NDArray[np.int64],
    out: npt.NDArray[np.float64],
) -> None:
    """Inverse of ``_encode_column`` for consecutive segments of one mode (one per chunk,
    ``sizes`` long), into ``out``; overwrites ``words``."""
    if mode == _MODE_XOR:
        _segmented_xor(words, starts)
        out[...] = words.view(np.float64)
    elif mode == _MODE_DECIMAL:
        scales = words[starts] & np.uint64(7)
        distinct = set(scales.tolist())
        if not distinct <= _DECIMAL_SCALES:
            raise ChunkFormatError("bad decimal scale")
        words[starts] >>= np.uint64(3)
        ints = _unzigzag(words)
        _segmented_cumsum(ints, starts)
        if len(distinct) == 1:
            np.divide(ints, 10.0 ** distinct.pop(), out=out)
        else:
            divisors = np.array(_POWERS_OF_TEN)[scales.astype(np.intp)]
            np.divide(ints, np.repeat(divisors, sizes), out=out)
    else:
        ints = words.view(np.int64) if mode == _MODE_INT else _unzigzag(words)
        _segmented_cumsum(ints, starts)
        out[...] = ints


def _decode_payloads(
    payloads: list[bytes],
    keys: list[int],
    ts_out: npt.NDArray[np.int64],
    values_out: npt.NDArray[np.float64],
) -> None:
    """Decode single-column chunks in one vectorised pass, from their decompressed payloads
    and keys (``mode << 32 | sample count``, count >= 1), into the concatenations of their
    timestamps and of their values.

    Unshuffling wants chunks of one length side by side (then it is one strided copy for
    all; a byte gather index over all payloads costs five times more), and each value mode
    wants its chunks side by side, so the chunks are decoded sorted by key (stable) and the
    samples put back in the callers' order at the end.
    """
    key = np.array(keys, dtype=np.int64)
    order = None
    if not bool(np.all(key[1:] >= key[:-1])):
        order = np.argsort(key, kind="stable")
        key = key[order]
        payloads = [payloads[i] for i in order.tolist()]
    sizes = key & 0xFFFF_FFFF
    modes = key >> 32
    ends = np.cumsum(sizes)
    starts = (ends - sizes).astype(np.intp)
    raw = np.frombuffer(b"".join(payloads), dtype=np.uint8)
    words = np.empty((2, len(ts_out)), dtype="<u8")  # timestamp words, value words
    for first, end in _runs(key):
        lo, hi, n = int(starts[first]), int(ends[end - 1]), int(sizes[first])
        _unshuffle_into(words[:, lo:hi], raw[16 * lo : 16 * hi], end - first, n)
    native = words.astype(np.uint64, copy=False)
    ts = _decode_timestamps(native[0], starts)
    values = np.empty(len(values_out), dtype=np.float64) if order is not None else values_out
    for first, end in _runs(modes):
        lo, hi = int(starts[first]), int(ends[end - 1])
        _decode_values(
            native[1, lo:hi],
            int(modes[first]),
            starts[first:end] - lo,
            sizes[first:end],
            values[lo:hi],
        )
    if order is None:
        ts_out[...] = ts
        return
    # Sample i in the callers' order is sample i + shift in the sorted order, shift being
    # where its chunk starts when sorted minus where it starts unsorted.
    sorted_starts = np.empty_like(starts)
    sorted_starts[order] = starts
    unsorted_sizes = np.empty_like(sizes)
    unsorted_sizes[order] = sizes
    shift = sorted_starts - (np.cumsum(unsorted_sizes) - unsorted_sizes)
    index = np.arange(len(ts_out), dtype=np.intp)
    index += np.repeat(shift, unsorted_sizes)
    ts.take(index, out=ts_out, mode="clip")  # "clip": unbuffered (the index is in range)
    values.take(index, out=values_out, mode="clip")


def _runs(key: npt.NDArray[np.int64]) -> list[tuple[int, int]]:
    """(first, end) of each run of equal values in ``key`` (not empty)."""
    cuts = (np.flatnonzero(key[1:] != key[:-1]) + 1).tolist()
    return list(zip([0, *cuts], [*cuts, len(key)], strict=True))


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


def _read_count(data: bytes, pos: int, streams: int) -> tuple[int, int]:
    """(sample count, position of the zstd frame after it) of a chunk of ``streams`` streams
    (timestamps and value columns); the count is an unsigned LEB128 varint of at most 5
    bytes, and must be 0 with nothing after it or fit what the rest of the chunk can hold."""
    value = 0
    for i in range(5):
        if pos + i >= len(data):
            raise ChunkFormatError("chunk truncated in its sample count")
        byte = data[pos + i]
        value |= (byte & 0x7F) << (7 * i)
        if byte < 0x80:
            break
    else:
        raise ChunkFormatError("sample count varint too long")
    pos += i + 1
    if value >= _MAX_COUNT:
        raise ChunkFormatError(f"implausible sample count {value}")
    if 8 * streams * value > _MAX_ZSTD_RATIO * (len(data) - pos):
        raise ChunkFormatError(
            f"{value} samples cannot fit a zstd frame of {len(data) - pos} bytes"
        )
    if value == 0 and pos != len(data):
        raise ChunkFormatError("trailing bytes after an empty chunk")
    return value, pos


_SINGLE_COLUMN = tuple(
    next((mode for mode in _MODES if first == VERSION << 4 | mode << 1), None)
    for first in range(256)
)
"""By first byte: the value column's mode if the byte starts a single-column chunk, else None."""


def _modes(data: bytes, pos: int) -> tuple[list[int], int]:
    """(each value column's mode, position after them) of the chunk starting at ``pos``."""
    if pos >= len(data):
        raise ChunkFormatError("empty chunk")
    mode = _SINGLE_COLUMN[data[pos]]
    if mode is not None:
        return [mode], pos + 1
    version, flags = data[pos] >> 4, data[pos] & 0x0F
    if version != VERSION:
        raise ChunkFormatError(f"unknown chunk version {version}")
    if not flags & _FLAG_COLUMNS:
        raise ChunkFormatError("unknown value column mode")
    if flags != _FLAG_COLUMNS or pos + 1 >= len(data):
        raise ChunkFormatError("bad multi-column chunk header")
    ncols = data[pos + 1]
    end = pos + 2 + (ncols + 3) // 4
    packed = data[pos + 2 : end]
    if len(packed) != (ncols + 3) // 4:
        raise ChunkFormatError("chunk truncated in its header")
    if ncols % 4 and packed[-1] >> (2 * (ncols % 4)):
        raise ChunkFormatError("bad column modes")
    return [packed[i // 4] >> (2 * (i % 4)) & 3 for i in range(ncols)], end


def _not_single_column(data: bytes, pos: int) -> ChunkFormatError:
    """Why the chunk starting at ``pos`` is not one that ``decode`` takes."""
    try:
        _modes(data, pos)
    except ChunkFormatError as err:
        return err
    return ChunkFormatError("multi-column chunk: use decode_columns")


class ChunkCodec:
    """One thread's encoder/decoder (owns a ZstdCompressor and a ZstdDecompressor).

    zstd contexts must not be shared between threads: give each thread its own codec (the
    flush thread keeps one, each querier makes one). Encoded chunks carry everything needed to
    decode them; any codec (any level) decodes any chunk of a known version.
    """

    __slots__ = ("_compressor_", "_decompressor", "_level")

    def __init__(self, level: int = 3) -> None:
        self._level = level
        self._compressor_: zstandard.ZstdCompressor | None = None  # made on first encode
        self._decompressor = zstandard.ZstdDecompressor()

    @property
    def _compressor(self) -> zstandard.ZstdCompressor:
        if self._compressor_ is None:
            self._compressor_ = zstandard.ZstdCompressor(
                level=self._level, write_checksum=True, write_content_size=True
            )
        return self._compressor_

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
        # decode_columns shares every step with decode_many; for one chunk it is ~15 us
        # faster than decode_many's sorting and batching.
        if not data or _SINGLE_COLUMN[data[0]] is None:
            raise _not_single_column(data, 0)
        ts, (values,) = self.decode_columns(data)
        return ts, values

    def decode_many(
        self, chunks: Sequence[bytes], *, skip: int = 0
    ) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.float64], npt.NDArray[np.int64]]:
        """(timestamps, values, counts) of many chunks written by ``encode``, each starting
        ``skip`` bytes into its bytes object: every chunk's timestamps one after the other,
        their values likewise, and each chunk's sample count (0 for an empty chunk), bit for
        bit what decoding them one by one and concatenating gives, much faster (per chunk
        only its header and its decompression cost Python work). ChunkFormatError if any
        chunk is damaged, of an unknown version, or a multi-column chunk."""
        if skip < 0:
            raise ValueError(f"skip must not be negative, got {skip}")
        keys: list[int] = []  # mode << 32 | sample count
        starts: list[int] = []  # where each chunk's zstd frame starts
        for data in chunks:
            mode = _SINGLE_COLUMN[data[skip]] if len(data) > skip else None
            if mode is None:
                raise _not_single_column(data, skip)
            n, pos = _read_count(data, skip + 1, 2)
            keys.append(mode << 32 | n)
            starts.append(pos)
        counts = np.array(keys, dtype=np.int64) & 0xFFFF_FFFF
        ts = np.empty(int(counts.sum()), dtype=np.int64)
        values = np.empty(len(ts), dtype=np.float64)
        # Decompress and decode in batches that stay in the CPU caches and let each batch
        # reuse the memory of the one before.
        batch: list[bytes] = []
        batch_keys: list[int] = []
        lo = hi = 0
        for data, key, pos in zip(chunks, keys, starts, strict=True):
            n = key & 0xFFFF_FFFF
            if not n:
                continue
            batch.append(self._decompress(data[pos:], 16 * n))
            batch_keys.append(key)
            hi += n
            if hi - lo >= _BATCH_SAMPLES:
                _decode_payloads(batch, batch_keys, ts[lo:hi], values[lo:hi])
                batch, batch_keys, lo = [], [], hi
        if batch:
            _decode_payloads(batch, batch_keys, ts[lo:hi], values[lo:hi])
        return ts, values, counts

    def decode_columns(
        self, data: bytes
    ) -> tuple[npt.NDArray[np.int64], list[npt.NDArray[np.float64]]]:
        """(timestamps, columns) of a chunk written by ``encode_columns`` (or ``encode``: one
        column); ChunkFormatError if the chunk is damaged or of an unknown version."""
        modes, pos = _modes(data, 0)
        n, pos = _read_count(data, pos, 1 + len(modes))
        if n == 0:
            return np.empty(0, np.int64), [np.empty(0, np.float64) for _ in modes]
        raw = self._decompress(data[pos:], 8 * n * (1 + len(modes)))
        words = np.empty((1 + len(modes), n), dtype="<u8")
        _unshuffle_into(words, np.frombuffer(raw, dtype=np.uint8), 1, n)
        native = words.astype(np.uint64, copy=False)
        starts, sizes = np.zeros(1, np.intp), np.full(1, n, np.int64)
        ts = _decode_timestamps(native[0], starts).copy()  # not a view holding all words
        columns = [np.empty(n, np.float64) for _ in modes]
        for i, (mode, column) in enumerate(zip(modes, columns, strict=True)):
            _decode_values(native[1 + i], mode, starts, sizes, column)
        return ts, columns

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

    def _decompress(self, frame: bytes, expected: int) -> bytes:
        """The payload of the zstd frame, which must be exactly ``expected`` bytes long and be
        the whole rest of the chunk."""
        try:
            size = zstandard.frame_content_size(frame)
        except zstandard.ZstdError as err:
            raise ChunkFormatError(f"bad zstd frame header: {err}") from err
        if size != expected:
            raise ChunkFormatError(f"payload of {size} bytes, expected {expected}")
        try:
            # One call: rejects a truncated or corrupt frame (checksum) and bytes after it.
            return self._decompressor.decompress(frame, allow_extra_data=False)
        except zstandard.ZstdError as err:
            raise self._frame_error(frame, err) from err

    def _frame_error(self, frame: bytes, err: zstandard.ZstdError) -> ChunkFormatError:
        """The error for a frame that ``_decompress`` refused, said precisely (streaming it
        again tells a corrupt frame from a truncated one and from bytes after it)."""
        stream = self._decompressor.decompressobj()
        try:
            stream.decompress(frame)
        except zstandard.ZstdError as stream_err:
            return ChunkFormatError(f"corrupt chunk payload: {stream_err}")
        if not stream.eof:
            return ChunkFormatError("chunk payload truncated")
        if stream.unused_data:
            return ChunkFormatError("trailing bytes after the chunk payload")
        return ChunkFormatError(f"corrupt chunk payload: {err}")
