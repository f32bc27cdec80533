"""``PeriodicTask``: a function called every few seconds from a background thread, and once
more when stopped.

The server uses it for the "fsync every interval" durability policy (with ``storage.sync:
interval`` the append log is written without an fsync per batch, which survives a killed
process, and the task makes it durable every ``interval`` seconds, bounding what a power cut
can lose) and to save the fleet's host list.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

from multimonx.storage.interface import StorageError

log = logging.getLogger(__name__)


class PeriodicTask:
    """Calls ``task`` every ``interval`` seconds from a daemon thread until ``stop``; storage
    errors are logged, not raised (the next call tries again). ``final_call``: whether
    ``stop`` calls it once more."""

    def __init__(
        self, task: Callable[[], None], interval: float, *, final_call: bool = True
    ) -> None:
        if interval <= 0:
            raise ValueError("interval must be positive")
        self._task = task
        self._interval = interval
        self._final_call = final_call
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="periodic", daemon=True)

    def _run(self) -> None:
        while not self._stop.wait(self._interval):
            try:
                self._task()
            except StorageError as err:
                log.warning("periodic task failed: %s", err)

    def start(self) -> None:
        """Start calling the task."""
        self._thread.start()

    def stop(self) -> None:
        """Stop, then call the task one last time (a final sync, a final save) unless told
        not to."""
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=30)
        if not self._final_call:
            return
        try:
            self._task()
        except StorageError as err:
            log.warning("final call of a periodic task failed: %s", err)
