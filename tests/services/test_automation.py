"""Scheduled maintenance runs itself: `maintenance_tick(now)` reminds, starts and completes
through the same services as an operator, once, however often or late it runs."""

import threading
from datetime import timedelta

import pytest
from django.db import connection

from incidents import services
from incidents.models import Component, Incident, Notification

from ..factories import ComponentFactory, schedule_maintenance

SYSTEM = services.Actor.system()


def kinds(maintenance) -> list[str]:
    return list(Notification.objects.filter(incident=maintenance).order_by("id").values_list("kind", flat=True))


def fresh(maintenance) -> Incident:
    return Incident.objects.get(pk=maintenance.pk)


@pytest.fixture
def spot(db):
    return ComponentFactory(name="Spot trading")


@pytest.fixture
def upgrade(spot):
    return schedule_maintenance(
        components=[spot], hours_ahead=2, length_hours=1, auto_start=True, auto_complete=True, remind_before_minutes=60
    )


@pytest.mark.django_db
def test_the_tick_reminds_an_hour_before_then_starts_then_completes(upgrade, spot):
    start, end = upgrade.scheduled_for, upgrade.scheduled_until
    assert services.maintenance_tick(start - timedelta(minutes=61)) == {
        "reminded": [],
        "started": [],
        "pre_open": [],
        "completed": [],
    }
    assert services.maintenance_tick(start - timedelta(minutes=59))["reminded"] == [upgrade.public_id]
    assert fresh(upgrade).reminded_at is not None
    assert services.maintenance_tick(start - timedelta(minutes=30))["reminded"] == []  # once

    assert services.maintenance_tick(start + timedelta(seconds=5))["started"] == [upgrade.public_id]
    assert fresh(upgrade).status == "in_progress"
    assert Component.objects.get(pk=spot.pk).status == "under_maintenance"
    assert services.maintenance_tick(start + timedelta(seconds=35))["started"] == []  # once

    assert services.maintenance_tick(end + timedelta(seconds=5))["completed"] == [upgrade.public_id]
    assert fresh(upgrade).status == "completed"
    assert Component.objects.get(pk=spot.pk).status == "operational"
    assert services.maintenance_tick(end + timedelta(seconds=35)) == {
        "reminded": [],
        "started": [],
        "pre_open": [],
        "completed": [],
    }
    assert kinds(upgrade) == [
        "maintenance.scheduled",
        "maintenance.reminder",
        "component.updated",
        "maintenance.started",
        "component.updated",
        "maintenance.completed",
    ]
    assert list(fresh(upgrade).updates.order_by("display_at", "id").values_list("status", flat=True)) == [
        "scheduled",
        "in_progress",
        "completed",
    ]


@pytest.mark.django_db
def test_a_component_an_operator_changed_meanwhile_keeps_its_status(upgrade, spot):
    services.maintenance_tick(upgrade.scheduled_for)
    services.component_set_status(component=spot, status="major_outage", actor=SYSTEM)
    services.maintenance_tick(upgrade.scheduled_until)
    assert fresh(upgrade).status == "completed"
    assert Component.objects.get(pk=spot.pk).status == "major_outage"


@pytest.mark.django_db
def test_a_late_tick_starts_and_completes_at_once_without_a_stale_reminder(upgrade):
    done = services.maintenance_tick(upgrade.scheduled_until + timedelta(hours=3))
    assert done == {"reminded": [], "started": [upgrade.public_id], "pre_open": [], "completed": [upgrade.public_id]}
    assert "maintenance.reminder" not in kinds(upgrade)


@pytest.mark.django_db
def test_without_automation_nothing_moves_but_the_reminder(spot):
    manual = schedule_maintenance(components=[spot], hours_ahead=0.5)
    done = services.maintenance_tick(manual.scheduled_until + timedelta(minutes=1))
    assert done == {
        "reminded": [],
        "started": [],
        "pre_open": [],
        "completed": [],
    }  # past its window: no reminder either
    done = services.maintenance_tick(manual.scheduled_for - timedelta(minutes=5))
    assert done["reminded"] == [manual.public_id]
    assert fresh(manual).status == "scheduled"


@pytest.mark.django_db
def test_no_reminder_when_none_is_asked_and_quiet_transitions_when_asked(spot):
    quiet = schedule_maintenance(
        components=[spot],
        auto_start=True,
        remind_before_minutes=None,
        notify_at_transitions=False,
        deliver_notifications=False,
    )
    services.maintenance_tick(quiet.scheduled_for)
    assert fresh(quiet).status == "in_progress"
    assert kinds(quiet) == []


@pytest.mark.django_db
def test_rescheduling_brings_the_reminder_back(upgrade):
    services.maintenance_tick(upgrade.scheduled_for - timedelta(minutes=30))
    later = upgrade.scheduled_for + timedelta(days=1)
    services.maintenance_reschedule(
        maintenance=upgrade, actor=SYSTEM, scheduled_for=later, scheduled_until=later + timedelta(hours=1)
    )
    assert services.maintenance_tick(later - timedelta(minutes=30))["reminded"] == [upgrade.public_id]
    assert kinds(upgrade).count("maintenance.reminder") == 2


@pytest.mark.django_db
def test_an_operator_who_started_it_first_wins(upgrade):
    services.maintenance_start(maintenance=upgrade, actor=SYSTEM)
    assert services.maintenance_tick(upgrade.scheduled_for)["started"] == []
    assert list(fresh(upgrade).updates.values_list("status", flat=True)).count("in_progress") == 1


@pytest.mark.django_db(transaction=True)
def test_two_ticks_at_once_act_once(roles, spot):
    maintenance = schedule_maintenance(components=[spot], auto_start=True, remind_before_minutes=None)
    now = maintenance.scheduled_for + timedelta(seconds=1)
    barrier = threading.Barrier(2)
    results = []

    def tick():
        barrier.wait()
        try:
            results.append(services.maintenance_tick(now))
        finally:
            connection.close()

    threads = [threading.Thread(target=tick) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert sorted(len(r["started"]) for r in results) == [0, 1]
    assert fresh(maintenance).status == "in_progress"
    assert fresh(maintenance).updates.filter(status="in_progress").count() == 1
    assert kinds(maintenance).count("maintenance.started") == 1
