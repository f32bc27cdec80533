"""Every receiver gets its integrations, webhooks first; apprise is not imported until an
apprise URL is built."""

from __future__ import annotations

import subprocess
import sys

import pytest

from multimonx.notify.config import AppriseConfig, NotifyConfig, ReceiverConfig, WebhookConfig
from multimonx.notify.receivers import integrations_for
from multimonx.notify.route import Route, RouteOpts


def config(*receivers: ReceiverConfig) -> NotifyConfig:
    return NotifyConfig(
        route=Route(RouteOpts(receiver=receivers[0].name)),
        receivers={r.name: r for r in receivers},
    )


def test_integrations_are_built_per_receiver_webhooks_first() -> None:
    built = integrations_for(
        config(
            ReceiverConfig(
                "ops",
                webhook_configs=(
                    WebhookConfig("http://127.0.0.1:9/a"),
                    WebhookConfig("http://127.0.0.1:9/b", send_resolved=False),
                ),
                apprise_configs=(AppriseConfig("json://127.0.0.1:9/"),),
            ),
            ReceiverConfig("blackhole"),
            ReceiverConfig("mail", apprise_configs=(AppriseConfig("json://127.0.0.1:9/m"),)),
        )
    )
    assert {name: [i.name for i in items] for name, items in built.items()} == {
        "ops": ["webhook[0]", "webhook[1]", "apprise[0]"],
        "blackhole": [],
        "mail": ["apprise[0]"],
    }
    assert [i.send_resolved for i in built["ops"]] == [True, False, True]


def test_an_unusable_apprise_url_names_the_receiver() -> None:
    bad = ReceiverConfig("pager", apprise_configs=(AppriseConfig("nosuch://tok"),))
    with pytest.raises(ValueError, match=r"receiver 'pager' apprise\[0\]: .*nosuch://"):
        integrations_for(config(bad))


def test_importing_the_integrations_does_not_import_apprise() -> None:
    code = (
        "import sys, multimonx.notify.receivers, multimonx.notify.forward;"
        "assert 'apprise' not in sys.modules, 'apprise imported'"
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=60)
