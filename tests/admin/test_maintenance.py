"""The admin's maintenance forms and actions: schedule, move along, reschedule."""

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from incidents import rules, services
from incidents.models import (
    Component,
    Incident,
    Maintenance,
    PublicEvent,
)

from .helpers import form_errors, post_change, scheduled, split

pytestmark = pytest.mark.django_db


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
