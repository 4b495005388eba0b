"""Notifications in the subscriber's language: each mail of one notification is written in
its reader's language (subject, texts, the incident's own words, links), and a webhook
body is the default language's, unchanged, with the other languages' texts beside it
(`translations`). Made through the real services, sent through Django's mail backend and
to a real receiver that verifies the Standard Webhooks signature."""

import json
import re

import pytest
from django.conf import settings
from django.core import mail
from django.core.exceptions import ValidationError
from django.utils import timezone, translation
from standardwebhooks import Webhook, WebhookVerificationError

from incidents import selectors, services
from incidents.models import Delivery, Notification, Subscriber
from incidents.notify import delivery as notify_delivery
from incidents.notify import dispatch, links
from incidents.wire import statuspage as v2

from ..factories import ComponentFactory, open_incident, schedule_maintenance

pytestmark = pytest.mark.django_db

SYSTEM = services.Actor.system()
URL = settings.STATUS_PAGE["URL"]
CHINESE = re.compile(r"[\u3000-\u303f\u4e00-\u9fff\uff00-\uffef]")

TRANSLATED = {
    "zh-hans": {"name": "API 错误", "body": "请求**失败**。"},
    "zh-hant": {"name": "API 錯誤", "body": "請求**失敗**。"},
}


def deliver_all() -> list:
    """What the worker sends for everything recorded so far: the mails (webhooks go to
    their receivers)."""
    for notification_id in (
        Notification.objects.filter(fanned_out_at__isnull=True).order_by("id").values_list("id", flat=True)
    ):
        dispatch.fan_out(notification_id)
    for item in Delivery.objects.filter(state="pending").order_by("id"):
        assert notify_delivery.attempt(item.pk) == "delivered"
    sent, mail.outbox[:] = list(mail.outbox), []
    return sent


def reader(address: str, language: str | None = None) -> Subscriber:
    return services.subscriber_create(actor=SYSTEM, email=address, confirmed=True, language=language)


def to(messages, address: str) -> list:
    return [m for m in messages if m.to == [address]]


def html(message) -> str:
    [(body, mimetype)] = message.alternatives
    assert mimetype == "text/html"
    return body


# --- mail ----------------------------------------------------------------------------------


def test_each_reader_of_one_notification_gets_it_in_their_own_language():
    api = ComponentFactory(name="REST API", name_zh_hant="REST 介面", name_zh_hans="REST 接口")
    english = reader("en@example.com")
    traditional = reader("hant@example.com", "zh-hant")
    incident = open_incident(
        name="API errors", body="Requests **fail**.", components={api: "major_outage"}, translations=TRANSLATED
    )
    sent = deliver_all()
    [en], [zh] = to(sent, english.email), to(sent, traditional.email)

    assert zh.subject == "[OKX Status] 調查中：API 錯誤"
    assert "請求**失敗**。" in zh.body and "元件：REST 介面" in zh.body
    assert "取消訂閱：" in zh.body and "您收到此郵件" in zh.body
    assert "Requests" not in zh.body and "REST API" not in zh.body and "Unsubscribe" not in zh.body
    assert '<html lang="zh-hant">' in html(zh) and "<strong>失敗</strong>" in html(zh)
    # Its links lead to the pages in its language.
    assert f"{URL}/zh-hant/incidents/{incident.public_id}" in zh.body
    assert f"{URL}/zh-hant/subscriptions/manage/" in zh.body
    assert (
        zh.extra_headers["List-Unsubscribe"]
        == f"<{URL}/zh-hant/subscriptions/unsubscribe/{links.manage_token(traditional)}>"
    )
    assert f'href="{URL}/zh-hant/"' in html(zh)

    # The same notification, for the English reader: English through and through.
    assert en.subject == "[OKX Status] Investigating: API errors"
    assert "Requests **fail**." in en.body and "Components: REST API" in en.body
    assert not CHINESE.search(en.subject + en.body + html(en)), "English mail with Chinese in it"
    assert f"{URL}/incidents/{incident.public_id}" in en.body and "/zh-" not in en.body
    assert en.extra_headers["List-Unsubscribe"] == f"<{links.unsubscribe_url(english)}>"
    assert '<html lang="en">' in html(en)
    # One thread per reader, whatever the language.
    assert zh.extra_headers["Message-ID"] == f"<{incident.public_id}.{traditional.public_id}@127.0.0.1>"


