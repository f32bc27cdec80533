"""Label sets: the identity of a series, as Prometheus defines it.

A series is identified by its metric name (the reserved label ``__name__``) and the rest of its
labels. Names follow the classic Prometheus charset; values are any UTF-8 text, stored and
rendered faithfully (escaping is the job of each output format, not of this type).
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Iterable, Iterator, Mapping

METRIC_NAME_LABEL = "__name__"
METRIC_NAME_RE = re.compile(r"[a-zA-Z_:][a-zA-Z0-9_:]*")
LABEL_NAME_RE = re.compile(r"[a-zA-Z_][a-zA-Z0-9_]*")


class LabelError(ValueError):
    """A metric name, label name or label set that Prometheus would not accept."""


def valid_metric_name(name: str) -> bool:
    """Whether ``name`` is a metric name in the classic Prometheus charset."""
    return METRIC_NAME_RE.fullmatch(name) is not None


def valid_label_name(name: str) -> bool:
    """Whether ``name`` is a label name in the classic Prometheus charset."""
    return LABEL_NAME_RE.fullmatch(name) is not None


class Labels(Mapping[str, str]):
    """An immutable, sorted, hashable label set.

    Pairs are kept sorted by name, so two label sets with the same pairs compare and hash equal
    whatever order they were built in. Empty values are dropped, because Prometheus treats a
    label with an empty value as absent.
    """

    __slots__ = ("_hash", "_pairs")

    def __init__(self, pairs: Iterable[tuple[str, str]] = ()) -> None:
        ordered = tuple(sorted((n, v) for n, v in pairs if v != ""))
        for (a, _), (b, _) in itertools.pairwise(ordered):
            if a == b:
                raise LabelError(f"duplicate label name {a!r}")
        self._pairs = ordered
        self._hash = hash(ordered)

    @classmethod
    def of(cls, mapping: Mapping[str, str] | None = None, /, **labels: str) -> Labels:
        """Build from a mapping and/or keyword arguments."""
        merged = dict(mapping or {})
        merged.update(labels)
        return cls(merged.items())

    @property
    def pairs(self) -> tuple[tuple[str, str], ...]:
        """The (name, value) pairs, sorted by name."""
        return self._pairs

    @property
    def metric_name(self) -> str:
        """The value of ``__name__``, or an empty string if the set has none."""
        return self.get(METRIC_NAME_LABEL, "")

    def with_labels(self, extra: Mapping[str, str]) -> Labels:
        """A copy with ``extra`` set (overriding existing values; empty values delete)."""
        merged = dict(self._pairs)
        merged.update(extra)
        return Labels(merged.items())

    def without(self, *names: str) -> Labels:
        """A copy without the given label names (the kept pairs are still sorted and valid,
        so they are not sorted and checked again: PromQL drops ``__name__`` per series)."""
        pairs = self._pairs
        if len(names) == 1 and pairs and pairs[0][0] == names[0]:
            kept = pairs[1:]  # dropping ``__name__``, which usually sorts first
        else:
            kept = tuple(pair for pair in pairs if pair[0] not in names)
        copy = Labels.__new__(Labels)
        copy._pairs = kept
        copy._hash = hash(kept)
        return copy

    def validate(self) -> None:
        """Raise LabelError unless this set is a valid series identity for ingestion."""
        name = self.metric_name
        if not name:
            raise LabelError("missing metric name (__name__)")
        if not valid_metric_name(name):
            raise LabelError(f"invalid metric name {name!r}")
        for label, value in self._pairs:
            if label == METRIC_NAME_LABEL:
                continue
            if not valid_label_name(label):
                raise LabelError(f"invalid label name {label!r}")
            if label.startswith("__"):
                raise LabelError(f"label name {label!r} is reserved (starts with '__')")
            if "\x00" in value:
                raise LabelError(f"label {label!r} has a NUL byte in its value")

    def __getitem__(self, key: str) -> str:
        for name, value in self._pairs:
            if name == key:
                return value
        raise KeyError(key)

    def __iter__(self) -> Iterator[str]:
        return (name for name, _ in self._pairs)

    def __len__(self) -> int:
        return len(self._pairs)

    def __hash__(self) -> int:
        return self._hash

    def __eq__(self, other: object) -> bool:
        if isinstance(other, Labels):
            return self._hash == other._hash and self._pairs == other._pairs
        return NotImplemented

    def __lt__(self, other: Labels) -> bool:
        return self._pairs < other._pairs

    def __repr__(self) -> str:
        inner = ", ".join(f"{n}={v!r}" for n, v in self._pairs if n != METRIC_NAME_LABEL)
        return f"{self.metric_name}{{{inner}}}"
