"""Alertmanager's webhooks through the services (issue #15): a firing group proposes a
draft on the right components, resends and late arrivals change nothing, a responder
publishes in one step (or the rule does), more firing updates the published incident,
all resolved proposes recovery; every change is the integration's in the audit."""

import copy

import pytest
from django.core.exceptions import ValidationError

from incidents import services
from incidents.models import AlertGroup, AlertRule, AuditEntry, Component, Incident

from ..factories import ComponentFactory

pytestmark = pytest.mark.django_db


class Token:
    pk, name = 7, "alertmanager"


INTEGRATION = services.Actor.integration(Token())


def alert(fingerprint="a1", status="firing", starts="2026-12-06T03:00:00Z", **labels) -> dict:
    labels = {"alertname": "ApiLatencyHigh", "severity": "warning", **labels}
    return {
        "status": status,
        "labels": labels,
        "annotations": {"summary": "REST API slow", "description": "p99 latency is above 1 s."},
        "startsAt": starts,
        "endsAt": "0001-01-01T00:00:00Z" if status == "firing" else "2026-12-06T03:10:00Z",
        "generatorURL": "http://prometheus:9090/graph",
        "fingerprint": fingerprint,
    }


def webhook(*alerts, key='{}:{alertname="ApiLatencyHigh"}') -> dict:
    return {
        "version": "4",
        "groupKey": key,
        "status": "firing" if any(a["status"] == "firing" for a in alerts) else "resolved",
        "receiver": "status-page",
        "groupLabels": {"alertname": "ApiLatencyHigh"},
        "commonLabels": {},
        "commonAnnotations": {},
        "externalURL": "http://alertmanager:9093",
        "alerts": list(alerts),
    }


@pytest.fixture
def parts(roles):
    return {"api": ComponentFactory(name="REST API"), "spot": ComponentFactory(name="Spot trading", trading=True)}


def test_a_firing_group_proposes_a_draft_on_the_component_its_label_names(parts):
    group = services.alertmanager_receive(actor=INTEGRATION, payload=webhook(alert(component="rest-api")))
    assert (group.state, group.name, group.body) == ("draft", "REST API slow", "p99 latency is above 1 s.")
    assert group.proposed == {parts["api"].public_id: "degraded_performance"}
    # A draft is not public: no incident, no component changed.
    assert not Incident.objects.exists()
    assert Component.objects.get(pk=parts["api"].pk).status == "operational"
    entry = AuditEntry.objects.get(action="alerts.receive")
    assert (entry.user_id, entry.username, entry.via) == (None, "", "integration")


def test_resends_and_late_arrivals_change_nothing(parts):
    firing = webhook(alert(component="rest-api"))
    services.alertmanager_receive(actor=INTEGRATION, payload=firing)
    services.alertmanager_receive(actor=INTEGRATION, payload=copy.deepcopy(firing))  # Alertmanager resends
    assert AuditEntry.objects.filter(action="alerts.receive").count() == 1
    resolved = webhook(alert(component="rest-api", status="resolved"))
    group = services.alertmanager_receive(actor=INTEGRATION, payload=resolved)
    assert group.recovery_proposed_at is not None and group.state == "cleared"
    # The firing that was sent before the resolve arrives after it: not believed.
    group = services.alertmanager_receive(actor=INTEGRATION, payload=copy.deepcopy(firing))
    assert group.recovery_proposed_at is not None and group.state == "cleared"
    # A new firing (a later start) is.
    again = webhook(alert(component="rest-api", starts="2026-12-06T04:00:00Z"))
    group = services.alertmanager_receive(actor=INTEGRATION, payload=again)
    assert group.recovery_proposed_at is None and group.state == "draft"
    assert AlertGroup.objects.count() == 1


def test_a_responder_publishes_in_one_step_and_more_firing_updates_the_incident(parts, operator):
    group = services.alertmanager_receive(actor=INTEGRATION, payload=webhook(alert(component="rest-api")))
    incident = services.alert_publish(group=group, actor=services.Actor.of(operator))
    assert (incident.name, incident.status) == ("REST API slow", "investigating")
    assert Component.objects.get(pk=parts["api"].pk).status == "degraded_performance"
    assert services.alert_publish(group=group, actor=services.Actor.of(operator)) == incident  # a second click

    # (Alertmanager's fingerprint is of the labels: another severity is another alert.)
    worse = webhook(
        alert("a1c", component="rest-api", severity="critical"),
        alert("b2", component=parts["spot"].public_id, severity="critical"),
    )
    services.alertmanager_receive(actor=INTEGRATION, payload=worse)
    incident.refresh_from_db()
    assert incident.updates.count() == 2
    assert Component.objects.get(pk=parts["api"].pk).status == "major_outage"
    assert Component.objects.get(pk=parts["spot"].pk).status == "major_outage"
    update = incident.updates.order_by("-id").first()
    assert update.author is None  # the integration, not a person

    cleared = webhook(
        alert(component="rest-api", status="resolved"),
        alert("a1c", component="rest-api", severity="critical", status="resolved"),
        alert("b2", component=parts["spot"].public_id, severity="critical", status="resolved"),
    )
    group = services.alertmanager_receive(actor=INTEGRATION, payload=cleared)
    assert group.recovery_proposed_at is not None and group.state == "published"
    incident.refresh_from_db()
    assert incident.status == "investigating"  # proposed, not done: a responder resolves
    services.alert_resolve(group=group, actor=services.Actor.of(operator))
    assert Incident.objects.get(pk=incident.pk).status == "resolved"
    assert set(Component.objects.values_list("status", flat=True)) == {"operational"}


def test_rules_match_labels_map_severities_and_may_publish_by_themselves(parts):
    template = services.template_save(
        actor=services.Actor.system(),
        slug="order-placement-failing-on-api",
        title="Order placement failing on API",
        body="Placing orders through the API fails.",
    )
    AlertRule.objects.create(
        name="API errors",
        matchers='alertname=~"Api.*", env!="staging"',
        component=parts["api"],
        severity_statuses={"warning": "partial_outage"},
        template=template,
        auto_publish=True,
    )
    staging = webhook(alert(env="staging"), key="staging")
    assert services.alertmanager_receive(actor=INTEGRATION, payload=staging).proposed == {}
    group = services.alertmanager_receive(actor=INTEGRATION, payload=webhook(alert(env="prod")))
    assert group.state == "published"
    assert group.incident.name == "Order placement failing on API"
    assert Component.objects.get(pk=parts["api"].pk).status == "partial_outage"
    publish = AuditEntry.objects.get(action="alerts.publish")
    assert publish.via == "integration" and publish.user_id is None


@pytest.mark.parametrize(
    "change, field",
    [
        ({"version": "3"}, "version"),
        ({"groupKey": ""}, "groupKey"),
        ({"alerts": []}, "alerts"),
        ({"alerts": [{**alert(), "status": "pending"}]}, "alerts.0.status"),
        ({"alerts": [{**alert(), "startsAt": "yesterday"}]}, "alerts.0.startsAt"),
        ({"alerts": [{**alert(), "labels": {"a": 1}}]}, "alerts.0.labels"),
    ],
)
def test_a_body_that_is_not_alertmanagers_is_refused_naming_the_field(parts, change, field):
    with pytest.raises(ValidationError) as refused:
        services.alertmanager_receive(actor=INTEGRATION, payload={**webhook(alert()), **change})
    assert field in refused.value.message_dict
    assert not AlertGroup.objects.exists()
