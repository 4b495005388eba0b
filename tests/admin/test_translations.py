"""Operators write every language in the admin: a field per language beside each text,
through the same services."""

import pytest
from django.test import TestCase
from django.urls import reverse

from incidents.models import Component, Incident

from .helpers import change_url, post_change

pytestmark = pytest.mark.django_db


def test_an_incident_is_opened_with_its_chinese_name_and_first_update(responder_client, trading):
    page = responder_client.get(reverse("admin:incidents_incident_add"))
    html = page.content.decode()
    for field in ("name_zh_hans", "name_zh_hant", "body_zh_hans", "body_zh_hant"):
        assert f'name="{field}"' in html, field
    assert 'lang="zh-hant"' in html
    with TestCase.captureOnCommitCallbacks(execute=True):
        response = responder_client.post(
            reverse("admin:incidents_incident_add"),
            {
                "name": "Order placement failing",
                "name_zh_hans": "下单失败",
                "name_zh_hant": "",
                "status": "investigating",
                "body": "Spot orders time out.",
                "body_zh_hans": "现货订单超时。",
                "impact_override": "",
                "started_at_0": "",
                "started_at_1": "",
            },
        )
    assert response.status_code == 302, response.context and response.context["adminform"].form.errors
    incident = Incident.objects.get(name_en="Order placement failing")
    assert (incident.name_zh_hans, incident.name_zh_hant) == ("下单失败", None)
    assert incident.updates.get().body_zh_hans == "现货订单超时。"


def test_an_operator_whose_admin_is_in_chinese_edits_the_english_text_as_english(responder_client, trading):
    component = trading["spot"]
    responder_client.cookies["page_language"] = "zh-hans"
    page = responder_client.get(change_url(component))
    assert page.context["adminform"].form.initial["name"] == "Spot trading"
    with TestCase.captureOnCommitCallbacks(execute=True):
        response = post_change(responder_client, component, name_zh_hans="现货交易", description_zh_hant="現貨")
    assert response.status_code == 302
    component = Component.objects.get(pk=component.pk)
    assert (component.name_en, component.name_zh_hans, component.description_zh_hant) == (
        "Spot trading",
        "现货交易",
        "現貨",
    )
    # Emptying a translation removes it: readers fall back to the English.
    with TestCase.captureOnCommitCallbacks(execute=True):
        post_change(responder_client, component, name_zh_hans="")
    assert Component.objects.get(pk=component.pk).name_zh_hans is None
