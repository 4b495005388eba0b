"""WebSocket endpoints. All are read-only: the only client messages are the protocols' own.

* `/ws/status?view=home|history|incident:<id>` — the browser page (Origin checked).
* `/ws/v5/public` — OKX's public WebSocket, `status` channel, exactly as OKX speaks it.
* `/ws/v2/events?since=<seq>` — Statuspage-shaped events with their `seq`; replays first.

Each socket registers with its process's hub BEFORE it reads the state it starts from,
so nothing committed in between can fall through (Zulip's register-then-fetch rule).
"""

from __future__ import annotations

import json
import secrets
from urllib.parse import parse_qs

from channels.consumer import get_handler_name
from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncWebsocketConsumer

from .. import languages, selectors
from ..publish import hub, site, snapshot
from ..publish.connection import FRAMES_EXTENSION, MAX_FRAME, CloseCode, Connection
from ..wire import okx
from ..wire import statuspage as v2


def query(scope) -> dict[str, str]:
    return {k: v[-1] for k, v in parse_qs(scope.get("query_string", b"").decode()).items()}


class HubConsumer(AsyncWebsocketConsumer):
    # The process hub hears of every change once (incidents/publish/hub.py); a socket needs
    # no channel-layer channel of its own. An alias that is not configured gives
    # `channel_layer = None`, so Channels skips `new_channel()` and its receive task for
    # every socket (with 10,000 sockets that made connecting quadratic and cost ~8 KB
    # each). Nothing here uses group_send.
    channel_layer_alias = "none: sockets are fed by the process hub"
    stream = ""
    coalesce = False
    connection: Connection | None = None

    async def register(self, key: str = "", paused: bool = False, language: str = "") -> Connection:
        process_hub = hub.hub()
        await process_hub.ensure_started()
        # The server's frame writer, where it has one (deploy/web: statuspage/wsprotocol.py).
        frames = self.scope.get("extensions", {}).get(FRAMES_EXTENSION, {})
        self.connection = Connection(
            self.send,
            self.close,
            stream=self.stream,
            coalesce=self.coalesce,
            key=key,
            language=language,
            write_frame=frames.get("write"),
        )
        if paused:
            self.connection.pause()
        process_hub.add(self.connection)
        return self.connection

    async def dispatch(self, message):
        """Channels' own, less its `close_old_connections` before every message.

        Channels (4.2+) runs that on the process's one thread for sync code, the thread the
        replays, the hub and Django's views queue on. Under load a handshake (and every
        `ping`) waited there behind the database: CI saw 9 of 32 reconnecting sockets fail
        their handshake (the server's 10 s opening timeout) beside 64 readers and 20
        writers. These consumers touch the database only through `database_sync_to_async`,
        which closes stale connections itself, so a handshake never waits for the database."""
        handler = getattr(self, get_handler_name(message), None)
        if handler is None:
            raise ValueError(f"No handler for message type {message['type']}")
        await handler(message)

    async def disconnect(self, code):
        if self.connection is not None:
            hub.hub().remove(self.connection)

    async def receive(self, text_data=None, bytes_data=None):
        """Read-only sockets: `ping` gets `pong`; anything else closes the socket (1008)."""
        if await self.refuse_oversized(text_data, bytes_data):
            return
        if text_data == "ping":
            await self.send(text_data="pong")
        else:
            await self.close(code=CloseCode.READ_ONLY)

    async def refuse_oversized(self, text_data, bytes_data) -> bool:
        size = len(text_data.encode()) if text_data is not None else len(bytes_data or b"")
        if size > MAX_FRAME:
            await self.close(code=CloseCode.TOO_BIG)
            return True
        return False


