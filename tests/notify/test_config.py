"""The notification configuration: every accepted key, the defaults, what child routes
inherit, route keys, and every refusal with its place and reason."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from multimonx.model import Labels, MatchType
from multimonx.notify import (
    AppriseConfig,
    NotifyConfigError,
    ReceiverConfig,
    WebhookConfig,
    load_notify_config,
    parse_notify_config,
)
from multimonx.notify.matchers import render_matchers
from multimonx.notify.route import Route

CONFIGS = Path(__file__).parent / "configs"
ROOT = "route:\n  receiver: a\n"
RECEIVER = "receivers:\n- name: a\n"
BASE = ROOT + RECEIVER


def at(text: str) -> float:
    """Seconds since the epoch of an ISO time in UTC."""
    return datetime.fromisoformat(text).replace(tzinfo=UTC).timestamp()


def test_every_accepted_key_is_read() -> None:
    config = load_notify_config(CONFIGS / "full.yml")
    assert config.resolve_timeout == 120.0
    assert list(config.receivers) == ["team-x", "pager"]
    assert config.receivers["team-x"] == ReceiverConfig(
        "team-x",
        webhook_configs=(
            WebhookConfig("https://hooks.example.com/alertmanager", False, 10, 3.0),
            WebhookConfig("http://127.0.0.1:9099/"),
        ),
    )
    pager = config.receivers["pager"]
    assert pager.apprise_configs == (
        AppriseConfig(
            "pagerduty://integration-key@routing-key",
            send_resolved=False,
            title="[{{ .Status | toUpper }}] {{ .CommonLabels.alertname }}",
            body="{{ range .Alerts }}{{ .Annotations.summary }} {{ end }}",
            timeout=15.0,
        ),
        AppriseConfig("slack://token-a/token-b/token-c/#alerts"),
    )

    root = config.route
    assert (root.opts.receiver, root.opts.group_by) == ("team-x", ("alertname", "cluster"))
    assert (root.opts.group_wait, root.opts.group_interval, root.opts.repeat_interval) == (
        10.0,
        60.0,
        5400.0,
    )
    critical, nonprod = root.routes
    assert critical.continue_matching
    assert not nonprod.continue_matching
    assert critical.opts.receiver == "pager"
    assert critical.opts.group_by is None
    assert critical.opts.group_wait == 0.0
    assert critical.opts.mute_time_intervals == ("nights",)
    assert critical.opts.active_time_intervals == ("business-hours",)
    assert [str(m) for m in critical.matchers] == ['severity="critical"', 'team=~"db|web"']
    (prod,) = critical.routes
    assert [str(m) for m in prod.matchers] == ['env="prod"', 'service=~"^(?:mysql|postgres)$"']
    assert nonprod.opts.group_by == ("alertname", "cluster")  # an empty list inherits

    legacy = config.inhibit_rules[1]
    assert [str(m) for m in config.inhibit_rules[0].source_matchers] == ['severity="critical"']
    assert [str(m) for m in config.inhibit_rules[0].target_matchers] == ['severity=~"warning|info"']
    assert config.inhibit_rules[0].equal == ("alertname", "cluster")
    assert [str(m) for m in legacy.source_matchers] == [
        'alertname="NodeDown"',
        'job=~"^(?:node.*)$"',
    ]
    assert [str(m) for m in legacy.target_matchers] == [
        'instance=~"^(?:.+)$"',
        'severity="warning"',
    ]
    assert legacy.equal == ()

    business, nights = config.time_intervals["business-hours"], config.time_intervals["nights"]
    assert business.contains(at("2026-12-07T08:30:00"))  # Monday 09:30 in Berlin
    assert not business.contains(at("2026-12-07T16:30:00"))  # 17:30 in Berlin
    assert business.specs[0].location_name == "Europe/Berlin"
    assert nights.contains(at("2026-12-07T23:00:00"))
    assert nights.contains(at("2026-12-07T05:59:00"))
    assert not nights.contains(at("2026-12-07T06:00:00"))
    assert set(config.time_intervals) == {"business-hours", "nights"}


def test_defaults() -> None:
    config = parse_notify_config(
        BASE
        + "  webhook_configs: [{url: 'http://x/'}]\n"
        + "  apprise_configs: [{url: 'json://localhost/'}]\n"
    )
    assert config.resolve_timeout == 300.0
    assert config.inhibit_rules == ()
    assert dict(config.time_intervals) == {}
    opts = config.route.opts
    assert (opts.group_wait, opts.group_interval, opts.repeat_interval) == (30.0, 300.0, 300.0)
    assert opts.group_by == ()
    assert (opts.mute_time_intervals, opts.active_time_intervals) == ((), ())
    assert config.route.routes == ()
    assert config.route.matchers == ()
    assert not config.route.continue_matching
    assert config.receivers["a"].webhook_configs == (WebhookConfig("http://x/", True, 0, 10.0),)
    assert config.receivers["a"].apprise_configs == (
        AppriseConfig("json://localhost/", True, None, None, 10.0),
    )


@pytest.mark.parametrize(
    ("parent", "child", "attribute", "expected"),
    [
        ("", "", "receiver", "a"),
        ("", "receiver: b", "receiver", "b"),
        ("group_by: [x]", "", "group_by", ("x",)),
        ("group_by: [x]", "group_by: [y, z]", "group_by", ("y", "z")),
        ("group_by: [x]", "group_by: []", "group_by", ("x",)),
        ("group_by: [x]", "group_by: ['...']", "group_by", None),
        ("group_by: ['...']", "", "group_by", None),
        ("group_by: ['...']", "group_by: [y]", "group_by", ("y",)),
        ("group_wait: 1m", "", "group_wait", 60.0),
        ("group_wait: 1m", "group_wait: 0s", "group_wait", 0.0),
        ("group_interval: 1m", "", "group_interval", 60.0),
        ("group_interval: 1m", "group_interval: 90s", "group_interval", 90.0),
        ("repeat_interval: 4h", "", "repeat_interval", 14400.0),
        ("repeat_interval: 4h", "repeat_interval: 1d", "repeat_interval", 86400.0),
    ],
)
def test_a_grandchild_inherits_what_it_does_not_set(
    parent: str, child: str, attribute: str, expected: object
) -> None:
    """The root's child sets ``parent``, its own child sets ``child``."""
    text = (
        "route:\n  receiver: a\n  routes:\n  - matchers: [m=1]\n"
        f"    {parent}\n    routes:\n    - matchers: [n=1]\n      {child}\n"
        "receivers:\n- name: a\n- name: b\n"
    )
    grandchild = parse_notify_config(text).route.routes[0].routes[0]
    assert getattr(grandchild.opts, attribute) == expected


