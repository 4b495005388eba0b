"""The Content-Security-Policy (nothing inline, nothing from elsewhere) holds on every page
a person opens: in real headless Chromium, no page breaks the policy."""

from __future__ import annotations

import pytest

from incidents.models import Incident

from ..factories import UserFactory
from ..servers import daphne

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.live]

PASSWORD = "correct horse battery staple"

# Collects each `securitypolicyviolation` event of the page (and of its frames), from the
# first script the page runs.
LISTEN = """
window.__csp = [];
document.addEventListener('securitypolicyviolation', (e) => {
  window.__csp.push(`${e.violatedDirective} ${e.blockedURI} ${e.sourceFile}:${e.lineNumber}`);
});
"""


def test_no_page_breaks_the_content_security_policy(demo, browser):
    UserFactory(username="oncall", is_superuser=True, password=PASSWORD)
    incident = Incident.objects.filter(public_id__isnull=False).order_by("pk").first()

    with daphne() as base:
        context = browser.new_context()
        context.add_init_script(LISTEN)
        page = context.new_page()
        console: list[str] = []
        page.on("console", lambda m: console.append(m.text) if "Content Security Policy" in m.text else None)
        seen: dict[str, list[str]] = {}
        headers: dict[str, str] = {}

        def visit(name: str, url: str, ready: str | None = None) -> None:
            response = page.goto(base + url)
            headers[name] = response.headers.get("content-security-policy", "")
            if ready:
                page.wait_for_selector(ready, timeout=15000)
            page.wait_for_timeout(300)  # late styles and scripts (Swagger UI, Redoc)
            seen[name] = page.evaluate("window.__csp") + console[:]
            console.clear()

        visit("status page", "/", "[data-live-region=components]")
        visit("history", "/history")
        visit("incident", f"/incidents/{incident.public_id}")
        visit("subscribe", "/subscribe")
        visit("api docs (Swagger UI)", "/api/docs/", ".swagger-ui .info")
        visit("api docs (Redoc)", "/api/redoc/", ".api-content")
        visit("admin login", "/admin/login/?next=/admin/")
        page.fill("#id_username", "oncall")
        page.fill("#id_password", PASSWORD)
        page.click("input[type=submit]")
        page.wait_for_url(base + "/admin/")
        seen["admin login"] += page.evaluate("window.__csp")
        visit("admin index", "/admin/")
        visit("admin changelist", "/admin/incidents/incident/")
        visit("admin change form", f"/admin/incidents/incident/{incident.pk}/change/", "#incident_form")
        visit("admin add form", "/admin/incidents/incident/add/", "#incident_form")
        visit("admin two-factor enrolment", "/admin/two-factor/", "svg")
        context.close()

    assert all("default-src 'self'" in value for value in headers.values()), headers
    broken = {name: found for name, found in seen.items() if found}
    assert not broken, "\n".join(f"{name}: {line}" for name, found in broken.items() for line in found)
    print(f"CSP violations: 0 on {len(seen)} pages")
