"""Live push: one hub per server process fans every public change out to its sockets.

How a change travels:

1. A service commits; after commit it calls `publish()`, rebuilds the snapshot and calls
   `publish()` again.
2. `publish` wakes the hubs of this process directly and sends ONE Redis pub/sub message
   (`LIVE_REDIS_URL`, by default `REDIS_URL`), which reaches the one hub of every other
   process. It never waits long: a frozen Redis costs the writer at most `PUBLISH_TIMEOUT`.
3. The hub reads what is new once (the events after the last seq it pushed, the current
   snapshot), encodes each message once, and offers the same string to every socket.
   Event streams get the events at the first call; what is drawn from the snapshot (OKX
   rows, pages) waits until the snapshot has caught up with them.
4. Each socket has its own writer task and a bounded queue: a slow client only delays
   itself. Page sockets keep just the latest state (coalesced); event streams that
   overflow are closed, and their clients resume from their last seq.

A hub also polls the sequence number every `LIVE_POLL_SECONDS`, so a change made where
no message could reach it (a Celery worker without Redis, a Redis outage) is
pushed within seconds all the same.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import json
import logging
import time
import weakref
from collections import deque
from collections.abc import Callable

from channels.db import database_sync_to_async
from django.conf import settings
from django.utils import timezone

from . import documents, formats, live, selectors, snapshot
from .models import PageState

logger = logging.getLogger(__name__)

PUBLISH_TIMEOUT = 0.5  # seconds a writer may spend telling the other processes
QUEUE_LIMIT = 256
# When the snapshot lags the event log this long, the hub rebuilds it itself.
SNAPSHOT_LAG_GRACE = 5.0


def poll_seconds() -> float:
    return getattr(settings, "LIVE_POLL_SECONDS", 2.0)


# --- garbage collection ------------------------------------------------------------------
# With 10,000 sockets a process tracks about two million objects, and a full collection
# stops the event loop for 1–2 s whenever the allocation counters say so: in the middle of
# a fan-out, that is the whole latency budget (measured by bench/broadcast.py --profile).
# A process with a hub therefore freezes what exists once it is set up (never garbage),
# leaves the young generations to the collector as before, and runs the full collections
# itself, every LIVE_GC_FULL_SECONDS, at a moment when no fan-out is under way.

_gc_taken_over = False


def take_over_full_collections() -> None:
    global _gc_taken_over
    if _gc_taken_over:
        return
    _gc_taken_over = True
    gen0, gen1, _ = gc.get_threshold()
    gc.freeze()
    gc.set_threshold(gen0, gen1, 1_000_000_000)


def gc_full_seconds() -> float:
    return getattr(settings, "LIVE_GC_FULL_SECONDS", 60.0)


# --- connections -------------------------------------------------------------------------


class Connection:
    """One socket's outgoing side: a bounded queue drained by its own writer task."""

    def __init__(self, send: Callable, close: Callable, *, stream: str, coalesce: bool, key: str = ""):
        self._send = send
        self._close = close
        self.stream = stream
        self.key = key  # the incident a page socket watches, "" otherwise
        self.coalesce = coalesce
        self.queue: deque[tuple[int, str]] = deque()
        self.wakeup = asyncio.Event()
        self.closed = False
        self.paused = False
        self.after_seq = 0  # drop queued event messages at or below this (already replayed)
        self.last_heard = time.monotonic()
        self.writer = asyncio.get_running_loop().create_task(self._write_loop())

    def offer(self, text: str, seq: int = 0) -> None:
        if self.closed:
            return
        if self.coalesce:
            self.queue.clear()
        elif len(self.queue) >= QUEUE_LIMIT:
            logger.info("closing a %s socket that fell %d messages behind", self.stream, QUEUE_LIMIT)
            self.queue.clear()
            self.closed = True
            asyncio.get_running_loop().create_task(self._close(code=4008))
            return
        self.queue.append((seq, text))
        if not self.paused:
            self.wakeup.set()

    def resume(self, after_seq: int = 0) -> None:
        self.after_seq = after_seq
        self.paused = False
        self.wakeup.set()

    async def _write_loop(self) -> None:
        try:
            while not self.closed:
                await self.wakeup.wait()
                self.wakeup.clear()
                while self.queue and not self.paused:
                    seq, text = self.queue.popleft()
                    if seq and seq <= self.after_seq:
                        continue
                    await self._send(text_data=text)
        except asyncio.CancelledError:
            pass
        except Exception:
            logger.info("a %s socket failed while sending; dropping it", self.stream, exc_info=True)
            self.closed = True

    def stop(self) -> None:
        self.closed = True
        self.writer.cancel()


