"""Incident and maintenance templates (issue #14) through the services: kept with their
rows and languages, checked like the writes they open, and opened through the same
services as a hand-written incident, the template recorded and audited."""

from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone, translation

from incidents import services
from incidents.models import AuditEntry, Component, Incident, Notification, Template
from incidents.publish import site
from incidents.services import templates as opening

from ..factories import ComponentFactory

pytestmark = pytest.mark.django_db

SYSTEM = services.Actor.system()


@pytest.fixture
def parts(roles):
    return {
        "spot": ComponentFactory(name="Spot trading", trading=True),
        "data": ComponentFactory(name="Market data"),
        "api": ComponentFactory(name="REST API"),
    }


def market_data_delayed(parts, **fields) -> Template:
    return services.template_save(
        actor=SYSTEM,
        slug="market-data-delayed",
        title="Market data delayed",
        body="Tickers arrive **late**.",
        rows={parts["data"]: ("degraded_performance", ""), parts["spot"]: ("", "post_only")},
        translations={"zh-hans": {"title": "行情数据延迟", "body": "行情延迟。"}},
        **fields,
    )


def test_an_incident_opened_from_a_template_has_its_texts_rows_languages_and_names_it(parts):
    template = market_data_delayed(parts)
    incident = services.open_from_template(actor=SYSTEM, template=template)

    assert (incident.name, incident.status, incident.template) == ("Market data delayed", "investigating", template)
    assert incident.updates.get().body == "Tickers arrive **late**."
    assert Component.objects.get(pk=parts["data"].pk).status == "degraded_performance"
    spot = Component.objects.get(pk=parts["spot"].pk)
    assert (spot.status, spot.trading_mode) == ("operational", "post_only")
    assert Component.objects.get(pk=parts["api"].pk).status == "operational"
    assert incident.impact == "minor"
    with translation.override("zh-hans"):
        incident.refresh_from_db()
        assert incident.name == "行情数据延迟"
        assert incident.updates.get().body == "行情延迟。"
    opened = AuditEntry.objects.get(action="incident.open", target_id=incident.public_id)
    assert opened.changes["template"] == [None, "market-data-delayed"]


def test_what_is_given_wins_over_the_template_and_a_new_name_drops_its_translation(parts):
    template = market_data_delayed(parts)
    incident = services.open_from_template(
        actor=SYSTEM,
        template=template,
        name="Market data delayed on the app",
        components={parts["api"]: "partial_outage"},
        trading_modes={},
        status="identified",
    )
    assert (incident.name, incident.status) == ("Market data delayed on the app", "identified")
    assert Component.objects.get(pk=parts["api"].pk).status == "partial_outage"
    assert Component.objects.get(pk=parts["data"].pk).status == "operational"
    assert Component.objects.get(pk=parts["spot"].pk).trading_mode == "normal"
    with translation.override("zh-hans"):
        incident.refresh_from_db()
        assert incident.name == "Market data delayed on the app"  # not the template's title
        assert incident.updates.get().body == "行情延迟。"  # the body was not given: the template's


def test_an_emergency_maintenance_is_under_way_at_once_and_told_once(
    parts, django_capture_on_commit_callbacks, monkeypatch
):
    template = services.template_save(
        actor=SYSTEM,
        slug="emergency-maintenance",
        kind=Incident.Kind.MAINTENANCE,
        title="Emergency maintenance",
        body="Orders cannot be placed or cancelled.",
        rows={parts["spot"]: ("under_maintenance", "")},
        unscheduled=True,
        duration_minutes=45,
    )
    before = timezone.now()
    rebuilds = []
    real_refresh = site.refresh
    monkeypatch.setattr(site, "refresh", lambda: rebuilds.append(1) or real_refresh())
    with django_capture_on_commit_callbacks(execute=True):
        maintenance = services.open_from_template(actor=SYSTEM, template=template)
    # Two public changes in one transaction: one rebuild and push after it, not two.
    assert len(rebuilds) == 1

    assert (maintenance.kind, maintenance.status, maintenance.unscheduled) == ("maintenance", "in_progress", True)
    assert maintenance.scheduled_until - maintenance.scheduled_for == timedelta(minutes=45)
    assert before <= maintenance.scheduled_for <= timezone.now()
    assert Component.objects.get(pk=parts["spot"].pk).status == "under_maintenance"
    assert [u.status for u in maintenance.updates.order_by("display_at", "id")] == ["scheduled", "in_progress"]
    kinds = list(Notification.objects.filter(incident=maintenance).values_list("kind", flat=True))
    told = [kind for kind in kinds if kind.startswith("maintenance.")]
    assert told == [Notification.Kind.MAINTENANCE_STARTED]  # not "scheduled" a moment before


