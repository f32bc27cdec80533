"""The spool: FIFO order, bounds, accounting, restart and crash behaviour."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import tempfile
import textwrap
import threading
import time
import zlib
from collections import deque
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from multimonx.agent.spool import Spool, SpoolError, SpoolRecord

ALL = 10**9
BIG = 2**30


def _file_bytes(path: Path) -> int:
    wal = path.with_name(path.name + "-wal")
    return path.stat().st_size + (wal.stat().st_size if wal.exists() else 0)


def _stored_bytes(path: Path) -> int:
    """Sum of stored body lengths, read with a separate connection (spool must be closed)."""
    db = sqlite3.connect(path)
    try:
        return int(db.execute("SELECT COALESCE(SUM(length(body)), 0) FROM records").fetchone()[0])
    finally:
        db.close()


@pytest.fixture
def spool_path(tmp_path: Path) -> Path:
    return tmp_path / "spool" / "spool.db"


@pytest.mark.parametrize("batch", [1, 3, 10, 100])
def test_peek_returns_oldest_first_and_ack_removes(spool_path: Path, batch: int) -> None:
    spool = Spool(spool_path, BIG)
    bodies = [f"round-{i}".encode() for i in range(25)]
    for i, body in enumerate(bodies):
        spool.append(body, samples=i + 1)
    seen: list[SpoolRecord] = []
    while records := spool.peek(batch):
        assert len(records) <= batch
        seen.extend(records)
        spool.ack(records[-1].id)
    assert [r.body for r in seen] == bodies
    assert [r.samples for r in seen] == list(range(1, 26))
    assert [r.id for r in seen] == sorted(r.id for r in seen)
    assert spool.records == 0
    assert spool.size_bytes == 0
    spool.close()


def test_peek_does_not_remove(spool_path: Path) -> None:
    spool = Spool(spool_path, BIG)
    spool.append(b"a", 1)
    spool.append(b"b", 2)
    assert spool.peek(5) == spool.peek(5)
    assert spool.records == 2
    spool.close()


def test_ack_is_inclusive_and_partial(spool_path: Path) -> None:
    spool = Spool(spool_path, BIG)
    for i in range(5):
        spool.append(bytes([i]), 1)
    ids = [r.id for r in spool.peek(ALL)]
    spool.ack(ids[1])
    assert [r.body for r in spool.peek(ALL)] == [b"\x02", b"\x03", b"\x04"]
    spool.ack(ids[1])  # acking again is harmless
    assert spool.records == 3
    spool.close()


def test_restart_resumes_in_order_and_keeps_ids_increasing(spool_path: Path) -> None:
    spool = Spool(spool_path, BIG)
    for i in range(10):
        spool.append(f"r{i}".encode(), i)
    first = spool.peek(ALL)
    spool.ack(first[3].id)
    spool.close()

    spool = Spool(spool_path, BIG)
    assert [r.body for r in spool.peek(ALL)] == [f"r{i}".encode() for i in range(4, 10)]
    assert spool.records == 6
    spool.ack(first[-1].id)
    spool.close()

    # AUTOINCREMENT: ids are never reused, even after the spool drained and reopened.
    spool = Spool(spool_path, BIG)
    spool.append(b"later", 1)
    assert spool.peek(1)[0].id > first[-1].id
    spool.close()


def test_size_accounting_matches_the_file_after_reopen(spool_path: Path) -> None:
    spool = Spool(spool_path, BIG)
    for i in range(50):
        spool.append(os.urandom(i * 37), 1)
    spool.ack(spool.peek(7)[-1].id)
    size, records = spool.size_bytes, spool.records
    spool.close()
    assert size == _stored_bytes(spool_path)

    spool = Spool(spool_path, BIG)
    assert (spool.size_bytes, spool.records) == (size, records)
    spool.close()


def test_full_spool_drops_the_oldest_with_exact_count(spool_path: Path) -> None:
    # 1,000 random bytes compress to 1,011 (stored block), so 9 fit in 10,000 and 10 do not.
    spool = Spool(spool_path, 10_000)
    bodies = [os.urandom(1000) for _ in range(30)]
    for i, body in enumerate(bodies):
        spool.append(body, samples=i + 1)
    kept = spool.peek(ALL)
    assert [r.body for r in kept] == bodies[-9:]
    assert spool.dropped_samples_total == sum(range(1, 22))
    assert spool.size_bytes == 9 * len(zlib.compress(bodies[0]))
    assert spool.size_bytes <= 10_000
    spool.close()


def test_round_larger_than_the_bound_is_dropped_and_counted(spool_path: Path) -> None:
    spool = Spool(spool_path, 5_000)
    spool.append(b"small", 3)
    spool.append(os.urandom(6_000), 40)
    assert [r.body for r in spool.peek(ALL)] == [b"small"]
    assert spool.dropped_samples_total == 40
    spool.close()


def test_reject_removes_and_counts(spool_path: Path) -> None:
    spool = Spool(spool_path, BIG)
    for samples in (5, 7, 11):
        spool.append(b"x", samples)
    ids = [r.id for r in spool.peek(ALL)]
    assert spool.reject(ids[1]) == 12
    assert spool.rejected_samples_total == 12
    assert [r.samples for r in spool.peek(ALL)] == [11]
    assert spool.reject(ids[1]) == 0
    assert spool.dropped_samples_total == 0
    spool.close()


def test_file_shrinks_after_backlog_drains(spool_path: Path) -> None:
    spool = Spool(spool_path, BIG)
    for _ in range(400):
        spool.append(os.urandom(10_000), 1)
    full = _file_bytes(spool_path)
    assert full > 4_000_000
    while records := spool.peek(50):
        spool.ack(records[-1].id)
    drained = _file_bytes(spool_path)
    assert drained < full / 10
    spool.close()


def test_second_opener_is_refused_while_the_first_holds_the_file(spool_path: Path) -> None:
    first = Spool(spool_path, BIG)
    first.append(b"mine", 1)
    with pytest.raises(SpoolError, match="locked"):
        Spool(spool_path, BIG)
    first.close()
    second = Spool(spool_path, BIG)
    assert [r.body for r in second.peek(ALL)] == [b"mine"]
    second.close()


@pytest.mark.parametrize(
    "content", [b"this is not a database at all" * 100, b"SQLite format 3\x00" + b"\xff" * 5000]
)
def test_unreadable_file_is_moved_aside_and_a_fresh_spool_starts(
    spool_path: Path, content: bytes
) -> None:
    spool_path.parent.mkdir(parents=True)
    spool_path.write_bytes(content)
    spool = Spool(spool_path, BIG)
    assert spool.records == 0
    spool.append(b"new", 1)
    assert [r.body for r in spool.peek(ALL)] == [b"new"]
    spool.close()
    aside = [p for p in spool_path.parent.iterdir() if ".corrupt-" in p.name]
    assert [p.read_bytes() for p in aside] == [content]


def test_concurrent_appends_and_acks_keep_every_round_once_in_order(spool_path: Path) -> None:
    spool = Spool(spool_path, BIG)
    total = 500
    received: list[bytes] = []
    done = threading.Event()

    def produce() -> None:
        for i in range(total):
            spool.append(str(i).encode(), 1)
        done.set()

    producer = threading.Thread(target=produce)
    producer.start()
    deadline = time.monotonic() + 60
    while len(received) < total and time.monotonic() < deadline:
        records = spool.peek(7)
        if records:
            received.extend(r.body for r in records)
            spool.ack(records[-1].id)
        elif done.is_set() and spool.records == 0:
            break
    producer.join(60)
    assert received == [str(i).encode() for i in range(total)]
    spool.close()


_CHILD = textwrap.dedent(
    """
    import sys
    from pathlib import Path
    from multimonx.agent.spool import Spool
    spool = Spool(Path(sys.argv[1]), 2**30)
    i = 0
    while True:
        spool.append(b"%d:" % i + b"x" * (i % 5000), samples=i)
        sys.stdout.write(f"{i}\\n")
        sys.stdout.flush()
        i += 1
    """
)


@pytest.mark.integration
def test_sigkill_while_appending_loses_nothing_that_was_reported(spool_path: Path) -> None:
    spool_path.parent.mkdir(parents=True)
    with subprocess.Popen(
        [sys.executable, "-c", _CHILD, str(spool_path)], stdout=subprocess.PIPE
    ) as child:
        try:
            assert child.stdout is not None
            lines = 0
            deadline = time.monotonic() + 60
            while lines < 300 and time.monotonic() < deadline:
                if not child.stdout.readline():
                    break
                lines += 1
            os.kill(child.pid, signal.SIGKILL)
            rest = child.stdout.read()
        finally:
            child.kill()
            child.wait(60)
    assert child.returncode == -signal.SIGKILL
    reported = lines + rest.count(b"\n")
    assert reported >= 300

    spool = Spool(spool_path, BIG)
    records = spool.peek(ALL)
    numbers = [int(r.body.split(b":")[0]) for r in records]
    # Everything reported is present; at most the one append in flight is extra.
    assert numbers == list(range(len(numbers)))
    assert reported <= len(numbers) <= reported + 1
    assert all(r.samples == n for r, n in zip(records, numbers, strict=True))
    assert spool.size_bytes == sum(len(zlib.compress(r.body)) for r in records)
    spool.append(b"after", 1)
    assert spool.peek(ALL)[-1].body == b"after"
    spool.close()


_op = st.one_of(
    st.tuples(st.just("append"), st.integers(0, 3_000), st.integers(0, 1000)),
    st.tuples(st.just("ack"), st.integers(0, 6), st.just(0)),
    st.tuples(st.just("reject"), st.integers(0, 6), st.just(0)),
    st.tuples(st.just("reopen"), st.just(0), st.just(0)),
)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(ops=st.lists(_op, max_size=40), max_bytes=st.integers(1_000, 12_000))
def test_random_operations_keep_fifo_order_and_accounting(
    ops: list[tuple[str, int, int]], max_bytes: int
) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "spool.db"
        spool = Spool(path, max_bytes)
        model: deque[tuple[bytes, int]] = deque()  # (body, samples), oldest first
        dropped = rejected = counter = 0
        for kind, n, samples in ops:
            if kind == "append":
                body = counter.to_bytes(4, "big") + os.urandom(n)
                counter += 1
                spool.append(body, samples)
                kept = [(r.body, r.samples) for r in spool.peek(ALL)]
                if kept and kept[-1] == (body, samples):
                    model.append((body, samples))
                    # The spool holds a suffix of what was appended; the front was dropped.
                    while len(model) > len(kept):
                        dropped += model.popleft()[1]
                else:
                    dropped += samples  # too big on its own: dropped, nothing else touched
                assert kept == list(model)
            elif kind in ("ack", "reject"):
                records = spool.peek(n)
                if not records:
                    continue
                if kind == "ack":
                    spool.ack(records[-1].id)
                else:
                    assert spool.reject(records[-1].id) == sum(r.samples for r in records)
                    rejected += sum(r.samples for r in records)
                for _ in records:
                    model.popleft()
            else:
                size = spool.size_bytes
                spool.close()
                assert _stored_bytes(path) == size
                spool = Spool(path, max_bytes)
                assert spool.size_bytes == size
                dropped = rejected = 0  # counters are per process, like Prometheus counters
            assert [(r.body, r.samples) for r in spool.peek(ALL)] == list(model)
            assert spool.records == len(model)
            assert spool.size_bytes <= max_bytes
            assert spool.dropped_samples_total == dropped
            assert spool.rejected_samples_total == rejected
        spool.close()
        assert _stored_bytes(path) == sum(len(zlib.compress(b)) for b, _ in model)
