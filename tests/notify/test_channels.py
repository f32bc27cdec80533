"""Rules with channels reach exactly those receivers, before the configured tree."""

from __future__ import annotations

import textwrap

import pytest

from multimonx.model import Labels
from multimonx.notify.channels import UnknownChannelError, with_channel_routes
from multimonx.notify.config import parse_notify_config

CONFIG = textwrap.dedent(
    """
    route:
      receiver: default
      group_by: [alertname]
      group_wait: 10s
      routes:
        - matchers: ['severity="critical"']
          receiver: pager
    receivers:
      - name: default
      - name: pager
      - name: slack
      - name: email
    """
)


def _receivers(labels: Labels, channels: list[tuple[str, list[str]]]) -> list[str]:
    config = with_channel_routes(parse_notify_config(CONFIG), channels)
    return [route.opts.receiver for route in config.route.match(labels)]


@pytest.mark.parametrize(
    ("labels", "receivers"),
    [
        (Labels.of(rule_id="r1", severity="critical"), ["slack", "email"]),
        (Labels.of(rule_id="r2", severity="critical"), ["pager"]),  # no channels: the tree
        (Labels.of(rule_id="r3"), ["pager"]),
        (Labels.of(severity="critical"), ["pager"]),
        (Labels.of(alertname="x"), ["default"]),
    ],
)
def test_channels_route_before_the_tree(labels: Labels, receivers: list[str]) -> None:
    assert _receivers(labels, [("r1", ["slack", "email"]), ("r2", []), ("r3", ["pager"])]) == (
        receivers
    )


def test_channel_routes_take_the_roots_grouping_and_have_distinct_keys() -> None:
    config = with_channel_routes(parse_notify_config(CONFIG), [("r1", ["slack", "email"])])
    slack, email, pager = config.route.routes
    assert slack.opts.group_by == ("alertname",)
    assert slack.opts.group_wait == 10.0
    assert len({slack.key, email.key, pager.key}) == 3
    assert [r.index for r in config.route.routes] == [0, 1, 2]


def test_an_unknown_channel_is_an_error() -> None:
    with pytest.raises(UnknownChannelError, match="rule r1: no receiver named 'teams'"):
        with_channel_routes(parse_notify_config(CONFIG), [("r1", ["teams"])])


def test_no_channels_leave_the_config_as_it_is() -> None:
    config = parse_notify_config(CONFIG)
    assert with_channel_routes(config, [("r1", [])]) is config
