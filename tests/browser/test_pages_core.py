"""The dashboard's shell and chart pages in headless Chromium against the harness's server
(tests/browser/conftest.py): the overview's fleet table (status, sort, filter, search,
virtualised rows, links), the host page's charts (range switching, auto-refresh and its
pause), Explore (graph, table, the server's error inline), History API navigation, the phone
layout, and label values shown as text everywhere."""

from __future__ import annotations

import json
import time
import urllib.parse
from typing import TYPE_CHECKING, Any

import pytest

from tests.browser.conftest import (
    AGENT_HOST,
    DOWN_HOST,
    HISTORY_HOSTS,
    HOSTILE_HOST,
    Dashboard,
    wait_for_mark,
)
from tests.integration.conftest import wait_for

if TYPE_CHECKING:
    from playwright.sync_api import Page, Request

pytestmark = [pytest.mark.browser, pytest.mark.integration]

ROWS = ".vt-row"


def host_path(instance: str) -> str:
    return "/hosts/" + urllib.parse.quote(instance, safe="")


def row_instances(page: Page) -> list[str]:
    instances: list[str] = page.eval_on_selector_all(
        ROWS, "rows => rows.map(r => r.dataset.instance)"
    )
    return instances


def chart_attr(page: Page, title: str, attr: str) -> int:
    value = page.locator(f'.chart[data-chart="{title}"]').get_attribute(attr)
    return int(value or 0)


def wait_for_chart_update(page: Page, title: str, above: int, timeout_ms: float = 30_000) -> None:
    page.wait_for_function(
        '([title, above]) => Number(document.querySelector(`.chart[data-chart="${title}"]`)'
        "?.dataset.updated || 0) > above",
        arg=[title, above],
        timeout=timeout_ms,
    )


def host_status(dashboard: Dashboard, instance: str) -> str:
    servers = dashboard.api("/api/v1/servers")["data"]
    return str(next(s["status"] for s in servers if s["instance"] == instance))


def test_overview_shows_every_host_with_its_status(dashboard: Dashboard, page: Page) -> None:
    dashboard.wait_for_alerts()
    # The down host's history arrived in one push at the start: it is down once that push is
    # older than three of its (1 s) intervals.
    wait_for("the down host", lambda: host_status(dashboard, DOWN_HOST) == "down" or None)
    page.goto(dashboard.url("/"))
    wait_for_mark(page, "mmx:first-chart")
    wait_for_mark(page, "mmx:rendered")
    everyone = {AGENT_HOST, DOWN_HOST, *HISTORY_HOSTS}
    page.wait_for_function(
        "([sel, n]) => document.querySelectorAll(sel).length === n", arg=[ROWS, len(everyone)]
    )
    assert set(row_instances(page)) == everyone
    assert page.locator('[data-total="hosts"] .total-value').inner_text() == str(len(everyone))
    assert page.locator('[data-total="down"] .total-value').inner_text() == "1"
    down = page.locator(f'{ROWS}[data-instance="{DOWN_HOST}"] .badge')
    assert down.inner_text() == "down"
    loaded = page.locator(f'{ROWS}[data-instance="hist-2"] .col-status .badge')
    assert loaded.inner_text() == "alerting"
    # A host name holding markup is text: no <b> element is made from it.
    hostile = page.locator(f"{ROWS} .col-instance", has_text="evil-")
    assert hostile.inner_text() == HOSTILE_HOST
    assert page.locator(f"{ROWS} b").count() == 0
    # Sparklines are drawn on canvases in the rows.
    assert page.locator(f'{ROWS}[data-instance="hist-1"] canvas.spark').count() >= 1


def test_overview_sorts_filters_and_searches(dashboard: Dashboard, page: Page) -> None:
    page.goto(dashboard.url("/"))
    wait_for_mark(page, "mmx:rendered")
    page.wait_for_selector(f'{ROWS}[data-instance="hist-1"]')
    assert row_instances(page) == sorted(row_instances(page))

    page.click('.vt-head [data-sort="instance"]')
    assert page.get_attribute('.vt-head [data-sort="instance"]', "aria-sort") == "descending"
    assert row_instances(page) == sorted(row_instances(page), reverse=True)

    page.click('.vt-head [data-sort="cpu"]')
    assert page.get_attribute('.vt-head [data-sort="cpu"]', "aria-sort") == "descending"

    page.select_option('select[aria-label="Status"]', "down")
    assert row_instances(page) == [DOWN_HOST]
    page.select_option('select[aria-label="Status"]', "all")

    page.fill('input[aria-label="Search hosts"]', "hist-")
    assert set(row_instances(page)) == {"hist-1", "hist-2", DOWN_HOST}
    page.fill('input[aria-label="Search hosts"]', "no such host")
    assert row_instances(page) == []
    assert page.locator(".vt-empty").inner_text() == "No host matches."


