"""The public HTML pages: the status page, the history and an incident's page."""

import re
from datetime import UTC, timedelta

import pytest
from django.utils import timezone

from incidents import demo as demo_data
from incidents import services
from incidents.markdown import render_markdown
from incidents.models import Component
from incidents.publish import site

from ..factories import ComponentFactory, open_incident, schedule_maintenance

pytestmark = pytest.mark.django_db

SYSTEM = services.Actor.system()


def html_of(response) -> str:
    assert response.status_code == 200, response.status_code
    return response.content.decode()


def section(html: str, heading_id: str) -> str:
    """The HTML of the <section> labelled by the heading with this id."""
    start = html.index(f'aria-labelledby="{heading_id}"')
    end = html.find("<section", start + 1)
    end = html.index("</section>", start) if end == -1 else end
    return html[start:end]


# --- the status page ---------------------------------------------------------------------


def test_status_page_banner_reads_all_systems_operational_for_the_demo(client, demo):
    html = html_of(client.get("/"))

    assert re.search(r'<h1 id="page-status"[^>]*>All Systems Operational</h1>', html)
    assert 'class="banner banner--operational"' in html


def test_status_page_lists_every_demo_group_and_component(client, demo):
    html = html_of(client.get("/"))

    for group, components in demo_data.COMPONENTS:
        assert re.search(rf'<h3 class="group__name" id="group-\w+">{group}</h3>', html)
        for name, description, _service_type in components:
            assert f'<span class="component__name">{name}</span>' in html
            assert description in html


def test_status_page_shows_ninety_uptime_bars_per_showcased_component(client, demo):
    html = html_of(client.get("/"))

    strips = re.findall(r'<ol class="uptime__bars" aria-label="([^"]+)".*?</ol>', html, flags=re.S)
    showcased = Component.objects.filter(showcase=True, is_hidden=False).count()
    assert len(strips) == showcased == 10
    for strip in re.finditer(r'<ol class="uptime__bars".*?</ol>', html, flags=re.S):
        assert strip.group(0).count('<button type="button" class="bar bar--') == 90


def test_uptime_bar_days_carry_their_date_and_description_as_text(client, demo):
    html = html_of(client.get("/"))
    today = timezone.localdate()

    label = f"{today:%b} {today.day}, {today.year}: No downtime recorded"
    assert f'aria-label="{label}"' in html
    assert f'title="{today:%b} {today.day}, {today.year} · No downtime recorded"' in html
    assert "100.00% uptime" in html


def test_each_uptime_strip_is_one_tab_stop_on_today(client, demo):
    html = html_of(client.get("/"))

    for strip in re.finditer(r'<ol class="uptime__bars".*?</ol>', html, flags=re.S):
        bars = re.findall(r'<button type="button" class="bar [^"]+" tabindex="(-?\d)"', strip.group(0))
        assert bars == ["-1"] * 89 + ["0"]


def test_component_without_uptime_showcase_has_no_bars(client, demo):
    ComponentFactory(name="Fiat on-ramp", showcase=False)
    html = html_of(client.get("/"))

    row = html[html.index('<span class="component__name">Fiat on-ramp</span>') :]
    row = row[: row.index("</li>")]
    assert "uptime__bars" not in row


def test_status_page_shows_the_upcoming_maintenance_with_its_window(client, demo):
    maintenance = demo["maintenance"]
    html = html_of(client.get("/"))

    block = section(html, "maintenance")
    assert demo_data.MAINTENANCE_NAME in block
    assert f'href="/incidents/{maintenance.public_id}"' in block
    assert ">Scheduled</span>" in block
    start = maintenance.scheduled_for.astimezone(timezone.get_default_timezone())
    assert f"{start:%b} {start.day}, {start.year} 06:00 HKT</time> – " in block
    assert ">07:00 HKT</time>" in block


def test_status_page_links_the_latest_incident_when_none_resolved_this_week(client, demo):
    incident = demo["incident"]
    html = html_of(client.get("/"))

    block = section(html, "past")
    assert '<h2 id="past">Latest incident</h2>' in block
    assert f'href="/incidents/{incident.public_id}"' in block
    assert demo_data.INCIDENT_NAME in block
    assert "Jan 29, 2021</time>" in block
    assert "<dd>41 min</dd>" in block


def test_status_page_lists_incidents_resolved_this_week_instead_of_the_latest(client, demo):
    incident = open_incident(name="Withdrawals delayed", minutes_ago=90)
    services.incident_resolve(incident=incident, actor=SYSTEM, body="Withdrawals are processed again.")
    html = html_of(client.get("/"))

    block = section(html, "past")
    assert "Resolved in the last 7 days" in block
    assert f'href="/incidents/{incident.public_id}"' in block
    assert demo_data.INCIDENT_NAME not in block


