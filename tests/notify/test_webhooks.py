"""Webhook delivery against a real receiver on loopback: Standard Webhooks signatures
verified with the `standardwebhooks` package, the delivery rules, and the SSRF guard."""

import time
from datetime import timedelta

import pytest
from django.core import mail
from django.core.exceptions import ValidationError
from django.utils import timezone
from standardwebhooks import Webhook, WebhookVerificationError

from incidents import services
from incidents.models import Delivery, Notification, Subscriber
from incidents.notify import delivery as notify_delivery
from incidents.notify import dispatch, webhook

from ..factories import open_incident

SYSTEM = services.Actor.system()


def subscribe(receiver, path="/hook", **kwargs) -> Subscriber:
    subscriber = services.subscriber_create(actor=SYSTEM, endpoint=receiver.url(path), **kwargs)
    receiver.secrets[path] = subscriber.webhook_secret
    return subscriber


def fan_out_all() -> None:
    for notification_id in (
        Notification.objects.filter(fanned_out_at__isnull=True).order_by("id").values_list("id", flat=True)
    ):
        dispatch.fan_out(notification_id)


def new_delivery(subscriber: Subscriber, name="Withdrawals delayed") -> Delivery:
    open_incident(name=name)
    fan_out_all()
    return Delivery.objects.get(subscriber=subscriber, notification__incident__name=name)


def due_now(delivery: Delivery) -> None:
    """Move the clock to the next attempt: make the delivery due now."""
    Delivery.objects.filter(pk=delivery.pk).update(next_attempt_at=timezone.now(), enqueued_at=None)


# --- signing -----------------------------------------------------------------------------


def test_signed_headers_verify_with_the_standardwebhooks_package():
    secret = webhook.new_secret()
    body = b'{"meta":{},"incident":{"id":"abc"}}'
    headers = webhook.signed_headers(secret, "msg_abc", body)
    assert secret.startswith("whsec_")
    assert Webhook(secret).verify(body, headers) == {"meta": {}, "incident": {"id": "abc"}}
    with pytest.raises(WebhookVerificationError):
        Webhook(secret).verify(body.replace(b"abc", b"abd"), headers)
    with pytest.raises(WebhookVerificationError):
        Webhook(webhook.new_secret()).verify(body, headers)


@pytest.mark.parametrize(
    ("header", "seconds"),
    [("120", 120.0), ("0", 0.0), ("", None), ("soon", None), ("Wed, 21 Oct 2015 07:28:00 GMT", 0.0)],
)
def test_retry_after_is_read_as_seconds_or_a_date(header, seconds):
    assert webhook.parse_retry_after(header) == seconds


def test_retry_after_as_a_future_date():
    assert webhook.parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT", now=1445412480 - 90) == pytest.approx(90)


# --- the SSRF guard ----------------------------------------------------------------------

REFUSED_HOSTS = [
    "localhost",
    "127.0.0.1",
    "127.1",
    "2130706433",  # 127.0.0.1 as one number
    "0x7f000001",  # in hex
    "0177.0.0.1",  # in octal
    "[::1]",
    "0.0.0.0",  # noqa: S104 - a host to refuse, not one to bind
    "[::]",
    "10.0.0.1",
    "172.16.5.4",
    "192.168.1.1",
    "169.254.169.254",  # cloud metadata
    "169.254.10.10",
    "100.64.0.1",  # carrier-grade NAT
    "100.127.255.254",
    "[fd00::1]",  # unique local
    "[fe80::1]",  # link local
    "[::ffff:127.0.0.1]",  # IPv4-mapped
    "[::ffff:169.254.169.254]",
    "[::ffff:10.0.0.1]",
    "[64:ff9b::7f00:1]",  # NAT64 of 127.0.0.1
    "[2002:7f00:1::]",  # 6to4 of 127.0.0.1
    "224.0.0.1",  # multicast
    "[ff02::1]",
    "240.0.0.1",  # reserved
    "255.255.255.255",
    "192.0.2.1",  # documentation
]


