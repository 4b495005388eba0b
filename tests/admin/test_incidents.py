"""The admin's incident forms: open with the status grid, post updates, resolve, write the
postmortem; refusals show on the form and nothing is half-written."""

import re
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.contrib.admin.models import LogEntry
from django.urls import reverse
from django.utils import timezone

from incidents import services
from incidents.models import (
    Component,
    ComponentStatusChange,
    Incident,
    PublicEvent,
)
from incidents.publish import site

from ..factories import open_incident, schedule_maintenance
from .helpers import HKT, change_url, form_errors, grid_rows, post_change, scheduled, select, split

pytestmark = pytest.mark.django_db


# --- opening an incident -----------------------------------------------------------------


def test_responder_opens_an_incident_with_two_component_statuses(
    responder_client, trading, operator, django_capture_on_commit_callbacks
):
    """The add form opens the incident through `incident_open`: first update, component
    statuses with the responder in the audit log, numbered events, and the public page."""
    site.refresh()  # the page as it was: it shows the incident only if rebuilt after commit
    events_before = PublicEvent.objects.count()
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        response = responder_client.post(
            reverse("admin:incidents_incident_add"),
            {
                "name": "Order placement failing",
                "status": "identified",
                "body": "Spot orders **time out**; we are on it.",
                "impact_override": "",
                "started_at_0": "",
                "started_at_1": "",
                "deliver_notifications": "on",
                select(trading["spot"]): "major_outage",
                select(trading["api"]): "degraded_performance",
                select(trading["perps"]): "",
            },
        )

    incident = Incident.objects.get(name="Order placement failing")
    assert response.status_code == 302
    assert response.url == change_url(incident)
    assert len(callbacks) == 1
    assert incident.status == "identified"
    assert incident.impact == "critical"
    assert list(incident.updates.values_list("body", flat=True)) == ["Spot orders **time out**; we are on it."]
    assert Component.objects.get(pk=trading["spot"].pk).status == "major_outage"
    assert Component.objects.get(pk=trading["api"].pk).status == "degraded_performance"
    assert Component.objects.get(pk=trading["perps"].pk).status == "operational"
    changes = ComponentStatusChange.objects.filter(incident=incident)
    assert sorted(changes.values_list("component__name", "actor_label")) == [
        ("REST API", "responder"),
        ("Spot trading", "responder"),
    ]
    assert {c.actor_id for c in changes} == {operator.pk}
    assert list(PublicEvent.objects.filter(seq__gt=events_before).values_list("kind", "action")) == [
        ("component", "status_changed"),
        ("component", "status_changed"),
        ("incident", "created"),
    ]
    assert LogEntry.objects.get(object_id=str(incident.pk)).user == operator
    page = responder_client.get("/")
    assert "Order placement failing" in page.content.decode()


def test_open_form_has_one_grid_of_radio_rows_grouped_with_the_status_now(responder_client, trading):
    """One field, one table: a row per component under its group, its status now, and one
    radio per choice ('unchanged' and the five statuses) named as the services' data expects."""
    services.component_set_status(
        component=trading["api"], status="degraded_performance", actor=services.Actor.system()
    )

    response = responder_client.get(reverse("admin:incidents_incident_add"))
    html = response.content.decode()

    fieldsets = {fieldset.name: fieldset.fields for fieldset in response.context["adminform"]}
    assert fieldsets["Components"] == ("component_grid", "trading_grid")
    assert [name for name in response.context["adminform"].form.fields if name.startswith("component")] == [
        "component_grid"
    ]
    grid = html[html.index('<div class="status-grid">') :]
    assert grid.index(">Trading<") < grid.index('data-component="Spot trading"') < grid.index(">API<")
    rows = grid_rows(html)
    assert list(rows) == ["Spot trading", "Perpetual contracts", "REST API"]
    api = rows["REST API"]
    assert '<td class="status-grid__now status--degraded_performance">' in api
    assert "<span>Degraded performance</span>" in api
    values = re.findall(rf'<input type="radio" name="{select(trading["api"])}" value="([^"]*)"', api)
    assert values == ["", "operational", "degraded_performance", "partial_outage", "major_outage", "under_maintenance"]
    assert re.search(rf'name="{select(trading["api"])}" value="" checked', api)
    assert 'aria-label="REST API: Major outage"' in api


