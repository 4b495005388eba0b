"""The notification admin: operators see every delivery and every attempt, redeliver, and
reactivate a quarantined webhook. (Registered by importing incidents.admin.)"""

import pytest
from django.urls import reverse

import incidents.admin  # noqa: F401 - registers the admin classes
from incidents import services
from incidents.models import Delivery, DeliveryAttempt, Notification, Subscriber
from incidents.notify import dispatch, queue

from ..factories import UserFactory, open_incident

pytestmark = pytest.mark.django_db

SYSTEM = services.Actor.system()


@pytest.fixture
def admin_client(client, roles):
    client.force_login(UserFactory(username="root", is_superuser=True))
    return client


@pytest.fixture
def failed_delivery():
    hook = services.subscriber_create(actor=SYSTEM, endpoint="https://1.1.1.1/hook")
    open_incident(name="API errors")
    dispatch.fan_out(Notification.objects.get().pk)
    delivery = Delivery.objects.get(subscriber=hook)
    DeliveryAttempt.objects.create(
        delivery=delivery, number=1, started_at=delivery.created_at, duration_ms=15000, error="TimeoutError: slow"
    )
    Delivery.objects.filter(pk=delivery.pk).update(
        state="failed", attempt_count=1, last_error="TimeoutError: slow", next_attempt_at=None
    )
    return delivery


def test_the_log_pages_show_deliveries_and_attempts(admin_client, failed_delivery):
    for name in ("subscriber", "notification", "delivery"):
        response = admin_client.get(reverse(f"admin:incidents_{name}_changelist"))
        assert response.status_code == 200, name
    response = admin_client.get(reverse("admin:incidents_delivery_change", args=[failed_delivery.pk]))
    assert response.status_code == 200
    assert b"TimeoutError: slow" in response.content and b"15000" in response.content
    response = admin_client.get(reverse("admin:incidents_notification_change", args=[failed_delivery.notification_id]))
    assert response.status_code == 200 and b"https://1.1.1.1/hook" in response.content


def test_redeliver_queues_the_delivery_again(admin_client, failed_delivery, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks() as callbacks:
        response = admin_client.post(
            reverse("admin:incidents_delivery_changelist"),
            {"action": "redeliver", "_selected_action": [failed_delivery.pk]},
        )
    assert response.status_code == 302
    failed_delivery.refresh_from_db()
    assert failed_delivery.state == "pending" and failed_delivery.next_attempt_at is not None
    assert callbacks == [queue.kick]


def test_a_quarantined_webhook_is_reactivated(admin_client):
    hook = services.subscriber_create(actor=SYSTEM, endpoint="https://1.1.1.1/hook")
    Subscriber.objects.filter(pk=hook.pk).update(state="quarantined", consecutive_failures=10)
    admin_client.post(
        reverse("admin:incidents_subscriber_changelist"), {"action": "reactivate", "_selected_action": [hook.pk]}
    )
    hook.refresh_from_db()
    assert (hook.state, hook.consecutive_failures) == ("active", 0)


def test_viewers_cannot_redeliver(client, viewer, failed_delivery):
    client.force_login(viewer)
    client.post(
        reverse("admin:incidents_delivery_changelist"),
        {"action": "redeliver", "_selected_action": [failed_delivery.pk]},
    )
    failed_delivery.refresh_from_db()
    assert failed_delivery.state == "failed"