def test_children_do_not_inherit_matchers_continue_or_intervals() -> None:
    config = parse_notify_config(
        "route:\n  receiver: a\n  routes:\n"
        "  - matchers: [x=1]\n    continue: true\n    mute_time_intervals: [t]\n"
        "    active_time_intervals: [t]\n    routes:\n    - receiver: a\n"
        "receivers:\n- name: a\n"
        "time_intervals:\n- name: t\n  time_intervals: []\n"
    )
    parent = config.route.routes[0]
    (child,) = parent.routes
    assert parent.continue_matching
    assert parent.opts.mute_time_intervals == ("t",)
    assert child.matchers == ()
    assert not child.continue_matching
    assert (child.opts.mute_time_intervals, child.opts.active_time_intervals) == ((), ())


def keys(route: Route) -> list[tuple[str, int]]:
    return [(r.key, r.index) for r in route.walk()]


def test_route_keys_are_alertmanagers_and_siblings_stay_distinct() -> None:
    config = parse_notify_config(
        "route:\n  receiver: a\n  routes:\n"
        "  - matchers: ['severity=\"critical\"']\n"
        "    routes:\n"
        "    - matchers: ['team=~\"db|web\"', 'env!=\"prod\"']\n"
        "    - match: {team: db}\n"
        "  - matchers: [severity=critical]\n"
        "  - matchers: ['severity = \"critical\"']\n"
        '    routes: [{matchers: [\'q="say \\"hi\\""\']}]\n'
        "  - {}\n"
        "receivers:\n- name: a\n"
    )
    assert keys(config.route) == [
        ("{}", 0),
        ('{}/{severity="critical"}', 0),
        ('{}/{severity="critical"}/{env!="prod",team=~"db|web"}', 0),
        ('{}/{severity="critical"}/{team="db"}', 1),
        ('{}/{severity="critical"}/1', 1),
        ('{}/{severity="critical"}/2', 2),
        ('{}/{severity="critical"}/2/{q="say \\"hi\\""}', 0),
        ("{}/{}", 3),
    ]
    assert len({r.key for r in config.route.walk()}) == 8


