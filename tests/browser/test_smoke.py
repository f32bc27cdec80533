"""The built dashboard loads in a real browser from a real server: index.html, its script and
stylesheet, with no console error, no page error and no blocked resource, and the app's root
element is there and filled in by the script."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

from tests.browser.conftest import Dashboard

if TYPE_CHECKING:  # imported only for types: without playwright the tests skip, not error
    from playwright.sync_api import Page

pytestmark = [pytest.mark.browser, pytest.mark.integration]


def test_the_dashboard_loads_without_errors(dashboard: Dashboard, page: Page) -> None:
    failed: list[str] = []
    page.on("requestfailed", lambda request: failed.append(request.url))
    response = page.goto(dashboard.url("/"), wait_until="load")
    assert response is not None
    assert response.status == 200
    assert "default-src 'self'" in response.headers["content-security-policy"]
    root = page.locator("#app")
    root.wait_for(state="attached")
    page.wait_for_function("document.getElementById('app').childElementCount > 0")
    assert page.title()
    assert failed == []


@pytest.mark.parametrize("path", ["/alerts", "/explore", "/agents", "/hosts/hist-1"])
def test_every_dashboard_path_loads_the_app(dashboard: Dashboard, page: Page, path: str) -> None:
    response = page.goto(dashboard.url(path), wait_until="load")
    assert response is not None
    assert response.status == 200
    page.wait_for_function("document.getElementById('app').childElementCount > 0")


def test_the_harness_server_holds_the_test_fleet(dashboard: Dashboard) -> None:
    from tests.browser.conftest import AGENT_HOST, DOWN_HOST, HISTORY_HOSTS

    hosts = {h["instance"]: h for h in dashboard.api("/api/v1/overview?range=24h")["data"]["hosts"]}
    assert set(hosts) == {AGENT_HOST, DOWN_HOST, *HISTORY_HOSTS}
    assert hosts[DOWN_HOST]["status"] == "down"
    for name in HISTORY_HOSTS:
        assert hosts[name]["status"] == "up", name
    for name in HISTORY_HOSTS:
        assert hosts[name]["current"]["cpu"] is not None, name
        assert sum(v is not None for v in hosts[name]["spark"]["cpu"]) >= 28, name
    alerts = dashboard.wait_for_alerts()
    hostile = next(a for a in alerts if a["labels"]["alertname"] == "HostileLabel")
    assert hostile["labels"]["evil"] == "<script>alert(1)</script>"


def test_injected_markup_is_caught_by_the_policy_and_the_harness(
    dashboard: Dashboard, page: Page, browser_errors: list[str]
) -> None:
    """What a page test catches if a page ever puts a label into HTML: the policy refuses
    the inline handler, and the refusal is a recorded console error (so the test fails)."""
    page.goto(dashboard.url("/"), wait_until="load")
    page.evaluate(
        "() => { document.getElementById('app').innerHTML ="
        ' \'<img src="data:," onerror="alert(1)">\'; }'
    )
    polls = 600  # 30 s: the console message arrives asynchronously
    while not any("Content Security Policy" in e for e in browser_errors) and polls:
        page.wait_for_timeout(50)
        polls -= 1
    assert any("Content Security Policy" in e for e in browser_errors), browser_errors
    assert not any("dialog" in e for e in browser_errors)
    browser_errors.clear()
