"""SMART collector through ``smartctl --json`` with smartctl_exporter's metric names.

Devices come from ``SmartSection.devices`` or ``smartctl --scan-open --json``; each is read
with ``smartctl --all --json``. ``parse_smartctl`` turns one device's JSON document into rows,
so it is tested on fixtures without disks. ``device`` labels are the device path without
``/dev/`` as smartctl_exporter writes them. A missing ``smartctl`` makes the collector
unavailable; a device whose output cannot be parsed is skipped for that collection.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from multimonx.agent.collectors.base import CollectorError, CollectorUnavailable, SourceCollector
from multimonx.agent.source import Source
from multimonx.config import SmartSection
from multimonx.model import MetricFamily

Runner = Callable[[Sequence[str]], str]
"""Runs a smartctl command line and returns its standard output (exit status ignored:
smartctl uses it as a bit mask of device warnings)."""

INFO_LABELS = (
    "device",
    "interface",
    "protocol",
    "model_family",
    "model_name",
    "serial_number",
    "ata_additional_product_id",
    "firmware_version",
    "ata_version",
    "sata_version",
    "form_factor",
)
ATTRIBUTE_LABELS = (
    "device",
    "attribute_name",
    "attribute_flags_short",
    "attribute_flags_long",
    "attribute_value_type",
    "attribute_id",
)
_HELP = {
    "smartctl_device": "Device info",
    "smartctl_device_smart_status": "General smart status",
    "smartctl_device_temperature": "Device temperature celsius",
    "smartctl_device_power_on_seconds": "Device power on seconds",
    "smartctl_device_power_cycle_count": "Device power cycle count",
    "smartctl_device_capacity_bytes": "Device capacity in bytes",
    "smartctl_device_attribute": "Device attributes",
    "smartctl_device_smartctl_exit_status": "Exit status of smartctl on device",
}
_LABELS = {
    "smartctl_device": INFO_LABELS,
    "smartctl_device_temperature": ("device", "temperature_type"),
    "smartctl_device_attribute": ATTRIBUTE_LABELS,
}

Rows = dict[str, list[tuple[tuple[str, ...], float]]]


def _str(doc: Mapping[str, Any], *path: str) -> str:
    value: Any = doc
    for key in path:
        if not isinstance(value, Mapping):
            return ""
        value = value.get(key)
    return "" if value is None or isinstance(value, Mapping | list) else str(value)


def parse_smartctl(doc: Mapping[str, Any]) -> Rows:
    """Rows per family name from one ``smartctl --all --json`` document."""
    rows: Rows = {name: [] for name in _HELP}
    device = _str(doc, "device", "name").removeprefix("/dev/")
    if not device:
        return rows
    dev = (device,)
    info = (
        device,
        _str(doc, "device", "type"),
        _str(doc, "device", "protocol"),
        _str(doc, "model_family"),
        _str(doc, "model_name"),
        _str(doc, "serial_number"),
        _str(doc, "ata_additional_product_id"),
        _str(doc, "firmware_version"),
        _str(doc, "ata_version", "string"),
        _str(doc, "sata_version", "string"),
        _str(doc, "form_factor", "name"),
    )
    rows["smartctl_device"].append((info, 1.0))
    exit_status = doc.get("smartctl", {}).get("exit_status")
    if isinstance(exit_status, int | float):
        rows["smartctl_device_smartctl_exit_status"].append((dev, float(exit_status)))
    status = doc.get("smart_status", {}).get("passed")
    if isinstance(status, bool):
        rows["smartctl_device_smart_status"].append((dev, 1.0 if status else 0.0))
    for key, value in (doc.get("temperature") or {}).items():
        if isinstance(value, int | float):
            rows["smartctl_device_temperature"].append(((device, key), float(value)))
    power_on = doc.get("power_on_time") or {}
    if "hours" in power_on:
        seconds = power_on.get("hours", 0) * 3600 + power_on.get("minutes", 0) * 60
        rows["smartctl_device_power_on_seconds"].append((dev, float(seconds)))
    if isinstance(doc.get("power_cycle_count"), int | float):
        rows["smartctl_device_power_cycle_count"].append((dev, float(doc["power_cycle_count"])))
    capacity = (doc.get("user_capacity") or {}).get("bytes")
    if isinstance(capacity, int | float):
        rows["smartctl_device_capacity_bytes"].append((dev, float(capacity)))
    for attr in (doc.get("ata_smart_attributes") or {}).get("table", []):
        flags = attr.get("flags") or {}
        base = (
            device,
            str(attr.get("name", "")),
            str(flags.get("string", "")).strip(),
            ",".join(k for k, v in flags.items() if v is True),
        )
        for value_type, value in (
            ("value", attr.get("value")),
            ("worst", attr.get("worst")),
            ("thresh", attr.get("thresh")),
            ("raw", (attr.get("raw") or {}).get("value")),
        ):
            if isinstance(value, int | float):
                rows["smartctl_device_attribute"].append(
                    ((*base, value_type, str(attr.get("id", ""))), float(value))
                )
    return rows


def _subprocess_runner(timeout: float) -> Runner:
    def run(args: Sequence[str]) -> str:
        done = subprocess.run(list(args), capture_output=True, timeout=timeout, check=False)
        return done.stdout.decode("utf-8", "replace")

    return run


class SmartCollector(SourceCollector):
    """``smartctl_device*`` families from ``smartctl --json``."""

    name = "smart"

    def __init__(
        self,
        section: SmartSection,
        source: Source,
        default_interval: float,
        runner: Runner | None = None,
    ) -> None:
        super().__init__(section, source, default_interval)
        path = section.smartctl_path
        resolved = (
            shutil.which(path)
            if os.sep not in path
            else (path if os.access(path, os.X_OK) else None)
        )
        if resolved is None and runner is None:
            raise CollectorUnavailable(
                f"smart: smartctl not found at {path!r} (install smartmontools)"
            )
        self._smartctl = resolved or path
        self._devices = section.devices
        self._run = runner or _subprocess_runner(min(60.0, max(5.0, self._interval / 2)))

    def _scan(self) -> list[str]:
        if self._devices:
            return list(self._devices)
        doc = json.loads(self._run([self._smartctl, "--scan-open", "--json"]) or "{}")
        return [d["name"] for d in doc.get("devices", []) if d.get("name")]

    def collect(self) -> Sequence[MetricFamily]:
        """Scan (unless devices are configured) and read every device."""
        try:
            devices = self._scan()
        except (OSError, ValueError, subprocess.SubprocessError) as err:
            raise CollectorError(f"smart: smartctl --scan-open failed: {err}") from err
        rows: Rows = {name: [] for name in _HELP}
        for device in devices:
            try:
                doc = json.loads(self._run([self._smartctl, "--all", "--json", device]))
            except (OSError, ValueError, subprocess.SubprocessError):
                continue
            for name, device_rows in parse_smartctl(doc).items():
                rows[name].extend(device_rows)
        return [
            MetricFamily.gauge(name, _HELP[name], _LABELS.get(name, ("device",)), rows[name])
            for name in _HELP
            if rows[name]
        ]
