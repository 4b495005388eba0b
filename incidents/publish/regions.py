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
from django.utils import translation
from django.utils.safestring import SafeString, mark_safe

from .. import languages
from . import snapshot

HOME_REGIONS = ("banner", "incidents", "maintenance", "components", "funding", "past")

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


def home_regions(data: dict, code: str | None = None) -> dict[str, SafeString]:
    """The home page's regions for this snapshot in one language, rendered once (the page
    is built from them too: see documents.render_page)."""
    code = code or data.get("language") or languages.default()
    key = (data["seq"], data["built_at"])
    memo = _memo.get(code)
    if memo and memo[0] == key:
        return memo[1]
    with _lock:
        memo = _memo.get(code)
        if not memo or memo[0] != key:
            view = snapshot.in_language(data, code)
            with translation.override(code):
                regions = render_home_regions(view)
                title = page_title(view)
            message = json.dumps(
                {
                    "type": "update",
                    "view": "home",
                    "seq": data["seq"],
                    "regions": regions,
                    "title": title,
                    **tab(data),
                }
            )
            memo = (key, regions, message)
            _memo[code] = memo
    return memo[1]


def render_home_regions(view: dict) -> dict[str, SafeString]:
    """The home page's regions of a snapshot in one language (`snapshot.in_language`),
    in the active language and time zone."""
    context = _context(snap=view, untranslated=set(view.get("untranslated", ())), page_path="/")
    return {
        name: mark_safe(render_to_string(f"status/_home_{name}.html", context))  # noqa: S308 - our templates
        for name in HOME_REGIONS
    }


def page_message(data: dict, code: str | None = None) -> str:
    """The home page's regions as one JSON message for the live clients of a language."""
    code = code or languages.default()
    home_regions(data, code)
    return _memo[code][2]


def history_message(data: dict, view: str = "history") -> str:
    """History pages (and /funding: `view`) refetch themselves when `seq` is past the one
    they were rendered at."""
    return json.dumps({"type": "changed", "view": view, "seq": data["seq"], **tab(data)})
