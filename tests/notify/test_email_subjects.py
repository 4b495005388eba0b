"""Each mail about an incident or a maintenance says in its subject what it tells (the status
the update set, a reminder, a reschedule), the name still at the end and the mails still one
thread, made through the real services and sent through Django's mail backend."""

from datetime import timedelta

import pytest
from django.core import mail

from incidents import services
from incidents.models import Delivery, Notification, Subscriber
from incidents.notify import delivery as notify_delivery
from incidents.notify import dispatch

from ..factories import ComponentFactory, open_incident, schedule_maintenance

pytestmark = pytest.mark.django_db

SYSTEM = services.Actor.system()


def deliver_all() -> list:
    """The mails the worker sends for everything recorded so far."""
    for notification_id in (
        Notification.objects.filter(fanned_out_at__isnull=True).order_by("id").values_list("id", flat=True)
    ):
        dispatch.fan_out(notification_id)
    for item in Delivery.objects.filter(state="pending").order_by("id"):
        assert notify_delivery.attempt(item.pk) == "delivered"
    sent, mail.outbox[:] = list(mail.outbox), []
    return sent


@pytest.fixture
def reader():
    return services.subscriber_create(actor=SYSTEM, email="reader@example.com", confirmed=True)


def assert_one_thread(messages, incident, subscriber: Subscriber):
    root = f"<{incident.public_id}.{subscriber.public_id}@127.0.0.1>"
    first, *later = messages
    assert first.extra_headers["Message-ID"] == root
    assert "In-Reply-To" not in first.extra_headers
    for message in later:
        assert message.extra_headers["In-Reply-To"] == root == message.extra_headers["References"]
        assert message.extra_headers["Message-ID"] != root
    assert len({m.extra_headers["Message-ID"] for m in messages}) == len(messages)


def test_an_incident_mail_subject_names_each_status(reader):
    api = ComponentFactory(name="REST API")
    incident = open_incident(name="API errors", components={api: "major_outage"})
    sent = deliver_all()
    for status in ("identified", "monitoring"):
        services.incident_post_update(incident=incident, actor=SYSTEM, status=status, body=f"Now {status}.")
        sent += deliver_all()
    services.incident_resolve(incident=incident, actor=SYSTEM, body="Fixed.")
    sent += deliver_all()
    services.postmortem_save(incident=incident, actor=SYSTEM, body="## Root cause\n\nA cache.", publish=True)
    sent += deliver_all()

    assert [m.subject for m in sent] == [
        "[OKX Status] Investigating: API errors",
        "[OKX Status] Identified: API errors",
        "[OKX Status] Monitoring: API errors",
        "[OKX Status] Resolved: API errors",
        "[OKX Status] Postmortem: API errors",
    ]
    assert_one_thread(sent, incident, reader)


def test_a_maintenance_mail_subject_names_each_step(reader):
    spot = ComponentFactory(name="Spot trading")
    maintenance = schedule_maintenance(name="Matching engine upgrade", components=[spot], hours_ahead=2)
    sent = deliver_all()
    assert services.maintenance_remind(maintenance=maintenance, actor=SYSTEM)
    sent += deliver_all()
    later = maintenance.scheduled_for + timedelta(hours=1)
    services.maintenance_reschedule(
        maintenance=maintenance, actor=SYSTEM, scheduled_for=later, scheduled_until=later + timedelta(hours=1)
    )
    sent += deliver_all()
    maintenance = services.maintenance_start(maintenance=maintenance, actor=SYSTEM)
    sent += deliver_all()
    maintenance = services.maintenance_verify(maintenance=maintenance, actor=SYSTEM)
    sent += deliver_all()
    # A progress note keeps the status, and says so.
    services.maintenance_post_update(maintenance=maintenance, actor=SYSTEM, body="Checks are half done.")
    sent += deliver_all()
    services.maintenance_complete(maintenance=maintenance, actor=SYSTEM)
    sent += deliver_all()

    assert [m.subject for m in sent] == [
        "[OKX Status] Scheduled: Matching engine upgrade",
        "[OKX Status] Reminder: Matching engine upgrade",
        "[OKX Status] Rescheduled: Matching engine upgrade",
        "[OKX Status] In progress: Matching engine upgrade",
        "[OKX Status] Verifying: Matching engine upgrade",
        "[OKX Status] Verifying: Matching engine upgrade",
        "[OKX Status] Completed: Matching engine upgrade",
    ]
    assert_one_thread(sent, maintenance, reader)


def test_a_cancelled_maintenance_says_so(reader):
    maintenance = schedule_maintenance(name="Wallet upgrade")
    services.maintenance_cancel(maintenance=maintenance, actor=SYSTEM)
    sent = deliver_all()
    assert [m.subject for m in sent] == [
        "[OKX Status] Scheduled: Wallet upgrade",
        "[OKX Status] Cancelled: Wallet upgrade",
    ]
    assert_one_thread(sent, maintenance, reader)


def test_a_later_mail_names_the_status_of_its_own_update(reader):
    """Sent after later changes (a slow queue, a retry), each mail names its own update's status."""
    incident = open_incident(name="Login failing")
    services.incident_post_update(incident=incident, actor=SYSTEM, status="identified", body="Found it.")
    services.incident_resolve(incident=incident, actor=SYSTEM, body="Fixed.")
    sent = deliver_all()
    assert [m.subject for m in sent] == [
        "[OKX Status] Investigating: Login failing",
        "[OKX Status] Identified: Login failing",
        "[OKX Status] Resolved: Login failing",
    ]