# --- the hub -----------------------------------------------------------------------------


class Hub:
    """The fan-out of one event loop (one per server process)."""

    def __init__(self, loop: asyncio.AbstractEventLoop):
        self.loop = loop
        self.connections: dict[str, set[Connection]] = {"page": set(), "okx": set(), "events": set()}
        self.seq: int | None = None
        self.snapshot_key: tuple | None = None
        self.page_message: str | None = None
        self._poked = asyncio.Event()
        self._started = False
        self._start_lock = asyncio.Lock()
        self._lag_since: float | None = None
        self.last_fan_out = 0.0
        self.pending: list = []  # events pushed to streams, not yet drawn on the pages
        self._checks_started = 0
        self._checks_done = 0
        self.tasks: list[asyncio.Task] = []

    # registration

    async def ensure_started(self) -> None:
        if self._started:
            return
        async with self._start_lock:
            if self._started:
                return
            self.seq = await database_sync_to_async(_current_seq)()
            held = snapshot.local()
            if held is not None and held["seq"] >= self.seq:
                # What sockets are sent on connect: only what comes after it is news.
                self.snapshot_key = (held["seq"], held["built_at"])
            take_over_full_collections()
            self.tasks = [
                self.loop.create_task(self._run()),
                self.loop.create_task(self._sweep_idle()),
                self.loop.create_task(self._collect_garbage()),
            ]
            if pubsub_url():
                self.tasks.append(self.loop.create_task(self._listen(pubsub_url())))
            self._started = True
            self.poke()  # a first look at once, not after a poll interval

    def add(self, connection: Connection) -> None:
        self.connections[connection.stream].add(connection)

    def remove(self, connection: Connection) -> None:
        self.connections[connection.stream].discard(connection)
        connection.stop()

    def poke(self) -> None:
        self._poked.set()

    # loops

    async def _run(self) -> None:
        while True:
            # asyncio.timeout, not wait_for: on 3.11 wait_for can swallow a cancellation
            # that arrives as the wait ends, and this loop would then never stop.
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(poll_seconds()):
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

    async def _listen(self, url: str) -> None:
        """One Redis subscription per process. Reads block with no timeout of their own
        (the poll covers a silent Redis), so a cancelled listener stops at once; clean-up
        is bounded."""
        import redis.asyncio as aioredis

        while True:
            client = aioredis.Redis.from_url(url, socket_connect_timeout=PUBLISH_TIMEOUT, retry=_no_retry())
            pubsub = client.pubsub(ignore_subscribe_messages=True)
            try:
                await pubsub.subscribe(pubsub_channel(url))
                self.poke()  # whatever was published while this was (re)subscribing
                while True:
                    message = await pubsub.get_message(timeout=None)
                    if message is not None:
                        await self._heard(message.get("data"))
            except asyncio.CancelledError:
                raise
            except Exception:
                logger.warning("Redis unavailable for live push; polling until it is back", exc_info=True)
                await asyncio.sleep(poll_seconds())
            finally:
                with contextlib.suppress(BaseException):
                    async with asyncio.timeout(1.0):
                        await pubsub.aclose()
                        await client.aclose()

    async def _heard(self, data) -> None:
        try:
            message = json.loads(data)
        except (TypeError, ValueError):
            message = {}
        if message.get("type") == "restart":
            await self.notice_restart(grace=float(message.get("grace", 30.0)))
        else:
            self.poke()

    async def _sweep_idle(self) -> None:
        """OKX closes a socket that said nothing for 30 s; so do we."""
        idle = getattr(settings, "OKX_WS_IDLE_SECONDS", 30.0)
        while True:
            await asyncio.sleep(min(5.0, idle / 3))
            cutoff = time.monotonic() - idle
            for connection in list(self.connections["okx"]):
                if connection.last_heard < cutoff and not connection.closed:
                    connection.closed = True
                    self.loop.create_task(connection._close(code=4004))

    def has_streams(self) -> bool:
        return self._started and bool(self.connections["events"] or self.connections["okx"])

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

    async def _collect_garbage(self) -> None:
        """The full collections, on our schedule: never while a fan-out is being written."""
        quiet = 1.0
        while True:
            await asyncio.sleep(gc_full_seconds())
            # Wait for a quiet second (no fan-out, nothing queued), but not for ever: a
            # stalled client keeps its queue.
            patience = time.monotonic() + gc_full_seconds()
            while time.monotonic() < patience and (
                time.monotonic() - self.last_fan_out < quiet
                or any(c.queue for stream in self.connections.values() for c in stream)
            ):
                await asyncio.sleep(quiet)
            gc.collect()

    # the work

    async def check(self) -> None:
        changes = await database_sync_to_async(self._load_changes)()
        if changes is None:
            return
        key, upto, events, data = changes
        self.last_fan_out = time.monotonic()
        # Integrators' event streams first, and at once: an event is its own record and
        # does not wait for the snapshot (the writer publishes before it rebuilds).
        self._fan_out_events(events)
        self.seq = max(self.seq or 0, upto)
        # What is drawn from the snapshot (OKX rows, pages) goes out once the snapshot has
        # caught up with the events it shows, so every such message agrees with it.
        self.pending.extend(events)
        ready = [e for e in self.pending if e.seq <= data["seq"]]
        self.pending = [e for e in self.pending if e.seq > data["seq"]]
        self._fan_out_okx(ready, data)
        if key != self.snapshot_key or ready:
            pages = await database_sync_to_async(self._render_pages)(key, ready, data)
            self._fan_out_pages(data, *pages)
        self.snapshot_key = key

    def _load_changes(self):
        """In a worker thread: the events after the last push, and the current snapshot."""
        state_seq = _current_seq()
        data = snapshot.current()
        if data["seq"] < state_seq:
            # Another process (a Celery worker, with no shared cache in `make run`) may have
            # stored a newer snapshot in the database.
            data = snapshot.load_stored(at_least=state_seq) or data
        if data["seq"] < state_seq:
            # The writer rebuilds right after it publishes; if it did not (it died), do it here.
            now = time.monotonic()
            self._lag_since = self._lag_since or now
            if now - self._lag_since > SNAPSHOT_LAG_GRACE:
                data = snapshot.rebuild()
        else:
            self._lag_since = None
        key = (data["seq"], data["built_at"])
        if key == self.snapshot_key and state_seq == self.seq:
            return None
        events, upto = [], state_seq
        if self.seq is not None and state_seq > self.seq:
            page = selectors.events_since(self.seq, limit=1000)
            events = [e for e in page.events if e.seq <= state_seq]
            if page.has_more and events:
                upto = events[-1].seq  # the rest on the next look
        return key, upto, events, data

    def _render_pages(self, key, events, data):
        """In a worker thread: the pages' messages and the hot path's bytes, once each."""
        documents.for_snapshot(data)
        watchers = self.connections["page"]
        page_message = live.page_message(data) if key != self.snapshot_key and watchers else None
        touched = {e.incident.public_id for e in events if e.incident_id}
        watched = {c.key.removeprefix("incident:") for c in watchers if c.key.startswith("incident:")}
        incident_messages = {pid: live.incident_message(pid, data) for pid in touched & watched}
        return page_message, incident_messages, bool(touched)

    def _fan_out_events(self, events) -> None:
        for event in events:
            text = json.dumps(formats.event_json(event), separators=(",", ":"))
            for connection in self.connections["events"]:
                connection.offer(text, event.seq)

    def _fan_out_okx(self, events, data) -> None:
        okx = okx_push([e.incident.public_id for e in events if e.incident_id], data)
        if okx:
            for connection in self.connections["okx"]:
                connection.offer(okx)

    def _fan_out_pages(self, data, page_message, incident_messages, history_changed) -> None:
        if page_message is not None:
            if page_message == self.page_message:
                page_message = None  # a periodic rebuild that changed nothing readers see
            else:
                self.page_message = page_message
        history = live.history_message(data) if history_changed else None
        for connection in self.connections["page"]:
            if connection.key == "history":
                if history:
                    connection.offer(history)
            elif connection.key.startswith("incident:"):
                text = incident_messages.get(connection.key.removeprefix("incident:"))
                if text:
                    connection.offer(text)
            elif page_message is not None:
                connection.offer(page_message)

    async def notice_restart(self, grace: float = 30.0) -> None:
        """Tell OKX clients to reconnect (64008), then close their sockets after `grace`."""
        for connection in list(self.connections["okx"]):
            connection.offer(okx_notice(connection.key))
        await asyncio.sleep(grace)
        for connection in list(self.connections["okx"]) + list(self.connections["events"]):
            if not connection.closed:
                connection.closed = True
                await connection._close(code=1012)