@pytest.mark.parametrize("host", REFUSED_HOSTS)
def test_the_guard_refuses_non_global_addresses(host, settings):
    settings.WEBHOOK_ALLOW_LOOPBACK = False
    with pytest.raises(webhook.UnsafeDestination):
        webhook.check_url(f"https://{host}/hook")


@pytest.mark.parametrize(
    "url", ["https://1.1.1.1/hook", "http://8.8.8.8:8080/x?y=1", "https://[2606:4700:4700::1111]/"]
)
def test_the_guard_lets_global_addresses_through(url, settings):
    settings.WEBHOOK_ALLOW_LOOPBACK = False
    destination = webhook.check_url(url)
    assert destination.address in url


def test_loopback_passes_only_with_the_setting_and_nothing_else_does(settings):
    settings.WEBHOOK_ALLOW_LOOPBACK = True
    assert webhook.check_url("http://127.0.0.1:9/hook").address == "127.0.0.1"
    assert webhook.check_url("http://localhost:9/hook").address in ("127.0.0.1", "::1")
    for url in ("http://10.0.0.1/", "http://169.254.169.254/latest/meta-data/", "http://[fd00::1]/"):
        with pytest.raises(webhook.UnsafeDestination):
            webhook.check_url(url)


@pytest.mark.parametrize(
    "url",
    ["ftp://1.1.1.1/x", "https://user:pass@1.1.1.1/x", "https://no-such-host.invalid/x", "http:///nohost"],
)
def test_the_guard_refuses_what_it_cannot_check(url):
    with pytest.raises(webhook.UnsafeDestination):
        webhook.check_url(url)


@pytest.mark.django_db
@pytest.mark.parametrize("host", ["127.0.0.1", "169.254.169.254", "[::ffff:127.0.0.1]", "100.64.0.1"])
def test_subscribing_a_non_global_endpoint_is_refused_on_the_endpoint_field(host, settings):
    settings.WEBHOOK_ALLOW_LOOPBACK = False
    with pytest.raises(ValidationError) as refused:
        services.subscriber_create(actor=SYSTEM, endpoint=f"http://{host}/hook")
    assert set(refused.value.message_dict) == {"endpoint"}
    assert not Subscriber.objects.exists()


@pytest.mark.django_db
def test_the_api_answers_400_for_a_non_global_endpoint(client, operator, settings):
    settings.WEBHOOK_ALLOW_LOOPBACK = False
    token = services.api_token_create(user=operator, name="automation", scope="write")[1]
    response = client.post(
        "/api/v1/subscribers",
        {"endpoint": "http://[::ffff:169.254.169.254]/latest"},
        content_type="application/json",
        headers={"authorization": f"Bearer {token}"},
    )
    assert response.status_code == 400
    assert "169.254.169.254" in response.json()["endpoint"][0]


def test_the_request_goes_to_the_checked_address_with_the_host_name(receiver):
    """Pinned: the host name is never resolved again (this one cannot be), yet the
    request reaches the checked address and names the host in its Host header."""
    port = receiver.server.server_address[1]
    destination = webhook.Destination("http", "hooks.invalid", port, "/pinned?x=1", "127.0.0.1")
    response = webhook.post(destination, b"{}", {"Content-Type": "application/json"})
    assert response.status == 204
    [request] = receiver.at("/pinned?x=1")
    assert request.headers["host"] == f"hooks.invalid:{port}"


# --- delivery rules ----------------------------------------------------------------------


@pytest.mark.django_db
def test_a_delivery_is_signed_verifiable_and_logged(receiver):
    subscriber = subscribe(receiver)
    delivery = new_delivery(subscriber)
    assert notify_delivery.attempt(delivery.pk) == "delivered"

    [request] = receiver.at("/hook")
    assert request.verification_error == ""
    assert request.webhook_id == f"msg_{delivery.notification.public_id}"
    assert abs(int(request.headers["webhook-timestamp"]) - time.time()) < 10
    assert request.headers["content-type"] == "application/json"
    assert set(request.payload) == {"meta", "page", "incident", "translations"}
    assert request.payload["incident"]["name"] == "Withdrawals delayed"
    assert request.payload["page"]["status_indicator"] in ("none", "minor", "major", "critical")
    assert request.payload["meta"]["unsubscribe"].startswith("http")
    delivery.refresh_from_db()
    assert (delivery.state, delivery.attempt_count, delivery.last_status_code) == ("delivered", 1, 204)
    [logged] = delivery.attempts.all()
    assert (logged.number, logged.status_code, logged.address, logged.error) == (1, 204, "127.0.0.1", "")
    assert logged.duration_ms < 5000


