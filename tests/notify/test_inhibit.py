"""Inhibition rules over a snapshot of alerts, as Alertmanager's inhibitor decides."""

from __future__ import annotations

import pytest

from multimonx.model import Labels, Matcher
from multimonx.notify import Alert, Inhibitor
from multimonx.notify.config import InhibitRule

T0 = 1_800_000_000.0


def alert(ends: float = T0 + 3600, **labels: str) -> Alert:
    return Alert(Labels.of(**labels), Labels(), T0 - 60, ends)


CRIT_MUTES_WARN = InhibitRule(
    (Matcher.of("severity", "=", "critical"),),
    (Matcher.of("severity", "=", "warning"),),
    ("instance",),
)
DOWN = alert(alertname="Down", severity="critical", instance="a")


@pytest.mark.parametrize(
    ("sources", "target", "muted"),
    [
        ([DOWN], {"severity": "warning", "instance": "a"}, True),
        ([DOWN], {"severity": "warning", "instance": "b"}, False),  # equal label differs
        ([DOWN], {"severity": "warning"}, False),  # equal label missing on one side
        ([DOWN], {"severity": "info", "instance": "a"}, False),  # not a target
        ([alert(T0 - 1, **DOWN.labels)], {"severity": "warning", "instance": "a"}, False),
        ([], {"severity": "warning", "instance": "a"}, False),
    ],
)
def test_equal_labels_and_resolved_sources(
    sources: list[Alert], target: dict[str, str], muted: bool
) -> None:
    inhibitor = Inhibitor([CRIT_MUTES_WARN], sources, T0)
    expected = (DOWN.fingerprint,) if muted else ()
    assert inhibitor.mutes(Labels.of(target)) == expected


def test_an_alert_on_both_sides_does_not_inhibit_itself_or_its_kind() -> None:
    rule = InhibitRule(
        (Matcher.of("alertname", "=~", "Job.*"),), (Matcher.of("alertname", "=~", ".*"),), ()
    )
    job = alert(alertname="JobDown", job="x")
    other_job = alert(alertname="JobSlow", job="y")
    disk = alert(alertname="DiskFull")
    inhibitor = Inhibitor([rule], [job, other_job, disk], T0)
    assert inhibitor.mutes(job.labels) == ()
    assert inhibitor.mutes(other_job.labels) == ()
    assert inhibitor.mutes(disk.labels) == tuple(sorted([job.fingerprint, other_job.fingerprint]))


def test_absent_equal_labels_on_both_sides_count_as_equal() -> None:
    rule = InhibitRule(
        (Matcher.of("alertname", "=", "NodeDown"),),
        (Matcher.of("alertname", "!=", "NodeDown"),),
        ("zone",),
    )
    inhibitor = Inhibitor([rule], [alert(alertname="NodeDown")], T0)
    assert inhibitor.mutes(Labels.of(alertname="DiskFull")) != ()
    assert inhibitor.mutes(Labels.of(alertname="DiskFull", zone="eu")) == ()
