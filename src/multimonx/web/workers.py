"""The threads PromQL queries run in, so the event loop never waits on one.

A dedicated pool of ``max_concurrency`` threads (Prometheus's ``--query.max-concurrency``,
default 20): that many queries evaluate at once and the others wait their turn, first come
first served. The wait does not count towards a query's timeout, which bounds evaluation.
Storage lookups that are not queries (label names and values, series, health) run on
Starlette's worker threads instead, so a crowd of slow queries never holds them up.
"""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import ParamSpec, TypeVar

P = ParamSpec("P")
T = TypeVar("T")

DEFAULT_MAX_CONCURRENCY = 20


class QueryWorkers:
    """Runs blocking query evaluations on at most ``max_concurrency`` threads."""

    def __init__(self, max_concurrency: int = DEFAULT_MAX_CONCURRENCY) -> None:
        if max_concurrency < 1:
            raise ValueError("max_concurrency must be at least 1")
        self.max_concurrency = max_concurrency
        self._pool = ThreadPoolExecutor(max_concurrency, thread_name_prefix="multimonx-query")

    async def run(self, fn: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
        """``fn(*args, **kwargs)`` on a query thread, once one is free."""
        call = functools.partial(fn, *args, **kwargs)
        return await asyncio.get_running_loop().run_in_executor(self._pool, call)

    def submit(self, fn: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> Future[T]:
        """``fn(*args, **kwargs)`` on a query thread, in the background (no caller waits for
        it); RuntimeError once closed."""
        return self._pool.submit(fn, *args, **kwargs)

    def close(self) -> None:
        """Drop the queries still waiting and let the threads end after their current one."""
        self._pool.shutdown(wait=False, cancel_futures=True)
