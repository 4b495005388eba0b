"""The broker goes away while operators keep posting: nothing is lost, nothing waits.

The broker taken away is a RabbitMQ node this module starts for itself (tests never stop a
server they did not start: in CI's second run the machine's RabbitMQ serves every other
test meanwhile). Its worker runs in this process, as in test_delivery_live.py.
"""

import json
import time

import pytest
from celery.contrib.testing.worker import start_worker
from django.core import mail

from incidents import services
from incidents.models import Delivery, Notification
from statuspage.celery import app

from ..factories import open_incident
from ..live_delivery import SYSTEM, all_settled, mails_to, subscribe, use_broker, wait_for
from ..private_services import rabbitmq_server

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("roles")]


@pytest.fixture(scope="module")
def own_broker(django_db_setup):
    """A RabbitMQ node of this module's own, this process's senders pointed at it, and a
    worker consuming from it; yields the node (a `Server`: `down()`, `up()`)."""
    with (
        rabbitmq_server() as node,
        use_broker(node.url),
        start_worker(app, pool="threads", concurrency=4, perform_ping_check=False, shutdown_timeout=60),
    ):
        yield node


TELEGRAM_PATH = "/tg/bot123456789:AAbbccddeeffgghhiijjkkllmmnnooppqq/sendMessage"
TELEGRAM_OK = (200, {"Content-Type": "application/json"}, b'{"ok":true,"result":{"message_id":7}}', 0)
DISCORD_PATH = "/discord/4174216298/JHMHI8qBe7bk2ZwO5U711o3dV_js"


def chat_texts(receiver, path, key) -> list[str]:
    return [json.loads(r.body)[key] for r in receiver.at(path)]


def test_with_the_broker_down_twenty_updates_are_posted_and_all_arrive_once_it_is_back(
    client, operator, receiver, own_broker, settings
):
    subscribe(receiver, "/outage")
    services.subscriber_create(actor=SYSTEM, email="reader@example.com", confirmed=True)
    # The official Telegram and Discord channels, on loopback receivers that answer as they do.
    settings.CHAT_TELEGRAM_API_URL = receiver.url("/tg")
    settings.CHAT_DISCORD_API_URL = receiver.url("/discord")
    settings.CHAT_MIN_INTERVAL = {"*": 0.1}
    receiver.plan[TELEGRAM_PATH] = [TELEGRAM_OK] * 30
    services.subscriber_create(actor=SYSTEM, chat_url="tgram://123456789:AAbbccddeeffgghhiijjkkllmmnnooppqq/-1001")
    services.subscriber_create(actor=SYSTEM, chat_url="discord://4174216298/JHMHI8qBe7bk2ZwO5U711o3dV_js")
    token = services.api_token_create(user=operator, name="automation", scope="write")[1]
    incident = open_incident(name="Order book stale")
    assert wait_for(lambda: receiver.events("/outage") == {"incident.opened": 1} and mail.outbox, timeout=30)

    own_broker.down()  # the node stops; the worker and the senders lose it
    try:
        for n in range(20):
            started = time.monotonic()
            response = client.post(
                f"/api/v1/incidents/{incident.public_id}/updates",
                {"status": "identified" if n < 10 else "monitoring", "body": f"Update {n + 1} of 20."},
                content_type="application/json",
                headers={"authorization": f"Bearer {token}"},
            )
            assert response.status_code == 201, response.content
            assert time.monotonic() - started < 5
        # All twenty are in the outbox. (A dispatch queued before the outage may still fan
        # some out: the worker keeps its own connection; what cannot happen is sending.)
        assert Notification.objects.filter(kind="incident.updated").count() == 20
        # Nothing gets through while the broker is away (checked for a second).
        assert not wait_for(lambda: receiver.events("/outage") != {"incident.opened": 1}, timeout=1)
    finally:
        own_broker.up()

    # Back: beat's sweep finds what is due (here sent every 2 s instead of every 30 s).
    assert wait_for(
        lambda: (
            receiver.events("/outage")["incident.updated"] == 20
            and len(mails_to("reader@example.com")) == 21
            and len(receiver.at(TELEGRAM_PATH)) == 21
            and len(receiver.at(DISCORD_PATH)) == 21
        ),
        timeout=120,
        sweep_every=2,
    ), (receiver.events("/outage"), len(mail.outbox), len(receiver.at(TELEGRAM_PATH)), len(receiver.at(DISCORD_PATH)))
    assert wait_for(all_settled, timeout=30, sweep_every=2)

    records = receiver.at("/outage")
    assert all(r.verification_error == "" for r in records)
    bodies = sorted(r.payload["incident"]["incident_updates"][0]["body"] for r in records[1:])
    assert bodies == sorted(f"Update {n + 1} of 20." for n in range(20))
    assert len({r.webhook_id for r in records}) == 21
    assert Delivery.objects.filter(state="delivered").count() == 84
    # The channels read the updates once each and in the order they were posted.
    in_order = [f"Update {n + 1} of 20." for n in range(20)]
    assert [text.split("\n")[1] for text in chat_texts(receiver, TELEGRAM_PATH, "text")[1:]] == in_order
    assert [text.split("\n")[1] for text in chat_texts(receiver, DISCORD_PATH, "content")[1:]] == in_order
