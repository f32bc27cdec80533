"""Our configuration parser beside the real ``amtool`` (Alertmanager 0.25): both accept and
refuse the same files, and route the same label sets to the same receivers in the same order.

Files here avoid our extensions (``apprise_configs``, a webhook's ``timeout``); the last test
lists what Alertmanager accepts and we refuse on purpose."""

from __future__ import annotations

import itertools
import json
import random
import shutil
import subprocess
from pathlib import Path

import pytest

from multimonx.model import Labels
from multimonx.notify import NotifyConfigError, load_notify_config

pytestmark = [
    pytest.mark.integration,
    pytest.mark.skipif(shutil.which("amtool") is None, reason="amtool is not installed"),
]

CONFIGS = Path(__file__).parent / "configs"
ROOT = "route:\n  receiver: a\n"
RECEIVER = "receivers:\n- name: a\n"
BASE = ROOT + RECEIVER
INTERVAL = BASE + "time_intervals:\n- name: t\n  time_intervals:\n  - "

VALID = {
    "minimal": BASE,
    "every key": """
global:
  resolve_timeout: 2m
route:
  receiver: team-x
  group_by: [alertname, cluster]
  group_wait: 10s
  group_interval: 1m
  repeat_interval: 1h30m
  routes:
    - matchers: ['severity="critical"', 'team=~"db|web"']
      receiver: pager
      continue: true
      group_by: ['...']
      group_wait: 0
      mute_time_intervals: [nights]
      active_time_intervals: [business-hours]
      routes:
        - match: {env: prod}
          match_re: {service: 'mysql|postgres'}
          group_interval: 2m
    - matchers: ['env!="prod"']
      group_by: []
receivers:
  - name: team-x
    webhook_configs:
      - url: https://hooks.example.com/alertmanager
        send_resolved: false
        max_alerts: 10
  - name: pager
inhibit_rules:
  - source_matchers: [severity="critical"]
    target_matchers: ['severity=~"warning|info"']
    equal: [alertname, cluster]
  - source_match: {alertname: NodeDown}
    source_match_re: {job: 'node.*'}
    target_match: {severity: warning}
    target_match_re: {instance: '.+'}
time_intervals:
  - name: business-hours
    time_intervals:
      - times: [{start_time: '09:00', end_time: '17:00'}]
        weekdays: ['monday:friday']
        days_of_month: ['1:-1']
        months: ['january:december']
        years: ['2020:2100']
        location: Europe/Berlin
mute_time_intervals:
  - name: nights
    time_intervals:
      - times: [{start_time: '22:00', end_time: '24:00'}, {start_time: '00:00', end_time: '06:00'}]
""",
    "routing tree fixture": (CONFIGS / "routing_tree.yml").read_text(),
    "brace matchers, several in one string": (
        "route:\n  receiver: a\n  routes:\n  - matchers: ['{a=\"b\", c!~\"d|e\",}', 'f=g']\n"
        "receivers:\n- name: a\n"
    ),
    "escapes in matcher values": (
        "route:\n  receiver: a\n  routes:\n  - matchers: ['q=\"say \\\"hi\\\"\\n\"', 'p=a\\b']\n"
        "receivers:\n- name: a\n"
    ),
    "empty matcher string": ROOT + "  matchers: ['']\n" + RECEIVER,
    "durations": (
        "route:\n  receiver: a\n  group_wait: 500ms\n  group_interval: 1h30m\n"
        "  repeat_interval: 1w2d\nreceivers:\n- name: a\n"
    ),
    "zero group_wait": ROOT + "  group_wait: 0s\n" + RECEIVER,
    "numbers as names": "route:\n  receiver: 1\nreceivers:\n- name: 1\n",
    "yes as a boolean": BASE + "  webhook_configs: [{url: 'http://x/', send_resolved: yes}]\n",
    "null sections": BASE + "inhibit_rules:\ntime_intervals:\nmute_time_intervals:\nglobal:\n",
    "empty inhibit rule": BASE + "inhibit_rules:\n- {}\n",
    "anchors and merge keys": (
        "route:\n  receiver: a\n  routes:\n  - &child\n    receiver: a\n    group_wait: 1m\n"
        "  - <<: *child\n    group_wait: 2m\nreceivers:\n- name: a\n"
    ),
    "weekday names in any case": INTERVAL + "weekdays: ['Monday:FRIDAY', sunday]\n",
    "negative days of month": INTERVAL + "days_of_month: ['-7:-1', '1:5', '20:-1', '+3']\n",
    "unquoted times": INTERVAL + "times: [{start_time: 09:00, end_time: 24:00}]\n",
    "month names and numbers": INTERVAL + "months: ['1:march', 'December', '5']\n",
    "empty interval list": BASE + "time_intervals:\n- name: t\n  time_intervals: []\n",
    "group_by every label": ROOT + "  group_by: ['...']\n" + RECEIVER,
    "uppercase URL scheme": BASE + "  webhook_configs: [{url: 'HTTPS://x/'}]\n",
}

