"""The query threads: at most ``max_concurrency`` queries at once, the others wait in order."""

from __future__ import annotations

import asyncio
import threading

import pytest

from multimonx.web.workers import QueryWorkers

DEADLINE_S = 30.0


def test_no_more_than_max_concurrency_run_at_once_and_the_rest_wait_in_order() -> None:
    workers = QueryWorkers(2)
    release = threading.Event()
    lock = threading.Lock()
    running = 0
    peak = 0
    started: list[int] = []

    def query(number: int) -> int:
        nonlocal running, peak
        with lock:
            running += 1
            peak = max(peak, running)
            started.append(number)
        release.wait(DEADLINE_S)
        with lock:
            running -= 1
        return number * 10

    async def scenario() -> list[int]:
        tasks = [asyncio.ensure_future(workers.run(query, n)) for n in range(5)]
        async with asyncio.timeout(DEADLINE_S):
            while len(started) < 2:  # the first two hold both threads
                await asyncio.sleep(0.01)
        assert sorted(started) == [0, 1]
        assert not any(task.done() for task in tasks)
        release.set()
        async with asyncio.timeout(DEADLINE_S):
            return await asyncio.gather(*tasks)

    try:
        assert asyncio.run(scenario()) == [0, 10, 20, 30, 40]
    finally:
        workers.close()
    assert peak == 2
    assert sorted(started[2:]) == [2, 3, 4]


def test_waiting_queries_start_first_come_first_served() -> None:
    workers = QueryWorkers(1)
    started: list[int] = []

    async def scenario() -> None:
        async with asyncio.timeout(DEADLINE_S):
            await asyncio.gather(*(workers.run(started.append, n) for n in range(20)))

    try:
        asyncio.run(scenario())
    finally:
        workers.close()
    assert started == list(range(20))


def test_keyword_arguments_and_exceptions_pass_through() -> None:
    workers = QueryWorkers(1)

    def fails(*, message: str) -> None:
        raise ValueError(message)

    async def scenario() -> None:
        with pytest.raises(ValueError, match="bad query"):
            await workers.run(fails, message="bad query")

    try:
        asyncio.run(scenario())
    finally:
        workers.close()


def test_max_concurrency_must_be_positive() -> None:
    with pytest.raises(ValueError, match="at least 1"):
        QueryWorkers(0)


def test_submit_runs_in_the_background_and_is_refused_once_closed() -> None:
    workers = QueryWorkers(1)
    ran_on: list[str] = []

    def work(x: int) -> int:
        ran_on.append(threading.current_thread().name)
        return x * 2

    try:
        assert workers.submit(work, 21).result(timeout=30) == 42
    finally:
        workers.close()
    assert ran_on[0].startswith("multimonx-query")
    with pytest.raises(RuntimeError):
        workers.submit(work, 1)
