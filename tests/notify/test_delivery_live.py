"""Notifications end to end, with the real parts: a Celery worker on the configured broker
(the file-system broker, or RabbitMQ in CI's second run), a webhook receiver on loopback
that verifies every delivery with the `standardwebhooks` package, and Django's mail
backend. Changes are made as operators make them: through the services and the API."""

import re
import time
from datetime import timedelta
from urllib.parse import urlsplit

import pytest
from django.core import mail
from django.test import Client
from django.utils import timezone

from incidents import services, tasks
from incidents.models import Component, Delivery, Incident, Subscriber

from ..factories import ComponentFactory, open_incident
from ..live_delivery import SYSTEM, all_settled, mails_to, subscribe, wait_for

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("celery_worker", "roles")]


def test_a_receiver_gets_signed_incident_and_component_deliveries(receiver):
    api, wallet = ComponentFactory(name="REST API"), ComponentFactory(name="Wallet")
    subscribe(receiver, "/page")
    subscribe(receiver, "/wallet", components=[wallet])

    services.incident_open(
        actor=SYSTEM, name="API errors", body="Requests fail with 50011.", components={api: "major_outage"}
    )

    assert wait_for(lambda: receiver.events("/page") == {"incident.opened": 1, "component.updated": 1})
    assert wait_for(all_settled)
    records = receiver.at("/page")
    assert all(r.verification_error == "" for r in records)
    assert len({r.webhook_id for r in records}) == 2
    incident = next(r.payload for r in records if "incident" in r.payload)
    component = next(r.payload for r in records if "component" in r.payload)
    assert set(incident) == {"meta", "page", "incident", "translations"}
    assert incident["incident"]["name"] == "API errors"
    assert incident["page"]["status_indicator"] == "critical"
    assert set(component) == {"meta", "page", "component", "component_update", "translations"}
    assert component["component"]["id"] == api.public_id
    assert (component["component_update"]["old_status"], component["component_update"]["new_status"]) == (
        "operational",
        "major_outage",
    )
    assert receiver.at("/wallet") == []


def test_a_receiver_failing_three_times_gets_the_message_again_with_the_same_id(receiver, settings):
    settings.NOTIFICATION_RETRY_SCHEDULE = [0.3] * 9
    subscribe(receiver, "/flaky")
    receiver.plan["/flaky"] = [500, 502, (503, {"Retry-After": "1"}, b"busy", 0)]

    open_incident(name="Deposits delayed")

    assert wait_for(lambda: len(receiver.at("/flaky")) == 4, timeout=30)
    assert wait_for(all_settled)
    records = receiver.at("/flaky")
    assert [r.status for r in records] == [500, 502, 503, 204]
    assert len({r.webhook_id for r in records}) == 1
    assert len({r.body for r in records}) == 1
    assert all(r.verification_error == "" for r in records)
    assert records[3].at - records[2].at >= 0.9  # Retry-After: 1
    delivery = Delivery.objects.get()
    assert (delivery.state, delivery.attempt_count) == ("delivered", 4)
    assert list(delivery.attempts.values_list("status_code", flat=True)) == [500, 502, 503, 204]
    # Nothing more comes: a duplicate would show within the second (and fail at once).
    assert not wait_for(lambda: len(receiver.at("/flaky")) > 4, timeout=1)


def test_a_slow_receiver_does_not_hold_up_the_others(receiver, settings):
    settings.WEBHOOK_TIMEOUT = 10
    subscribe(receiver, "/slow")
    subscribe(receiver, "/fast")
    receiver.plan["/slow"] = [(204, {}, b"", 4)]

    started = time.monotonic()
    open_incident(name="Market data delayed")

    assert wait_for(lambda: receiver.at("/fast"), timeout=10)
    assert receiver.at("/fast")[0].at - started < 3
    assert wait_for(all_settled, timeout=20)
    assert time.monotonic() - started >= 4
    assert set(Delivery.objects.values_list("state", flat=True)) == {"delivered"}


