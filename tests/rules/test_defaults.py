"""The default rule pack: what it holds, and turning its rules off by name."""

from __future__ import annotations

import pytest

from multimonx.rules import AlertingRule
from multimonx.rules.defaults import default_pack, without
from multimonx.rules.rulefile import rule_name

PACK = [
    ("HostDown", "critical", 0),
    ("HostCpuHigh", "warning", 300_000),
    ("HostCpuCritical", "critical", 120_000),
    ("HostMemoryHigh", "warning", 300_000),
    ("HostMemoryCritical", "critical", 120_000),
    ("HostDiskHigh", "warning", 300_000),
    ("HostDiskCritical", "critical", 120_000),
    ("HostDiskWillFillIn4Hours", "warning", 900_000),
    ("HostIowaitHigh", "warning", 300_000),
    ("HostPacketLoss", "warning", 300_000),
]


def test_the_pack_holds_the_specified_alerts() -> None:
    (group,) = default_pack()
    assert group.file == "<builtin>/default_rules.yml"
    got = []
    for rule in group.rules:
        assert isinstance(rule, AlertingRule)
        labels = dict((k, t.text) for k, t in rule.labels)
        got.append((rule.alert, labels["severity"], rule.for_ms))
        assert {k for k, _ in rule.annotations} == {"summary", "description"}
    assert got == PACK


def test_rules_are_turned_off_by_name_and_unknown_names_refused() -> None:
    (group,) = without(default_pack(), ["HostCpuHigh", "HostPacketLoss"])
    assert [rule_name(r) for r in group.rules] == [
        name for name, _, _ in PACK if name not in ("HostCpuHigh", "HostPacketLoss")
    ]
    with pytest.raises(ValueError, match="no rule is named HostCPUHigh"):
        without(default_pack(), ["HostCPUHigh"])
