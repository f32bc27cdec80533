"""The routing tree read from a configuration's ``route`` node, checked as Alertmanager 0.25
checks it (``config.Route`` and ``dispatch.NewRoute``).

A child route inherits ``receiver``, ``group_by``, ``group_wait``, ``group_interval`` and
``repeat_interval`` from its parent when it does not set them (an empty ``group_by`` list counts
as not set, as in Alertmanager); matchers, ``continue`` and time intervals are never inherited.
The root takes every alert, so it needs a receiver and must not have matchers, ``continue`` or
time intervals.

Keys are Alertmanager's ``Route.Key()``: ``{}`` for the root, then the parent's key, ``/``
and the route's sorted matchers (``{}/{severity="critical"}``). Siblings with the same matchers
would share a key; the later ones get ``/<index>`` appended (as ``Route.ID()`` does), so every
route's key is distinct and an existing route keeps its key when a duplicate is added after it.
"""

from __future__ import annotations

from collections.abc import Mapping, Set
from dataclasses import dataclass
from functools import partial

import yaml

from multimonx.model import Matcher, valid_label_name
from multimonx.notify.matchers import (
    legacy_matchers,
    parse_matchers,
    render_matchers,
    sort_matchers,
)
from multimonx.notify.route import Route, RouteOpts
from multimonx.notify.yamlnodes import NodeReader, join, quote

_ROUTE_KEYS = frozenset(
    {
        "receiver",
        "group_by",
        "group_wait",
        "group_interval",
        "repeat_interval",
        "matchers",
        "match",
        "match_re",
        "continue",
        "routes",
        "mute_time_intervals",
        "active_time_intervals",
    }
)
_TIMERS = ("group_wait", "group_interval", "repeat_interval")


def read_route(
    reader: NodeReader, node: yaml.Node, receivers: Set[str], intervals: Set[str]
) -> Route | None:
    """The tree under the root route ``node``; None (with the problems in ``reader``) if any
    route is wrong. ``receivers`` and ``intervals`` are the names the routes may use."""
    before = len(reader.errors)
    root = _TreeReader(reader, receivers, intervals).route(node, "route", None, 0, set())
    return root if len(reader.errors) == before else None


def read_matchers(
    reader: NodeReader, fields: Mapping[str, yaml.Node], path: str, prefix: str = ""
) -> tuple[Matcher, ...]:
    """The matchers of ``<prefix>matchers``, ``<prefix>match`` and ``<prefix>match_re``
    together, in Alertmanager's order (by name, value, operator)."""
    found: list[Matcher] = []
    key = prefix + "matchers"
    for item_path, text, item in reader.texts(fields.get(key), join(path, key)):
        found += reader.parsed(item, item_path, partial(parse_matchers, text)) or ()
    for key in (prefix + "match", prefix + "match_re"):
        map_path = join(path, key)
        for name, value_node in reader.mapping(fields.get(key), map_path, None).items():
            pair = {name: reader.text(value_node, join(map_path, name))}
            maps = (None, pair) if key.endswith("_re") else (pair, None)
            found += (
                reader.parsed(value_node, join(map_path, name), partial(legacy_matchers, *maps))
                or ()
            )
    return sort_matchers(found)


@dataclass(frozen=True, slots=True)
class _Parent:
    opts: RouteOpts
    key: str