@pytest.mark.django_db
def test_a_redirect_is_a_failure_and_is_not_followed(receiver):
    subscriber = subscribe(receiver)
    receiver.plan["/hook"] = [(302, {"Location": receiver.url("/elsewhere")}, b"", 0)]
    delivery = new_delivery(subscriber)
    assert notify_delivery.attempt(delivery.pk) == "retry"
    assert receiver.at("/elsewhere") == []
    delivery.refresh_from_db()
    assert delivery.state == "pending" and delivery.next_attempt_at > timezone.now()
    assert delivery.last_status_code == 302 and "not followed" in delivery.last_error


@pytest.mark.django_db
def test_410_gone_disables_the_subscriber(receiver):
    subscriber = subscribe(receiver)
    receiver.plan["/hook"] = [410]
    first = new_delivery(subscriber)
    second = new_delivery(subscriber, name="Deposits delayed")
    assert notify_delivery.attempt(first.pk) == "failed"
    subscriber.refresh_from_db()
    assert subscriber.state == "disabled" and "410" in subscriber.disabled_reason
    assert notify_delivery.attempt(second.pk) == "cancelled"
    assert len(receiver.at("/hook")) == 1


@pytest.mark.django_db
@pytest.mark.parametrize("status", [429, 503])
def test_retry_after_is_honoured(receiver, status):
    subscriber = subscribe(receiver)
    receiver.plan["/hook"] = [(status, {"Retry-After": "120"}, b"slow down", 0)]
    delivery = new_delivery(subscriber)
    before = timezone.now()
    assert notify_delivery.attempt(delivery.pk) == "retry"
    delivery.refresh_from_db()
    wait = (delivery.next_attempt_at - before).total_seconds()
    assert 119 <= wait <= 125
    assert delivery.attempts.get().response_excerpt == "slow down"


@pytest.mark.django_db
def test_failures_back_off_on_the_schedule_with_jitter_then_give_up(receiver, settings):
    schedule = settings.NOTIFICATION_RETRY_SCHEDULE
    assert sum(schedule) / 86400 == pytest.approx(3.15, abs=0.1)  # about three days
    subscriber = subscribe(receiver)
    receiver.plan["/hook"] = [500] * 20
    delivery = new_delivery(subscriber)
    for made, delay in enumerate(schedule, start=1):
        before = timezone.now()
        assert notify_delivery.attempt(delivery.pk) == "retry"
        delivery.refresh_from_db()
        assert delivery.attempt_count == made
        assert 0.8 * delay - 1 <= (delivery.next_attempt_at - before).total_seconds() <= 1.2 * delay + 1
        due_now(delivery)
    assert notify_delivery.attempt(delivery.pk) == "failed"
    delivery.refresh_from_db()
    assert delivery.state == "failed" and delivery.next_attempt_at is None
    assert list(delivery.attempts.values_list("status_code", flat=True)) == [500] * (len(schedule) + 1)
    assert len({r.webhook_id for r in receiver.at("/hook")}) == 1


@pytest.mark.django_db
def test_a_delivery_not_due_or_held_by_another_worker_is_left_alone(receiver):
    subscriber = subscribe(receiver)
    delivery = new_delivery(subscriber)
    Delivery.objects.filter(pk=delivery.pk).update(in_flight_until=timezone.now() + timedelta(minutes=1))
    assert notify_delivery.attempt(delivery.pk) == "skipped"
    Delivery.objects.filter(pk=delivery.pk).update(
        in_flight_until=None, next_attempt_at=timezone.now() + timedelta(minutes=1)
    )
    assert notify_delivery.attempt(delivery.pk) == "skipped"
    due_now(delivery)
    assert notify_delivery.attempt(delivery.pk) == "delivered"
    assert notify_delivery.attempt(delivery.pk) == "skipped"
    assert len(receiver.at("/hook")) == 1


