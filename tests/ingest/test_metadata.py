"""The metadata store behind ``/api/v1/metadata``: variants by name, forgotten an hour after
their last push, bounded, and selected by ``metric``, ``limit`` and ``limit_per_metric`` as
Prometheus selects them."""

from __future__ import annotations

import pytest

from multimonx.ingest import metadata
from multimonx.ingest.metadata import TTL_MS, Metadata, MetadataStore

COUNTER = Metadata("counter", "Seconds the CPUs spent in each mode.")
GAUGE = Metadata("gauge", "Load average.")


def test_variants_by_name_sorted_and_deduplicated() -> None:
    store = MetadataStore()
    store.record([("node_load1", GAUGE), ("node_cpu_seconds_total", COUNTER)], 1_000)
    store.record([("node_load1", GAUGE), ("node_load1", Metadata("gauge", "1m load."))], 2_000)
    assert store.query(2_000) == {
        "node_cpu_seconds_total": [COUNTER],
        "node_load1": [Metadata("gauge", "1m load."), GAUGE],
    }
    assert store.query(2_000, metric="node_load1", limit_per_metric=1) == {
        "node_load1": [Metadata("gauge", "1m load.")]
    }
    assert store.query(2_000, metric="nothing") == {}
    assert store.query(2_000, limit=1) == {"node_cpu_seconds_total": [COUNTER]}
    assert store.query(2_000, limit=0) == {}
    assert store.query(2_000, limit=-5) == store.query(2_000)
    assert store.query(2_000, limit_per_metric=0) == store.query(2_000)


def test_variants_not_pushed_for_an_hour_are_forgotten() -> None:
    store = MetadataStore()
    store.record([("a", GAUGE)], 0)
    store.record([("b", GAUGE)], 10_000)
    assert store.query(TTL_MS) == {"a": [GAUGE], "b": [GAUGE]}
    assert store.query(TTL_MS + 1) == {"b": [GAUGE]}
    store.record([("a", GAUGE)], TTL_MS + 1)  # pushed again: back
    assert store.query(TTL_MS + 1) == {"a": [GAUGE], "b": [GAUGE]}


def test_names_and_variants_are_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(metadata, "MAX_NAMES", 3)
    monkeypatch.setattr(metadata, "MAX_VARIANTS", 2)
    store = MetadataStore()
    store.record([(f"m{i}", GAUGE) for i in range(3)], 0)
    store.record([("m0", GAUGE)], 1)  # the least recently pushed name is now m1
    store.record([("m3", GAUGE)], 2)
    assert sorted(store.query(2)) == ["m0", "m2", "m3"]
    store.record([("m0", Metadata("gauge", str(i))) for i in range(3)], 3)
    assert store.query(3, metric="m0") == {"m0": [Metadata("gauge", "1"), Metadata("gauge", "2")]}
