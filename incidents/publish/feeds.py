"""Atom and RSS feeds of the history, for the whole page or one component: how they are
rendered (published as files with every change that touches the history: see `site`).

`/history.atom` and `/history.rss` are the paths Statuspage uses; `?component=<id>` or
`/components/<id>/history.atom` narrows to the incidents and maintenance touching one
component. Each entry is an incident or a maintenance with its latest update.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from django.conf import settings
from django.contrib.syndication.views import Feed
from django.http import HttpRequest
from django.urls import reverse
from django.utils.feedgenerator import Atom1Feed, Rss201rev2Feed
from django.utils.html import format_html
from django.utils.translation import gettext

from .. import selectors
from ..markdown import render_markdown
from ..models import Component, Incident
from ..wire.time import in_page_time

FEED_LENGTH = 50


def entries(obj: Component | None) -> list[Incident]:
    """A feed's entries: the newest FEED_LENGTH of the history, of one component or all.
    Upcoming maintenance is announced on the page, not listed as past (rules.in_history)."""
    incidents = Incident.objects.exclude(kind=Incident.Kind.MAINTENANCE, status="scheduled")
    if obj is not None:
        incidents = incidents.filter(components=obj)
    return list(selectors.with_timeline(incidents).order_by("-started_at", "-id")[:FEED_LENGTH])


class HistoryFeed(Feed):
    feed_type = Atom1Feed

    def title(self, obj: Component | None) -> str:
        name = settings.STATUS_PAGE["NAME"]
        if obj:
            return gettext("%(page)s · %(component)s history") % {"page": name, "component": obj.name}
        return gettext("%(page)s history") % {"page": name}

    def subtitle(self, obj: Component | None) -> str:
        if obj:
            return gettext(
                "Incidents and scheduled maintenance touching %(component)s, each with its latest update."
            ) % {"component": obj.name}
        return gettext("Incidents and scheduled maintenance, each with its latest update.")

    description = subtitle

    def link(self, obj: Component | None) -> str:
        return reverse("history")

    def feed_url(self, obj: Component | None) -> str:
        name = "history-atom" if self.feed_type is Atom1Feed else "history-rss"
        url = reverse(name)
        return f"{url}?component={obj.public_id}" if obj else url

    # The entries when they were read already (`render` with `items`): one read serves
    # both formats and every language.
    preloaded: list[Incident] | None = None

    def items(self, obj: Component | None) -> list[Incident]:
        if self.preloaded is not None:
            return self.preloaded
        return entries(obj)

    @staticmethod
    def _latest(item: Incident):
        updates = list(item.updates.all())
        return max(updates, key=lambda u: (u.display_at, u.pk)) if updates else None

    def item_title(self, item: Incident) -> str:
        if item.is_maintenance:
            return gettext("Scheduled maintenance: %(name)s") % {"name": item.name}
        return item.name

    def item_description(self, item: Incident) -> str:
        latest = self._latest(item)
        if latest is None:
            return ""
        return format_html(
            "<p><strong>{}</strong> · {}</p>{}",
            latest.get_status_display(),
            in_page_time(latest.display_at),
            render_markdown(latest.body, top_heading=3),
        )

    def item_link(self, item: Incident) -> str:
        return item.get_absolute_url()

    def item_pubdate(self, item: Incident):
        return item.started_at

    def item_updateddate(self, item: Incident):
        latest = self._latest(item)
        return max(item.started_at, latest.display_at) if latest else item.started_at

    def item_categories(self, item: Incident) -> list[str]:
        return [item.get_kind_display(), item.get_status_display()]


class HistoryRssFeed(HistoryFeed):
    feed_type = Rss201rev2Feed


FEEDS = {"atom": HistoryFeed(), "rss": HistoryRssFeed()}


class PageRequest(HttpRequest):
    """A request as if from the page's own address (settings.STATUS_PAGE["URL"]): what a
    feed's absolute links are made from when it is rendered ahead of any reader."""

    def __init__(self):
        super().__init__()
        url = urlsplit(settings.STATUS_PAGE["URL"])
        self._page_scheme, self._page_host = url.scheme or "http", url.netloc
        self.method = "GET"
        self.path = self.path_info = "/"

    def _get_scheme(self) -> str:
        return self._page_scheme

    def get_host(self) -> str:
        return self._page_host


def feed_path(fmt: str, component: Component | None) -> str:
    """Where a feed is published: `history.atom`, `components/<id>/history.rss`, …"""
    return f"components/{component.public_id}/history.{fmt}" if component else f"history.{fmt}"


def render(fmt: str, component: Component | None, items: list[Incident] | None = None) -> bytes:
    """One feed in the active language, as Django's syndication view would answer a
    request to the page's URL. `items`: its entries, read already (`entries`)."""
    feed = type(FEEDS[fmt])()  # an instance per render: `preloaded` is this render's own
    feed.preloaded = items
    return feed.get_feed(component, PageRequest()).writeString("utf-8").encode()


def content_type(fmt: str) -> str:
    return FEEDS[fmt].feed_type.content_type
