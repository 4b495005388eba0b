"""What a hub does besides fan-out: close idle OKX sockets, and run the full garbage
collections at moments of its choosing.

With 10,000 sockets a process tracks about two million objects, and a full collection
stops the event loop for 1–2 s whenever the allocation counters say so: in the middle of
a fan-out, that is the whole latency budget (measured by bench/broadcast.py --profile).
A process with a hub therefore freezes what exists once it is set up (never garbage),
leaves the young generations to the collector as before, and runs the full collections
itself, every LIVE_GC_FULL_SECONDS, at a moment when no fan-out is under way.

After each full collection the freed memory is handed back to the system (glibc's
`malloc_trim`): otherwise a burst of sockets, once closed and collected, stays in the
process's heap for good (issue #11: 20,000 connects and closes took the web processes
from 371 to 452 MB, where it stayed; tests/faults/test_outage_hour.py).
"""

from __future__ import annotations

import asyncio
import ctypes
import ctypes.util
import gc
import time
from collections.abc import Callable

from django.conf import settings

from .connection import CloseCode, Connection

Connections = dict[str, set[Connection]]

_gc_taken_over = False


def _malloc_trim() -> Callable[[int], int]:
    """glibc's malloc_trim, or a no-op where the C library has none (musl, macOS)."""
    try:
        return ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6").malloc_trim
    except (OSError, AttributeError):
        return lambda pad: 0


malloc_trim = _malloc_trim()


def take_over_full_collections() -> None:
    global _gc_taken_over
    if _gc_taken_over:
        return
    _gc_taken_over = True
    gen0, gen1, _ = gc.get_threshold()
    gc.freeze()
    gc.set_threshold(gen0, gen1, 1_000_000_000)


async def sweep_idle(connections: Connections) -> None:
    """OKX closes a socket that said nothing for 30 s; so do we."""
    idle = settings.OKX_WS_IDLE_SECONDS
    while True:
        await asyncio.sleep(min(5.0, idle / 3))
        cutoff = time.monotonic() - idle
        for connection in list(connections["okx"]):
            if connection.last_heard < cutoff:
                connection.close(CloseCode.IDLE)


async def collect_garbage(connections: Connections, last_fan_out: Callable[[], float]) -> None:
    """The full collections, on our schedule: never while a fan-out is being written."""
    every = settings.LIVE_GC_FULL_SECONDS
    quiet = 1.0
    while True:
        await asyncio.sleep(every)
        # Wait for a quiet second (no fan-out, nothing queued), but not for ever: a
        # stalled client keeps its queue.
        patience = time.monotonic() + every
        while time.monotonic() < patience and (
            time.monotonic() - last_fan_out() < quiet or any(c.queue for stream in connections.values() for c in stream)
        ):
            await asyncio.sleep(quiet)
        gc.collect()
        malloc_trim(0)
