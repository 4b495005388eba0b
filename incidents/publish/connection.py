"""One socket's outgoing side, and the close codes every socket speaks.

A `Connection` has a bounded queue drained by its own writer task, so a slow client only
delays itself. Page sockets keep only the latest state (`coalesce`); an event stream that
falls `QUEUE_LIMIT` messages behind is closed and its client resumes by `seq`.

The broadcast fast path: where the server lets the application write whole frames to the
socket (deploy/web's uvicorn, statuspage/wsprotocol.py), a message that all of a stream's
sockets get is framed once (`text_frame`) and written to each socket at once, with no task,
no ASGI send and no framing per socket; whenever that socket has anything queued or being
sent, or a backlog in its transport, the message takes the queue like any other.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import deque
from collections.abc import Callable
from enum import IntEnum

logger = logging.getLogger(__name__)

QUEUE_LIMIT = 256
# The ASGI scope extension through which a server lets the application write whole frames
# (statuspage/wsprotocol.py): {"write": Callable[[bytes], bool]}.
FRAMES_EXTENSION = "statuspage.frames"
# Bytes a client may send in one frame: none of the protocols needs more.
MAX_FRAME = 4096


class CloseCode(IntEnum):
    """Why the server closes a socket (RFC 6455 codes, and 4xxx of our own)."""

    READ_ONLY = 1008  # the client sent something the protocol does not take
    TOO_BIG = 1009  # a frame over MAX_FRAME
    RESTARTING = 1012  # the server restarts: reconnect
    IDLE = 4004  # silent for longer than OKX allows
    FELL_BEHIND = 4008  # an event stream QUEUE_LIMIT messages behind: resume by seq
    BAD_REQUEST = 4400  # a query the socket does not understand
    NOT_FOUND = 4404  # no such incident


def text_frame(text: str) -> bytes:
    """One unfragmented, unmasked text frame (RFC 6455 5.2), as a server sends it."""
    payload = text.encode()
    size = len(payload)
    if size < 126:
        header = bytes((0x81, size))
    elif size < 1 << 16:
        header = bytes((0x81, 126)) + size.to_bytes(2, "big")
    else:
        header = bytes((0x81, 127)) + size.to_bytes(8, "big")
    return header + payload


class Connection:
    """One socket's outgoing side: a bounded queue drained by its own writer task."""

    def __init__(
        self,
        send: Callable,
        close: Callable,
        *,
        stream: str,
        coalesce: bool,
        key: str = "",
        language: str = "",
        write_frame: Callable[[bytes], bool] | None = None,
    ):
        self._send = send
        self._close = close
        # The server's frame writer (True: written), if it offers one.
        self._write_frame = write_frame
        self._sending = False
        self.stream = stream
        self.key = key  # the incident a page socket watches, "" otherwise
        self.language = language  # the language a page socket is sent its regions in
        self.coalesce = coalesce
        self.queue: deque[tuple[int, str]] = deque()
        self.wakeup = asyncio.Event()
        self.closed = False
        self.paused = False
        self.after_seq = 0  # drop queued event messages at or below this (already replayed)
        self.last_heard = time.monotonic()
        self.writer = asyncio.get_running_loop().create_task(self._write_loop())

    def offer(self, text: str, seq: int = 0, frame: bytes | None = None) -> None:
        """Send `text` (its `frame`, when the caller framed it once for many sockets)."""
        if self.closed:
            return
        if (
            frame is not None
            and self._write_frame is not None
            and not self.paused
            and not self.queue
            and not self._sending
            and not (seq and seq <= self.after_seq)
            and self._write_frame(frame)
        ):
            return
        if self.coalesce:
            self.queue.clear()
        elif len(self.queue) >= QUEUE_LIMIT:
            logger.info("closing a %s socket that fell %d messages behind", self.stream, QUEUE_LIMIT)
            self.close(CloseCode.FELL_BEHIND)
            return
        self.queue.append((seq, text))
        if not self.paused:
            self.wakeup.set()

    def pause(self) -> None:
        """Hold what arrives (and drop what is queued) until `resume`: an OKX client that
        unsubscribed, or a stream still replaying."""
        self.paused = True
        self.queue.clear()

    def resume(self, after_seq: int = 0) -> None:
        self.after_seq = after_seq
        self.paused = False
        self.wakeup.set()

    def touch(self) -> None:
        """The client said something: it is not idle."""
        self.last_heard = time.monotonic()

    def close(self, code: CloseCode) -> None:
        """Close the socket from the server's side, once."""
        if self.closed:
            return
        self.closed = True
        self.queue.clear()
        asyncio.get_running_loop().create_task(self._close(code=int(code)))

    async def _write_loop(self) -> None:
        try:
            while not self.closed:
                await self.wakeup.wait()
                self.wakeup.clear()
                while self.queue and not self.paused:
                    seq, text = self.queue.popleft()
                    if seq and seq <= self.after_seq:
                        continue
                    self._sending = True  # nothing overtakes it on the fast path
                    try:
                        await self._send(text_data=text)
                    finally:
                        self._sending = False
        except asyncio.CancelledError:
            pass
        except Exception:
            logger.info("a %s socket failed while sending; dropping it", self.stream, exc_info=True)
            self.closed = True

    def stop(self) -> None:
        self.closed = True
        self.writer.cancel()
