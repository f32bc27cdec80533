"""``PeriodicSync``: the "fsync every interval" durability policy, as a background thread.

With ``storage.sync: interval`` the append log is written without an fsync per batch
(``JournalSync.NORMAL``), which survives a killed process, and this thread makes the log
durable every ``interval`` seconds, which bounds what a power cut can lose to that interval.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

from multimonx.storage.interface import StorageError

log = logging.getLogger(__name__)


class PeriodicSync:
    """Calls ``sync`` every ``interval`` seconds from a daemon thread until ``stop``."""

    def __init__(self, sync: Callable[[], None], interval: float) -> None:
        if interval <= 0:
            raise ValueError("sync interval must be positive")
        self._sync = sync
        self._interval = interval
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="log-sync", daemon=True)

    def _run(self) -> None:
        while not self._stop.wait(self._interval):
            try:
                self._sync()
            except StorageError as err:
                log.warning("periodic log sync failed: %s", err)

    def start(self) -> None:
        """Start syncing."""
        self._thread.start()

    def stop(self) -> None:
        """Stop, after one last sync so nothing written before ``stop`` stays unsynced."""
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=30)
        try:
            self._sync()
        except StorageError as err:
            log.warning("final log sync failed: %s", err)
