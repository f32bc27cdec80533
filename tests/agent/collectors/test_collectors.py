"""Collector behaviour beyond the golden files: hung mounts, optional collectors' availability,
the SMART parser, top processes, a live smoke run on this machine, and promtool's lint."""

from __future__ import annotations

import importlib
import json
import math
import shutil
import subprocess
import threading
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest

from multimonx.agent import collectors as collectors_package
from multimonx.agent.collectors import (
    COLLECTOR_NAMES,
    CollectorUnavailable,
    FilesystemCollector,
    GpuCollector,
    ProcessesCollector,
    SmartCollector,
    UnavailableCollector,
    build_collectors,
    parse_smartctl,
)
from multimonx.agent.readings import FsUsage, ProcessSample
from multimonx.agent.recorded import RecordedSource
from multimonx.agent.source import SystemSource
from multimonx.config import (
    FilesystemSection,
    MetricsSection,
    ProcessesSection,
    SimpleSection,
    SmartSection,
)
from multimonx.model import MetricFamily, MetricType, render_text

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"
DEFAULTS = tuple(n for n in COLLECTOR_NAMES if getattr(MetricsSection(), n).enabled)


def _values(families: Sequence[MetricFamily], name: str) -> dict[tuple[str, ...], float]:
    for family in families:
        if family.name == name:
            return dict(family.samples)
    return {}


class BlockingSource(RecordedSource):
    """The edge fixture, except that ``statvfs`` of one mount blocks until ``release`` is set."""

    def __init__(self, hang: str) -> None:
        super().__init__(json.loads((FIXTURES / "edge.json").read_text(encoding="utf-8")))
        self.hang = hang
        self.release = threading.Event()
        self.calls: dict[str, int] = {}

    def statvfs(self, mountpoint: str) -> FsUsage:
        self.calls[mountpoint] = self.calls.get(mountpoint, 0) + 1
        if mountpoint == self.hang:
            self.release.wait(60)
        return super().statvfs(mountpoint)


def test_hung_mount_is_reported_as_device_error_and_not_requeried_until_it_returns() -> None:
    source = BlockingSource("/")
    collector = FilesystemCollector(FilesystemSection(mount_timeout=0.2), source, 5.0)
    try:
        first = collector.collect()
        errors = _values(first, "node_filesystem_device_error")
        assert errors[("/dev/sda1", "xfs", "/")] == 1.0
        assert errors[("tmpfs", "tmpfs", "/tmp")] == 0.0
        assert ("/dev/sda1", "xfs", "/") not in _values(first, "node_filesystem_size_bytes")
        assert collector.hung_mountpoints() == ("/",)

        second = collector.collect()
        assert _values(second, "node_filesystem_device_error")[("/dev/sda1", "xfs", "/")] == 1.0
        assert source.calls["/"] == 1, "a hung mount must not be queried again"
    finally:
        source.release.set()
    deadline = time.monotonic() + 30
    while collector.hung_mountpoints() and time.monotonic() < deadline:
        time.sleep(0.01)
    assert collector.hung_mountpoints() == ()
    third = collector.collect()
    assert source.calls["/"] == 2
    assert _values(third, "node_filesystem_device_error")[("/dev/sda1", "xfs", "/")] == 0.0
    assert _values(third, "node_filesystem_size_bytes")[("/dev/sda1", "xfs", "/")] == 5e10


@pytest.mark.parametrize(
    ("enabled", "expected"),
    [
        ((), list(DEFAULTS)),
        (("processes",), [*DEFAULTS, "processes"]),
        (("hwmon", "smart"), [*DEFAULTS, "hwmon", "smart"]),
    ],
)
def test_build_collectors_follows_the_metrics_section(
    enabled: tuple[str, ...], expected: list[str]
) -> None:
    overrides: dict[str, Any] = {}
    for name in enabled:
        section = getattr(MetricsSection(), name)
        overrides[name] = type(section)(**{**_fields(section), "enabled": True})
    source = RecordedSource.from_file(FIXTURES / "edge.json")
    collectors = build_collectors(MetricsSection(**overrides), source, 5.0)
    assert [c.name for c in collectors] == expected
    assert set(expected) <= set(COLLECTOR_NAMES)


