"""The log record codec and the journal's raw records with truncation."""

from __future__ import annotations

import math
import sqlite3
import struct
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from multimonx.model import STALE_NAN, Labels
from multimonx.storage import MAX_TIME_MS, MIN_TIME_MS, Journal, JournalCorruptError
from multimonx.storage.tsdb.record import decode_record, encode_record

texts = st.text(min_size=1, max_size=8).filter(lambda v: "\x00" not in v)
floats = st.floats(allow_nan=True) | st.sampled_from([STALE_NAN, -0.0, math.inf])


@given(
    st.lists(st.tuples(st.integers(0, 2**40), texts), max_size=4),
    st.lists(
        st.tuples(st.integers(0, 2**40), st.integers(MIN_TIME_MS, MAX_TIME_MS), floats), max_size=20
    ),
    st.data(),
)
@settings(max_examples=150, deadline=None)
def test_record_round_trips_and_truncations_fail(
    defs: list[tuple[int, str]], samples: list[tuple[int, int, float]], data: st.DataObject
) -> None:
    definitions = [(sid, Labels.of({"__name__": "m", "v": v})) for sid, v in defs]
    raw = encode_record(
        definitions, [s[0] for s in samples], [s[1] for s in samples], [s[2] for s in samples]
    )
    got_defs, ids, ts, vs = decode_record(raw)
    assert got_defs == definitions
    assert ids.tolist() == [s[0] for s in samples]
    assert ts.tolist() == [s[1] for s in samples]
    assert [struct.pack("<d", v) for v in vs.tolist()] == [struct.pack("<d", s[2]) for s in samples]
    cut = data.draw(st.integers(0, len(raw) - 1))
    with pytest.raises(JournalCorruptError):
        decode_record(raw[:cut])


def test_raw_records_truncate_and_drop_a_corrupt_tail(tmp_path: Path) -> None:
    journal = Journal(tmp_path / "log.db")
    seqs = [journal.append_raw(bytes([i]) * 10, maxt) for i, maxt in enumerate([5, 50, 7, 9])]
    assert seqs == sorted(seqs)
    assert journal.truncate(seqs[2], 10) == 2  # seq 0 and 2 (maxt < 10); 1 too new; 3 too late
    assert [p[0] for _, p in journal.replay_raw()] == [1, 3]
    journal.close()
    with sqlite3.connect(tmp_path / "log.db") as raw:
        raw.execute("UPDATE batches SET crc = crc + 1 WHERE seq = ?", (seqs[3],))
    raw.close()
    again = Journal(tmp_path / "log.db")
    assert [p[0] for _, p in again.replay_raw()] == [1]
    assert again.records() == 1
    again.close()
