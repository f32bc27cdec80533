"""NVIDIA GPU collector through NVML, with dcgm-exporter's metric names.

``pynvml`` (package ``nvidia-ml-py``, extra ``multimonx[gpu]``) is imported only when this
collector is built, so agents without GPUs never load it. Without the package, without the
driver's ``libnvidia-ml.so`` or without devices the constructor raises ``CollectorUnavailable``.
Families (gauges, dcgm-exporter units): ``DCGM_FI_DEV_GPU_UTIL`` (%), ``DCGM_FI_DEV_FB_USED`` and
``DCGM_FI_DEV_FB_FREE`` (MiB), ``DCGM_FI_DEV_GPU_TEMP`` (C), ``DCGM_FI_DEV_POWER_USAGE`` (W),
``DCGM_FI_DEV_SM_CLOCK`` and ``DCGM_FI_DEV_MEM_CLOCK`` (MHz), labelled
``gpu``, ``UUID``, ``device`` (``nvidia<N>``) and ``modelName``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from multimonx.agent.collectors.base import CollectorError, CollectorUnavailable, SourceCollector
from multimonx.agent.source import Source
from multimonx.config import SimpleSection
from multimonx.model import MetricFamily

_LABELS = ("gpu", "UUID", "device", "modelName")
_MIB = 1024.0 * 1024.0


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


class GpuCollector(SourceCollector):
    """dcgm-exporter-named GPU gauges read through NVML.

    ``nvml`` is the ``pynvml`` module, or any object with the same functions (tests pass one);
    None imports ``pynvml``.
    """

    name = "gpu"

    def __init__(
        self, section: SimpleSection, source: Source, default_interval: float, nvml: Any = None
    ) -> None:
        super().__init__(section, source, default_interval)
        if nvml is None:
            try:
                import pynvml
            except ImportError as err:
                raise CollectorUnavailable(
                    f"gpu: the NVML bindings are not installed (pip install multimonx[gpu]): {err}"
                ) from None
            nvml = pynvml
        self._nvml = nvml
        try:
            nvml.nvmlInit()
            count = int(nvml.nvmlDeviceGetCount())
        except Exception as err:  # pynvml raises NVMLError subclasses
            raise CollectorUnavailable(f"gpu: NVML is not usable on this machine: {err}") from None
        if count == 0:
            raise CollectorUnavailable("gpu: NVML found no GPU")
        self._devices: list[tuple[Any, tuple[str, ...]]] = []
        for index in range(count):
            handle = nvml.nvmlDeviceGetHandleByIndex(index)
            labels = (
                str(index),
                _text(nvml.nvmlDeviceGetUUID(handle)),
                f"nvidia{index}",
                _text(nvml.nvmlDeviceGetName(handle)),
            )
            self._devices.append((handle, labels))

    def collect(self) -> Sequence[MetricFamily]:
        """One NVML query per value and device."""
        nvml = self._nvml
        rows: dict[str, list[tuple[tuple[str, ...], float]]] = {n: [] for n, _ in _HELP}
        try:
            for handle, labels in self._devices:
                util = nvml.nvmlDeviceGetUtilizationRates(handle)
                mem = nvml.nvmlDeviceGetMemoryInfo(handle)
                rows["DCGM_FI_DEV_GPU_UTIL"].append((labels, float(util.gpu)))
                rows["DCGM_FI_DEV_FB_USED"].append((labels, mem.used / _MIB))
                rows["DCGM_FI_DEV_FB_FREE"].append((labels, mem.free / _MIB))
                rows["DCGM_FI_DEV_GPU_TEMP"].append(
                    (
                        labels,
                        float(nvml.nvmlDeviceGetTemperature(handle, nvml.NVML_TEMPERATURE_GPU)),
                    )
                )
                rows["DCGM_FI_DEV_POWER_USAGE"].append(
                    (labels, nvml.nvmlDeviceGetPowerUsage(handle) / 1000.0)
                )
                rows["DCGM_FI_DEV_SM_CLOCK"].append(
                    (labels, float(nvml.nvmlDeviceGetClockInfo(handle, nvml.NVML_CLOCK_SM)))
                )
                rows["DCGM_FI_DEV_MEM_CLOCK"].append(
                    (labels, float(nvml.nvmlDeviceGetClockInfo(handle, nvml.NVML_CLOCK_MEM)))
                )
        except Exception as err:  # NVMLError: device lost, driver reloaded ...
            raise CollectorError(f"gpu: NVML query failed: {err}") from err
        return [
            MetricFamily.gauge(name, help_text, _LABELS, rows[name]) for name, help_text in _HELP
        ]


_HELP = (
    ("DCGM_FI_DEV_GPU_UTIL", "GPU utilization (in %)."),
    ("DCGM_FI_DEV_FB_USED", "Framebuffer memory used (in MiB)."),
    ("DCGM_FI_DEV_FB_FREE", "Framebuffer memory free (in MiB)."),
    ("DCGM_FI_DEV_GPU_TEMP", "GPU temperature (in C)."),
    ("DCGM_FI_DEV_POWER_USAGE", "Power draw (in W)."),
    ("DCGM_FI_DEV_SM_CLOCK", "SM clock frequency (in MHz)."),
    ("DCGM_FI_DEV_MEM_CLOCK", "Memory clock frequency (in MHz)."),
)