def test_matchers_of_all_three_kinds_combine_in_alertmanagers_order() -> None:
    config = parse_notify_config(
        "route:\n  receiver: a\n  routes:\n"
        "  - matchers: ['b=~\"x\", a!=y']\n    match: {c: z}\n    match_re: {a: w}\n"
        "receivers:\n- name: a\n"
    )
    route = config.route.routes[0]
    assert render_matchers(route.matchers) == '{a=~"^(?:w)$",a!="y",b=~"x",c="z"}'
    assert [m.type for m in route.matchers][:2] == [MatchType.REGEX, MatchType.NOT_EQUAL]


def test_routing_follows_continue_depth_first() -> None:
    config = load_notify_config(CONFIGS / "routing_tree.yml")

    def receivers(**labels: str) -> list[str]:
        return [r.opts.receiver for r in config.route.match(Labels.of(labels))]

    assert receivers() == ["fallback"]
    assert receivers(severity="critical") == ["pager"]  # continue, but nothing else matches
    assert receivers(severity="critical", team="dev") == ["pager", "non-prod"]
    assert receivers(alertname="Watchdog", team="db") == ["blackhole"]
    assert receivers(team="db", env="prod", service="mysql") == ["db-mysql", "db-team"]
    assert receivers(team="db", env="prod", service="postgres-14", severity="warning") == [
        "db-postgres"
    ]
    assert receivers(team="db", env="prod", service="redis", severity="warning") == ["db-warnings"]
    assert receivers(team="web", env="prod", severity="warning") == ["web-oncall", "web-tickets"]
    assert receivers(team="infra", env="prod") == ["infra", "infra-copy"]