@pytest.mark.django_db
def test_repeated_failures_quarantine_the_webhook_and_tell_its_owner(receiver, settings, caplog):
    settings.WEBHOOK_QUARANTINE_AFTER = 3
    subscriber = subscribe(receiver, owner_email="owner@example.com")
    receiver.plan["/hook"] = [500] * 5
    deliveries = [new_delivery(subscriber, name=f"Incident {n}") for n in range(4)]
    for item in deliveries[:3]:
        assert notify_delivery.attempt(item.pk) == "retry"
    subscriber.refresh_from_db()
    assert subscriber.state == "quarantined" and subscriber.consecutive_failures == 3
    assert "Quarantined after 3 failed deliveries" in caplog.text
    assert notify_delivery.attempt(deliveries[3].pk) == "cancelled"

    fan_out_all()
    notice = Delivery.objects.get(notification__kind="webhook.quarantined")
    assert notice.channel == "email" and notice.subscriber == subscriber
    assert notify_delivery.attempt(notice.pk) == "delivered"
    [message] = mail.outbox
    assert message.to == ["owner@example.com"]
    assert subscriber.endpoint in message.subject

    services.subscriber_reactivate(subscriber=subscriber, actor=SYSTEM)
    subscriber.refresh_from_db()
    assert (subscriber.state, subscriber.consecutive_failures) == ("active", 0)


@pytest.mark.django_db
def test_a_success_resets_the_failure_count(receiver):
    subscriber = subscribe(receiver)
    receiver.plan["/hook"] = [500, 500]
    delivery = new_delivery(subscriber)
    for _ in range(2):
        notify_delivery.attempt(delivery.pk)
        due_now(delivery)
    assert Subscriber.objects.get(pk=subscriber.pk).consecutive_failures == 2
    assert notify_delivery.attempt(delivery.pk) == "delivered"
    assert Subscriber.objects.get(pk=subscriber.pk).consecutive_failures == 0


@pytest.mark.django_db
def test_a_slow_receiver_is_cut_off_at_the_time_limit(receiver, settings):
    settings.WEBHOOK_TIMEOUT = 1
    subscriber = subscribe(receiver)
    receiver.plan["/hook"] = [(204, {}, b"", 3)]
    delivery = new_delivery(subscriber)
    started = time.monotonic()
    assert notify_delivery.attempt(delivery.pk) == "retry"
    assert time.monotonic() - started < 2.5
    delivery.refresh_from_db()
    assert "TimeoutError" in delivery.last_error or "timed out" in delivery.last_error


@pytest.mark.django_db
def test_only_a_bounded_part_of_a_large_answer_is_read(receiver):
    subscriber = subscribe(receiver)
    receiver.plan["/hook"] = [(200, {"Content-Type": "text/plain"}, b"x" * 5_000_000, 0)]
    delivery = new_delivery(subscriber)
    assert notify_delivery.attempt(delivery.pk) == "delivered"
    assert len(delivery.attempts.get().response_excerpt) == webhook.EXCERPT_CHARS


@pytest.mark.django_db
def test_the_guard_runs_again_at_send_time(receiver, settings):
    subscriber = subscribe(receiver)  # allowed while loopback was
    delivery = new_delivery(subscriber)
    settings.WEBHOOK_ALLOW_LOOPBACK = False
    assert notify_delivery.attempt(delivery.pk) == "retry"
    delivery.refresh_from_db()
    assert delivery.last_error.startswith("refused: ") and "loopback" in delivery.last_error
    assert receiver.at("/hook") == []


@pytest.mark.django_db
def test_the_api_keeps_a_webhook_owner_to_tell(client, operator):
    token = services.api_token_create(user=operator, name="automation", scope="write")[1]
    response = client.post(
        "/api/v1/subscribers",
        {"endpoint": "https://1.1.1.1/hook", "owner_email": "OnCall@Example.com"},
        content_type="application/json",
        headers={"authorization": f"Bearer {token}"},
    )
    assert response.status_code == 201
    assert response.json()["owner_email"] == "oncall@example.com"
    assert response.json()["secret"].startswith("whsec_")
