"""Prepared responses: the bytes of every public read, made once per change.

Each process turns a new snapshot into documents once (under a lock, so a burst of
readers right after a change causes one render); `site.publish` writes them, with the
documents drawn from the database (incident pages, feeds, uptime), into this node's
published directory (`store`), which nginx serves by itself. `published_path` names the
file that answers a public GET, for nginx (deploy/nginx.conf.template has the same rules),
the ASGI hot path and Django's own views alike, so all three send the same bytes with the
same validators.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import logging
import re
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime
from email.utils import format_datetime, parsedate_to_datetime

from django.conf import settings
from django.http import HttpRequest, HttpResponse, HttpResponseNotModified
from django.template.loader import render_to_string
from django.utils import timezone, translation

from .. import languages, rules
from ..wire import okx
from ..wire import statuspage as v2
from ..wire.time import shown_tz
from . import regions, snapshot, store

CACHE_CONTROL = "public, max-age=5, stale-while-revalidate=30, stale-if-error=86400"
JSON = "application/json"
HTML = "text/html; charset=utf-8"

# Which document answers which public read: the one map the hot path (in front of Django)
# and Django's own views both go by.
STATUSPAGE_PATHS = {
    "summary.json": "summary",
    "status.json": "status",
    "components.json": "components",
    "incidents.json": "incidents",
    "incidents/unresolved.json": "incidents/unresolved",
    "scheduled-maintenances.json": "scheduled-maintenances",
    "scheduled-maintenances/upcoming.json": "scheduled-maintenances/upcoming",
    "scheduled-maintenances/active.json": "scheduled-maintenances/active",
    # Our extension: deposits and withdrawals, every network, and the short list of what
    # is not normal (for bots: the same published-file cost as status.json).
    "funding.json": "funding",
    "funding/issues.json": "funding/issues",
    # Our extension: the public metrics (each one's charts: /api/v2/metrics/<id>.json).
    "metrics.json": "metrics",
}
ROUTES = {
    "/": "page",
    "/funding": "funding-page",
    **{f"/api/v2/{suffix}": name for suffix, name in STATUSPAGE_PATHS.items()},
}
# The first history page, only without a query (a cursor or a kind is a Django query).
FIRST_PAGE_ROUTES = {"/history": "history-page", "/api/v2/history.json": "history"}
OKX_PATH = "/api/v5/system/status"
OKX_STATE_ERROR = "okx:error:state"

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Document:
    body: bytes
    content_type: str
    etag: str
    last_modified: str
    status: int = 200
    # The same bytes gzipped once, for clients that accept it.
    gzipped: bytes = b""

    @classmethod
    def of_json(cls, data, last_modified: datetime, status: int = 200) -> Document:
        body = json.dumps(data, separators=(",", ":"), ensure_ascii=False).encode()
        return cls.of_bytes(body, JSON, last_modified, status)

    @classmethod
    def of_bytes(cls, body: bytes, content_type: str, last_modified: datetime, status: int = 200) -> Document:
        etag = '"' + hashlib.blake2b(body, digest_size=12).hexdigest() + '"'
        gzipped = gzip.compress(body, compresslevel=6, mtime=0) if len(body) > 1024 else b""
        return cls(body, content_type, etag, format_datetime(last_modified, usegmt=True), status, gzipped)


def okx_document(state: str) -> str:
    """The document of `GET /api/v5/system/status?state=…`: empty or absent means the open
    states; an unknown state is OKX's parameter error."""
    if not state:
        return "okx"
    return f"okx:{state}" if state in okx.STATES else OKX_STATE_ERROR


def document_name(path: str, query: dict[str, str]) -> str | None:
    """The prepared document that answers a GET of `path` with `query`, if one does (in
    the language `language_of` finds; `path` without its language prefix)."""
    if path in ROUTES:
        return ROUTES[path]
    if path in FIRST_PAGE_ROUTES and not _beyond_locale(path, query):
        return FIRST_PAGE_ROUTES[path]
    if path == OKX_PATH:
        return okx_document(query.get("state", ""))
    return None


LOCALE = "locale"


def _beyond_locale(path: str, query: dict[str, str]) -> bool:
    """Whether a query asks more than a language (which only the JSON reads take)."""
    return bool(query) and (not path.startswith("/api/v2/") or set(query) != {LOCALE})


