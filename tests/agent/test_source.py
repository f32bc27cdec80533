"""The source seam: procfs parsers on hand-written text, SystemSource on this machine (its
Linux path without psutil, and its portable psutil path), and the record/replay round trip that
the golden tests rely on."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import psutil
import pytest
from hypothesis import given
from hypothesis import strategies as st

from multimonx.agent import procfs
from multimonx.agent.readings import Conntrack, FsUsage, MeminfoField, Softnet, Timex
from multimonx.agent.recorded import RECORDED_METHODS, RecordedSource, record_source
from multimonx.agent.source import SystemSource

FIXTURES = Path(__file__).resolve().parent / "fixtures"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("MemTotal:  1024 kB\n", [("MemTotal", 1024.0, True)]),
        ("Active(anon):  8 kB\n", [("Active_anon", 8.0, True)]),
        ("HugePages_Total:  4\n", [("HugePages_Total", 4.0, False)]),
        ("garbage\n\n", []),
    ],
)
def test_parse_meminfo(text: str, expected: list[tuple[str, float, bool]]) -> None:
    assert procfs.parse_meminfo(text) == expected


def test_parse_stat_converts_ticks_and_skips_the_aggregate_line() -> None:
    text = (
        "cpu  1 2 3 4 5 6 7 8 9 10\ncpu0 100 0 50 1000 1 2 3 4 5 6\nctxt 99\nbtime 1700000000\n"
        "procs_running 3\n"
    )
    cores, scalars = procfs.parse_stat(text)
    assert cores == [("0", [1.0, 0.0, 0.5, 10.0, 0.01, 0.02, 0.03, 0.04, 0.05, 0.06])]
    assert scalars == {"ctxt": 99.0, "btime": 1.7e9, "procs_running": 3.0}


def test_parse_snmp_pairs_header_and_value_lines() -> None:
    text = "Tcp: RtoMin MaxConn CurrEstab\nTcp: 200 -1 7\nUdp: InDatagrams\nUdp: 5\n"
    assert procfs.parse_snmp(text) == {
        "Tcp_RtoMin": 200.0,
        "Tcp_MaxConn": -1.0,
        "Tcp_CurrEstab": 7.0,
        "Udp_InDatagrams": 5.0,
    }


def test_parse_snmp6_splits_protocol_at_the_six() -> None:
    text = "Ip6InOctets  10\nIcmp6InMsgs 2\nUdpLite6InErrors 0\n"
    assert procfs.parse_snmp6(text) == {
        "Ip6_InOctets": 10.0,
        "Icmp6_InMsgs": 2.0,
        "UdpLite6_InErrors": 0.0,
    }


def test_count_tcp_states_sums_queues() -> None:
    text = (
        "  sl  local_address rem_address   st tx_queue rx_queue\n"
        "   0: 00000000:07E8 00000000:0000 0A 00000000:00000002 00:0 0\n"
        "   1: 0100007F:9CA2 0100007F:82E5 01 00000010:00000000 00:0 0\n"
        "   2: 0100007F:9CA2 0100007F:82E5 01 00000000:00000000 00:0 0\n"
    )
    counts: dict[str, int] = {}
    assert procfs.count_tcp_states(text, counts) == (16, 2)
    assert counts == {"listen": 1, "established": 2}


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ("/dev/sda1 / ext4 rw,relatime 0 0", ("/dev/sda1", "/", "ext4", ("rw", "relatime"))),
        (r"/dev/sdb1 /mnt/my\040disk vfat ro 0 0", ("/dev/sdb1", "/mnt/my disk", "vfat", ("ro",))),
        (r"tmpfs /a\011b\134c tmpfs rw 0 0", ("tmpfs", "/a\tb\\c", "tmpfs", ("rw",))),
    ],
)
def test_parse_mounts_decodes_octal_escapes(
    line: str, expected: tuple[str, str, str, tuple[str, ...]]
) -> None:
    assert procfs.parse_mounts(line + "\n") == [expected]


@given(st.text(alphabet=st.characters(blacklist_categories=["Cs"]), min_size=1))
def test_mount_field_escape_round_trips(path: str) -> None:
    escaped = "".join(f"\\{ord(c):03o}" if c in " \t\n\\" else c for c in path)
    assert procfs.unescape_mount_field(escaped) == path


def test_parse_os_release_strips_quotes() -> None:
    text = 'NAME="Debian GNU/Linux"\nVERSION_ID="12"\nID=debian\n# comment\nX=\'a \\"b\\"\'\n'
    assert procfs.parse_os_release(text) == {
        "NAME": "Debian GNU/Linux",
        "VERSION_ID": "12",
        "ID": "debian",
        "X": 'a "b"',
    }


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("0\n", 1),
        ("0-1\n", 2),
        ("0-3,8", 5),
        ("0,2-3,5-7\n", 6),
        ("", 0),
        ("0-x", 0),
        ("3-1", 0),
    ],
)
def test_count_cpu_list(text: str, expected: int) -> None:
    assert procfs.count_cpu_list(text) == expected


def _cpuinfo(*pairs: tuple[int, int]) -> str:
    return "\n".join(
        f"processor\t: {i}\nphysical id\t: {package}\ncore id\t\t: {core}\n"
        for i, (package, core) in enumerate(pairs)
    )


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (_cpuinfo((0, 0), (0, 1)), 2),
        (_cpuinfo((0, 0), (0, 1), (0, 0), (0, 1)), 2),
        (_cpuinfo((0, 0), (1, 0)), 2),
        ("processor\t: 0\nBogoMIPS\t: 48.00\n\nprocessor\t: 1\nBogoMIPS\t: 48.00\n", None),
        ("", None),
    ],
)
def test_count_cpuinfo_cores_counts_distinct_package_core_pairs(
    text: str, expected: int | None
) -> None:
    assert procfs.count_cpuinfo_cores(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "0000a850 00000001 00000002 0 0 0 0 0 0 0 0 0 00000000 00000000 00000000\n"
            "ffffffff 00000000 00000010 0 0 0 0 0 0 0 0 0 00000000 00000000 00000001\n",
            [(0xA850, 1, 2), (0xFFFFFFFF, 0, 16)],
        ),
        ("00000001 00000002 00000003 0 0 0 0 0 0\n", [(1, 2, 3)]),
        ("00000001 00000002\n\n", []),
    ],
)
def test_parse_softnet_reads_hex_columns_per_line(
    text: str, expected: list[tuple[int, int, int]]
) -> None:
    assert procfs.parse_softnet(text) == expected


_CONNTRACK_HEADER = "entries  clashres found new invalid ignore delete chainlength insert ...\n"


def _conntrack_line(values: dict[int, int], width: int) -> str:
    return " ".join(f"{values.get(i, 0):08x}" for i in range(width)) + "\n"


def test_parse_conntrack_stat_sums_columns_by_position_over_cpus() -> None:
    cpu0 = {0: 99, 1: 7, 2: 1, 4: 2, 5: 3, 8: 4, 9: 5, 10: 6, 11: 7, 12: 50, 16: 8}
    cpu1 = {2: 0x10, 16: 0x20}
    old_kernel = {2: 1000, 10: 1}  # 16 columns: no search_restart
    text = (
        _CONNTRACK_HEADER
        + _conntrack_line(cpu0, 17)
        + _conntrack_line(cpu1, 17)
        + _conntrack_line(old_kernel, 16)
        + "00000001 00000002\n"
    )
    assert procfs.parse_conntrack_stat(text) == {
        "found": 1 + 16 + 1000,
        "invalid": 2,
        "ignore": 3,
        "insert": 4,
        "insert_failed": 5,
        "drop": 6 + 1,
        "early_drop": 7,
        "search_restart": 8 + 32,
    }


def test_sum_socket_queues_adds_every_socket_of_the_table() -> None:
    text = (
        "   sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid\n"
        "  256: 00000000:0044 00000000:0000 07 00000000:00000300 00:00000000 00000000     0\n"
        "  300: 0100007F:0035 00000000:0000 07 00000200:00000001 00:00000000 00000000   101\n"
    )
    assert procfs.sum_socket_queues(text) == (0x200, 0x301)
    assert procfs.sum_socket_queues(text.splitlines()[0]) == (0, 0)


def test_count_arp_entries_counts_lines_per_device() -> None:
    text = (
        "IP address       HW type     Flags       HW address            Mask     Device\n"
        "192.0.2.1        0x1         0x2         02:fc:00:00:00:05     *        eth0\n"
        "192.0.2.7        0x1         0x0         00:00:00:00:00:00     *        eth0\n"
        "10.0.0.1         0x1         0x2         02:fc:00:00:00:06     *        br-1a\n"
        "garbage\n"
    )
    assert procfs.count_arp_entries(text) == {"eth0": 2, "br-1a": 1}


_TIMEX_FIELDS = {
    "offset": -1500,
    "freq": 65536 * 3,
    "maxerror": 16_000_000,
    "esterror": 250,
    "status": 0x40,
    "constant": 2,
    "tick": 10_000,
    "ppsfreq": -65536,
    "jitter": 40,
    "shift": 4,
    "stabil": 65536 // 2,
    "jitcnt": 1,
    "calcnt": 2,
    "errcnt": 3,
    "stbcnt": 4,
    "tai": 37,
}


@pytest.mark.parametrize(
    ("state", "status", "sync", "offset", "jitter"),
    [
        (5, 0x40, 0.0, -1500e-6, 40e-6),  # TIME_ERROR, microsecond resolution
        (0, 0x1, 1.0, -1500e-6, 40e-6),  # TIME_OK
        (0, 0x2001, 1.0, -1500e-9, 40e-9),  # STA_NANO: offset and jitter in nanoseconds
        (1, 0x2011, 1.0, -1500e-9, 40e-9),  # TIME_INS still counts as synchronised
    ],
)
def test_decode_timex_follows_node_exporters_units(
    state: int, status: int, sync: float, offset: float, jitter: float
) -> None:
    got = procfs.decode_timex(state, {**_TIMEX_FIELDS, "status": status})
    assert got["sync_status"] == sync
    assert got["status"] == float(status)
    assert got["offset_seconds"] == pytest.approx(offset)
    assert got["pps_jitter_seconds"] == pytest.approx(jitter)
    assert got["frequency_adjustment_ratio"] == pytest.approx(1.000003)
    assert got["pps_frequency_hertz"] == pytest.approx(-1e-6)
    assert got["pps_stability_hertz"] == pytest.approx(0.5e-6)
    assert (got["maxerror_seconds"], got["estimated_error_seconds"]) == (16.0, 0.00025)
    assert (got["tick_seconds"], got["loop_time_constant"], got["pps_shift_seconds"]) == (
        0.01,
        2.0,
        4.0,
    )
    assert [got[k] for k in ("pps_jitter_total", "pps_calibration_total")] == [1.0, 2.0]
    assert [got[k] for k in ("pps_error_total", "pps_stability_exceeded_total")] == [3.0, 4.0]
    assert got["tai_offset_seconds"] == 37.0
    assert set(got) == set(Timex.__dataclass_fields__)


def _network_proc(root: Path, files: dict[str, str]) -> SystemSource:
    """A SystemSource over a fake ``/proc`` holding ``files`` (paths relative to it)."""
    proc = root / "proc"
    (proc / "self").mkdir(parents=True)
    for name, text in files.items():
        (proc / name).parent.mkdir(parents=True, exist_ok=True)
        (proc / name).write_text(text)
    return SystemSource(str(proc), str(root / "sys"))


_UDP = (
    "  sl  local_address rem_address   st tx_queue rx_queue\n   1: 0:0 0:0 07 00000010:00000020\n"
)


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads a Linux /proc layout")
@pytest.mark.parametrize(
    ("files", "expected"),
    [
        ({"net/udp": _UDP, "net/udp6": _UDP}, [("v4", 16.0, 32.0), ("v6", 16.0, 32.0)]),
        ({"net/udp": _UDP}, [("v4", 16.0, 32.0)]),
        ({"net/udp6": _UDP}, []),  # like node_exporter: nothing without the IPv4 table
        ({}, []),
    ],
)
def test_udp_queues_stop_at_the_first_missing_table(
    tmp_path: Path, files: dict[str, str], expected: list[tuple[str, float, float]]
) -> None:
    source = _network_proc(tmp_path, files)
    assert [(q.ip, q.tx_bytes, q.rx_bytes) for q in source.udp_queues()] == expected


_NETFILTER = "sys/net/netfilter"


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads a Linux /proc layout")
@pytest.mark.parametrize(
    ("files", "expected"),
    [
        ({}, None),
        ({f"{_NETFILTER}/nf_conntrack_count": "3\n"}, None),
        (
            {f"{_NETFILTER}/nf_conntrack_count": "3\n", f"{_NETFILTER}/nf_conntrack_max": "9\n"},
            Conntrack(3.0, 9.0, {}),
        ),
        (
            {
                f"{_NETFILTER}/nf_conntrack_count": "3\n",
                f"{_NETFILTER}/nf_conntrack_max": "9\n",
                "net/stat/nf_conntrack": _CONNTRACK_HEADER + _conntrack_line({2: 5}, 17),
            },
            Conntrack(
                3.0,
                9.0,
                {n: 5.0 if n == "found" else 0.0 for n in procfs.CONNTRACK_STAT_COLUMNS},
            ),
        ),
    ],
)
def test_conntrack_needs_count_and_max_and_takes_statistics_where_present(
    tmp_path: Path, files: dict[str, str], expected: Conntrack | None
) -> None:
    assert _network_proc(tmp_path, files).conntrack() == expected


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads a Linux /proc layout")
def test_missing_softnet_and_arp_tables_read_as_empty(tmp_path: Path) -> None:
    source = _network_proc(tmp_path, {})
    assert (source.softnet(), source.arp_entries()) == ((), {})
    source = _network_proc(
        tmp_path / "b",
        {
            "net/softnet_stat": "00000005 0 0 0 0 0 0 0 0\n00000007 00000001 0 0 0 0 0 0 0\n",
            "net/arp": "IP address HW type Flags HW address Mask Device\n"
            "192.0.2.1 0x1 0x2 02:fc:00:00:00:05 * eth0\n",
        },
    )
    assert source.softnet() == (Softnet("0", 5.0, 0.0, 0.0), Softnet("1", 7.0, 1.0, 0.0))
    assert source.arp_entries() == {"eth0": 1}


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="adjtimex is Linux's")
def test_node_exporter_readings_on_this_machine() -> None:
    source = SystemSource()
    timex = source.timex()
    assert timex is not None, "adjtimex in read-only mode needs no privilege"
    assert 0 < timex.tick_seconds < 1
    assert timex.sync_status in (0.0, 1.0)
    assert 0.99 < timex.frequency_adjustment_ratio < 1.01
    assert source.timex() is not None, "a second call reuses the loaded reader"
    assert [s.cpu for s in source.softnet()] == [str(i) for i in range(source.cpu_count().logical)]
    assert [q.ip for q in source.udp_queues()][:1] == ["v4"]
    assert all(n > 0 for n in source.arp_entries().values())


_LAZY_CTYPES_CHILD = textwrap.dedent(
    """
    import sys
    from multimonx.agent.collectors import build_collectors
    from multimonx.agent.source import SystemSource
    from multimonx.config import MetricsSection
    source = SystemSource()
    collectors = build_collectors(MetricsSection(), source, 5.0)
    before = "ctypes" in sys.modules
    source.timex()
    print(before, "ctypes" in sys.modules)
    """
)


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="adjtimex is Linux's")
def test_ctypes_is_imported_only_when_timex_is_first_read() -> None:
    done = subprocess.run(
        [sys.executable, "-c", _LAZY_CTYPES_CHILD],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    assert done.stdout.split() == ["False", "True"]


def _fake_kernel(
    root: Path, topology: list[dict[str, int]], online: str | None, cpuinfo: str | None
) -> SystemSource:
    """A SystemSource over a minimal fake ``/proc`` and ``/sys`` holding only the CPU files."""
    proc, sys_path = root / "proc", root / "sys"
    (proc / "self").mkdir(parents=True)
    if cpuinfo is not None:
        (proc / "cpuinfo").write_text(cpuinfo)
    base = sys_path / "devices" / "system" / "cpu"
    base.mkdir(parents=True)
    if online is not None:
        (base / "online").write_text(online + "\n")
    for i, ids in enumerate(topology):
        (base / f"cpu{i}" / "topology").mkdir(parents=True)
        for name, value in ids.items():
            (base / f"cpu{i}" / "topology" / name).write_text(f"{value}\n")
    return SystemSource(str(proc), str(sys_path))


def _ids(package: int, core: int, **more: int) -> dict[str, int]:
    return {"physical_package_id": package, "core_id": core, **more}


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads a Linux /proc layout")
@pytest.mark.parametrize(
    ("topology", "cpuinfo", "physical"),
    [
        ([_ids(0, 0), _ids(0, 1)], None, 2),
        ([_ids(0, 0), _ids(0, 1), _ids(0, 0), _ids(0, 1)], None, 2),
        ([_ids(0, 0), _ids(0, 1), _ids(1, 0), _ids(1, 1)], None, 4),
        ([_ids(0, 0, cluster_id=c) for c in (0, 0, 1, 1)], None, 2),
        ([_ids(0, 0, die_id=d, cluster_id=0) for d in (0, 1)], None, 2),
        ([{}, {}, {}, {}], _cpuinfo((0, 0), (0, 0), (0, 1), (0, 1)), 2),
        ([], _cpuinfo((0, 0), (0, 1), (0, 2)), 3),
        ([], "processor\t: 0\n", None),
        ([], None, None),
    ],
)
def test_physical_cores_come_from_sysfs_topology_then_cpuinfo(
    tmp_path: Path, topology: list[dict[str, int]], cpuinfo: str | None, physical: int | None
) -> None:
    source = _fake_kernel(tmp_path, topology, "0-3", cpuinfo)
    assert source.cpu_count().logical == 4
    assert source.cpu_count().physical == physical


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads a Linux /proc layout")
@pytest.mark.parametrize(("online", "logical"), [("0-5,7", 7), (None, None), ("?", None)])
def test_logical_cores_are_the_online_list_else_os_cpu_count(
    tmp_path: Path, online: str | None, logical: int | None
) -> None:
    """``logical`` None stands for ``os.cpu_count()``: no online list, or one we cannot read."""
    source = _fake_kernel(tmp_path, [], online, None)
    assert source.cpu_count().logical == (logical or os.cpu_count())


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="compares /proc with psutil")
def test_linux_readings_agree_with_psutil_on_this_machine() -> None:
    source = SystemSource()
    assert source.cpu_count().logical == psutil.cpu_count(logical=True)
    assert source.cpu_count().physical == psutil.cpu_count(logical=False)
    count, pids = source.process_count(), len(psutil.pids())
    assert abs(count - pids) <= max(50, pids // 10), "processes come and go between the reads"
    assert abs(source.uptime() - (time.time() - psutil.boot_time())) < 60


def test_portable_psutil_path_reads_this_machine(tmp_path: Path) -> None:
    """Without a ``/proc`` tree SystemSource takes the psutil path it uses off Linux."""
    source = SystemSource(proc=str(tmp_path / "no-proc"), sys_path=str(tmp_path / "no-sys"))
    logical = source.cpu_count().logical
    assert logical == psutil.cpu_count(logical=True)
    assert source.cpu_count().physical == psutil.cpu_count(logical=False)
    assert len(source.cpu_times_per_core()) == logical
    assert source.load_average().load1 >= 0
    assert {f.name for f in source.meminfo()} >= {"MemTotal", "MemFree", "SwapTotal"}
    assert any(m.mountpoint == "/" for m in source.mounts())
    assert source.statvfs("/").size_bytes > 0
    assert all(len(d.counters) == 11 for d in source.diskstats())
    assert any(n.receive["bytes"] >= 0 for n in source.netdev())
    assert source.kernel_stat().boot_time > 1e9
    assert source.process_count() > 0
    assert source.uptime() > 0
    assert source.uname().sysname == os.uname().sysname
    assert source.uname().domainname == "(none)"
    assert (source.vmstat(), source.net_class(), source.netstat()) == ({}, (), {})
    assert (source.filefd(), source.entropy(), source.pressure()) == (None, None, ())


def test_sensors_and_processes_read_through_psutil() -> None:
    source = SystemSource()
    sensors = source.sensors()
    assert all(isinstance(t.celsius, float) for t in sensors.temperatures)
    mine = [p for p in source.processes() if p.pid == os.getpid()]
    assert len(mine) == 1
    assert mine[0].rss_bytes > 0


_NO_PSUTIL_CHILD = textwrap.dedent(
    """
    import sys
    import multimonx.agent.source, multimonx.agent.collectors
    from multimonx.agent.collectors import build_collectors
    from multimonx.agent.source import SystemSource
    from multimonx.config import MetricsSection
    collectors = build_collectors(MetricsSection(), SystemSource(), 5.0)
    for collector in collectors:
        collector.collect()
    print(len(collectors), " ".join(sorted(sys.modules)))
    """
)


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="psutil is the path off Linux")
def test_default_collectors_on_linux_never_import_psutil() -> None:
    done = subprocess.run(
        [sys.executable, "-c", _NO_PSUTIL_CHILD],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    count, modules = done.stdout.split(" ", 1)
    assert int(count) == 13
    loaded = set(modules.split())
    assert "multimonx.agent.collectors.cpu" in loaded, "the child really ran the collectors"
    unwanted = {"psutil", "pynvml", "subprocess", "platform", "multimonx.agent.recorded"}
    unwanted |= {f"multimonx.agent.collectors.{n}" for n in ("hwmon", "processes", "gpu", "smart")}
    assert loaded & unwanted == set()


def test_system_source_reads_this_machine() -> None:
    source = SystemSource()
    meminfo = {f.name: f for f in source.meminfo()}
    assert meminfo["MemTotal"].kilobytes
    assert meminfo["MemTotal"].value > 0
    assert len(source.cpu_times_per_core()) == source.cpu_count().logical
    assert any(m.mountpoint == "/" for m in source.mounts())
    assert source.statvfs("/").size_bytes > 0
    assert source.kernel_stat().boot_time > 1e9
    assert source.uname() is source.uname(), "static facts are read once"


def test_recorded_source_replays_what_was_recorded() -> None:
    system = SystemSource()
    data = json.loads(json.dumps(record_source(system)))
    replay = RecordedSource(data)
    for name in ("cpu_count", "uname", "os_release", "mounts", "net_class"):
        assert getattr(replay, name)() == getattr(system, name)(), name
    for name in RECORDED_METHODS:
        assert getattr(replay, name)() == getattr(replay, name)()
    assert isinstance(replay.meminfo()[0], MeminfoField)
    assert isinstance(replay.statvfs("/"), FsUsage)


@pytest.mark.parametrize(
    ("data", "call", "message"),
    [
        ({}, lambda s: s.meminfo(), "no 'meminfo'"),
        (
            {"statvfs": {"/x": {"error": "Stale file handle"}}},
            lambda s: s.statvfs("/x"),
            "Stale file handle",
        ),
        ({"statvfs": {}}, lambda s: s.statvfs("/y"), "no statvfs"),
    ],
)
def test_recorded_source_raises_oserror_like_the_kernel(
    data: dict[str, object], call: object, message: str
) -> None:
    source = RecordedSource(data)
    with pytest.raises(OSError, match=message):
        call(source)  # type: ignore[operator]


def test_the_machine_fixture_loads_completely() -> None:
    source = RecordedSource.from_file(FIXTURES / "machine.json")
    for name in RECORDED_METHODS:
        getattr(source, name)()
