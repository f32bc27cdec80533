"""The journal: its batch codec and its recovery from damaged records."""

from __future__ import annotations

import contextlib
import logging
import math
import os
import sqlite3
import struct
import zlib
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from multimonx.model import STALE_NAN, Labels
from multimonx.storage import (
    MAX_TIME_MS,
    MIN_TIME_MS,
    Journal,
    JournalCorruptError,
    JournalSync,
    MemoryStorage,
    SeriesSamples,
    StorageUnavailable,
    decode_batch,
    encode_batch,
)
from multimonx.storage.journal import pack_record, unpack_record

label_names = st.from_regex(r"[a-zA-Z_][a-zA-Z0-9_]{0,10}", fullmatch=True).filter(
    lambda n: not n.startswith("__")
)
label_values = st.text(min_size=1, max_size=20).filter(lambda v: "\x00" not in v) | st.sampled_from(
    ['"quoted"', "new\nline", "back\\slash", "<script>alert(1)</script>", "ünï©ødé ✓"]
)
special = st.sampled_from(
    [
        STALE_NAN,
        math.nan,
        struct.unpack("<d", struct.pack("<Q", 0xFFF8_0000_0000_0001))[0],
        -0.0,
        math.inf,
        -math.inf,
    ]
)
values = st.floats(allow_nan=True, allow_infinity=True) | special


@st.composite
def series_samples(draw: st.DrawFn) -> SeriesSamples:
    pairs = draw(st.dictionaries(label_names, label_values, max_size=5))
    labels = Labels.of({"__name__": draw(label_names), **pairs})
    n = draw(st.integers(0, 20))
    ts = draw(st.lists(st.integers(MIN_TIME_MS, MAX_TIME_MS), min_size=n, max_size=n))
    vs = draw(st.lists(values, min_size=n, max_size=n))
    return labels, np.array(ts, dtype=np.int64), np.array(vs, dtype=np.float64)


def bit_pattern(batch: list[SeriesSamples]) -> list[tuple[Labels, list[int], bytes]]:
    return [(lb, ts.tolist(), vs.astype("<f8").tobytes()) for lb, ts, vs in batch]


@given(st.lists(series_samples(), max_size=8))
@settings(max_examples=200, deadline=None)
def test_codec_round_trips_bit_exactly(batch: list[SeriesSamples]) -> None:
    assert bit_pattern(decode_batch(encode_batch(batch))) == bit_pattern(batch)
    crc, body = pack_record(batch)
    assert bit_pattern(unpack_record(crc, body)) == bit_pattern(batch)


@given(st.lists(series_samples(), min_size=1, max_size=3), st.data())
@settings(max_examples=200, deadline=None)
def test_truncated_records_never_decode(batch: list[SeriesSamples], data: st.DataObject) -> None:
    raw = encode_batch(batch)
    cut = data.draw(st.integers(0, len(raw) - 1))
    with pytest.raises(JournalCorruptError):
        decode_batch(raw[:cut])


@given(st.binary(max_size=200))
def test_garbage_never_crashes_the_decoder(blob: bytes) -> None:
    with contextlib.suppress(JournalCorruptError):
        decode_batch(blob)


def test_flipped_bit_fails_the_checksum() -> None:
    crc, body = pack_record([(Labels.of(__name__="up"), np.array([1]), np.array([1.0]))])
    damaged = bytes([body[0] ^ 1]) + body[1:]
    with pytest.raises(JournalCorruptError, match="checksum"):
        unpack_record(crc, damaged)


def batch_of(i: int) -> list[SeriesSamples]:
    return [(Labels.of(__name__="m", n=str(i)), np.array([i], np.int64), np.array([float(i)]))]


def write_records(path: Path, count: int) -> None:
    journal = Journal(path)
    for i in range(count):
        journal.append(batch_of(i))
    journal.close()