@pytest.mark.parametrize(
    ("name", "text", "errors"),
    [
        ("empty file", "", ["route: no route provided in config"]),
        ("no route", "receivers:\n- name: a\n", ["1:1: route: no route provided in config"]),
        ("null route", "route:\nreceivers: []\n", ["1:1: route: no route provided in config"]),
        (
            "top-level list",
            "- a\n",
            [
                "1:1: <top level>: expected a mapping, got a list",
                "1:1: route: no route provided in config",
            ],
        ),
        (
            "yaml syntax",
            "route: {receiver: a\n",
            ["2:1: yaml: expected ',' or '}', but got '<stream end>'"],
        ),
        (
            "unknown top-level key",
            BASE + "routes: []\n",
            [
                "5:1: routes: unknown key (expected one of global, inhibit_rules, "
                "mute_time_intervals, receivers, route, time_intervals)"
            ],
        ),
        (
            "repeated key",
            ROOT + "  receiver: a\n" + RECEIVER,
            ["3:3: route.receiver: repeated key (already set at line 2)"],
        ),
        (
            "templates",
            BASE + "templates: ['/etc/am/*.tmpl']\n",
            [
                "5:1: templates: notification template files are not supported: write the message "
                "in apprise_configs' title and body (templates over the notification data)"
            ],
        ),
        (
            "global smtp",
            "global:\n  smtp_from: am@example.com\n" + BASE,
            [
                "2:3: global.smtp_from: not supported: e-mail goes through apprise_configs with a "
                "mailto:// URL, which carries the server, sender and credentials"
            ],
        ),
        (
            "global slack",
            "global:\n  slack_api_url: https://hooks.slack.com/x\n" + BASE,
            [
                "2:3: global.slack_api_url: not supported: put the Slack webhook in an "
                "apprise_configs slack:// URL"
            ],
        ),
        (
            "global http_config",
            "global:\n  http_config: {}\n  foo: 1\n" + BASE,
            ["3:3: global.foo: unknown key (expected one of resolve_timeout)"],
        ),
        (
            "global resolve_timeout",
            "global:\n  resolve_timeout: 5\n" + BASE,
            [
                '2:20: global.resolve_timeout: not a valid duration string: "5" (e.g. 30s, 5m, '
                "1h30m)"
            ],
        ),
        (
            "root without receiver",
            "route:\n  group_by: [a]\nreceivers:\n- name: a\n",
            ["2:3: route.receiver: root route must specify a default receiver"],
        ),
        (
            "root matchers",
            ROOT + "  matchers: [x=y]\n" + RECEIVER,
            ["3:13: route.matchers: root route must not have any matchers"],
        ),
        (
            "root match",
            ROOT + "  match: {x: y}\n" + RECEIVER,
            ["3:10: route.match: root route must not have any matchers"],
        ),
        (
            "root continue",
            ROOT + "  continue: true\n" + RECEIVER,
            ["3:13: route.continue: cannot have continue in root route"],
        ),
        (
            "root mute",
            ROOT
            + "  mute_time_intervals: [t]\n"
            + RECEIVER
            + "time_intervals:\n- name: t\n  time_intervals: []\n",
            ["3:24: route.mute_time_intervals: root route must not have any mute time intervals"],
        ),
        (
            "root active",
            ROOT
            + "  active_time_intervals: [t]\n"
            + RECEIVER
            + "time_intervals:\n- name: t\n  time_intervals: []\n",
            [
                "3:26: route.active_time_intervals: root route must not have any active time "
                "intervals"
            ],
        ),
        (
            "undefined receiver",
            "route:\n  receiver: b\nreceivers:\n- name: a\n",
            ['2:13: route.receiver: undefined receiver "b" used in route'],
        ),
        (
            "no receivers",
            "route:\n  receiver: a\n",
            ['2:13: route.receiver: undefined receiver "a" used in route'],
        ),
        (
            "undefined receiver deep",
            "route:\n  receiver: a\n  routes:\n  - routes:\n    - receiver: c\n"
            "receivers:\n- name: a\n",
            ['5:17: route.routes[0].routes[0].receiver: undefined receiver "c" used in route'],
        ),
        (
            "undefined interval",
            "route:\n  receiver: a\n  routes:\n  - mute_time_intervals: [t]\n"
            "    active_time_intervals: [u]\nreceivers:\n- name: a\n",
            [
                '4:27: route.routes[0].mute_time_intervals[0]: undefined time interval "t" '
                "used in route",
                '5:29: route.routes[0].active_time_intervals[0]: undefined time interval "u" '
                "used in route",
            ],
        ),
        (
            "bad duration",
            ROOT + "  group_wait: 1.5h\n" + RECEIVER,
            ['3:15: route.group_wait: not a valid duration string: "1.5h" (e.g. 30s, 5m, 1h30m)'],
        ),
        (
            "units out of order",
            ROOT + "  group_wait: 30m1h\n" + RECEIVER,
            ['3:15: route.group_wait: not a valid duration string: "30m1h" (e.g. 30s, 5m, 1h30m)'],
        ),
        (
            "zero interval",
            ROOT + "  group_interval: 0s\n" + RECEIVER,
            ["3:19: route.group_interval: group_interval cannot be zero"],
        ),
        (
            "zero repeat",
            ROOT + "  repeat_interval: 0\n" + RECEIVER,
            ["3:20: route.repeat_interval: repeat_interval cannot be zero"],
        ),
        (
            "quoted bool",
            ROOT + "  routes:\n  - continue: 'true'\n" + RECEIVER,
            ['4:15: route.routes[0].continue: expected true or false (unquoted), got "true"'],
        ),
        (
            "unknown route key",
            ROOT + "  routes:\n  - receivers: a\n" + RECEIVER,
            [
                "4:5: route.routes[0].receivers: unknown key (expected one of "
                "active_time_intervals, "
                "continue, group_by, group_interval, group_wait, match, match_re, matchers, "
                "mute_time_intervals, receiver, repeat_interval, routes)"
            ],
        ),
        (
            "bad matcher",
            ROOT + "  routes:\n  - matchers: [a=b, '1a=b']\n" + RECEIVER,
            [
                '4:21: route.routes[0].matchers[1]: bad matcher format: "1a=b" (expected <label '
                'name><op><value>, op one of =, !=, =~, !~, e.g. severity="critical")'
            ],
        ),
        (
            "matchers not a list",
            ROOT + "  routes:\n  - matchers: a=b\n" + RECEIVER,
            ['4:15: route.routes[0].matchers: expected a list, got "a=b"'],
        ),
        (
            "bad regex",
            ROOT + "  routes:\n  - matchers: ['a=~(b']\n" + RECEIVER,
            [
                '4:16: route.routes[0].matchers[0]: matcher "a=~(b": invalid regular expression '
                "'(b': missing ): (b"
            ],
        ),
        (
            "bad match name",
            ROOT + "  routes:\n  - match: {a-b: c}\n" + RECEIVER,
            ['4:18: route.routes[0].match.a-b: invalid label name "a-b"'],
        ),
        (
            "bad match_re",
            ROOT + "  routes:\n  - match_re: {a: '(b'}\n" + RECEIVER,
            [
                "4:19: route.routes[0].match_re.a: a: invalid regular expression '^(?:(b)$': "
                "missing ): ^(?:(b)$"
            ],
        ),
        (
            "group_by wildcard and labels",
            ROOT + "  group_by: ['...', x]\n" + RECEIVER,
            [
                "3:13: route.group_by: cannot have wildcard group_by (`...`) and other labels at "
                "the "
                "same time"
            ],
        ),
        (
            "group_by repeated",
            ROOT + "  group_by: [x, x]\n" + RECEIVER,
            ['3:17: route.group_by[1]: duplicated label "x" in group_by'],
        ),
        (
            "group_by bad name",
            ROOT + "  group_by: [a-b]\n" + RECEIVER,
            ['3:14: route.group_by[0]: invalid label name "a-b" in group_by list'],
        ),
        (
            "receiver without name",
            "route:\n  receiver: a\nreceivers:\n- name: a\n- webhook_configs: []\n",
            ["5:3: receivers[1].name: missing name in receiver"],
        ),
        (
            "receiver repeated",
            BASE + "- name: a\n",
            ['5:9: receivers[1].name: receiver name "a" is not unique'],
        ),
        (
            "slack",
            BASE + "  slack_configs: [{channel: '#x'}]\n",
            [
                "5:3: receivers[0].slack_configs: not supported: use apprise_configs with a "
                "slack:// URL"
            ],
        ),
        (
            "email",
            BASE + "  email_configs: [{to: x@example.com}]\n",
            [
                "5:3: receivers[0].email_configs: not supported: use apprise_configs with a "
                "mailto:// "
                "(or mailtos://) URL"
            ],
        ),
        (
            "pagerduty",
            BASE + "  pagerduty_configs: [{routing_key: k}]\n",
            [
                "5:3: receivers[0].pagerduty_configs: not supported: use apprise_configs with a "
                "pagerduty:// URL"
            ],
        ),
        (
            "discord",
            BASE + "  discord_configs: [{webhook_url: 'https://x/'}]\n",
            [
                "5:3: receivers[0].discord_configs: not supported: use apprise_configs with a "
                "discord:// URL"
            ],
        ),
        (
            "msteams",
            BASE + "  msteams_configs: [{webhook_url: 'https://x/'}]\n",
            [
                "5:3: receivers[0].msteams_configs: not supported: use apprise_configs with a "
                "workflows:// (Power Automate, for Microsoft Teams) URL"
            ],
        ),
        (
            "telegram",
            BASE + "  telegram_configs: [{chat_id: 1}]\n",
            [
                "5:3: receivers[0].telegram_configs: not supported: use apprise_configs with a "
                "tgram:// URL"
            ],
        ),
        (
            "unknown integration",
            BASE + "  carrier_pigeon_configs: []\n",
            [
                "5:3: receivers[0].carrier_pigeon_configs: unknown key (expected one of "
                "apprise_configs, name, webhook_configs)"
            ],
        ),
        (
            "webhook without url",
            BASE + "  webhook_configs: [{send_resolved: true}]\n",
            ["5:21: receivers[0].webhook_configs[0].url: missing URL in webhook config"],
        ),
        (
            "webhook ftp",
            BASE + "  webhook_configs: [{url: 'ftp://x/'}]\n",
            [
                '5:27: receivers[0].webhook_configs[0].url: unsupported scheme "ftp" for URL (use '
                "http or https)"
            ],
        ),
        (
            "webhook no host",
            BASE + "  webhook_configs: [{url: 'http:///x'}]\n",
            ["5:27: receivers[0].webhook_configs[0].url: missing host for URL"],
        ),
        (
            "webhook blank",
            BASE + "  webhook_configs: [{url: 'http://a b/'}]\n",
            [
                '5:27: receivers[0].webhook_configs[0].url: invalid URL "http://a b/": it contains '
                "blanks or control characters"
            ],
        ),
        (
            "webhook bad port",
            BASE + "  webhook_configs: [{url: 'http://a:99999/'}]\n",
            [
                '5:27: receivers[0].webhook_configs[0].url: invalid URL "http://a:99999/": Port '
                "out "
                "of range 0-65535"
            ],
        ),
        (
            "webhook max_alerts",
            BASE + "  webhook_configs: [{url: 'http://x/', max_alerts: -1}]\n",
            [
                "5:52: receivers[0].webhook_configs[0].max_alerts: expected a whole number, 0 or "
                'more, got "-1"'
            ],
        ),
        (
            "webhook timeout zero",
            BASE + "  webhook_configs: [{url: 'http://x/', timeout: 0s}]\n",
            ["5:49: receivers[0].webhook_configs[0].timeout: timeout must be more than zero"],
        ),
        (
            "webhook http_config",
            BASE + "  webhook_configs: [{url: 'http://x/', http_config: {a: 1}}]\n",
            [
                "5:40: receivers[0].webhook_configs[0].http_config: not supported: put credentials "
                "in "
                "the URL (https://user:pass@host/...)"
            ],
        ),
        (
            "apprise without url",
            BASE + "  apprise_configs: [{title: x}]\n",
            ["5:21: receivers[0].apprise_configs[0].url: missing URL in apprise config"],
        ),
        (
            "apprise not a url",
            BASE + "  apprise_configs: [{url: slack}]\n",
            [
                '5:27: receivers[0].apprise_configs[0].url: "slack" is not an apprise URL '
                "(expected "
                "scheme://..., e.g. slack://...)"
            ],
        ),
        (
            "apprise bad template",
            BASE + "  apprise_configs: [{url: 'json://x', body: '{{ .X'}]\n",
            [
                "5:45: receivers[0].apprise_configs[0].body: invalid template: template: "
                "apprise.body:1: "
                "unclosed action"
            ],
        ),
        (
            "inhibit unknown key",
            BASE + "inhibit_rules:\n- name: x\n",
            [
                "6:3: inhibit_rules[0].name: unknown key (expected one of equal, source_match, "
                "source_match_re, source_matchers, target_match, target_match_re, target_matchers)"
            ],
        ),
        (
            "inhibit bad equal",
            BASE + "inhibit_rules:\n- equal: [a-b]\n",
            ['6:11: inhibit_rules[0].equal[0]: "a-b" is not a valid label name'],
        ),
        (
            "inhibit bad matcher",
            BASE + "inhibit_rules:\n- target_matchers: ['a=\"b']\n",
            [
                "6:21: inhibit_rules[0].target_matchers[0]: matcher value contains unescaped "
                "double "
                'quote: "b'
            ],
        ),
        (
            "inhibit bad source_match",
            BASE + "inhibit_rules:\n- source_match: {1a: x}\n",
            ['6:22: inhibit_rules[0].source_match.1a: invalid label name "1a"'],
        ),
        (
            "receiver not a mapping",
            BASE + "- b\n",
            ['5:3: receivers[1]: expected a mapping, got "b"'],
        ),
        (
            "interval not a mapping",
            BASE + "time_intervals: [t]\n",
            ['5:18: time_intervals[0]: expected a mapping, got "t"'],
        ),
        (
            "interval without name",
            BASE + "time_intervals:\n- time_intervals: []\n",
            ["6:3: time_intervals[0].name: missing name in time interval"],
        ),
        (
            "interval repeated",
            BASE + "mute_time_intervals:\n- name: t\ntime_intervals:\n- name: t\n",
            ['8:9: time_intervals[0].name: time interval "t" is not unique'],
        ),
        (
            "interval unknown key",
            BASE + "time_intervals:\n- name: t\n  time_intervals: [{weekday: [monday]}]\n",
            [
                "7:21: time_intervals[0].time_intervals[0].weekday: unknown key (expected one of "
                "days_of_month, location, months, times, weekdays, years)"
            ],
        ),
        (
            "interval time_zone",
            BASE + "time_intervals:\n- name: t\n  time_intervals: [{time_zone: UTC}]\n",
            [
                "7:21: time_intervals[0].time_intervals[0].time_zone: unknown key (expected one of "
                "days_of_month, location, months, times, weekdays, years)"
            ],
        ),
        (
            "interval bad weekday",
            BASE + "time_intervals:\n- name: t\n  time_intervals: [{weekdays: [mon]}]\n",
            [
                "7:32: time_intervals[0].time_intervals[0].weekdays[0]: mon is not a valid weekday "
                "(sunday, monday... saturday)"
            ],
        ),
        (
            "interval bad time",
            BASE
            + "time_intervals:\n- name: t\n  time_intervals:\n  - times: [{start_time: '9:00', "
            "end_time: '10:00'}]\n",
            [
                "8:13: time_intervals[0].time_intervals[0].times[0]: couldn't parse timestamp "
                "9:00, "
                "invalid format (want HH:MM)"
            ],
        ),
        (
            "interval missing end",
            BASE
            + "time_intervals:\n- name: t\n  time_intervals:\n  - times: [{start_time: '09:00'}]\n",
            [
                "8:13: time_intervals[0].time_intervals[0].times[0]: both start and end times must "
                "be "
                "provided"
            ],
        ),
        (
            "interval bad zone",
            BASE + "time_intervals:\n- name: t\n  time_intervals: [{location: Mars/Base}]\n",
            ["7:31: time_intervals[0].time_intervals[0].location: unknown time zone Mars/Base"],
        ),
        (
            "interval bad days",
            BASE + "time_intervals:\n- name: t\n  time_intervals: [{days_of_month: ['-1:5']}]\n",
            [
                "7:37: time_intervals[0].time_intervals[0].days_of_month[0]: end day must be "
                "negative "
                "if start day is negative: -1:5"
            ],
        ),
        (
            "interval month 13",
            BASE + "time_intervals:\n- name: t\n  time_intervals: [{months: ['13']}]\n",
            [
                "7:30: time_intervals[0].time_intervals[0].months[0]: 13 is not a valid month: out "
                "of "
                "range 1..12"
            ],
        ),
        (
            "interval years reversed",
            BASE + "time_intervals:\n- name: t\n  time_intervals: [{years: ['2020:2019']}]\n",
            [
                "7:29: time_intervals[0].time_intervals[0].years[0]: end year 2019 is before start "
                "year 2020"
            ],
        ),
    ],
)
def test_a_bad_config_is_refused_with_place_and_reason(
    name: str, text: str, errors: list[str]
) -> None:
    with pytest.raises(NotifyConfigError) as caught:
        parse_notify_config(text, "am.yml")
    assert caught.value.errors == [f"am.yml: {e}" for e in errors], name


