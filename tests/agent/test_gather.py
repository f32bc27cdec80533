"""The gatherer: scheduling per collector interval, self-metrics, staleness markers."""

from collections.abc import Sequence
from dataclasses import dataclass, field

from multimonx.agent.collectors.base import CollectorError, CollectorUnavailable
from multimonx.agent.gather import Gatherer
from multimonx.model import MetricFamily, is_stale_nan


@dataclass
class ScriptedCollector:
    """A collector that returns scripted rows (label value tuples) per call."""

    name: str
    interval: float
    script: list[Sequence[str] | Exception]
    calls: int = 0
    seen: list[float] = field(default_factory=list)

    def collect(self) -> Sequence[MetricFamily]:
        step = self.script[min(self.calls, len(self.script) - 1)]
        self.calls += 1
        if isinstance(step, Exception):
            raise step
        return [
            MetricFamily.gauge(f"{self.name}_value", "h", ("dev",), [((d,), 1.0) for d in step])
        ]


def _by_name(families: Sequence[MetricFamily]) -> dict[str, MetricFamily]:
    return {f.name: f for f in families}


def test_each_collector_runs_on_its_own_interval() -> None:
    fast = ScriptedCollector("fast", 5, [["a"]])
    slow = ScriptedCollector("slow", 30, [["a"]])
    gatherer = Gatherer([fast, slow])
    for tick in range(12):  # one minute at 5 s
        gatherer.run_due(1000.0 + 5 * tick)
    assert fast.calls == 12
    assert slow.calls == 2


def test_a_slightly_early_tick_still_runs_the_collector() -> None:
    fast = ScriptedCollector("fast", 5, [["a"]])
    gatherer = Gatherer([fast])
    gatherer.run_due(1000.0)
    gatherer.run_due(1004.8)  # woke 200 ms early on a busy machine
    assert fast.calls == 2


def test_round_carries_only_collectors_that_ran_with_the_tick_timestamp() -> None:
    fast = ScriptedCollector("fast", 5, [["a"]])
    slow = ScriptedCollector("slow", 30, [["a"]])
    gatherer = Gatherer([fast, slow])
    gatherer.run_due(1000.0)
    rnd = gatherer.run_due(1005.0)
    names = _by_name(rnd.families)
    assert rnd.timestamp_ms == 1_005_000
    assert "fast_value" in names
    assert "slow_value" not in names
    assert names["multimonx_agent_collector_success"].samples == ((("fast",), 1.0),)


def test_snapshot_keeps_the_latest_families_of_every_collector() -> None:
    fast = ScriptedCollector("fast", 5, [["a"]])
    slow = ScriptedCollector("slow", 30, [["a"]])
    gatherer = Gatherer([fast, slow])
    gatherer.run_due(1000.0)
    gatherer.run_due(1005.0)
    names = _by_name(gatherer.snapshot())
    assert {"fast_value", "slow_value", "multimonx_agent_build_info"} <= set(names)
    success = dict(names["multimonx_agent_collector_success"].samples)
    assert success == {("fast",): 1.0, ("slow",): 1.0}


def test_a_failing_collector_reports_success_zero_and_others_carry_on() -> None:
    broken = ScriptedCollector("broken", 5, [CollectorError("boom")])
    fine = ScriptedCollector("fine", 5, [["a"]])
    gatherer = Gatherer([broken, fine])
    rnd = gatherer.run_due(1000.0)
    names = _by_name(rnd.families)
    assert dict(names["multimonx_agent_collector_success"].samples) == {
        ("broken",): 0.0,
        ("fine",): 1.0,
    }
    assert "fine_value" in names


def test_an_unavailable_collector_is_dropped_for_good() -> None:
    gpu = ScriptedCollector("gpu", 5, [CollectorUnavailable("no NVML library")])
    gatherer = Gatherer([gpu])
    gatherer.run_due(1000.0)
    gatherer.run_due(1005.0)
    assert gpu.calls == 1
    assert gatherer.collector_names == []


def test_vanished_series_get_a_staleness_marker_once() -> None:
    net = ScriptedCollector("net", 5, [["eth0", "eth1"], ["eth0"], ["eth0"]])
    gatherer = Gatherer([net])
    gatherer.run_due(1000.0)

    second = [f for f in gatherer.run_due(1005.0).families if f.name == "net_value"]
    live = [row for f in second for row in f.samples if not is_stale_nan(row[1])]
    stale = [row[0] for f in second for row in f.samples if is_stale_nan(row[1])]
    assert live == [(("eth0",), 1.0)]
    assert stale == [("eth1",)]

    third = [f for f in gatherer.run_due(1010.0).families if f.name == "net_value"]
    assert [row for f in third for row in f.samples] == [(("eth0",), 1.0)]

    snapshot_values = [v for f in gatherer.snapshot() for _, v in f.samples]
    assert not any(is_stale_nan(v) for v in snapshot_values)


def test_the_agent_reports_its_own_process_like_client_libraries_do() -> None:
    names = _by_name(Gatherer([]).snapshot())
    for name in (
        "process_cpu_seconds_total",
        "process_start_time_seconds",
        "process_resident_memory_bytes",
        "process_virtual_memory_bytes",
        "process_open_fds",
        "process_max_fds",
        "process_virtual_memory_max_bytes",
    ):
        assert name in names, name
    resident = names["process_resident_memory_bytes"].samples[0][1]
    virtual = names["process_virtual_memory_bytes"].samples[0][1]
    assert 0 < resident <= virtual
    assert names["process_open_fds"].samples[0][1] >= 3  # stdin, stdout, stderr at least
