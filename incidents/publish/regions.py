"""What live page clients receive: the page's regions as HTML, rendered once per change.

The HTML page and the socket use the same templates (`status/_home_*.html`,
`status/_incident_article.html`), so a live update looks exactly like a reload.
"""

from __future__ import annotations

import json
import threading

from django.conf import settings
from django.template.loader import render_to_string
from django.templatetags.static import static
from django.utils.safestring import SafeString, mark_safe

HOME_REGIONS = ("banner", "incidents", "maintenance", "components", "past")

_memo: dict = {}
_lock = threading.Lock()


def _context(**extra) -> dict:
    return {"status_page": settings.STATUS_PAGE, **extra}


def page_title(data: dict) -> str:
    """The status page's tab title: what a reader sees in a background tab."""
    return f"{data['status']['description']} · {settings.STATUS_PAGE['NAME']}"


def page_icon(data: dict) -> str:
    """The tab icon of the page's indicator (static/icons/status-<indicator>.svg)."""
    return static(f"icons/status-{data['status']['indicator']}.svg")


def tab(data: dict) -> dict:
    """What every page's message carries for the tab: the page's indicator and its icon."""
    return {"indicator": data["status"]["indicator"], "icon": page_icon(data)}


def home_regions(data: dict) -> dict[str, SafeString]:
    """The home page's regions for this snapshot, rendered once (the page is built from
    them too: see documents.render_page)."""
    key = (data["seq"], data["built_at"])
    memo = _memo.get("home")
    if memo and memo[0] == key:
        return memo[1]
    with _lock:
        memo = _memo.get("home")
        if not memo or memo[0] != key:
            context = _context(snap=data)
            regions = {
                name: mark_safe(render_to_string(f"status/_home_{name}.html", context))  # noqa: S308 - our templates
                for name in HOME_REGIONS
            }
            message = json.dumps(
                {
                    "type": "update",
                    "view": "home",
                    "seq": data["seq"],
                    "regions": regions,
                    "title": page_title(data),
                    **tab(data),
                }
            )
            memo = (key, regions, message)
            _memo["home"] = memo
    return memo[1]


def page_message(data: dict) -> str:
    """The home page's regions as one JSON message for the live clients."""
    home_regions(data)
    return _memo["home"][2]


def history_message(data: dict) -> str:
    """History pages refetch themselves when `seq` is past the one they were rendered at."""
    return json.dumps({"type": "changed", "view": "history", "seq": data["seq"], **tab(data)})