def test_a_row_opens_its_host_and_back_returns(dashboard: Dashboard, page: Page) -> None:
    page.goto(dashboard.url("/"))
    page.click(f'{ROWS}[data-instance="{HOSTILE_HOST}"]')
    page.wait_for_url(dashboard.url(host_path(HOSTILE_HOST)))
    assert page.locator("main h1").inner_text() == HOSTILE_HOST
    wait_for_chart_update(page, "CPU", 0)
    assert chart_attr(page, "CPU", "data-series") >= 1
    page.go_back()
    page.wait_for_url(dashboard.url("/"))
    page.wait_for_selector(f'{ROWS}[data-instance="hist-1"]')


def test_overview_renders_only_the_visible_rows_of_a_thousand_hosts(
    dashboard: Dashboard, page: Page
) -> None:
    now = time.time()
    stamps = [now - 3600 + 120 * i for i in range(30)]
    hosts = [
        {
            "instance": f"host-{i:04d}",
            "job": "node",
            "status": "up",
            "alerts": {"firing": 0, "pending": 0, "critical": 0, "warning": 0},
            "current": {"cpu": i % 100, "memory": 50.0, "disk": 40.0, "net_rx": 1e6, "net_tx": 1e5},
            "spark": {"cpu": [float(i % 100)] * 30, "memory": [50.0] * 30, "net": [1e6] * 30},
        }
        for i in range(1000)
    ]
    body = {
        "status": "success",
        "data": {
            "time": now,
            "range": "1h",
            "step": 120,
            "timestamps": stamps,
            "hosts": hosts,
            "totals": {"hosts": 1000, "up": 1000, "down": 0, "alerting": 0, "firing": 0},
        },
    }
    page.route(
        "**/api/v1/overview*",
        lambda route: route.fulfill(
            status=200, content_type="application/json", body=json.dumps(body)
        ),
    )
    page.goto(dashboard.url("/"))
    wait_for_mark(page, "mmx:rendered")
    page.wait_for_selector(f'{ROWS}[data-instance="host-0000"]')
    assert 0 < page.locator(ROWS).count() < 100
    page.eval_on_selector(".vt-scroll", "s => { s.scrollTop = s.scrollHeight; }")
    page.wait_for_selector(f'{ROWS}[data-instance="host-0999"]')
    assert page.locator(f'{ROWS}[data-instance="host-0000"]').count() == 0
    assert 0 < page.locator(ROWS).count() < 100


def test_host_page_draws_its_charts_and_follows_the_range(dashboard: Dashboard, page: Page) -> None:
    queries: list[dict[str, list[str]]] = []

    def record(request: Request) -> None:
        url = urllib.parse.urlsplit(request.url)
        if url.path == "/api/v1/query_range":
            queries.append(urllib.parse.parse_qs(url.query))

    page.on("request", record)
    page.goto(dashboard.url("/hosts/hist-1"))
    wait_for_mark(page, "mmx:first-chart")
    wait_for_mark(page, "mmx:rendered")
    for title in ("CPU", "CPU per core", "Load average", "Memory", "File system usage"):
        assert chart_attr(page, title, "data-series") >= 1, title
    assert chart_attr(page, "Network traffic", "data-series") >= 2
    assert page.locator(".stat", has_text="CPU").first.inner_text().count("%") == 1
    assert all('instance="hist-1"' in q["query"][0] for q in queries)
    assert {q["step"][0] for q in queries} == {"15"}  # 1 h / 300, at least 15 s

    page.uncheck(".refresh-toggle input")
    queries.clear()
    page.click('.range-btn[data-range="6h"]')
    page.wait_for_url("**/hosts/hist-1?range=6h")
    assert page.get_attribute('.range-btn[data-range="6h"]', "aria-pressed") == "true"
    # Every chart's x axis now spans 6 hours.
    page.wait_for_function(
        "() => [...document.querySelectorAll('.chart')].every(c => {"
        " const [a, b] = (c.dataset.xRange || '0,0').split(',').map(Number);"
        " return b - a >= 6 * 3600 - 60; })"
    )
    assert {q["step"][0] for q in queries} == {"60"}  # 6 h / 300 = 72 s, down to 60 s
    assert all("[240s]" in q["query"][0] for q in queries if "rate(" in q["query"][0])

    # The host selector moves to another host, keeping the range.
    page.select_option("select.host-select", "hist-2")
    page.wait_for_url("**/hosts/hist-2?range=6h")
    assert page.locator("main h1").inner_text() == "hist-2"


