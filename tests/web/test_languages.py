"""The page in the reader's language and time zone: prefixes, the switch, first visits,
translated incident content with the default language as the fallback, `?locale=` on the
Statuspage reads, Accept-Language on OKX's, and the zone chosen without JavaScript."""

import json
import re

import pytest
from django.core.exceptions import ValidationError
from django.utils import translation

from incidents import languages, services
from incidents.models import Component, Network

pytestmark = pytest.mark.django_db

SYSTEM = services.Actor.system()


def text_of(response) -> str:
    assert response.status_code == 200, response.status_code
    return response.content.decode()


# --- which language a request is for ------------------------------------------------------


@pytest.mark.parametrize(
    ("cookie", "accept_language", "expected"),
    [
        (None, None, "en"),
        (None, "en-US,en;q=0.9,zh-CN;q=0.8", "en"),
        (None, "zh-CN,zh;q=0.9,en;q=0.8", "zh-hans"),
        (None, "zh", "zh-hans"),
        (None, "zh-TW,zh;q=0.9", "zh-hant"),
        (None, "zh-HK", "zh-hant"),
        (None, "zh-Hant-TW", "zh-hant"),
        (None, "fr-FR,zh-CN;q=0.8", "en"),  # only the first tag counts, as in nginx
        ("en", "zh-CN", "en"),  # the reader's own choice wins over the browser's
        ("zh-hant", "en-US", "zh-hant"),
        ("nonsense", "zh-CN", "en"),
    ],
)
def test_a_first_visit_goes_to_the_remembered_choice_else_the_browsers_first_language(
    cookie, accept_language, expected
):
    assert languages.first_visit(cookie, accept_language) == expected


def test_a_first_visit_to_the_page_in_a_chinese_browser_is_sent_to_its_language(client, demo):
    response = client.get("/", HTTP_ACCEPT_LANGUAGE="zh-CN,zh;q=0.9")
    assert (response.status_code, response["Location"]) == (302, "/zh-hans/")
    # Once English is chosen, `/` stays English.
    client.cookies["page_language"] = "en"
    assert client.get("/", HTTP_ACCEPT_LANGUAGE="zh-CN").status_code == 200


def test_the_switch_remembers_the_choice_and_goes_to_the_same_page_in_that_language(client, demo):
    response = client.get("/language", {"to": "zh-hant", "next": "/history"})
    assert (response.status_code, response["Location"]) == (302, "/zh-hant/history")
    assert response.cookies["page_language"].value == "zh-hant"
    back = client.get("/language", {"to": "en", "next": "/zh-hant/history"})
    assert back["Location"] == "/history"
    # Never off the page.
    assert client.get("/language", {"to": "en", "next": "https://evil.example/"})["Location"] == "/"


# --- the pages ------------------------------------------------------------------------------


@pytest.mark.parametrize(("prefix", "code"), [("", "en"), ("/zh-hans", "zh-hans"), ("/zh-hant", "zh-hant")])
def test_every_page_names_its_language_and_its_alternates(client, demo, prefix, code):
    html = text_of(client.get(f"{prefix}/"))
    assert f'<html lang="{code}">' in html
    for other in ("en", "zh-hans", "zh-hant"):
        target = "/" if other == "en" else f"/{other}/"
        assert re.search(rf'hreflang="{other}" href="https?://[^"/]+{target}"', html), other
    assert 'aria-current="true" lang="' + code + '"' in html


def test_the_status_texts_and_the_demo_incident_read_in_chinese(client, demo):
    hans = text_of(client.get("/zh-hans/"))
    hant = text_of(client.get("/zh-hant/"))
    assert "所有系统运行正常" in hans or "系统" in hans
    assert "系統" in hant
    incident = demo["incident"]
    page = text_of(client.get(f"/zh-hans/incidents/{incident.public_id}"))
    assert incident.name_zh_hans in page
    assert incident.name_en not in page
    # Its postmortem in Chinese too.
    assert incident.postmortem_body_zh_hans.splitlines()[0].lstrip("# ") in page


def test_a_missing_translation_shows_the_default_language_marked_as_such(client, demo):
    market = Component.objects.get(name="Market data")
    incident = services.incident_open(
        actor=SYSTEM,
        name="Delayed ticker",
        body="Tickers lag by a few seconds.",
        components={market: "degraded_performance"},
        translations={"zh-hans": {"name": "行情延迟"}},
    )
    page = text_of(client.get(f"/zh-hans/incidents/{incident.public_id}"))
    assert "行情延迟" in page
    # The update has no Chinese: shown in English, and marked as English.
    assert re.search(r'lang="en"[^>]*>\s*(<[^>]+>\s*)*Tickers lag by a few seconds', page), page
    hant = text_of(client.get(f"/zh-hant/incidents/{incident.public_id}"))
    assert re.search(r'lang="en"[^>]*>\s*Delayed ticker', hant), "the English name, marked"


