"""Templates in the admin (issue #14): written with the status grid and trading modes,
and opening the incident or maintenance add form filled in, with a preview, in one step;
the admin's incident forms take trading modes."""

import pytest
from django.urls import reverse
from django.utils import translation

from incidents.models import AuditEntry, Component, Incident, Template, TradingModeChange

from .helpers import form_data, form_errors, post_change, select

pytestmark = pytest.mark.django_db


def test_a_responder_writes_a_template_with_statuses_and_modes(responder_client, demo):
    spot = Component.objects.get(name="Spot trading")
    data = Component.objects.get(name="Market data")
    response = responder_client.post(
        reverse("admin:incidents_template_add"),
        {
            "title": "Spot matching delayed",
            "title_zh_hans": "现货撮合延迟",
            "slug": "spot-matching-delayed",
            "kind": "incident",
            "status": "identified",
            "body": "Orders are matched **late**.",
            "impact_override": "",
            "position": "5",
            "duration_minutes": "60",
            select(data): "degraded_performance",
            f"mode_{spot.pk}": "post_only",
        },
    )
    assert response.status_code == 302, form_errors(response)
    template = Template.objects.get(slug="spot-matching-delayed")
    assert sorted(template.rows.values_list("component__name", "status", "trading_mode")) == [
        ("Market data", "degraded_performance", ""),
        ("Spot trading", "", "post_only"),
    ]
    assert template.title_zh_hans == "现货撮合延迟"
    assert AuditEntry.objects.get(action="template.create", target_id=str(template.pk)).username == "responder"

    # Its change page shows the rows as chosen, and saves them back unchanged; only trading
    # products have a mode to choose.
    page = responder_client.get(reverse("admin:incidents_template_change", args=[template.pk]))
    assert page.context["adminform"].form.initial["trading_grid"] == {spot.pk: "post_only"}
    assert f'name="mode_{spot.pk}"' in page.content.decode()
    assert f'name="mode_{data.pk}"' not in page.content.decode()
    saved = post_change(responder_client, template, status="investigating")
    assert saved.status_code == 302, form_errors(saved)
    assert sorted(template.rows.values_list("component__name", "status", "trading_mode")) == [
        ("Market data", "degraded_performance", ""),
        ("Spot trading", "", "post_only"),
    ]


def test_the_add_form_opens_from_a_template_in_one_step_with_a_preview(responder_client, demo):
    add = reverse("admin:incidents_incident_add")
    page = responder_client.get(add)
    html = page.content.decode()
    assert "Start from a template" in html
    for title in ("Market data delayed", "Order placement failing on API", "Withdrawals paused on a network"):
        assert title in html
    assert "Emergency maintenance" not in html  # a maintenance template is on the maintenance form

    # Not a template's slug (a NUL, which PostgreSQL refuses in a query): the empty form.
    assert "data-template-preview" not in responder_client.get(add, {"template": "x\x00"}).content.decode()

    page = responder_client.get(add, {"template": "market-data-delayed"})
    html = page.content.decode()
    preview = html[html.index("data-template-preview") :]
    assert "Tickers, candles and order book depth are arriving late" in preview
    assert "impact: minor" in preview and "Market data</strong>: Degraded performance" in preview
    form = page.context["adminform"].form
    assert form.initial["name"] == "Market data delayed" and form.initial["name_zh_hans"] == "行情数据延迟"

    # Saving what the template filled in is the whole first post.
    response = responder_client.post(add, form_data(page))
    incident = Incident.objects.get(name="Market data delayed")
    assert response.status_code == 302
    assert incident.template.slug == "market-data-delayed" and incident.impact == "minor"
    assert Component.objects.get(name="Order book").status == "degraded_performance"
    with translation.override("zh-hans"):
        incident.refresh_from_db()
        assert incident.name == "行情数据延迟"


def test_an_emergency_maintenance_from_the_admin_is_under_way_when_saved(responder_client, demo):
    add = reverse("admin:incidents_maintenance_add")
    page = responder_client.get(add, {"template": "emergency-maintenance"})
    assert "data-template-preview" in page.content.decode()
    response = responder_client.post(add, form_data(page))
    assert response.status_code == 302, form_errors(response)
    maintenance = Incident.objects.get(name="Emergency maintenance")
    assert (maintenance.status, maintenance.unscheduled) == ("in_progress", True)
    assert Component.objects.get(name="Spot trading").status == "under_maintenance"


def test_the_incident_forms_set_trading_modes(responder_client, demo):
    spot = Component.objects.get(name="Spot trading")
    perps = Component.objects.get(name="Perpetual contracts")
    response = responder_client.post(
        reverse("admin:incidents_incident_add"),
        {
            "name": "Matching halted",
            "status": "investigating",
            "body": "Matching stopped.",
            "impact_override": "",
            "started_at_0": "",
            "started_at_1": "",
            select(spot): "major_outage",
            f"mode_{spot.pk}": "halted",
            f"mode_{perps.pk}": "cancel_only",
        },
    )
    assert response.status_code == 302, form_errors(response)
    incident = Incident.objects.get(name="Matching halted")
    modes = dict(Component.objects.filter(trading=True).values_list("name", "trading_mode"))
    assert modes == {"Spot trading": "halted", "Perpetual contracts": "cancel_only"}

    # An update that only reopens a product is an update (the status's own words).
    response = post_change(responder_client, incident, update_status="monitoring", **{f"mode_{spot.pk}": "pre_open"})
    assert response.status_code == 302, form_errors(response)
    assert Component.objects.get(pk=spot.pk).trading_mode == "pre_open"
    assert incident.updates.count() == 2
    assert TradingModeChange.objects.filter(component=spot, incident=incident).count() == 2

    refused = post_change(responder_client, incident, update_status="monitoring", **{f"mode_{spot.pk}": "closed"})
    assert refused.status_code == 200 and "is not a trading mode" in str(form_errors(refused)["trading_grid"])
