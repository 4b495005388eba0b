"""Live push through real server processes: OKX's own SDK, two processes on Redis, a browser."""

import asyncio
import json
import time
import uuid

import httpx
import pytest
import websockets
from django.test import override_settings

from incidents import services
from incidents.models import Component

from .private_services import forget_redis_keys
from .servers import daphne

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.live]


def api(base, token, method, path, body=None):
    response = httpx.request(
        method, base + path, json=body or {}, headers={"Authorization": f"Bearer {token}"}, timeout=10
    )
    assert response.status_code < 300, response.text
    return response.json()


def ws_url(base, path):
    return base.replace("http://", "ws://") + path


async def next_json(socket, timeout=2.0):
    return json.loads(await asyncio.wait_for(socket.recv(), timeout))


def test_python_okx_websocket_client_receives_a_maintenance_push(demo, token):
    """python-okx's WsPublicAsync, fed a plain ws:// connection (its connect() insists on TLS)."""
    from okx.websocket.WsPublicAsync import WsPublicAsync

    maintenance = demo["maintenance"]

    async def scenario(base):
        received = []
        client = WsPublicAsync(url=ws_url(base, "/ws/v5/public"))
        client.websocket = await websockets.connect(client.url)
        await client.subscribe([{"channel": "status"}], callback=received.append, id="42")
        consumer = asyncio.get_running_loop().create_task(client.consume())
        try:
            await wait_until(lambda: len(received) >= 2)
            ack, state = (json.loads(m) for m in received[:2])
            assert ack["event"] == "subscribe" and ack["id"] == "42"
            assert state["data"][0]["state"] == "scheduled"
            await asyncio.to_thread(api, base, token, "POST", f"/api/v1/maintenances/{maintenance.public_id}/start")
            await wait_until(lambda: len(received) >= 3)
            push = json.loads(received[2])
            assert push["arg"] == {"channel": "status"}
            (row,) = push["data"]
            assert (row["title"], row["state"], row["maintType"], row["serviceType"]) == (
                maintenance.name,
                "ongoing",
                "1",
                "5",
            )
            # Issue #14: the reopening's pre-open phase, as OKX pushes it.
            await asyncio.to_thread(api, base, token, "POST", f"/api/v1/maintenances/{maintenance.public_id}/pre_open")
            await wait_until(lambda: len(received) >= 4)
            (row,) = json.loads(received[3])["data"]
            assert (row["state"], row["preOpenBegin"].isdigit(), row["end"]) == (
                "pre_open",
                True,
                push["data"][0]["end"],
            )
        finally:
            consumer.cancel()
            await client.websocket.close()

    with daphne() as base:
        asyncio.run(scenario(base))


async def wait_until(predicate, timeout=5.0):
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError("timed out waiting")
        await asyncio.sleep(0.02)


def test_a_change_reaches_sockets_on_every_process_through_redis(demo, token, redis_url):
    """Two daphne processes on Redis (ours, or this worker's database of the one we were
    given); polling is set to a minute, so only Redis can explain a delivery within a second."""
    prefix = f"statuspage-live-{uuid.uuid4().hex[:8]}"  # keys and channel of these two only
    redis_env = {"REDIS_URL": redis_url, "CACHE_KEY_PREFIX": prefix, "LIVE_POLL_SECONDS": "60"}
    market = Component.objects.get(name="Market data")
    book = Component.objects.get(name="Order book")

    async def scenario(first, second):
        sockets = [await websockets.connect(ws_url(base, "/ws/v2/events")) for base in (first, second)]
        okx = await websockets.connect(ws_url(second, "/ws/v5/public"))
        try:
            # Connecting may wait for a process's first publish of every file (174 of them,
            # CPU-bound) on a loaded machine: what is timed below is delivery after a write.
            hellos = [await next_json(s, timeout=10.0) for s in sockets]
            assert {h["type"] for h in hellos} == {"hello"}
            await okx.send(json.dumps({"op": "subscribe", "args": [{"channel": "status"}]}))
            await next_json(okx, timeout=10.0)
            await next_json(okx, timeout=10.0)

            # 1. Through process one's API.
            await asyncio.to_thread(
                api, first, token, "PATCH", f"/api/v1/components/{market.public_id}", {"status": "major_outage"}
            )
            committed = time.monotonic()  # the write has returned: from here, within a second
            events = [await next_json(s, timeout=3.0) for s in sockets]
            assert time.monotonic() - committed < 1.0
            assert {e["seq"] for e in events} == {hellos[0]["seq"] + 1}
            assert all(e["data"]["component_update"]["new_status"] == "major_outage" for e in events)

            # 2. From outside any server (as a Celery worker would), published on Redis.
            await asyncio.to_thread(write_from_worker, book, redis_url, prefix)
            events = [await next_json(s, timeout=3.0) for s in sockets]
            assert all(e["data"]["component"]["name"] == "Order book" for e in events)

            # 3. An incident reaches the OKX socket on process two.
            await asyncio.to_thread(
                api, first, token, "POST", "/api/v1/incidents", {"name": "Quotes frozen", "body": "Looking."}
            )
            push = await next_json(okx, timeout=3.0)
            assert push["data"][0]["title"] == "Quotes frozen" and push["data"][0]["maintType"] == "3"
        finally:
            for s in [*sockets, okx]:
                await s.close()

    try:
        with daphne(**redis_env) as first, daphne(**redis_env) as second:
            asyncio.run(scenario(first, second))
    finally:
        forget_redis_keys(redis_url, prefix)


