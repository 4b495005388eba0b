"""The hot public reads, answered in front of Django from this process's memory.

Django's ASGI handler hops to a thread for every request (200–500 requests/s here); the
status page, `summary.json` and friends are the same bytes for everyone until the next
change, so this layer answers them straight from `documents.local()`: no thread hop, no
database, no cache round trip, no template. The process's hub (incidents.broadcast)
keeps the local snapshot fresh: it is told of every change and polls besides.

Anything else, and these paths before the process has a snapshot, go to Django, which
serves the very same documents (incidents.views / incidents.api.public).
"""

from __future__ import annotations

import logging
from email.utils import parsedate_to_datetime
from urllib.parse import parse_qs

from . import broadcast, documents
from .api.public import STATUSPAGE_DOCUMENTS

logger = logging.getLogger(__name__)

ROUTES = {"/": "page", **{f"/api/v2/{suffix}": name for suffix, name in STATUSPAGE_DOCUMENTS.items()}}
OKX_PATH = "/api/v5/system/status"
# The first history page, only without a query (a cursor or a kind is a Django query).
FIRST_PAGE_ROUTES = {"/history": "history-page", "/api/v2/history.json": "history"}
SECURITY_HEADERS = [
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"same-origin"),
    (b"x-frame-options", b"DENY"),
    (b"cross-origin-opener-policy", b"same-origin"),
]


def document_name(path: str, query_string: bytes) -> str | None:
    if path in ROUTES:
        return ROUTES[path]
    if path in FIRST_PAGE_ROUTES and not query_string:
        return FIRST_PAGE_ROUTES[path]
    if path == OKX_PATH:
        state = parse_qs(query_string.decode("latin-1")).get("state", [""])[-1]
        if not state:
            return "okx"
        return f"okx:{state}" if state in documents.OKX_STATES else "okx:error:state"
    return None


def not_modified(headers: dict[bytes, bytes], doc: documents.Document) -> bool:
    if_none_match = headers.get(b"if-none-match")
    if if_none_match is not None:
        tags = {t.strip().removeprefix(b"W/") for t in if_none_match.split(b",")}
        return b"*" in tags or doc.etag.encode() in tags
    if_modified_since = headers.get(b"if-modified-since")
    if if_modified_since:
        try:
            return parsedate_to_datetime(doc.last_modified) <= parsedate_to_datetime(
                if_modified_since.decode("latin-1")
            )
        except (TypeError, ValueError):
            return False
    return False


class HotPath:
    """ASGI middleware: prepared documents for GET/HEAD of the hot paths, else the app."""

    def __init__(self, app):
        self.app = app
        self._hub_started = False

    async def __call__(self, scope, receive, send):
        if scope["type"] == "lifespan":
            return await self.lifespan(scope, receive, send)
        if not self._hub_started and scope["type"] in ("http", "websocket"):
            # From the first request on, the hub keeps this process's snapshot current.
            await self.start_hub()
        if scope["type"] != "http" or scope["method"] not in ("GET", "HEAD"):
            return await self.app(scope, receive, send)
        name = document_name(scope["path"], scope.get("query_string", b""))
        docs = documents.local() if name else None
        if docs is None:
            return await self.app(scope, receive, send)
        return await self.respond(scope, send, docs[name])

    async def start_hub(self) -> None:
        try:
            await broadcast.hub().ensure_started()
            self._hub_started = True
        except Exception:
            logger.warning("live hub could not start yet; serving the snapshot in memory", exc_info=True)

    async def respond(self, scope, send, doc: documents.Document) -> None:
        headers = dict(scope["headers"])
        common = [
            (b"etag", doc.etag.encode()),
            (b"last-modified", doc.last_modified.encode()),
            (b"cache-control", documents.CACHE_CONTROL.encode()),
            (b"vary", b"Accept-Encoding"),
            (b"access-control-allow-origin", b"*"),
            *SECURITY_HEADERS,
        ]
        if doc.status == 200 and not_modified(headers, doc):
            await send({"type": "http.response.start", "status": 304, "headers": common})
            await send({"type": "http.response.body", "body": b""})
            return
        body = doc.body
        if doc.gzipped and b"gzip" in headers.get(b"accept-encoding", b""):
            body = doc.gzipped
            common.append((b"content-encoding", b"gzip"))
        start_headers = [
            (b"content-type", doc.content_type.encode()),
            (b"content-length", str(len(body)).encode()),
            *common,
        ]
        await send({"type": "http.response.start", "status": doc.status, "headers": start_headers})
        await send({"type": "http.response.body", "body": b"" if scope["method"] == "HEAD" else body})

    async def lifespan(self, scope, receive, send) -> None:
        """Servers with lifespan (uvicorn): on shutdown, tell OKX clients to reconnect."""
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                try:
                    await broadcast.hub().notice_restart(grace=0)
                except Exception:
                    logger.warning("could not send the restart notice", exc_info=True)
                await send({"type": "lifespan.shutdown.complete"})
                return