def language_of(path: str, query: dict[str, str], accept_language: str | None = None) -> tuple[str | None, str]:
    """The language a public GET is answered in, and its path without a language prefix.

    Pages and feeds: the URL's prefix (/zh-hans/…). Statuspage v2 reads: `?locale=`
    (without it, the default language: byte for byte what they always were). OKX: the
    `Accept-Language` header, as OKX's own REST API does. None for a `locale` that is
    not one of the page's languages."""
    code, rest = languages.split_path(path)
    if code != languages.default():
        # Only the pages and feeds have language prefixes.
        return (code, rest) if not rest.startswith("/api/") else (None, path)
    if path.startswith("/api/v2/") and LOCALE in query:
        return languages.supported(query[LOCALE]), path
    if path == OKX_PATH:
        return languages.first_choice(accept_language) or languages.default(), path
    return code, path


# Where each snapshot document is published (a URL's path, with `.html` or `.json` where
# the URL has no suffix of its own).
SNAPSHOT_FILES = {
    "page": "index.html",
    "history-page": "history.html",
    "funding-page": "funding.html",
    "history": "api/v2/history.json",
    **{name: f"api/v2/{suffix}" for suffix, name in STATUSPAGE_PATHS.items()},
    "okx": "api/v5/system/status.json",
    **{f"okx:{state}": f"api/v5/system/status.{state}.json" for state in okx.STATES},
}
_ID = r"[A-Za-z0-9_-]{1,40}"
# The documents drawn from the database, by URL (only without a query).
_DERIVED = re.compile(
    rf"/(?:incidents/(?P<page>{_ID})|api/v2/(?:incidents/{_ID}|components/{_ID}/uptime|metrics/{_ID})\.json"
    rf"|(?:components/{_ID}/)?history\.(?:atom|rss))"
)


def is_id(value: str) -> bool:
    return re.fullmatch(_ID, value) is not None


def snapshot_files(docs: dict[str, dict[str, Document]]) -> dict[str, Document]:
    """Where each document of each language is published (`all_languages`)."""
    return {
        languages.directory(code) + relpath: per_language[name]
        for code, per_language in docs.items()
        for name, relpath in SNAPSHOT_FILES.items()
    }


def published_path(path: str, query: dict[str, str], accept_language: str | None = None) -> str | None:
    """The published file that answers a GET of `path` with `query`, if one does: the
    default language's at the root of the directory, another's under `<code>/`."""
    code, path = language_of(path, query, accept_language)
    if code is None:
        return None
    name = document_name(path, query)
    if name is not None:
        relpath = SNAPSHOT_FILES.get(name)
        return None if relpath is None else languages.directory(code) + relpath
    if _beyond_locale(path, query):
        return None
    match = _DERIVED.fullmatch(path)
    if match is None:
        return None
    return languages.directory(code) + (f"incidents/{match['page']}.html" if match["page"] else path[1:])


def serve(
    request: HttpRequest, relpath: str, fallback: Callable[[], HttpResponse | Document | bytes | None]
) -> HttpResponse:
    """Answer with the published file, as nginx would. Without one, `fallback()` publishes
    it (and returns its bytes) or answers itself (a 404)."""
    found = store.read(relpath)
    if found is None:
        made = fallback()
        if isinstance(made, HttpResponse):
            return made
        found = store.read(relpath)
        if found is None:  # the directory cannot be written: the bytes from memory
            if isinstance(made, bytes):
                made = Document.of_bytes(made, content_type(relpath), datetime.now(UTC))
            return respond(request, made, vary_of(relpath))
    return respond_published(request, found, made_for=relpath)


def respond_published(request: HttpRequest, found: store.Representations, made_for: str) -> HttpResponse:
    encoding, variant = found.pick(request.headers.get("Accept-Encoding", ""))
    fresh = not_modified(
        Document(b"", "", variant.etag, found.last_modified),
        request.headers.get("If-None-Match"),
        request.headers.get("If-Modified-Since"),
    )
    if fresh:
        response = HttpResponseNotModified()
    else:
        response = HttpResponse(variant.body, content_type=content_type(made_for))
        if encoding:
            response["Content-Encoding"] = encoding
    return _with_validators(response, variant.etag, found.last_modified, vary_of(made_for))


def vary_of(relpath: str) -> str:
    """What else than the URL an answer depends on. OKX's status: the client's
    Accept-Language. A page: the reader's chosen zone (a cookie), and `/` the remembered
    language and the browser's (a first visit is sent on). Every other read: the URL."""
    if "api/v5/" in relpath:
        return "Accept-Encoding, Accept-Language"
    if relpath == "index.html":
        return "Accept-Encoding, Cookie, Accept-Language"
    if relpath.endswith(".html"):
        return "Accept-Encoding, Cookie"
    return "Accept-Encoding"


CONTENT_TYPES = {
    ".html": HTML,
    ".json": JSON,
    ".atom": "application/atom+xml; charset=utf-8",
    ".rss": "application/rss+xml; charset=utf-8",
}