def test_a_planned_maintenance_template_needs_its_start(parts):
    template = services.template_save(
        actor=SYSTEM,
        slug="engine-upgrade",
        kind=Incident.Kind.MAINTENANCE,
        title="Matching engine upgrade",
        body="Planned.",
        rows={parts["spot"]: ("", "")},
    )
    with pytest.raises(ValidationError) as refused:
        services.open_from_template(actor=SYSTEM, template=template)
    assert "scheduled_for" in refused.value.message_dict
    assert not Incident.objects.exists()

    start = timezone.now() + timedelta(days=1)
    maintenance = services.open_from_template(actor=SYSTEM, template=template, scheduled_for=start)
    assert (maintenance.status, maintenance.scheduled_for) == ("scheduled", start)
    assert maintenance.scheduled_until == start + timedelta(minutes=60)
    assert list(maintenance.components.all()) == [parts["spot"]]


@pytest.mark.parametrize(
    "change, field",
    [
        ({"slug": "Market Data"}, "slug"),
        ({"title": "two\nlines"}, "title"),
        ({"body": "  "}, "body"),
        ({"status": "resolved"}, "status"),
        ({"impact_override": "huge"}, "impact_override"),
        ({"duration_minutes": 0}, "duration_minutes"),
        ({"translations": {"ja": {"title": "x"}}}, "translations.ja"),
    ],
)
def test_a_template_is_checked_like_the_writes_it_opens(parts, change, field):
    values = {"slug": "a-template", "title": "A template", "body": "Text.", **change}
    with pytest.raises(ValidationError) as refused:
        services.template_save(actor=SYSTEM, **values)
    assert field in refused.value.message_dict
    assert not Template.objects.exists()


def test_rows_are_checked_and_a_slug_is_taken_once(parts):
    with pytest.raises(services.Conflict) as refused:
        services.template_save(
            actor=SYSTEM, slug="t", title="T", body="B", rows={parts["api"]: ("", "halted")}
        )  # REST API is not a trading product
    assert "trading_modes" in refused.value.message_dict
    with pytest.raises(ValidationError) as refused:
        services.template_save(
            actor=SYSTEM,
            slug="t",
            title="T",
            body="B",
            kind=Incident.Kind.MAINTENANCE,
            rows={parts["api"]: ("major_outage", "")},
        )
    assert "components" in refused.value.message_dict
    market_data_delayed(parts)
    with pytest.raises(services.Conflict) as refused:
        market_data_delayed(parts)
    assert "slug" in refused.value.message_dict
    assert Template.objects.count() == 1


def test_editing_rows_is_audited_and_deleting_a_template_keeps_what_it_opened(parts):
    template = market_data_delayed(parts)
    incident = services.open_from_template(actor=SYSTEM, template=template)
    services.template_save(
        actor=SYSTEM,
        template=template,
        slug=template.slug,
        title=template.title,
        body=template.body,
        rows={parts["data"]: ("partial_outage", "")},
    )
    assert list(template.rows.values_list("component__name", "status")) == [("Market data", "partial_outage")]
    edit = AuditEntry.objects.get(action="template.edit")
    assert edit.changes["rows"][1] == {parts["data"].public_id: ["partial_outage", ""]}

    services.template_delete(actor=SYSTEM, template=template)
    incident.refresh_from_db()
    assert incident.template is None and incident.name == "Market data delayed"
    assert AuditEntry.objects.filter(action="template.delete").count() == 1


def test_the_opening_values_are_what_the_api_and_admin_open_with(parts):
    template = market_data_delayed(parts)
    values = opening.incident_opening(template, {"body": "Given."})
    assert values["name"] == "Market data delayed" and values["body"] == "Given."
    assert values["components"] == {parts["data"]: "degraded_performance"}
    assert values["trading_modes"] == {parts["spot"]: "post_only"}
    assert values["translations"] == {"zh-hans": {"name": "行情数据延迟"}}