def _fields(section: object) -> dict[str, Any]:
    return {name: getattr(section, name) for name in section.__dataclass_fields__}  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    ("name", "module"),
    [
        ("HwmonCollector", "hwmon"),
        ("ProcessesCollector", "processes"),
        ("GpuCollector", "gpu"),
        ("SmartCollector", "smart"),
        ("parse_smartctl", "smart"),
    ],
)
def test_optional_collectors_names_load_their_module_on_first_use(name: str, module: str) -> None:
    submodule = importlib.import_module(f"multimonx.agent.collectors.{module}")
    assert getattr(collectors_package, name) is getattr(submodule, name)
    assert name in collectors_package.__all__


def test_unknown_package_attribute_is_an_attribute_error() -> None:
    with pytest.raises(AttributeError, match="no attribute 'NoSuchCollector'"):
        _ = collectors_package.NoSuchCollector


def test_intervals_use_the_section_override_or_the_base_interval() -> None:
    source = RecordedSource.from_file(FIXTURES / "edge.json")
    by_name = {c.name: c for c in build_collectors(MetricsSection(), source, 7.0)}
    assert by_name["cpu"].interval == 7.0
    assert by_name["filesystem"].interval == 30.0
    assert by_name["connections"].interval == 15.0


@pytest.mark.parametrize(
    ("name", "key", "nothing"),
    [
        ("timex", "timex", None),
        ("softnet", "softnet", []),
        ("conntrack", "conntrack", None),
        ("udp_queues", "udp_queues", []),
        ("arp", "arp_entries", {}),
    ],
)
def test_node_exporter_collectors_without_their_kernel_interface_report_nothing(
    name: str, key: str, nothing: object
) -> None:
    """No adjtimex, no conntrack module, no tables: no families, and not an error."""
    data = json.loads((FIXTURES / "edge.json").read_text(encoding="utf-8"))
    data[key] = nothing
    by_name = {c.name: c for c in build_collectors(MetricsSection(), RecordedSource(data), 5.0)}
    assert list(by_name[name].collect()) == []


def test_conntrack_without_its_statistics_file_still_reports_entries_and_limit() -> None:
    source = RecordedSource.from_file(FIXTURES / "edge.json")
    by_name = {c.name: c for c in build_collectors(MetricsSection(), source, 5.0)}
    families = by_name["conntrack"].collect()
    assert [f.name for f in families] == [
        "node_nf_conntrack_entries",
        "node_nf_conntrack_entries_limit",
    ]


def test_hwmon_without_sensors_is_unavailable_on_this_vm() -> None:
    metrics = MetricsSection(hwmon=SimpleSection(enabled=True))
    collectors = build_collectors(metrics, RecordedSource.from_file(FIXTURES / "machine.json"), 5.0)
    stand_in = collectors[-1]
    assert isinstance(stand_in, UnavailableCollector)
    assert stand_in.name == "hwmon"
    with pytest.raises(CollectorUnavailable, match="no temperature or fan sensors"):
        stand_in.collect()


def test_gpu_without_nvidia_driver_is_unavailable_for_real() -> None:
    pytest.importorskip("pynvml")
    with pytest.raises(CollectorUnavailable, match="gpu: NVML is not usable"):
        GpuCollector(SimpleSection(enabled=True), SystemSource(), 5.0)


class FakeNvml:
    """A two-function-deep stand-in for ``pynvml`` with one GPU."""

    NVML_TEMPERATURE_GPU = 0
    NVML_CLOCK_SM = 1
    NVML_CLOCK_MEM = 2

    class _Util:
        gpu = 37

    class _Mem:
        used = 512 * 1024 * 1024
        free = 1536 * 1024 * 1024

    def nvmlInit(self) -> None:
        pass

    def nvmlDeviceGetCount(self) -> int:
        return 1

    def nvmlDeviceGetHandleByIndex(self, index: int) -> str:
        return f"h{index}"

    def nvmlDeviceGetUUID(self, handle: str) -> bytes:
        return b"GPU-1234"

    def nvmlDeviceGetName(self, handle: str) -> str:
        return "NVIDIA A100"

    def nvmlDeviceGetUtilizationRates(self, handle: str) -> Any:
        return self._Util()

    def nvmlDeviceGetMemoryInfo(self, handle: str) -> Any:
        return self._Mem()

    def nvmlDeviceGetTemperature(self, handle: str, sensor: int) -> int:
        return 55

    def nvmlDeviceGetPowerUsage(self, handle: str) -> int:
        return 87500

    def nvmlDeviceGetClockInfo(self, handle: str, clock: int) -> int:
        return 1410 if clock == self.NVML_CLOCK_SM else 1215


