"""The outbox: what each service records for subscribers, in its own transaction, and who
is told. No broker and no receiver here: fan-out is called directly."""

from datetime import timedelta

import pytest
from django.db import IntegrityError, transaction
from django.utils import timezone

from incidents import services
from incidents.models import Delivery, Notification, Subscriber
from incidents.notify import delivery as notify_delivery
from incidents.notify import dispatch, queue

from ..factories import ComponentFactory, open_incident, schedule_maintenance

pytestmark = pytest.mark.django_db

SYSTEM = services.Actor.system()


def kinds() -> list[str]:
    return list(Notification.objects.order_by("id").values_list("kind", flat=True))


def fan_out_all() -> None:
    for notification_id in (
        Notification.objects.filter(fanned_out_at__isnull=True).order_by("id").values_list("id", flat=True)
    ):
        dispatch.fan_out(notification_id)


def told(subscriber: Subscriber) -> list[str]:
    """The kinds this subscriber gets a delivery of, oldest first."""
    fan_out_all()
    return list(
        Delivery.objects.filter(subscriber=subscriber)
        .order_by("notification_id")
        .values_list("notification__kind", flat=True)
    )


def email_subscriber(address: str, components=()) -> Subscriber:
    return services.subscriber_create(actor=SYSTEM, email=address, components=components, confirmed=True)


def webhook_subscriber(components=()) -> Subscriber:
    return services.subscriber_create(actor=SYSTEM, endpoint="https://1.1.1.1/hook", components=components)


# --- what each service records -----------------------------------------------------------


def test_an_incident_records_opened_updated_resolved_and_postmortem():
    api = ComponentFactory(name="REST API")
    incident = open_incident(components={api: "major_outage"})
    services.incident_post_update(incident=incident, actor=SYSTEM, status="identified", body="Found.")
    services.incident_resolve(incident=incident, actor=SYSTEM, body="Fixed.")
    services.postmortem_save(incident=incident, actor=SYSTEM, body="What happened.", publish=True)
    assert kinds() == [
        "component.updated",
        "incident.opened",
        "incident.updated",
        "component.updated",
        "incident.resolved",
        "incident.postmortem",
    ]
    opened = Notification.objects.get(kind="incident.opened")
    assert opened.incident == incident and opened.update == incident.updates.get(status="investigating")
    assert opened.event.action == "created"
    assert list(opened.components.all()) == [api]
    assert opened.payload["incident"]["id"] == incident.public_id
    assert opened.payload["page"]["status_indicator"] == "critical"
    resolved = Notification.objects.get(kind="incident.resolved")
    assert resolved.payload["page"]["status_indicator"] == "none"
    change = Notification.objects.filter(kind="component.updated").order_by("id").last()
    assert change.payload["component_update"]["new_status"] == "operational"


def test_maintenance_records_each_step():
    db = ComponentFactory(name="Database")
    maintenance = schedule_maintenance(components=[db])
    later = maintenance.scheduled_for + timedelta(days=1)
    maintenance = services.maintenance_reschedule(
        maintenance=maintenance, actor=SYSTEM, scheduled_for=later, scheduled_until=later + timedelta(hours=1)
    )
    assert services.maintenance_remind(maintenance=maintenance, actor=SYSTEM)
    assert not services.maintenance_remind(maintenance=maintenance, actor=SYSTEM)  # once per window
    maintenance = services.maintenance_start(maintenance=maintenance, actor=SYSTEM)
    services.maintenance_post_update(maintenance=maintenance, actor=SYSTEM, body="Halfway.")
    services.maintenance_complete(maintenance=maintenance, actor=SYSTEM)
    assert kinds() == [
        "maintenance.scheduled",
        "maintenance.rescheduled",
        "maintenance.reminder",
        "component.updated",
        "maintenance.started",
        "maintenance.updated",
        "component.updated",
        "maintenance.completed",
    ]
    reminder = Notification.objects.get(kind="maintenance.reminder")
    assert reminder.event is None and reminder.payload["incident"]["id"] == maintenance.public_id
    assert list(reminder.components.all()) == [db]

    other = schedule_maintenance(name="Wallet upgrade")
    services.maintenance_cancel(maintenance=other, actor=SYSTEM)
    assert kinds()[-2:] == ["maintenance.scheduled", "maintenance.cancelled"]


