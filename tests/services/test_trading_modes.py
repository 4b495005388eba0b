"""Trading modes and the pre-open phase (issue #14), through the services: the log, the
numbered events, the audit, the webhook body a subscriber verifies, the snapshot's banner,
and what a maintenance does to its trading products."""

from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from incidents import rules, services
from incidents.models import AuditEntry, Component, Incident, PublicEvent, TradingModeChange
from incidents.notify import delivery as notify_delivery
from incidents.publish import snapshot

from ..factories import ComponentFactory, open_incident, schedule_maintenance
from ..notify.test_webhooks import fan_out_all, subscribe

pytestmark = pytest.mark.django_db

SYSTEM = services.Actor.system()


@pytest.fixture
def spot(roles):
    return ComponentFactory(name="Spot trading", trading=True, okx_service_type="5")


@pytest.fixture
def website(roles):
    return ComponentFactory(name="Website")


def last_event() -> PublicEvent:
    return PublicEvent.objects.order_by("-seq").first()


def test_setting_a_mode_is_logged_numbered_audited_and_counts_on_the_banner(spot, operator):
    before = last_event().seq if PublicEvent.objects.exists() else 0
    actor = services.Actor.of(operator)
    services.component_set_trading_mode(component=spot, trading_mode="cancel_only", actor=actor)

    spot.refresh_from_db()
    assert (spot.status, spot.trading_mode) == ("operational", "cancel_only")
    (log,) = TradingModeChange.objects.all()
    assert (log.old_mode, log.new_mode, log.actor_label) == ("normal", "cancel_only", operator.username)
    event = last_event()
    assert event.seq == before + 1 and (event.kind, event.action) == ("component", "trading_mode_changed")
    assert event.payload["component"]["trading_mode"] == "cancel_only"
    assert event.payload["trading_mode_update"] | {"id": None, "created_at": None} == {
        "id": None,
        "component_id": spot.public_id,
        "old_mode": "normal",
        "new_mode": "cancel_only",
        "created_at": None,
    }
    audit = AuditEntry.objects.filter(action="component.trading_mode").get()
    assert audit.changes == {"trading_mode": ["normal", "cancel_only"]} and audit.username == operator.username

    data = snapshot.rebuild()
    # Cancel-only counts as a partial outage: the banner says so and names the product.
    assert data["status"]["indicator"] == "major"
    assert data["unexplained_outages"] == ["Spot trading"]
    (view,) = [c for row in data["layout"] for c in row["components"] if c["id"] == spot.public_id]
    assert view["trading_mode_text"] == "Cancel only: you can cancel orders; new orders are refused."
    assert data["languages"]["zh-hans"]["layout"][0]["components"][0]["trading_mode_text"] == (
        "仅可撤单：您可以撤单；新订单将被拒绝。"
    )
    (row,) = [c for c in data["components"] if c["id"] == spot.public_id]
    assert (row["status"], row["trading_mode"]) == ("operational", "cancel_only")

    # The same mode again changes nothing and says nothing.
    services.component_set_trading_mode(component=spot, trading_mode="cancel_only", actor=actor)
    assert TradingModeChange.objects.count() == 1 and last_event().seq == event.seq


def test_a_component_that_does_not_trade_has_no_mode_409_and_nothing_written(website, spot):
    before = (PublicEvent.objects.count(), AuditEntry.objects.count())
    with pytest.raises(services.Conflict) as refused:
        services.component_set_trading_mode(component=website, trading_mode="halted", actor=SYSTEM)
    assert refused.value.message_dict == {"trading_mode": ["Website is not a trading product: it has no trading mode."]}
    with pytest.raises(ValidationError) as invalid:
        services.component_set_trading_mode(component=spot, trading_mode="paused", actor=SYSTEM)
    assert not isinstance(invalid.value, services.Conflict)
    assert "'paused' is not a trading mode" in invalid.value.message_dict["trading_mode"][0]
    # Status and mode in one change: all or nothing.
    with pytest.raises(services.Conflict):
        services.component_set_state(component=website, status="major_outage", trading_mode="halted", actor=SYSTEM)
    website.refresh_from_db()
    assert website.status == "operational"
    assert (PublicEvent.objects.count(), AuditEntry.objects.count()) == before
    assert [c["trading_mode"] for c in snapshot.rebuild()["components"] if c["id"] == website.public_id] == [None]


