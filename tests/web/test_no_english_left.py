"""Every public page in Chinese says nothing in English, but for names and codes that stay
English in Chinese too (OKX, API, UTC, …) and content marked as shown in English for want
of a translation (`lang="en"`).

The walk reads what a reader sees: the text of each page (less its scripts, styles, code
and the parts marked `lang="en"`), the attributes a browser shows or reads out (title,
aria-label, alt, placeholder, an input button's value, the page's description), the
scripts' texts (the JSON island status.js draws its labels from) and the history feeds. A
word of three or more Latin letters that is not on the allow-list fails the test, named
with its page and the text around it.
"""

from __future__ import annotations

import json
import re
from html.parser import HTMLParser
from xml.etree import ElementTree
from zoneinfo import available_timezones

import pytest
from django.conf import settings

from incidents import languages, services
from incidents.demo import load_demo
from incidents.notify import links

pytestmark = pytest.mark.django_db

LANGUAGES = ("zh-hans", "zh-hant")

# English that is right on a Chinese page, each for its reason. Kept small on purpose: a
# word here is a word the test no longer looks for anywhere. Whole phrases where the
# words would be wrong alone ("Key" is only right in "API Key").
ALLOWED = (
    # The exchange's name.
    "OKX",
    # Codes Chinese readers know by these letters: the zone every page offers beside the
    # page's own, the feed formats (the footer's links), the API and its protocols, and
    # the webhooks the subscribe page mentions.
    "UTC",
    "Atom",
    "RSS",
    "API",
    "REST",
    "WebSocket",
    "Webhook",
    # The chat services a reader may post to from the subscribe page, by their names.
    "Slack",
    "Discord",
    # The zone page says the choice is kept in a cookie: Chinese says Cookie too.
    "Cookie",
    # The footer's link to /api/v2/summary.json is named after the file it opens, and a
    # metric's link to its numbers names their format.
    "summary.json",
    "JSON",
    # The demo's technical names, kept in English in its Chinese texts on purpose
    # (incidents/demo.py): the site's address and the API's path, the blockchain network
    # of a withdrawal, the app platforms and the word Chinese users say for a phone app,
    # the API's credential, and the error message readers saw, quoted as it read.
    "okx.com",
    "/api/v5",
    "TRC20",
    "iOS",
    "Android",
    "App",
    "API Key",
    "Invalid Authority",
)
# Words of three or more Latin letters (a code's digits may follow, as in TRC20).
WORD = re.compile(r"[A-Za-z]{3,}[A-Za-z0-9]*")
# What a page shows of the reader's own input: their email address.
EMAIL = re.compile(r"\S+@\S+")
# The placeholders of the scripts' texts ({zone}, filled in by status.js).
PLACEHOLDER = re.compile(r"\{\w+\}")

# Elements whose text a reader never sees, and code (a path, a parameter in an update),
# which is the same in every language.
SKIPPED = {"script", "style", "template", "noscript", "code", "pre", "kbd", "samp"}
VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "track", "wbr"}
SHOWN_ATTRIBUTES = ("title", "aria-label", "alt", "placeholder")


def allowed_pattern(phrases) -> re.Pattern:
    """The allowed phrases, as whole words (OKX, not the OKX in OKXs), longest first."""
    alternation = "|".join(re.escape(p) for p in sorted(phrases, key=len, reverse=True))
    return re.compile(rf"(?<![A-Za-z0-9])(?:{alternation})(?![A-Za-z0-9])")


class _Reader(HTMLParser):
    """What a reader sees or hears of an HTML page, as (where, text) pairs."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.stack: list[tuple[str, bool]] = []  # (tag, hidden from this check)
        self.texts: list[tuple[str, str]] = []
        self.islands: list[str] = []  # JSON data blocks (the scripts' texts)
        self._island = False

    @property
    def hidden(self) -> bool:
        return bool(self.stack) and self.stack[-1][1]

    def handle_starttag(self, tag, attrs):
        attributes = {name: value or "" for name, value in attrs}
        hidden = (
            self.hidden
            or tag in SKIPPED
            # Content shown in English for want of a translation, marked as such (and the
            # language switch's own name for English).
            or "data-untranslated" in attributes
            or attributes.get("lang", "").startswith("en")
        )
        if not hidden:
            self.texts += [(f"<{tag} {name}>", attributes[name]) for name in SHOWN_ATTRIBUTES if attributes.get(name)]
            if tag == "input" and attributes.get("type") in ("submit", "button", "reset"):
                self.texts.append((f"<{tag} value>", attributes.get("value", "")))
            if tag == "meta" and attributes.get("name") == "description":
                self.texts.append(("<meta description>", attributes.get("content", "")))
        self._island = tag == "script" and attributes.get("type") == "application/json"
        if tag not in VOID:
            self.stack.append((tag, hidden))

    def handle_startendtag(self, tag, attrs):
        self.handle_starttag(tag, attrs)
        if tag not in VOID:
            self.stack.pop()

    def handle_endtag(self, tag):
        # Up to the element it closes (HTML lets some end tags be left out).
        for index in range(len(self.stack) - 1, -1, -1):
            if self.stack[index][0] == tag:
                del self.stack[index:]
                break
        self._island = False

    def handle_data(self, data):
        if self._island:
            self.islands.append(data)
        elif not self.hidden and data.strip():
            self.texts.append((f"<{self.stack[-1][0] if self.stack else 'document'}>", data))


def html_texts(html: str) -> list[tuple[str, str]]:
    reader = _Reader()
    reader.feed(html)
    reader.close()
    texts = reader.texts
    for island in reader.islands:
        # The scripts' texts, less the date patterns ("M j, Y" in English, 年月日 in Chinese).
        texts += [("<script> text", PLACEHOLDER.sub("", t)) for t in _strings(json.loads(island), skip="formats")]
    return texts


def _strings(value, skip: str) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [s for key, item in value.items() if key != skip for s in _strings(item, skip)]
    if isinstance(value, list):
        return [s for item in value for s in _strings(item, skip)]
    return []


# A feed's elements that readers are never shown (addresses, dates, its language's code).
FEED_DATA = {"id", "guid", "link", "updated", "published", "pubDate", "lastBuildDate", "uri", "language"}


def feed_texts(xml: bytes) -> list[tuple[str, str]]:
    """What a feed reader shows: titles, categories, summaries and contents (HTML, read
    as a page is)."""
    texts = []
    for element in ElementTree.fromstring(xml).iter():  # noqa: S314 - our own feed
        tag = element.tag.rsplit("}", 1)[-1]
        text = (element.text or "").strip()
        if tag in FEED_DATA:
            continue
        if tag in ("summary", "content", "description") and "<" in text:
            texts += [(f"<{tag}> {where}", t) for where, t in html_texts(text)]
        elif text:
            texts.append((f"<{tag}>", text))
        texts += [(f"<{tag} {name}>", element.attrib[name]) for name in ("label", "term") if name in element.attrib]
    return texts


def english_in(texts: list[tuple[str, str]], allowed: re.Pattern) -> list[str]:
    found = []
    for where, text in texts:
        for word in WORD.findall(allowed.sub(" ", EMAIL.sub(" ", text))):
            found.append(f"{where} {word!r} in {' '.join(text.split())[:100]!r}")
    return found


def page_allowed(*more: str) -> re.Pattern:
    """The allow-list, with what settings name: the page's name (OKX Status), its time
    zone (Asia/Hong_Kong, in the line every page opens with) and that zone's label (HKT)."""
    page = settings.STATUS_PAGE
    return allowed_pattern([*ALLOWED, page["NAME"], page["TIME_ZONE"], page["TIME_ZONE_LABEL"], *more])