def test_operators_can_keep_an_update_quiet():
    api = ComponentFactory(name="REST API")
    incident = open_incident(components={api: "major_outage"}, deliver_notifications=False)
    services.incident_post_update(
        incident=incident,
        actor=SYSTEM,
        status="identified",
        body="Quiet.",
        components={api: "partial_outage"},
        deliver_notifications=False,
    )
    maintenance = schedule_maintenance(components=[api], notify_at_transitions=False, deliver_notifications=False)
    services.maintenance_start(maintenance=maintenance, actor=SYSTEM)
    assert kinds() == []
    services.incident_post_update(incident=incident, actor=SYSTEM, status="monitoring", body="Loud.")
    assert kinds() == ["incident.updated"]


def test_edits_that_tell_nothing_new_record_nothing():
    incident = open_incident()
    Notification.objects.all().delete()
    services.incident_edit(incident=incident, actor=SYSTEM, name="Renamed")
    services.incident_update_edit(update=incident.updates.get(), actor=SYSTEM, body="Typo fixed.")
    services.component_edit(component=ComponentFactory(), actor=SYSTEM, name="Renamed")
    assert kinds() == []


def test_the_notification_is_written_with_the_change_or_not_at_all():
    with pytest.raises(RuntimeError), transaction.atomic():
        open_incident(name="Rolled back")
        assert kinds() == ["incident.opened"]
        raise RuntimeError("the request failed after the service")
    assert kinds() == []


def test_the_dispatcher_is_kicked_only_after_commit(django_capture_on_commit_callbacks, monkeypatch):
    kicked = []
    monkeypatch.setattr(queue, "kick", lambda: kicked.append(True))
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        open_incident()
    assert kicked == [] and len(callbacks) == 1
    callbacks[0]()
    assert kicked == [True]


# --- who is told what --------------------------------------------------------------------


def test_page_subscribers_hear_everything_component_subscribers_only_theirs():
    api, wallet = ComponentFactory(name="REST API"), ComponentFactory(name="Wallet")
    page = email_subscriber("page@example.com")
    api_reader = email_subscriber("api@example.com", components=[api])
    wallet_hook = webhook_subscriber(components=[wallet])
    open_incident(name="API down", components={api: "major_outage"})
    open_incident(name="Unrelated")
    assert told(page) == ["incident.opened", "incident.opened"]
    assert told(api_reader) == ["incident.opened"]
    assert Delivery.objects.get(subscriber=api_reader).notification.incident.name == "API down"
    assert told(wallet_hook) == []


def test_component_changes_go_to_webhooks_only():
    api = ComponentFactory(name="REST API")
    page_mail = email_subscriber("page@example.com")
    page_hook = webhook_subscriber()
    api_hook = webhook_subscriber(components=[api])
    services.component_set_status(component=api, status="degraded_performance", actor=SYSTEM)
    assert told(page_mail) == []
    assert told(page_hook) == ["component.updated"]
    assert told(api_hook) == ["component.updated"]
    assert Delivery.objects.get(subscriber=api_hook).channel == "webhook"


def test_a_page_subscriber_hears_of_components_added_after_it_subscribed():
    page = email_subscriber("page@example.com")
    wallet_reader = email_subscriber("wallet@example.com", components=[ComponentFactory(name="Wallet")])
    earn = services.component_create(actor=SYSTEM, name="Earn")
    open_incident(name="Earn delayed", components={earn: "partial_outage"})
    assert told(page) == ["incident.opened"]
    assert told(wallet_reader) == []


def test_maintenance_reaches_subscribers_of_its_components():
    db, wallet = ComponentFactory(name="Database"), ComponentFactory(name="Wallet")
    db_reader = email_subscriber("db@example.com", components=[db])
    wallet_reader = email_subscriber("wallet@example.com", components=[wallet])
    schedule_maintenance(components=[db])
    assert told(db_reader) == ["maintenance.scheduled"]
    assert told(wallet_reader) == []


