"""A token never does more than its user may do now (issue #12: a `viewers` user's write
token could PATCH a component)."""

import pytest
from django.contrib.auth.models import Group

from incidents import services
from incidents.models import Component, Incident

from ..factories import ComponentFactory, open_incident

pytestmark = pytest.mark.django_db


def bearer(user, scope="write") -> dict:
    return {"HTTP_AUTHORIZATION": f"Bearer {services.api_token_create(user=user, name='t', scope=scope)[1]}"}


def patch(client, component, auth, status="major_outage"):
    return client.patch(
        f"/api/v1/components/{component.public_id}", {"status": status}, content_type="application/json", **auth
    )


def test_a_viewers_write_token_cannot_write(client, viewer):
    component = ComponentFactory(name="Spot trading")
    auth = bearer(viewer)
    response = patch(client, component, auth)
    assert response.status_code == 403
    assert "change_component" in response.json()["detail"] and "viewer" in response.json()["detail"]
    assert Component.objects.get(pk=component.pk).status == "operational"
    created = client.post(
        "/api/v1/incidents", {"name": "Spoofed", "body": "x"}, content_type="application/json", **auth
    )
    assert created.status_code == 403 and not Incident.objects.filter(name="Spoofed").exists()
    # Reading is what viewers do.
    assert client.get("/api/v1/components", **auth).status_code == 200


def test_a_responder_taken_out_of_the_role_loses_write_at_once(client, operator):
    component = ComponentFactory(name="Spot trading")
    auth = bearer(operator)
    assert patch(client, component, auth).status_code == 200

    operator.groups.remove(Group.objects.get(name="responders"))
    response = patch(client, component, auth, status="operational")
    assert response.status_code == 403
    assert Component.objects.get(pk=component.pk).status == "major_outage"
    # And with no role at all, the token cannot read the operators' API either.
    assert client.get("/api/v1/subscribers", **auth).status_code == 403


def test_every_write_endpoint_refuses_a_viewers_write_token(client, viewer):
    component = ComponentFactory(name="Wallet")
    incident = open_incident(name="Deposits delayed", components={component: "degraded_performance"})
    auth = bearer(viewer)
    writes = [
        ("post", "/api/v1/incidents", {"name": "x", "body": "x"}),
        ("patch", f"/api/v1/incidents/{incident.public_id}", {"name": "x"}),
        ("post", f"/api/v1/incidents/{incident.public_id}/updates", {"status": "identified", "body": "x"}),
        ("post", f"/api/v1/incidents/{incident.public_id}/resolve", {"body": "x"}),
        ("put", f"/api/v1/incidents/{incident.public_id}/postmortem", {"body": "x", "publish": True}),
        ("patch", f"/api/v1/components/{component.public_id}", {"status": "major_outage"}),
        ("post", "/api/v1/subscribers", {"email": "a@example.com"}),
    ]
    for method, path, body in writes:
        response = getattr(client, method)(path, body, content_type="application/json", **auth)
        assert response.status_code == 403, (method, path, response.status_code)
    assert Incident.objects.get(pk=incident.pk).status == "investigating"
