"""The log record of one committed batch, columnar: new series, then ids, times and values.

Layout (little-endian): magic ``MTL1``, u32 number of series definitions, u32 number of
samples; each definition: i64 series id, u32 length, the label set as canonical JSON (UTF-8);
then the ids (i64 each), the timestamps (i64 each) and the values' raw float64 bits, so every
NaN payload, the staleness marker, ``-0.0`` and the infinities come back bit-exactly.
"""

from __future__ import annotations

import json
import struct
from collections.abc import Sequence

import numpy as np
import numpy.typing as npt

from multimonx.model import Labels
from multimonx.storage.journal import JournalCorruptError

_MAGIC = b"MTL1"
_HEADER = struct.Struct("<4sII")
_DEF = struct.Struct("<qI")

Record = tuple[
    list[tuple[int, Labels]], npt.NDArray[np.int64], npt.NDArray[np.int64], npt.NDArray[np.float64]
]
"""A decoded record: (series definitions, ids, timestamps, values)."""
RawRecord = tuple[
    list[tuple[int, bytes]], npt.NDArray[np.int64], npt.NDArray[np.int64], npt.NDArray[np.float64]
]
"""A decoded record whose definitions are still UTF-8 label JSON (parse the ones you need)."""


def labels_json(labels: Labels) -> str:
    """The canonical JSON text of a label set (sorted pairs), as stored in ``series``."""
    text = json.dumps(labels.pairs, ensure_ascii=False, separators=(",", ":"))
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:  # lone surrogates: keep them, escaped
        text = json.dumps(labels.pairs, separators=(",", ":"))
    return text


def labels_from_json(text: str) -> Labels:
    """The label set of ``labels_json``; ValueError if the text is not one."""
    pairs = json.loads(text)
    if not isinstance(pairs, list):
        raise ValueError("label JSON is not a list")
    return Labels((str(name), str(value)) for name, value in pairs)


def labels_from_json_many(texts: Sequence[str]) -> list[Labels]:
    """``labels_from_json`` of each text (same results and errors), fast for many: one
    ``json.loads`` for all of them, and one ``str`` object per distinct name and value."""
    try:
        parsed = json.loads("[" + ",".join(texts) + "]") if texts else []
    except (ValueError, TypeError):
        parsed = None
    if not isinstance(parsed, list) or len(parsed) != len(texts):
        return [labels_from_json(text) for text in texts]
    strings: dict[object, object] = {}
    one = strings.setdefault
    pair_sets = []
    try:
        for pairs in parsed:
            if type(pairs) is not list:
                raise ValueError("label JSON is not a list")
            pair_sets.append([(one(name, name), one(value, value)) for name, value in pairs])
    except (ValueError, TypeError):
        return [labels_from_json(text) for text in texts]
    if not all(type(text) is str for text in strings):  # e.g. numbers: let str() convert
        return [labels_from_json(text) for text in texts]
    return [Labels(pairs) for pairs in pair_sets]  # type: ignore[arg-type]


def encode_record(
    definitions: Sequence[tuple[int, Labels]],
    ids: Sequence[int],
    timestamps: Sequence[int],
    values: Sequence[float],
) -> bytes:
    """Serialise one batch (the three sample columns have the same length)."""
    n = len(ids)
    if len(timestamps) != n or len(values) != n:
        raise ValueError("ids, timestamps and values differ in length")
    out = [_HEADER.pack(_MAGIC, len(definitions), n)]
    for sid, labels in definitions:
        raw = labels_json(labels).encode("utf-8")
        out.append(_DEF.pack(sid, len(raw)))
        out.append(raw)
    out.append(np.array(ids, dtype="<i8").tobytes())
    out.append(np.array(timestamps, dtype="<i8").tobytes())
    out.append(np.array(values, dtype="<f8").tobytes())
    return b"".join(out)


def decode_record(data: bytes) -> Record:
    """Parse ``encode_record`` output; JournalCorruptError on any inconsistency."""
    raw, ids, ts, vs = decode_record_raw(data)
    definitions: list[tuple[int, Labels]] = []
    for sid, text in raw:
        try:
            labels = labels_from_json(text.decode("utf-8"))
        except (ValueError, TypeError) as err:
            raise JournalCorruptError(f"bad label set: {err}") from err
        definitions.append((sid, labels))
    return definitions, ids, ts, vs


def decode_record_raw(data: bytes) -> RawRecord:
    """``decode_record`` without parsing the label JSON of the definitions (startup parses
    only those of series it does not know yet); JournalCorruptError on a framing error."""
    if len(data) < _HEADER.size:
        raise JournalCorruptError("record truncated")
    magic, ndefs, n = _HEADER.unpack_from(data, 0)
    if magic != _MAGIC:
        raise JournalCorruptError(f"bad record magic {magic!r}")
    pos = _HEADER.size
    end = len(data)
    definitions: list[tuple[int, bytes]] = []
    unpack_def, def_size = _DEF.unpack_from, _DEF.size
    for _ in range(ndefs):
        if pos + def_size > end:
            raise JournalCorruptError("record truncated")
        sid, size = unpack_def(data, pos)
        pos += def_size
        if pos + size > end:
            raise JournalCorruptError("record truncated")
        definitions.append((sid, data[pos : pos + size]))
        pos += size
    if end - pos != 24 * n:
        raise JournalCorruptError("sample columns have the wrong size")
    ids = np.frombuffer(data, dtype="<i8", count=n, offset=pos).astype(np.int64)
    ts = np.frombuffer(data, dtype="<i8", count=n, offset=pos + 8 * n).astype(np.int64)
    vs = np.frombuffer(data, dtype="<f8", count=n, offset=pos + 16 * n).astype(np.float64)
    return definitions, ids, ts, vs
