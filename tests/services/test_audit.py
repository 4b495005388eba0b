"""Every write is audited: who, what (with the fields' before and after), when, from where
(admin with the client's address, API token, task, command, a reader's own link), in the
change's own transaction (issue #12)."""

from datetime import timedelta

import pytest
from django.contrib.auth.models import Group
from django.core.exceptions import ValidationError
from django.core.management import call_command
from django.urls import reverse
from django.utils import timezone

from incidents import services
from incidents.models import AuditEntry, IncidentUpdate, Subscriber

from ..factories import ComponentFactory, UserFactory, open_incident, schedule_maintenance

pytestmark = pytest.mark.django_db


@pytest.fixture
def at_the_desk(operator):
    """The responder, as the admin makes them the actor of a change."""
    return services.Actor.of(operator, address="192.0.2.7")


def entry(action: str) -> AuditEntry:
    return AuditEntry.objects.get(action=action)


def test_the_nine_writes_that_dropped_their_actor_are_audited_with_what_changed(at_the_desk, roles, settings):
    settings.WEBHOOK_ALLOW_LOOPBACK = True
    actor = at_the_desk
    wallet = ComponentFactory(name="Wallet")
    incident = open_incident(name="Withdrawls delayed")
    update = IncidentUpdate.objects.get(incident=incident)
    maintenance = schedule_maintenance(name="Wallet upgrade")
    group = services.group_save(actor=actor, name="Funding")
    hook = services.subscriber_create(actor=actor, endpoint="http://127.0.0.1:9/status")
    Subscriber.objects.filter(pk=hook.pk).update(state=Subscriber.State.QUARANTINED)
    token, _ = services.api_token_create(user=actor.user, name="deploy bot", scope="write", actor=actor)

    services.incident_edit(incident=incident, actor=actor, name="Withdrawals delayed")
    services.incident_update_edit(update=update, actor=actor, body="We are investigating delayed withdrawals.")
    services.incident_resolve(incident=incident, actor=actor, body="Fixed.")
    services.postmortem_save(incident=incident, actor=actor, body="A queue filled up.")
    services.maintenance_edit(maintenance=maintenance, actor=actor, name="Hot wallet upgrade", components=[wallet])
    services.group_save(actor=actor, group=group, name="Funding and wallets")
    services.component_edit(component=wallet, actor=actor, name="Wallets")
    services.api_token_revoke(token=token, actor=actor)
    services.subscriber_reactivate(subscriber=hook, actor=actor)
    services.subscriber_delete(subscriber=Subscriber.objects.get(pk=hook.pk), actor=actor)

    assert entry("incident.edit").changes == {"name": ["Withdrawls delayed", "Withdrawals delayed"]}
    assert entry("incident.update_edit").changes == {
        "body": ["We are investigating.", "We are investigating delayed withdrawals."]
    }
    assert entry("postmortem.draft").changes == {"postmortem_body": ["", "A queue filled up."]}
    assert entry("maintenance.edit").changes == {
        "name": ["Wallet upgrade", "Hot wallet upgrade"],
        "components": [[], ["Wallet"]],
    }
    assert entry("group.edit").changes == {"name": ["Funding", "Funding and wallets"]}
    assert entry("component.edit").changes == {"name": ["Wallet", "Wallets"]}
    assert entry("token.revoke").target_id == str(token.pk)
    assert entry("subscriber.reactivate").changes == {"state": ["quarantined", "active"]}
    assert entry("subscriber.delete").target_id == hook.public_id

    by_the_responder = AuditEntry.objects.filter(username="responder")
    assert set(by_the_responder.values_list("via", "address", "user_id").distinct()) == {
        ("admin", "192.0.2.7", actor.user.pk)
    }
    assert set(by_the_responder.values_list("action", flat=True)) >= {
        "group.create",
        "subscriber.create",
        "token.create",
        "incident.resolve",
    }
    # What the system did itself is the system's (open_incident, schedule_maintenance).
    assert entry("incident.open").via == "system" and entry("incident.open").username == ""


def test_a_refused_write_leaves_no_audit_row(at_the_desk, roles):
    incident = open_incident()
    before = AuditEntry.objects.count()
    with pytest.raises(ValidationError):
        services.postmortem_save(incident=incident, actor=at_the_desk, body="Too early.", publish=True)
    assert AuditEntry.objects.count() == before


def test_an_api_write_names_its_token_and_the_clients_address(client, operator):
    component = ComponentFactory(name="Spot trading")
    token, text = services.api_token_create(user=operator, name="pager", scope="write")
    response = client.patch(
        f"/api/v1/components/{component.public_id}",
        {"status": "major_outage"},
        content_type="application/json",
        headers={"authorization": f"Bearer {text}"},
    )
    assert response.status_code == 200, response.content
    row = entry("component.status")
    assert (row.via, row.token_id, row.address, row.username) == ("api", token.pk, "127.0.0.1", "responder")
    assert row.changes == {"status": ["operational", "major_outage"]}


def test_a_role_change_in_the_admin_is_audited(client, viewer):
    root = UserFactory(username="root", is_superuser=True)
    client.force_login(root)
    responders = Group.objects.get(name="responders")
    url = reverse("admin:auth_user_change", args=[viewer.pk])
    joined = timezone.localtime(viewer.date_joined)
    response = client.post(
        url,
        {
            "username": "viewer",
            "first_name": "",
            "last_name": "",
            "email": viewer.email,
            "is_active": "on",
            "is_staff": "on",
            "groups": [responders.pk],
            "user_permissions": [],
            "date_joined_0": joined.strftime("%Y-%m-%d"),
            "date_joined_1": joined.strftime("%H:%M:%S"),
            "last_login_0": "",
            "last_login_1": "",
        },
    )
    assert response.status_code == 302, response.context["adminform"].form.errors if response.context else response
    row = entry("user.roles")
    assert row.changes == {"groups": [["viewers"], ["responders"]]}
    assert (row.username, row.via, row.target_id, row.address) == ("root", "admin", str(viewer.pk), "127.0.0.1")

    # Shown in the admin, read-only like the other logs.
    listing = client.get(reverse("admin:incidents_auditentry_changelist"))
    assert listing.status_code == 200 and b"user.roles" in listing.content
    page = client.get(reverse("admin:incidents_auditentry_change", args=[row.pk]))
    assert b"responders" in page.content and page.context["has_change_permission"] is False
    assert client.get(reverse("admin:incidents_auditentry_add")).status_code == 403


def test_tasks_commands_and_readers_are_named_as_such(roles, operator):
    maintenance = schedule_maintenance(hours_ahead=0, length_hours=1, auto_start=True)
    services.maintenance_tick(now=maintenance.scheduled_for + timedelta(seconds=1))
    assert entry("maintenance.in_progress").via == "task"

    call_command("create_api_token", "responder", "--write", stdout=open("/dev/null", "w"))  # noqa: SIM115
    assert entry("token.create").via == "command"

    reader = services.subscriber_create(actor=services.Actor.system(), email="trader@example.com", confirmed=True)
    services.subscriber_unsubscribe(subscriber=reader)
    assert (entry("subscriber.unsubscribe").via, entry("subscriber.unsubscribe").changes) == (
        "public",
        {"state": ["active", "unsubscribed"]},
    )
