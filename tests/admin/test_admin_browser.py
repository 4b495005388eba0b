"""The operator's admin in a real headless Chromium against daphne: the component grid by
keyboard and by mouse, where "Save" lands, and which time zone the operator is typing in."""

from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from incidents.models import Component, Incident

from ..factories import UserFactory
from ..servers import daphne

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.live]

PASSWORD = "correct horse battery staple"


@pytest.fixture
def superuser(roles):
    return UserFactory(username="oncall", is_superuser=True, password=PASSWORD)


def in_thread(fn):
    """Run a database read outside Playwright's event loop (Django refuses it there)."""
    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(fn).result()


def log_in(page, base: str) -> None:
    page.goto(base + "/admin/login/?next=/admin/")
    page.fill("#id_username", "oncall")
    page.fill("#id_password", PASSWORD)
    page.click("input[type=submit]")
    page.wait_for_url(base + "/admin/")


def radio(page, component: str, status: str):
    label = {
        "": "Unchanged",
        "operational": "Operational",
        "degraded_performance": "Degraded performance",
        "partial_outage": "Partial outage",
        "major_outage": "Major outage",
    }[status]
    return page.get_by_label(f"{component}: {label}", exact=True)


def test_operator_marks_components_by_keyboard_and_click_and_lands_on_the_incident(demo, superuser, browser):
    from playwright.sync_api import expect

    with daphne() as base:
        page = browser.new_page(viewport={"width": 1366, "height": 900})
        log_in(page, base)
        page.goto(base + "/admin/incidents/incident/add/")
        page.fill("#id_name", "Trading halted")
        page.fill("#id_body", "Orders are not matched. We are investigating.")

        # Keyboard: each row is one radio group; arrows pick within it, Tab goes to the next row.
        radio(page, "Website", "").focus()
        for _ in range(4):
            page.keyboard.press("ArrowRight")
        expect(radio(page, "Website", "major_outage")).to_be_checked()
        page.keyboard.press("Tab")
        expect(radio(page, "Mobile app", "")).to_be_focused()
        page.keyboard.press("ArrowRight")
        page.keyboard.press("ArrowRight")
        page.keyboard.press("Tab")  # Market data stays unchanged
        page.keyboard.press("Tab")
        expect(radio(page, "Order book", "")).to_be_focused()
        for _ in range(3):
            page.keyboard.press("ArrowRight")
        # Mouse: one click per component.
        radio(page, "Spot trading", "major_outage").click()
        radio(page, "REST API", "degraded_performance").click()
        expect(radio(page, "Market data", "")).to_be_checked()

        page.click("input[name=_save]")
        page.wait_for_load_state()

        def saved():
            incident = Incident.objects.get(name="Trading halted")
            statuses = dict(Component.objects.values_list("name", "status"))
            affected = sorted(incident.components.values_list("name", flat=True))
            return incident, statuses, affected

        incident, statuses, affected = in_thread(saved)
        assert page.url == f"{base}/admin/incidents/incident/{incident.pk}/change/"
        assert {name: status for name, status in statuses.items() if status != "operational"} == {
            "Website": "major_outage",
            "Mobile app": "degraded_performance",
            "Order book": "partial_outage",
            "Spot trading": "major_outage",
            "REST API": "degraded_performance",
        }
        assert incident.impact == "critical"
        assert affected == ["Mobile app", "Order book", "REST API", "Spot trading", "Website"]
        # On the incident: the update form, then the timeline with the first update, at the top.
        update_form = page.get_by_role("heading", name="Post an update")
        timeline = page.locator("#updates-group")
        details = page.get_by_role("heading", name="Incident", exact=True)
        tops = [item.bounding_box()["y"] for item in (update_form, page.locator(".status-grid"), timeline, details)]
        assert tops == sorted(tops)
        expect(timeline).to_contain_text("Orders are not matched.")
        expect(page.locator(".status-grid tr[data-component='Website'] .status-grid__now")).to_have_text("Major outage")


def test_the_admin_states_one_zone_and_not_djangos_server_time_warning(demo, superuser, browser):
    """A browser in New York: no "behind server time" under each date widget, one
    statement of the zone times are typed in, with the browser's own offset beside it."""
    from playwright.sync_api import expect

    now = datetime.now(ZoneInfo("America/New_York"))
    hours = int(now.utcoffset().total_seconds() // 3600)
    expected = (
        f"Times you type are HKT (Asia/Hong_Kong, UTC+8); your browser is at UTC\u2212{-hours} (America/New_York)."
    )
    incident = demo["incident"]
    with daphne() as base:
        context = browser.new_context(timezone_id="America/New_York")
        page = context.new_page()
        log_in(page, base)
        for path in (
            "/admin/incidents/incident/add/",
            f"/admin/incidents/incident/{incident.pk}/change/",
            f"/admin/incidents/maintenance/{demo['maintenance'].pk}/change/",
        ):
            page.goto(base + path)
            page.wait_for_load_state("load")
            expect(page.locator(".datetimeshortcuts").first).to_be_attached()  # Django's widgets ran
            text = page.locator("body").text_content()
            assert "server time" not in text, path
            expect(page.locator("#page-zone")).to_have_text(expected)
            assert text.count("Times you type are") == 1
        context.close()
