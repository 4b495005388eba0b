"""Translations through the v1 write API: the same services, the same checks."""

import json

import pytest

from incidents import services
from incidents.models import Incident, IncidentUpdate

from .test_api import call

pytestmark = pytest.mark.django_db


@pytest.fixture
def token(operator):
    return services.api_token_create(user=operator, name="translator", scope="write")[1]


def error_paths(errors, prefix: str = "") -> set[str]:
    """Every field an error names, nested ({"translations": {"zh-hans": …}}) or dotted
    ("translations.zh-hans"), as dotted paths."""
    found = set()
    if isinstance(errors, dict):
        for key, value in errors.items():
            path = f"{prefix}.{key}" if prefix else key
            found |= {path} | error_paths(value, path)
    return found


def test_an_incident_opened_with_translations_reads_in_each_language(client, demo, token):
    body = {
        "name": "Withdrawals delayed",
        "body": "BTC withdrawals are queued.",
        "translations": {
            "zh-hans": {"name": "提币延迟", "body": "BTC 提币排队处理中。"},
            "zh-hant": {"name": "提幣延遲"},
        },
    }
    response = call(client, "post", "/api/v1/incidents", token, body)
    assert response.status_code == 201, response.content
    public_id = response.json()["id"]
    incident = Incident.objects.get(public_id=public_id)
    assert (incident.name_en, incident.name_zh_hans, incident.name_zh_hant) == (
        "Withdrawals delayed",
        "提币延迟",
        "提幣延遲",
    )
    update = IncidentUpdate.objects.get(incident=incident)
    assert (update.body_en, update.body_zh_hans, update.body_zh_hant) == (
        "BTC withdrawals are queued.",
        "BTC 提币排队处理中。",
        None,
    )
    english = json.loads(client.get(f"/api/v2/incidents/{public_id}.json").content)["incident"]
    hans = json.loads(client.get(f"/api/v2/incidents/{public_id}.json", {"locale": "zh-hans"}).content)["incident"]
    hant = json.loads(client.get(f"/api/v2/incidents/{public_id}.json", {"locale": "zh-hant"}).content)["incident"]
    assert english["name"] == "Withdrawals delayed"
    assert (hans["name"], hans["incident_updates"][0]["body"]) == ("提币延迟", "BTC 提币排队处理中。")
    # No Traditional body: the default language's, as the fallback.
    assert (hant["name"], hant["incident_updates"][0]["body"]) == ("提幣延遲", "BTC withdrawals are queued.")
    assert hans["shortlink"].endswith(f"/zh-hans/incidents/{public_id}")
    assert english["shortlink"].endswith(f"/incidents/{public_id}") and "/zh-" not in english["shortlink"]


@pytest.mark.parametrize(
    ("translations", "field"),
    [
        ({"ja": {"name": "出金遅延"}}, "translations.ja"),
        ({"zh-hans": {"title": "提币延迟"}}, "translations.zh-hans.title"),
        ({"zh-hans": {"name": "长" * 201}}, "translations.zh-hans.name"),
        ({"en": {"name": "Again"}}, "translations.en"),
        ({"zh-hans": "提币延迟"}, "translations.zh-hans"),
    ],
)
def test_bad_translations_are_a_400_naming_the_field_and_nothing_is_written(
    client,
    demo,
    token,
    translations,
    field,
):
    before = Incident.objects.count()
    body = {"name": "Withdrawals delayed", "body": "Queued.", "translations": translations}
    response = call(client, "post", "/api/v1/incidents", token, body)
    assert response.status_code == 400, response.content
    assert field in error_paths(response.json()), response.json()
    assert Incident.objects.count() == before


def test_an_update_and_a_rename_take_translations(client, demo, token):
    opened = call(client, "post", "/api/v1/incidents", token, {"name": "Slow API", "body": "Looking."}).json()
    public_id = opened["id"]
    response = call(
        client,
        "post",
        f"/api/v1/incidents/{public_id}/updates",
        token,
        {
            "status": "identified",
            "body": "A cache node failed.",
            "translations": {"zh-hant": {"body": "一個快取節點故障。"}},
        },
    )
    assert response.status_code in (200, 201), response.content
    response = call(
        client,
        "patch",
        f"/api/v1/incidents/{public_id}",
        token,
        {"translations": {"zh-hans": {"name": "API 缓慢"}}},
    )
    assert response.status_code == 200, response.content
    incident = Incident.objects.get(public_id=public_id)
    assert (incident.name_en, incident.name_zh_hans) == ("Slow API", "API 缓慢")
    assert IncidentUpdate.objects.get(incident=incident, status="identified").body_zh_hant == "一個快取節點故障。"
