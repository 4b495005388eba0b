"""Community channels (issue #15, first part) through Apprise's real code path, against
loopback receivers that answer as each service does: Telegram's Bot API `sendMessage`,
Discord's and Slack's incoming webhooks, Mattermost's incoming webhook and ntfy. Each
request is asserted as the service would receive it; the messages go through the outbox
(an update is a new message, in order), in the channel's language, retried on failure."""

import json
import time
from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from incidents import services
from incidents.models import Delivery, DeliveryAttempt, Notification, Subscriber
from incidents.notify import delivery as notify_delivery
from incidents.notify import dispatch

from ..factories import ComponentFactory, open_incident
from ..live_delivery import Receiver

pytestmark = pytest.mark.django_db

SYSTEM = services.Actor.system()
BOT = "123456789:AAbbccddeeffgghhiijjkkllmmnnooppqq"
TELEGRAM_OK = (200, {"Content-Type": "application/json"}, b'{"ok":true,"result":{"message_id":7}}', 0)
SLACK_OK = (200, {"Content-Type": "text/plain"}, b"ok", 0)
MATTERMOST_OK = (200, {"Content-Type": "text/plain"}, b"ok", 0)
NTFY_OK = (200, {"Content-Type": "application/json"}, b'{"id":"x1","event":"message"}', 0)
DISCORD_OK = (200, {"Content-Type": "application/json"}, b'{"id":"1"}', 0)


@pytest.fixture
def services_on_loopback(settings):
    """One loopback server standing in for each service (by path), the API bases pointed at it."""
    server = Receiver()
    settings.CHAT_MIN_INTERVAL = {"*": 0.0}  # the pacing has a test of its own
    settings.CHAT_TELEGRAM_API_URL = server.url("/telegram")
    settings.CHAT_DISCORD_API_URL = server.url("/discord")
    settings.CHAT_SLACK_API_URL = server.url("/slack")
    port = server.server.server_address[1]
    paths = {
        "telegram": f"/telegram/bot{BOT}/sendMessage",
        "discord": "/discord/4174216298/JHMHI8qBe7bk2ZwO5U711o3dV_js",
        "slack": "/slack/T1JJ3T3L2/A1BRTD4JD/TIiajkdnlazkcOXrIdevi7",
        "mattermost": "/hooks/3ccdd113474722377935511fc85d3dd4",
        "ntfy": "/",
    }
    urls = {
        "telegram": f"tgram://{BOT}/-1001234567890",
        "discord": "discord://4174216298/JHMHI8qBe7bk2ZwO5U711o3dV_js",
        "slack": "slack://T1JJ3T3L2/A1BRTD4JD/TIiajkdnlazkcOXrIdevi7/#announcements",
        "mattermost": f"mmost://127.0.0.1:{port}/3ccdd113474722377935511fc85d3dd4",
        "ntfy": f"ntfy://127.0.0.1:{port}/exchange-status",
    }
    answers = {"telegram": TELEGRAM_OK, "discord": DISCORD_OK, "slack": SLACK_OK, "mattermost": MATTERMOST_OK}
    answers["ntfy"] = NTFY_OK
    for name, path in paths.items():
        server.plan[path] = [answers[name]] * 20
    yield server, paths, urls
    server.close()


def deliver_everything() -> list[str]:
    for notification_id in Notification.objects.filter(fanned_out_at__isnull=True).values_list("id", flat=True):
        dispatch.fan_out(notification_id)
    pending = Delivery.objects.filter(state=Delivery.State.PENDING).order_by("notification_id", "id")
    return [notify_delivery.attempt(pk) for pk in pending.values_list("pk", flat=True)]


def bodies(server, path) -> list[dict]:
    return [json.loads(r.body) for r in server.at(path)]


