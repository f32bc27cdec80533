"""The metric catalog: friendly names (``cpu.usage.total``, ``disk.io.read.bytes``, ...) over
PromQL expressions written against node_exporter's names, shipped as ``catalog.yaml`` in this
package.

It lives in ``promql`` rather than ``web`` so that alert rules (a layer below the web app) can
use friendly names too. Every expression covers the whole fleet and keeps the ``instance``
label; ``for_host`` narrows it to one host by adding an ``instance="<host>"`` matcher to every
selector of the syntax tree, so a host name is never written into query text (and so can never
change what the query means). ``load_catalog`` checks the file: names unique and well formed,
every expression parsing to an instant vector, units and kinds known.
"""

from __future__ import annotations

import enum
import re
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from importlib import resources
from pathlib import Path
from typing import Any

import yaml

from multimonx.model import Matcher
from multimonx.promql.ast import (
    Aggregation,
    BinaryExpr,
    Call,
    Cardinality,
    Expr,
    MatrixSelector,
    NumberLiteral,
    ParenExpr,
    StringLiteral,
    SubqueryExpr,
    UnaryExpr,
    ValueType,
    VectorMatching,
    VectorSelector,
)
from multimonx.promql.lexer import ParseError
from multimonx.promql.parser import parse, value_type

HOST_LABEL = "instance"
"""The label that names a host on every series (DESIGN.md, "Data model")."""
METRIC_LABEL = "friendly_metric"
"""The label ``combined`` tags each entry's series with."""
UNITS = frozenset(
    {"percent", "bytes", "bytes/s", "packets/s", "errors/s", "ops/s", "count", "load"}
)
"""The units an entry may declare."""

_NAME_RE = re.compile(r"[a-z][a-z0-9_]*(\.[a-z0-9][a-z0-9_]*)+")
_LABEL_RE = re.compile(r"[a-zA-Z_][a-zA-Z0-9_]*")
_FIELDS = frozenset({"name", "expr", "unit", "kind", "labels", "description"})


class CatalogError(ValueError):
    """The catalog file is malformed (the message names the entry and the problem)."""


class MetricKind(enum.Enum):
    """What an entry's value is: a level, or a per-second rate of a counter."""

    GAUGE = "gauge"
    RATE = "rate"


@dataclass(frozen=True, slots=True)
class CatalogEntry:
    """One friendly metric. ``labels`` tell apart the items of a per-item metric (per core,
    per file system, per disk); empty when the metric has one value per host. ``query`` is
    ``expr`` parsed, over every host."""

    name: str
    expr: str
    unit: str
    kind: MetricKind
    description: str
    labels: tuple[str, ...]
    query: Expr = field(compare=False, repr=False)

    @property
    def per_item(self) -> bool:
        """Whether the metric has several values per host (one per ``labels`` value)."""
        return bool(self.labels)

    def for_host(self, host: str) -> Expr:
        """The expression narrowed to ``host`` through the syntax tree (never through text)."""
        return for_host(self.query, host)


@dataclass(frozen=True, slots=True)
class Catalog:
    """Every friendly metric, in file order, looked up by name."""

    entries: tuple[CatalogEntry, ...]
    _by_name: Mapping[str, CatalogEntry] = field(compare=False, repr=False)

    @classmethod
    def of(cls, entries: Sequence[CatalogEntry]) -> Catalog:
        """A catalog of ``entries``; raises CatalogError on a repeated name."""
        by_name: dict[str, CatalogEntry] = {}
        for entry in entries:
            if entry.name in by_name:
                raise CatalogError(f"metric {entry.name!r} is defined twice")
            by_name[entry.name] = entry
        return cls(tuple(entries), by_name)

    def get(self, name: str) -> CatalogEntry | None:
        """The entry called ``name``, or None."""
        return self._by_name.get(name)

    def names(self) -> list[str]:
        """Every name, in file order."""
        return [e.name for e in self.entries]

    def __iter__(self) -> Iterator[CatalogEntry]:
        return iter(self.entries)

    def __len__(self) -> int:
        return len(self.entries)

    def combined(self, entries: Sequence[CatalogEntry] | None = None) -> Expr:
        """One expression giving the series of every entry (all by default), each tagged
        with ``friendly_metric="<name>"``, so that one engine pass evaluates them all."""
        chosen = self.entries if entries is None else entries
        return combine([(e.name, e.query) for e in chosen])


def combine(parts: Sequence[tuple[str, Expr]]) -> Expr:
    """``label_replace(e1, "friendly_metric", "name1", "", "") or ...`` over ``parts``:
    one expression whose series say, in ``friendly_metric``, which part they come from.

    The ``or`` operations form a balanced tree rather than a chain: each one matches the
    series of both sides, so a chain would match the first parts' series again at every
    step (measured: a fifth of the time of the catalog's current values)."""
    if not parts:
        raise CatalogError("nothing to combine")
    level = [_tagged(name, expr) for name, expr in parts]
    while len(level) > 1:
        paired = [
            BinaryExpr("or", lhs, rhs, matching=_SET_MATCHING)
            for lhs, rhs in zip(level[::2], level[1::2], strict=False)
        ]
        level = paired + level[len(paired) * 2 :]
    return level[0]


