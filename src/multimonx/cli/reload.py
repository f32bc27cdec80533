"""Hot reload of the rule files and the notification configuration: on SIGHUP, on
``POST /-/reload`` (as Prometheus and Alertmanager), and by itself when a watched file's
content changes.

A reload loads everything first and applies only if all of it is valid: a bad file leaves
the running rules and routes untouched, and the errors are logged and returned (the reload
endpoint answers them with a 500, as Prometheus does).
"""

from __future__ import annotations

import glob
import hashlib
import logging
import threading
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Generic, TypeVar

from multimonx.cli.errors import UsageError

log = logging.getLogger(__name__)

T = TypeVar("T")


class Reloader(Generic[T]):
    """Loads with ``load`` (which raises UsageError listing every problem) and hands the
    result to ``apply``. ``patterns`` are the paths and globs whose files are watched.
    Thread-safe: reloads run one at a time."""

    def __init__(
        self,
        load: Callable[[], T],
        apply: Callable[[T], None],
        patterns: Callable[[], Sequence[str]],
    ) -> None:
        self._load = load
        self._apply = apply
        self._patterns = patterns
        self._lock = threading.Lock()
        self._seen = self._fingerprint()
        self.reloads = 0
        self.failures = 0
        self.last_error = ""

    def reload(self) -> str:
        """Load and apply; ``""`` on success, else the errors (nothing was applied)."""
        with self._lock:
            self._seen = self._fingerprint()
            try:
                loaded = self._load()
            except UsageError as err:
                self.failures += 1
                self.last_error = str(err)
                log.error("reload failed, keeping the running configuration: %s", err)
                return self.last_error
            self._apply(loaded)
            self.reloads += 1
            self.last_error = ""
            log.info("reloaded rules and notification configuration")
            return ""

    def check(self) -> None:
        """Reload if a watched file appeared, disappeared or changed since the last load."""
        if self._fingerprint() != self._seen:
            self.reload()

    def _fingerprint(self) -> tuple[tuple[str, str], ...]:
        """Every watched file with a hash of its content (unreadable: its error)."""
        out: list[tuple[str, str]] = []
        for pattern in self._patterns():
            names = sorted(glob.glob(pattern)) if glob.has_magic(pattern) else [pattern]
            for name in names:
                try:
                    digest = hashlib.sha256(Path(name).read_bytes()).hexdigest()
                except OSError as err:
                    digest = f"error: {err.strerror}"
                out.append((name, digest))
        return tuple(out)