def test_a_reader_hears_a_whole_incident_and_a_maintenance_in_traditional_chinese():
    reader("hant@example.com", "zh-hant")
    incident = open_incident(name="API errors", translations=TRANSLATED)
    services.incident_post_update(
        incident=incident,
        actor=SYSTEM,
        status="identified",
        body="A bad deploy.",
        translations={"zh-hant": {"body": "一次錯誤的部署。"}},
    )
    services.incident_resolve(
        incident=incident, actor=SYSTEM, body="Fixed.", translations={"zh-hant": {"body": "已修復。"}}
    )
    services.postmortem_save(
        incident=incident,
        actor=SYSTEM,
        body="## Root cause\n\nA cache.",
        publish=True,
        translations={"zh-hant": {"body": "## 根本原因\n\n快取。"}},
    )
    maintenance = schedule_maintenance(
        name="Matching engine upgrade",
        hours_ahead=2,
        translations={"zh-hant": {"name": "撮合引擎升級", "body": "我們將升級撮合引擎。"}},
    )
    assert services.maintenance_remind(maintenance=maintenance, actor=SYSTEM)
    sent = deliver_all()

    assert [m.subject for m in sent] == [
        "[OKX Status] 調查中：API 錯誤",
        "[OKX Status] 已確認原因：API 錯誤",
        "[OKX Status] 已解決：API 錯誤",
        "[OKX Status] 事後檢討：API 錯誤",
        "[OKX Status] 已排定：撮合引擎升級",
        "[OKX Status] 提醒：撮合引擎升級",
    ]
    identified, resolved, postmortem, scheduled, reminder = sent[1:]
    assert "一次錯誤的部署。" in identified.body and "A bad deploy." not in identified.body
    assert "已修復。" in resolved.body
    assert "此事件的事後檢討已發布。" in postmortem.body and "快取。" in postmortem.body
    assert "<h4>根本原因</h4>" in html(postmortem) and "Root cause" not in postmortem.body
    assert "我們將升級撮合引擎。" in scheduled.body
    assert "撮合引擎升級" in reminder.body and "Matching engine" not in reminder.body


def test_a_text_without_a_translation_is_the_english_one_in_the_readers_language():
    simplified = reader("hans@example.com", "zh-hans")
    open_incident(name="Deposits delayed", body="We are looking into it.")
    [message] = to(deliver_all(), simplified.email)
    assert message.subject == "[OKX Status] 调查中：Deposits delayed"
    assert "We are looking into it." in message.body and "退订：" in message.body


def test_a_change_made_in_chinese_still_writes_the_body_in_english():
    """An operator's request in Chinese (the admin follows the browser) makes the change; the
    notification's body is the default language's all the same, the others beside it."""
    english = reader("en@example.com")
    maintenance = schedule_maintenance(
        name="Wallet upgrade", hours_ahead=2, translations={"zh-hant": {"name": "錢包升級"}}
    )
    with translation.override("zh-hant"):
        assert services.maintenance_remind(maintenance=maintenance, actor=SYSTEM)
    reminder = Notification.objects.get(kind="maintenance.reminder")
    assert reminder.payload["incident"]["name"] == "Wallet upgrade"
    assert reminder.payload["page"]["status_description"] == "All Systems Operational"
    assert reminder.payload["translations"]["zh-hant"]["incident"]["name"] == "錢包升級"
    assert reminder.payload["translations"]["zh-hant"]["page"] == {"status_description": "所有系統運行正常"}
    subjects = [m.subject for m in to(deliver_all(), english.email)]
    assert subjects == ["[OKX Status] Scheduled: Wallet upgrade", "[OKX Status] Reminder: Wallet upgrade"]


# --- the subscriber's language, as the services take it ----------------------------------


@pytest.mark.parametrize("value", ["fr", "zh", "zh-TW", "english", " "])
def test_a_language_the_page_does_not_have_is_refused_on_language(value):
    with pytest.raises(ValidationError) as refused:
        services.subscriber_create(actor=SYSTEM, email="reader@example.com", language=value)
    assert set(refused.value.message_dict) == {"language"}
    with pytest.raises(ValidationError) as refused:
        services.subscriber_request(email="reader@example.com", language=value)
    assert set(refused.value.message_dict) == {"language"}
    assert not Subscriber.objects.exists()
    subscriber = reader("other@example.com", "zh-hant")
    with pytest.raises(ValidationError) as refused:
        services.subscriber_update(subscriber=subscriber, language=value)
    assert set(refused.value.message_dict) == {"language"}
    assert Subscriber.objects.get(pk=subscriber.pk).language == "zh-hant"


def test_the_language_is_the_default_unless_chosen_and_a_stranger_cannot_change_a_confirmed_one():
    assert reader("plain@example.com").language == "en"
    assert reader("chosen@example.com", "zh-Hant").language == "zh-hant"
    services.subscriber_request(email="chosen@example.com", language="zh-hans")
    assert Subscriber.objects.get(email="chosen@example.com").language == "zh-hant"
    services.subscriber_request(email="new@example.com", language="zh-hans")
    services.subscriber_request(email="new@example.com", language="zh-hant")  # still pending: the later choice
    assert Subscriber.objects.get(email="new@example.com").language == "zh-hant"
    # The mail to the confirmed address (already subscribed) is in its own language.
    sent = deliver_all()
    [existing] = to(sent, "chosen@example.com")
    assert existing.subject == "您對 OKX Status 的訂閱"
    assert f"{URL}/zh-hant/subscriptions/manage/" in existing.body