def test_no_incidents_this_week_is_never_said_under_an_open_incident(client, demo):
    assert "No incidents in the last 7 days." in section(html_of(client.get("/")), "past")
    open_incident(name="Withdrawals delayed", minutes_ago=30)
    site.refresh()  # the test's transaction never commits, so nothing after commit runs
    block = section(html_of(client.get("/")), "past")

    assert "No incidents in the last 7 days." not in block
    assert '<h2 id="past">Latest resolved incident</h2>' in block
    assert demo_data.INCIDENT_NAME in block


def test_upcoming_maintenance_is_announced_not_listed_as_history(client, demo):
    """The page, the JSON history and the feeds list what happened; a maintenance joins them
    when it starts (or is cancelled)."""
    name = demo["maintenance"].name
    assert name in html_of(client.get("/"))  # announced as upcoming
    assert name not in html_of(client.get("/history"))
    assert name not in client.get("/api/v2/history.json").content.decode()
    assert name not in client.get("/history.atom").content.decode()

    services.maintenance_start(maintenance=demo["maintenance"], actor=SYSTEM)
    site.refresh()
    assert name in html_of(client.get("/history"))
    assert name in client.get("/history.atom").content.decode()


def test_a_sub_minute_incident_never_reads_zero_minutes(client, demo):
    incident = open_incident(name="Quotes paused", minutes_ago=2)
    services.incident_resolve(
        incident=incident, actor=SYSTEM, body="Back.", display_at=incident.started_at + timedelta(seconds=40)
    )
    home, history = html_of(client.get("/")), html_of(client.get("/history"))

    assert "0 min" not in section(home, "past")
    assert "<dd>&lt; 1 min</dd>" in section(home, "past")
    assert "Duration: &lt; 1 min" in history


def test_status_page_links_to_the_history(client, demo):
    html = html_of(client.get("/"))

    assert 'href="/history">Incident history →</a>' in html


def test_open_major_outage_turns_the_banner_red_and_shows_the_timeline(client, demo):
    order_book = Component.objects.get(name="Order book")
    incident = open_incident(
        name="Order book frozen", components={order_book: "major_outage"}, body="Depth is not updating."
    )
    html = html_of(client.get("/"))

    assert re.search(r'<h1 id="page-status"[^>]*>Major System Outage</h1>', html)
    block = section(html, "active-incidents")
    assert f'href="/incidents/{incident.public_id}">Order book frozen</a>' in block
    assert '<p class="timeline__status">Investigating</p>' in block
    assert "<p>Depth is not updating.</p>" in block
    assert "Order book: Operational → Major outage" in block


def banner(html: str) -> str:
    return re.search(r'<h1 id="page-status"[^>]*>(.*?)</h1>', html, re.S).group(1)


def test_banner_names_what_is_down_when_no_incident_explains_it(client, demo):
    """Statuses set by hand colour the banner; with no incident under them, it names them."""
    order_book = Component.objects.get(name="Order book")
    rest_api = Component.objects.get(name="REST API")
    services.component_set_status(component=rest_api, status="partial_outage", actor=SYSTEM)
    services.component_set_status(component=order_book, status="major_outage", actor=SYSTEM)

    html = html_of(client.get("/"))

    assert banner(html) == 'Major System Outage<span class="banner__detail"> — Order book, REST API</span>'


def test_banner_names_nothing_an_open_incident_explains(client, demo):
    order_book = Component.objects.get(name="Order book")
    rest_api = Component.objects.get(name="REST API")
    open_incident(components={order_book: "major_outage"})
    services.component_set_status(component=rest_api, status="degraded_performance", actor=SYSTEM)

    html = html_of(client.get("/"))

    assert banner(html) == 'Major System Outage<span class="banner__detail"> — REST API</span>'


def test_resolved_with_a_component_confirmed_down_the_banner_names_it(client, demo):
    """The confirmed case of the resolve rule: no incident is open, and the banner says why it is red."""
    order_book = Component.objects.get(name="Order book")
    incident = open_incident(components={order_book: "major_outage"})
    services.incident_resolve(
        incident=incident,
        actor=SYSTEM,
        body="Trading is back; the order book stays halted.",
        components={order_book: "major_outage"},
        confirm_down_after_resolve=True,
    )

    html = html_of(client.get("/"))

    assert banner(html) == 'Major System Outage<span class="banner__detail"> — Order book</span>'
    assert 'aria-labelledby="active-incidents"' not in html


def test_an_open_incident_with_no_components_is_not_all_systems_operational(client, demo):
    """No "All Systems Operational" above an active incident, and no green icon on it."""
    incident = open_incident(name="Withdrawals delayed")
    assert incident.impact == "none"

    html = html_of(client.get("/"))

    assert banner(html) == "Partially Degraded Service"
    assert "banner--degraded_performance" in html
    start = html.index(f'aria-labelledby="card-{incident.public_id}"')
    card = html[start : html.index("</article>", start)]
    assert '<use href="#i-none">' in card
    assert "#i-operational" not in card