def test_a_maintenance_scheduled_a_minute_ahead_reminds_starts_and_completes_by_itself(client, receiver):
    spot = ComponentFactory(name="Spot trading")
    ComponentFactory(name="Wallet")
    subscribe(receiver, "/spot", components=[spot])
    services.subscriber_create(actor=SYSTEM, email="trader@example.com", confirmed=True)
    start = timezone.now() + timedelta(minutes=1)
    maintenance = services.maintenance_schedule(
        actor=SYSTEM,
        name="Matching engine upgrade",
        body="Spot trading pauses for the upgrade.",
        scheduled_for=start,
        scheduled_until=start + timedelta(minutes=1),
        components=[spot],
        auto_start=True,
        auto_complete=True,
        remind_before_minutes=60,
    )

    def status() -> str:
        return Incident.objects.get(pk=maintenance.pk).status

    tasks.maintenance_tick.delay()  # within the hour before the start: the reminder
    assert wait_for(lambda: Incident.objects.get(pk=maintenance.pk).reminded_at is not None)
    tasks.maintenance_tick.delay(now=(start + timedelta(seconds=1)).isoformat())
    assert wait_for(lambda: status() == "in_progress")
    assert Component.objects.get(pk=spot.pk).status == "under_maintenance"

    def okx_shows(state: str) -> bool:
        rows = client.get("/api/v5/system/status", {"state": state}).json()["data"]
        return maintenance.public_id in [row["id"] for row in rows]

    assert wait_for(lambda: okx_shows("ongoing"))  # the snapshot is rebuilt just after commit
    tasks.maintenance_tick.delay(now=(start + timedelta(minutes=1, seconds=1)).isoformat())
    assert wait_for(lambda: status() == "completed")
    assert Component.objects.get(pk=spot.pk).status == "operational"
    assert wait_for(lambda: okx_shows("completed"))

    expected = {
        "maintenance.scheduled": 1,
        "maintenance.reminder": 1,
        "maintenance.started": 1,
        "maintenance.completed": 1,
        "component.updated": 2,
    }
    assert wait_for(lambda: receiver.events("/spot") == expected), receiver.events("/spot")
    assert wait_for(lambda: len(mails_to("trader@example.com")) == 4)
    assert wait_for(all_settled)
    first, *later = sorted(mails_to("trader@example.com"), key=lambda m: m.extra_headers.get("In-Reply-To", ""))
    root = first.extra_headers["Message-ID"]
    assert all(m.extra_headers["In-Reply-To"] == root == m.extra_headers["References"] for m in later)
    assert {m.subject for m in mails_to("trader@example.com")} == {
        f"[OKX Status] {news}: Matching engine upgrade"
        for news in ("Scheduled", "Reminder", "In progress", "Completed")
    }


def test_a_reader_confirms_gets_update_mail_and_unsubscribes_with_one_click(client):
    response = client.post("/subscribe", {"email": "Reader@Example.com"})
    assert response.status_code == 302 and response.url == "/subscribe/sent"
    assert wait_for(lambda: len(mail.outbox) == 1)
    [confirmation] = mail.outbox
    assert confirmation.to == ["reader@example.com"]
    confirm_path = urlsplit(re.search(r"https?://\S+/subscriptions/confirm/\S+", confirmation.body).group()).path
    assert client.get(confirm_path).status_code == 200
    assert Subscriber.objects.get().state == "pending"  # opening the link confirms nothing
    assert client.post(confirm_path).status_code == 200
    assert Subscriber.objects.get().state == "active"

    incident = open_incident(name="Deposits delayed")
    assert wait_for(lambda: len(mail.outbox) == 2)
    update = mail.outbox[1]
    assert update.subject == "[OKX Status] Investigating: Deposits delayed"
    assert "We are investigating." in update.body
    [(html, mimetype)] = update.alternatives
    assert mimetype == "text/html" and "We are investigating." in html
    headers = update.extra_headers
    assert headers["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    unsubscribe_url = re.fullmatch(r"<(\S+)>", headers["List-Unsubscribe"]).group(1)
    manage_url = re.search(r"https?://\S+/subscriptions/manage/\S+", update.body).group()
    assert unsubscribe_url in update.body
    assert client.get(urlsplit(manage_url).path).status_code == 200

    # What a mail client sends for RFC 8058: a POST with no cookies and no CSRF token.
    mail_client = Client(enforce_csrf_checks=True)
    response = mail_client.post(urlsplit(unsubscribe_url).path, {"List-Unsubscribe": "One-Click"})
    assert response.status_code == 200
    assert Subscriber.objects.get().state == "unsubscribed"

    services.incident_post_update(incident=incident, actor=SYSTEM, status="identified", body="Found it.")
    assert wait_for(all_settled)
    assert len(mail.outbox) == 2


def test_a_reader_signing_up_in_simplified_chinese_gets_every_mail_in_it(client):
    """The worker writes each mail in its reader's language, beside a reader of English."""
    services.subscriber_create(actor=SYSTEM, email="trader@example.com", confirmed=True)
    page = client.get("/zh-hans/subscribe").content.decode()
    assert '<option value="zh-hans" lang="zh-hans" selected>简体中文</option>' in page
    response = client.post("/zh-hans/subscribe", {"email": "reader@example.com", "language": "zh-hans"})
    assert response.status_code == 302 and response.url == "/zh-hans/subscribe/sent"
    assert wait_for(lambda: len(mails_to("reader@example.com")) == 1)
    [confirmation] = mails_to("reader@example.com")
    assert confirmation.subject == "请确认订阅 OKX Status"
    confirm_path = urlsplit(re.search(r"https?://\S+/subscriptions/confirm/\S+", confirmation.body).group()).path
    assert confirm_path.startswith("/zh-hans/subscriptions/confirm/")
    assert client.post(confirm_path).status_code == 200
    assert Subscriber.objects.get(email="reader@example.com").state == "active"

    open_incident(
        name="Deposits delayed",
        body="We are investigating.",
        translations={"zh-hans": {"name": "充值延迟", "body": "我们正在调查。"}},
    )
    assert wait_for(lambda: len(mails_to("reader@example.com")) == 2 and len(mails_to("trader@example.com")) == 1)
    assert wait_for(all_settled)
    chinese = mails_to("reader@example.com")[1]
    [english] = mails_to("trader@example.com")
    assert chinese.subject == "[OKX Status] 调查中：充值延迟"
    assert "我们正在调查。" in chinese.body and "/zh-hans/subscriptions/manage/" in chinese.body
    assert english.subject == "[OKX Status] Investigating: Deposits delayed"
    assert "We are investigating." in english.body and "/zh-hans/" not in english.body