def test_each_service_receives_the_incident_and_each_update_as_it_takes_them(services_on_loopback):
    server, paths, urls = services_on_loopback
    for name, url in urls.items():
        services.subscriber_create(actor=SYSTEM, chat_url=url, chat_name=f"Official {name}")
    spot = ComponentFactory(name="Spot trading")
    incident = open_incident(
        name="Order placement failing", body="Orders **time out**.", components={spot: "major_outage"}
    )
    assert set(deliver_everything()) == {"delivered"}
    services.incident_post_update(incident=incident, actor=SYSTEM, status="identified", body="A cache node failed.")
    services.incident_resolve(incident=incident, actor=SYSTEM, body="Orders are placed normally again.")
    assert set(deliver_everything()) == {"delivered"}
    link = f"http://127.0.0.1:8000/incidents/{incident.public_id}"

    telegram = bodies(server, paths["telegram"])
    assert [m["chat_id"] for m in telegram] == [-1001234567890] * 3
    assert {m["parse_mode"] for m in telegram} == {"MARKDOWN"}
    assert telegram[0]["text"] == (
        f"*Investigating: Order placement failing*\nOrders *time out*.\n\nAffects: Spot trading\n\n{link}"
    )
    assert telegram[1]["text"].startswith("*Identified: Order placement failing*\nA cache node failed.")
    assert telegram[2]["text"].startswith("*Resolved: Order placement failing*\nOrders are placed normally again.")

    discord = bodies(server, paths["discord"])
    assert [m["content"].split("\r\n")[0] for m in discord] == [
        "Investigating: Order placement failing",
        "Identified: Order placement failing",
        "Resolved: Order placement failing",
    ]
    assert "Orders **time out**." in discord[0]["content"] and link in discord[0]["content"]

    slack = bodies(server, paths["slack"])
    assert [m["channel"] for m in slack] == ["#announcements"] * 3
    assert [m["attachments"][0]["title"] for m in slack] == [
        "Investigating: Order placement failing",
        "Identified: Order placement failing",
        "Resolved: Order placement failing",
    ]
    assert slack[0]["attachments"][0]["text"] == f"Orders *time out*.\n\nAffects: Spot trading\n\n{link}"

    mattermost = bodies(server, paths["mattermost"])
    assert mattermost[2]["text"].startswith("Resolved: Order placement failing\r\nOrders are placed normally again.")

    ntfy = bodies(server, paths["ntfy"])
    assert [(m["topic"], m["title"]) for m in ntfy] == [
        ("exchange-status", "Investigating: Order placement failing"),
        ("exchange-status", "Identified: Order placement failing"),
        ("exchange-status", "Resolved: Order placement failing"),
    ]
    # Every attempt is in the log, under the channel's name (never its credentials).
    addresses = set(DeliveryAttempt.objects.values_list("address", flat=True))
    assert "Official telegram (tgram)" in addresses and not any(BOT in a for a in addresses)


def test_a_channel_hears_in_its_own_language(services_on_loopback):
    server, paths, urls = services_on_loopback
    services.subscriber_create(actor=SYSTEM, chat_url=urls["telegram"], language="zh-hans")
    open_incident(
        name="Withdrawals delayed",
        body="Checking.",
        translations={"zh-hans": {"name": "提币延迟", "body": "正在检查。"}},
    )
    assert deliver_everything() == ["delivered"]
    (message,) = bodies(server, paths["telegram"])
    assert message["text"].startswith("*调查中: 提币延迟*\n正在检查。")
    assert "/zh-hans/incidents/" in message["text"]


def test_a_refused_message_is_retried_with_what_the_service_said(services_on_loopback):
    server, paths, urls = services_on_loopback
    channel = services.subscriber_create(actor=SYSTEM, chat_url=urls["telegram"])
    server.plan[paths["telegram"]] = [(502, {}, b"Bad Gateway", 0), TELEGRAM_OK]
    open_incident(name="Market data delayed")
    assert deliver_everything() == ["retry"]
    attempt = DeliveryAttempt.objects.get()
    assert "Telegram" in attempt.error and "502" in attempt.error
    assert Subscriber.objects.get(pk=channel.pk).consecutive_failures == 1
    Delivery.objects.update(next_attempt_at=attempt.started_at)
    assert [notify_delivery.attempt(pk) for pk in Delivery.objects.values_list("pk", flat=True)] == ["delivered"]
    assert Subscriber.objects.get(pk=channel.pk).consecutive_failures == 0
    assert len(server.at(paths["telegram"])) == 2


def test_a_channel_url_apprise_does_not_know_is_refused():
    with pytest.raises(ValidationError) as refused:
        services.subscriber_create(actor=SYSTEM, chat_url="carrier-pigeon://coop/1")
    assert "chat_url" in refused.value.message_dict
    with pytest.raises(ValidationError):
        services.subscriber_create(actor=SYSTEM, chat_url=f"tgram://{BOT}/1", email="a@example.com")
    assert not Subscriber.objects.exists()