class _TreeReader:
    """Builds the tree top-down, where inherited options and parent keys are known."""

    def __init__(self, reader: NodeReader, receivers: Set[str], intervals: Set[str]) -> None:
        self.reader = reader
        self.receivers = receivers
        self.intervals = intervals

    def route(
        self, node: yaml.Node, path: str, parent: _Parent | None, index: int, taken: set[str]
    ) -> Route:
        reader = self.reader
        fields = reader.mapping(node, path, _ROUTE_KEYS)
        receiver = reader.text(fields.get("receiver"), join(path, "receiver"))
        if receiver and receiver not in self.receivers:
            message = f"undefined receiver {quote(receiver)} used in route"
            reader.error(fields["receiver"], join(path, "receiver"), message)
        matchers = read_matchers(reader, fields, path)
        continue_matching = reader.boolean(fields.get("continue"), join(path, "continue"), False)
        mute = self.interval_names(fields, path, "mute_time_intervals")
        active = self.interval_names(fields, path, "active_time_intervals")
        timers: dict[str, float | None] = {}
        for key in _TIMERS:
            timers[key] = reader.duration(fields.get(key), join(path, key))
            if timers[key] == 0 and key != "group_wait":
                reader.error(fields[key], join(path, key), f"{key} cannot be zero")
        if parent is None:
            self.check_root(node, fields, receiver, matchers, continue_matching=continue_matching)
            parent = _Parent(RouteOpts(receiver=""), "")
        inherited = parent.opts
        opts = RouteOpts(
            receiver=receiver or inherited.receiver,
            group_by=self.group_by(fields, path, inherited.group_by),
            group_wait=_or(timers["group_wait"], inherited.group_wait),
            group_interval=_or(timers["group_interval"], inherited.group_interval),
            repeat_interval=_or(timers["repeat_interval"], inherited.repeat_interval),
            mute_time_intervals=mute,
            active_time_intervals=active,
        )
        key = render_matchers(matchers)
        if parent.key:
            key = f"{parent.key}/{key}"
        if key in taken:
            key = f"{key}/{index}"
        taken.add(key)
        children_taken: set[str] = set()
        children = tuple(
            self.route(child, child_path, _Parent(opts, key), i, children_taken)
            for i, (child_path, child) in enumerate(
                reader.items(fields.get("routes"), join(path, "routes"))
            )
        )
        return Route(opts, matchers, continue_matching, children, key, index)

    def check_root(
        self,
        node: yaml.Node,
        fields: Mapping[str, yaml.Node],
        receiver: str,
        matchers: tuple[Matcher, ...],
        *,
        continue_matching: bool,
    ) -> None:
        """Alertmanager's rules for the root route, which takes every alert."""
        error = self.reader.error
        if not receiver:
            message = "root route must specify a default receiver"
            error(fields.get("receiver", node), "route.receiver", message)
        if matchers:
            key = next(k for k in ("matchers", "match", "match_re") if k in fields)
            error(fields[key], f"route.{key}", "root route must not have any matchers")
        if continue_matching:
            error(fields["continue"], "route.continue", "cannot have continue in root route")
        for key in ("mute_time_intervals", "active_time_intervals"):
            value = fields.get(key)
            if value is not None and isinstance(value, yaml.SequenceNode) and value.value:
                kind = key.removesuffix("_time_intervals")
                error(value, f"route.{key}", f"root route must not have any {kind} time intervals")

    def interval_names(
        self, fields: Mapping[str, yaml.Node], path: str, key: str
    ) -> tuple[str, ...]:
        names = []
        for item_path, name, item in self.reader.texts(fields.get(key), join(path, key)):
            if name not in self.intervals:
                message = f"undefined time interval {quote(name)} used in route"
                self.reader.error(item, item_path, message)
            names.append(name)
        return tuple(names)

    def group_by(
        self, fields: Mapping[str, yaml.Node], path: str, inherited: tuple[str, ...] | None
    ) -> tuple[str, ...] | None:
        """``group_by`` as written, None for ``['...']``; inherited when absent or empty."""
        key_path = join(path, "group_by")
        names: list[str] = []
        every = False
        for item_path, name, item in self.reader.texts(fields.get("group_by"), key_path):
            if name == "...":
                every = True
            elif not valid_label_name(name):
                message = f"invalid label name {quote(name)} in group_by list"
                self.reader.error(item, item_path, message)
            elif name in names:
                self.reader.error(item, item_path, f"duplicated label {quote(name)} in group_by")
            else:
                names.append(name)
        if every and names:
            message = "cannot have wildcard group_by (`...`) and other labels at the same time"
            self.reader.error(fields["group_by"], key_path, message)
        if names:
            return tuple(names)
        return None if every else inherited


def _or(value: float | None, inherited: float) -> float:
    return inherited if value is None else value
