"""Record a ``Source`` into JSON and replay it: how the collectors' golden tests run.

``record_source`` calls every ``Source`` method once and returns the results in JSON form
(``python -m tests.agent.record_fixture`` writes this machine's to a fixture file);
``RecordedSource`` rebuilds the frozen values from that form, using the return annotations of
the ``Source`` protocol as the schema, and returns them on every call.
"""

from __future__ import annotations

import dataclasses
import json
import os
import types
import typing
from collections.abc import Mapping
from typing import Any

from multimonx.agent.readings import (
    Conntrack,
    CpuCount,
    CpuFrequency,
    CpuTimes,
    DiskStats,
    Entropy,
    FileFd,
    FsUsage,
    KernelStat,
    LoadAverage,
    MeminfoField,
    Mount,
    NetClass,
    NetDevStats,
    Pressure,
    ProcessSample,
    Sensors,
    SocketStats,
    Softnet,
    TcpConnections,
    Timex,
    UdpQueues,
    Uname,
)
from multimonx.agent.source import Source

RECORDED_METHODS = (
    "cpu_times_per_core",
    "cpu_freq",
    "cpu_count",
    "load_average",
    "meminfo",
    "vmstat",
    "mounts",
    "diskstats",
    "netdev",
    "net_class",
    "netstat",
    "sockstat",
    "tcp_connections",
    "kernel_stat",
    "filefd",
    "entropy",
    "pressure",
    "uname",
    "os_release",
    "process_count",
    "uptime",
    "clock",
    "sensors",
    "processes",
    "timex",
    "softnet",
    "conntrack",
    "udp_queues",
    "arp_entries",
)
"""The argument-less ``Source`` methods a fixture records (``statvfs`` is recorded per mount)."""


def _encode(value: Any) -> Any:
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: _encode(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, tuple | list):
        return [_encode(v) for v in value]
    if isinstance(value, Mapping):
        return {k: _encode(v) for k, v in value.items()}
    return value


def _decode(hint: Any, value: Any) -> Any:
    """Rebuild a value of type ``hint`` from its JSON form (the inverse of ``_encode``)."""
    origin = typing.get_origin(hint)
    if value is None:
        return None
    if origin in (types.UnionType, typing.Union):
        inner = [a for a in typing.get_args(hint) if a is not type(None)]
        return _decode(inner[0], value)
    if origin is tuple:
        return tuple(_decode(typing.get_args(hint)[0], v) for v in value)
    if origin in (dict, Mapping) or origin is getattr(typing, "Mapping", None):
        return {k: _decode(typing.get_args(hint)[1], v) for k, v in value.items()}
    if dataclasses.is_dataclass(hint) and isinstance(hint, type):
        field_hints = typing.get_type_hints(hint)
        return hint(**{k: _decode(field_hints[k], v) for k, v in value.items()})
    if hint is float:
        return float(value)
    return value


def record_source(source: Source) -> dict[str, Any]:
    """Every method result of ``source`` in the JSON form ``RecordedSource`` replays.

    ``statvfs`` is recorded for every mount as ``{"usage": ...}`` or ``{"error": message}``.
    """
    out: dict[str, Any] = {name: _encode(getattr(source, name)()) for name in RECORDED_METHODS}
    statvfs: dict[str, Any] = {}
    for mount in source.mounts():
        try:
            statvfs[mount.mountpoint] = {"usage": _encode(source.statvfs(mount.mountpoint))}
        except OSError as err:
            statvfs[mount.mountpoint] = {"error": str(err)}
    out["statvfs"] = statvfs
    return out