def test_host_page_refreshes_until_paused(dashboard: Dashboard, page: Page) -> None:
    """The page's clock is Playwright's: each ``run_for`` fires the timers due in that much
    page time at once, so neither refreshing nor its pause waits on the wall clock."""
    sent: list[str] = []
    page.on("request", lambda r: sent.append(r.url) if "/api/v1/query_range" in r.url else None)
    page.clock.install()
    page.goto(dashboard.url("/hosts/hist-1"))
    wait_for_chart_update(page, "CPU", 0)
    first = chart_attr(page, "CPU", "data-updated")
    page.clock.run_for(10_000)  # one auto-refresh period
    wait_for_chart_update(page, "CPU", first)

    page.uncheck(".refresh-toggle input")
    wait_for_idle(page)
    sent.clear()
    page.clock.run_for(35_000)  # three periods and a half
    wait_for_idle(page)
    assert sent == []

    updated = chart_attr(page, "CPU", "data-updated")
    page.check(".refresh-toggle input")
    page.clock.run_for(10_000)
    wait_for_chart_update(page, "CPU", updated)
    assert sent, "the refresh after the pause sent no query"


def wait_for_idle(page: Page) -> None:
    """Make sure the request events of every fetch the page started so far have reached the
    test: they come in the order the page sent them, so once a marker fetch sent now has
    answered, every earlier one has been seen (a refresh sends its fetches in the timer's
    callback, before any await)."""
    page.evaluate("() => fetch('/api/v1/health').then(r => r.text())")


def test_explore_draws_a_graph_and_a_table(dashboard: Dashboard, page: Page) -> None:
    page.goto(dashboard.url("/explore"))
    box = page.locator('textarea[aria-label="PromQL query"]')
    box.fill(f'node_load1{{instance="{HOSTILE_HOST}"}}')
    box.press("Enter")
    page.wait_for_selector('.explore .chart[data-series="1"]')
    legend = page.locator(".explore .u-legend").inner_text()
    assert f'instance="{HOSTILE_HOST}"' in legend
    assert page.locator(".explore .u-legend b").count() == 0
    assert "q=" in page.url

    page.click('.tab[data-tab="table"]')
    cell = page.locator(".result-table .series-labels")
    cell.wait_for()
    assert cell.inner_text().startswith("node_load1{")
    assert f'instance="{HOSTILE_HOST}"' in cell.inner_text()
    assert page.locator(".result-table b").count() == 0


def test_explore_graphs_and_lists_at_most_a_bounded_number_of_series(
    dashboard: Dashboard, page: Page
) -> None:
    """Thousands of series would stall the page: the graph draws the first 200, the table
    lists the first 2,000, and both say how many there were (the server's answers are
    stand-ins with 250 and 2,500 series)."""
    now = int(time.time())

    def answer(count: int, result_type: str) -> str:
        result: list[dict[str, Any]]
        if result_type == "matrix":
            result = [
                {
                    "metric": {"__name__": "many", "i": str(i)},
                    "values": [[now - 60, "1"], [now, "2"]],
                }
                for i in range(count)
            ]
        else:
            result = [
                {"metric": {"__name__": "many", "i": str(i)}, "value": [now, "1"]}
                for i in range(count)
            ]
        return json.dumps(
            {"status": "success", "data": {"resultType": result_type, "result": result}}
        )

    page.route(
        "**/api/v1/query_range?*",
        lambda route: route.fulfill(content_type="application/json", body=answer(250, "matrix")),
    )
    page.route(
        "**/api/v1/query?*",
        lambda route: route.fulfill(content_type="application/json", body=answer(2500, "vector")),
    )
    page.goto(dashboard.url("/explore?q=many"))
    page.wait_for_selector('.explore .chart[data-series="200"]')
    status = page.locator(".explore .tabs .muted")
    assert status.inner_text().startswith("the first 200 of 250 series")

    page.click('.tab[data-tab="table"]')
    page.wait_for_selector(".result-table")
    assert page.locator(".result-table tbody tr").count() == 2000
    assert status.inner_text().startswith("the first 2000 of 2500 results")