def write_from_worker(component, redis_url, prefix):
    """A write made where no server runs (as in a Celery worker) with the servers' Redis."""
    caches = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": redis_url,
            "KEY_PREFIX": prefix,  # as the servers have it (CACHE_KEY_PREFIX)
        }
    }
    with override_settings(LIVE_REDIS_URL=redis_url, CACHES=caches):
        services.component_set_status(component=component, status="partial_outage", actor=services.Actor.system())


def test_browser_page_updates_in_place_and_catches_up_after_a_drop(demo, token, browser):
    """Real headless Chromium (Debian's package) driven by Playwright."""
    from playwright.sync_api import expect

    market = Component.objects.get(name="Market data")
    with daphne() as base:
        page = browser.new_page(viewport={"width": 1280, "height": 800})
        page.goto(base + "/")
        expect(page.locator("[data-live-indicator]")).to_have_attribute("data-state", "live", timeout=5000)
        page.evaluate("window.__notReloaded = true; window.scrollTo(0, 400)")

        started = time.monotonic()
        incident = api(
            base,
            token,
            "POST",
            "/api/v1/incidents",
            {"name": "Market data frozen", "body": "Prices stopped.", "components": {market.public_id: "major_outage"}},
        )
        banner = page.locator('[data-live-region="banner"]')
        expect(banner).to_contain_text("Major System Outage", timeout=3000)
        assert time.monotonic() - started < 2.0
        expect(page.locator('[data-live-region="incidents"]')).to_contain_text("Market data frozen")
        assert page.evaluate("window.__notReloaded") is True
        assert page.evaluate("window.scrollY") >= 300  # the reader stays where they were

        # Cut the socket, post while it is down: the page catches up on reconnect.
        page.evaluate("window.statusLive.disconnect()")
        api(base, token, "POST", f"/api/v1/incidents/{incident['id']}/resolve", {"body": "Restored."})
        expect(banner).to_contain_text("All Systems Operational", timeout=10000)
        expect(page.locator("[data-live-indicator]")).to_have_attribute("data-state", "live", timeout=10000)
        assert page.evaluate("window.__notReloaded") is True

        # An incident page follows its own timeline.
        page.goto(base + f"/incidents/{incident['id']}")
        expect(page.locator("[data-live-indicator]")).to_have_attribute("data-state", "live", timeout=5000)
        api(
            base,
            token,
            "PUT",
            f"/api/v1/incidents/{incident['id']}/postmortem",
            {"body": "## Cause\nA cache.", "publish": True},
        )
        expect(page.locator('[data-live-region="incident"]')).to_contain_text("A cache.", timeout=3000)


def test_without_websockets_the_page_polls(demo, token, browser):
    from playwright.sync_api import expect

    market = Component.objects.get(name="Market data")
    with daphne() as base:
        page = browser.new_page()
        page.add_init_script("delete window.WebSocket")
        page.goto(base + "/")
        expect(page.locator("[data-live-indicator]")).to_have_attribute("data-state", "polling", timeout=5000)
        api(base, token, "PATCH", f"/api/v1/components/{market.public_id}", {"status": "partial_outage"})
        expect(page.locator('[data-live-region="banner"]')).to_contain_text("Partial System Outage", timeout=8000)
