"""uvicorn's WebSocket protocol (the `websockets` implementation) with one addition: the
ASGI scope's extension `statuspage.frames` lets the application write a whole frame that
it built once for many sockets (incidents/publish/connection.py, `text_frame`).

A broadcast to 10,000 sockets otherwise costs, per socket, a task wake-up, a Channels
send, uvicorn's `asgi_send` and websockets' framing: 15-24 us each, all Python on one
core (bench/results/analysis.md). Here it is one `transport.write` per socket.

A frame is written only to a socket that is open and has no backlog in its transport
(below BACKLOG_BYTES); otherwise `write` answers False and the message goes through the
socket's queue and the ordinary ASGI send, which waits for the client (drain) and closes
a socket that falls too far behind.

deploy/web runs uvicorn with `--ws statuspage.wsprotocol:FramedWebSocketProtocol`.
"""

from __future__ import annotations

from uvicorn.protocols.websockets.websockets_impl import WebSocketProtocol
from websockets.protocol import State

from incidents.publish.connection import FRAMES_EXTENSION

BACKLOG_BYTES = 64 * 1024


class FramedWebSocketProtocol(WebSocketProtocol):
    async def run_asgi(self) -> None:
        self.scope["extensions"][FRAMES_EXTENSION] = {"write": self.write_whole_frame}
        await super().run_asgi()

    def write_whole_frame(self, frame: bytes) -> bool:
        """Write `frame` now if the socket is open and keeps up; False otherwise."""
        transport = self.transport
        if self.state is not State.OPEN or transport.is_closing():
            return False
        if transport.get_write_buffer_size() > BACKLOG_BYTES:
            return False
        transport.write(frame)
        return True
