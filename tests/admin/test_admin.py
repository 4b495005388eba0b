"""The operators' admin: every form and action goes through the services, refusals show on
the form, viewers only look, and the logs cannot be edited by anyone."""

import re
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from django import forms
from django.contrib.admin.models import LogEntry
from django.urls import reverse
from django.utils import timezone

from incidents import rules, services
from incidents.models import (
    Component,
    ComponentGroup,
    ComponentStatusChange,
    Incident,
    Maintenance,
    PublicEvent,
)
from incidents.publish import snapshot

from ..factories import ComponentFactory, ComponentGroupFactory, UserFactory, open_incident, schedule_maintenance

pytestmark = pytest.mark.django_db

HKT = ZoneInfo("Asia/Hong_Kong")


@pytest.fixture
def trading(db):
    group = ComponentGroupFactory(name="Trading")
    return {
        "spot": ComponentFactory(name="Spot trading", group=group),
        "perps": ComponentFactory(name="Perpetual contracts", group=group),
        "api": ComponentFactory(name="REST API", group=ComponentGroupFactory(name="API")),
    }


@pytest.fixture
def responder_client(client, operator):
    client.force_login(operator)
    return client


def scheduled(**kwargs) -> Maintenance:
    """A maintenance scheduled through the service, as the maintenance admin sees it."""
    return Maintenance.objects.get(pk=schedule_maintenance(**kwargs).pk)


def select(component: Component) -> str:
    return f"component_{component.pk}"


def split(name: str, moment: datetime) -> dict:
    """The two inputs of the admin's date/time widget, in the page's time zone."""
    local = moment.astimezone(HKT)
    return {f"{name}_0": local.strftime("%Y-%m-%d"), f"{name}_1": local.strftime("%H:%M:%S")}


def form_data(response, **values) -> dict:
    """What a browser would post back from an admin form page, with `values` changed."""
    data = {}
    for bound in response.context["adminform"].form:
        if bound.field.disabled:
            continue
        value = bound.value()
        if isinstance(value, datetime):
            data.update(split(bound.html_name, value))
        elif isinstance(bound.field, forms.BooleanField):
            if value:
                data[bound.html_name] = "on"
        elif isinstance(value, dict):
            continue  # the component grid: its radios post as `component_<pk>`, unchanged when absent
        elif isinstance(value, list | tuple):
            data[bound.html_name] = [str(v) for v in value]
        else:
            data[bound.html_name] = "" if value is None else str(value)
    for inline in response.context["inline_admin_formsets"]:
        management = inline.formset.management_form
        for name in management.fields:
            data[management.add_prefix(name)] = management[name].value()
    data.update(values)
    return data


def change_url(obj) -> str:
    return reverse(f"admin:incidents_{obj._meta.model_name}_change", args=[obj.pk])


def post_change(client, obj, **values):
    """Open the change page of `obj` and post it back with `values`."""
    url = change_url(obj)
    page = client.get(url)
    assert page.status_code == 200
    return client.post(url, form_data(page, **values))


def form_errors(response) -> dict:
    form = response.context["adminform"].form
    return {name: list(errors) for name, errors in form.errors.items()}


# --- opening an incident -----------------------------------------------------------------


def test_responder_opens_an_incident_with_two_component_statuses(
    responder_client, trading, operator, django_capture_on_commit_callbacks
):
    """The add form opens the incident through `incident_open`: first update, component
    statuses with the responder in the audit log, numbered events, and the public page."""
    snapshot.rebuild()  # the page as it was: it shows the incident only if rebuilt after commit
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


def grid_rows(html: str) -> dict[str, str]:
    """Each row of the component grid: the component's name → the row's HTML."""
    grid = html[html.index('<div class="status-grid">') :]
    grid = grid[: grid.index("</table>")]
    rows = re.findall(r'<tr class="status-grid__row[^"]*" data-component="([^"]+)">(.*?)</tr>', grid, re.S)
    return dict(rows)


def test_open_form_has_one_grid_of_radio_rows_grouped_with_the_status_now(responder_client, trading):
    """One field, one table: a row per component under its group, its status now, and one
    radio per choice ('unchanged' and the five statuses) named as the services' data expects."""
    services.component_set_status(
        component=trading["api"], status="degraded_performance", actor=services.Actor.system()
    )

    response = responder_client.get(reverse("admin:incidents_incident_add"))
    html = response.content.decode()

    fieldsets = {fieldset.name: fieldset.fields for fieldset in response.context["adminform"]}
    assert fieldsets["Components"] == ("component_grid",)
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


