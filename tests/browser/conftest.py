"""The browser tests' harness: a real server with data, and headless Chromium driving it.

Every test here is marked ``browser`` and ``integration`` (run them alone with
``pytest -m browser``; leave them out with ``-m "not browser"``). They need the built
dashboard (``scripts/setup`` builds it), ``/usr/bin/chromium`` (Debian's; ``scripts/setup
--test`` installs it; Playwright's own browsers are never downloaded) and the Python package
``playwright``. When one is missing the tests are skipped with the reason, except in CI
(``CI=true``), where they fail instead.

Fixtures (for page tests, in ``tests/browser/test_<page>.py``):

``dashboard`` (package): a ``Dashboard``: one ``multimonx server`` for all the browser tests
  (free port, data in a temporary directory, memory storage, rules evaluated every second)
  with
  - the agent's host ``AGENT_HOST``: a real ``multimonx agent`` pushing every second (file
    system and connection collectors off, as in tests/integration); normally ``up``, but
    ``down`` whenever 3 s pass without a push (a loaded machine): do not assert its status;
  - ``HISTORY_HOSTS`` ("hist-1", "hist-2" and ``HOSTILE_HOST``, whose instance contains
    ``<script>``): 24 h of generated history each (``bench/hostdata.py``), pushed through the push
    API before the first test, then continued every 15 s by a thread (their current values,
    rates over the last minute, stay defined); they stay ``up`` for the session (a one-hour
    push interval);
  - ``DOWN_HOST``: 24 h of history ending 10 minutes ago, ``down`` from the start;
  - rules (``RULES``): ``HostileLabel`` firing on hist-1 with a label ``evil`` and an
    annotation holding ``HOSTILE`` (``<script>alert(1)</script>``); ``HistLoadHigh`` firing
    (critical) and ``HistLoadPending`` pending (warning, ``for: 1h``) on hist-2. The first
    evaluations happen within a second or two of the start: wait for the state you need
    (``dashboard.wait_for_alerts()``), never sleep.
  ``dashboard.url(path)`` is the absolute URL of a path; ``dashboard.api(path)`` GETs a JSON
  API; ``dashboard.token`` is an agent API key.
  The server is shared: a test that changes its state (creates a silence or a rule) must
  undo it, or use names no other test looks for.

``browser`` (package): Playwright's Chromium (headless, ``/usr/bin/chromium``).

``page`` (per test): a fresh context (1280 x 800, ``color_scheme`` light) and page; every
  console error, uncaught page error and JavaScript dialog (``alert()``: an injected
  script ran) is recorded in ``browser_errors`` and fails the test at its end. A screenshot
  of the page is saved at the end as ``artifacts/screenshots/<test name>.png``.

``browser_errors`` (per test): the list the ``page`` fixture records into; a test that
  provokes an error on purpose checks it and removes it (``browser_errors.clear()``).

``screenshot`` (per test): ``screenshot(page, "name")`` saves
  ``artifacts/screenshots/<test name>-<name>.png`` (full page) and returns its path.

``new_page`` (per test): ``new_page(viewport=(390, 844), color_scheme="dark")`` opens another
  page in its own context (phone size, dark theme...), with the same error recording.

Page test modules import Playwright's types under ``if TYPE_CHECKING:`` only (as
test_smoke.py does), so that a machine without playwright skips them instead of failing to
collect them.

The dashboard's performance marks (``mmx:first-chart``, ``mmx:rendered``, their contract
in ui/src/pages/README.md) can be awaited with ``wait_for_mark(page, "mmx:rendered")``.
"""

from __future__ import annotations

import os
import re
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from multimonx.web.dashboard import STATIC_DIR
from tests.integration.conftest import (
    Proc,
    bench_module,
    free_port,
    get_json,
    http_get,
    multimonx,
    wait_for,
)
from tests.integration.pushing import create_key

if TYPE_CHECKING:
    from playwright.sync_api import Browser, ConsoleMessage, Page

    from hostdata import HostFeed  # bench/hostdata.py, on sys.path once bench_module ran

CHROMIUM_LAUNCH = bench_module("chromium")
"""bench/chromium.py: Chromium's path and flags, as the dashboard benchmark launches it."""
CHROMIUM: Path = CHROMIUM_LAUNCH.CHROMIUM
SCREENSHOTS = Path(__file__).resolve().parents[2] / "artifacts" / "screenshots"

HOSTILE = "<script>alert(1)</script>"
"""A label value the pages must show as text."""
HOSTILE_HOST = "evil-<b>host</b>"
"""A history host whose instance holds markup (and needs quoting in ``/hosts/<instance>``)."""
AGENT_HOST = "browser-agent"
HISTORY_HOSTS = ("hist-1", "hist-2", HOSTILE_HOST)
DOWN_HOST = "hist-down"
HOSTDATA = bench_module("hostdata")
"""bench/hostdata.py: the generated history the extra hosts push."""

