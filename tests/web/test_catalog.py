"""The metric catalog: the shipped file is valid and complete, malformed files are refused with
a message naming the entry, host narrowing goes through the syntax tree, and every entry
gives data over what our agent really exports (its golden files from a recorded machine)."""

from __future__ import annotations

from importlib import resources
from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families

from multimonx.model import Labels, MatchType
from multimonx.promql.ast import Expr, MatrixSelector, VectorSelector
from multimonx.promql.catalog import (
    HOST_LABEL,
    METRIC_LABEL,
    Catalog,
    CatalogError,
    MetricKind,
    for_host,
    load_catalog,
    map_selectors,
    parse_catalog,
    widen_ranges,
)
from multimonx.promql.engine import Engine
from multimonx.promql.parser import parse
from multimonx.promql.printer import format_expr
from multimonx.storage import MemoryStorage

ISSUE_NAMES = (
    "cpu.usage.total",
    "cpu.usage.user",
    "cpu.usage.system",
    "cpu.usage.idle",
    "cpu.usage.iowait",
    "cpu.cores.usage",
    "cpu.load.average.1m",
    "cpu.load.average.5m",
    "cpu.load.average.15m",
    "memory.total",
    "memory.used",
    "memory.available",
    "memory.free",
    "memory.usage.percent",
    "memory.buffers",
    "memory.cached",
    "swap.total",
    "swap.used",
    "swap.usage.percent",
    "disk.usage.total",
    "disk.usage.used",
    "disk.usage.free",
    "disk.usage.percent",
    "disk.io.read.bytes",
    "disk.io.write.bytes",
    "disk.io.read.count",
    "disk.io.write.count",
    "disk.inode.total",
    "disk.inode.used",
    "disk.inode.usage.percent",
    "network.io.bytes.sent",
    "network.io.bytes.recv",
    "network.io.packets.sent",
    "network.io.packets.recv",
    "network.io.errors.in",
    "network.io.errors.out",
    "network.io.dropped.in",
    "network.io.dropped.out",
    "network.packet.loss.percent",
    "network.connections.tcp",
    "network.connections.udp",
    "network.connections.established",
    "network.connections.time_wait",
)
GOLDEN = Path(__file__).parent.parent / "agent" / "fixtures" / "golden"


@pytest.fixture(scope="module")
def catalog() -> Catalog:
    return load_catalog()


def test_shipped_catalog_has_every_name_of_the_issue(catalog: Catalog) -> None:
    assert set(ISSUE_NAMES) <= set(catalog.names())
    assert len(set(catalog.names())) == len(catalog)
    assert catalog.get("cpu.cores.usage") is not None
    assert catalog.get("no.such.metric") is None


def test_shipped_catalog_is_package_data() -> None:
    assert resources.files("multimonx.promql").joinpath("catalog.yaml").is_file()
    pyproject = (Path(__file__).parents[2] / "pyproject.toml").read_text()
    assert '"multimonx.promql" = ["catalog.yaml"]' in pyproject


def test_rates_are_rates_and_levels_are_gauges(catalog: Catalog) -> None:
    for entry in catalog:
        has_range = "[" in entry.expr
        assert (entry.kind is MetricKind.RATE) == has_range, entry.name
        assert entry.description.strip()


VALID = """
metrics:
  - name: cpu.load.one
    expr: max by (instance) (node_load1)
    unit: load
    kind: gauge
    description: Load.
"""


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (
            ("expr: max by (instance) (node_load1)", "expr: max by (instance (node_load1)"),
            "invalid expression",
        ),
        (("expr: max by (instance) (node_load1)", "expr: 1 + 1"), "instant vector"),
        (("expr: max by (instance) (node_load1)", "expr: node_load1[5m]"), "instant vector"),
        (("unit: load", "unit: furlongs"), "unknown unit"),
        (("kind: gauge", "kind: counter"), "gauge or rate"),
        (("name: cpu.load.one", "name: CPU Load"), "dotted lower-case"),
        (("name: cpu.load.one", "name: cpu"), "dotted lower-case"),
        (("kind: gauge", "kind: gauge\n    labels: [instance]"), "labels"),
        (("kind: gauge", "kind: gauge\n    labels: [bad-label]"), "labels"),
        (("kind: gauge", "kind: gauge\n    colour: red"), "unknown fields"),
        (("description: Load.", "description: ''"), "description"),
        (("metrics:", "metric:"), "'metrics' list"),
    ],
)
def test_malformed_entries_are_refused(change: tuple[str, str], message: str) -> None:
    text = VALID.replace(*change)
    assert text != VALID
    with pytest.raises(CatalogError, match=message) as caught:
        parse_catalog(text)
    assert "metric" in str(caught.value)