@pytest.fixture
def site(demo):
    """The demo as `manage.py load_demo` leaves it: with the small incidents and the
    maintenance of the last 90 days too (their names are in the uptime bars, the
    history and the feeds)."""
    load_demo(recent=True, metrics=True)
    return demo


def english_on(client, path: str, status: int = 200, allowed: re.Pattern | None = None) -> list[str]:
    response = client.get(path)
    assert response.status_code == status, (path, response.status_code)
    html = response.content.decode()
    assert html.startswith("<!doctype html>"), path
    return english_in(html_texts(html), allowed or page_allowed())


def pages(demo, code: str) -> list[str]:
    """The public pages in `code`, the subscription pages reached with real links."""
    subscriber = services.subscriber_create(actor=services.Actor.system(), email="reader@example.com")
    confirm, manage = links.confirm_token(subscriber), links.manage_token(subscriber)
    return [
        f"/{code}/",
        f"/{code}/history",
        f"/{code}/incidents/{demo['incident'].public_id}",
        f"/{code}/incidents/{demo['maintenance'].public_id}",
        f"/{code}/subscribe",
        f"/{code}/subscribe/sent",
        f"/{code}/subscriptions/confirm/{confirm}",
        f"/{code}/subscriptions/manage/{manage}",
        f"/{code}/subscriptions/unsubscribe/{manage}",
    ]


@pytest.mark.parametrize("code", LANGUAGES)
def test_no_english_is_left_on_the_pages(client, site, code):
    found = {path: words for path in pages(site, code) if (words := english_on(client, path))}
    assert found == {}, json.dumps(found, ensure_ascii=False, indent=1)


@pytest.mark.parametrize("code", LANGUAGES)
def test_no_english_is_left_on_the_zone_page_but_the_zone_names_it_offers(client, site, code):
    assert english_on(client, f"/{code}/zone", allowed=page_allowed(*available_timezones())) == []


@pytest.mark.parametrize("code", LANGUAGES)
def test_no_english_is_left_on_a_bad_history_link(client, site, code):
    assert english_on(client, f"/{code}/history?before=not-a-cursor", status=400) == []


@pytest.mark.parametrize("code", LANGUAGES)
def test_no_english_is_left_on_the_not_found_page(client, site, code):
    assert english_on(client, f"/{code}/no-such-page", status=404) == []


@pytest.mark.parametrize("code", LANGUAGES)
@pytest.mark.parametrize("fmt", ["atom", "rss"])
@pytest.mark.parametrize("of", ["page", "component"])
def test_no_english_is_left_in_the_history_feeds(client, site, code, fmt, of):
    market = site["incident"].components.get(name="Market data")
    path = f"/{code}/history.{fmt}" if of == "page" else f"/{code}/components/{market.public_id}/history.{fmt}"
    response = client.get(path)
    assert response.status_code == 200
    texts = feed_texts(response.content)
    # The feed of the URL's language: the demo incident under its name in it.
    assert any(getattr(site["incident"], languages.field("name", code)) == t for _, t in texts)
    assert english_in(texts, page_allowed()) == []


def test_the_walk_sees_english_where_it_is_left():
    """The check itself: an English text in the interface is found, a marked one is not."""
    allowed = page_allowed()
    assert english_in(html_texts('<p>状态 <span title="Refresh">刷新</span></p>'), allowed) == [
        "<span title> 'Refresh' in 'Refresh'"
    ]
    assert english_in(html_texts('<p lang="en" data-untranslated>Delayed ticker</p><p>OKX API</p>'), allowed) == []
    assert english_in(html_texts('<script type="application/json">{"a": "Close"}</script>'), allowed) == [
        "<script> text 'Close' in 'Close'"
    ]
