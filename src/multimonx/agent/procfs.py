"""Parsers for Linux ``/proc`` and ``/sys`` files, returning plain values.

Only ``multimonx.agent.source`` imports this module. Every parser takes the text of one file
and returns builtins (dicts, tuples, numbers), so it can be tested on hand-written text and the
source can wrap the results in its own value types. The parsers follow what node_exporter's
``procfs`` library reads, so the agent reports the same numbers for the same kernel.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping

USER_HZ = 100.0
"""Clock ticks per second in ``/proc/stat`` (fixed at 100 by the kernel's ABI)."""

_OCTAL_ESCAPE = re.compile(r"\\([0-7]{3})")


def read_text(path: str) -> str:
    """The whole text of a (small) kernel file."""
    with open(path, encoding="utf-8", errors="replace") as handle:
        return handle.read()


def read_optional(path: str) -> str | None:
    """The stripped text of a sysfs attribute, or None when it is missing or unreadable.

    Some attributes exist but fail on read (``speed`` of a down interface returns EINVAL);
    node_exporter skips those, and so does the caller when it gets None.
    """
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return None
    try:
        return os.read(fd, 65536).decode("utf-8", "replace").strip()
    except OSError:
        return None
    finally:
        os.close(fd)


def parse_stat(text: str) -> tuple[list[tuple[str, list[float]]], dict[str, float]]:
    """``/proc/stat``: per-core tick counters converted to seconds, and the scalar lines.

    Returns ``([(core, [user, nice, system, idle, iowait, irq, softirq, steal, guest,
    guest_nice]), ...], {"btime": .., "ctxt": .., "intr": .., "processes": ..,
    "procs_running": .., "procs_blocked": ..})``. The aggregate ``cpu`` line is skipped.
    """
    cores: list[tuple[str, list[float]]] = []
    scalars: dict[str, float] = {}
    for line in text.splitlines():
        parts = line.split()
        if not parts:
            continue
        key = parts[0]
        if key.startswith("cpu"):
            if key == "cpu":
                continue
            ticks = [float(v) / USER_HZ for v in parts[1:11]]
            ticks.extend([0.0] * (10 - len(ticks)))
            cores.append((key[3:], ticks))
        elif key in ("btime", "ctxt", "intr", "processes", "procs_running", "procs_blocked"):
            scalars[key] = float(parts[1])
    return cores, scalars


def parse_meminfo(text: str) -> list[tuple[str, float, bool]]:
    """``/proc/meminfo`` as (field, value, value_is_kilobytes) in file order.

    Field names are returned as node_exporter spells them: ``Active(anon)`` becomes
    ``Active_anon``.
    """
    out: list[tuple[str, float, bool]] = []
    for line in text.splitlines():
        name, sep, rest = line.partition(":")
        if not sep:
            continue
        parts = rest.split()
        if not parts:
            continue
        clean = name.strip().replace("(", "_").replace(")", "")
        out.append((clean, float(parts[0]), len(parts) > 1 and parts[1] == "kB"))
    return out


def parse_key_value(text: str) -> dict[str, float]:
    """Files of ``name value`` lines such as ``/proc/vmstat`` and ``/proc/net/snmp6``."""
    out: dict[str, float] = {}
    for line in text.splitlines():
        parts = line.split()
        if len(parts) >= 2:
            try:
                out[parts[0]] = float(parts[1])
            except ValueError:
                continue
    return out


def unescape_mount_field(field: str) -> str:
    r"""Decode the octal escapes of ``/proc/mounts`` (``\040`` is a space, ``\011`` a tab)."""
    if "\\" not in field:
        return field
    return _OCTAL_ESCAPE.sub(lambda m: chr(int(m.group(1), 8)), field)


def parse_mounts(text: str) -> list[tuple[str, str, str, tuple[str, ...]]]:
    """``/proc/mounts``: (device, mountpoint, fstype, options) per line."""
    out: list[tuple[str, str, str, tuple[str, ...]]] = []
    for line in text.splitlines():
        parts = line.split()
        if len(parts) < 4:
            continue
        out.append(
            (
                unescape_mount_field(parts[0]),
                unescape_mount_field(parts[1]),
                parts[2],
                tuple(parts[3].split(",")),
            )
        )
    return out


def parse_diskstats(text: str) -> list[tuple[int, int, str, tuple[int, ...]]]:
    """``/proc/diskstats``: (major, minor, device, counters) with every counter after the name.

    Kernels before 4.18 have 11 counters, 4.18 adds 4 discard counters, 5.5 adds 2 flush
    counters; the tuple holds whatever this kernel prints.
    """
    out: list[tuple[int, int, str, tuple[int, ...]]] = []
    for line in text.splitlines():
        parts = line.split()
        if len(parts) < 14:
            continue
        out.append((int(parts[0]), int(parts[1]), parts[2], tuple(int(v) for v in parts[3:])))
    return out


NETDEV_RECEIVE = ("bytes", "packets", "errs", "drop", "fifo", "frame", "compressed", "multicast")
"""The receive columns of ``/proc/net/dev``, in file order."""
NETDEV_TRANSMIT = ("bytes", "packets", "errs", "drop", "fifo", "colls", "carrier", "compressed")
"""The transmit columns of ``/proc/net/dev``, in file order."""


def parse_netdev(text: str) -> list[tuple[str, dict[str, int], dict[str, int]]]:
    """``/proc/net/dev``: (device, receive counters, transmit counters) per interface."""
    out: list[tuple[str, dict[str, int], dict[str, int]]] = []
    for line in text.splitlines()[2:]:
        name, sep, rest = line.partition(":")
        if not sep:
            continue
        values = [int(v) for v in rest.split()]
        if len(values) < 16:
            continue
        out.append(
            (
                name.strip(),
                dict(zip(NETDEV_RECEIVE, values[:8], strict=True)),
                dict(zip(NETDEV_TRANSMIT, values[8:16], strict=True)),
            )
        )
    return out


def parse_snmp(text: str) -> dict[str, float]:
    """``/proc/net/snmp`` and ``/proc/net/netstat``: header/value line pairs as ``Proto_Field``."""
    out: dict[str, float] = {}
    lines = text.splitlines()
    for header, values in zip(lines[::2], lines[1::2], strict=False):
        names = header.split()
        numbers = values.split()
        if not names or not numbers or names[0] != numbers[0]:
            continue
        proto = names[0].rstrip(":")
        for name, number in zip(names[1:], numbers[1:], strict=False):
            try:
                out[f"{proto}_{name}"] = float(number)
            except ValueError:
                continue
    return out


def parse_snmp6(text: str) -> dict[str, float]:
    """``/proc/net/snmp6``: ``Ip6InOctets 12`` lines as ``Ip6_InOctets`` (protocol ends at '6')."""
    out: dict[str, float] = {}
    for key, value in parse_key_value(text).items():
        index = key.find("6")
        if index < 0:
            continue
        out[f"{key[: index + 1]}_{key[index + 1 :]}"] = value
    return out


def parse_sockstat(text: str) -> tuple[int | None, dict[str, dict[str, int]]]:
    """``/proc/net/sockstat`` (or ``sockstat6``): sockets in use and per-protocol fields."""
    used: int | None = None
    protocols: dict[str, dict[str, int]] = {}
    for line in text.splitlines():
        proto, sep, rest = line.partition(":")
        if not sep:
            continue
        parts = rest.split()
        if proto == "sockets":
            if len(parts) >= 2 and parts[0] == "used":
                used = int(parts[1])
            continue
        protocols[proto] = {k: int(v) for k, v in zip(parts[::2], parts[1::2], strict=False)}
    return used, protocols


TCP_STATES = {
    1: "established",
    2: "syn_sent",
    3: "syn_recv",
    4: "fin_wait1",
    5: "fin_wait2",
    6: "time_wait",
    7: "close",
    8: "close_wait",
    9: "last_ack",
    10: "listen",
    11: "closing",
}
"""Kernel TCP state numbers (``include/net/tcp_states.h``) as node_exporter's tcpstat names."""


def count_tcp_states(text: str, counts: dict[str, int]) -> tuple[int, int]:
    """Add the sockets of ``/proc/net/tcp`` or ``tcp6`` to ``counts`` by state.

    Returns the summed (tx_queue, rx_queue) bytes of those sockets.
    """
    tx_total = 0
    rx_total = 0
    for line in text.splitlines()[1:]:
        parts = line.split(None, 5)
        if len(parts) < 5:
            continue
        state = TCP_STATES.get(int(parts[3], 16))
        if state is None:
            continue
        counts[state] = counts.get(state, 0) + 1
        tx, _, rx = parts[4].partition(":")
        tx_total += int(tx, 16)
        rx_total += int(rx, 16)
    return tx_total, rx_total


def parse_pressure(text: str) -> dict[str, float]:
    """One ``/proc/pressure/<resource>`` file: ``{"some": seconds, "full": seconds}``."""
    out: dict[str, float] = {}
    for line in text.splitlines():
        parts = line.split()
        if not parts:
            continue
        for item in parts[1:]:
            key, _, value = item.partition("=")
            if key == "total":
                out[parts[0]] = float(value) / 1e6
    return out


def parse_os_release(text: str) -> dict[str, str]:
    """``/etc/os-release``: shell-style ``KEY=value`` assignments, quotes removed."""
    out: dict[str, str] = {}
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        key, sep, value = line.partition("=")
        if not sep:
            continue
        value = value.strip()
        if len(value) >= 2 and value[0] == value[-1] and value[0] in "\"'":
            value = value[1:-1]
            value = re.sub(r"\\(.)", r"\1", value)
        out[key.strip()] = value
    return out


def count_cpu_list(text: str) -> int:
    """How many CPUs a sysfs CPU list names (``0-3,8`` is five); 0 when it is malformed."""
    count = 0
    for item in text.strip().split(","):
        first, sep, last = item.partition("-")
        try:
            low = int(first)
            high = int(last) if sep else low
        except ValueError:
            return 0
        if high < low:
            return 0
        count += high - low + 1
    return count


def count_cpuinfo_cores(text: str) -> int | None:
    """Distinct ``(physical id, core id)`` pairs of ``/proc/cpuinfo``, None when it has none.

    x86 lists both ids for every logical CPU; hyperthread siblings share the pair. Many other
    architectures list neither, and then the number of physical cores is unknown.
    """
    cores: set[tuple[str, str]] = set()
    for block in text.split("\n\n"):
        fields: dict[str, str] = {}
        for line in block.splitlines():
            key, sep, value = line.partition(":")
            if sep:
                fields[key.strip().lower()] = value.strip()
        if "physical id" in fields and "core id" in fields:
            cores.add((fields["physical id"], fields["core id"]))
    return len(cores) or None


def parse_softnet(text: str) -> list[tuple[int, int, int]]:
    """``/proc/net/softnet_stat``: (processed, dropped, times_squeezed) per line, in line order.

    The columns are hexadecimal; lines with fewer than the 9 columns every kernel since 2.6.23
    prints are skipped.
    """
    out: list[tuple[int, int, int]] = []
    for line in text.splitlines():
        parts = line.split()
        if len(parts) < 9:
            continue
        out.append((int(parts[0], 16), int(parts[1], 16), int(parts[2], 16)))
    return out


CONNTRACK_STAT_COLUMNS = {
    "found": 2,
    "invalid": 4,
    "ignore": 5,
    "insert": 8,
    "insert_failed": 9,
    "drop": 10,
    "early_drop": 11,
    "search_restart": 16,
}
"""The ``/proc/net/stat/nf_conntrack`` columns node_exporter exports, by position: the
header's names changed across kernels (``searched`` became ``clashres``), the positions not."""


def parse_conntrack_stat(text: str) -> dict[str, int]:
    """``/proc/net/stat/nf_conntrack``: the ``CONNTRACK_STAT_COLUMNS`` summed over all CPUs.

    Kernels before 2.6.35 print 16 columns, without ``search_restart`` (counted as 0); lines
    of any other width are skipped.
    """
    out = dict.fromkeys(CONNTRACK_STAT_COLUMNS, 0)
    for line in text.splitlines()[1:]:
        parts = line.split()
        if len(parts) not in (16, 17):
            continue
        for name, column in CONNTRACK_STAT_COLUMNS.items():
            if column < len(parts):
                out[name] += int(parts[column], 16)
    return out


def sum_socket_queues(text: str) -> tuple[int, int]:
    """``/proc/net/udp`` (or ``udp6``, ``tcp``...): the summed (tx_queue, rx_queue) bytes."""
    tx_total = 0
    rx_total = 0
    for line in text.splitlines()[1:]:
        parts = line.split(None, 5)
        if len(parts) < 5:
            continue
        tx, _, rx = parts[4].partition(":")
        tx_total += int(tx, 16)
        rx_total += int(rx, 16)
    return tx_total, rx_total


def count_arp_entries(text: str) -> dict[str, int]:
    """``/proc/net/arp``: neighbour entries per device (the last column), header skipped."""
    out: dict[str, int] = {}
    for line in text.splitlines()[1:]:
        parts = line.split()
        if len(parts) < 6:
            continue
        out[parts[-1]] = out.get(parts[-1], 0) + 1
    return out


TIME_ERROR = 5
"""``adjtimex(2)``'s return value when the clock is not synchronised."""
STA_NANO = 0x2000
"""``struct timex`` status bit: ``offset`` and ``jitter`` are in nanoseconds, not microseconds."""
_PPM16 = 1_000_000.0 * 65536.0  # "ppm with a 16-bit fraction" (adjtimex(2) NOTES)


def decode_timex(state: int, fields: Mapping[str, int]) -> dict[str, float]:
    """``adjtimex(2)``'s return value and ``struct timex`` fields in node_exporter's units.

    ``fields`` holds the struct's members by their C names (``offset``, ``freq``, ``maxerror``,
    ``esterror``, ``status``, ``constant``, ``tick``, ``ppsfreq``, ``jitter``, ``shift``,
    ``stabil``, ``jitcnt``, ``calcnt``, ``errcnt``, ``stbcnt``, ``tai``); the result is keyed
    by the ``node_timex_`` metric suffixes (the fields of ``readings.Timex``).
    """
    divisor = 1e9 if fields["status"] & STA_NANO else 1e6
    return {
        "sync_status": 0.0 if state == TIME_ERROR else 1.0,
        "offset_seconds": fields["offset"] / divisor,
        "frequency_adjustment_ratio": 1.0 + fields["freq"] / _PPM16,
        "maxerror_seconds": fields["maxerror"] / 1e6,
        "estimated_error_seconds": fields["esterror"] / 1e6,
        "status": float(fields["status"]),
        "loop_time_constant": float(fields["constant"]),
        "tick_seconds": fields["tick"] / 1e6,
        "pps_frequency_hertz": fields["ppsfreq"] / _PPM16,
        "pps_jitter_seconds": fields["jitter"] / divisor,
        "pps_shift_seconds": float(fields["shift"]),
        "pps_stability_hertz": fields["stabil"] / _PPM16,
        "pps_jitter_total": float(fields["jitcnt"]),
        "pps_calibration_total": float(fields["calcnt"]),
        "pps_error_total": float(fields["errcnt"]),
        "pps_stability_exceeded_total": float(fields["stbcnt"]),
        "tai_offset_seconds": float(fields["tai"]),
    }