RULES = f"""
groups:
  - name: dashboard-test
    interval: 1s
    rules:
      - alert: HostileLabel
        expr: vector(1)
        labels:
          severity: warning
          instance: hist-1
          evil: "{HOSTILE}"
        annotations:
          summary: "{HOSTILE} <img src=x onerror=alert(2)>"
      - alert: HistLoadHigh
        expr: last_over_time(node_load1{{instance="hist-2"}}[1d]) >= 0
        labels: {{severity: critical}}
        annotations: {{summary: "hist-2 is loaded"}}
      - alert: HistLoadPending
        expr: last_over_time(node_load1{{instance="hist-2"}}[1d]) >= 0
        for: 1h
        labels: {{severity: warning}}
"""


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark every test of this directory ``browser`` and ``integration``."""
    here = Path(__file__).parent
    for item in items:
        if here in Path(str(item.fspath)).parents:
            item.add_marker(pytest.mark.browser)
            item.add_marker(pytest.mark.integration)


def missing_requirement() -> str | None:
    """Why the browser tests cannot run here, or None."""
    if not (STATIC_DIR / "index.html").is_file():
        return f"the dashboard is not built ({STATIC_DIR}): run scripts/setup"
    if not CHROMIUM.is_file():
        return f"{CHROMIUM} is missing: run scripts/setup --test (Debian package chromium)"
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "the Python package playwright is missing: run scripts/setup --test"
    return None


# Package scope, not session: Playwright's sync API keeps an event loop running on the main
# thread while it is open, and every later test that calls asyncio.run() (the web tests do)
# would fail; the browser and the server are closed once this package's tests are done.
@pytest.fixture(scope="package", autouse=True)
def _requirements() -> None:
    reason = missing_requirement()
    if reason is None:
        return
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"browser tests cannot run in CI: {reason}")
    pytest.skip(reason)


@dataclass
class Dashboard:
    """The session's server and what it holds (see the module docstring)."""

    base: str
    port: int
    data_dir: Path
    token: str
    procs: list[Proc] = field(default_factory=list)

    def url(self, path: str = "/") -> str:
        return self.base + path

    def api(self, path: str) -> Any:
        """GET a JSON API of the server (which must answer 200)."""
        return get_json(self.base + path)

    def wait_for_alerts(self, deadline: float = 60.0) -> list[dict[str, Any]]:
        """The active alerts, once ``HostileLabel`` and ``HistLoadHigh`` fire and
        ``HistLoadPending`` is pending."""
        wanted = {("HostileLabel", "firing"), ("HistLoadHigh", "firing")}
        wanted.add(("HistLoadPending", "pending"))

        def ready() -> list[dict[str, Any]] | None:
            alerts: list[dict[str, Any]] = self.api("/api/v1/alerts")["data"]["alerts"]
            seen = {(a["labels"]["alertname"], a["state"]) for a in alerts}
            return alerts if wanted <= seen else None

        return wait_for("the test rules' alerts", ready, deadline)


def _write_config(tmp: Path, port: int) -> Path:
    rules = tmp / "rules"
    rules.mkdir()
    (rules / "dashboard.yml").write_text(RULES)
    config = tmp / "server.yml"
    config.write_text(
        f"listen_address: 127.0.0.1:{port}\n"
        f"rules:\n  files: ['{rules / '*.yml'}']\n  evaluation_interval: 1s\n"
        "  default_pack: false\n"
        "storage: {engine: memory}\n"
    )
    return config


def _write_agent_config(tmp: Path, server_port: int, token: str) -> Path:
    config = tmp / "agent.yml"
    config.write_text(
        f"""
collector:
  interval: 1s
  server_url: http://127.0.0.1:{server_port}
  api_key: {token}
  instance: {AGENT_HOST}
  timeout: 5s
spool:
  backoff_initial: 100ms
  backoff_max: 1s
web:
  listen_address: 127.0.0.1:{free_port()}
metrics:
  filesystem: {{enabled: false}}
  connections: {{enabled: false}}
"""
    )
    return config