def test_a_bad_status_in_the_grid_is_a_form_error_naming_the_component(responder_client, trading):
    response = responder_client.post(
        reverse("admin:incidents_incident_add"),
        {"name": "X", "status": "investigating", "body": "Y", select(trading["spot"]): "on_fire"},
    )

    assert response.status_code == 200
    assert form_errors(response) == {"component_grid": ["Spot trading: 'on_fire' is not a component status."]}
    assert not Incident.objects.exists()


def test_open_form_may_backdate_the_start(responder_client, trading):
    """A backdated start, typed in page time, becomes the incident's start and its first update's time."""
    started = datetime(2021, 1, 29, 17, 37, tzinfo=HKT)
    responder_client.post(
        reverse("admin:incidents_incident_add"),
        {"name": "Backdated", "status": "investigating", "body": "Looking.", **split("started_at", started)},
    )

    incident = Incident.objects.get(name="Backdated")
    assert incident.started_at == started
    assert incident.updates.get().display_at == started


def test_open_form_refuses_a_start_in_the_future_and_writes_nothing(responder_client, trading):
    """The service's time check shows on the field; no incident, no event."""
    events_before = PublicEvent.objects.count()
    response = responder_client.post(
        reverse("admin:incidents_incident_add"),
        {
            "name": "From the future",
            "status": "investigating",
            "body": "Soon.",
            select(trading["spot"]): "major_outage",
            **split("started_at", timezone.now() + timedelta(hours=2)),
        },
    )

    assert response.status_code == 200
    assert form_errors(response) == {"started_at": ["This time is in the future."]}
    assert not Incident.objects.filter(name="From the future").exists()
    assert PublicEvent.objects.count() == events_before
    assert Component.objects.get(pk=trading["spot"].pk).status == "operational"


# --- updating an incident ----------------------------------------------------------------


def test_posting_an_update_changes_statuses_and_the_timeline(responder_client, trading):
    """The change form's 'Post an update' goes through `incident_post_update`."""
    incident = open_incident(components={trading["spot"]: "major_outage"})

    response = post_change(
        responder_client,
        incident,
        update_status="monitoring",
        update_body="A fix is deployed; watching.",
        **{select(trading["spot"]): "degraded_performance", select(trading["perps"]): "partial_outage"},
    )

    assert response.status_code == 302
    incident.refresh_from_db()
    assert incident.status == "monitoring"
    assert incident.monitoring_at is not None
    assert list(incident.updates.values_list("status", "body")) == [
        ("monitoring", "A fix is deployed; watching."),
        ("investigating", "We are investigating."),
    ]
    latest = incident.updates.first()
    assert sorted(latest.component_changes.values_list("component__name", "new_status", "actor_label")) == [
        ("Perpetual contracts", "partial_outage", "responder"),
        ("Spot trading", "degraded_performance", "responder"),
    ]


def test_saving_a_new_incident_lands_on_it_with_the_update_form_and_timeline_first(responder_client, trading):
    """ "Save" on the add form goes to the incident, where "Post an update" (with the grid)
    and the timeline come before the incident's details and the postmortem."""
    response = responder_client.post(
        reverse("admin:incidents_incident_add"),
        {
            "name": "Deposits delayed",
            "status": "investigating",
            "body": "Looking.",
            select(trading["api"]): "partial_outage",
        },
        follow=True,
    )

    incident = Incident.objects.get(name="Deposits delayed")
    assert response.redirect_chain == [(change_url(incident), 302)]
    html = response.content.decode()
    order = [
        html.index(">Post an update</h2>"),
        html.index('<div class="status-grid">'),
        html.index('id="updates-group"'),
        html.index("Looking."),
        html.index(">Incident</h2>"),
        html.index(">Postmortem</h2>"),
    ]
    assert order == sorted(order)


