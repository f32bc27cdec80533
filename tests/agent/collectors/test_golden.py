"""Golden tests: recorded fixtures through ``RecordedSource`` into each collector, rendered with
``render_text`` and diffed against ``tests/agent/fixtures/golden/<case>-<collector>.prom``.

Regenerate the golden files after an intended change with::

    MULTIMONX_UPDATE_GOLDEN=1 .venv/bin/pytest tests/agent/collectors/test_golden.py

and review the diff. Re-record the machine fixture with ``python -m tests.agent.record_fixture``.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from multimonx.agent.collectors import COLLECTOR_NAMES, Collector, build_collectors
from multimonx.agent.recorded import RecordedSource
from multimonx.config import (
    CpuSection,
    DiskSection,
    MetricsSection,
    NetworkSection,
    ProcessesSection,
    SimpleSection,
)
from multimonx.model import render_text

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"
GOLDEN = FIXTURES / "golden"
UPDATE = os.environ.get("MULTIMONX_UPDATE_GOLDEN") == "1"

_OPTIONAL_ON = {
    "hwmon": SimpleSection(enabled=True),
    "processes": ProcessesSection(enabled=True, top=2),
}
CASES: dict[str, tuple[str, MetricsSection]] = {
    "machine": ("machine.json", MetricsSection(processes=ProcessesSection(enabled=True, top=3))),
    "edge": ("edge.json", MetricsSection(**_OPTIONAL_ON)),  # type: ignore[arg-type]
    "edge-options": (
        "edge.json",
        MetricsSection(
            cpu=CpuSection(per_cpu=False),
            disk=DiskSection(exclude_devices=(r"loop\d+", "tmpfs", r"dm-\d+", "nfs4")),
            network=NetworkSection(interfaces=("eth0", "veth1a2b"), exclude_interfaces=("veth.*",)),
        ),
    ),
}
DEFAULTS = tuple(n for n in COLLECTOR_NAMES if getattr(MetricsSection(), n).enabled)
PARAMS = [(case, name) for case in CASES for name in DEFAULTS]
PARAMS += [("machine", "processes"), ("edge", "hwmon"), ("edge", "processes")]


def _collector(case: str, name: str) -> Collector:
    fixture, metrics = CASES[case]
    source = RecordedSource.from_file(FIXTURES / fixture)
    by_name = {c.name: c for c in build_collectors(metrics, source, 5.0)}
    return by_name[name]


@pytest.mark.parametrize(("case", "name"), PARAMS)
def test_collector_output_matches_golden_file(case: str, name: str) -> None:
    text = render_text(_collector(case, name).collect())
    path = GOLDEN / f"{case}-{name}.prom"
    if UPDATE:
        path.write_text(text, encoding="utf-8")
    assert path.exists(), f"{path} missing: run with MULTIMONX_UPDATE_GOLDEN=1"
    assert text == path.read_text(encoding="utf-8")


@pytest.mark.parametrize(("case", "name"), PARAMS)
def test_collector_output_is_stable_across_collections(case: str, name: str) -> None:
    collector = _collector(case, name)
    first = render_text(collector.collect())
    assert render_text(collector.collect()) == first