def test_gpu_collector_uses_dcgm_exporter_names_and_units() -> None:
    collector = GpuCollector(SimpleSection(enabled=True), SystemSource(), 5.0, nvml=FakeNvml())
    families = collector.collect()
    labels = ("0", "GPU-1234", "nvidia0", "NVIDIA A100")
    assert _values(families, "DCGM_FI_DEV_GPU_UTIL") == {labels: 37.0}
    assert _values(families, "DCGM_FI_DEV_FB_USED") == {labels: 512.0}
    assert _values(families, "DCGM_FI_DEV_FB_FREE") == {labels: 1536.0}
    assert _values(families, "DCGM_FI_DEV_POWER_USAGE") == {labels: 87.5}
    assert _values(families, "DCGM_FI_DEV_MEM_CLOCK") == {labels: 1215.0}
    assert families[0].label_names == ("gpu", "UUID", "device", "modelName")


def test_smart_with_missing_smartctl_is_unavailable(tmp_path: Path) -> None:
    section = SmartSection(enabled=True, smartctl_path=str(tmp_path / "no-such-smartctl"))
    with pytest.raises(CollectorUnavailable, match="smartctl not found"):
        SmartCollector(section, SystemSource(), 5.0)


def test_smartctl_json_parses_to_smartctl_exporter_names() -> None:
    doc = json.loads((FIXTURES / "smartctl_sda.json").read_text(encoding="utf-8"))
    rows = parse_smartctl(doc)
    assert rows["smartctl_device_smart_status"] == [(("sda",), 1.0)]
    assert rows["smartctl_device_power_on_seconds"] == [(("sda",), 1234 * 3600 + 30 * 60.0)]
    assert rows["smartctl_device_power_cycle_count"] == [(("sda",), 56.0)]
    assert sorted(rows["smartctl_device_temperature"]) == [
        (("sda", "current"), 33.0),
        (("sda", "drive_trip"), 70.0),
    ]
    info, value = rows["smartctl_device"][0]
    assert value == 1.0
    assert info[:6] == (
        "sda",
        "sat",
        "ATA",
        'Example "Quoted" SSDs',
        "EXAMPLE SSD 1TB",
        "S123456789",
    )
    attrs = {(r[0][1], r[0][4]): r[1] for r in rows["smartctl_device_attribute"]}
    assert attrs[("Temperature_Celsius", "raw")] == 33.0
    assert attrs[("Reallocated_Sector_Ct", "thresh")] == 10.0


def test_smart_collector_scans_through_its_runner() -> None:
    doc = (FIXTURES / "smartctl_sda.json").read_text(encoding="utf-8")
    calls: list[list[str]] = []

    def runner(args: Sequence[str]) -> str:
        calls.append(list(args))
        if "--scan-open" in args:
            return json.dumps({"devices": [{"name": "/dev/sda", "type": "sat"}]})
        return doc

    collector = SmartCollector(
        SmartSection(enabled=True, smartctl_path="/nonexistent/smartctl"),
        SystemSource(),
        5.0,
        runner=runner,
    )
    text = render_text(collector.collect())
    assert calls[1][-1] == "/dev/sda"
    assert 'smartctl_device_smart_status{device="sda"} 1' in text


def test_smartctl_on_this_machine_runs_without_devices_or_finds_them() -> None:
    if shutil.which("smartctl") is None:
        pytest.skip("smartctl not installed")
    collector = SmartCollector(SmartSection(enabled=True), SystemSource(), 5.0)
    families = collector.collect()
    assert all(f.name.startswith("smartctl_") for f in families)


class ClockedSource(RecordedSource):
    """The edge fixture with a settable clock and process table."""

    def __init__(self) -> None:
        super().__init__(json.loads((FIXTURES / "edge.json").read_text(encoding="utf-8")))
        self.now = 1000.0
        self.table: tuple[ProcessSample, ...] = ()

    def clock(self) -> float:
        return self.now

    def processes(self) -> tuple[ProcessSample, ...]:
        return self.table


