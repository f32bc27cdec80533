"""Notification templates render Alertmanager's template data as Alertmanager's Go templates
do: its types' methods (KV.SortedPairs/Names/Values/Remove, Alerts.Firing/Resolved), its
functions (join, stringSlice, trimSpace...), Go's printing of its values, and its default
title (``__subject`` of Alertmanager's default.tmpl)."""

from __future__ import annotations

import pytest

from multimonx.template import (
    TemplateError,
    alert_data,
    notification_data,
    parse_notification_template,
    parse_template,
)
from multimonx.template.engine import TemplateData

FIRING = alert_data(
    status="firing",
    labels={"instance": "host-07", "alertname": "HostCpuHigh", "severity": "warning"},
    annotations={"summary": "CPU busy"},
    starts_at=1_796_637_299.75,
    ends_at=None,
    generator_url="http://monitor.example/graph",
    fingerprint="0123456789abcdef",
    value=0.9312,
)
RESOLVED = alert_data(
    status="resolved",
    labels={"instance": "host-08", "alertname": "HostCpuHigh", "severity": "warning"},
    annotations={},
    starts_at=1_796_637_000.0,
    ends_at=1_796_637_540.0,
    generator_url="",
    fingerprint="fedcba9876543210",
    value=float("nan"),
)
DATA = notification_data(
    receiver="ops",
    status="firing",
    alerts=[FIRING, RESOLVED],
    group_labels={"alertname": "HostCpuHigh"},
    common_labels={"alertname": "HostCpuHigh", "severity": "warning"},
    common_annotations={},
    external_url="http://monitor.example:8080",
)

ALERTMANAGER_SUBJECT = (
    '[{{ .Status | toUpper }}{{ if eq .Status "firing" }}:{{ .Alerts.Firing | len }}{{ end }}]'
    ' {{ .GroupLabels.SortedPairs.Values | join " " }}'
    " {{ if gt (len .CommonLabels) (len .GroupLabels) }}({{ with .CommonLabels.Remove"
    ' .GroupLabels.Names }}{{ .Values | join " " }}{{ end }}){{ end }}'
)


def render(text: str) -> str:
    return parse_notification_template(text, "body").render_data(DATA)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "{{ .Status }} {{ .Receiver }} {{ .ExternalURL }}",
            "firing ops http://monitor.example:8080",
        ),
        ("{{ len .Alerts }} {{ len .Alerts.Firing }} {{ len .Alerts.Resolved }}", "2 1 1"),
        (
            "{{ range .Alerts }}{{ .Status }}:{{ .Labels.instance }} {{ end }}",
            "firing:host-07 resolved:host-08 ",
        ),
        ("{{ range .Alerts.Resolved }}{{ .Fingerprint }}{{ end }}", "fedcba9876543210"),
        ("{{ .CommonLabels }}", "alertname=HostCpuHigh, severity=warning"),
        (
            "{{ (index .Alerts 0).Labels }}",
            "alertname=HostCpuHigh, instance=host-07, severity=warning",
        ),
        ("{{ .CommonLabels.Names }}", "[alertname severity]"),
        ("{{ .CommonLabels.Values }}", "[HostCpuHigh warning]"),
        ("{{ .CommonLabels.SortedPairs }}", "alertname=HostCpuHigh, severity=warning"),
        (
            "{{ range .CommonLabels.SortedPairs }}{{ .Name }}={{ .Value }};{{ end }}",
            "alertname=HostCpuHigh;severity=warning;",
        ),
        ("{{ .CommonLabels.Remove .GroupLabels.Names }}", "severity=warning"),
        ('{{ .CommonLabels.Remove (stringSlice "severity" "x") }}', "alertname=HostCpuHigh"),
        ("{{ .CommonLabels.severity }}|{{ .CommonLabels.missing }}|", "warning||"),
        ("{{ .CommonAnnotations }}|{{ len .CommonAnnotations }}", "|0"),
        ('{{ join ", " .CommonLabels.Values }}', "HostCpuHigh, warning"),
        ('{{ trimSpace "  x \\n" }}|{{ "up" | toUpper }}|{{ title "a b" }}', "x|UP|A B"),
        ("{{ range .Alerts }}{{ .Value | humanize }} {{ end }}", "931.2m NaN "),
        ("{{ (index .Alerts 0).StartsAt }}", "2026-12-07 09:54:59.75 +0000 UTC"),
        ("{{ (index .Alerts 0).EndsAt }}", "0001-01-01 00:00:00 +0000 UTC"),
        ("{{ (index .Alerts 1).EndsAt }}", "2026-12-07 09:59:00 +0000 UTC"),
        ('{{ match "^host-0[78]$" (index .Alerts 1).Labels.instance }}', "true"),
        (
            '{{ printf "%T %T %T" .Alerts .CommonLabels .CommonLabels.SortedPairs }}',
            "template.Alerts template.KV template.Pairs",
        ),
        (ALERTMANAGER_SUBJECT, "[FIRING:1] HostCpuHigh (warning)"),
    ],
)
def test_alertmanager_data_renders_as_alertmanager_renders_it(text: str, expected: str) -> None:
    assert render(text) == expected


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            "{{ .Labels }}",
            'template: body:1:3: executing "body" at <.Labels>: '
            "can't evaluate field Labels in type template.Data",
        ),
        ("{{ .Alerts.Firing 1 }}", "wrong number of args for Firing: want 0 got 1"),
        ("{{ .CommonLabels.Remove }}", "wrong number of args for Remove: want 1 got 0"),
        (
            '{{ .CommonLabels.Remove "x" }}',
            "error calling Remove: wrong type for value; expected []string",
        ),
        ('{{ join "," "x" }}', "error calling join: wrong type for value; expected []string"),
    ],
)
def test_execution_errors_read_as_gos(text: str, message: str) -> None:
    with pytest.raises(TemplateError) as raised:
        render(text)
    assert message in str(raised.value)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("{{ $labels.x }}", 'template: body:1: undefined variable "$labels"'),  # no rule prelude
        ('{{ query "up" }}', 'template: body:1: function "query" not defined'),
        ("{{ externalURL }}", 'template: body:1: function "externalURL" not defined'),
        ("{{ if .Status }}", "template: body:1: unexpected EOF"),
    ],
)
def test_parse_errors_read_as_gos(text: str, message: str) -> None:
    with pytest.raises(TemplateError, match="^" + message.replace("$", "\\$").replace("(", "\\(")):
        parse_notification_template(text, "body")


def test_the_two_kinds_do_not_mix() -> None:
    with pytest.raises(TemplateError, match="renders data"):
        parse_notification_template("x", "t").render(TemplateData(labels={}, value=0.0))
    with pytest.raises(TemplateError, match="renders an alert"):
        parse_template("x", "t").render_data(DATA)


def test_rule_templates_do_not_gain_alertmanagers_functions() -> None:
    with pytest.raises(TemplateError, match='function "join" not defined'):
        parse_template('{{ join "," .Labels }}', "rule")
