"""The public subscription pages: subscribe (the same answer for everyone), confirm,
manage, unsubscribe (one click, no cookies). Mail is recorded for a worker, never sent
from the request; the mails themselves are built by `incidents.emails`."""

import re
import time
from urllib.parse import urlsplit

import pytest
from django.conf import settings
from django.core import mail, signing
from django.test import Client

from incidents import services
from incidents.models import Delivery, Notification, Subscriber
from incidents.notify import delivery as notify_delivery
from incidents.notify import dispatch, links
from incidents.notify import email as notify_email

from ..factories import ComponentFactory, open_incident

pytestmark = pytest.mark.django_db

SYSTEM = services.Actor.system()


def mails_recorded(address: str) -> list[str]:
    return list(Notification.objects.filter(recipient__email=address).order_by("id").values_list("kind", flat=True))


def answer(client, email: str, **extra):
    response = client.post("/subscribe", {"email": email, **extra})
    return response.status_code, response.get("Location"), client.get(response.get("Location")).content


def test_the_form_page_lists_the_components(client):
    ComponentFactory(name="Spot trading")
    hidden = ComponentFactory(name="Secret", is_hidden=True)
    response = client.get("/subscribe")
    assert response.status_code == 200
    assert b"Spot trading" in response.content and hidden.name.encode() not in response.content


def test_the_form_answers_the_same_for_new_pending_confirmed_and_unsubscribed_addresses(client):
    services.subscriber_create(actor=SYSTEM, email="pending@example.com")
    services.subscriber_create(actor=SYSTEM, email="confirmed@example.com", confirmed=True)
    gone = services.subscriber_create(actor=SYSTEM, email="gone@example.com", confirmed=True)
    services.subscriber_unsubscribe(subscriber=gone)
    Notification.objects.all().delete()

    answers = {
        address: answer(client, address)
        for address in ("new@example.com", "pending@example.com", "confirmed@example.com", "gone@example.com")
    }
    assert len(set(answers.values())) == 1
    status, location, _ = answers["new@example.com"]
    assert (status, location) == (302, "/subscribe/sent")
    assert mail.outbox == []  # nothing is sent from the request
    assert mails_recorded("new@example.com") == ["subscription.confirm"]
    assert mails_recorded("pending@example.com") == ["subscription.confirm"]
    assert mails_recorded("confirmed@example.com") == ["subscription.existing"]
    assert mails_recorded("gone@example.com") == ["subscription.confirm"]
    assert Subscriber.objects.get(email="gone@example.com").state == "pending"
    assert Subscriber.objects.get(email="confirmed@example.com").state == "active"


def test_asking_again_soon_sends_no_second_mail(client):
    answer(client, "reader@example.com")
    answer(client, "Reader@Example.com")
    assert mails_recorded("reader@example.com") == ["subscription.confirm"]


def test_a_malformed_address_is_refused_on_the_form(client):
    response = client.post("/subscribe", {"email": "not an address"})
    assert response.status_code == 400
    assert b"aria-invalid" in response.content
    assert not Subscriber.objects.exists()


def test_a_reader_chooses_components(client):
    spot, wallet = ComponentFactory(name="Spot trading"), ComponentFactory(name="Wallet")
    client.post("/subscribe", {"email": "reader@example.com", "components": [spot.public_id]})
    assert list(Subscriber.objects.get().components.all()) == [spot]
    assert wallet not in Subscriber.objects.get().components.all()


def test_the_confirmation_link_confirms_on_post_only(client):
    subscriber = services.subscriber_create(actor=SYSTEM, email="reader@example.com")
    path = f"/subscriptions/confirm/{links.confirm_token(subscriber)}"
    assert client.get(path).status_code == 200
    assert Subscriber.objects.get().state == "pending"
    response = client.post(path)
    assert response.status_code == 200 and b"You are subscribed" in response.content
    subscriber.refresh_from_db()
    assert subscriber.state == "active" and subscriber.confirmed_at is not None


def test_an_expired_or_forged_confirmation_link_is_refused(client):
    subscriber = services.subscriber_create(actor=SYSTEM, email="reader@example.com")
    week_and_a_day_ago = signing.b62_encode(int(time.time()) - 8 * 24 * 3600)
    expired = signing.Signer(salt="incidents.subscriptions.confirm").sign(
        f"{subscriber.public_id}:{week_and_a_day_ago}"
    )
    forged = links.confirm_token(subscriber)[:-2] + "xx"
    manage_token_as_confirm = links.manage_token(subscriber)
    for token in (expired, forged, manage_token_as_confirm):
        response = client.post(f"/subscriptions/confirm/{token}")
        assert response.status_code == 400
    assert b"expired" in client.get(f"/subscriptions/confirm/{expired}").content
    assert Subscriber.objects.get().state == "pending"