def test_explore_shows_the_servers_error_inline(
    dashboard: Dashboard, page: Page, browser_errors: list[str]
) -> None:
    page.goto(dashboard.url("/explore"))
    box = page.locator('textarea[aria-label="PromQL query"]')
    box.fill("rate(node_load1[5m]")
    with page.expect_response(lambda r: "/api/v1/query_range" in r.url) as answer:
        box.press("Enter")
    assert answer.value.status == 400
    message = answer.value.json()["error"]
    assert "parse error" in message
    error = page.locator(".query-error")
    error.wait_for()
    assert error.inner_text() == message
    assert page.locator(".explore .chart").count() == 0
    # The browser logs the 400 answer itself; nothing else may be in the console.
    assert browser_errors
    assert all("400" in e and "Failed to load resource" in e for e in browser_errors)
    browser_errors.clear()

    # A good query afterwards clears the error.
    box.fill("node_load1")
    box.press("Enter")
    error.wait_for(state="hidden")


def test_navigation_uses_the_history_api(dashboard: Dashboard, page: Page) -> None:
    page.goto(dashboard.url("/"))
    page.wait_for_selector(ROWS)
    page.evaluate("window.__sameDocument = true")
    page.click('.nav-link[data-nav="Explore"]')
    page.wait_for_url(dashboard.url("/explore"))
    assert page.get_attribute('.nav-link[data-nav="Explore"]', "aria-current") == "page"
    page.click('.range-btn[data-range="24h"]')
    page.click('.nav-link[data-nav="Overview"]')
    page.wait_for_url(dashboard.url("/?range=24h"))
    page.go_back()
    page.wait_for_url("**/explore?range=24h")
    page.locator("textarea.promql").wait_for()
    page.go_forward()
    page.wait_for_url(dashboard.url("/?range=24h"))
    assert page.evaluate("window.__sameDocument") is True  # no page load on the way


@pytest.mark.parametrize("path", ["/", "/hosts/hist-1"])
def test_a_phone_in_dark_mode_gets_a_usable_page(
    dashboard: Dashboard, new_page: Any, path: str
) -> None:
    phone: Page = new_page(viewport=(390, 844), color_scheme="dark")
    phone.goto(dashboard.url(path))
    wait_for_mark(phone, "mmx:rendered")
    assert phone.evaluate("document.documentElement.scrollWidth") <= 390
    background = phone.evaluate("getComputedStyle(document.body).backgroundColor")
    assert background == "rgb(15, 18, 23)"


def test_zoom_in_one_chart_zooms_every_chart(dashboard: Dashboard, page: Page) -> None:
    page.goto(dashboard.url("/hosts/hist-1"))
    wait_for_mark(page, "mmx:rendered")
    page.uncheck(".refresh-toggle input")  # the window stays put while the test zooms
    charts = page.locator(".chart")
    full = set(charts.evaluate_all("cs => cs.map(c => c.dataset.xRange)"))
    assert len(full) == 1
    plot = page.locator('.chart[data-chart="CPU"] .u-over').bounding_box()
    assert plot is not None
    y = plot["y"] + plot["height"] / 2
    page.mouse.move(plot["x"] + plot["width"] * 0.4, y)
    page.mouse.down()
    page.mouse.move(plot["x"] + plot["width"] * 0.7, y, steps=5)
    page.mouse.up()
    page.wait_for_function(
        "full => [...document.querySelectorAll('.chart')].every(c => c.dataset.xRange !== full)",
        arg=next(iter(full)),
    )
    zoomed = set(charts.evaluate_all("cs => cs.map(c => c.dataset.xRange)"))
    assert len(zoomed) == 1
    start, end = map(int, next(iter(zoomed)).split(","))
    full_start, full_end = map(int, next(iter(full)).split(","))
    assert full_start < start < end < full_end

    page.dblclick('.chart[data-chart="Memory"] .u-over')
    page.wait_for_function(
        "full => [...document.querySelectorAll('.chart')].every(c => c.dataset.xRange === full)",
        arg=next(iter(full)),
    )


def test_an_unknown_host_is_said_inline(dashboard: Dashboard, page: Page) -> None:
    page.goto(dashboard.url(host_path("no-such-<host>")))
    error = page.locator("main .error", has_text="No host named")
    error.wait_for()
    assert error.inner_text() == "No host named no-such-<host> has reported."
    wait_for_chart_update(page, "CPU", 0)
    assert chart_attr(page, "CPU", "data-series") == 0
