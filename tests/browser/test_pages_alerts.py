"""The Alerts and Agents pages in headless Chromium against the harness's server
(tests/browser/conftest.py): the firing ``HostileLabel`` alert with its ``<script>`` label shown
as text, silences created from an alert (accepted and refused) and expired from the list,
threshold rules created with the form (accepted and refused), and the agents' table.

Tests that create a silence or a rule undo it at their end (the server is shared); tests that
make the server answer 4xx on purpose check the browser's record of it and clear it."""

from __future__ import annotations

import secrets
import time
import urllib.parse
from typing import TYPE_CHECKING, Any

import pytest

from tests.browser.conftest import AGENT_HOST, HOSTILE, Dashboard
from tests.integration.conftest import wait_for

if TYPE_CHECKING:
    from playwright.sync_api import Locator, Page

# Skipped where Playwright is not installed (the harness skips the tests then anyway).
expect = pytest.importorskip("playwright.sync_api").expect

FIRING = "HostileLabel"
"""The harness's rule that fires from the start, its alert carrying ``evil`` = HOSTILE."""

DEADLINE_SECONDS = 30.0
"""How long a condition may take on a loaded machine (rule evaluation, notifier state)."""

TIMEOUT_MS = DEADLINE_SECONDS * 1000


def _json(page: Page, url: str) -> Any:
    response = page.request.get(url)
    assert response.ok, f"GET {url}: {response.status} {response.text()}"
    return response.json()


def _notifier_alert(dashboard: Dashboard, alertname: str) -> dict[str, Any] | None:
    alerts: list[dict[str, Any]] = dashboard.api("/api/v2/alerts")
    return next((a for a in alerts if a["labels"].get("alertname") == alertname), None)


def _alert_card(page: Page, alertname: str) -> Locator:
    return page.locator(f'article[data-alertname="{alertname}"]').first


def _open_tab(page: Page, dashboard: Dashboard, tab: str) -> None:
    page.goto(dashboard.url("/alerts"))
    page.get_by_role("tab", name=tab).click()


def _create_silence(page: Page, dashboard: Dashboard, alertname: str, comment: str) -> str:
    now = time.time()
    body = {
        "matchers": [{"name": "alertname", "value": alertname, "isRegex": False, "isEqual": True}],
        "startsAt": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(now)),
        "endsAt": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(now + 3600)),
        "createdBy": "browser-test",
        "comment": comment,
    }
    response = page.request.post(dashboard.url("/api/v2/silences"), data=body)
    assert response.ok, response.text()
    return str(response.json()["silenceID"])


def _expire_silences(page: Page, dashboard: Dashboard, comment: str) -> None:
    for silence in _json(page, dashboard.url("/api/v2/silences")):
        if silence["comment"] == comment and silence["status"]["state"] != "expired":
            page.request.delete(dashboard.url(f"/api/v2/silence/{silence['id']}"))


def _delete_api_rule(page: Page, dashboard: Dashboard, name: str) -> None:
    for rule in _json(page, dashboard.url("/api/v1/alerts/rules"))["data"]:
        if rule["name"] == name:
            page.request.delete(dashboard.url(f"/api/v1/alerts/rules/{rule['id']}"))


def _take_refusals(browser_errors: list[str], status: int) -> None:
    """Check that every error the browser recorded is the server's ``status`` answer to a
    request the test provoked on purpose, and clear them."""
    unexpected = [e for e in browser_errors if f"status of {status}" not in e]
    assert unexpected == [], unexpected
    browser_errors.clear()


def test_the_firing_alert_shows_its_script_label_as_text(
    page: Page, dashboard: Dashboard, browser_errors: list[str]
) -> None:
    dashboard.wait_for_alerts()
    page.goto(dashboard.url("/alerts"))

    card = _alert_card(page, FIRING)
    expect(card).to_be_visible(timeout=TIMEOUT_MS)
    expect(card).to_contain_text(HOSTILE)
    expect(card).to_contain_text("firing")
    assert card.locator("script").count() == 0
    assert browser_errors == []  # includes any dialog an injected script would open


def test_a_silence_created_on_the_page_suppresses_the_alert(
    page: Page, dashboard: Dashboard, browser_errors: list[str]
) -> None:
    comment = f"browser test {secrets.token_hex(4)}"
    wait_for("the notifier holds the firing alert", lambda: _notifier_alert(dashboard, FIRING))
    page.goto(dashboard.url("/alerts"))
    card = _alert_card(page, FIRING)
    card.get_by_role("button", name="Silence…").click(timeout=TIMEOUT_MS)
    form = card.locator("form")
    expect(form.locator('input[name="matcher-value"]').first).to_have_value(FIRING)
    form.locator('input[name="createdBy"]').fill("browser-test")
    form.locator('input[name="comment"]').fill(comment)
    form.get_by_role("button", name="Create silence").click()
    try:
        expect(page.locator(".mx-al-notice")).to_contain_text("created", timeout=TIMEOUT_MS)

        def suppressed() -> bool:
            alert = _notifier_alert(dashboard, FIRING)
            return alert is not None and alert["status"]["state"] == "suppressed"

        wait_for("/api/v2/alerts reports the alert suppressed", suppressed, DEADLINE_SECONDS)
        page.reload()
        badge = _alert_card(page, FIRING).locator(".mx-al-silenced")
        expect(badge).to_have_text("silenced", timeout=TIMEOUT_MS)
        assert browser_errors == []
    finally:
        _expire_silences(page, dashboard, comment)