def _current_seq() -> int:
    return PageState.objects.filter(pk=1).values_list("seq", flat=True).first() or 0


_hubs: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, Hub] = weakref.WeakKeyDictionary()


def hub() -> Hub:
    """This event loop's hub (a server process has one loop)."""
    loop = asyncio.get_running_loop()
    if loop not in _hubs:
        _hubs[loop] = Hub(loop)
    return _hubs[loop]


# --- OKX messages ------------------------------------------------------------------------


def okx_rows(public_ids: list[str], data: dict) -> list[dict]:
    rows = {row["id"]: row for row in data["okx"]}
    ts = str(int(timezone.now().timestamp() * 1000))
    return [{**rows[pid], "ts": ts} for pid in dict.fromkeys(public_ids) if pid in rows]


def okx_push(public_ids: list[str], data: dict) -> str | None:
    rows = okx_rows(public_ids, data)
    if not rows:
        return None
    return json.dumps({"arg": {"channel": "status"}, "data": rows}, separators=(",", ":"))


def okx_state_push(data: dict) -> str:
    """What a new subscriber gets: the open events, or else the latest change."""
    open_rows = [r["id"] for r in data["okx"] if r["state"] in formats.OKX_DEFAULT_STATES]
    latest = [max(data["okx"], key=lambda r: int(r["begin"] or 0))["id"]] if data["okx"] else []
    rows = okx_rows(open_rows or latest, data)
    return json.dumps({"arg": {"channel": "status"}, "data": rows}, separators=(",", ":"))


