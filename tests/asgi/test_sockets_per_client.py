"""Issue 11: sockets are bounded per client address. A production ASGI process
(deploy/web: uvicorn, --proxy-headers) with LIVE_MAX_SOCKETS_PER_IP=5 takes five sockets
from one address, refuses the sixth at the handshake (HTTP 403) whatever the endpoint,
takes other addresses' as before, and gives a place back when a socket closes. The
address is the one the trusted proxy forwards; from anyone else X-Forwarded-For counts
for nothing."""

import asyncio
import json

import pytest
import websockets
from websockets.exceptions import InvalidStatus

from incidents.publish import snapshot

from ..servers import web_process

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.live]

CAP = 5


async def open_socket(base: str, forwarded_for: str | None = None, path: str = "/ws/v2/events"):
    """A socket that got its first message, or the HTTP status it was refused with."""
    headers = {"X-Forwarded-For": forwarded_for} if forwarded_for else {}
    try:
        socket = await websockets.connect(base.replace("http://", "ws://") + path, additional_headers=headers)
    except InvalidStatus as refused:
        return refused.response.status_code
    if path == "/ws/v2/events":
        assert json.loads(await asyncio.wait_for(socket.recv(), 5))["type"] == "hello"
    return socket


async def close_all(sockets) -> None:
    await asyncio.gather(*(s.close() for s in sockets if not isinstance(s, int)))


def test_one_address_gets_at_most_the_cap_and_gets_a_place_back_on_close(demo):
    snapshot.rebuild()

    async def scenario(base):
        crowd = [await open_socket(base, "203.0.113.7") for _ in range(CAP)]
        others = []
        try:
            assert not any(isinstance(s, int) for s in crowd), crowd
            # The sixth from that address is refused before any consumer runs, on any endpoint.
            assert await open_socket(base, "203.0.113.7") == 403
            assert await open_socket(base, "203.0.113.7", "/ws/v5/public") == 403
            # Another address, and the proxy's own, are not affected.
            others = [await open_socket(base, "203.0.113.8"), await open_socket(base)]
            assert not any(isinstance(s, int) for s in others), others

            # A socket that closes gives its place back.
            await crowd.pop().close()
            for _ in range(100):
                again = await open_socket(base, "203.0.113.7")
                if not isinstance(again, int):
                    break
                await asyncio.sleep(0.02)
            assert not isinstance(again, int), again
            crowd.append(again)
            assert await open_socket(base, "203.0.113.7") == 403
        finally:
            await close_all(crowd + others)

    with web_process(LIVE_MAX_SOCKETS_PER_IP=str(CAP)) as base:
        asyncio.run(scenario(base))


def test_x_forwarded_for_from_an_untrusted_peer_does_not_pick_the_address(demo):
    """Behind no trusted proxy (uvicorn trusts only FORWARDED_ALLOW_IPS), a client cannot
    spread its sockets over made-up addresses: all count as its own."""
    snapshot.rebuild()

    async def scenario(base):
        sockets = [await open_socket(base, f"198.51.100.{i}") for i in range(CAP + 1)]
        try:
            assert [isinstance(s, int) for s in sockets] == [False] * CAP + [True]
            assert sockets[-1] == 403
        finally:
            await close_all(sockets)

    with web_process(LIVE_MAX_SOCKETS_PER_IP=str(CAP), FORWARDED_ALLOW_IPS="192.0.2.1") as base:
        asyncio.run(scenario(base))