def test_only_active_subscribers_confirmed_before_the_news_are_told():
    pending = services.subscriber_create(actor=SYSTEM, email="pending@example.com")
    gone = email_subscriber("gone@example.com")
    services.subscriber_unsubscribe(subscriber=gone)
    open_incident(name="Before")
    late = email_subscriber("late@example.com")
    Subscriber.objects.filter(pk=late.pk).update(confirmed_at=timezone.now() + timedelta(seconds=1))
    assert told(pending) == ["subscription.confirm"]  # the confirmation mail, and nothing else
    assert told(gone) == []
    assert told(late) == []


# --- fan-out -----------------------------------------------------------------------------


def test_fan_out_twice_makes_nothing_twice():
    email_subscriber("a@example.com")
    email_subscriber("b@example.com")
    open_incident()
    notification = Notification.objects.get()
    assert dispatch.fan_out(notification.pk) == 2
    assert dispatch.fan_out(notification.pk) == 0
    Notification.objects.filter(pk=notification.pk).update(fanned_out_at=None)  # as if a worker died before marking
    dispatch.fan_out(notification.pk)
    assert Delivery.objects.count() == 2
    with pytest.raises(IntegrityError), transaction.atomic():
        Delivery.objects.create(notification=notification, subscriber=Subscriber.objects.first(), channel="email")


def test_the_sweep_fans_out_and_enqueues_what_is_due(monkeypatch):
    sent = []
    monkeypatch.setattr(
        "incidents.notify.queue.enqueue_delivery", lambda delivery_id, **kwargs: sent.append(delivery_id)
    )
    email_subscriber("a@example.com")
    open_incident()
    assert dispatch.dispatch() == {"deliveries_made": 1, "enqueued": 1}
    delivery = Delivery.objects.get()
    assert sent == [delivery.pk] and delivery.enqueued_at is not None
    assert dispatch.dispatch() == {"deliveries_made": 0, "enqueued": 0}  # handed over already
    Delivery.objects.update(enqueued_at=timezone.now() - dispatch.REQUEUE_AFTER - timedelta(seconds=1))
    assert dispatch.dispatch()["enqueued"] == 1  # its message was lost: handed over again
    Delivery.objects.update(enqueued_at=None, next_attempt_at=timezone.now() + timedelta(minutes=5))
    assert dispatch.dispatch()["enqueued"] == 0  # not due yet


def test_the_sweep_leaves_deliveries_due_when_the_broker_is_down(monkeypatch):
    def unreachable(*args, **kwargs):
        raise ConnectionRefusedError("no broker")

    monkeypatch.setattr("incidents.notify.queue.enqueue_delivery", unreachable)
    email_subscriber("a@example.com")
    open_incident()
    assert dispatch.dispatch() == {"deliveries_made": 1, "enqueued": 0}
    assert Delivery.objects.get().enqueued_at is None  # the next sweep tries again


@pytest.mark.parametrize(
    ("attempts", "low", "high"),
    [(1, 4, 6), (2, 240, 360), (3, 1440, 2160), (5, 14400, 21600), (9, 69120, 103680), (10, None, None)],
)
def test_retry_delays_follow_the_schedule_with_jitter(attempts, low, high):
    delays = {notify_delivery.retry_delay(attempts) for _ in range(20)}
    if low is None:
        assert delays == {None}
    else:
        assert all(low <= d.total_seconds() <= high for d in delays)
        assert len(delays) > 1  # jittered


def test_retry_after_wins_within_bounds():
    assert notify_delivery.retry_delay(1, retry_after=120).total_seconds() == 120
    assert notify_delivery.retry_delay(1, retry_after=0).total_seconds() == 1
    assert notify_delivery.retry_delay(1, retry_after=10**9).total_seconds() == 86400
    assert notify_delivery.retry_delay(10, retry_after=5) is None