def test_component_status_is_text_and_icon_not_colour_alone(client, demo):
    order_book = Component.objects.get(name="Order book")
    open_incident(components={order_book: "partial_outage"})
    html = html_of(client.get("/"))

    row = html[html.index('<span class="component__name">Order book</span>') :]
    row = row[: row.index("</li>")]
    assert '<use href="#i-partial_outage"></use></svg><span>Partial outage</span>' in row


def test_second_request_to_the_status_page_makes_no_queries(client, demo, django_assert_num_queries):
    client.get("/")

    with django_assert_num_queries(0):
        response = client.get("/")

    assert "All Systems Operational" in html_of(response)


def test_status_page_times_are_page_time_with_the_utc_instant(client, demo):
    html = html_of(client.get("/"))

    assert '<time datetime="2021-01-29T09:37:00Z" data-fmt="date">Jan 29, 2021</time>' in html
    assert '<time datetime="2021-01-29T09:37:00Z" data-fmt="hm">17:37</time>' in html
    assert '<time datetime="2021-01-29T10:18:00Z" data-fmt="time">18:18 HKT</time>' in html


def test_pages_link_the_stylesheet_and_the_script_which_are_served(client, demo):
    html = html_of(client.get("/"))

    assert '<link rel="stylesheet" href="/static/css/status.css">' in html
    assert '<script src="/static/js/status.js" defer></script>' in html
    assert client.get("/static/css/status.css").status_code == 200
    assert client.get("/static/js/status.js").status_code == 200


# --- an incident's page ------------------------------------------------------------------


def test_incident_page_shows_the_five_updates_newest_first(client, demo):
    html = html_of(client.get(demo["incident"].get_absolute_url()))

    timeline = section(html, "updates")
    statuses = re.findall(r'<p class="timeline__status">([^<]+)</p>', timeline)
    assert statuses == ["Resolved", "Identified", "Monitoring", "Identified", "Investigating"]
    first_words = [body.split(":")[0][:30] for _at, _s, body, _c in reversed(demo_data.TIMELINE)]
    positions = [timeline.index(words) for words in first_words]
    assert positions == sorted(positions)


def test_incident_page_shows_the_durations(client, demo):
    html = html_of(client.get(demo["incident"].get_absolute_url()))

    assert "<dt>Time to identify</dt><dd>3 min</dd>" in html
    assert "<dt>Time to mitigate</dt><dd>21 min</dd>" in html
    assert "<dt>Time to resolve</dt><dd>41 min</dd>" in html


def test_incident_page_shows_component_changes_of_each_update(client, demo):
    html = html_of(client.get(demo["incident"].get_absolute_url()))

    assert "Market data: Major outage → Operational" in html
    assert "REST API: Partial outage → Major outage" in html
    assert "Perpetual contracts: Partial outage → Operational" in html


def test_incident_page_shows_impact_and_affected_components(client, demo):
    html = html_of(client.get(demo["incident"].get_absolute_url()))

    assert "Impact: Critical" in html
    affected = section(html, "affected")
    for name in ("Market data", "Order book", "REST API", "Perpetual contracts"):
        assert f"<li>{name}</li>" in affected


def test_incident_page_renders_the_published_postmortem(client, demo):
    html = html_of(client.get(demo["incident"].get_absolute_url()))

    postmortem = section(html, "postmortem-title")
    assert "<h3>Summary</h3>" in postmortem
    assert "<h3>What happened</h3>" in postmortem
    assert "<h3>What we are changing</h3>" in postmortem
    assert "<strong>21 minutes</strong>" in postmortem
    assert "<table>" in postmortem


def test_incident_page_times_are_in_page_time_with_the_utc_instant(client, demo):
    html = html_of(client.get(demo["incident"].get_absolute_url()))

    assert '<time datetime="2021-01-29T09:37:00Z" data-fmt="datetime">Jan 29, 2021 17:37 HKT</time>' in html
    assert '<time datetime="2021-01-29T10:18:00Z" data-fmt="datetime">Jan 29, 2021 18:18 HKT</time>' in html


def test_draft_postmortem_is_not_shown(client, db):
    incident = open_incident(name="API latency")
    services.incident_resolve(incident=incident, actor=SYSTEM, body="Latency is back to normal.")
    services.postmortem_save(incident=incident, actor=SYSTEM, body="## Draft: root cause still unclear")

    html = html_of(client.get(incident.get_absolute_url()))

    assert "root cause still unclear" not in html
    assert 'id="postmortem"' not in html


