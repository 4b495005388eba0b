"""Headless Chromium (Debian's package, /usr/bin/chromium) driven by Playwright.

`make test` installs Chromium where it is missing; Playwright never downloads a browser
of its own. Use the `browser` fixture (conftest) for a new page per test:

    def test_something(browser, live_server_url):
        page = browser.new_page(viewport={"width": 390, "height": 844}, color_scheme="dark")
"""

from __future__ import annotations

import contextlib
import os

CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
# As root, without a sandbox; no background traffic (this machine has no network beyond
# loopback, and Chromium's own connections would be refused many at a time).
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]

# The sizes readers use: a laptop and a phone.
DESKTOP = {"width": 1366, "height": 900}
PHONE = {"width": 390, "height": 844}


@contextlib.contextmanager
def chromium():
    """A headless Chromium for the length of the block."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()


def console_errors(page) -> list[str]:
    """Start collecting the page's console errors and failed requests; returns the list."""
    errors: list[str] = []
    page.on("console", lambda message: errors.append(message.text) if message.type == "error" else None)
    page.on("pageerror", lambda error: errors.append(str(error)))
    return errors
