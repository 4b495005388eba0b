"""Components and groups in the admin: saved through the services, audited, never deleted."""

import pytest
from django.urls import reverse

from incidents.models import (
    Component,
    ComponentGroup,
    ComponentStatusChange,
    PublicEvent,
)

from ..factories import ComponentGroupFactory, UserFactory
from .helpers import post_change

pytestmark = pytest.mark.django_db


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