UNTRANSLATED = 'lang="en" data-untranslated'
HOME_NOTE = {
    "zh-hans": "部分名称和更新尚无译文，以英文显示。",
    "zh-hant": "部分名稱和更新尚無譯文，以英文顯示。",
}
HISTORY_NOTE = "部分事件名稱尚無譯文，以英文顯示。"


def region(html: str, name: str) -> str:
    """A live region of the home page (`data-live-region="…"`), up to the next one."""
    start = html.index(f'data-live-region="{name}"')
    end = html.find("data-live-region=", start + 1)
    return html[start : end if end != -1 else len(html)]


def test_the_home_page_and_history_mark_what_has_no_translation_and_say_so_once_a_region(client, demo):
    market = Component.objects.get(name="Market data")
    options = services.component_create(actor=SYSTEM, name="Options")
    earn = services.component_create(actor=SYSTEM, name="Earn")
    services.component_set_status(component=earn, status="major_outage", actor=SYSTEM)
    incident = services.incident_open(
        actor=SYSTEM,
        name="Delayed ticker",
        body="Tickers lag by a few seconds.",
        components={market: "degraded_performance", options: "degraded_performance"},
        translations={"zh-hans": {"name": "行情延迟"}},
    )

    hans = text_of(client.get("/zh-hans/"))
    incidents = region(hans, "incidents")
    assert 'lang="en"' not in incidents.split("Tickers lag")[0].split("行情延迟")[0]  # the name is translated
    assert re.search(r'lang="en" data-untranslated>\s*(<[^>]+>\s*)*Tickers lag by a few seconds', incidents)
    # "Affects: Options、行情数据": only the English name marked.
    affects = re.search(r"影响范围：(.*?)</p>", incidents).group(1)
    assert sorted(affects.split("、")) == sorted([f"<span {UNTRANSLATED}>Options</span>", market.name_zh_hans])
    assert incidents.count(HOME_NOTE["zh-hans"]) == 1
    components = region(hans, "components")
    assert f'<span class="component__name" {UNTRANSLATED}>Options</span>' in components
    assert components.count(HOME_NOTE["zh-hans"]) == 1
    # The banner names the component down with nothing open, marked too; the components
    # region below already says why it is in English.
    assert f"<span {UNTRANSLATED}>Earn</span>" in region(hans, "banner")
    assert HOME_NOTE["zh-hans"] not in region(hans, "banner")
    # The demo's past incident is translated: nothing marked, nothing said.
    assert UNTRANSLATED not in region(hans, "past") and HOME_NOTE["zh-hans"] not in region(hans, "past")
    assert hans.count(HOME_NOTE["zh-hans"]) == 2

    hant = text_of(client.get("/zh-hant/"))
    assert f'/zh-hant/incidents/{incident.public_id}" {UNTRANSLATED}>Delayed ticker</a>' in region(hant, "incidents")

    # History shows only names: the note only where a name is in English.
    assert "部分事件名" not in text_of(client.get("/zh-hans/history"))
    history = text_of(client.get("/zh-hant/history"))
    assert f'/zh-hant/incidents/{incident.public_id}" {UNTRANSLATED}>Delayed ticker</a>' in history
    assert history.count(HISTORY_NOTE) == 1

    # English is English: nothing marked, nothing said.
    for path in ("/", "/history", f"/incidents/{incident.public_id}"):
        english = text_of(client.get(path))
        assert "data-untranslated" not in english and 'role="note"' not in english, path


FUNDING_NOTE = "部分名称和说明尚无译文，以英文显示。"


def test_a_network_note_without_a_translation_is_marked_on_both_funding_pages(
    client, demo, django_capture_on_commit_callbacks
):
    trc20 = list(Network.objects.filter(asset__symbol="USDT", code="TRC20"))
    services.funding_set(actor=SYSTEM, networks=trc20, withdrawal="suspended", note="Wallet maintenance")
    (network,) = trc20
    marked = f'<p class="note" {UNTRANSLATED}>Wallet maintenance</p>'
    home = region(text_of(client.get("/zh-hans/")), "funding")
    assert marked in home and home.count(FUNDING_NOTE) == 1
    page = text_of(client.get("/zh-hans/funding"))
    assert marked in page and page.count(FUNDING_NOTE) == 1
    # The network's name is translated (the demo's): not marked.
    assert f"<strong>USDT</strong> · {network.name_zh_hans}" in page

    with django_capture_on_commit_callbacks(execute=True):  # the rebuild after commit
        services.funding_set(
            actor=SYSTEM, networks=trc20, note="Wallet maintenance", translations={"zh-hans": {"note": "钱包维护"}}
        )
    page = text_of(client.get("/zh-hans/funding"))
    assert '<p class="note">钱包维护</p>' in page and "data-untranslated" not in page
    assert "data-untranslated" not in text_of(client.get("/funding"))


