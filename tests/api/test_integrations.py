"""POST /api/v1/integrations/alertmanager (issue #15): only a token of the integrations
scope, which in turn reaches nothing else; Alertmanager's body checked field by field."""

import pytest

from incidents import services
from incidents.models import AlertGroup

from ..services.test_alerts import alert, webhook

pytestmark = pytest.mark.django_db

PATH = "/api/v1/integrations/alertmanager"


@pytest.fixture
def tokens(demo, operator):
    return {
        scope: services.api_token_create(user=operator, name=scope, scope=scope)[1]
        for scope in ("read", "write", "integrations")
    }


def post(client, token, payload, path=PATH):
    return client.post(path, data=payload, content_type="application/json", HTTP_AUTHORIZATION=f"Bearer {token}")


def test_alertmanager_opens_a_draft_with_an_integrations_token(client, tokens):
    response = post(client, tokens["integrations"], webhook(alert(component="rest-api")))
    assert response.status_code == 200, response.json()
    body = response.json()
    assert (body["state"], body["name"], body["incident"]) == ("draft", "REST API slow", None)
    assert list(body["proposed"].values()) == ["degraded_performance"]
    assert post(client, tokens["integrations"], webhook(alert(component="rest-api"))).status_code == 200  # a resend
    assert AlertGroup.objects.count() == 1


@pytest.mark.parametrize("scope", ["read", "write"])
def test_other_tokens_may_not_send_alerts(client, tokens, scope):
    assert post(client, tokens[scope], webhook(alert())).status_code == 403
    assert not AlertGroup.objects.exists()


def test_an_integrations_token_reaches_nothing_else(client, tokens):
    auth = {"HTTP_AUTHORIZATION": f"Bearer {tokens['integrations']}"}
    assert client.get("/api/v1/components", **auth).status_code == 403
    assert post(client, tokens["integrations"], {"name": "x", "body": "y"}, path="/api/v1/incidents").status_code == 403


@pytest.mark.parametrize(
    "payload, field",
    [
        ({**webhook(alert()), "version": "3"}, "version"),
        ({**webhook(alert()), "alerts": [{**alert(), "fingerprint": ""}]}, "alerts.0.fingerprint"),
        (["not", "an", "object"], "non_field_errors"),
        # NUL, which PostgreSQL's JSON refuses, anywhere a client writes text: a 400, not a 500.
        ({**webhook(alert()), "alerts": [{**alert(), "labels": {"a": "b\u0000"}}]}, "alerts.0.labels"),
        ({**webhook(alert()), "alerts": [{**alert(), "endsAt": "\u0000"}]}, "alerts.0.endsAt"),
        ({**webhook(alert()), "commonAnnotations": {"\u0000": "x"}}, "commonAnnotations"),
    ],
)
def test_a_body_that_is_not_alertmanagers_is_a_400_naming_the_field(client, tokens, payload, field):
    response = post(client, tokens["integrations"], payload)
    assert response.status_code == 400 and field in response.json()
