"""The Alerts and Agents pages in a real browser against a running server.

Fixtures (from the browser harness): ``page`` (a Playwright page), ``server_url``,
``console_errors`` (the page's console errors, to stay empty) and ``firing_alert_name`` (a rule
that fires, whose alert carries a label containing ``<script>``).
"""

from __future__ import annotations

import secrets
import time
import urllib.parse
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from playwright.sync_api import (  # type: ignore[import-not-found, unused-ignore]
        Dialog,
        Locator,
        Page,
    )

# Skipped where Playwright is not installed (the browser harness installs it).
expect = pytest.importorskip("playwright.sync_api").expect

DEADLINE_SECONDS = 30.0
"""How long a condition may take on a loaded machine (rule evaluation, notifier state)."""

TIMEOUT_MS = DEADLINE_SECONDS * 1000


def _wait_until(what: str, condition: Callable[[], bool]) -> None:
    """Poll ``condition`` until it holds, failing with ``what`` after the deadline."""
    deadline = time.monotonic() + DEADLINE_SECONDS
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting until {what}")
        time.sleep(0.2)


def _json(page: Page, url: str) -> Any:
    response = page.request.get(url)
    assert response.ok, f"GET {url}: {response.status} {response.text()}"
    return response.json()


def _notifier_alert(page: Page, server_url: str, alertname: str) -> dict[str, Any] | None:
    alerts = _json(page, f"{server_url}/api/v2/alerts")
    return next((a for a in alerts if a["labels"].get("alertname") == alertname), None)


def _alert_card(page: Page, alertname: str) -> Locator:
    return page.locator(f'article[data-alertname="{alertname}"]').first


def _open_tab(page: Page, server_url: str, tab: str) -> None:
    page.goto(f"{server_url}/alerts")
    page.get_by_role("tab", name=tab).click()


def _create_silence(page: Page, server_url: str, alertname: str, comment: str) -> str:
    now = time.time()
    body = {
        "matchers": [{"name": "alertname", "value": alertname, "isRegex": False, "isEqual": True}],
        "startsAt": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(now)),
        "endsAt": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(now + 3600)),
        "createdBy": "browser-test",
        "comment": comment,
    }
    response = page.request.post(f"{server_url}/api/v2/silences", data=body)
    assert response.ok, response.text()
    return str(response.json()["silenceID"])


def _expire_silences(page: Page, server_url: str, comment: str) -> None:
    for silence in _json(page, f"{server_url}/api/v2/silences"):
        if silence["comment"] == comment and silence["status"]["state"] != "expired":
            page.request.delete(f"{server_url}/api/v2/silence/{silence['id']}")


def _delete_api_rule(page: Page, server_url: str, name: str) -> None:
    for rule in _json(page, f"{server_url}/api/v1/alerts/rules")["data"]:
        if rule["name"] == name:
            page.request.delete(f"{server_url}/api/v1/alerts/rules/{rule['id']}")


def test_the_firing_alert_shows_its_script_label_as_text(
    page: Page, server_url: str, console_errors: list[str], firing_alert_name: str
) -> None:
    dialogs: list[str] = []

    def on_dialog(dialog: Dialog) -> None:
        dialogs.append(dialog.message)
        dialog.dismiss()

    page.on("dialog", on_dialog)
    page.goto(f"{server_url}/alerts")

    card = _alert_card(page, firing_alert_name)
    expect(card).to_be_visible(timeout=TIMEOUT_MS)
    expect(card).to_contain_text("<script>")
    expect(card).to_contain_text("firing")
    assert card.locator("script").count() == 0
    assert dialogs == []
    assert console_errors == []


def test_a_silence_created_on_the_page_suppresses_the_alert(
    page: Page, server_url: str, console_errors: list[str], firing_alert_name: str
) -> None:
    comment = f"browser test {secrets.token_hex(4)}"
    _wait_until(
        "the notifier holds the firing alert",
        lambda: _notifier_alert(page, server_url, firing_alert_name) is not None,
    )
    page.goto(f"{server_url}/alerts")
    card = _alert_card(page, firing_alert_name)
    card.get_by_role("button", name="Silence…").click(timeout=TIMEOUT_MS)
    form = card.locator("form")
    expect(form.locator('input[name="matcher-value"]').first).to_have_value(firing_alert_name)
    form.locator('input[name="createdBy"]').fill("browser-test")
    form.locator('input[name="comment"]').fill(comment)
    form.get_by_role("button", name="Create silence").click()
    try:
        expect(page.locator(".mx-al-notice")).to_contain_text("created", timeout=TIMEOUT_MS)

        def suppressed() -> bool:
            alert = _notifier_alert(page, server_url, firing_alert_name)
            return alert is not None and alert["status"]["state"] == "suppressed"

        _wait_until("/api/v2/alerts reports the alert suppressed", suppressed)
        page.reload()
        badge = _alert_card(page, firing_alert_name).locator(".mx-al-silenced")
        expect(badge).to_have_text("silenced", timeout=TIMEOUT_MS)
        assert console_errors == []
    finally:
        _expire_silences(page, server_url, comment)