# --- webhooks ------------------------------------------------------------------------------


def subscribe(receiver, path="/hook") -> Subscriber:
    subscriber = services.subscriber_create(actor=SYSTEM, endpoint=receiver.url(path))
    receiver.secrets[path] = subscriber.webhook_secret
    return subscriber


def test_a_webhook_body_is_the_english_one_with_the_translations_beside_it(receiver):
    api = ComponentFactory(name="REST API", name_zh_hant="REST 介面")
    hook = subscribe(receiver)
    incident = open_incident(
        name="API errors",
        body="Requests fail.",
        components={api: "major_outage"},
        translations={"zh-hant": {"name": "API 錯誤", "body": "請求失敗。"}, "zh-hans": {"name": "API 错误"}},
    )
    deliver_all()

    records = {r.payload["meta"]["event"]: r for r in receiver.at("/hook")}
    assert set(records) == {"incident.opened", "component.updated"}
    assert all(r.verification_error == "" for r in records.values())
    opened = records["incident.opened"].payload
    update = incident.updates.get()

    # Today's body, exactly: Statuspage's shape, in English, then one key more.
    # (Keys as a set: PostgreSQL's jsonb, where the outbox keeps the body, orders them its own way.)
    assert set(opened) == {"meta", "incident", "page", "translations"}
    assert opened["meta"]["unsubscribe"] == f"{URL}/subscriptions/unsubscribe/{links.manage_token(hook)}"
    assert opened["incident"] == json.loads(json.dumps(v2.incident_json(selectors.incident_detail(incident.public_id))))
    assert opened["incident"]["name"] == "API errors"
    assert opened["incident"]["incident_updates"][0]["body"] == "Requests fail."
    assert opened["page"] == {
        "id": settings.STATUS_PAGE["ID"],
        "status_indicator": "critical",
        "status_description": "Major System Outage",
    }

    # Beside it: each other language's texts of that body, matched by id.
    assert opened["translations"] == {
        "zh-hant": {
            "incident": {
                "name": "API 錯誤",
                "incident_updates": [
                    {
                        "id": update.public_id,
                        "body": "請求失敗。",
                        "affected_components": [{"code": api.public_id, "name": "REST 介面"}],
                    }
                ],
                "components": [{"id": api.public_id, "name": "REST 介面"}],
            },
            "page": {"status_description": "系統嚴重中斷"},
        },
        "zh-hans": {
            "incident": {
                "name": "API 错误",
                # Not translated: the English text, as the page shows it in Simplified Chinese.
                "incident_updates": [
                    {
                        "id": update.public_id,
                        "body": "Requests fail.",
                        "affected_components": [{"code": api.public_id, "name": "REST API"}],
                    }
                ],
                "components": [{"id": api.public_id, "name": "REST API"}],
            },
            "page": {"status_description": "系统严重中断"},
        },
    }

    component = records["component.updated"].payload
    assert set(component) == {"meta", "component", "component_update", "page", "translations"}
    assert component["component"]["name"] == "REST API"
    assert component["translations"]["zh-hant"] == {
        "component": {"name": "REST 介面"},
        "page": {"status_description": "系統嚴重中斷"},
    }

    # The signature covers the whole body, the translations too.
    request = records["incident.opened"]
    Webhook(hook.webhook_secret).verify(request.body, request.headers)
    tampered = request.body.replace("API 錯誤".encode(), "API 故障".encode())
    assert tampered != request.body
    with pytest.raises(WebhookVerificationError):
        Webhook(hook.webhook_secret).verify(tampered, request.headers)


def test_every_attempt_carries_the_same_translations(receiver):
    """Made with the body in the change's transaction: a retry after the texts were edited
    sends the very bytes of the first attempt."""
    subscribe(receiver)
    receiver.plan["/hook"] = [500]
    incident = open_incident(name="Deposits delayed", translations={"zh-hant": {"name": "存款延遲"}})
    for notification_id in Notification.objects.values_list("id", flat=True):
        dispatch.fan_out(notification_id)
    delivery = Delivery.objects.get()
    assert notify_delivery.attempt(delivery.pk) == "retry"
    services.incident_edit(incident=incident, actor=SYSTEM, translations={"zh-hant": {"name": "入金延遲"}})
    Delivery.objects.filter(pk=delivery.pk).update(next_attempt_at=timezone.now(), enqueued_at=None)
    assert notify_delivery.attempt(delivery.pk) == "delivered"
    first, second = receiver.at("/hook")[:2]
    assert first.body == second.body
    assert second.payload["translations"]["zh-hant"]["incident"]["name"] == "存款延遲"
