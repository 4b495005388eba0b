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


@pytest.mark.parametrize("started_at", ["0001-01-01T00:00+08:00", "9999-12-31T23:00-08:00", "1999-12-31T23:00Z"])
def test_a_time_outside_2000_to_2099_is_a_field_error(client, auth, started_at):
    response = client.post(
        "/api/v1/incidents",
        {"name": "Old", "body": "x", "started_at": started_at},
        content_type="application/json",
        **auth,
    )
    assert response.status_code == 400 and "started_at" in response.json(), response.content
    assert not Incident.objects.exists()


@pytest.mark.parametrize("key", ["a\x00", "x" * 500, "../../etc"])
def test_a_malformed_component_key_is_a_field_error(client, auth, key):
    response = client.post(
        "/api/v1/incidents",
        {"name": "Keys", "body": "x", "components": {key: "major_outage"}},
        content_type="application/json",
        **auth,
    )
    assert response.status_code == 400 and "components" in response.json(), response.content
    assert not Incident.objects.exists()


def test_a_huge_reminder_is_a_field_error(client, auth):
    response = client.post(
        "/api/v1/maintenances",
        {
            "name": "Upgrade",
            "body": "x",
            "scheduled_for": "2030-01-01T00:00Z",
            "scheduled_until": "2030-01-01T01:00Z",
            "remind_before_minutes": 10**30,
        },
        content_type="application/json",
        **auth,
    )
    assert response.status_code == 400 and "remind_before_minutes" in response.json(), response.content
    assert not Incident.objects.exists()


def test_a_published_postmortem_cannot_be_blanked(client, auth):
    opened = client.post("/api/v1/incidents", {"name": "Outage", "body": "x"}, content_type="application/json", **auth)
    incident = opened.json()["id"]
    client.post(f"/api/v1/incidents/{incident}/resolve", {"body": "Fixed."}, content_type="application/json", **auth)
    published = client.put(
        f"/api/v1/incidents/{incident}/postmortem",
        {"body": "What happened.", "publish": True},
        content_type="application/json",
        **auth,
    )
    assert published.status_code == 200, published.content
    blanked = client.put(
        f"/api/v1/incidents/{incident}/postmortem",
        {"body": "", "publish": False},
        content_type="application/json",
        **auth,
    )
    assert blanked.status_code == 400 and "postmortem_body" in str(blanked.json())
    assert Incident.objects.get(public_id=incident).postmortem_body == "What happened."


@pytest.mark.parametrize("body", ["[" * 100_000, '{"a":' * 50_000 + "1" + "}" * 50_000])
def test_deep_nesting_is_a_400_before_parsing(client, auth, body):
    response = client.post("/api/v1/incidents", body, content_type="application/json", **auth)
    assert response.status_code == 400 and "nested" in response.json()["detail"]
    assert not Incident.objects.exists()


def test_brackets_inside_a_string_are_text_not_nesting(client, auth):
    body = '{"name": "Order book ' + "[" * 100 + '", "body": "x"}'
    assert client.post("/api/v1/incidents", body, content_type="application/json", **auth).status_code == 201


def test_a_body_over_the_limit_is_a_413(client, auth, settings):
    settings.API_MAX_BODY_BYTES = 1000
    body = '{"name": "x", "body": "' + "y" * 2000 + '"}'
    response = client.post("/api/v1/incidents", body, content_type="application/json", **auth)
    assert response.status_code == 413 and not Incident.objects.exists()


@pytest.mark.parametrize(
    "query, field",
    [
        ({"end": "9999-12-31"}, "end"),  # the day after it overflowed: a 500
        ({"end": "0001-01-01"}, "end"),  # 89 days before it overflowed too
        ({"start": "0001-01-01", "end": "2026-01-01"}, "start"),
        ({"start": "2026-13-01"}, "start"),
        ({"start": ""}, "start"),  # was taken as "no start": the schema says a date
    ],
)
def test_an_uptime_range_at_the_ends_of_the_calendar_is_a_400(client, query, field):
    component = ComponentFactory(name="Wallet")
    response = client.get(f"/api/v2/components/{component.public_id}/uptime.json", query)
    assert response.status_code == 400, response.content
    assert field in response.json()


def _cursor(raw: str) -> str:
    import base64

    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


@pytest.mark.parametrize(
    "path, query, field",
    [
        ("/api/v2/events.json", {"since": "9" * 30}, "since"),  # past 2**63: the database refused it, a 500
        ("/api/v2/events.json", {"since": "²"}, "since"),  # a digit to str.isdigit(), not to int()
        ("/api/v2/events.json", {"since": "-1"}, "since"),
        ("/api/v2/history.json", {"cursor": _cursor("2026-01-29T09:37:00+00:00|" + "9" * 30)}, "cursor"),
        ("/api/v2/history.json", {"cursor": _cursor("2026-01-29T09:37:00+00:00|¹")}, "cursor"),
        ("/api/v2/history.json", {"cursor": _cursor("2026-01-29T09:37:00|1")}, "cursor"),
    ],
)
def test_a_sequence_or_cursor_out_of_the_databases_range_is_a_400(client, path, query, field):
    response = client.get(path, query)
    assert response.status_code == 400, response.content
    assert field in response.json()


@pytest.mark.parametrize(
    "body, field",
    [
        ({"name": 0, "body": "x"}, "name"),  # DRF took it as "0"
        ({"name": "API errors", "body": "x", "deliver_notifications": 0}, "deliver_notifications"),
        ({"name": "API errors", "body": "x", "deliver_notifications": "yes"}, "deliver_notifications"),
        ({"name": "API errors", "body": "   "}, "body"),
        ({"name": " " * 5 + "x" * 199, "body": "x"}, "name"),  # 204 characters as sent: the schema's maxLength
    ],
)
def test_values_of_another_json_type_than_the_schema_says_are_refused(client, auth, body, field):
    response = client.post("/api/v1/incidents", body, content_type="application/json", **auth)
    assert response.status_code == 400, response.content
    assert field in response.json()
    assert not Incident.objects.exists()


@pytest.mark.parametrize("query", ["kind=", "kind=all"])
def test_a_history_kind_that_is_empty_or_unknown_is_a_400(client, query):
    response = client.get(f"/api/v2/history.json?{query}")
    assert response.status_code == 400 and "kind" in response.json()


def test_a_patch_that_names_nothing_changes_nothing(client, auth):
    component = ComponentFactory(name="Wallet", status="partial_outage")
    events = PublicEvent.objects.count()
    response = client.patch(f"/api/v1/components/{component.public_id}", {}, content_type="application/json", **auth)
    assert response.status_code == 200 and response.json()["status"] == "partial_outage"
    assert PublicEvent.objects.count() == events