def content_type(relpath: str) -> str:
    return CONTENT_TYPES[relpath[relpath.rindex(".") :]]


def build_documents(data: dict) -> dict[str, Document]:
    """Every hot read of one snapshot in the active language, keyed by name (`data` is
    the snapshot in that language: `snapshot.in_language`)."""
    modified = datetime.fromisoformat(data["built_at"]).astimezone(UTC)
    page = data["page"]
    maintenance_now = data["scheduled_maintenances"]
    docs = {
        "summary": {
            "page": page,
            "components": data["components"],
            "incidents": data["incidents"],
            "scheduled_maintenances": maintenance_now,
            "status": data["status"],
        },
        "status": {"page": page, "status": data["status"]},
        "components": {"page": page, "components": data["components"]},
        "incidents": {"page": page, "incidents": data["incidents_recent"]},
        "incidents/unresolved": {"page": page, "incidents": data["incidents"]},
        "scheduled-maintenances": {"page": page, "scheduled_maintenances": data["maintenances_recent"]},
        "scheduled-maintenances/upcoming": {
            "page": page,
            "scheduled_maintenances": [m for m in maintenance_now if m["status"] == rules.SCHEDULED],
        },
        "scheduled-maintenances/active": {
            "page": page,
            "scheduled_maintenances": [m for m in maintenance_now if m["status"] in rules.MAINTENANCE_ACTIVE],
        },
        "okx": okx.envelope([r for r in data["okx"] if r["state"] in okx.DEFAULT_STATES]),
        "funding": {"page": page, "assets": data["funding"]},
        "funding/issues": {"page": page, "networks": data["funding_issues"]},
        "metrics": {"page": page, "metrics": data["metrics"]},
    }
    for state in okx.STATES:
        docs[okx_document(state)] = okx.envelope([r for r in data["okx"] if r["state"] == state])
    result = {name: Document.of_json(value, modified) for name, value in docs.items()}
    result[OKX_STATE_ERROR] = Document.of_json(okx.parameter_error("state"), modified, status=400)
    result["page"] = Document.of_bytes(render_page(data).encode(), HTML, modified)
    # The first history page, HTML and JSON (later pages are keyset queries in Django).
    history = data["history"]
    result["history"] = Document.of_json(
        {"page": v2.page_json(None), "incidents": history["incidents"], "next_cursor": history["next_cursor"]},
        modified,
    )
    result["history-page"] = Document.of_bytes(render_history(data).encode(), HTML, modified)
    result["funding-page"] = Document.of_bytes(render_funding(data).encode(), HTML, modified)
    return result


def render_funding(data: dict) -> str:
    """Deposits and withdrawals of every asset, by network."""
    context = {
        "page_path": "/funding",
        "untranslated": set(data.get("untranslated", ())),
        "snap": data,
        "live_seq": data["seq"],
        "status_page": settings.STATUS_PAGE,
        "nav": "funding",
    }
    return render_to_string("status/funding.html", context)


def by_month(entries: list[dict]) -> list[dict]:
    """History entries (incident_json) grouped under the month they started in, in the
    zone the page is shown in."""
    tz = shown_tz()
    months: list[dict] = []
    for entry in entries:
        started = datetime.fromisoformat(entry["started_at"]).astimezone(tz)
        month = date(started.year, started.month, 1)
        if not months or months[-1]["month"] != month:
            months.append({"month": month, "entries": []})
        months[-1]["entries"].append(entry)
    return months


def render_history(data: dict) -> str:
    context = {
        "page_path": "/history",
        "untranslated": set(data.get("untranslated", ())),
        "months": by_month(data["history"]["incidents"]),
        "next_cursor": data["history"]["next_cursor"],
        "is_first_page": True,
        # The seq it shows: the live client refetches only when a later change arrives.
        "live_seq": data["seq"],
        "status_page": settings.STATUS_PAGE,
        "nav": "history",
    }
    return render_to_string("status/history.html", context)


def render_page(data: dict, *, zone_regions: bool = False) -> str:
    """The status page itself, once per change and language (it has nothing per reader
    in it). `zone_regions`: its regions rendered afresh, in the active time zone."""
    context = {
        "page_path": "/",
        "untranslated": set(data.get("untranslated", ())),
        "snap": data,
        "regions": regions.render_home_regions(data) if zone_regions else regions.home_regions(data),
        "live_seq": data["seq"],
        "page_title": regions.page_title(data),
        "page_icon": regions.page_icon(data),
        "status_page": settings.STATUS_PAGE,
        "nav": "status-page",
    }
    return render_to_string("status/index.html", context)