_SET_MATCHING = VectorMatching(card=Cardinality.MANY_TO_MANY)


def _tagged(name: str, expr: Expr) -> Expr:
    literals = (StringLiteral(METRIC_LABEL), StringLiteral(name), StringLiteral(""))
    return Call("label_replace", (expr, *literals, StringLiteral("")))


def for_host(expr: Expr, host: str) -> Expr:
    """``expr`` with ``instance="<host>"`` added to every selector."""
    matcher = Matcher.of(HOST_LABEL, "=", host)
    return map_selectors(expr, lambda s: replace(s, matchers=(*s.matchers, matcher)))


def widen_ranges(expr: Expr, min_range_ms: int) -> Expr:
    """``expr`` with every range selector at least ``min_range_ms`` wide, so that a rate
    evaluated once per step of a coarse range query still sees every sample between steps."""

    def widen(node: MatrixSelector) -> MatrixSelector:
        return replace(node, range_ms=max(node.range_ms, min_range_ms))

    return _map(expr, lambda s: s, widen)


def map_selectors(expr: Expr, change: Callable[[VectorSelector], VectorSelector]) -> Expr:
    """``expr`` with ``change`` applied to every instant selector (inside range selectors
    too)."""
    return _map(expr, change, lambda m: replace(m, vector=change(m.vector)))


def _map(
    expr: Expr,
    selector: Callable[[VectorSelector], VectorSelector],
    matrix: Callable[[MatrixSelector], MatrixSelector],
) -> Expr:
    def walk(node: Expr) -> Expr:
        match node:
            case VectorSelector():
                return selector(node)
            case MatrixSelector():
                return matrix(node)
            case NumberLiteral() | StringLiteral():
                return node
            case SubqueryExpr() | UnaryExpr() | ParenExpr():
                return replace(node, expr=walk(node.expr))
            case Call():
                return replace(node, args=tuple(walk(a) for a in node.args))
            case Aggregation():
                param = None if node.param is None else walk(node.param)
                return replace(node, expr=walk(node.expr), param=param)
            case BinaryExpr():
                return replace(node, lhs=walk(node.lhs), rhs=walk(node.rhs))
        raise TypeError(f"not a PromQL expression: {node!r}")

    return walk(expr)


def load_catalog(path: Path | None = None) -> Catalog:
    """The catalog in ``path`` (default: the ``catalog.yaml`` shipped in this package);
    raises CatalogError when it is malformed."""
    if path is None:
        text = resources.files(__package__).joinpath("catalog.yaml").read_text("utf-8")
    else:
        text = path.read_text("utf-8")
    return parse_catalog(text)


def parse_catalog(text: str) -> Catalog:
    """A catalog from YAML text; raises CatalogError when it is malformed."""
    try:
        doc = yaml.safe_load(text)
    except yaml.YAMLError as err:
        raise CatalogError(f"catalog is not valid YAML: {err}") from None
    if not isinstance(doc, dict) or not isinstance(doc.get("metrics"), list):
        raise CatalogError("catalog must be a mapping with a 'metrics' list")
    return Catalog.of([_entry(i, raw) for i, raw in enumerate(doc["metrics"])])


def _entry(index: int, raw: Any) -> CatalogEntry:
    if not isinstance(raw, dict):
        raise CatalogError(f"metrics[{index}] must be a mapping")
    name = raw.get("name")
    where = f"metric {name!r}" if isinstance(name, str) else f"metrics[{index}]"
    unknown = set(raw) - _FIELDS
    if unknown:
        raise CatalogError(f"{where}: unknown fields {sorted(unknown)}")
    for key in ("name", "expr", "unit", "kind", "description"):
        if not isinstance(raw.get(key), str) or not raw[key].strip():
            raise CatalogError(f"{where}: '{key}' must be a non-empty string")
    if not _NAME_RE.fullmatch(raw["name"]):
        raise CatalogError(f"{where}: names are dotted lower-case words (cpu.usage.total)")
    if raw["unit"] not in UNITS:
        raise CatalogError(f"{where}: unknown unit {raw['unit']!r} (one of {sorted(UNITS)})")
    try:
        kind = MetricKind(raw["kind"])
    except ValueError:
        raise CatalogError(f"{where}: kind must be gauge or rate") from None
    labels = raw.get("labels", [])
    if not isinstance(labels, list) or not all(
        isinstance(x, str) and _LABEL_RE.fullmatch(x) and x != HOST_LABEL for x in labels
    ):
        raise CatalogError(f"{where}: 'labels' must be a list of label names (not instance)")
    return CatalogEntry(
        name=raw["name"],
        expr=raw["expr"],
        unit=raw["unit"],
        kind=kind,
        description=raw["description"],
        labels=tuple(labels),
        query=_query(where, raw["expr"]),
    )


def _query(where: str, text: str) -> Expr:
    try:
        expr = parse(text)
    except ParseError as err:
        raise CatalogError(f"{where}: invalid expression: {err}") from None
    if value_type(expr) is not ValueType.VECTOR:
        raise CatalogError(f"{where}: the expression must give an instant vector")
    return expr