INVALID = {
    "empty": "",
    "no route": "receivers:\n- name: a\n",
    "root without receiver": "route:\n  group_by: [a]\nreceivers:\n- name: a\n",
    "root with matchers": ROOT + "  matchers: [x=y]\n" + RECEIVER,
    "root with match": ROOT + "  match: {x: y}\n" + RECEIVER,
    "root with continue": ROOT + "  continue: true\n" + RECEIVER,
    "root with mute intervals": (
        ROOT
        + "  mute_time_intervals: [t]\n"
        + RECEIVER
        + "time_intervals:\n- name: t\n  time_intervals: []\n"
    ),
    "undefined receiver": ROOT + "  routes: [{receiver: b}]\n" + RECEIVER,
    "undefined time interval": (ROOT + "  routes: [{active_time_intervals: [t]}]\n" + RECEIVER),
    "repeated receiver": BASE + "- name: a\n",
    "receiver without name": BASE + "- webhook_configs: []\n",
    "bad duration": ROOT + "  group_wait: 30\n" + RECEIVER,
    "fractional duration": ROOT + "  group_wait: 1.5h\n" + RECEIVER,
    "zero group_interval": ROOT + "  group_interval: 0s\n" + RECEIVER,
    "zero repeat_interval": ROOT + "  repeat_interval: 0\n" + RECEIVER,
    "unknown key": ROOT + "  reciever: b\n" + RECEIVER,
    "repeated key": ROOT + "  receiver: a\n" + RECEIVER,
    "bad matcher": ROOT + "  routes: [{matchers: ['1a=b']}]\n" + RECEIVER,
    "unquoted comma in matcher": (ROOT + "  routes: [{matchers: ['a=b,c']}]\n" + RECEIVER),
    "bad regex": ROOT + "  routes: [{matchers: ['a=~(b']}]\n" + RECEIVER,
    "bad match_re": ROOT + "  routes: [{match_re: {a: '(b'}}]\n" + RECEIVER,
    "bad group_by label": ROOT + "  group_by: [a-b]\n" + RECEIVER,
    "group_by wildcard and labels": (ROOT + "  group_by: ['...', x]\n" + RECEIVER),
    "quoted boolean": ROOT + "  routes: [{continue: 'true'}]\n" + RECEIVER,
    "webhook ftp": BASE + "  webhook_configs: [{url: 'ftp://x/'}]\n",
    "webhook without url": BASE + "  webhook_configs: [{send_resolved: true}]\n",
    "webhook negative max_alerts": BASE
    + "  webhook_configs: [{url: 'http://x/', max_alerts: -1}]\n",
    "bad weekday": INTERVAL + "weekdays: [mon]\n",
    "bad time": INTERVAL + "times: [{start_time: '9:00', end_time: '17:00'}]\n",
    "end before start": INTERVAL + "times: [{start_time: '10:00', end_time: '10:00'}]\n",
    "bad time zone": INTERVAL + "location: Mars/Base\n",
    "bad days of month": INTERVAL + "days_of_month: ['-1:5']\n",
    "months reversed": INTERVAL + "months: ['march:january']\n",
    "unknown interval key": INTERVAL + "time_zone: UTC\n",
    "repeated interval name": (
        BASE + "mute_time_intervals:\n- name: t\ntime_intervals:\n- name: t\n"
    ),
    "interval without name": BASE + "time_intervals:\n- time_intervals: []\n",
    "inhibit bad equal": BASE + "inhibit_rules:\n- equal: [a-b]\n",
}

# Accepted by Alertmanager 0.25, refused by us on purpose (each with a message saying why).
DELIBERATE = {
    "slack integration": BASE + "  slack_configs: [{api_url: 'https://x/', channel: '#a'}]\n",
    "e-mail integration": BASE + "  email_configs: [{to: a@x, from: b@x, smarthost: 'x:25'}]\n",
    "templates": BASE + "templates: ['/etc/alertmanager/*.tmpl']\n",
    "global smtp": "global:\n  smtp_smarthost: 'x:25'\n" + BASE,
    "webhook http_config": BASE
    + "  webhook_configs: [{url: 'http://x/', http_config: {follow_redirects: true}}]\n",
    "month 13": INTERVAL + "months: ['13']\n",
    "negative year": INTERVAL + "years: ['-5']\n",
}


