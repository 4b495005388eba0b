"""Atom and RSS feeds of the history, for the whole page or one component.

`/history.atom` and `/history.rss` are the paths Statuspage uses; `?component=<id>` or
`/components/<id>/history.atom` narrows to the incidents and maintenance touching one
component. Each entry is an incident or a maintenance with its latest update.
"""

from __future__ import annotations

from django.conf import settings
from django.contrib.syndication.views import Feed
from django.shortcuts import get_object_or_404
from django.urls import reverse
from django.utils.feedgenerator import Atom1Feed, Rss201rev2Feed
from django.utils.html import format_html

from .. import selectors
from ..markdown import render_markdown
from ..models import Component, Incident
from ..wire.time import in_page_time

FEED_LENGTH = 50


class HistoryFeed(Feed):
    feed_type = Atom1Feed

    def get_object(self, request, public_id: str | None = None) -> Component | None:
        public_id = public_id or request.GET.get("component")
        if not public_id:
            return None
        return get_object_or_404(Component, public_id=public_id, is_hidden=False)

    def title(self, obj: Component | None) -> str:
        name = settings.STATUS_PAGE["NAME"]
        return f"{name} · {obj.name} history" if obj else f"{name} history"

    def subtitle(self, obj: Component | None) -> str:
        what = f"touching {obj.name}" if obj else ""
        return f"Incidents and scheduled maintenance {what}".strip() + ", each with its latest update."

    description = subtitle

    def link(self, obj: Component | None) -> str:
        return reverse("history")

    def feed_url(self, obj: Component | None) -> str:
        name = "history-atom" if self.feed_type is Atom1Feed else "history-rss"
        url = reverse(name)
        return f"{url}?component={obj.public_id}" if obj else url

    def items(self, obj: Component | None) -> list[Incident]:
        # The history's entries: upcoming maintenance is announced on the page, not listed
        # as past (rules.in_history).
        incidents = Incident.objects.exclude(kind=Incident.Kind.MAINTENANCE, status="scheduled")
        if obj is not None:
            incidents = incidents.filter(components=obj)
        return list(selectors.with_timeline(incidents).order_by("-started_at", "-id")[:FEED_LENGTH])

    @staticmethod
    def _latest(item: Incident):
        updates = list(item.updates.all())
        return max(updates, key=lambda u: (u.display_at, u.pk)) if updates else None

    def item_title(self, item: Incident) -> str:
        prefix = "Scheduled maintenance: " if item.is_maintenance else ""
        return f"{prefix}{item.name}"

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
