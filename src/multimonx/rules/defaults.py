"""The default rule pack shipped with the server (``default_rules.yml``: CPU, memory, disk,
disk filling, iowait and packet loss alerts over node_exporter's metrics), and turning rules
off by name."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Sequence
from importlib import resources

from multimonx.rules.rulefile import RuleGroup, parse_rule_groups, rule_name

DEFAULT_PACK = "default_rules.yml"


def default_pack() -> list[RuleGroup]:
    """The default pack's groups (its file is named ``<package>/default_rules.yml``)."""
    text = resources.files("multimonx.rules").joinpath(DEFAULT_PACK).read_text(encoding="utf-8")
    return parse_rule_groups(text, f"<builtin>/{DEFAULT_PACK}")


def without(groups: Sequence[RuleGroup], names: Iterable[str]) -> list[RuleGroup]:
    """``groups`` without the rules named ``names``; ValueError names any that no rule has."""
    off = set(names)
    unknown = off - {rule_name(rule) for group in groups for rule in group.rules}
    if unknown:
        raise ValueError(f"no rule is named {', '.join(sorted(unknown))}")
    return [
        dataclasses.replace(
            group, rules=tuple(rule for rule in group.rules if rule_name(rule) not in off)
        )
        for group in groups
    ]
