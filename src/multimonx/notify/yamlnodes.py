"""Strict reading of a YAML node tree (``yaml.compose``) as Go's ``yaml.UnmarshalStrict``
reads Alertmanager's configuration, collecting every error with its position and dotted path
(``<source>: <line>:<col>: route.routes[0].receiver: <reason>``) instead of stopping at the
first.

Reading nodes rather than constructed Python values keeps positions and the scalars' text as
written: ``09:00`` stays text (PyYAML would read a base-60 integer) and ``30`` for a duration
is refused as Alertmanager refuses it.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import TypeVar

import yaml

from multimonx.config import parse_duration
from multimonx.model import valid_label_name

T = TypeVar("T")

_NULL_TAG = "tag:yaml.org,2002:null"
_BOOL_TAG = "tag:yaml.org,2002:bool"
_MERGE_TAG = "tag:yaml.org,2002:merge"


class NodeReader:
    """Reads values out of YAML nodes, recording problems in ``errors`` (already prefixed
    with ``source``) and returning a harmless value, so reading goes on."""

    def __init__(self, source: str) -> None:
        self.source = source
        self._errors: list[tuple[tuple[int, int], str]] = []

    @property
    def errors(self) -> list[str]:
        """The problems found so far, in the order of their places in the file."""
        return [message for _, message in sorted(self._errors, key=lambda one: one[0])]

    def error(self, node: yaml.Node | None, path: str, message: str) -> None:
        """Record ``message`` about the value at ``path``, positioned at ``node``."""
        where, place = "", (0, 0)
        if node is not None:
            place = (node.start_mark.line + 1, node.start_mark.column + 1)
            where = f"{place[0]}:{place[1]}: "
        self._errors.append((place, f"{self.source}: {where}{path or '<top level>'}: {message}"))

    def compose(self, text: str) -> yaml.Node | None:
        """The document's root node (None for an empty document or a YAML syntax error)."""
        try:
            return yaml.compose(text, Loader=yaml.SafeLoader)
        except yaml.YAMLError as err:
            mark = getattr(err, "problem_mark", None)
            where = f"{mark.line + 1}:{mark.column + 1}: " if mark is not None else ""
            problem = getattr(err, "problem", None) or str(err)
            place = (mark.line + 1, mark.column + 1) if mark is not None else (0, 0)
            self._errors.append((place, f"{self.source}: {where}yaml: {problem}"))
            return None

    def mapping(
        self,
        node: yaml.Node | None,
        path: str,
        keys: frozenset[str] | None,
        refused: Callable[[str], str | None] = lambda _: None,
    ) -> dict[str, yaml.Node]:
        """A mapping's value nodes by key (none when absent or null). Repeated and unknown
        keys are errors (``keys`` None: any key is known); ``refused(key)`` is the reason a
        key we recognise but do not support is refused, unless its value is empty. Merge keys
        (``<<: *anchor``) are read as Go's yaml.v2 reads them."""
        if node is None or is_null(node):
            return {}
        if not isinstance(node, yaml.MappingNode):
            self.error(node, path, f"expected a mapping, got {kind(node)}")
            return {}
        out: dict[str, yaml.Node] = {}
        merged: dict[str, yaml.Node] = {}
        for key_node, value_node in node.value:
            if key_node.tag == _MERGE_TAG:
                sources = (
                    value_node.value if isinstance(value_node, yaml.SequenceNode) else [value_node]
                )
                for source in sources:
                    for name, value in self.mapping(source, path, None).items():
                        merged.setdefault(name, value)
                continue
            key = key_node.value if isinstance(key_node, yaml.ScalarNode) else None
            where = join(path, str(key))
            if key is None:
                self.error(key_node, path, "mapping keys must be text")
            elif key in out:
                line = out[key].start_mark.line + 1
                self.error(key_node, where, f"repeated key (already set at line {line})")
            elif (reason := refused(key)) is not None:
                if not is_empty(value_node):
                    self.error(key_node, where, reason)
            elif keys is not None and key not in keys:
                self.error(
                    key_node, where, f"unknown key (expected one of {', '.join(sorted(keys))})"
                )
            else:
                out[key] = value_node
        for name, value in merged.items():
            if (keys is None or name in keys) and name not in out:
                out[name] = value
        return out

    def items(self, node: yaml.Node | None, path: str) -> list[tuple[str, yaml.Node]]:
        """A list's item nodes with their paths (none when absent or null)."""
        if node is None or is_null(node):
            return []
        if not isinstance(node, yaml.SequenceNode):
            self.error(node, path, f"expected a list, got {kind(node)}")
            return []
        return [(f"{path}[{i}]", item) for i, item in enumerate(node.value)]

    def text(self, node: yaml.Node | None, path: str) -> str:
        """A scalar's text as written (Go reads numbers and booleans into text too); "" when
        absent or null."""
        if node is None or is_null(node):
            return ""
        if not isinstance(node, yaml.ScalarNode):
            self.error(node, path, f"expected a text value, got {kind(node)}")
            return ""
        return str(node.value)

    def texts(self, node: yaml.Node | None, path: str) -> list[tuple[str, str, yaml.Node]]:
        """A list of texts: (path, text, node) for each item."""
        return [(p, self.text(item, p), item) for p, item in self.items(node, path)]

    def boolean(self, node: yaml.Node | None, path: str, default: bool) -> bool:
        """An unquoted ``true``/``false`` (or YAML 1.1's ``yes``, ``on``...); ``default`` when
        absent or null."""
        if node is None or is_null(node):
            return default
        if not isinstance(node, yaml.ScalarNode) or node.tag != _BOOL_TAG:
            self.error(node, path, f"expected true or false (unquoted), got {kind(node)}")
            return default
        return str(node.value).lower() in ("true", "yes", "on")

    def count(self, node: yaml.Node | None, path: str) -> int:
        """A whole number, 0 or more (0 when absent)."""
        text = self.text(node, path)
        if not text:
            return 0
        if not (text.isascii() and text.isdigit()):
            self.error(node, path, f"expected a whole number, 0 or more, got {quote(text)}")
            return 0
        return int(text)

    def duration(self, node: yaml.Node | None, path: str) -> float | None:
        """Seconds of a Prometheus duration (``30s``, ``1h30m``, ``0``); None when absent."""
        if node is None or is_null(node):
            return None
        text = self.text(node, path)
        if text == "0":
            return 0.0
        try:
            if text != text.strip():
                raise ValueError(text)
            return parse_duration(text)
        except ValueError:
            self.error(
                node, path, f"not a valid duration string: {quote(text)} (e.g. 30s, 5m, 1h30m)"
            )
            return None

    def parsed(self, node: yaml.Node, path: str, parse: Callable[[], T]) -> T | None:
        """``parse()``'s result, or None with its ValueError reported at ``node``."""
        try:
            return parse()
        except ValueError as err:
            self.error(node, path, str(err))
            return None

    def label_names(self, node: yaml.Node | None, path: str) -> list[str]:
        """A list of label names (invalid ones reported and left out)."""
        out = []
        for item_path, name, item in self.texts(node, path):
            if valid_label_name(name):
                out.append(name)
            else:
                self.error(item, item_path, f"{quote(name)} is not a valid label name")
        return out


def join(path: str, key: str) -> str:
    """``path.key`` (``key`` alone at the top level)."""
    return f"{path}.{key}" if path else key


def is_null(node: yaml.Node) -> bool:
    """Whether the node is YAML's null (``~``, ``null`` or nothing)."""
    return isinstance(node, yaml.ScalarNode) and node.tag == _NULL_TAG


def is_empty(node: yaml.Node) -> bool:
    """Null, or an empty list or mapping."""
    return is_null(node) or (
        isinstance(node, yaml.SequenceNode | yaml.MappingNode) and not node.value
    )


def kind(node: yaml.Node) -> str:
    """What the node is, for messages."""
    if isinstance(node, yaml.MappingNode):
        return "a mapping"
    if isinstance(node, yaml.SequenceNode):
        return "a list"
    return quote(str(node.value))


def quote(text: str) -> str:
    """``text`` quoted as Go's ``%q`` does for printable text."""
    return json.dumps(text, ensure_ascii=False)
