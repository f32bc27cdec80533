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
from multimonx.agent.readings import FsUsage, MeminfoField
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
    assert int(count) == 8
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
