"""The public reads, answered in front of Django from the published files.

Django's ASGI handler hops to a thread for every request (200–500 requests/s here); every
public read is a file this node's processes publish after each change (incidents.publish
.site), the same bytes for everyone until the next one, so this layer answers them
straight from the directory (`store.read`: one stat, the bytes from memory): no thread
hop, no database, no cache round trip, no template. Behind nginx these requests rarely
get here (nginx sends the files itself); under `make run` they all do.

Anything else, and a file not published yet (an old incident's first read), goes to
Django, which publishes it and serves the very same bytes (incidents.web.views,
incidents.api.public).
"""

from __future__ import annotations

import asyncio
import functools
import logging
from urllib.parse import parse_qs

from django.conf import settings
from django.http import parse_cookie

from ..publish import documents, hub, store

logger = logging.getLogger(__name__)

# Readers who chose a time zone are answered by the app (incidents.web.choices).
ZONE_COOKIE = b"page_zone="

SECURITY_HEADERS = [
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"same-origin"),
    (b"x-frame-options", b"DENY"),
    (b"cross-origin-opener-policy", b"same-origin"),
]


@functools.cache
def security_headers() -> list[tuple[bytes, bytes]]:
    """The headers Django's middleware gives its own answers: the CSP (django-csp, from
    settings.CONTENT_SECURITY_POLICY) and, with TLS on, HSTS."""
    from csp.utils import build_policy
    from django.conf import settings

    headers = [*SECURITY_HEADERS, (b"content-security-policy", build_policy().encode())]
    if getattr(settings, "SECURE_HSTS_SECONDS", 0):
        hsts = f"max-age={settings.SECURE_HSTS_SECONDS}"
        if settings.SECURE_HSTS_INCLUDE_SUBDOMAINS:
            hsts += "; includeSubDomains"
        if settings.SECURE_HSTS_PRELOAD:
            hsts += "; preload"
        headers.append((b"strict-transport-security", hsts.encode()))
    return headers


def _query(query_string: bytes) -> dict[str, str]:
    # Blank values kept: `?kind=` is a query (the app refuses it), not the first page.
    return {k: v[-1] for k, v in parse_qs(query_string.decode("latin-1"), keep_blank_values=True).items()}


def _header(headers: dict[bytes, bytes], name: bytes) -> str | None:
    value = headers.get(name)
    return None if value is None else value.decode("latin-1")


def _validators(etag: str, last_modified: str, vary: str = "Accept-Encoding") -> list[tuple[bytes, bytes]]:
    """The headers of every prepared answer, 304 included."""
    return [
        (b"etag", etag.encode()),
        (b"last-modified", last_modified.encode()),
        (b"cache-control", documents.CACHE_CONTROL.encode()),
        (b"vary", vary.encode()),
        (b"access-control-allow-origin", b"*"),
        *security_headers(),
    ]


class HotPath:
    """ASGI middleware: prepared documents for GET/HEAD of the hot paths, else the app."""

    def __init__(self, app):
        self.app = app
        self._hub_started = False
        self._starting = None  # the task that starts the hub at startup (lifespan servers)

    async def __call__(self, scope, receive, send):
        if scope["type"] == "lifespan":
            return await self.lifespan(scope, receive, send)
        if not self._hub_started and scope["type"] in ("http", "websocket"):
            # From the first request on, the hub keeps this process's snapshot current.
            await self.start_hub()
        if scope["type"] != "http" or scope["method"] not in ("GET", "HEAD"):
            return await self.app(scope, receive, send)
        query = _query(scope.get("query_string", b""))
        headers = dict(scope["headers"])
        path = scope["path"]
        if path == "/" and not query:
            cookies = parse_cookie(_header(headers, b"cookie") or "")
            wanted = documents.first_visit(
                cookies.get(settings.LANGUAGE_COOKIE_NAME), _header(headers, b"accept-language")
            )
            if wanted:
                return await self.app(scope, receive, send)  # Django's redirect, with its headers
        accept_language = _header(headers, b"accept-language") if path == documents.OKX_PATH else None
        relpath = documents.published_path(path, query, accept_language)
        if relpath is not None and relpath.endswith(".html") and ZONE_COOKIE in headers.get(b"cookie", b""):
            relpath = None  # a reader who chose a time zone: the app's zoned copy
        found = store.read(relpath) if relpath else None
        if found is not None:
            return await self.respond_published(scope, send, found, relpath)
        if relpath is None:
            return await self.app(scope, receive, send)
        # Not published yet (a first start): the snapshot's documents from memory.
        code, rest = documents.language_of(path, query, accept_language)
        name = documents.document_name(rest, query)
        docs = documents.local(code) if name else None
        if docs is None or name not in docs:
            return await self.app(scope, receive, send)
        return await self.respond(scope, send, docs[name], documents.vary_of(relpath))

    async def start_hub(self) -> None:
        try:
            await hub.hub().ensure_started()
            self._hub_started = True
        except Exception:
            logger.warning("live hub could not start yet; serving the snapshot in memory", exc_info=True)

    async def respond_published(self, scope, send, found: store.Representations, relpath: str) -> None:
        headers = dict(scope["headers"])
        encoding, variant = found.pick(_header(headers, b"accept-encoding") or "")
        common = _validators(variant.etag, found.last_modified, documents.vary_of(relpath))
        probe = documents.Document(b"", "", variant.etag, found.last_modified)
        if documents.not_modified(probe, _header(headers, b"if-none-match"), _header(headers, b"if-modified-since")):
            await send({"type": "http.response.start", "status": 304, "headers": common})
            await send({"type": "http.response.body", "body": b""})
            return
        start_headers = [
            (b"content-type", documents.content_type(relpath).encode()),
            (b"content-length", str(len(variant.body)).encode()),
            *common,
        ]
        if encoding:
            start_headers.append((b"content-encoding", encoding.encode()))
        await send({"type": "http.response.start", "status": 200, "headers": start_headers})
        await send({"type": "http.response.body", "body": b"" if scope["method"] == "HEAD" else variant.body})

    async def respond(self, scope, send, doc: documents.Document, vary: str = "Accept-Encoding") -> None:
        headers = dict(scope["headers"])
        common = _validators(doc.etag, doc.last_modified, vary)
        fresh = documents.not_modified(doc, _header(headers, b"if-none-match"), _header(headers, b"if-modified-since"))
        if doc.status == 200 and fresh:
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

    async def start_hub_until_started(self) -> None:
        """Start the hub, and again every poll interval until it starts (the database may
        not answer yet). Behind nginx a node's public reads never reach this process, so a
        first request may never come, and a node whose hubs never started would not hear
        the changes made on the other nodes: its published files would stay as they were."""
        while not self._hub_started:
            await self.start_hub()
            if not self._hub_started:
                await asyncio.sleep(settings.LIVE_POLL_SECONDS)

    async def lifespan(self, scope, receive, send) -> None:
        """Servers with lifespan (uvicorn): on startup, start the hub (in the background:
        serving does not wait on the database); on shutdown, tell OKX clients to reconnect."""
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                self._starting = asyncio.get_running_loop().create_task(self.start_hub_until_started())
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                if self._starting is not None:
                    self._starting.cancel()
                try:
                    await hub.hub().notice_restart(grace=0)
                except Exception:
                    logger.warning("could not send the restart notice", exc_info=True)
                await send({"type": "lifespan.shutdown.complete"})
                return