def test_an_operator_adds_an_official_channel_in_the_admin_and_never_sees_its_token_again(client, roles):
    from django.urls import reverse

    from ..factories import UserFactory

    client.force_login(UserFactory(username="admin", is_superuser=True, is_staff=True))
    spot = ComponentFactory(name="Spot trading")
    add = reverse("admin:incidents_subscriber_add")
    refused = client.post(add, {"chat_name": "Official Telegram", "chat_url": "nope://x", "language": "en"})
    assert refused.status_code == 200 and "chat_url" in refused.context["adminform"].form.errors
    response = client.post(
        add,
        {
            "chat_name": "Official Telegram",
            "chat_url": f"tgram://{BOT}/-1001234567890",
            "language": "zh-hant",
            "components": [spot.pk],
            "owner_email": "ops@example.com",
        },
    )
    assert response.status_code == 302
    channel = Subscriber.objects.get()
    assert (channel.kind, channel.state, channel.language) == ("chat", "active", "zh-hant")
    assert list(channel.components.all()) == [spot]
    listing = client.get(reverse("admin:incidents_subscriber_changelist")).content.decode()
    page = client.get(reverse("admin:incidents_subscriber_change", args=[channel.pk])).content.decode()
    assert "Official Telegram (tgram)" in listing
    assert BOT not in listing and BOT not in page


def test_a_channel_reads_the_news_in_order_and_paced(services_on_loopback, settings):
    server, paths, urls = services_on_loopback
    settings.CHAT_MIN_INTERVAL = {"tgram": 0.4, "*": 0.0}
    services.subscriber_create(actor=SYSTEM, chat_url=urls["telegram"])
    incident = open_incident(name="Deposits delayed", body="First.")
    services.incident_post_update(incident=incident, actor=SYSTEM, status="identified", body="Second.")
    services.incident_post_update(incident=incident, actor=SYSTEM, status="monitoring", body="Third.")
    for notification_id in Notification.objects.values_list("id", flat=True):
        dispatch.fan_out(notification_id)
    first, second, third = Delivery.objects.order_by("notification_id")

    # A worker that takes the third first (four threads, a broker's redelivery) waits.
    assert notify_delivery.attempt(third.pk) == "waiting"
    assert notify_delivery.attempt(first.pk) == "delivered"
    # The next one is handed over, due once the channel's interval has passed.
    second.refresh_from_db()
    assert second.next_attempt_at >= Delivery.objects.get(pk=first.pk).delivered_at + timedelta(seconds=0.4)
    assert notify_delivery.attempt(second.pk) == "skipped"  # not due yet
    Delivery.objects.filter(pk=second.pk).update(next_attempt_at=timezone.now())
    assert notify_delivery.attempt(second.pk) == "waiting"  # due, but too soon after the first
    deadline = time.monotonic() + 10
    while Delivery.objects.filter(state="pending").exists() and time.monotonic() < deadline:
        for pk in Delivery.objects.filter(state="pending").order_by("notification_id").values_list("pk", flat=True):
            Delivery.objects.filter(pk=pk).update(next_attempt_at=timezone.now())
            notify_delivery.attempt(pk)
        time.sleep(0.05)

    received = server.at(paths["telegram"])
    texts = [json.loads(r.body)["text"].split("\n")[1] for r in received]
    assert texts == ["First.", "Second.", "Third."]
    gaps = [b.at - a.at for a, b in zip(received, received[1:], strict=False)]
    assert all(gap >= 0.4 for gap in gaps), gaps
    assert DeliveryAttempt.objects.count() == 3  # waiting is not an attempt


SLACK_HOOK = "https://hooks.slack.com/services/T1JJ3T3L2/A1BRTD4JD/TIiajkdnlazkcOXrIdevi7"


def test_a_reader_posts_to_their_slack_channel_once_someone_there_opens_the_test_message(
    client, services_on_loopback, roles
):
    import re

    server, paths, _ = services_on_loopback
    spot = ComponentFactory(name="Spot trading")
    response = client.post(
        "/subscribe",
        {"via": "channel", "channel-webhook_url": SLACK_HOOK, "channel-language": "en", "channel-components": []},
    )
    assert response.status_code == 302 and response.url.endswith("/subscribe/sent-channel")
    channel = Subscriber.objects.get()
    assert (channel.kind, channel.state, channel.chat_name) == ("chat", "pending", "Slack channel")
    open_incident(name="Before confirming", components={spot: "degraded_performance"})
    assert deliver_everything() == ["delivered"]  # the test message only: the incident is not posted
    (test_message,) = bodies(server, paths["slack"])
    attachment = test_message["attachments"][0]
    assert attachment["title"] == "Confirm posts from OKX Status"
    link = re.search(r"http://127\.0\.0\.1:8000(/subscriptions/confirm/[^\s>|]+)", attachment["text"]).group(1)

    assert client.get(link).status_code == 200  # opening it changes nothing (link scanners)
    assert Subscriber.objects.get().state == "pending"
    client.post(link)
    assert Subscriber.objects.get().state == "active"
    open_incident(name="After confirming", components={spot: "major_outage"})
    assert deliver_everything() == ["delivered"]
    titles = [b["attachments"][0]["title"] for b in bodies(server, paths["slack"])]
    assert titles == ["Confirm posts from OKX Status", "Investigating: After confirming"]


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:8000/hook",
        "https://hooks.slack.com.evil.example/services/T1/A1/X1",
        "https://10.0.0.7/api/webhooks/1/abc",
        "http://hooks.slack.com/services/T1JJ3T3L2/A1BRTD4JD/TIiajkdnlazkcOXrIdevi7",
        f"tgram://{BOT}/1",
        "mmost://127.0.0.1:8065/token",
    ],
)
def test_a_reader_may_give_only_a_slack_or_discord_webhook_of_the_services_own(client, roles, url):
    response = client.post("/subscribe", {"via": "channel", "channel-webhook_url": url})
    assert response.status_code == 400
    assert "Slack or Discord incoming-webhook URL" in response.content.decode()
    assert not Subscriber.objects.exists()


