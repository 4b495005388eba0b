"""`template` in the v1 API (issue #14): the demo's four templates listed, an incident
and an emergency maintenance opened from one, what the request sends winning, and a
clear 400 for a template that is not one."""

import pytest
from django.utils import translation

from incidents.models import Component, Incident

pytestmark = pytest.mark.django_db


@pytest.fixture
def api(client, demo, write_token):
    headers = {"HTTP_AUTHORIZATION": f"Bearer {write_token}"}

    def call(method, path, payload=None):
        send = getattr(client, method.lower())
        if payload is None:
            return send(path, **headers)
        return send(path, data=payload, content_type="application/json", **headers)

    return call


def test_the_demo_templates_are_listed_with_their_rows_and_languages(api):
    response = api("GET", "/api/v1/templates")
    assert response.status_code == 200
    templates = {t["slug"]: t for t in response.json()}
    assert [t["title"] for t in response.json()] == [
        "Market data delayed",
        "Order placement failing on API",
        "Withdrawals paused on a network",
        "Emergency maintenance",
    ]
    delayed = templates["market-data-delayed"]
    assert (delayed["kind"], delayed["status"]) == ("incident", "investigating")
    assert {(row["name"], row["status"]) for row in delayed["components"]} == {
        ("Market data", "degraded_performance"),
        ("Order book", "degraded_performance"),
    }
    assert delayed["translations"]["zh-hans"]["title"] == "行情数据延迟"
    emergency = templates["emergency-maintenance"]
    assert (emergency["kind"], emergency["unscheduled"]) == ("maintenance", True)


def test_an_incident_opens_from_a_template_alone(api):
    response = api("POST", "/api/v1/incidents", {"template": "market-data-delayed"})
    assert response.status_code == 201, response.json()
    body = response.json()
    assert (body["name"], body["status"], body["impact"]) == ("Market data delayed", "investigating", "minor")
    assert body["incident_updates"][0]["body"].startswith("Tickers, candles and order book depth")
    assert {c["name"] for c in body["components"]} == {"Market data", "Order book"}
    incident = Incident.objects.get(public_id=body["id"])
    assert incident.template.slug == "market-data-delayed"
    with translation.override("zh-hant"):
        incident.refresh_from_db()
        assert incident.name == "行情資料延遲"


def test_what_the_request_sends_wins_over_the_template(api):
    api_component = Component.objects.get(name="REST API")
    response = api(
        "POST",
        "/api/v1/incidents",
        {
            "template": "order-placement-failing-on-api",
            "name": "Order placement failing on the REST API",
            "components": {api_component.public_id: "major_outage"},
            "deliver_notifications": False,
        },
    )
    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["name"] == "Order placement failing on the REST API"
    assert body["incident_updates"][0]["body"].startswith("Placing orders through the REST and WebSocket APIs")
    assert [(c["name"], c["status"]) for c in body["components"]] == [("REST API", "major_outage")]
    assert Component.objects.get(name="WebSocket API").status == "operational"  # the template's row, replaced


def test_an_emergency_maintenance_from_its_template_is_in_progress_at_once(api):
    response = api("POST", "/api/v1/maintenances", {"template": "emergency-maintenance"})
    assert response.status_code == 201, response.json()
    body = response.json()
    assert (body["name"], body["status"]) == ("Emergency maintenance", "in_progress")
    assert Component.objects.get(name="Spot trading").status == "under_maintenance"
    assert Component.objects.get(name="Perpetual contracts").status == "under_maintenance"


@pytest.mark.parametrize(
    "path, payload, field, message",
    [
        ("/api/v1/incidents", {"template": "no-such-template"}, "template", "No incident template no-such-template"),
        # A maintenance's template is not an incident's.
        ("/api/v1/incidents", {"template": "emergency-maintenance"}, "template", "No incident template"),
        ("/api/v1/incidents", {"template": 7}, "template", "Give a template's slug."),
        # PostgreSQL refuses a NUL in a query: never sent there, a 400 like any unknown one.
        ("/api/v1/incidents", {"template": "market\u0000data"}, "template", "No incident template"),
        ("/api/v1/maintenances", {"template": "x\u0000"}, "template", "No maintenance template"),
        ("/api/v1/incidents", {"body": "No name and no template."}, "name", "or give a `template`"),
        ("/api/v1/maintenances", {"name": "No window", "body": "B"}, "scheduled_for", "or give a `template`"),
    ],
)
def test_a_template_that_is_not_one_is_a_400_naming_the_field(api, path, payload, field, message):
    before = Incident.objects.count()
    response = api("POST", path, payload)
    assert response.status_code == 400
    assert message in response.json()[field][0]
    assert Incident.objects.count() == before


def test_a_read_token_may_list_the_templates_but_not_open_from_one(client, demo, viewer):
    from incidents import services

    token = services.api_token_create(user=viewer, name="read", scope="read")[1]
    headers = {"HTTP_AUTHORIZATION": f"Bearer {token}"}
    assert client.get("/api/v1/templates", **headers).status_code == 200
    response = client.post(
        "/api/v1/incidents", data={"template": "market-data-delayed"}, content_type="application/json", **headers
    )
    assert response.status_code == 403
