"""Time to first post (issue #14), in a real headless Chromium: from opening the admin's
"Add incident" form to a reader's `/` showing the incident, using a template.

The operator's path is counted as well as timed: the clicks it takes and the fields
typed into (none: the template filled them in). The figure is written to
bench/results/first-post.md for README; the budget is a bound for a loaded 2-core CI
machine, not the figure.
"""

import time
from pathlib import Path

import pytest

from ..admin.test_admin_browser import log_in, superuser  # noqa: F401 - the fixture
from ..servers import daphne

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.live]

RESULTS = Path(__file__).resolve().parents[2] / "bench" / "results" / "first-post.md"
BUDGET_SECONDS = 20


def test_a_first_post_from_a_template_takes_two_clicks_and_no_typing(demo, superuser, browser):  # noqa: F811
    from playwright.sync_api import expect

    with daphne() as base:
        reader = browser.new_page(viewport={"width": 390, "height": 844})
        reader.goto(base + "/")
        expect(reader.locator("[data-live-indicator]")).to_have_attribute("data-state", "live", timeout=5000)
        incidents = reader.locator('[data-live-region="incidents"]')
        expect(incidents).not_to_contain_text("Market data delayed")

        admin = browser.new_page(viewport={"width": 1366, "height": 900})
        log_in(admin, base)
        clicks, typed = 0, 0
        started = time.monotonic()
        admin.goto(base + "/admin/incidents/incident/add/")
        admin.get_by_role("link", name="Market data delayed").click()
        clicks += 1
        preview = admin.locator("[data-template-preview]")
        expect(preview).to_contain_text("Tickers, candles and order book depth are arriving late")
        expect(preview).to_contain_text("impact: minor")
        expect(admin.locator("#id_name")).to_have_value("Market data delayed")
        admin.click("input[name=_save]")
        clicks += 1
        expect(admin.locator(".messagelist")).to_contain_text("was added successfully")

        expect(incidents).to_contain_text("Market data delayed", timeout=BUDGET_SECONDS * 1000)
        took = time.monotonic() - started
        expect(reader.locator('[data-live-region="components"]')).to_contain_text("Degraded performance")

    RESULTS.write_text(
        "| path | clicks | fields typed | seconds, add form opened to `/` showing it |\n"
        "|---|---|---|---|\n"
        f"| admin, from the template “Market data delayed” | {clicks} | {typed} | {took:.1f} |\n"
    )
    print(f"first post: {clicks} clicks, {typed} fields typed, {took:.1f} s")
    assert took < BUDGET_SECONDS