_memo: dict = {}
_memo_lock = threading.Lock()


def current(code: str | None = None) -> dict[str, Document]:
    """The documents of the current snapshot, made at most once per process, change and
    language."""
    return for_snapshot(snapshot.current(), code)


def local(code: str | None = None) -> dict[str, Document] | None:
    """The documents of this process's snapshot, with no I/O (None before the first one)."""
    data = snapshot.local()
    return None if data is None else for_snapshot(data, code)


def for_snapshot(data: dict, code: str | None = None) -> dict[str, Document]:
    """The documents of `data` in one language (the default when None)."""
    code = code or languages.default()
    key = (data["seq"], data["built_at"])
    memo = _memo.get(code)
    if memo is not None and memo[0] == key:
        return memo[1]
    with _memo_lock:
        memo = _memo.get(code)
        if memo is None or memo[0] != key:
            logger.info("documents rendered for seq %s in %s", data["seq"], code)
            with translation.override(code):
                memo = (key, build_documents(snapshot.in_language(data, code)))
            _memo[code] = memo
    return memo[1]


def all_languages(data: dict) -> dict[str, dict[str, Document]]:
    """The documents of `data` in every language, each made once."""
    return {code: for_snapshot(data, code) for code in languages.codes()}


def get(name: str, code: str | None = None) -> Document:
    return current(code)[name]


def not_modified(doc: Document, if_none_match: str | None, if_modified_since: str | None) -> bool:
    """Whether the client's copy (its `If-None-Match`, else `If-Modified-Since`) is current."""
    if if_none_match is not None:
        tags = {t.strip().removeprefix("W/") for t in if_none_match.split(",")}
        return "*" in tags or doc.etag in tags
    if if_modified_since:
        try:
            return parsedate_to_datetime(doc.last_modified) <= parsedate_to_datetime(if_modified_since)
        except (TypeError, ValueError):
            return False
    return False


def respond(request: HttpRequest, doc: Document, vary: str = "Accept-Encoding") -> HttpResponse:
    """The document with its validators; 304 when the client's copy is current."""
    fresh = not_modified(doc, request.headers.get("If-None-Match"), request.headers.get("If-Modified-Since"))
    if doc.status == 200 and fresh:
        response = HttpResponseNotModified()
    elif doc.gzipped and "gzip" in request.headers.get("Accept-Encoding", ""):
        response = HttpResponse(doc.gzipped, content_type=doc.content_type, status=doc.status)
        response["Content-Encoding"] = "gzip"
    else:
        response = HttpResponse(doc.body, content_type=doc.content_type, status=doc.status)
    return _with_validators(response, doc.etag, doc.last_modified, vary)


def _with_validators(
    response: HttpResponse, etag: str, last_modified: str, vary: str = "Accept-Encoding"
) -> HttpResponse:
    """The headers of every prepared answer, 304 included (the hot path sends the same)."""
    response["Vary"] = vary
    response["ETag"] = etag
    response["Last-Modified"] = last_modified
    response["Cache-Control"] = CACHE_CONTROL
    response["Access-Control-Allow-Origin"] = "*"
    return response


# --- readers who chose another time zone ----------------------------------------------------

ZONED_KEEP = 64
_zoned: dict[tuple, Document] = {}


def zoned(name: str, code: str, tz) -> Document:
    """The page, the first history page or the funding page in `code` with times in `tz`: rendered once per
    change, language and zone (the few readers who chose a zone share it), never per
    request."""
    data = snapshot.current()
    key = (data["seq"], data["built_at"], name, code, tz.key)
    found = _zoned.get(key)
    if found is None:
        view = snapshot.in_language(data, code)
        modified = datetime.fromisoformat(data["built_at"]).astimezone(UTC)
        with translation.override(code), timezone.override(tz):
            renderers = {
                "page": lambda: render_page(view, zone_regions=True),
                "funding-page": lambda: render_funding(view),
            }
            html = renderers.get(name, lambda: render_history(view))()
        found = Document.of_bytes(html.encode(), HTML, modified)
        with _memo_lock:
            if len(_zoned) >= ZONED_KEEP:
                _zoned.clear()
            _zoned[key] = found
    return found


def first_visit(cookie: str | None, accept_language: str | None) -> str | None:
    """Where a visit to `/` (no query) goes instead, for a reader whose remembered choice,
    else whose browser's first language, is another of the page's: `/zh-hans/`. nginx
    does the same (deploy/nginx.conf.template)."""
    code = languages.first_visit(cookie, accept_language)
    return None if code == languages.default() else f"{languages.prefix(code)}/"