def damage(path: Path, seq: int, how: str) -> None:
    db = sqlite3.connect(path)
    crc, body = db.execute("SELECT crc, body FROM batches WHERE seq = ?", (seq,)).fetchone()
    if how == "checksum":
        db.execute("UPDATE batches SET crc = ? WHERE seq = ?", ((crc + 1) % 2**32, seq))
    elif how == "truncated":
        short = body[: len(body) // 2]
        db.execute(
            "UPDATE batches SET body = ?, crc = ? WHERE seq = ?", (short, zlib.crc32(short), seq)
        )
    elif how == "empty":
        db.execute("UPDATE batches SET body = X'', crc = 0 WHERE seq = ?", (seq,))
    elif how == "not-a-batch":
        junk = zlib.compress(b"hello")
        db.execute(
            "UPDATE batches SET body = ?, crc = ? WHERE seq = ?", (junk, zlib.crc32(junk), seq)
        )
    db.commit()
    db.close()


@pytest.mark.parametrize("how", ["checksum", "truncated", "empty", "not-a-batch"])
@pytest.mark.parametrize(("count", "bad_seq", "intact"), [(5, 5, 4), (5, 3, 2), (3, 1, 0)])
def test_corrupt_records_and_everything_after_are_dropped(
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
    how: str,
    count: int,
    bad_seq: int,
    intact: int,
) -> None:
    path = tmp_path / "j.db"
    write_records(path, count)
    damage(path, bad_seq, how)
    with caplog.at_level(logging.WARNING):
        storage = MemoryStorage(Journal(path))
    assert storage.stats().samples == intact
    assert f"record {bad_seq} is corrupt" in caplog.text
    # Writing continues after the last good record, and survives the next reopen.
    app = storage.appender()
    app.append(Labels.of(__name__="after"), 1, 1.0)
    app.commit()
    storage.close()
    reopened = MemoryStorage(Journal(path))
    assert reopened.stats().samples == intact + 1
    reopened.close()


def test_full_journal_refuses_the_batch_and_applies_nothing(tmp_path: Path) -> None:
    storage = MemoryStorage(Journal(tmp_path / "j.db", max_bytes=64 * 1024))
    rng = np.random.default_rng(1)
    with pytest.raises(StorageUnavailable, match="full"):  # noqa: PT012
        for i in range(1000):
            app = storage.appender()
            for j in range(50):
                app.append(Labels.of(__name__="m", s=str(j)), i, float(rng.random()))
            app.commit()
    stored = storage.stats().samples
    assert stored % 50 == 0  # whole batches only
    storage.close()
    reopened = MemoryStorage(Journal(tmp_path / "j.db"))
    assert reopened.stats().samples == stored
    reopened.close()


def test_unwritable_location_is_unavailable(tmp_path: Path) -> None:
    (tmp_path / "file").write_text("x")
    with pytest.raises(StorageUnavailable):
        Journal(tmp_path / "file" / "j.db")


def test_empty_batch_writes_no_record(tmp_path: Path) -> None:
    journal = Journal(tmp_path / "j.db")
    storage = MemoryStorage(journal)
    storage.appender().commit()
    app = storage.appender()
    app.append(Labels.of(__name__="m"), 1, 1.0)
    app.commit()
    app = storage.appender()
    app.append(Labels.of(__name__="m"), 1, 1.0)  # a pure duplicate adds nothing either
    app.commit()
    assert journal.records() == 1
    storage.close()


def test_truncation_gives_the_space_back(tmp_path: Path) -> None:
    journal = Journal(tmp_path / "log.db", sync=JournalSync.NORMAL)
    for i in range(200):
        journal.append_raw(os.urandom(4096), maxt=i)
    journal.sync()  # checkpoint: the pages are in the main file now
    full = (tmp_path / "log.db").stat().st_size
    assert journal.truncate(10**9, 10**9) == 200
    journal.sync()
    assert (tmp_path / "log.db").stat().st_size < full / 4
    journal.close()