def test_names_must_be_unique() -> None:
    with pytest.raises(CatalogError, match=r"'cpu\.load\.one' is defined twice"):
        parse_catalog(VALID + VALID.replace("metrics:\n", ""))


def test_invalid_yaml_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "catalog.yaml"
    path.write_text("metrics: [\n")
    with pytest.raises(CatalogError, match="not valid YAML"):
        load_catalog(path)
    path.write_text(VALID)
    assert load_catalog(path).names() == ["cpu.load.one"]


def selectors(expr: Expr) -> list[VectorSelector]:
    """Every instant selector of ``expr`` (inside range selectors too), in order."""
    found: list[VectorSelector] = []

    def keep(s: VectorSelector) -> VectorSelector:
        found.append(s)
        return s

    map_selectors(expr, keep)
    return found


@pytest.mark.parametrize(
    "host", ['a"} or vector(1) #', ".*", "web-1", "ホスト", "a\\", 'x"\n', "`raw`", "'q'"]
)
def test_for_host_adds_an_exact_matcher_to_every_selector(catalog: Catalog, host: str) -> None:
    for entry in catalog:
        narrowed = entry.for_host(host)
        found = selectors(narrowed)
        assert len(found) == len(selectors(entry.query)) > 0
        for selector in found:
            [matcher] = [m for m in selector.matchers if m.name == HOST_LABEL]
            assert matcher.type is MatchType.EQUAL
            assert matcher.value == host
        # printed, it parses back to the same tree: the host is one escaped string literal
        again = parse(format_expr(narrowed))
        assert format_expr(again) == format_expr(narrowed)
        assert [m.value for s in selectors(again) for m in s.matchers if m.name == "instance"] == [
            host
        ] * len(found)


def test_widen_ranges_only_ever_widens() -> None:
    expr = parse("rate(a[1m]) + rate(b[10m]) + c")
    assert format_expr(widen_ranges(expr, 300_000)) == "rate(a[5m]) + rate(b[10m]) + c"
    assert format_expr(widen_ranges(expr, 15_000)) == format_expr(expr)
    narrowed = for_host(widen_ranges(expr, 300_000), "h")
    assert format_expr(narrowed) == (
        'rate(a{instance="h"}[5m]) + rate(b{instance="h"}[10m]) + c{instance="h"}'
    )
    assert isinstance(parse("a[1m]"), MatrixSelector)


def golden_storage(host: str, t_ms: int) -> MemoryStorage:
    """Our agent's golden output on a recorded machine, written twice 15 s apart (counters
    1 higher the second time, so that they have a rate)."""
    storage = MemoryStorage()
    app = storage.appender()
    for path in sorted(GOLDEN.glob("machine-*.prom")):
        for family in text_string_to_metric_families(path.read_text()):
            step = 1.0 if family.type == "counter" else 0.0
            for sample in family.samples:
                labels = Labels.of({**sample.labels, "__name__": sample.name, "instance": host})
                app.append(labels, t_ms - 15_000, float(sample.value))
                app.append(labels, t_ms, float(sample.value) + step)
    app.commit()
    return storage


NO_DATA_ON_MACHINE = {"swap.usage.percent"}
"""Entries that rightly give nothing on the recorded machine (it has no swap)."""


def test_every_entry_gives_data_over_what_our_agent_exports(catalog: Catalog) -> None:
    t_ms = 1_750_000_000_000
    storage = golden_storage("m1", t_ms)
    engine = Engine(storage)
    result = engine.instant(for_host(catalog.combined(), "m1"), t_ms)
    assert result.vector is not None
    got: dict[str, list[Labels]] = {}
    for sample in result.vector:
        got.setdefault(sample.labels[METRIC_LABEL], []).append(sample.labels)
    assert set(catalog.names()) - set(got) == NO_DATA_ON_MACHINE
    for name, rows in got.items():
        entry = catalog.get(name)
        assert entry is not None
        for labels in rows:
            assert labels[HOST_LABEL] == "m1", name
            assert all(label in labels for label in entry.labels), name
        if not entry.per_item:
            assert len(rows) == 1, name
    storage.close()


def test_combined_tags_each_entry(catalog: Catalog) -> None:
    combined = format_expr(catalog.combined(list(catalog)[:2]))
    assert combined.count(" or ") == 1
    assert f'"{METRIC_LABEL}", "cpu.usage.total"' in combined
    with pytest.raises(CatalogError):
        catalog.combined([])