def okx_notice(conn_id: str) -> str:
    return json.dumps(
        {
            "event": "notice",
            "code": "64008",
            "msg": "The connection will soon be closed for a service upgrade. Please reconnect.",
            "connId": conn_id,
        }
    )


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
    _send_to_processes({"type": "changed"})
    for wait in waits:
        with contextlib.suppress(Exception):
            wait.result(timeout=settle + 0.5)


def _is_running_here(loop: asyncio.AbstractEventLoop) -> bool:
    try:
        return asyncio.get_running_loop() is loop
    except RuntimeError:
        return False


def announce_restart(grace: float = 30.0) -> None:
    """Ask every process to send OKX's 64008 notice and close its sockets after `grace`."""
    for loop, local_hub in list(_hubs.items()):
        if not loop.is_closed():
            asyncio.run_coroutine_threadsafe(local_hub.notice_restart(grace), loop)
    _send_to_processes({"type": "restart", "grace": grace})


# --- across processes: Redis pub/sub ------------------------------------------------------


def pubsub_url() -> str:
    """Where the hubs of every process hear of changes; empty: this process only."""
    return getattr(settings, "LIVE_REDIS_URL", "") or ""


def pubsub_channel(url: str) -> str:
    """Pub/sub ignores the database number; the channel carries it, so deployments (and
    test workers) on different databases of one Redis do not hear each other."""
    from urllib.parse import urlsplit

    return f"statuspage:live:{urlsplit(url).path.strip('/') or '0'}"


def _no_retry():
    from redis.backoff import NoBackoff
    from redis.retry import Retry

    return Retry(NoBackoff(), 0)


_publishers: dict = {}


def _send_to_processes(message: dict) -> None:
    """One Redis message for all the other processes; never raises, never waits longer
    than PUBLISH_TIMEOUT (the hubs poll besides)."""
    url = pubsub_url()
    if not url:
        return
    import redis

    client = _publishers.get(url)
    if client is None:
        client = _publishers[url] = redis.Redis.from_url(
            url, socket_timeout=PUBLISH_TIMEOUT, socket_connect_timeout=PUBLISH_TIMEOUT, retry=_no_retry()
        )
    try:
        client.publish(pubsub_channel(url), json.dumps(message))
    except Exception:
        logger.warning("could not publish on Redis; the hubs will find the change by polling", exc_info=True)