def test_a_silence_the_server_refuses_shows_its_message(
    page: Page, server_url: str, firing_alert_name: str
) -> None:
    page.goto(f"{server_url}/alerts")
    card = _alert_card(page, firing_alert_name)
    card.get_by_role("button", name="Silence…").click(timeout=TIMEOUT_MS)
    form = card.locator("form")
    for value in form.locator('input[name="matcher-value"]').all():
        value.fill("")  # every matcher now matches the empty string: Alertmanager refuses it
    form.locator('input[name="createdBy"]').fill("browser-test")
    form.locator('input[name="comment"]').fill("refused")
    form.get_by_role("button", name="Create silence").click()

    expect(form.locator(".mx-al-error")).to_contain_text("matcher", timeout=TIMEOUT_MS)
    expect(form).to_be_visible()
    comments = [s["comment"] for s in _json(page, f"{server_url}/api/v2/silences")]
    assert "refused" not in comments


def test_expiring_a_silence_from_the_list(
    page: Page, server_url: str, console_errors: list[str], firing_alert_name: str
) -> None:
    comment = f"browser test {secrets.token_hex(4)}"
    silence_id = _create_silence(page, server_url, firing_alert_name, comment)
    _open_tab(page, server_url, "Silences")

    card = page.locator(f'[data-silence-id="{silence_id}"]')
    expect(card).to_contain_text(comment, timeout=TIMEOUT_MS)
    expect(card).to_contain_text(f'alertname="{firing_alert_name}"')
    card.get_by_role("button", name="Expire").click()

    expect(card).to_be_hidden(timeout=TIMEOUT_MS)  # moved into the collapsed "Expired" list
    silence = _json(page, f"{server_url}/api/v2/silence/{silence_id}")
    assert silence["status"]["state"] == "expired"
    page.get_by_text("Expired (").click()
    expect(card).to_be_visible()
    expect(card.get_by_role("button", name="Expire")).to_have_count(0)
    assert console_errors == []


def _fill_rule_form(page: Page, server_url: str, name: str, threshold: str) -> Locator:
    _open_tab(page, server_url, "Rules")
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
    page: Page, server_url: str, console_errors: list[str]
) -> None:
    name = f"BrowserRule_{secrets.token_hex(3)}"
    try:
        _fill_rule_form(page, server_url, name, "99.5")
        row = page.locator(f'tr[data-rule="{name}"]').first
        expect(row).to_be_visible(timeout=TIMEOUT_MS)
        expect(row.get_by_role("checkbox")).to_be_checked()
        stored = [
            r for r in _json(page, f"{server_url}/api/v1/alerts/rules")["data"] if r["name"] == name
        ]
        assert [(r["metric"], r["operator"], r["threshold"], r["for"]) for r in stored] == [
            ("memory.usage.percent", ">", 99.5, "2m")
        ]
        assert console_errors == []
    finally:
        _delete_api_rule(page, server_url, name)


def test_a_bad_threshold_shows_the_field_error(page: Page, server_url: str) -> None:
    name = f"BrowserBad_{secrets.token_hex(3)}"
    form = _fill_rule_form(page, server_url, name, "ninety")

    expect(form.locator('[data-field="threshold"]')).to_contain_text(
        "must be a number", timeout=TIMEOUT_MS
    )
    expect(form.locator('[data-field="name"]')).to_have_text("")
    names = [r["name"] for r in _json(page, f"{server_url}/api/v1/alerts/rules")["data"]]
    assert name not in names


def test_the_agents_page_lists_the_agent_with_its_version(
    page: Page, server_url: str, console_errors: list[str]
) -> None:
    _wait_until(
        "an agent has pushed",
        lambda: bool(_json(page, f"{server_url}/api/v1/servers")["data"]),
    )
    server = _json(page, f"{server_url}/api/v1/servers")["data"][0]
    page.goto(f"{server_url}/agents")

    row = page.locator(f'tr[data-instance="{server["instance"]}"]')
    expect(row).to_be_visible(timeout=TIMEOUT_MS)
    expect(row).to_contain_text(server["agent_version"])
    expect(row.get_by_role("link", name=server["instance"])).to_have_attribute(
        "href", "/hosts/" + urllib.parse.quote(server["instance"], safe="!'()*")
    )
    assert console_errors == []
