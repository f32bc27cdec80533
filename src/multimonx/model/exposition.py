"""Metric families and the Prometheus exposition formats.

``MetricFamily`` is what collectors produce: one metric name, its type and help, and rows of
label values aligned with ``label_names``. ``render_text`` writes the Prometheus text format
0.0.4 and ``render_openmetrics`` writes OpenMetrics 1.0.0; both are what Prometheus itself
parses when it scrapes.
"""

from __future__ import annotations

import enum
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

TEXT_CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
OPENMETRICS_CONTENT_TYPE = "application/openmetrics-text; version=1.0.0; charset=utf-8"


class MetricType(enum.Enum):
    """Metric types of the text format (``untyped`` is OpenMetrics' ``unknown``)."""

    COUNTER = "counter"
    GAUGE = "gauge"
    UNTYPED = "untyped"


Row = tuple[tuple[str, ...], float]


@dataclass(frozen=True, slots=True)
class MetricFamily:
    """All samples of one metric name from one collection, without target labels.

    ``samples`` holds (label values, value) rows, each tuple of values aligned with
    ``label_names``. Target labels such as ``instance`` and ``job`` are added by whoever
    ships the family (Prometheus on scrape, the agent's pusher on push), never here.
    """

    name: str
    type: MetricType
    help: str
    label_names: tuple[str, ...]
    samples: tuple[Row, ...]

    @classmethod
    def gauge(
        cls, name: str, help: str, label_names: Sequence[str] = (), rows: Iterable[Row] = ()
    ) -> MetricFamily:
        """A gauge family."""
        return cls(name, MetricType.GAUGE, help, tuple(label_names), tuple(rows))

    @classmethod
    def counter(
        cls, name: str, help: str, label_names: Sequence[str] = (), rows: Iterable[Row] = ()
    ) -> MetricFamily:
        """A counter family; ``name`` carries the ``_total`` suffix as node_exporter's do."""
        return cls(name, MetricType.COUNTER, help, tuple(label_names), tuple(rows))

    @classmethod
    def untyped(
        cls, name: str, help: str, label_names: Sequence[str] = (), rows: Iterable[Row] = ()
    ) -> MetricFamily:
        """An untyped family (node_exporter uses these for raw kernel counters)."""
        return cls(name, MetricType.UNTYPED, help, tuple(label_names), tuple(rows))

    @classmethod
    def single(cls, name: str, type: MetricType, help: str, value: float) -> MetricFamily:
        """A family with one unlabelled sample."""
        return cls(name, type, help, (), (((), float(value)),))


def format_value(value: float) -> str:
    """A float as the text formats spell it: shortest round-trip form, ``+Inf``, ``NaN``."""
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "+Inf" if value > 0 else "-Inf"
    if value.is_integer() and abs(value) < 1e15:
        return str(int(value))
    return repr(value)


def escape_label_value(value: str) -> str:
    """Escape a label value for both text formats (backslash, double quote, newline)."""
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def escape_help(text: str) -> str:
    """Escape HELP text (backslash and newline; OpenMetrics also escapes the double quote)."""
    return text.replace("\\", "\\\\").replace("\n", "\\n")


def _sample_lines(name: str, family: MetricFamily, out: list[str]) -> None:
    names = family.label_names
    for values, value in family.samples:
        if names:
            inner = ",".join(
                f'{n}="{escape_label_value(v)}"'
                for n, v in zip(names, values, strict=True)
                if v != ""
            )
            out.append(f"{name}{{{inner}}} {format_value(value)}\n")
        else:
            out.append(f"{name} {format_value(value)}\n")


def render_text(families: Iterable[MetricFamily]) -> str:
    """Render families in the Prometheus text format 0.0.4, sorted by name."""
    out: list[str] = []
    for family in sorted(families, key=lambda f: f.name):
        out.append(f"# HELP {family.name} {escape_help(family.help)}\n")
        out.append(f"# TYPE {family.name} {family.type.value}\n")
        _sample_lines(family.name, family, out)
    return "".join(out)


def render_openmetrics(families: Iterable[MetricFamily]) -> str:
    """Render families in OpenMetrics 1.0.0 text, ending with ``# EOF``."""
    out: list[str] = []
    for family in sorted(families, key=lambda f: f.name):
        base = family.name
        if family.type is MetricType.COUNTER and base.endswith("_total"):
            base = base[: -len("_total")]
        om_type = "unknown" if family.type is MetricType.UNTYPED else family.type.value
        help_text = escape_help(family.help).replace('"', '\\"')
        out.append(f"# HELP {base} {help_text}\n")
        out.append(f"# TYPE {base} {om_type}\n")
        # OpenMetrics requires the _total suffix on every counter sample.
        sample_name = base + "_total" if family.type is MetricType.COUNTER else family.name
        _sample_lines(sample_name, family, out)
    out.append("# EOF\n")
    return "".join(out)


def negotiate(accept: str | None) -> tuple[str, bool]:
    """Pick the response format for an ``Accept`` header: (content type, is_openmetrics)."""
    if accept and "application/openmetrics-text" in accept:
        return OPENMETRICS_CONTENT_TYPE, True
    return TEXT_CONTENT_TYPE, False
