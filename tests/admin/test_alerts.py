"""The drafts monitoring proposes, in the admin (issue #15): one click publishes, one
click takes the proposed recovery; rules are checked like any write."""

import pytest
from django.urls import reverse

from incidents import services
from incidents.models import AlertRule, AuditEntry, Component

from ..services.test_alerts import INTEGRATION, alert, webhook
from .helpers import form_errors

pytestmark = pytest.mark.django_db


def test_a_responder_publishes_a_draft_in_one_click_then_takes_the_recovery(responder_client, demo, operator):
    group = services.alertmanager_receive(actor=INTEGRATION, payload=webhook(alert(component="rest-api")))
    page = responder_client.get(reverse("admin:incidents_alertgroup_change", args=[group.pk])).content.decode()
    assert "data-alert-publish" in page and "REST API slow" in page

    response = responder_client.post(reverse("admin:incidents_alertgroup_publish", args=[group.pk]))
    group.refresh_from_db()
    assert group.state == "published"
    assert response.status_code == 302 and response.url == reverse(
        "admin:incidents_incident_change", args=[group.incident.pk]
    )
    assert Component.objects.get(name="REST API").status == "degraded_performance"
    assert AuditEntry.objects.get(action="alerts.publish").username == "responder"

    services.alertmanager_receive(actor=INTEGRATION, payload=webhook(alert(component="rest-api", status="resolved")))
    page = responder_client.get(reverse("admin:incidents_alertgroup_change", args=[group.pk])).content.decode()
    assert "data-alert-resolve" in page
    responder_client.post(reverse("admin:incidents_alertgroup_resolve", args=[group.pk]))
    group.refresh_from_db()
    assert group.incident.status == "resolved"
    assert Component.objects.get(name="REST API").status == "operational"


def test_a_rule_with_matchers_that_do_not_parse_is_refused_on_its_field(responder_client, demo):
    response = responder_client.post(
        reverse("admin:incidents_alertrule_add"),
        {"name": "API", "matchers": "alertname=Api", "position": "0"},
    )
    assert response.status_code == 200 and "matchers" in form_errors(response)
    assert not AlertRule.objects.exists()
    response = responder_client.post(
        reverse("admin:incidents_alertrule_add"),
        {
            "name": "API",
            "matchers": 'alertname=~"Api.*"',
            # One choice per common severity: "info" a degradation, the rest left at the default.
            "severity_info": "degraded_performance",
            "severity_warning": "",
            "position": "0",
        },
    )
    assert response.status_code == 302, form_errors(response)
    rule = AlertRule.objects.get()
    assert rule.severity_statuses == {"info": "degraded_performance"}
    page = responder_client.get(reverse("admin:incidents_alertrule_change", args=[rule.pk])).content.decode()
    assert 'name="severity_critical"' in page and "Default: Major outage" in page
    assert '<option value="degraded_performance" selected>' in page