def test_discords_rate_limit_is_waited_out_not_counted_as_a_failure(services_on_loopback):
    """Discord answers 429 with its rate-limit headers: Apprise waits until the reset it
    names and sends again, in the same attempt."""
    server, paths, urls = services_on_loopback
    channel = services.subscriber_create(actor=SYSTEM, chat_url=urls["discord"])
    reset = int(time.time()) + 2
    limited = (429, {"X-RateLimit-Remaining": "0", "X-RateLimit-Reset": str(reset), "Retry-After": "2"}, b"{}", 0)
    server.plan[paths["discord"]] = [limited, DISCORD_OK]
    open_incident(name="Market data delayed")
    assert deliver_everything() == ["delivered"]
    first, second = server.at(paths["discord"])
    # Waited for the reset Discord named (Apprise adds 10 s for clocks that disagree).
    assert second.at - first.at >= 0.9
    assert DeliveryAttempt.objects.get().status_code is None and DeliveryAttempt.objects.get().error == ""
    assert Subscriber.objects.get(pk=channel.pk).consecutive_failures == 0


SLACK_BOT_TOKEN = "xoxb-1234-1234-4ddbc191d40ee098cbaae6f3523ada2d"


def test_on_slack_the_updates_of_an_incident_are_replies_in_its_thread(services_on_loopback, settings):
    """Slack's Web API with a bot token (what threads need; incoming webhooks cannot): the
    first message about an incident starts a thread, each later one replies in it, and
    another incident starts its own."""
    server, _, _ = services_on_loopback
    settings.CHAT_SLACK_BOT_API_URL = server.url("/slack-api")
    path = "/slack-api/chat.postMessage"
    answers = [
        (200, {"Content-Type": "application/json"}, json.dumps(a).encode(), 0)
        for a in (
            {"ok": True, "channel": "C0ANNOUNCE", "ts": "1611913020.000100"},
            {"ok": True, "channel": "C0ANNOUNCE", "ts": "1611913200.000200"},
            {"ok": True, "channel": "C0ANNOUNCE", "ts": "1611913500.000300"},
            {"ok": True, "channel": "C0ANNOUNCE", "ts": "1611914280.000400"},
            {"ok": True, "channel": "C0ANNOUNCE", "ts": "1611914300.000500"},
        )
    ]
    server.plan[path] = answers
    services.subscriber_create(
        actor=SYSTEM, chat_url=f"slack://{SLACK_BOT_TOKEN}/#announcements", chat_name="Official Slack"
    )
    spot = ComponentFactory(name="Spot trading")
    first = open_incident(name="Order placement failing", body="Orders time out.", components={spot: "major_outage"})
    assert deliver_everything() == ["delivered"]
    services.incident_post_update(incident=first, actor=SYSTEM, status="identified", body="A cache node failed.")
    assert deliver_everything() == ["delivered"]
    second = open_incident(name="Market data delayed", body="Tickers lag.", components={spot: "degraded_performance"})
    assert deliver_everything() == ["delivered"]
    services.incident_resolve(incident=first, actor=SYSTEM, body="Orders are placed normally again.")
    services.incident_post_update(incident=second, actor=SYSTEM, status="monitoring", body="Back to normal.")
    assert deliver_everything() == ["delivered", "delivered"]

    posted = server.at(path)
    assert {r.headers["authorization"] for r in posted} == {f"Bearer {SLACK_BOT_TOKEN}"}
    sent = [json.loads(r.body) for r in posted]
    assert [(m["channel"], m.get("thread_ts"), m["attachments"][0]["title"]) for m in sent] == [
        ("#announcements", None, "Investigating: Order placement failing"),
        ("#announcements", "1611913020.000100", "Identified: Order placement failing"),
        ("#announcements", None, "Investigating: Market data delayed"),
        ("#announcements", "1611913020.000100", "Resolved: Order placement failing"),
        ("#announcements", "1611913500.000300", "Monitoring: Market data delayed"),
    ]
