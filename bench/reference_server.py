# ruff: noqa: E402  (imports after the sys.path guard below)
"""The reference for bench/broadcast.py: the smallest broadcast server `websockets` allows.

* Any path but /control is a subscriber: it gets `{"type": "hello", "seq": n}` and then
  every broadcast, each `{"seq": n, "created_at": ..., ...}` padded to --payload-bytes (the
  size of the project's event message, so both servers write the same bytes).
* /control is the trigger: each text message sent there makes the server build one
  message, hand it to `websockets.broadcast` for every subscriber, and answer
  `{"seq": n}` once the frames have been handed to the sockets.

Run: python bench/reference_server.py --port 9000 [--payload-bytes 700]
"""

from __future__ import annotations

import os
import sys

# bench/ also holds scripts named like standard modules (bench/http.py): with bench/ first
# on sys.path they would shadow the standard library (http.client, used by websockets).
_HERE = os.path.dirname(os.path.realpath(__file__))
sys.path[:] = [p for p in sys.path if os.path.realpath(p or os.curdir) != _HERE] + [_HERE]

import argparse
import asyncio
import contextlib
import json
import logging
import resource
import signal
from datetime import UTC, datetime

from websockets.asyncio.server import ServerConnection, broadcast, serve


class Reference:
    def __init__(self, payload_bytes: int) -> None:
        self.payload_bytes = payload_bytes
        self.subscribers: set[ServerConnection] = set()
        self.seq = 0

    def message(self) -> str:
        created_at = datetime.now(UTC).isoformat(timespec="milliseconds")  # like the project's events
        head = {"seq": self.seq, "type": "component.status_changed", "created_at": created_at, "data": {"pad": ""}}
        pad = max(0, self.payload_bytes - len(json.dumps(head, separators=(",", ":"))))
        head["data"]["pad"] = "x" * pad
        return json.dumps(head, separators=(",", ":"))

    async def handler(self, connection: ServerConnection) -> None:
        if connection.request.path == "/control":
            async for _ in connection:
                self.seq += 1
                broadcast(self.subscribers, self.message())
                await connection.send(json.dumps({"seq": self.seq, "subscribers": len(self.subscribers)}))
            return
        self.subscribers.add(connection)
        try:
            await connection.send(json.dumps({"type": "hello", "seq": self.seq}))
            await connection.wait_closed()
        finally:
            self.subscribers.discard(connection)


async def main() -> None:
    parser = argparse.ArgumentParser(description="minimal websockets broadcast server")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--payload-bytes", type=int, default=700)
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    with contextlib.suppress(ValueError, OSError):
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    reference = Reference(args.payload_bytes)
    stop = asyncio.get_running_loop().create_future()
    for sig in (signal.SIGTERM, signal.SIGINT):
        asyncio.get_running_loop().add_signal_handler(sig, lambda: stop.done() or stop.set_result(None))
    # compression=None: the subscribers do not ask for it anyway; the defaults otherwise
    # (pings every 20 s, a 100-connection listen backlog), like a stock deployment.
    async with serve(reference.handler, args.host, args.port, compression=None, max_size=4096):
        print(f"listening on {args.host}:{args.port}", flush=True)
        await stop


if __name__ == "__main__":
    asyncio.run(main())