def test_a_silence_the_server_refuses_shows_its_message(
    page: Page, dashboard: Dashboard, browser_errors: list[str]
) -> None:
    comment = f"refused {secrets.token_hex(4)}"
    page.goto(dashboard.url("/alerts"))
    card = _alert_card(page, FIRING)
    card.get_by_role("button", name="Silence…").click(timeout=TIMEOUT_MS)
    form = card.locator("form")
    for value in form.locator('input[name="matcher-value"]').all():
        value.fill("")  # every matcher now matches the empty string: Alertmanager refuses it
    form.locator('input[name="createdBy"]').fill("browser-test")
    form.locator('input[name="comment"]').fill(comment)
    form.get_by_role("button", name="Create silence").click()
    try:
        expect(form.locator(".mx-al-error")).to_contain_text("matcher", timeout=TIMEOUT_MS)
        expect(form).to_be_visible()
        comments = [s["comment"] for s in _json(page, dashboard.url("/api/v2/silences"))]
        assert comment not in comments
        _take_refusals(browser_errors, 400)
    finally:
        _expire_silences(page, dashboard, comment)  # had the server accepted it after all


def test_expiring_a_silence_from_the_list(
    page: Page, dashboard: Dashboard, browser_errors: list[str]
) -> None:
    comment = f"browser test {secrets.token_hex(4)}"
    silence_id = _create_silence(page, dashboard, FIRING, comment)
    try:
        _open_tab(page, dashboard, "Silences")

        card = page.locator(f'[data-silence-id="{silence_id}"]')
        expect(card).to_contain_text(comment, timeout=TIMEOUT_MS)
        expect(card).to_contain_text(f'alertname="{FIRING}"')
        card.get_by_role("button", name="Expire").click()

        expect(card).to_be_hidden(timeout=TIMEOUT_MS)  # moved into the collapsed "Expired" list
        silence = _json(page, dashboard.url(f"/api/v2/silence/{silence_id}"))
        assert silence["status"]["state"] == "expired"
        page.get_by_text("Expired (").click()
        expect(card).to_be_visible()
        expect(card.get_by_role("button", name="Expire")).to_have_count(0)
        assert browser_errors == []
    finally:
        _expire_silences(page, dashboard, comment)


def _fill_rule_form(page: Page, dashboard: Dashboard, name: str, threshold: str) -> Locator:
    _open_tab(page, dashboard, "Rules")
    page.get_by_text("New threshold rule").click()
    form = page.locator('form[aria-label="New threshold rule"]')
    metric = form.locator('select[name="metric"]')
    expect(metric.locator('option[value="memory.usage.percent"]')).to_have_count(
        1, timeout=TIMEOUT_MS
    )
    form.locator('input[name="name"]').fill(name)
    metric.select_option("memory.usage.percent")
    form.locator('select[name="operator"]').select_option(">")
    form.locator('input[name="threshold"]').fill(threshold)
    form.locator('input[name="for"]').fill("2m")
    form.get_by_role("button", name="Create rule").click()
    return form


def test_a_threshold_rule_created_with_the_form_is_listed(
    page: Page, dashboard: Dashboard, browser_errors: list[str]
) -> None:
    name = f"BrowserRule_{secrets.token_hex(3)}"
    try:
        _fill_rule_form(page, dashboard, name, "99.5")
        row = page.locator(f'tr[data-rule="{name}"]').first
        expect(row).to_be_visible(timeout=TIMEOUT_MS)
        expect(row.get_by_role("checkbox")).to_be_checked()
        rules = _json(page, dashboard.url("/api/v1/alerts/rules"))["data"]
        stored = [r for r in rules if r["name"] == name]
        assert [(r["metric"], r["operator"], r["threshold"], r["for"]) for r in stored] == [
            ("memory.usage.percent", ">", 99.5, "2m")
        ]
        assert browser_errors == []
    finally:
        _delete_api_rule(page, dashboard, name)


def test_a_bad_threshold_shows_the_field_error(
    page: Page, dashboard: Dashboard, browser_errors: list[str]
) -> None:
    name = f"BrowserBad_{secrets.token_hex(3)}"
    try:
        form = _fill_rule_form(page, dashboard, name, "ninety")

        expect(form.locator('[data-field="threshold"]')).to_contain_text(
            "must be a number", timeout=TIMEOUT_MS
        )
        expect(form.locator('[data-field="name"]')).to_have_text("")
        names = [r["name"] for r in _json(page, dashboard.url("/api/v1/alerts/rules"))["data"]]
        assert name not in names
        _take_refusals(browser_errors, 400)  # when the server, not the page, refused it
    finally:
        _delete_api_rule(page, dashboard, name)  # had the server accepted it after all


def test_the_agents_page_lists_the_agent_with_its_version(
    page: Page, dashboard: Dashboard, browser_errors: list[str]
) -> None:
    def agent() -> dict[str, Any] | None:
        servers: list[dict[str, Any]] = dashboard.api("/api/v1/servers")["data"]
        return next((s for s in servers if s["instance"] == AGENT_HOST), None)

    server: dict[str, Any] = wait_for("the agent has pushed", agent, DEADLINE_SECONDS)
    page.goto(dashboard.url("/agents"))

    row = page.locator(f'tr[data-instance="{server["instance"]}"]')
    expect(row).to_be_visible(timeout=TIMEOUT_MS)
    expect(row).to_contain_text(server["agent_version"])
    expect(row.get_by_role("link", name=server["instance"])).to_have_attribute(
        "href", "/hosts/" + urllib.parse.quote(server["instance"], safe="!'()*")
    )
    assert browser_errors == []
