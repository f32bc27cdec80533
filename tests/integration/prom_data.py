"""Deterministic node_exporter-like samples for the tests that compare us with Prometheus.

Three hosts scraped every 15 s for two hours: CPU, memory, filesystem, network, disk, load,
TCP states and a classic histogram, with a reboot (counter resets) on ``host-b``, ``host-c``
going down for good three quarters of the way through (its series stop: lookback ends them),
an interface that appears half an hour in, and a temperature gauge with NaN readings; plus
plain gauges and counters for the other metrics Grafana's node-exporter-full dashboard reads.

Timing, so that Prometheus 2.x's closed and 3.x's left-open windows agree: every sample lies
1..999 ms past a whole second but never at 0 or 500 ms, and the tests evaluate at whole seconds
plus 500 ms. No window ``(t - range, t]`` then starts on a sample (ranges are whole seconds),
and no subquery step (a multiple of a whole second) lands on ``t - range`` either.
Counters never come near zero within a few seconds of rate, so 2.x's and 3.x's order of the
zero-point and half-interval limits of rate extrapolation cannot matter.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

SCRAPE_MS = 15_000
SAMPLES = 480  # two hours
HOSTS = ("host-a:9100", "host-b:9100", "host-c:9100")
JOB = "node"
REBOOT_AT = 240  # host-b's counters restart here
DOWN_AT = 360  # host-c's last sample is the one before
APPEARS_AT = 120  # host-a's eth1 shows up here
BUCKETS = ("0.005", "0.01", "0.025", "0.05", "0.1", "0.25", "0.5", "1", "2.5", "5", "+Inf")
CPU_MODES = ("idle", "user", "system", "iowait", "irq", "softirq", "steal", "nice")
CPU_SHARE = (0.70, 0.15, 0.07, 0.03, 0.01, 0.02, 0.01, 0.01)
GIB = 2.0**30
LABELS_BY_PREFIX: tuple[tuple[str, tuple[dict[str, str], ...]], ...] = (
    ("node_disk_", ({"device": "sda"}, {"device": "sdb"})),
    ("node_network_up", ({"device": "eth0", "operstate": "up"}, {"device": "lo"})),
    ("node_network_", ({"device": "eth0"}, {"device": "lo"})),
    ("node_filesystem_", ({"device": "/dev/sda1", "fstype": "ext4", "mountpoint": "/"},)),
    ("node_cpu_", ({"cpu": "0"}, {"cpu": "1"})),
    ("node_schedstat_", ({"cpu": "0"}, {"cpu": "1"})),
    ("node_softnet_", ({"cpu": "0"},)),
    ("node_hwmon_", ({"chip": "platform_coretemp_0", "sensor": "temp1"},)),
    ("node_systemd_units", ({"state": "active"}, {"state": "failed"})),
    ("node_processes_state", ({"state": "R"}, {"state": "S"})),
    ("node_udp_queues", ({"ip": "v4", "queue": "rx"}, {"ip": "v4", "queue": "tx"})),
    ("node_scrape_collector_", ({"collector": "cpu"}, {"collector": "meminfo"})),
    ("node_", ({},)),
    ("process_", ({},)),
)
"""Labels of the series of each ``DASHBOARD_METRICS`` name, by the first prefix it has."""
DASHBOARD_METRICS = (
    "node_arp_entries",
    "node_cooling_device_cur_state",
    "node_cooling_device_max_state",
    "node_cpu_guest_seconds_total",
    "node_cpu_scaling_frequency_hertz",
    "node_cpu_scaling_frequency_max_hertz",
    "node_cpu_scaling_frequency_min_hertz",
    "node_disk_discard_time_seconds_total",
    "node_disk_discarded_sectors_total",
    "node_disk_discards_completed_total",
    "node_disk_discards_merged_total",
    "node_disk_flush_requests_time_seconds_total",
    "node_disk_flush_requests_total",
    "node_disk_io_now",
    "node_disk_io_time_weighted_seconds_total",
    "node_disk_read_time_seconds_total",
    "node_disk_reads_merged_total",
    "node_disk_write_time_seconds_total",
    "node_disk_writes_merged_total",
    "node_entropy_pool_size_bits",
    "node_filefd_allocated",
    "node_filefd_maximum",
    "node_filesystem_device_error",
    "node_filesystem_readonly",
    "node_hwmon_chip_names",
    "node_hwmon_fan_min_rpm",
    "node_hwmon_fan_rpm",
    "node_hwmon_temp_crit_alarm_celsius",
    "node_hwmon_temp_crit_celsius",
    "node_hwmon_temp_crit_hyst_celsius",
    "node_hwmon_temp_max_celsius",
    "node_interrupts_total",
    "node_intr_total",
    "node_kernel_hung_tasks",
    "node_memory_Active_anon_bytes",
    "node_memory_Active_bytes",
    "node_memory_Active_file_bytes",
    "node_memory_AnonHugePages_bytes",
    "node_memory_AnonPages_bytes",
    "node_memory_CommitLimit_bytes",
    "node_memory_Committed_AS_bytes",
    "node_memory_DirectMap1G_bytes",
    "node_memory_DirectMap2M_bytes",
    "node_memory_DirectMap4k_bytes",
    "node_memory_Dirty_bytes",
    "node_memory_HardwareCorrupted_bytes",
    "node_memory_HugePages_Free",
    "node_memory_HugePages_Rsvd",
    "node_memory_HugePages_Surp",
    "node_memory_HugePages_Total",
    "node_memory_Hugepagesize_bytes",
    "node_memory_Inactive_anon_bytes",
    "node_memory_Inactive_bytes",
    "node_memory_Inactive_file_bytes",
    "node_memory_KernelStack_bytes",
    "node_memory_Mapped_bytes",
    "node_memory_Mlocked_bytes",
    "node_memory_NFS_Unstable_bytes",
    "node_memory_PageTables_bytes",
    "node_memory_Percpu_bytes",
    "node_memory_SUnreclaim_bytes",
    "node_memory_ShmemHugePages_bytes",
    "node_memory_ShmemPmdMapped_bytes",
    "node_memory_Shmem_bytes",
    "node_memory_Slab_bytes",
    "node_memory_SwapCached_bytes",
    "node_memory_Unevictable_bytes",
    "node_memory_VmallocChunk_bytes",
    "node_memory_VmallocTotal_bytes",
    "node_memory_VmallocUsed_bytes",
    "node_memory_WritebackTmp_bytes",
    "node_memory_Writeback_bytes",
    "node_memory_Zswap_bytes",
    "node_memory_Zswapped_bytes",
    "node_netstat_Icmp_InErrors",
    "node_netstat_Icmp_InMsgs",
    "node_netstat_Icmp_OutMsgs",
    "node_netstat_IpExt_InOctets",
    "node_netstat_IpExt_OutOctets",
    "node_netstat_TcpExt_ListenDrops",
    "node_netstat_TcpExt_ListenOverflows",
    "node_netstat_TcpExt_SyncookiesFailed",
    "node_netstat_TcpExt_SyncookiesRecv",
    "node_netstat_TcpExt_SyncookiesSent",
    "node_netstat_TcpExt_TCPOFOQueue",
    "node_netstat_TcpExt_TCPRcvQDrop",
    "node_netstat_TcpExt_TCPSynRetrans",
    "node_netstat_TcpExt_TCPTimeouts",
    "node_netstat_Tcp_ActiveOpens",
    "node_netstat_Tcp_CurrEstab",
    "node_netstat_Tcp_InErrs",
    "node_netstat_Tcp_InSegs",
    "node_netstat_Tcp_MaxConn",
    "node_netstat_Tcp_OutRsts",
    "node_netstat_Tcp_OutSegs",
    "node_netstat_Tcp_PassiveOpens",
    "node_netstat_Tcp_RetransSegs",
    "node_netstat_UdpLite_InErrors",
    "node_netstat_Udp_InDatagrams",
    "node_netstat_Udp_InErrors",
    "node_netstat_Udp_NoPorts",
    "node_netstat_Udp_OutDatagrams",
    "node_netstat_Udp_RcvbufErrors",
    "node_netstat_Udp_SndbufErrors",
    "node_network_carrier",
    "node_network_mtu_bytes",
    "node_network_receive_compressed_total",
    "node_network_receive_fifo_total",
    "node_network_receive_frame_total",
    "node_network_receive_multicast_total",
    "node_network_receive_nohandler_total",
    "node_network_transmit_carrier_total",
    "node_network_transmit_colls_total",
    "node_network_transmit_compressed_total",
    "node_network_transmit_drop_total",
    "node_network_transmit_errs_total",
    "node_network_transmit_fifo_total",
    "node_network_up",
    "node_nf_conntrack_entries",
    "node_nf_conntrack_entries_limit",
    "node_power_supply_online",
    "node_pressure_cpu_waiting_seconds_total",
    "node_pressure_io_stalled_seconds_total",
    "node_pressure_io_waiting_seconds_total",
    "node_pressure_irq_stalled_seconds_total",
    "node_pressure_memory_stalled_seconds_total",
    "node_pressure_memory_waiting_seconds_total",
    "node_processes_max_processes",
    "node_processes_max_threads",
    "node_processes_pids",
    "node_processes_state",
    "node_processes_threads",
    "node_procs_blocked",
    "node_schedstat_running_seconds_total",
    "node_schedstat_timeslices_total",
    "node_schedstat_waiting_seconds_total",
    "node_scrape_collector_duration_seconds",
    "node_scrape_collector_success",
    "node_sockstat_FRAG_inuse",
    "node_sockstat_FRAG_memory",
    "node_sockstat_RAW_inuse",
    "node_sockstat_TCP_alloc",
    "node_sockstat_TCP_inuse",
    "node_sockstat_TCP_mem",
    "node_sockstat_TCP_mem_bytes",
    "node_sockstat_TCP_orphan",
    "node_sockstat_TCP_tw",
    "node_sockstat_UDPLITE_inuse",
    "node_sockstat_UDP_inuse",
    "node_sockstat_UDP_mem",
    "node_sockstat_UDP_mem_bytes",
    "node_sockstat_sockets_used",
    "node_softnet_dropped_total",
    "node_softnet_flow_limit_count_total",
    "node_softnet_processed_total",
    "node_softnet_received_rps_total",
    "node_softnet_times_squeezed_total",
    "node_systemd_socket_accepted_connections_total",
    "node_systemd_socket_current_connections",
    "node_systemd_socket_refused_connections_total",
    "node_systemd_units",
    "node_textfile_scrape_error",
    "node_timex_estimated_error_seconds",
    "node_timex_frequency_adjustment_ratio",
    "node_timex_loop_time_constant",
    "node_timex_maxerror_seconds",
    "node_timex_offset_seconds",
    "node_timex_pps_calibration_total",
    "node_timex_pps_error_total",
    "node_timex_pps_frequency_hertz",
    "node_timex_pps_jitter_seconds",
    "node_timex_pps_jitter_total",
    "node_timex_pps_shift_seconds",
    "node_timex_pps_stability_exceeded_total",
    "node_timex_pps_stability_hertz",
    "node_timex_sync_status",
    "node_timex_tai_offset_seconds",
    "node_timex_tick_seconds",
    "node_udp_queues",
    "node_vmstat_oom_kill",
    "node_vmstat_pgpgin",
    "node_vmstat_pgpgout",
    "node_vmstat_pswpin",
    "node_vmstat_pswpout",
    "process_cpu_seconds_total",
    "process_max_fds",
    "process_open_fds",
    "process_virtual_memory_bytes",
    "process_virtual_memory_max_bytes",
)
"""Further metrics the node-exporter-full dashboard reads, as plain gauges and counters."""

Ints = npt.NDArray[np.int64]
Floats = npt.NDArray[np.float64]


@dataclass(frozen=True)
class GeneratedSeries:
    """One series: its labels (``__name__`` included), sample times (ms) and values."""

    labels: dict[str, str]
    timestamps: Ints
    values: Floats


@dataclass(frozen=True)
class Dataset:
    """Everything generated, and the span of the samples (ms)."""

    series: list[GeneratedSeries]
    start_ms: int
    end_ms: int

    @property
    def samples(self) -> int:
        """How many samples in all."""
        return sum(len(s.values) for s in self.series)

    def metric_names(self) -> set[str]:
        """The ``__name__`` of every series."""
        return {s.labels["__name__"] for s in self.series}


def generate(start_ms: int, seed: int = 4) -> Dataset:
    """The data set, its first scrape at ``start_ms`` (a whole second) plus jitter."""
    assert start_ms % 1000 == 0, "start on a whole second"
    rng = np.random.default_rng(seed)
    series: list[GeneratedSeries] = []
    for index, host in enumerate(HOSTS):
        series.extend(_host(rng, start_ms, index, host))
    end_ms = max(int(s.timestamps[-1]) for s in series)
    return Dataset(series, start_ms, end_ms)


def _scrape_times(rng: np.random.Generator, start_ms: int, index: int) -> Ints:
    """Whole-second scrape slots plus a per-host offset and some noise, never at 0 or 500 ms."""
    offset = 120 + 310 * index
    jitter = np.clip(offset + rng.integers(-60, 60, SAMPLES), 1, 999)
    jitter[jitter == 500] = 501
    return start_ms + np.arange(SAMPLES, dtype=np.int64) * SCRAPE_MS + jitter


class _Host:
    """Builds the series of one host over its scrape times (cut where the host goes down)."""

    def __init__(self, rng: np.random.Generator, times: Ints, host: str, reboot: int | None):
        self.rng = rng
        self.times = times
        self.host = host
        self.reboot = reboot

    def series(self, name: str, values: npt.ArrayLike, **labels: str) -> GeneratedSeries:
        """A series of this host (job and instance labels added) over its scrape times."""
        full = {"__name__": name, "job": JOB, "instance": self.host, **labels}
        return GeneratedSeries(full, self.times, np.asarray(values, dtype=np.float64))

    def counter(self, per_second: float, start: float, noise: float = 0.3) -> Floats:
        """A counter rising by about ``per_second``, restarting (from ``start / 1000``, still
        far from zero at its rate) at a reboot."""
        rate = per_second * np.clip(1 + self.rng.normal(0, noise, len(self.times)), 0, None)
        steps = np.round(rate * SCRAPE_MS / 1000, 3)
        values = start + np.cumsum(steps)
        if self.reboot is not None:
            restart = start / 1000 + np.cumsum(steps[self.reboot :])
            values[self.reboot :] = restart
        return np.round(values, 3)

    def gauge(self, level: float, swing: float, period: int = 90, noise: float = 0.05) -> Floats:
        """A gauge wandering around ``level``."""
        n = np.arange(len(self.times))
        wave = np.sin(n / period * 2 * np.pi + self.rng.uniform(0, 6))
        jitter = self.rng.normal(0, noise, len(self.times))
        return np.round(level + swing * (wave + jitter), 3)


def _host(
    rng: np.random.Generator, start_ms: int, index: int, host: str
) -> Iterator[GeneratedSeries]:
    times = _scrape_times(rng, start_ms, index)
    if host == "host-c:9100":
        times = times[:DOWN_AT]
    h = _Host(rng, times, host, REBOOT_AT if host == "host-b:9100" else None)
    yield from _cpu(h, index)
    yield from _memory(h, index)
    yield from _filesystem(h)
    yield from _network(h)
    yield from _disk(h)
    yield from _system(h, index)
    yield from _histogram(h)
    yield from _dashboard_metrics(h)


def _cpu(h: _Host, index: int) -> Iterator[GeneratedSeries]:
    for cpu in range(2 + index % 2):
        for mode, share in zip(CPU_MODES, CPU_SHARE, strict=True):
            values = h.counter(share, start=5e4 * share + 1e4, noise=0.5)
            yield h.series("node_cpu_seconds_total", values, cpu=str(cpu), mode=mode)


def _memory(h: _Host, index: int) -> Iterator[GeneratedSeries]:
    total = (8 + 8 * index) * GIB
    n = len(h.times)
    avail = np.round(h.gauge(0.5, 0.15) * total)
    free = np.round(avail * 0.4)
    yield h.series("node_memory_MemTotal_bytes", np.full(n, total))
    yield h.series("node_memory_MemAvailable_bytes", avail)
    yield h.series("node_memory_MemFree_bytes", free)
    yield h.series("node_memory_Buffers_bytes", np.round(h.gauge(0.02, 0.005) * total))
    yield h.series("node_memory_Cached_bytes", np.round(avail * 0.5))
    yield h.series("node_memory_SReclaimable_bytes", np.round(avail * 0.05))
    yield h.series("node_memory_SwapTotal_bytes", np.full(n, 2 * GIB))
    yield h.series("node_memory_SwapFree_bytes", np.round(h.gauge(1.5, 0.2) * GIB))


def _filesystem(h: _Host) -> Iterator[GeneratedSeries]:
    n = len(h.times)
    for device, fstype, mount, size in (
        ("/dev/sda1", "ext4", "/", 100 * GIB),
        ("/dev/sda2", "vfat", "/boot", 0.5 * GIB),
        ("rootfs", "rootfs", "/", 100 * GIB),
    ):
        labels = {"device": device, "fstype": fstype, "mountpoint": mount}
        used = np.round(np.linspace(0.3, 0.45, n) * size + h.gauge(0, 0.001 * size))
        yield h.series("node_filesystem_size_bytes", np.full(n, size), **labels)
        yield h.series("node_filesystem_avail_bytes", size - used - 0.05 * size, **labels)
        yield h.series("node_filesystem_free_bytes", size - used, **labels)
        yield h.series("node_filesystem_files", np.full(n, 6.5e6), **labels)
        yield h.series("node_filesystem_files_free", np.round(6.5e6 - used / 1e5), **labels)


def _network(h: _Host) -> Iterator[GeneratedSeries]:
    for device, scale in (("eth0", 1.0), ("lo", 0.1)):
        yield from _interface(h, device, scale, slice(None))
    if h.host == "host-a:9100":
        yield from _interface(h, "eth1", 0.5, slice(APPEARS_AT, None))


def _interface(h: _Host, device: str, scale: float, part: slice) -> Iterator[GeneratedSeries]:
    metrics = (
        ("node_network_receive_bytes_total", 2e5),
        ("node_network_transmit_bytes_total", 8e4),
        ("node_network_receive_packets_total", 300.0),
        ("node_network_transmit_packets_total", 200.0),
        ("node_network_receive_errs_total", 0.02),
        ("node_network_receive_drop_total", 0.05),
    )
    for name, per_second in metrics:
        values = h.counter(per_second * scale, start=per_second * 1e4 + 1000)
        series = h.series(name, values, device=device)
        yield GeneratedSeries(series.labels, series.timestamps[part], series.values[part])
    speed = np.full(len(h.times), 1.25e8 if device != "lo" else 0.0)
    series = h.series("node_network_speed_bytes", speed, device=device)
    yield GeneratedSeries(series.labels, series.timestamps[part], series.values[part])


def _disk(h: _Host) -> Iterator[GeneratedSeries]:
    for device in ("sda", "sdb"):
        yield h.series("node_disk_read_bytes_total", h.counter(5e5, 1e10), device=device)
        yield h.series("node_disk_written_bytes_total", h.counter(9e5, 2e10), device=device)
        yield h.series("node_disk_reads_completed_total", h.counter(40, 1e7), device=device)
        yield h.series("node_disk_writes_completed_total", h.counter(60, 2e7), device=device)
        yield h.series("node_disk_io_time_seconds_total", h.counter(0.05, 5e4), device=device)


def _system(h: _Host, index: int) -> Iterator[GeneratedSeries]:
    n = len(h.times)
    boot = np.full(n, 1.7e9 + 1000 * index)
    if h.reboot is not None:
        boot[h.reboot :] = h.times[h.reboot] // 1000 - 30
    yield h.series("node_boot_time_seconds", boot)
    yield h.series("node_time_seconds", np.round(h.times / 1000, 3))
    load = np.abs(h.gauge(1 + index, 0.6 + 0.2 * index, noise=0.2))
    yield h.series("node_load1", load)
    yield h.series("node_load5", np.round(np.convolve(load, np.ones(20) / 20, "same"), 3))
    yield h.series("node_load15", np.round(np.convolve(load, np.ones(60) / 60, "same"), 3))
    yield h.series("node_procs_running", np.round(np.abs(h.gauge(3, 2, noise=0.5))))
    yield h.series("node_context_switches_total", h.counter(2500, 5e8))
    yield h.series("node_forks_total", h.counter(12, 2e6))
    yield h.series("node_vmstat_pgfault", h.counter(3000, 9e8))
    yield h.series("node_vmstat_pgmajfault", h.counter(0.3, 4e4))
    yield h.series("node_entropy_available_bits", np.full(n, 256.0))
    for state, level in (("established", 40), ("time_wait", 10), ("listen", 12)):
        counts = np.round(np.abs(h.gauge(level, level / 4, noise=0.3)))
        yield h.series("node_tcp_connection_states", counts, state=state)
    uname = {"nodename": h.host.split(":")[0], "release": "6.1.0", "sysname": "Linux"}
    yield h.series("node_uname_info", np.ones(n), **uname)
    yield h.series("up", np.ones(n))
    temps = h.gauge(45 + 5 * index, 4)
    temps[5 + 11 * index :: 37] = np.nan  # a flaky sensor (never all hosts at once: no ties)
    yield h.series("node_hwmon_temp_celsius", temps, chip="platform_coretemp_0", sensor="temp1")


def _histogram(h: _Host) -> Iterator[GeneratedSeries]:
    n = len(h.times)
    for handler, per_second in (("/api/v1/query", 5.0), ("/metrics", 1.0)):
        # Requests per scrape falling into each bucket, then cumulated over buckets and time.
        weights = np.array([1, 2, 4, 8, 6, 4, 2, 1, 0.5, 0.2, 0.1])
        counts = h.rng.poisson(per_second * 15 * weights / weights.sum(), (n, len(weights)))
        cumulative = np.cumsum(np.cumsum(counts, axis=1), axis=0).astype(float) + 1000
        if h.reboot is not None:
            cumulative[h.reboot :] -= cumulative[h.reboot - 1] - 500
        for i, bound in enumerate(BUCKETS):
            yield h.series(
                "http_request_duration_seconds_bucket", cumulative[:, i], handler=handler, le=bound
            )
        yield h.series("http_request_duration_seconds_count", cumulative[:, -1], handler=handler)
        total = cumulative[:, -1] * 0.08
        yield h.series("http_request_duration_seconds_sum", np.round(total, 3), handler=handler)


def _dashboard_metrics(h: _Host) -> Iterator[GeneratedSeries]:
    """``DASHBOARD_METRICS``: counters (``_total`` and the kernel's netstat/vmstat counters)
    rising at a per-name rate, gauges around a per-name level."""
    for number, name in enumerate(DASHBOARD_METRICS):
        scale = 10.0 ** (number % 7)
        counter = name.endswith("_total") or name.startswith(("node_netstat_", "node_vmstat_"))
        label_sets = next(sets for prefix, sets in LABELS_BY_PREFIX if name.startswith(prefix))
        for labels in label_sets:
            if counter:
                values = h.counter(scale, start=scale * 1e4 + 100)
            else:
                values = np.abs(h.gauge(scale, scale / 5))
            yield h.series(name, values, **labels)
