"""Our default collectors against the real node_exporter 1.5 on this machine.

node_exporter is started on 127.0.0.1 (free port) and stopped by PID; it is scraped, then our
collectors run once with the exclusions this Debian build of node_exporter uses by default
(mount points under /run, /mnt, /media; netdev without ``lo``), and every family both expose
is compared: same type, same label names (node_exporter's always-empty labels aside, since
Prometheus drops empty labels), and values: "totals" exactly, counters within a small
tolerance and never behind node_exporter (we read after it), volatile gauges loosely.
"""

from __future__ import annotations

import math
import shutil
import signal
import subprocess
from collections.abc import Iterator

import pytest
from prometheus_client.parser import text_string_to_metric_families

from multimonx.agent.collectors import build_collectors
from multimonx.agent.source import SystemSource
from multimonx.config import DiskSection, FilesystemSection, MetricsSection, NetworkSection
from multimonx.model import render_text
from tests.integration.conftest import free_port, http_get, wait_for

pytestmark = pytest.mark.integration

BINARY = shutil.which("prometheus-node-exporter") or shutil.which("node_exporter")
NE_METRICS = MetricsSection(
    filesystem=FilesystemSection(
        exclude_mountpoints=(
            "^/(dev|proc|run|sys|mnt|media|var/lib/docker/.+|var/lib/containers/storage/.+)($|/)"
        )
    ),
    disk=DiskSection(exclude_devices=(r"(ram|loop|fd|(h|s|v|xv)d[a-z]|nvme\d+n\d+p)\d+",)),
    network=NetworkSection(exclude_interfaces=("lo",)),
)
EXACT = {
    "node_memory_MemTotal_bytes",
    "node_memory_SwapTotal_bytes",
    "node_filesystem_size_bytes",
    "node_filesystem_files",
    "node_filesystem_readonly",
    "node_filesystem_device_error",
    "node_boot_time_seconds",
    "node_network_mtu_bytes",
    "node_network_speed_bytes",
    "node_network_up",
    "node_network_info",
    "node_uname_info",
    "node_os_info",
    "node_os_version",
    "node_filefd_maximum",
    "node_entropy_pool_size_bits",
    "node_disk_info",
    "node_network_iface_id",
    "node_network_protocol_type",
    "node_memory_HugePages_Total",
    "node_memory_Hugepagesize_bytes",
    "node_memory_VmallocTotal_bytes",
    "node_nf_conntrack_entries_limit",
    "node_timex_tick_seconds",
    "node_timex_tai_offset_seconds",
}
# Collectors we must cover completely: whatever of theirs node_exporter exposes here, we do too.
COVERED = (
    "node_timex_",
    "node_softnet_",
    "node_nf_conntrack_",
    "node_udp_queues",
    "node_arp_entries",
)
# Gauges that move between two reads a few milliseconds apart (our own scrape changes them).
VOLATILE = (
    "node_procs_",
    "node_sockstat_",
    "node_tcp_connection_states",
    "node_load",
    "node_filefd_allocated",
    "node_entropy_available_bits",
    "node_disk_io_now",
    "node_netstat_Tcp_CurrEstab",
    "node_time_seconds",
    "node_processes_pids",
    "node_memory_",
    "node_filesystem_",
)

# Kernel socket memory (in pages, and as bytes) is freed and allocated between two reads.
SOCKET_MEMORY_SLACK_BYTES = 4 * 2**20

Series = dict[tuple[tuple[str, str], ...], float]


@pytest.fixture
def node_exporter() -> Iterator[str]:
    if BINARY is None:
        pytest.skip("prometheus-node-exporter is not installed")
    port = free_port()
    proc = subprocess.Popen(
        [
            BINARY,
            f"--web.listen-address=127.0.0.1:{port}",
            "--collector.tcpstat",
            "--collector.processes",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        url = f"http://127.0.0.1:{port}/metrics"
        wait_for("node_exporter", lambda: http_get(url)[0] == 200)
        yield url
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=30)


def _parse(text: str) -> dict[str, tuple[str, set[str], Series]]:
    out: dict[str, tuple[str, set[str], Series]] = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            name = sample.name
            kind = family.type
            if kind == "counter" and not name.endswith("_total"):
                continue  # prometheus_client's synthetic _created samples
            entry = out.setdefault(name, (kind, set(), {}))
            entry[1].update(k for k, v in sample.labels.items() if v != "")
            key = tuple(sorted((k, v) for k, v in sample.labels.items() if v != ""))
            entry[2][key] = sample.value
    return out


def _close(name: str, kind: str, ours: float, theirs: float) -> bool:
    if name in EXACT:
        return ours == theirs or (math.isnan(ours) and math.isnan(theirs))
    if name.startswith("node_sockstat_") and name.endswith(("_mem", "_mem_bytes")):
        slack = SOCKET_MEMORY_SLACK_BYTES / (1 if name.endswith("_bytes") else 4096)
        return abs(ours - theirs) <= slack
    if name.startswith(VOLATILE):
        tolerance = max(abs(theirs) * 0.25, 64.0)
        return abs(ours - theirs) <= tolerance
    slack = max(abs(theirs) * 0.05, 1000.0)
    if kind in ("counter", "unknown"):
        return theirs - 1e-6 <= ours <= theirs + slack
    return abs(ours - theirs) <= slack


def test_shared_families_have_node_exporters_names_types_labels_and_values(
    node_exporter: str,
) -> None:
    status, body = http_get(node_exporter)
    assert status == 200
    theirs = _parse(body.decode())
    collectors = build_collectors(NE_METRICS, SystemSource(), 5.0)
    ours = _parse(render_text(f for c in collectors for f in c.collect()))

    shared = sorted(set(ours) & set(theirs))
    lacking = sorted(n for n in set(theirs) - set(ours) if n.startswith("node_"))
    print(f"\nshared families: {len(shared)}; node_exporter families we lack: {len(lacking)}")
    print("\n".join(f"  lacking {n}" for n in lacking))
    assert len(shared) >= 150
    assert sorted(n for n in theirs if n.startswith(COVERED) and n not in ours) == []

    problems: list[str] = []
    for name in shared:
        our_kind, our_labels, our_series = ours[name]
        ne_kind, ne_labels, ne_series = theirs[name]
        if our_kind != ne_kind:
            problems.append(f"{name}: type {our_kind} != {ne_kind}")
        if our_labels - ne_labels:
            problems.append(f"{name}: extra labels {sorted(our_labels - ne_labels)}")
        if name in EXACT and not our_series.keys() <= ne_series.keys():
            problems.append(f"{name}: series {sorted(our_series)} != {sorted(ne_series)}")
        for key, value in our_series.items():
            if key in ne_series and not _close(name, ne_kind, value, ne_series[key]):
                problems.append(
                    f"{name}{dict(key)}: ours {value} vs node_exporter {ne_series[key]}"
                )
    assert problems == []


def test_promtool_finds_nothing_in_our_output_that_it_does_not_find_in_node_exporters(
    node_exporter: str,
) -> None:
    if shutil.which("promtool") is None:
        pytest.skip("promtool not installed")

    def lint(text: str) -> set[str]:
        done = subprocess.run(
            ["promtool", "check", "metrics"],
            input=text.encode(),
            capture_output=True,
            timeout=60,
            check=False,
        )
        return {line for line in (done.stdout + done.stderr).decode().splitlines() if line}

    _, body = http_get(node_exporter)
    baseline = lint(body.decode())
    collectors = build_collectors(NE_METRICS, SystemSource(), 5.0)
    ours = lint(render_text(f for c in collectors for f in c.collect()))
    assert sorted(ours - baseline) == []