def test_unknown_incident_is_404(client, db):
    response = client.get("/incidents/doesnotexist")

    assert response.status_code == 404


def test_maintenance_page_shows_window_status_and_reschedule_note(client, db):
    maintenance = schedule_maintenance(name="Wallet upgrade", hours_ahead=48)
    later = maintenance.scheduled_for + timedelta(days=1)
    services.maintenance_reschedule(
        maintenance=maintenance, actor=SYSTEM, scheduled_for=later, scheduled_until=later + timedelta(hours=2)
    )
    maintenance.refresh_from_db()

    html = html_of(client.get(maintenance.get_absolute_url()))

    assert "<dt>Window</dt>" in html
    assert f'<time datetime="{later.astimezone(UTC):%Y-%m-%dT%H:%M:%SZ}"' in html
    assert '<span class="pill">Scheduled</span>' in html
    assert f"<strong>Schedule change:</strong> {maintenance.reschedule_note}" in html
    assert "Time to resolve" not in html


# --- the history -------------------------------------------------------------------------


def test_history_groups_entries_under_their_month(client, demo):
    html = html_of(client.get("/history"))

    january = section(html, "month-2021-01")
    assert '<h2 class="month__title" id="month-2021-01">January 2021</h2>' in january
    assert demo_data.INCIDENT_NAME in january
    assert demo_data.MAINTENANCE_NAME not in january


def test_history_entry_shows_impact_status_start_and_duration(client, demo):
    html = html_of(client.get("/history"))

    entry = section(html, "month-2021-01")
    assert f'href="/incidents/{demo["incident"].public_id}"' in entry
    assert "Impact: Critical" in entry
    assert '<span class="pill">Postmortem</span>' in entry
    assert 'Started <time datetime="2021-01-29T09:37:00Z" data-fmt="datetime">Jan 29, 2021 17:37 HKT</time>' in entry
    assert "Duration: 41 min" in entry


def test_history_pages_through_older_entries_without_overlap(client, db):
    incidents = [open_incident(name=f"Incident {n}", minutes_ago=60 * (n + 1)) for n in range(30)]

    first = html_of(client.get("/history"))
    older = re.search(r'<a rel="next" href="\?before=([^"]+)">Older →</a>', first)
    assert older
    second = html_of(client.get(f"/history?before={older.group(1)}"))

    first_ids = set(re.findall(r'href="/incidents/(\w+)"', first))
    second_ids = set(re.findall(r'href="/incidents/(\w+)"', second))
    assert len(first_ids) == 25
    assert len(second_ids) == 5
    assert first_ids.isdisjoint(second_ids)
    assert first_ids | second_ids == {i.public_id for i in incidents}
    assert "Older →" not in second


def test_history_with_a_bad_cursor_is_400_with_a_message(client, db):
    response = client.get("/history?before=not-a-cursor")

    assert response.status_code == 400
    assert "This link to older history is not valid." in response.content.decode()


# --- Markdown and escaping ---------------------------------------------------------------


def test_markdown_drops_scripts_event_handlers_and_javascript_links():
    html = str(
        render_markdown(
            "Hello <script>alert(1)</script>\n\n<img src=x onerror=alert(1)>\n\n[x](javascript:alert(1)) **bold**"
        )
    )

    assert "<script" not in html
    assert "alert(1)</" not in html
    assert "<img" not in html
    assert "onerror" not in html
    assert "javascript:" not in html
    assert "<strong>bold</strong>" in html


def test_markdown_links_get_rel_noopener_noreferrer_nofollow():
    html = str(render_markdown("[docs](https://example.com/a)"))

    assert html == '<p><a href="https://example.com/a" rel="noopener noreferrer nofollow">docs</a></p>'


def test_update_body_is_sanitized_on_the_incident_page(client, db):
    incident = open_incident(body="Look <script>alert(1)</script> [here](javascript:alert(1))")

    html = html_of(client.get(incident.get_absolute_url()))

    timeline = section(html, "updates")
    assert "<script" not in timeline
    assert "javascript:" not in timeline
    assert "here</a>" in timeline


def test_incident_name_is_escaped(client, db):
    incident = open_incident(name="<b>Bold</b> outage")

    for url in ("/", "/history", incident.get_absolute_url()):
        html = html_of(client.get(url))
        assert "&lt;b&gt;Bold&lt;/b&gt; outage" in html, url
        assert "<b>Bold</b>" not in html, url


def test_every_page_links_subscribing_and_the_feeds(client, demo):
    for path in ("/", "/history", f"/incidents/{demo['incident'].public_id}"):
        html = client.get(path).content.decode()
        assert 'href="/subscribe"' in html, path
        assert 'rel="alternate" type="application/atom+xml"' in html and 'href="/history.rss"' in html, path