def test_a_status_change_with_a_blank_body_posts_the_standard_text(responder_client, trading):
    """The help text and what happens agree: blank text with a status change posts the
    status's standard words, never "This field may not be blank."."""
    incident = open_incident(components={trading["spot"]: "major_outage"})

    page = responder_client.get(change_url(incident))
    assert "This field may not be blank." not in page.content.decode()
    help_text = page.context["adminform"].form.fields["update_body"].help_text
    assert "standard text" in help_text and "Leave blank to post nothing" not in help_text
    response = post_change(responder_client, incident, update_status="identified", update_body="")

    assert response.status_code == 302, form_errors(response)
    assert incident.updates.first().body == "The issue has been identified and a fix is being implemented."
    post_change(responder_client, incident, update_status="resolved", update_body="  ")
    assert incident.updates.first().body == "This incident has been resolved."
    assert Component.objects.get(pk=trading["spot"].pk).status == "operational"


def test_resolving_while_setting_a_component_down_needs_the_confirmation(responder_client, trading):
    """The resolve rule in the admin: a form error on the checkbox, nothing written; ticked,
    the incident is resolved and the component stays down."""
    incident = open_incident(components={trading["spot"]: "major_outage"})
    events_before = PublicEvent.objects.count()
    values = {"update_status": "resolved", "update_body": "Fixed.", select(trading["api"]): "major_outage"}

    refused = post_change(responder_client, incident, **values)

    assert refused.status_code == 200
    assert form_errors(refused) == {
        "confirm_down_after_resolve": [
            "Resolving would leave Spot trading (major outage), REST API (major outage) down with no open "
            "incident to explain it. Set them to operational, or confirm that they stay down."
        ]
    }
    assert 'id="id_confirm_down_after_resolve"' in refused.content.decode()
    assert PublicEvent.objects.count() == events_before
    assert Incident.objects.get(pk=incident.pk).status == "investigating"

    done = post_change(responder_client, incident, confirm_down_after_resolve="on", **values)

    assert done.status_code == 302, form_errors(done)
    incident.refresh_from_db()
    assert incident.status == "resolved"
    assert Component.objects.get(pk=trading["api"].pk).status == "major_outage"
    # With statuses given, the affected component not in the grid is left as it was (and was confirmed).
    assert Component.objects.get(pk=trading["spot"].pk).status == "major_outage"


def test_resolving_with_the_grid_unchanged_needs_no_confirmation(responder_client, trading):
    incident = open_incident(components={trading["spot"]: "major_outage"})

    response = post_change(responder_client, incident, update_status="resolved", update_body="Fixed.")

    assert response.status_code == 302, form_errors(response)
    assert Component.objects.get(pk=trading["spot"].pk).status == "operational"


def test_forms_with_times_state_the_zone_once(responder_client, trading):
    """One statement of the zone typed in, at the top of the incident and maintenance forms
    (the browser's offset is added in the browser: tests/test_admin_browser.py)."""
    incident = open_incident()
    maintenance = scheduled()
    for url in (reverse("admin:incidents_incident_add"), change_url(incident), change_url(maintenance)):
        html = responder_client.get(url).content.decode()
        assert html.count('id="page-zone"') == 1, url
        assert "Times you type are <strong>HKT</strong> (Asia/Hong_Kong, UTC+8)" in html
        assert 'data-page-offset-minutes="480"' in html
        assert "admin-extra/page-zone.js" in html


def test_change_page_shows_the_timeline_newest_first_with_component_changes(responder_client, trading):
    incident = open_incident(components={trading["spot"]: "major_outage"}, body="First words.")
    services.incident_post_update(
        incident=incident,
        actor=services.Actor.system(),
        status="identified",
        body="Second words.",
        components={trading["spot"]: "partial_outage"},
    )

    html = responder_client.get(change_url(incident)).content.decode()

    assert html.index("Second words.") < html.index("First words.")
    assert "Spot trading: Major outage → Partial outage" in html


def test_saving_the_change_form_untouched_posts_nothing(responder_client, trading):
    incident = open_incident(components={trading["spot"]: "major_outage"})
    events_before = PublicEvent.objects.count()

    response = post_change(responder_client, incident)

    assert response.status_code == 302
    assert incident.updates.count() == 1
    assert PublicEvent.objects.count() == events_before


def test_renaming_and_overriding_the_impact_go_through_incident_edit(responder_client, trading):
    incident = open_incident(components={trading["spot"]: "degraded_performance"})

    post_change(responder_client, incident, name="Spot orders slow", impact_override="major")

    incident.refresh_from_db()
    assert (incident.name, incident.impact_override, incident.impact) == ("Spot orders slow", "major", "major")
    assert PublicEvent.objects.order_by("seq").last().action == "updated"