class RecordedSource:
    """Replays a fixture recorded by ``record_source``: same results on every call.

    Each method returns the recorded result of the ``Source`` method of the same name. A
    missing key raises ``OSError`` like a missing kernel file would; a ``statvfs`` entry of
    ``{"error": message}`` raises ``OSError(message)``.
    """

    def __init__(self, data: Mapping[str, Any]) -> None:
        self._data = data

    @classmethod
    def from_file(cls, path: str | os.PathLike[str]) -> RecordedSource:
        """Load a fixture file."""
        with open(path, encoding="utf-8") as handle:
            return cls(json.load(handle))

    def _get(self, name: str) -> Any:
        if name not in self._data:
            raise OSError(f"fixture has no {name!r}")
        hint = typing.get_type_hints(getattr(Source, name))["return"]
        return _decode(hint, self._data[name])

    def cpu_times_per_core(self) -> tuple[CpuTimes, ...]:
        return self._get("cpu_times_per_core")  # type: ignore[no-any-return]

    def cpu_freq(self) -> tuple[CpuFrequency, ...]:
        return self._get("cpu_freq")  # type: ignore[no-any-return]

    def cpu_count(self) -> CpuCount:
        return self._get("cpu_count")  # type: ignore[no-any-return]

    def load_average(self) -> LoadAverage:
        return self._get("load_average")  # type: ignore[no-any-return]

    def meminfo(self) -> tuple[MeminfoField, ...]:
        return self._get("meminfo")  # type: ignore[no-any-return]

    def vmstat(self) -> Mapping[str, float]:
        return self._get("vmstat")  # type: ignore[no-any-return]

    def mounts(self) -> tuple[Mount, ...]:
        return self._get("mounts")  # type: ignore[no-any-return]

    def diskstats(self) -> tuple[DiskStats, ...]:
        return self._get("diskstats")  # type: ignore[no-any-return]

    def netdev(self) -> tuple[NetDevStats, ...]:
        return self._get("netdev")  # type: ignore[no-any-return]

    def net_class(self) -> tuple[NetClass, ...]:
        return self._get("net_class")  # type: ignore[no-any-return]

    def netstat(self) -> Mapping[str, float]:
        return self._get("netstat")  # type: ignore[no-any-return]

    def sockstat(self) -> SocketStats:
        return self._get("sockstat")  # type: ignore[no-any-return]

    def tcp_connections(self) -> TcpConnections:
        return self._get("tcp_connections")  # type: ignore[no-any-return]

    def kernel_stat(self) -> KernelStat:
        return self._get("kernel_stat")  # type: ignore[no-any-return]

    def filefd(self) -> FileFd | None:
        return self._get("filefd")  # type: ignore[no-any-return]

    def entropy(self) -> Entropy | None:
        return self._get("entropy")  # type: ignore[no-any-return]

    def pressure(self) -> tuple[Pressure, ...]:
        return self._get("pressure")  # type: ignore[no-any-return]

    def uname(self) -> Uname:
        return self._get("uname")  # type: ignore[no-any-return]

    def os_release(self) -> Mapping[str, str]:
        return self._get("os_release")  # type: ignore[no-any-return]

    def process_count(self) -> int:
        return self._get("process_count")  # type: ignore[no-any-return]

    def uptime(self) -> float:
        return self._get("uptime")  # type: ignore[no-any-return]

    def clock(self) -> float:
        return self._get("clock")  # type: ignore[no-any-return]

    def sensors(self) -> Sensors:
        return self._get("sensors")  # type: ignore[no-any-return]

    def processes(self) -> tuple[ProcessSample, ...]:
        return self._get("processes")  # type: ignore[no-any-return]

    def timex(self) -> Timex | None:
        return self._get("timex")  # type: ignore[no-any-return]

    def softnet(self) -> tuple[Softnet, ...]:
        return self._get("softnet")  # type: ignore[no-any-return]

    def conntrack(self) -> Conntrack | None:
        return self._get("conntrack")  # type: ignore[no-any-return]

    def udp_queues(self) -> tuple[UdpQueues, ...]:
        return self._get("udp_queues")  # type: ignore[no-any-return]

    def arp_entries(self) -> Mapping[str, int]:
        return self._get("arp_entries")  # type: ignore[no-any-return]

    def statvfs(self, mountpoint: str) -> FsUsage:
        """The recorded usage of ``mountpoint``, or its recorded error."""
        entry = self._data.get("statvfs", {}).get(mountpoint)
        if entry is None:
            raise OSError(f"fixture has no statvfs for {mountpoint!r}")
        if "error" in entry:
            raise OSError(entry["error"])
        usage: FsUsage = _decode(FsUsage, entry["usage"])
        return usage
