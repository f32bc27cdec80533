"""Routes for rules that name their channels (rules created through the REST API with
``channels``): each such rule's alerts go to exactly those receivers, ahead of the
configured route tree.

A rule's alerts carry ``rule_id="<id>"``. For a rule with channels ``[a, b]`` the tree gets,
before the root's own children, one route per channel matching that label: the route to
``a`` with ``continue`` so the alert also reaches ``b``, the last without it so the alert
does not go on to the configured routes. Grouping and timing are the root's.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

from multimonx.model import Matcher, MatchType
from multimonx.notify.config import NotifyConfig
from multimonx.notify.matchers import render_matchers
from multimonx.notify.route import Route

RULE_ID_LABEL = "rule_id"


class UnknownChannelError(ValueError):
    """A rule names a channel that is not a receiver of the configuration."""


def with_channel_routes(
    config: NotifyConfig, channels: Sequence[tuple[str, Sequence[str]]]
) -> NotifyConfig:
    """``config`` with the routes of ``(rule_id, channels)`` pairs in front of the root's
    children (pairs without channels add nothing). Raises UnknownChannelError."""
    root = config.route
    added: list[Route] = []
    for rule_id, names in channels:
        for position, name in enumerate(names):
            if name not in config.receivers:
                raise UnknownChannelError(f"rule {rule_id}: no receiver named {name!r}")
            matchers = (Matcher.of(RULE_ID_LABEL, MatchType.EQUAL, rule_id),)
            added.append(
                Route(
                    opts=dataclasses.replace(
                        root.opts,
                        receiver=name,
                        mute_time_intervals=(),
                        active_time_intervals=(),
                    ),
                    matchers=matchers,
                    continue_matching=position < len(names) - 1,
                    # the channel in the key keeps each receiver's groups apart
                    key=f"{root.key}/{render_matchers(matchers)}/channel={name}",
                    index=len(added),
                )
            )
    if not added:
        return config
    children = tuple(
        dataclasses.replace(child, index=child.index + len(added)) for child in root.routes
    )
    return dataclasses.replace(config, route=dataclasses.replace(root, routes=(*added, *children)))