def test_top_processes_cpu_ratio_needs_two_samples() -> None:
    source = ClockedSource()
    collector = ProcessesCollector(ProcessesSection(enabled=True, top=2), source, 5.0)
    source.table = (
        ProcessSample(1, "a", 10.0, 1e6),
        ProcessSample(2, "b", 10.0, 3e6),
        ProcessSample(3, "c", 10.0, 2e6),
    )
    first = collector.collect()
    assert [f.name for f in first] == ["multimonx_process_top_memory_bytes"]
    assert list(_values(first, "multimonx_process_top_memory_bytes")) == [
        ("1", "2", "b"),
        ("2", "3", "c"),
    ]
    source.now += 10.0
    source.table = (
        ProcessSample(1, "a", 15.0, 1e6),
        ProcessSample(2, "b", 11.0, 3e6),
        ProcessSample(3, "c", 30.0, 2e6),
        ProcessSample(4, "new", 99.0, 1.0),
    )
    ratios = _values(collector.collect(), "multimonx_process_top_cpu_ratio")
    assert ratios == {("1", "3", "c"): 2.0, ("2", "1", "a"): 0.5}


def test_every_default_collector_returns_sane_values_on_this_machine() -> None:
    source = SystemSource()
    collectors = build_collectors(MetricsSection(), source, 5.0)
    assert [c.name for c in collectors] == list(DEFAULTS)
    families = [f for c in collectors for f in c.collect()]
    names = {f.name for f in families}
    for required in (
        "node_cpu_seconds_total",
        "node_load1",
        "node_memory_MemTotal_bytes",
        "node_memory_MemAvailable_bytes",
        "node_filesystem_size_bytes",
        "node_disk_read_bytes_total",
        "node_network_receive_bytes_total",
        "node_netstat_Tcp_CurrEstab",
        "node_sockstat_sockets_used",
        "node_tcp_connection_states",
        "node_boot_time_seconds",
        "node_uname_info",
        "node_context_switches_total",
        "node_filefd_allocated",
        "node_timex_offset_seconds",
        "node_timex_sync_status",
        "node_softnet_processed_total",
        "node_udp_queues",
    ):
        assert required in names, required
    for family in families:
        for _, value in family.samples:
            assert not math.isnan(value), family.name
        if family.type is MetricType.COUNTER:
            assert all(v >= 0 for _, v in family.samples), family.name
    total = _values(families, "node_memory_MemTotal_bytes")[()]
    available = _values(families, "node_memory_MemAvailable_bytes")[()]
    assert 0 < available <= total
    assert _values(families, "node_filesystem_size_bytes")[("/dev/vda", "ext4", "/")] > 0 or any(
        v > 0 for v in _values(families, "node_filesystem_size_bytes").values()
    )
    boot = _values(families, "node_boot_time_seconds")[()]
    assert 0 < boot < time.time()
    cores = {k[0] for k in _values(families, "node_cpu_seconds_total")}
    assert len(cores) == _values(families, "multimonx_cpu_cores")[("logical",)]


ALLOWED_LINT = (
    # node_exporter's own names trip these; its output shows the same lines.
    ("node_memory_", "metric names should be written in 'snake_case' not 'camelCase'"),
    ("node_netstat_", "metric names should be written in 'snake_case' not 'camelCase'"),
    ("node_sockstat_", "metric names should be written in 'snake_case' not 'camelCase'"),
    ("node_entropy_", 'use base unit "bytes" instead of "bits"'),
)


@pytest.mark.parametrize("fixture", ["machine.json", "edge.json", None])
def test_promtool_accepts_the_default_collectors_output(fixture: str | None) -> None:
    if shutil.which("promtool") is None:
        pytest.skip("promtool not installed")
    source = SystemSource() if fixture is None else RecordedSource.from_file(FIXTURES / fixture)
    text = render_text(
        f for c in build_collectors(MetricsSection(), source, 5.0) for f in c.collect()
    )
    done = subprocess.run(
        ["promtool", "check", "metrics"],
        input=text.encode(),
        capture_output=True,
        timeout=60,
        check=False,
    )
    lines = (done.stdout + done.stderr).decode().splitlines()
    unexpected = [
        line
        for line in lines
        if not any(line.startswith(p) and why in line for p, why in ALLOWED_LINT)
    ]
    assert unexpected == []
