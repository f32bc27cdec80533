"""Filesystem collector: size, free space and inodes per mount (node_exporter's filesystem).

``statvfs`` of a dead network mount can block forever, so every call runs in its own daemon
thread and is waited for at most ``mount_timeout``. A mount whose call did not return in time
is reported with ``node_filesystem_device_error 1`` and no other samples, and is not queried
again until that call has returned; so a hung NFS server costs one stuck thread per mount, never
a stalled agent. Mounts are excluded by ``exclude_fstypes`` and ``exclude_mountpoints``
(node_exporter's defaults) and by the disk collector's ``exclude_devices``, fully matched
against the device string (``/dev/sda1``, ``tmpfs``) or the file system type.
"""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Sequence

from multimonx.agent.collectors.base import SourceCollector
from multimonx.agent.readings import FsUsage, Mount
from multimonx.agent.source import Source
from multimonx.config import FilesystemSection
from multimonx.model import MetricFamily

LABELS = ("device", "fstype", "mountpoint")
_FAMILIES = (
    ("node_filesystem_size_bytes", "Filesystem size in bytes.", "size_bytes"),
    ("node_filesystem_free_bytes", "Filesystem free space in bytes.", "free_bytes"),
    (
        "node_filesystem_avail_bytes",
        "Filesystem space available to non-root users in bytes.",
        "avail_bytes",
    ),
    ("node_filesystem_files", "Filesystem total file nodes.", "files"),
    ("node_filesystem_files_free", "Filesystem total free file nodes.", "files_free"),
)


class _Call:
    """One ``statvfs`` call running in its own thread."""

    def __init__(self) -> None:
        self.done = threading.Event()
        self.usage: FsUsage | None = None
        self.error: str | None = None

    def run(self, source: Source, mountpoint: str) -> None:
        try:
            self.usage = source.statvfs(mountpoint)
        except OSError as err:
            self.error = str(err)
        finally:
            self.done.set()


class FilesystemCollector(SourceCollector):
    """``node_filesystem_*`` from a ``Source``, with bounded waits per mount."""

    name = "filesystem"

    def __init__(
        self,
        section: FilesystemSection,
        source: Source,
        default_interval: float,
        exclude_devices: Sequence[str] = (),
    ) -> None:
        super().__init__(section, source, default_interval)
        self._timeout = float(section.mount_timeout)
        self._fstypes = re.compile(section.exclude_fstypes)
        self._mountpoints = re.compile(section.exclude_mountpoints)
        self._devices = tuple(re.compile(p) for p in exclude_devices)
        self._hung: dict[str, threading.Event] = {}

    def _excluded(self, mount: Mount) -> bool:
        if self._fstypes.search(mount.fstype) or self._mountpoints.search(mount.mountpoint):
            return True
        return any(p.fullmatch(mount.device) or p.fullmatch(mount.fstype) for p in self._devices)

    def hung_mountpoints(self) -> tuple[str, ...]:
        """Mount points whose last ``statvfs`` has not returned yet."""
        return tuple(m for m, done in self._hung.items() if not done.is_set())

    def collect(self) -> Sequence[MetricFamily]:
        """``statvfs`` every included mount, in parallel, each bounded by ``mount_timeout``."""
        seen: set[tuple[str, str, str]] = set()
        started: list[tuple[tuple[str, str, str], Mount, _Call]] = []
        failed: list[tuple[str, str, str]] = []
        for mount in self._source.mounts():
            labels = (mount.device, mount.fstype, mount.mountpoint)
            if labels in seen or self._excluded(mount):
                continue
            seen.add(labels)
            hung = self._hung.get(mount.mountpoint)
            if hung is not None:
                if not hung.is_set():
                    failed.append(labels)
                    continue
                del self._hung[mount.mountpoint]
            call = _Call()
            threading.Thread(
                target=call.run,
                args=(self._source, mount.mountpoint),
                daemon=True,
                name=f"statvfs {mount.mountpoint}",
            ).start()
            started.append((labels, mount, call))
        deadline = time.monotonic() + self._timeout
        ok: list[tuple[tuple[str, str, str], Mount, FsUsage]] = []
        for labels, mount, call in started:
            if not call.done.wait(max(0.0, deadline - time.monotonic())):
                self._hung[mount.mountpoint] = call.done
                failed.append(labels)
            elif call.usage is None:
                failed.append(labels)
            else:
                ok.append((labels, mount, call.usage))
        out = [
            MetricFamily.gauge(
                name, help_text, LABELS, [(labels, getattr(usage, attr)) for labels, _, usage in ok]
            )
            for name, help_text, attr in _FAMILIES
        ]
        out.append(
            MetricFamily.gauge(
                "node_filesystem_readonly",
                "Filesystem read-only status.",
                LABELS,
                [(labels, 1.0 if "ro" in mount.options else 0.0) for labels, mount, _ in ok],
            )
        )
        out.append(
            MetricFamily.gauge(
                "node_filesystem_device_error",
                "Whether an error occurred while getting statistics for the given device.",
                LABELS,
                [(labels, 0.0) for labels, _, _ in ok] + [(labels, 1.0) for labels in failed],
            )
        )
        return out