# --- scheduled maintenance ---------------------------------------------------------------


def test_responder_schedules_a_maintenance(responder_client, trading):
    start = (timezone.now() + timedelta(days=2)).replace(second=0, microsecond=0)
    response = responder_client.post(
        reverse("admin:incidents_maintenance_add"),
        {
            "name": "Matching engine upgrade",
            "body": "We will upgrade the matching engine.",
            **split("scheduled_for", start),
            **split("scheduled_until", start + timedelta(hours=2)),
            "components": [trading["spot"].pk, trading["perps"].pk],
            "auto_start": "on",
            "components_to_maintenance": "on",
            "notify_at_transitions": "on",
            "remind_before_minutes": "30",
            "deliver_notifications": "on",
        },
    )

    maintenance = Maintenance.objects.get(name="Matching engine upgrade")
    assert response.status_code == 302
    assert response.url == reverse("admin:incidents_maintenance_changelist")
    assert (maintenance.status, maintenance.scheduled_for, maintenance.remind_before_minutes) == (
        "scheduled",
        start,
        30,
    )
    assert maintenance.auto_start and not maintenance.auto_complete
    assert set(maintenance.components.all()) == {trading["spot"], trading["perps"]}
    assert PublicEvent.objects.order_by("seq").last().action == "scheduled"


def test_schedule_form_refuses_an_end_before_the_start(responder_client, trading):
    start = timezone.now() + timedelta(days=2)
    response = responder_client.post(
        reverse("admin:incidents_maintenance_add"),
        {
            "name": "Backwards",
            "body": "Oops.",
            **split("scheduled_for", start),
            **split("scheduled_until", start - timedelta(hours=1)),
        },
    )

    assert form_errors(response) == {"scheduled_until": ["The end must be after the start."]}
    assert not Incident.objects.filter(name="Backwards").exists()


def test_starting_a_maintenance_from_the_change_form(responder_client, trading):
    maintenance = scheduled(components=[trading["spot"]])

    response = post_change(responder_client, maintenance, transition="start", update_body="Work has begun.")

    assert response.status_code == 302
    maintenance.refresh_from_db()
    assert maintenance.status == "in_progress"
    assert maintenance.updates.first().body == "Work has begun."
    assert Component.objects.get(pk=trading["spot"].pk).status == "under_maintenance"


def test_completing_a_maintenance_from_the_change_form(responder_client, trading):
    maintenance = scheduled(components=[trading["spot"]])
    services.maintenance_start(maintenance=maintenance, actor=services.Actor.system())

    post_change(responder_client, maintenance, transition="complete")

    maintenance.refresh_from_db()
    assert maintenance.status == "completed"
    assert maintenance.updates.first().body == rules.DEFAULT_BODIES["completed"]
    assert Component.objects.get(pk=trading["spot"].pk).status == "operational"


def test_a_progress_note_keeps_the_status(responder_client, trading):
    maintenance = scheduled()
    services.maintenance_start(maintenance=maintenance, actor=services.Actor.system())

    post_change(responder_client, maintenance, transition="note", update_body="Half way.")

    maintenance.refresh_from_db()
    assert (maintenance.status, maintenance.updates.first().body) == ("in_progress", "Half way.")


def test_cancelling_a_maintenance_from_the_change_form(responder_client, trading):
    maintenance = scheduled()

    post_change(responder_client, maintenance, transition="cancel", update_body="Not needed after all.")

    maintenance.refresh_from_db()
    assert (maintenance.status, maintenance.updates.first().body) == ("cancelled", "Not needed after all.")


def test_an_invalid_transition_is_a_form_error(responder_client, trading):
    maintenance = scheduled()
    services.maintenance_start(maintenance=maintenance, actor=services.Actor.system())

    response = post_change(responder_client, maintenance, transition="cancel")

    assert response.status_code == 200
    assert form_errors(response) == {"transition": ["A maintenance that is in progress cannot become cancelled."]}
    maintenance.refresh_from_db()
    assert (maintenance.status, maintenance.updates.count()) == ("in_progress", 2)


def test_rescheduling_a_maintenance(responder_client, trading):
    maintenance = scheduled(hours_ahead=24)
    new_start = (maintenance.scheduled_for + timedelta(days=1)).replace(microsecond=0)

    response = post_change(
        responder_client,
        maintenance,
        **split("scheduled_for", new_start),
        **split("scheduled_until", new_start + timedelta(hours=3)),
        reschedule_body="Moved a day to avoid the futures expiry.",
    )

    assert response.status_code == 302
    maintenance.refresh_from_db()
    assert (maintenance.scheduled_for, maintenance.scheduled_until) == (new_start, new_start + timedelta(hours=3))
    assert maintenance.reschedule_note.startswith("Rescheduled from ")
    assert maintenance.updates.first().body == "Moved a day to avoid the futures expiry."
    assert PublicEvent.objects.order_by("seq").last().action == "rescheduled"


