"""Inputs that broke things in issue #12 get a 4xx naming the field, and nothing is written."""

import pytest
from django.core.exceptions import ValidationError

from incidents import services
from incidents.models import Component, Incident, PublicEvent

from ..factories import ComponentFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def auth(operator):
    return {"HTTP_AUTHORIZATION": f"Bearer {services.api_token_create(user=operator, name='t', scope='write')[1]}"}


@pytest.mark.parametrize(
    "name",
    ["a\r\nBcc: v@example.com", "line\nbreak", "nul\x00here", "bell\x07", "line\u2028separator", "rtl\u202eoverride"],
)
def test_a_name_with_a_control_character_is_refused_and_nothing_is_written(client, auth, name):
    events = PublicEvent.objects.count()
    response = client.post("/api/v1/incidents", {"name": name, "body": "x"}, content_type="application/json", **auth)
    assert response.status_code == 400, response.content
    assert "name" in response.json()
    assert not Incident.objects.exists() and PublicEvent.objects.count() == events


def test_every_service_taking_a_name_refuses_a_line_break(roles):
    actor = services.Actor.system()
    component = ComponentFactory(name="Wallet")
    attempts = [
        lambda: services.component_create(actor=actor, name="Spot\r\nBcc: x"),
        lambda: services.component_edit(component=component, actor=actor, name="Wallet\nBcc: x"),
        lambda: services.group_save(actor=actor, name="Gro\r\nup"),
    ]
    for attempt in attempts:
        with pytest.raises(ValidationError) as refused:
            attempt()
        assert "name" in refused.value.message_dict
    assert Component.objects.get(pk=component.pk).name == "Wallet"


def test_a_nul_in_an_update_body_is_a_400_not_a_database_error(client, auth):
    opened = client.post(
        "/api/v1/incidents", {"name": "API errors", "body": "x"}, content_type="application/json", **auth
    )
    incident = opened.json()["id"]
    response = client.post(
        f"/api/v1/incidents/{incident}/updates",
        {"status": "identified", "body": "before\x00after"},
        content_type="application/json",
        **auth,
    )
    assert response.status_code == 400 and "body" in response.json()


@pytest.mark.parametrize(
    "url",
    [
        "/history.atom?component=%00",
        "/live/state?view=incident:%00",
        "/api/v2/incidents.json?page=%00",
        "/api/v2/history.json?kind=%00",
        "/history?before=%00",
    ],
)
def test_a_nul_in_the_query_string_is_a_400(client, demo, url):
    response = client.get(url)
    assert response.status_code == 400
    assert "NUL" in response.content.decode()