def test_an_incident_page_says_it_is_partly_in_english_only_when_it_shows_english(client, demo):
    options = services.component_create(
        actor=SYSTEM, name="Options", description="Options trading", translations={"zh-hans": {"name": "期权"}}
    )
    incident = services.incident_open(
        actor=SYSTEM,
        name="Options delayed",
        body="Orders are slow.",
        components={options: "degraded_performance"},
        translations={"zh-hans": {"name": "期权延迟", "body": "下单缓慢。"}},
    )
    # The component's description has no Chinese, but the incident page does not show it.
    page = text_of(client.get(f"/zh-hans/incidents/{incident.public_id}"))
    assert "data-untranslated" not in page and "尚无译文" not in page


# --- the APIs -------------------------------------------------------------------------------


def test_statuspage_reads_are_unchanged_without_a_locale_and_translated_with_one(client, demo):
    plain = client.get("/api/v2/summary.json")
    assert plain.status_code == 200
    body = json.loads(plain.content)
    assert body["status"]["description"] == "All Systems Operational"
    assert all(
        c["name"] == Component.objects.get(public_id=c["id"]).name_en for c in body["components"] if not c["group"]
    )
    translated = json.loads(client.get("/api/v2/summary.json", {"locale": "zh-hans"}).content)
    assert translated["status"]["description"] != "All Systems Operational"
    assert set(translated) == set(body)  # the same shape
    names = {c["id"]: c["name"] for c in translated["components"]}
    translation.activate("en")
    market = Component.objects.get(name="Market data")
    assert names[market.public_id] == market.name_zh_hans
    # The browser's language does not change a Statuspage read.
    assert client.get("/api/v2/summary.json", HTTP_ACCEPT_LANGUAGE="zh-CN").content == plain.content


def test_an_unknown_locale_is_a_400_naming_it(client, demo):
    response = client.get("/api/v2/summary.json", {"locale": "xx"})
    assert response.status_code == 400
    assert "locale" in response.json()


def test_okx_status_is_english_unless_the_client_asks_for_chinese_in_accept_language(client, demo):
    english = client.get("/api/v5/system/status")
    chinese = client.get("/api/v5/system/status", HTTP_ACCEPT_LANGUAGE="zh-CN")
    assert english.status_code == chinese.status_code == 200
    rows_en, rows_zh = english.json()["data"], chinese.json()["data"]
    assert [r["begin"] for r in rows_en] == [r["begin"] for r in rows_zh]
    assert rows_en and all(a["title"] != b["title"] for a, b in zip(rows_en, rows_zh, strict=True))
    assert "Accept-Language" in chinese["Vary"]


# --- writing translations ----------------------------------------------------------------


def test_translations_for_a_language_the_page_does_not_have_are_refused_and_nothing_is_written(demo):
    count = Component.objects.count()
    with pytest.raises(ValidationError) as refused:
        services.component_create(actor=SYSTEM, name="Options", translations={"ja": {"name": "オプション"}})
    assert "translations.ja" in refused.value.message_dict
    with pytest.raises(ValidationError) as refused:
        services.component_create(actor=SYSTEM, name="Options", translations={"zh-hans": {"title": "期权"}})
    assert "translations.zh-hans.title" in refused.value.message_dict
    assert Component.objects.count() == count


# --- the time zone, without JavaScript ----------------------------------------------------


def test_a_chosen_zone_is_remembered_and_every_time_and_label_follow_it(client, demo):
    incident = demo["incident"]
    html = text_of(client.get(f"/incidents/{incident.public_id}"))
    assert "17:37 HKT" in html
    response = client.get("/zone", {"zone": "UTC", "next": f"/incidents/{incident.public_id}"})
    assert (response.status_code, response["Location"]) == (302, f"/incidents/{incident.public_id}")
    assert response.cookies["page_zone"].value == "UTC"
    html = text_of(client.get(f"/incidents/{incident.public_id}"))
    times = re.findall(r"<time [^>]*>([^<]*)</time>", html)
    assert times and all("HKT" not in t for t in times) and any("09:37 UTC" in t for t in times)
    assert "Times are shown in UTC (UTC)" in html
    client.get("/zone", {"zone": "Europe/Berlin", "next": "/"})
    assert "(Europe/Berlin)" in text_of(client.get("/"))
    # Back to the page's zone: the published bytes again.
    client.get("/zone", {"zone": "Asia/Hong_Kong"})
    assert "HKT" in text_of(client.get(f"/incidents/{incident.public_id}"))


def test_an_unknown_zone_is_a_400_on_the_picker(client, demo):
    response = client.get("/zone", {"zone": "Mars/Olympus"})
    assert response.status_code == 400
    assert "page_zone" not in response.cookies