def test_a_transition_alone_does_not_reschedule(responder_client, trading):
    """The widgets show times to the second; a stored time with microseconds is not 'moved'."""
    maintenance = scheduled()

    post_change(responder_client, maintenance, transition="note", update_body="Still on.")

    maintenance.refresh_from_db()
    assert maintenance.reschedule_note == ""
    assert list(maintenance.updates.values_list("body", flat=True))[0] == "Still on."


def test_list_actions_start_and_complete_maintenance(responder_client, trading):
    first, second = scheduled(name="First"), scheduled(name="Second")
    url = reverse("admin:incidents_maintenance_changelist")

    responder_client.post(url, {"action": "start", "_selected_action": [first.pk, second.pk]})
    started = sorted(Maintenance.objects.values_list("name", "status"))
    responder_client.post(url, {"action": "complete", "_selected_action": [first.pk]})

    assert started == [("First", "in_progress"), ("Second", "in_progress")]
    assert Maintenance.objects.get(pk=first.pk).status == "completed"


def test_list_action_refusals_are_messages_not_errors(responder_client, trading):
    maintenance = scheduled(name="Busy")
    services.maintenance_start(maintenance=maintenance, actor=services.Actor.system())

    response = responder_client.post(
        reverse("admin:incidents_maintenance_changelist"),
        {"action": "cancel", "_selected_action": [maintenance.pk]},
        follow=True,
    )

    assert response.status_code == 200
    assert [str(m) for m in response.context["messages"]] == [
        "Busy: A maintenance that is in progress cannot become cancelled."
    ]
    assert Maintenance.objects.get(pk=maintenance.pk).status == "in_progress"


# --- components ----------------------------------------------------------------------------


def test_component_created_through_the_service(responder_client):
    group = ComponentGroupFactory(name="Account")

    responder_client.post(
        reverse("admin:incidents_component_add"),
        {
            "name": "Withdrawals",
            "description": "",
            "group": group.pk,
            "position": "3",
            "status": "partial_outage",
            "showcase": "on",
            "okx_service_type": "99",
        },
    )

    component = Component.objects.get(name="Withdrawals")
    assert (component.group, component.status) == (group, "partial_outage")
    assert list(PublicEvent.objects.filter(component=component).values_list("action", flat=True)) == [
        "created",
        "status_changed",
    ]
    assert ComponentStatusChange.objects.get(component=component).actor_label == "responder"


def test_component_status_set_from_the_change_form_is_audited(responder_client, trading):
    post_change(responder_client, trading["api"], status="major_outage", name="REST API v5")

    component = Component.objects.get(pk=trading["api"].pk)
    assert (component.name, component.status) == ("REST API v5", "major_outage")
    change = ComponentStatusChange.objects.get(component=component)
    assert (change.old_status, change.new_status, change.actor_label, change.incident) == (
        "operational",
        "major_outage",
        "responder",
        None,
    )


def test_component_status_list_action(responder_client, trading):
    responder_client.post(
        reverse("admin:incidents_component_changelist"),
        {"action": "set_status_major_outage", "_selected_action": [trading["spot"].pk, trading["perps"].pk]},
    )

    assert sorted(Component.objects.filter(status="major_outage").values_list("name", flat=True)) == [
        "Perpetual contracts",
        "Spot trading",
    ]
    assert ComponentStatusChange.objects.filter(actor_label="responder").count() == 2


def test_components_cannot_be_deleted_even_by_a_superuser(client, trading):
    client.force_login(UserFactory(username="root", is_superuser=True))

    response = client.get(reverse("admin:incidents_component_delete", args=[trading["spot"].pk]))
    actions = client.get(reverse("admin:incidents_component_changelist")).context["action_form"]

    assert response.status_code == 403
    assert "delete_selected" not in dict(actions.fields["action"].choices)


def test_group_saved_through_the_service(responder_client):
    responder_client.post(
        reverse("admin:incidents_componentgroup_add"), {"name": "Earn", "description": "", "position": "7"}
    )

    group = ComponentGroup.objects.get(name="Earn")
    assert PublicEvent.objects.order_by("seq").last().payload["group"] == {"id": group.public_id, "name": "Earn"}


