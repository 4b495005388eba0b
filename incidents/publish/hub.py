"""Live push: one hub per server process fans every public change out to its sockets.

How a change travels:

1. A service commits; after commit it calls `publish()`, rebuilds the snapshot and calls
   `publish()` again.
2. `publish` wakes the hubs of this process directly and sends ONE Redis pub/sub message
   (`pubsub.send`), which reaches the one hub of every other process. It never waits
   long: a frozen Redis costs the writer at most REDIS_SOCKET_TIMEOUT, once per process
   (`breaker`).
3. The hub reads what is new once (`changes.load`: the events after the last seq it
   pushed, the current snapshot), encodes each message once, and offers the same string
   to every socket. Event streams get the events at the first call; what is drawn from
   the snapshot (OKX rows, pages) waits until the snapshot has caught up with them.
4. Each socket has its own writer task and a bounded queue (`connection.Connection`): a
   slow client only delays itself.

A hub also polls the sequence number every `LIVE_POLL_SECONDS`, so a change made where
no message could reach it (a Celery worker without Redis, a Redis outage) is pushed
within seconds all the same.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
import weakref

from channels.db import database_sync_to_async
from django.conf import settings

from ..wire import okx
from ..wire import statuspage as v2
from . import changes, pubsub, regions, snapshot, upkeep
from .connection import CloseCode, Connection, text_frame

logger = logging.getLogger(__name__)

STREAMS = ("page", "okx", "events")


class Hub:
    """The fan-out of one event loop (one per server process)."""

    def __init__(self, loop: asyncio.AbstractEventLoop):
        self.loop = loop
        self.connections: dict[str, set[Connection]] = {stream: set() for stream in STREAMS}
        self.seq: int | None = None
        self.snapshot_key: tuple | None = None
        self.page_messages: dict[str, str] = {}  # per language, the last sent
        self.last_fan_out = 0.0
        self.pending: list = []  # events pushed to streams, not yet drawn on the pages
        self.tasks: list[asyncio.Task] = []
        self._poked = asyncio.Event()
        self._started = False
        self._start_lock = asyncio.Lock()
        self._lag = changes.Lag()
        self._checks_started = 0
        self._checks_done = 0

    # --- lifecycle and registration --------------------------------------------------------

    async def ensure_started(self) -> None:
        if self._started:
            return
        async with self._start_lock:
            if self._started:
                return
            self.seq = await database_sync_to_async(changes.current_seq)()
            held = snapshot.local()
            if held is not None and held["seq"] >= self.seq:
                # What sockets are sent on connect: only what comes after it is news.
                self.snapshot_key = (held["seq"], held["built_at"])
            upkeep.take_over_full_collections()
            self.tasks = [
                self.loop.create_task(self._run()),
                self.loop.create_task(upkeep.sweep_idle(self.connections)),
                self.loop.create_task(upkeep.collect_garbage(self.connections, lambda: self.last_fan_out)),
            ]
            if pubsub.url():
                listener = pubsub.listen(pubsub.url(), self.poke, retry_after=settings.LIVE_POLL_SECONDS)
                self.tasks.append(self.loop.create_task(listener))
            self._started = True
            self.poke()  # a first look at once, not after a poll interval

    def add(self, connection: Connection) -> None:
        self.connections[connection.stream].add(connection)

    def remove(self, connection: Connection) -> None:
        self.connections[connection.stream].discard(connection)
        connection.stop()

    def poke(self) -> None:
        self._poked.set()

    def has_streams(self) -> bool:
        return self._started and bool(self.connections["events"] or self.connections["okx"])

    # --- the loop --------------------------------------------------------------------------

    async def _run(self) -> None:
        while True:
            # asyncio.timeout, not wait_for: on 3.11 wait_for can swallow a cancellation
            # that arrives as the wait ends, and this loop would then never stop.
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(settings.LIVE_POLL_SECONDS):
                    await self._poked.wait()
            self._poked.clear()
            self._checks_started += 1
            try:
                await self.check()
            except Exception:
                logger.exception("live push check failed; retrying on the next tick")
            finally:
                self._checks_done += 1
            # asgiref's SyncToAsync, cancelled while its thread runs, waits for the thread
            # and then returns normally: the cancellation is swallowed, and this loop would
            # run on and keep its event loop from closing.
            if asyncio.current_task().cancelling():
                raise asyncio.CancelledError

    async def streams_settled(self, timeout: float) -> None:
        """Return once a check that began after this call is done and the event and OKX
        sockets have written what it queued (or after `timeout`)."""
        deadline = self.loop.time() + timeout
        target = self._checks_started + 1
        self.poke()
        while self.loop.time() < deadline:
            if self._checks_done >= target and not any(
                c.queue and not c.paused for stream in ("events", "okx") for c in self.connections[stream]
            ):
                return
            await asyncio.sleep(0.005)

    async def check(self) -> None:
        found = await database_sync_to_async(changes.load)(seq=self.seq, snapshot_key=self.snapshot_key, lag=self._lag)
        if found is None:
            return
        data = found.data
        self.last_fan_out = time.monotonic()
        # Integrators' event streams first, and at once: an event is its own record and
        # does not wait for the snapshot (the writer publishes before it rebuilds).
        self._to_event_streams(found.events)
        self.seq = max(self.seq or 0, found.upto)
        # What is drawn from the snapshot (OKX rows, pages) goes out once the snapshot has
        # caught up with the events it shows, so every such message agrees with it.
        self.pending.extend(found.events)
        ready = [e for e in self.pending if e.seq <= data["seq"]]
        self.pending = [e for e in self.pending if e.seq > data["seq"]]
        self._to_okx(ready, data)
        if found.key != self.snapshot_key or ready:
            watchers = self.connections["page"]
            messages = await database_sync_to_async(changes.render)(
                changes=found,
                events=ready,
                previous_key=self.snapshot_key,
                watched={
                    (c.key.removeprefix("incident:"), c.language) for c in watchers if c.key.startswith("incident:")
                },
                home_languages={c.language for c in watchers if not c.key},
            )
            self._to_pages(data, messages)
        self.snapshot_key = found.key

    # --- fan-out: each message encoded once, offered to every socket of its stream ----------

    def _to_event_streams(self, events) -> None:
        for event in events:
            text = json.dumps(v2.event_json(event), separators=(",", ":"))
            frame = text_frame(text)
            for connection in self.connections["events"]:
                connection.offer(text, event.seq, frame)

    def _to_okx(self, events, data) -> None:
        text = okx.push([e.incident.public_id for e in events if e.incident_id], data["okx"])
        if text:
            frame = text_frame(text)
            for connection in self.connections["okx"]:
                connection.offer(text, 0, frame)

    def _to_pages(self, data, messages: changes.PageMessages) -> None:
        home = {}
        for code, text in messages.home.items():
            # A periodic rebuild that changed nothing readers see sends nothing.
            if text != self.page_messages.get(code):
                self.page_messages[code] = home[code] = text
        history = regions.history_message(data) if messages.history_changed else None
        funding = regions.history_message(data, "funding") if messages.funding_changed else None
        for connection in self.connections["page"]:
            if connection.key == "history":
                if history:
                    connection.offer(history)
            elif connection.key == "funding":
                if funding:
                    connection.offer(funding)
            elif connection.key.startswith("incident:"):
                text = messages.incidents.get((connection.key.removeprefix("incident:"), connection.language))
                if text:
                    connection.offer(text)
            elif connection.language in home:
                connection.offer(home[connection.language])

    async def notice_restart(self, grace: float = 30.0) -> None:
        """Tell OKX clients to reconnect (64008), then close their sockets after `grace`."""
        for connection in list(self.connections["okx"]):
            connection.offer(okx.notice(connection.key))
        await asyncio.sleep(grace)
        for connection in list(self.connections["okx"]) + list(self.connections["events"]):
            connection.close(CloseCode.RESTARTING)


_hubs: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, Hub] = weakref.WeakKeyDictionary()


def hub() -> Hub:
    """This event loop's hub (a server process has one loop)."""
    loop = asyncio.get_running_loop()
    if loop not in _hubs:
        _hubs[loop] = Hub(loop)
    return _hubs[loop]


# --- publishing (sync: called after commit by services, tasks, commands) -----------------


def publish(*, settle: float = 0.0) -> None:
    """Tell every server process that the public state changed. Never raises.

    With `settle`, also wait (at most that long) until this process's hubs have written
    the change to their event streams: the caller's next step, a CPU-bound snapshot
    rebuild, would otherwise take the GIL from the event loop in the middle of the fan-out
    (each socket write releases it) and delay every subscriber by about its own length.
    """
    waits = []
    for loop, local_hub in list(_hubs.items()):
        if loop.is_closed():
            continue
        if settle and local_hub.has_streams() and not _is_running_here(loop):
            waits.append(asyncio.run_coroutine_threadsafe(local_hub.streams_settled(settle), loop))
        else:
            loop.call_soon_threadsafe(local_hub.poke)
    pubsub.send({"type": "changed"})
    for wait in waits:
        # A bounded courtesy before the rebuild: the change is committed and the hubs poll.
        with contextlib.suppress(Exception):
            wait.result(timeout=settle + 0.5)


def _is_running_here(loop: asyncio.AbstractEventLoop) -> bool:
    try:
        return asyncio.get_running_loop() is loop
    except RuntimeError:
        return False
