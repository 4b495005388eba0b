"""Who may do what in the admin, the read-only logs, the Markdown preview, and every page
rendering for every role."""

import pytest
from django.urls import reverse

from incidents import services
from incidents.models import (
    Component,
    ComponentStatusChange,
    Maintenance,
    PublicEvent,
)

from ..factories import UserFactory, open_incident
from .helpers import change_url

pytestmark = pytest.mark.django_db


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