# --- who may do what -----------------------------------------------------------------------


def test_viewer_gets_403_on_the_add_page(client, viewer):
    client.force_login(viewer)

    assert client.get(reverse("admin:incidents_incident_add")).status_code == 403
    assert client.get(reverse("admin:incidents_maintenance_add")).status_code == 403


def test_viewer_sees_an_incident_but_cannot_post_an_update(client, viewer, trading):
    incident = open_incident(components={trading["spot"]: "major_outage"})
    client.force_login(viewer)

    page = client.get(change_url(incident))
    response = client.post(
        change_url(incident), {"name": incident.name, "update_status": "resolved", "update_body": "Done."}
    )

    assert page.status_code == 200
    assert "Post an update" not in [fieldset.name for fieldset in page.context["adminform"]]
    assert response.status_code == 403
    assert incident.updates.count() == 1


def test_viewer_cannot_run_list_actions(client, viewer, trading):
    client.force_login(viewer)

    client.post(
        reverse("admin:incidents_component_changelist"),
        {"action": "set_status_major_outage", "_selected_action": [trading["spot"].pk]},
    )

    assert Component.objects.get(pk=trading["spot"].pk).status == "operational"


def test_audit_log_has_no_add_change_or_delete_even_for_a_superuser(client, trading):
    services.component_set_status(component=trading["spot"], status="major_outage", actor=services.Actor.system())
    change = ComponentStatusChange.objects.get()
    client.force_login(UserFactory(username="root", is_superuser=True))
    url = reverse("admin:incidents_componentstatuschange_change", args=[change.pk])

    add = client.get(reverse("admin:incidents_componentstatuschange_add"))
    view = client.get(url)
    post = client.post(url, {"actor_label": "someone else"})
    delete = client.get(reverse("admin:incidents_componentstatuschange_delete", args=[change.pk]))

    assert (add.status_code, view.status_code, post.status_code, delete.status_code) == (403, 200, 403, 403)
    assert view.context["has_change_permission"] is False
    assert ComponentStatusChange.objects.get().actor_label == "system"


def test_event_log_is_read_only(client, trading):
    services.component_set_status(component=trading["spot"], status="major_outage", actor=services.Actor.system())
    event = PublicEvent.objects.get()
    client.force_login(UserFactory(username="root", is_superuser=True))

    assert client.get(reverse("admin:incidents_publicevent_changelist")).status_code == 200
    assert client.get(reverse("admin:incidents_publicevent_add")).status_code == 403
    assert client.post(reverse("admin:incidents_publicevent_change", args=[event.pk]), {}).status_code == 403


# --- Markdown preview ----------------------------------------------------------------------


def test_markdown_preview_returns_sanitized_html(responder_client):
    response = responder_client.post(
        reverse("admin:incidents_markdown_preview"), {"text": "**Down** <script>alert(1)</script>"}
    )

    assert response.status_code == 200
    assert "<strong>Down</strong>" in response.content.decode()
    assert "<script>" not in response.content.decode()


def test_markdown_preview_is_for_staff_only(client):
    client.force_login(UserFactory(username="outsider", is_staff=False))

    response = client.post(reverse("admin:incidents_markdown_preview"), {"text": "hi"})

    assert response.status_code == 302
    assert "/login/" in response.url


# --- every page renders --------------------------------------------------------------------


@pytest.mark.parametrize("role", ["operator", "viewer"])
def test_every_admin_page_renders_for_responders_and_viewers(client, demo, role, request):
    """The lists and the change pages of the demo's rows, for both roles, without an error."""
    client.force_login(request.getfixturevalue(role))
    incident, maintenance = demo["incident"], Maintenance.objects.get(pk=demo["maintenance"].pk)
    component = Component.objects.first()
    urls = [
        reverse("admin:index"),
        *(
            reverse(f"admin:incidents_{name}_changelist")
            for name in (
                "component",
                "componentgroup",
                "incident",
                "maintenance",
                "componentstatuschange",
                "publicevent",
            )
        ),
        change_url(incident),
        change_url(maintenance),
        change_url(component),
        change_url(component.group),
        change_url(ComponentStatusChange.objects.first()),
        change_url(PublicEvent.objects.first()),
    ]
    if role == "operator":
        urls += [reverse(f"admin:incidents_{name}_add") for name in ("incident", "maintenance", "component")]

    statuses = {url: client.get(url).status_code for url in urls}

    assert set(statuses.values()) == {200}, statuses
