"""statuspage/budget.py: at most `limit` Django requests of a process at once, the others
wait in the event loop and, past the queue time, get the busy database's 503.

(The whole stack under load, with PostgreSQL's connections counted, is
tests/faults/test_connection_budget.py; here the gate alone, around a small ASGI app
that takes its time like a view.)"""

import asyncio
import json

import pytest

from statuspage.budget import DatabaseConcurrency

pytestmark = pytest.mark.asyncio


class SlowApp:
    """An ASGI app that answers 200 after `seconds`, counting how many run at once."""

    def __init__(self, seconds: float):
        self.seconds = seconds
        self.running = 0
        self.most = 0

    async def __call__(self, scope, receive, send):
        self.running += 1
        self.most = max(self.most, self.running)
        try:
            await asyncio.sleep(self.seconds)
            await send({"type": "http.response.start", "status": 200, "headers": []})
            await send({"type": "http.response.body", "body": b"ok"})
        finally:
            self.running -= 1


async def request(app, path: str = "/history", method: str = "GET") -> dict:
    sent = []

    async def receive():
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message):
        sent.append(message)

    await app({"type": "http", "method": method, "path": path, "headers": []}, receive, send)
    start = sent[0]
    return {
        "status": start["status"],
        "headers": dict(start["headers"]),
        "body": b"".join(m.get("body", b"") for m in sent[1:]),
    }


async def test_at_most_limit_requests_run_at_once_and_the_rest_wait_their_turn():
    app = SlowApp(0.05)
    gate = DatabaseConcurrency(app, limit=3, queue_seconds=5)
    answers = await asyncio.gather(*(request(gate) for _ in range(20)))
    assert {a["status"] for a in answers} == {200}
    assert app.most == 3


async def test_a_request_that_waited_too_long_gets_503_with_retry_after():
    app = SlowApp(0.5)
    gate = DatabaseConcurrency(app, limit=1, queue_seconds=0.1)
    first, api, page = await asyncio.gather(request(gate), request(gate, "/api/v1/components"), request(gate))
    assert first["status"] == 200
    assert api["status"] == page["status"] == 503
    assert api["headers"][b"retry-after"] == b"5" and api["headers"][b"cache-control"] == b"no-store"
    assert "try again" in json.loads(api["body"])["detail"]
    assert page["headers"][b"content-type"].startswith(b"text/html") and b"try again" in page["body"]
    # The slot was given back: the next request runs.
    assert (await request(gate))["status"] == 200


async def test_sockets_and_lifespan_pass_untouched():
    seen = []

    async def app(scope, receive, send):
        seen.append(scope["type"])

    gate = DatabaseConcurrency(app, limit=1, queue_seconds=0.1)
    await gate({"type": "websocket"}, None, None)
    await gate({"type": "lifespan"}, None, None)
    assert seen == ["websocket", "lifespan"]