@pytest.fixture(scope="package")
def dashboard(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Dashboard]:
    tmp = tmp_path_factory.mktemp("dashboard")
    data_dir = tmp / "data"
    token = create_key(data_dir, "browser-tests")
    port = free_port()
    config = _write_config(tmp, port)
    server = Proc(
        multimonx("server", "--config", str(config), "--data-dir", str(data_dir)),
        tmp / "server.log",
    )
    board = Dashboard(f"http://127.0.0.1:{port}", port, data_dir, token, [server])
    stop = threading.Event()
    feeder: threading.Thread | None = None
    try:
        wait_for("server health", lambda: http_get(board.url("/api/v1/health"))[0] == 200)
        now_ms = int(time.time() * 1000) // 15_000 * 15_000
        feeds = [
            HOSTDATA.push_history(
                board.base, token, HOSTDATA.HistoryHost(name, now_ms, load=0.5 + i)
            )
            for i, name in enumerate(HISTORY_HOSTS)
        ]
        feeder = threading.Thread(
            target=_feed, args=(board, feeds, stop), name="history-feed", daemon=True
        )
        feeder.start()
        # a push interval of 10 ms: down 30 ms after its push
        down = HOSTDATA.HistoryHost(DOWN_HOST, now_ms - 600_000, interval_s=0.01, load=0.3)
        HOSTDATA.push_history(board.base, token, down)
        agent_config = _write_agent_config(tmp, port, token)
        board.procs.append(
            Proc(
                multimonx("agent", "--config", str(agent_config), "--data-dir", str(tmp / "agent")),
                tmp / "agent.log",
            )
        )
        wait_for("the agent's first push", lambda: _host_seen(board, AGENT_HOST), 120)
        wait_for(f"{DOWN_HOST} down", lambda: _host_status(board, DOWN_HOST) == "down")
        yield board
    finally:
        stop.set()
        if feeder is not None:
            feeder.join(timeout=60)
        for proc in reversed(board.procs):
            proc.stop()


def _feed(board: Dashboard, feeds: list[HostFeed], stop: threading.Event) -> None:
    """Continue the history hosts' samples up to now, every second until ``stop``."""
    while not stop.wait(1.0):
        now_ms = int(time.time() * 1000)
        for feed in feeds:
            try:
                feed.push_until(board.base, board.token, now_ms)
            except OSError as err:  # the next turn retries; a stopping server ends the session
                print(f"history feed of {feed.host.instance}: {err}", file=sys.stderr)


def _host_status(board: Dashboard, instance: str) -> str | None:
    servers = board.api("/api/v1/servers")["data"]
    return next((str(s["status"]) for s in servers if s["instance"] == instance), None)


def _host_seen(board: Dashboard, instance: str) -> bool:
    servers = board.api("/api/v1/servers")["data"]
    return any(s["instance"] == instance for s in servers)


@pytest.fixture(scope="package")
def browser() -> Iterator[Browser]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_LAUNCH.CHROMIUM_ARGS
        )
        yield chromium
        chromium.close()


@pytest.fixture
def browser_errors() -> list[str]:
    return []


def _test_name(request: pytest.FixtureRequest) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", request.node.name).strip("_")[:120]


@pytest.fixture
def new_page(
    browser: Browser, browser_errors: list[str], request: pytest.FixtureRequest
) -> Iterator[Callable[..., Page]]:
    """Open pages in their own contexts, recording their errors; closed at the end."""
    contexts: list[Any] = []

    def open_page(viewport: tuple[int, int] = (1280, 800), color_scheme: str = "light") -> Page:
        context = browser.new_context(
            viewport={"width": viewport[0], "height": viewport[1]},
            color_scheme=color_scheme,  # type: ignore[arg-type]
        )
        contexts.append(context)
        page = context.new_page()
        page.set_default_timeout(30_000)

        def on_console(message: ConsoleMessage) -> None:
            if message.type == "error":
                browser_errors.append(f"console error: {message.text} ({message.location})")

        page.on("console", on_console)
        page.on("pageerror", lambda err: browser_errors.append(f"page error: {err}"))

        def on_dialog(dialog: Any) -> None:
            browser_errors.append(f"a script opened a {dialog.type} dialog: {dialog.message!r}")
            dialog.dismiss()

        page.on("dialog", on_dialog)
        return page

    yield open_page
    for context in contexts:
        context.close()


@pytest.fixture
def screenshot(request: pytest.FixtureRequest) -> Callable[[Page, str], Path]:
    def save(page: Page, name: str) -> Path:
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        path = SCREENSHOTS / f"{_test_name(request)}-{name}.png"
        page.screenshot(path=str(path), full_page=True)
        return path

    return save


@pytest.fixture
def page(
    new_page: Callable[..., Page], browser_errors: list[str], request: pytest.FixtureRequest
) -> Iterator[Page]:
    page = new_page()
    yield page
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    try:
        page.screenshot(path=str(SCREENSHOTS / f"{_test_name(request)}.png"), full_page=True)
    except Exception as err:  # a failed screenshot must not hide the test's own result
        print(f"screenshot failed: {err}", file=sys.stderr)
    if browser_errors:
        pytest.fail("the browser reported errors:\n" + "\n".join(browser_errors))


def wait_for_mark(page: Page, name: str, timeout_ms: float = 30_000) -> float:
    """Wait until the page has set the performance mark ``name``; its time (ms since the
    navigation started)."""
    handle = page.wait_for_function(
        "name => performance.getEntriesByName(name, 'mark').length > 0",
        arg=name,
        timeout=timeout_ms,
    )
    handle.dispose()
    start: float = page.evaluate(
        "name => performance.getEntriesByName(name, 'mark')[0].startTime", name
    )
    return start
