"""The database connections of one web process are a budget: WEB_DB_CONCURRENCY + 1.

Under ASGI, Django runs each request's code in a thread of its own (asgiref gives every
request a `ThreadSensitiveContext`), and a database connection belongs to a thread: left
alone, a process holds as many connections as it has requests in flight, and a burst of
readers used up PostgreSQL's connections (issue 11). So at most `WEB_DB_CONCURRENCY`
Django requests of a process run at once; the others wait their turn here, in the event
loop, holding no thread and no connection, and one that waited `WEB_DB_QUEUE_SECONDS` is
answered 503 with Retry-After (as for a busy database, statuspage.middleware) rather
than queued without end. A slot is given back only when Django's handler returns, which
is after the request's thread has closed its connection (`CONN_MAX_AGE=0`), even for a
client that went away: the closing (`request_finished`) runs on that same thread, after
the view.

What is not Django does not wait here: the hot reads (incidents.asgi.hotpath) use no
connection, and the sockets' and the hub's database calls (`database_sync_to_async`)
all run on asgiref's one shared thread, one connection at a time: the "+ 1".
"""

from __future__ import annotations

import asyncio
import json
import logging

from .middleware import MESSAGE, RETRY_AFTER_SECONDS

logger = logging.getLogger(__name__)

# The sockets' and the hub's database work shares asgiref's single thread (no context of
# its own, thread-sensitive): one connection per process.
SOCKET_SIDE_CONNECTIONS = 1


class DatabaseConcurrency:
    """ASGI middleware: at most `limit` HTTP requests of the wrapped app run at once."""

    def __init__(self, app, *, limit: int, queue_seconds: float):
        self.app = app
        self.limit = limit
        self.queue_seconds = queue_seconds
        self.slots = asyncio.Semaphore(limit)
        self.waiting = 0

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        self.waiting += 1
        try:
            async with asyncio.timeout(self.queue_seconds):
                await self.slots.acquire()
        except TimeoutError:
            logger.warning(
                "%s %s waited %gs for one of %d database slots (%d waiting): 503",
                scope["method"],
                scope["path"],
                self.queue_seconds,
                self.limit,
                self.waiting,
            )
            return await busy(scope, send)
        finally:
            self.waiting -= 1
        try:
            return await self.app(scope, receive, send)
        finally:
            self.slots.release()


async def busy(scope, send) -> None:
    """The same 503 a busy database gets (statuspage.middleware): JSON under /api/."""
    if scope["path"].startswith("/api/"):
        body, content_type = json.dumps({"detail": MESSAGE}).encode(), b"application/json"
    else:
        body, content_type = f"<!doctype html><title>Busy</title><p>{MESSAGE}</p>".encode(), b"text/html; charset=utf-8"
    await send(
        {
            "type": "http.response.start",
            "status": 503,
            "headers": [
                (b"content-type", content_type),
                (b"content-length", str(len(body)).encode()),
                (b"retry-after", str(RETRY_AFTER_SECONDS).encode()),
                (b"cache-control", b"no-store"),
            ],
        }
    )
    await send({"type": "http.response.body", "body": b"" if scope["method"] == "HEAD" else body})


def per_web_process(web_db_concurrency: int) -> int:
    """Database connections one web process may hold at most."""
    return web_db_concurrency + SOCKET_SIDE_CONNECTIONS
