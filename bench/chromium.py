"""How ``bench/dashboard.py`` and the browser tests (tests/browser/conftest.py) start headless
Chromium: Debian's package (``scripts/setup`` installs it), never a browser Playwright would
download, with the flags that keep it from reaching the network or a GPU."""

from __future__ import annotations

from pathlib import Path

CHROMIUM = Path("/usr/bin/chromium")
"""Debian's Chromium."""

CHROMIUM_ARGS = [
    "--no-sandbox",  # runs as root in CI containers
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
"""No sandbox (root in containers), no GPU, and nothing sent anywhere on its own."""