def test_the_manage_page_changes_components_and_unsubscribes(client):
    spot, wallet = ComponentFactory(name="Spot trading"), ComponentFactory(name="Wallet")
    subscriber = services.subscriber_create(actor=SYSTEM, email="reader@example.com", confirmed=True)
    path = f"/subscriptions/manage/{links.manage_token(subscriber)}"
    assert client.get(path).status_code == 200
    response = client.post(path, {"action": "save", "components": [spot.public_id, wallet.public_id]})
    assert response.status_code == 200 and b"Saved." in response.content
    assert set(subscriber.components.all()) == {spot, wallet}
    client.post(path, {"action": "save"})
    assert not subscriber.components.exists()  # the whole page again
    client.post(path, {"action": "unsubscribe"})
    assert Subscriber.objects.get().state == "unsubscribed"


def test_unsubscribe_asks_on_get_and_acts_on_a_cookieless_post(client):
    subscriber = services.subscriber_create(actor=SYSTEM, email="reader@example.com", confirmed=True)
    path = f"/subscriptions/unsubscribe/{links.manage_token(subscriber)}"
    assert client.get(path).status_code == 200
    assert Subscriber.objects.get().state == "active"  # a mail scanner opening the link changes nothing
    mail_client = Client(enforce_csrf_checks=True)
    response = mail_client.post(path, "List-Unsubscribe=One-Click", content_type="application/x-www-form-urlencoded")
    assert response.status_code == 200 and response.content == b"Unsubscribed.\n"
    assert Subscriber.objects.get().state == "unsubscribed"
    assert mail_client.post(path).status_code == 200  # again: still fine
    assert (
        Client(enforce_csrf_checks=True).post(f"/subscriptions/unsubscribe/{subscriber.public_id}:x").status_code == 400
    )


def test_other_subscription_forms_keep_csrf_protection():
    subscriber = services.subscriber_create(actor=SYSTEM, email="reader@example.com", confirmed=True)
    browser = Client(enforce_csrf_checks=True)
    assert (
        browser.post(f"/subscriptions/manage/{links.manage_token(subscriber)}", {"action": "unsubscribe"}).status_code
        == 403
    )
    assert browser.post("/subscribe", {"email": "x@example.com"}).status_code == 403


def test_the_api_sends_the_confirmation_mail_through_the_outbox(client, operator):
    token = services.api_token_create(user=operator, name="automation", scope="write")[1]
    response = client.post(
        "/api/v1/subscribers",
        {"email": "ops@example.com"},
        content_type="application/json",
        headers={"authorization": f"Bearer {token}"},
    )
    assert response.status_code == 201 and response.json()["state"] == "pending"
    assert mails_recorded("ops@example.com") == ["subscription.confirm"]
    assert mail.outbox == []


# --- the mails ---------------------------------------------------------------------------


def deliver_all() -> None:
    for notification_id in (
        Notification.objects.filter(fanned_out_at__isnull=True).order_by("id").values_list("id", flat=True)
    ):
        dispatch.fan_out(notification_id)
    for item in Delivery.objects.filter(state="pending").order_by("id"):
        assert notify_delivery.attempt(item.pk) == "delivered"


def test_the_confirmation_mail_carries_a_working_signed_link(client):
    client.post("/subscribe", {"email": "reader@example.com"})
    deliver_all()
    [message] = mail.outbox
    subscriber = Subscriber.objects.get()
    assert links.confirm_url(subscriber).rsplit(":", 1)[0] in message.body
    assert "List-Unsubscribe" not in message.extra_headers
    assert message.alternatives[0][1] == "text/html"