@pytest.mark.parametrize(
    ("name", "text"),
    [
        ("empty integration lists", BASE + "  slack_configs: []\n  email_configs:\n"),
        ("empty templates", BASE + "templates: []\n"),
        ("group_wait zero", ROOT + "  group_wait: 0\n" + RECEIVER),
        ("numbers as names", "route:\n  receiver: 1\nreceivers:\n- name: 1\n"),
        (
            "yes as a boolean",
            BASE + "  webhook_configs: [{url: 'http://x/', send_resolved: yes}]\n",
        ),
        (
            "empty matcher string",
            ROOT + "  matchers: ['']\n" + RECEIVER,
        ),
        (
            "null sections",
            BASE + "inhibit_rules:\ntime_intervals:\nmute_time_intervals:\nglobal:\n",
        ),
        ("uppercase scheme", BASE + "  webhook_configs: [{url: 'HTTPS://x/'}]\n"),
        (
            "unquoted time",
            BASE + "time_intervals:\n- name: t\n  time_intervals: [{times: [{start_time: 09:00, "
            "end_time: 10:00}]}]\n",
        ),
    ],
)
def test_what_alertmanager_accepts_we_accept(name: str, text: str) -> None:
    parse_notify_config(text, name)


def test_every_problem_is_reported_at_once_in_file_order() -> None:
    text = (
        "route:\n  receiver: nope\n  group_wait: 5\n"
        "receivers:\n- name: a\n  webhook_configs: [{url: 'ftp://x/'}]\n"
        "inhibit_rules:\n- equal: [a-b]\n"
    )
    with pytest.raises(NotifyConfigError) as caught:
        parse_notify_config(text, "am.yml")
    assert [e.split(": ")[1] for e in caught.value.errors] == ["2:13", "3:15", "6:27", "8:11"]
    assert str(caught.value) == "\n".join(caught.value.errors)


