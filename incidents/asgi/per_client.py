"""A cap on the sockets one client address holds open in this process.

Each idle socket costs this process memory and a place in every fan-out; one address
opening thousands (a runaway reconnect loop, or on purpose) would cost every other
reader. Over the cap the handshake is refused before any consumer runs (`websocket.close`
before accept: the server answers HTTP 403), and the place is given back when the socket
ends, however it ends.

The address is `scope["client"]`: behind nginx that is the one nginx forwards, because
uvicorn's --proxy-headers takes X-Forwarded-For only from a trusted proxy (loopback by
default, its --forwarded-allow-ips), so a client cannot pick its own. The cap is per
process; nginx spreads one address's sockets over all of them.
"""

from __future__ import annotations

import logging

logger = logging.getLogger(__name__)

# RFC 6455 "policy violation"; sent before accept, the client sees HTTP 403.
POLICY_VIOLATION = 1008


class SocketsPerClient:
    """ASGI middleware for WebSocket scopes: at most `limit` open at once per address."""

    def __init__(self, app, *, limit: int):
        self.app = app
        self.limit = limit
        self.open: dict[str, int] = {}

    async def __call__(self, scope, receive, send):
        client = scope.get("client")
        if scope["type"] != "websocket" or self.limit <= 0 or not client:
            # (No address to count by: a Unix socket, or a test's communicator.)
            return await self.app(scope, receive, send)
        address = client[0]
        if self.open.get(address, 0) >= self.limit:
            return await self.refuse(address, receive, send)
        self.open[address] = self.open.get(address, 0) + 1
        try:
            return await self.app(scope, receive, send)
        finally:
            left = self.open.pop(address) - 1
            if left:
                self.open[address] = left

    async def refuse(self, address: str, receive, send) -> None:
        message = await receive()
        if message["type"] != "websocket.connect":
            return
        logger.info("refused a socket from %s: %d open from there already", address, self.limit)
        await send({"type": "websocket.close", "code": POLICY_VIOLATION})