def test_resolving_without_components_puts_affected_components_back(responder_client, trading):
    """'Resolved' with no component selected has `incident_resolve`'s meaning."""
    incident = open_incident(components={trading["spot"]: "major_outage", trading["api"]: "partial_outage"})

    post_change(responder_client, incident, update_status="resolved", update_body="All good again.")

    incident.refresh_from_db()
    assert incident.status == "resolved"
    assert incident.resolved_at == incident.updates.first().display_at
    assert set(Component.objects.values_list("status", flat=True)) == {"operational"}


def test_an_update_on_a_resolved_incident_is_a_form_error_and_creates_nothing(responder_client, trading):
    incident = open_incident(components={trading["spot"]: "major_outage"})
    services.incident_resolve(incident=incident, actor=services.Actor.system(), body="Fixed.")
    events_before = PublicEvent.objects.count()

    response = post_change(
        responder_client,
        incident,
        update_status="investigating",
        update_body="It is back.",
        **{select(trading["spot"]): "major_outage"},
    )

    assert response.status_code == 200
    assert form_errors(response) == {
        "update_status": ["The incident is resolved; open a new incident instead of updating this one."]
    }
    assert incident.updates.count() == 2
    assert PublicEvent.objects.count() == events_before
    assert Component.objects.get(pk=trading["spot"].pk).status == "operational"


def test_an_update_dated_before_the_incident_started_is_a_form_error(responder_client, trading):
    incident = open_incident(minutes_ago=30)

    response = post_change(
        responder_client,
        incident,
        update_status="identified",
        update_body="Found it.",
        **split("update_display_at", incident.started_at - timedelta(hours=1)),
    )

    assert form_errors(response) == {"update_display_at": ["An update cannot be dated before the incident started."]}
    assert incident.updates.count() == 1


def test_writing_then_publishing_a_postmortem(responder_client, trading):
    incident = open_incident(components={trading["spot"]: "major_outage"})
    services.incident_resolve(incident=incident, actor=services.Actor.system(), body="Fixed.")

    post_change(responder_client, incident, postmortem_body="## Summary\r\nA cache ran out of bandwidth.")
    incident.refresh_from_db()
    draft = (incident.postmortem_body, incident.postmortem_published_at, incident.status)

    post_change(responder_client, incident, publish_postmortem="on")
    incident.refresh_from_db()

    assert draft == ("## Summary\nA cache ran out of bandwidth.", None, "resolved")
    assert incident.status == "postmortem"
    assert incident.postmortem_published_at is not None
    assert PublicEvent.objects.order_by("seq").last().action == "postmortem_published"


def test_a_refusal_at_save_time_rolls_back_the_whole_save(responder_client, trading):
    """Publishing a postmortem before resolving is refused by the service at save time: the
    error shows on the postmortem field and the update posted in the same save is undone."""
    incident = open_incident(components={trading["spot"]: "major_outage"})
    events_before = PublicEvent.objects.count()

    response = post_change(
        responder_client,
        incident,
        update_status="monitoring",
        update_body="Watching.",
        postmortem_body="Too early.",
        publish_postmortem="on",
    )

    assert response.status_code == 200
    assert form_errors(response) == {"postmortem_body": ["Resolve the incident before publishing its postmortem."]}
    incident.refresh_from_db()
    assert (incident.status, incident.updates.count(), incident.postmortem_body) == ("investigating", 1, "")
    assert PublicEvent.objects.count() == events_before


def test_incident_list_shows_times_in_page_time(responder_client, trading):
    started = datetime(2021, 1, 29, 9, 37, tzinfo=ZoneInfo("UTC"))
    services.incident_open(actor=services.Actor.system(), name="Old outage", body="Down.", started_at=started)

    html = responder_client.get(reverse("admin:incidents_incident_changelist")).content.decode()

    assert "2021-01-29 17:37 HKT" in html


def test_incident_admin_lists_no_maintenance(responder_client, trading):
    schedule_maintenance(name="Upgrade window")
    open_incident(name="Real outage")

    response = responder_client.get(reverse("admin:incidents_incident_changelist"))

    assert [i.name for i in response.context["cl"].result_list] == ["Real outage"]