def amtool_accepts(path: Path) -> bool:
    result = subprocess.run(
        ["amtool", "check-config", str(path)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    return result.returncode == 0


def we_accept(path: Path) -> bool:
    try:
        load_notify_config(path)
    except NotifyConfigError:
        return False
    return True


@pytest.mark.parametrize(("name", "text"), [*VALID.items(), *INVALID.items()])
def test_we_accept_and_refuse_what_amtool_does(name: str, text: str, tmp_path: Path) -> None:
    path = tmp_path / "alertmanager.yml"
    path.write_text(text)
    expected = name in VALID
    assert amtool_accepts(path) is expected, f"amtool disagrees with the table on {name!r}"
    assert we_accept(path) is expected


@pytest.mark.parametrize(("name", "text"), DELIBERATE.items())
def test_what_we_refuse_on_purpose_alertmanager_accepts(
    name: str, text: str, tmp_path: Path
) -> None:
    path = tmp_path / "alertmanager.yml"
    path.write_text(text)
    assert amtool_accepts(path)
    with pytest.raises(NotifyConfigError) as caught:
        load_notify_config(path)
    (error,) = caught.value.errors
    assert "not supported" in error or "not a valid" in error


DIMENSIONS = {
    "severity": ["critical", "warning", "info", None],
    "team": ["db", "web", "frontend", "infra", "dev", None],
    "env": ["prod", "staging", "dev", None],
    "service": ["mysql", "mariadb", "postgres-14", "redis", None],
    "alertname": ["Watchdog", "HighLoad", None],
}


def label_sets() -> list[dict[str, str]]:
    """A fixed sample of the combinations of the dimensions (None: label absent)."""
    every = list(itertools.product(*DIMENSIONS.values()))
    sample = random.Random(2026).sample(every, 160)
    sets = [{n: v for n, v in zip(DIMENSIONS, one, strict=True) if v is not None} for one in sample]
    return [{}, *sets]


def amtool_receivers(config: Path, labels: dict[str, str], expected: list[str]) -> list[str]:
    result = subprocess.run(
        [
            "amtool",
            "config",
            "routes",
            "test",
            f"--config.file={config}",
            f"--verify.receivers={','.join(expected)}",
            *(f"{n}={v}" for n, v in labels.items()),
        ],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    receivers = result.stdout.splitlines()[0].split(",") if result.stdout.strip() else []
    if result.returncode != 0:
        receivers.append(f"<amtool --verify.receivers failed: {result.stderr.strip()}>")
    return receivers


@pytest.mark.parametrize("labels", label_sets(), ids=lambda labels: ",".join(labels.values()))
def test_labels_route_to_the_receivers_amtool_finds(labels: dict[str, str]) -> None:
    config_path = CONFIGS / "routing_tree.yml"
    config = load_notify_config(config_path)
    ours = [route.opts.receiver for route in config.route.match(Labels.of(labels))]
    assert amtool_receivers(config_path, labels, ours) == ours


VALUE_PIECES = [
    "a",
    "x|y",
    '"',
    "\\",
    ",",
    " ",
    "}",
    "{",
    '\\"',
    "\\n",
    "\\\\",
    "é",
    ".*",
    "(",
    "=",
]


def matcher_texts(count: int) -> list[str]:
    """Matcher list strings built from awkward pieces (quotes, escapes, commas, braces), a
    fixed sample: many valid, many not."""
    rng = random.Random(9)

    def one() -> str:
        name = rng.choice(["a", "b_c", ":x", " sev "])
        value = "".join(rng.choice(VALUE_PIECES) for _ in range(rng.randint(0, 4)))
        quoted = rng.random() < 0.5
        return name + rng.choice(["=", "!=", "=~", "!~"]) + (f'"{value}"' if quoted else value)

    texts = {",".join(one() for _ in range(rng.randint(1, 3))) for _ in range(count)}
    return sorted(f"{{{t}}}" if len(t) % 3 == 0 else t for t in texts)


def amtool_route_line(path: Path) -> str:
    """How ``amtool config routes`` prints the root's only child: its matchers."""
    result = subprocess.run(
        ["amtool", "config", "routes", f"--config.file={path}"],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    (line,) = [one for one in result.stdout.splitlines() if one.endswith("receiver: child")]
    return line.split("── ", 1)[1].removesuffix("  receiver: child")


@pytest.mark.parametrize("text", matcher_texts(120))
def test_matcher_strings_are_read_and_rendered_as_amtool_does(text: str, tmp_path: Path) -> None:
    path = tmp_path / "alertmanager.yml"
    path.write_text(
        ROOT
        + f"  routes:\n  - matchers: [{json.dumps(text)}]\n    receiver: child\n"
        + RECEIVER
        + "- name: child\n"
    )
    accepted = amtool_accepts(path)
    assert we_accept(path) is accepted
    if accepted:
        (child,) = load_notify_config(path).route.routes
        expected = amtool_route_line(path)
        if expected != "default-route":  # how amtool prints a route without matchers
            assert child.key == "{}/" + expected