def test_incident_mails_thread_together_and_carry_one_click_unsubscribe():
    subscriber = services.subscriber_create(actor=SYSTEM, email="reader@example.com", confirmed=True)
    api = ComponentFactory(name="REST API")
    incident = open_incident(name="API errors", components={api: "major_outage"}, body="Calls **fail**.")
    services.incident_resolve(incident=incident, actor=SYSTEM, body="Fixed.")
    deliver_all()
    opened, resolved = mail.outbox
    root = f"<{incident.public_id}.{subscriber.public_id}@127.0.0.1>"
    assert opened.extra_headers["Message-ID"] == root
    assert resolved.extra_headers["In-Reply-To"] == root == resolved.extra_headers["References"]
    assert resolved.extra_headers["Message-ID"] != root
    assert (opened.subject, resolved.subject) == (
        "[OKX Status] Investigating: API errors",
        "[OKX Status] Resolved: API errors",
    )
    for message in (opened, resolved):
        assert message.extra_headers["List-Unsubscribe"] == f"<{links.unsubscribe_url(subscriber)}>"
        assert message.extra_headers["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
        assert links.manage_url(subscriber) in message.body
    assert "Calls **fail**." in opened.body and "REST API" in opened.body
    html, _ = opened.alternatives[0]
    assert "<strong>fail</strong>" in html
    assert "Resolved" in resolved.body and "Fixed." in resolved.body
    built = notify_email.build(Delivery.objects.filter(subscriber=subscriber).order_by("id").first()).message()
    assert built["Message-ID"] == root and built.is_multipart()


# --- the language of the mail ----------------------------------------------------------------


def selected_language(content: bytes, name: str = "language") -> str:
    """The language chosen in the form's select `name` (the channel form has its own)."""
    select = re.search(rb'<select name="' + name.encode() + rb'".*?</select>', content, re.S).group(0)
    [code] = re.findall(rb'<option value="([^"]+)" lang="[^"]+" selected>', select)
    return code.decode()


def test_the_form_offers_the_languages_by_name_preselected_to_the_page_s(client):
    for path, code, label in (
        ("/subscribe", "en", "Language of the emails"),
        ("/zh-hans/subscribe", "zh-hans", "邮件语言"),
        ("/zh-hant/subscribe", "zh-hant", "電子郵件語言"),
    ):
        response = client.get(path)
        assert response.status_code == 200
        content = response.content.decode()
        assert f'<label for="id_language">{label}</label>' in content
        for option, name in (("en", "English"), ("zh-hans", "简体中文"), ("zh-hant", "繁體中文")):
            assert f'<option value="{option}" lang="{option}"' in content and f">{name}</option>" in content
        assert selected_language(response.content) == code


def test_a_sign_up_from_the_simplified_page_gets_its_confirmation_in_simplified_chinese(client):
    assert selected_language(client.get("/zh-hans/subscribe").content) == "zh-hans"
    response = client.post("/zh-hans/subscribe", {"email": "reader@example.com", "language": "zh-hans"})
    assert (response.status_code, response["Location"]) == (302, "/zh-hans/subscribe/sent")
    subscriber = Subscriber.objects.get()
    assert subscriber.language == "zh-hans"

    deliver_all()
    [message] = mail.outbox
    assert message.subject == "请确认订阅 OKX Status"
    assert "确认订阅：" in message.body and "Confirm" not in message.body
    confirm_url = re.search(r"https?://\S+/subscriptions/confirm/\S+", message.body).group()
    assert confirm_url.startswith(f"{settings.STATUS_PAGE['URL']}/zh-hans/subscriptions/confirm/")
    [(html, _)] = message.alternatives
    assert '<html lang="zh-hans">' in html and "确认您的订阅" in html

    # The link opens the confirmation page in Simplified Chinese, and confirms on POST.
    path = urlsplit(confirm_url).path
    assert "确认" in client.get(path).content.decode()
    response = client.post(path)
    assert "您已订阅" in response.content.decode()
    assert f"/zh-hans/subscriptions/manage/{links.manage_token(subscriber)}" in response.content.decode()
    assert Subscriber.objects.get().state == "active"


def test_the_choice_wins_over_the_page_and_a_form_without_one_means_the_page_s(client):
    client.post("/zh-hans/subscribe", {"email": "english@example.com", "language": "en"})
    # The one-line form of the status page has no choice: posted to the page's own /subscribe.
    client.post("/zh-hant/subscribe", {"email": "oneline@example.com"})
    client.post("/subscribe", {"email": "default@example.com"})
    assert dict(Subscriber.objects.values_list("email", "language")) == {
        "english@example.com": "en",
        "oneline@example.com": "zh-hant",
        "default@example.com": "en",
    }


def test_a_language_the_page_does_not_have_is_refused_on_the_form(client):
    response = client.post("/subscribe", {"email": "reader@example.com", "language": "fr"})
    assert response.status_code == 400
    content = response.content.decode()
    assert re.search(
        r'<select name="language" id="id_language" aria-invalid="true" aria-describedby="language-errors">', content
    )
    assert 'id="language-errors"' in content
    assert not Subscriber.objects.exists() and not Notification.objects.exists()


def test_the_manage_page_changes_the_language(client):
    subscriber = services.subscriber_create(actor=SYSTEM, email="reader@example.com", confirmed=True)
    path = f"/zh-hant/subscriptions/manage/{links.manage_token(subscriber)}"
    response = client.get(path)
    assert "電子郵件語言" in response.content.decode()
    assert selected_language(response.content) == "en"

    response = client.post(path, {"action": "save", "language": "zh-hant"})
    assert response.status_code == 200 and "已儲存。" in response.content.decode()
    assert selected_language(response.content) == "zh-hant"
    assert Subscriber.objects.get().language == "zh-hant"

    client.post(path, {"action": "save"})  # a form without the choice leaves it as it is
    assert Subscriber.objects.get().language == "zh-hant"

    response = client.post(path, {"action": "save", "language": "xx"})
    assert response.status_code == 400 and 'id="language-errors"' in response.content.decode()
    assert Subscriber.objects.get().language == "zh-hant"

    # From now on, its mail is in Traditional Chinese.
    open_incident(name="API errors", translations={"zh-hant": {"name": "API 錯誤"}})
    deliver_all()
    [message] = mail.outbox
    assert message.subject == "[OKX Status] 調查中：API 錯誤"