class StatusPageConsumer(HubConsumer):
    """The browser page: the regions of its view on connect and after every change."""

    stream = "page"
    coalesce = True

    async def connect(self):
        view = query(self.scope).get("view", "home")
        if not (view in site.LIVE_VIEWS or (view.startswith("incident:") and len(view) <= 40)):
            await self.close(code=CloseCode.BAD_REQUEST)
            return
        # The page's own language (its <html lang>): each socket is sent its language's regions.
        code = languages.supported(query(self.scope).get("lang")) or languages.default()
        await self.accept()
        connection = await self.register(key="" if view == "home" else view, language=code)
        # The state from this process's snapshot and the published region: no render, no
        # query per connect (a thread only before the first snapshot or for an incident
        # nobody opened yet).
        data = snapshot.local()
        published = not view.startswith("incident:") or site.has_live_region(view)
        if data is not None and published:
            state = site.state_message(view, data, code)
        else:
            state = await database_sync_to_async(lambda: site.state_message(view, snapshot.current(), code))()
        if state is None:
            await self.close(code=CloseCode.NOT_FOUND)
            return
        connection.offer(state)


class OkxPublicConsumer(HubConsumer):
    """OKX v5 public WebSocket, `status` channel: subscribe, unsubscribe, ping, pushes."""

    stream = "okx"

    async def connect(self):
        self.conn_id = secrets.token_hex(4)
        self.subscribed = False
        await self.accept()
        # Registered now (not on subscribe) so the idle sweep sees silent sockets too.
        await self.register(key=self.conn_id, paused=True)

    async def receive(self, text_data=None, bytes_data=None):
        if await self.refuse_oversized(text_data, bytes_data):
            return
        self.connection.touch()
        if text_data is None:
            await self.error(okx.INVALID_REQUEST, "Invalid request: binary frames are not supported")
            return
        if text_data == "ping":
            await self.send(text_data="pong")
            return
        try:
            request = json.loads(text_data)
        except ValueError:
            await self.error(okx.INVALID_REQUEST, f"Invalid request: {text_data}")
            return
        if not isinstance(request, dict) or request.get("op") not in ("subscribe", "unsubscribe"):
            await self.error(okx.INVALID_REQUEST, f"Invalid request: {text_data}", request)
            return
        args = request.get("args")
        if not isinstance(args, list) or not args or not all(isinstance(a, dict) for a in args):
            await self.error(okx.INVALID_REQUEST, f"Invalid request: {text_data}", request)
            return
        for arg in args:
            channel = arg.get("channel")
            if channel != okx.CHANNEL:
                await self.error(okx.NO_SUCH_CHANNEL, f"Wrong URL or channel:{channel}, doesn't exist.", request)
                continue
            await self.acknowledge(request, arg)

    async def acknowledge(self, request: dict, arg: dict) -> None:
        op = request["op"]
        await self.send(text_data=okx.acknowledgement(op, self.conn_id, request.get("id")))
        if op == "subscribe" and not self.subscribed:
            self.subscribed = True
            data = await database_sync_to_async(snapshot.current)()
            await self.send(text_data=okx.state_push(data["okx"]))
            self.connection.resume()
        elif op == "unsubscribe":
            self.subscribed = False
            self.connection.pause()

    async def error(self, code: str, msg: str, request: dict | None = None) -> None:
        request_id = request.get("id") if isinstance(request, dict) else None
        await self.send(text_data=okx.error(code, msg, self.conn_id, request_id))


class EventsConsumer(HubConsumer):
    """Statuspage-shaped events with `seq`; `?since=` replays what the client missed."""

    stream = "events"

    async def connect(self):
        raw = query(self.scope).get("since", "")
        if raw and not raw.isdigit():
            await self.close(code=CloseCode.BAD_REQUEST)
            return
        await self.accept()
        connection = await self.register(paused=True)
        if raw:
            await self.replay(int(raw), connection)
        else:
            connection.resume(after_seq=hub.hub().seq or 0)
            await self.send(text_data=json.dumps({"type": "hello", "seq": hub.hub().seq or 0}))

    async def replay(self, since: int, connection: Connection) -> None:
        while True:
            page = await database_sync_to_async(selectors.events_since)(since, limit=selectors.EVENTS_PAGE)
            if page.reset:
                await self.send(text_data=json.dumps({"type": "reset", "seq": page.last_seq}))
                connection.resume(after_seq=page.last_seq)
                return
            for event in page.events:
                await self.send(text_data=json.dumps(v2.event_json(event), separators=(",", ":")))
                since = event.seq
            if not page.has_more:
                connection.resume(after_seq=since)
                return