def test_an_incident_sets_modes_with_its_updates_and_its_resolve_restores_them(spot, website):
    incident = open_incident(
        name="Order processing stalled",
        components={website: "degraded_performance"},
        trading_modes={spot: "halted"},
    )
    spot.refresh_from_db()
    assert spot.trading_mode == "halted" and spot in incident.components.all()
    assert snapshot.rebuild()["status"]["indicator"] == "critical"
    update = services.incident_post_update(
        incident=incident,
        actor=SYSTEM,
        status="monitoring",
        body="Orders can be cancelled.",
        trading_modes={spot: "cancel_only"},
    )
    assert list(update.trading_mode_changes.values_list("old_mode", "new_mode")) == [("halted", "cancel_only")]
    with pytest.raises(services.Conflict):
        services.incident_post_update(
            incident=incident, actor=SYSTEM, status="monitoring", body="x", trading_modes={website: "halted"}
        )
    services.incident_resolve(incident=incident, actor=SYSTEM, body="Trading works normally again.")
    spot.refresh_from_db()
    assert spot.trading_mode == "normal"
    assert list(TradingModeChange.objects.values_list("new_mode", flat=True)) == ["halted", "cancel_only", "normal"]
    assert AuditEntry.objects.filter(action="incident.open").get().changes["trading_modes"] == [
        None,
        {"Spot trading": "halted"},
    ]


def test_a_maintenance_reopens_through_its_pre_open_phase(spot, website):
    maintenance = schedule_maintenance(components=[spot, website], hours_ahead=-0.5, length_hours=1)
    services.maintenance_start(maintenance=maintenance, actor=SYSTEM)
    services.maintenance_pre_open(maintenance=maintenance, actor=SYSTEM)
    maintenance.refresh_from_db()
    spot.refresh_from_db()
    assert maintenance.status == "pre_open" and maintenance.pre_open_at is not None
    assert (spot.status, spot.trading_mode) == ("under_maintenance", "pre_open")
    assert Component.objects.get(pk=website.pk).trading_mode == "normal"  # it does not trade
    (update,) = maintenance.updates.filter(status="pre_open")
    assert update.body == rules.DEFAULT_BODIES["pre_open"]
    assert update.body_zh_hans.startswith("维护工作已完成，预开盘阶段已开始")

    data = snapshot.rebuild()
    (item,) = data["scheduled_maintenances"]
    # Statuspage's clients see "in_progress"; the true status is in `phase`.
    assert (item["status"], item["phase"]) == ("in_progress", "pre_open")
    assert item["incident_updates"][0]["status"] == "in_progress" and item["incident_updates"][0]["phase"] == "pre_open"
    assert data["status"]["indicator"] == "maintenance"
    (row,) = data["okx"]
    assert row["state"] == "pre_open" and row["preOpenBegin"] == str(int(maintenance.pre_open_at.timestamp() * 1000))

    services.maintenance_complete(maintenance=maintenance, actor=SYSTEM)
    spot.refresh_from_db()
    assert (spot.status, spot.trading_mode) == ("operational", "normal")
    with pytest.raises(services.Conflict):
        services.maintenance_pre_open(maintenance=maintenance, actor=SYSTEM)


def test_a_planned_pre_open_phase_is_checked_and_entered_by_the_tick(spot):
    start = timezone.now() + timedelta(hours=1)
    window = {"scheduled_for": start, "scheduled_until": start + timedelta(hours=1)}
    for planned, field in ((start - timedelta(minutes=1), "pre_open_at"), (None, "auto_pre_open")):
        with pytest.raises(ValidationError) as refused:
            services.maintenance_schedule(
                actor=SYSTEM, name="Upgrade", body="x", pre_open_at=planned, auto_pre_open=True, **window
            )
        assert set(refused.value.message_dict) == {field}
    assert not Incident.objects.exists()

    maintenance = services.maintenance_schedule(
        actor=SYSTEM,
        name="Upgrade",
        body="x",
        components=[spot],
        auto_start=True,
        auto_complete=True,
        pre_open_at=start + timedelta(minutes=50),
        auto_pre_open=True,
        **window,
    )
    assert services.maintenance_tick(start + timedelta(seconds=1))["started"] == [maintenance.public_id]
    assert services.maintenance_tick(start + timedelta(minutes=49))["pre_open"] == []
    assert services.maintenance_tick(start + timedelta(minutes=50))["pre_open"] == [maintenance.public_id]
    assert services.maintenance_tick(start + timedelta(minutes=51))["pre_open"] == []  # once
    maintenance.refresh_from_db()
    assert maintenance.status == "pre_open"
    assert Component.objects.get(pk=spot.pk).trading_mode == "pre_open"
    assert services.maintenance_tick(start + timedelta(hours=1, seconds=1))["completed"] == [maintenance.public_id]
    assert Component.objects.get(pk=spot.pk).trading_mode == "normal"


def test_a_webhook_subscriber_of_the_product_gets_the_mode_in_a_verified_body(spot, receiver):
    subscriber = subscribe(receiver, components=[spot])
    services.component_set_trading_mode(component=spot, trading_mode="post_only", actor=SYSTEM)
    fan_out_all()
    (delivery,) = subscriber.deliveries.all()
    assert notify_delivery.attempt(delivery.pk) == "delivered"
    (request,) = receiver.at("/hook")
    assert request.verification_error == ""
    assert request.payload["component"]["trading_mode"] == "post_only"
    assert (request.payload["trading_mode_update"]["old_mode"], request.payload["trading_mode_update"]["new_mode"]) == (
        "normal",
        "post_only",
    )
    assert request.payload["page"]["status_indicator"] == "minor"