def test_yaml_merge_keys_are_read() -> None:
    config = parse_notify_config(
        "route:\n  receiver: a\n  routes:\n  - &child\n    receiver: b\n    group_wait: 1m\n"
        "  - <<: *child\n    group_wait: 2m\n"
        "receivers:\n- name: a\n- name: b\n"
    )
    first, second = config.route.routes
    assert (first.opts.receiver, first.opts.group_wait) == ("b", 60.0)
    assert (second.opts.receiver, second.opts.group_wait) == ("b", 120.0)


def test_an_unreadable_file_is_reported(tmp_path: Path) -> None:
    missing = tmp_path / "missing.yml"
    with pytest.raises(NotifyConfigError) as caught:
        load_notify_config(missing)
    (error,) = caught.value.errors
    assert error.startswith(f"{missing}: ")
    assert "No such file" in error


def test_errors_name_the_file(tmp_path: Path) -> None:
    path = tmp_path / "am.yml"
    path.write_text("route:\n  receiver: b\nreceivers:\n- name: a\n")
    with pytest.raises(NotifyConfigError) as caught:
        load_notify_config(path)
    assert caught.value.errors == [
        f'{path}: 2:13: route.receiver: undefined receiver "b" used in route'
    ]


def test_the_parsed_config_is_read_only() -> None:
    config = parse_notify_config(BASE)
    with pytest.raises(TypeError):
        config.receivers["b"] = ReceiverConfig("b")  # type: ignore[index]
