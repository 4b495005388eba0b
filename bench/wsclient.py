# ruff: noqa: E402  (imports after the sys.path guard below)
"""Load generator for bench/broadcast.py: one process holding many WebSocket subscribers.

The parent starts a few of these (pinned with taskset) and drives them with one JSON
command per line on stdin; each answers with one JSON line on stdout:

    {"cmd": "connect", "host": ..., "port": ..., "path": ..., "count": N, "concurrency": C, "timeout": s}
    {"cmd": "count"}     -> deliveries received so far
    {"cmd": "cpu"}       -> this process's CPU seconds (user + system)
    {"cmd": "results"}   -> receive times per seq, duplicates, closes
    {"cmd": "quit"}      -> close every socket and exit

Two client implementations, chosen with --impl:

* ``raw`` (default): a minimal RFC 6455 client on a bare asyncio Protocol: real handshake
  (Sec-WebSocket-Key checked against Sec-WebSocket-Accept), unmasked server frames parsed
  in place, pings answered with masked pongs, close frames answered. It does only what a
  subscriber needs, so the load generator costs a few microseconds per message and is not
  what the benchmark measures.
* ``websockets``: the `websockets` package's asyncio client, one recv loop per socket; the
  usual way to write a client, several times more CPU per message.

With `"deflate": true` in the connect command the raw subscribers offer compression as a
browser does (`Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits`); the
answers that accept it and the compressed frames (RSV1) received are counted (the raw
client does not inflate: the server is expected to refuse), and so are the deliveries to
those subscribers. `"ports": [...]` spreads the subscribers evenly over several servers.

Every message that carries a `seq` is a delivery; `{"type": "hello", "seq": n}` is not.
Times are `time.monotonic()` (CLOCK_MONOTONIC, the same clock in every process).
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
import base64
import contextlib
import hashlib
import json
import resource
import time

GUID = b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11"


def raise_fd_limit(wanted: int = 1 << 20) -> int:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    for target in (max(wanted, hard), hard):
        with contextlib.suppress(ValueError, OSError):
            resource.setrlimit(resource.RLIMIT_NOFILE, (target, target))
            return target
    return soft


def cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


class Recorder:
    """Receive times per seq, shared by every socket of this process."""

    def __init__(self) -> None:
        self.times: dict[int, list[float]] = {}
        self.deliveries = 0
        self.duplicates = 0
        self.closes: dict[str, int] = {}
        self.hello_seqs: set[int] = set()
        self.sizes: dict[int, int] = {}
        self.open = 0
        self.deflate_offered = 0  # subscribers whose handshake offered permessage-deflate
        self.deflate_accepted = 0  # ... and whose server answered with an extension
        self.deflate_deliveries = 0  # deliveries to those subscribers
        self.compressed_frames = 0  # frames with RSV1 set (compressed), on any subscriber

    def delivered(self, seen: set[int], seq: int, now: float, size: int, deflate: bool = False) -> None:
        if seq in seen:
            self.duplicates += 1
            return
        seen.add(seq)
        self.deliveries += 1
        if deflate:
            self.deflate_deliveries += 1
        times = self.times.get(seq)
        if times is None:
            self.times[seq] = [now]
            self.sizes[seq] = size
        else:
            times.append(now)

    def closed(self, why: str) -> None:
        self.open -= 1
        self.closes[why] = self.closes.get(why, 0) + 1


def seq_of(payload: bytes) -> tuple[int | None, bool]:
    """(seq, is_delivery) of a text message; fast path for messages that start with it."""
    if payload.startswith(b'{"seq":'):
        end = payload.find(b",", 7)
        if end > 7:
            with contextlib.suppress(ValueError):
                return int(payload[7:end]), True
    try:
        message = json.loads(payload)
    except ValueError:
        return None, False
    if not isinstance(message, dict) or not isinstance(message.get("seq"), int):
        return None, False
    return message["seq"], message.get("type") != "hello"


def mask_frame(opcode: int, payload: bytes) -> bytes:
    """A client frame (clients must mask); only for short control frames here."""
    key = os.urandom(4)
    masked = bytes(b ^ key[i % 4] for i, b in enumerate(payload))
    return bytes([0x80 | opcode, 0x80 | len(payload)]) + key + masked


class RawSubscriber(asyncio.Protocol):
    def __init__(self, recorder: Recorder, host: str, port: int, path: str, deflate: bool = False) -> None:
        self.recorder = recorder
        self.key = base64.b64encode(os.urandom(16))
        self.deflate = deflate
        # What Chromium and Firefox send: compression offered, any window size accepted.
        offer = "Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits\r\n" if deflate else ""
        self.request = (
            f"GET {path} HTTP/1.1\r\nHost: {host}:{port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
            f"Sec-WebSocket-Key: {self.key.decode()}\r\nSec-WebSocket-Version: 13\r\n{offer}\r\n"
        ).encode()
        self.opened: asyncio.Future = asyncio.get_running_loop().create_future()
        self.buffer = bytearray()
        self.fragments: list[bytes] = []
        self.handshaken = False
        self.seen: set[int] = set()
        self.transport: asyncio.Transport | None = None
        self.close_code: int | None = None
        self.payloads: dict[int, bytes] | None = None  # set to a dict to keep each delivery's bytes (the probe)

    def connection_made(self, transport) -> None:
        self.transport = transport
        transport.write(self.request)

    def connection_lost(self, exc) -> None:
        if not self.opened.done():
            self.opened.set_exception(exc or ConnectionError("closed during the handshake"))
        elif self.handshaken:
            self.recorder.closed(f"close {self.close_code}" if self.close_code is not None else "dropped")
        self.handshaken = False

    def fail_handshake(self, why: str) -> None:
        if not self.opened.done():
            self.opened.set_exception(ConnectionError(why))
        self.transport.close()

    def data_received(self, data: bytes) -> None:
        now = time.monotonic()
        if not self.handshaken:
            self.buffer += data
            end = self.buffer.find(b"\r\n\r\n")
            if end < 0:
                if len(self.buffer) > 16384:
                    self.fail_handshake("handshake response too long")
                return
            head = bytes(self.buffer[:end]).decode("latin-1").split("\r\n")
            del self.buffer[: end + 4]
            if not head[0].startswith("HTTP/1.1 101"):
                self.fail_handshake(head[0][:60])
                return
            headers = {k.strip().lower(): v.strip() for k, _, v in (line.partition(":") for line in head[1:])}
            expected = base64.b64encode(hashlib.sha1(self.key + GUID, usedforsecurity=False).digest()).decode()
            if headers.get("sec-websocket-accept") != expected:
                self.fail_handshake("bad Sec-WebSocket-Accept")
                return
            self.handshaken = True
            self.recorder.open += 1
            if self.deflate:
                self.recorder.deflate_offered += 1
                if headers.get("sec-websocket-extensions"):
                    self.recorder.deflate_accepted += 1
            self.opened.set_result(now)
            if not self.buffer:
                return
            data = bytes(self.buffer)
            self.buffer.clear()
        elif self.buffer:
            self.buffer += data
            data = bytes(self.buffer)
            self.buffer.clear()
        self.parse(data, now)

    def parse(self, data: bytes, now: float) -> None:
        pos, size = 0, len(data)
        while size - pos >= 2:
            b0, b1 = data[pos], data[pos + 1]
            length, head = b1 & 0x7F, 2
            if length == 126:
                if size - pos < 4:
                    break
                length, head = int.from_bytes(data[pos + 2 : pos + 4], "big"), 4
            elif length == 127:
                if size - pos < 10:
                    break
                length, head = int.from_bytes(data[pos + 2 : pos + 10], "big"), 10
            if b1 & 0x80:  # servers never mask
                self.transport.close()
                return
            if size - pos < head + length:
                break
            payload = data[pos + head : pos + head + length]
            pos += head + length
            if b0 & 0x40:  # RSV1: a compressed message (permessage-deflate)
                self.recorder.compressed_frames += 1
            self.frame(b0 & 0x0F, bool(b0 & 0x80), payload, now)
        if pos < size:
            self.buffer += data[pos:]

    def frame(self, opcode: int, fin: bool, payload: bytes, now: float) -> None:
        if opcode in (0x1, 0x2, 0x0):
            if not fin or self.fragments:
                self.fragments.append(payload)
                if not fin:
                    return
                payload = b"".join(self.fragments)
                self.fragments = []
            seq, delivery = seq_of(payload)
            if seq is None:
                return
            if delivery:
                if self.payloads is not None:
                    self.payloads[seq] = payload
                self.recorder.delivered(self.seen, seq, now, len(payload), self.deflate)
            else:
                self.recorder.hello_seqs.add(seq)
        elif opcode == 0x9:  # ping
            self.transport.write(mask_frame(0xA, payload[:125]))
        elif opcode == 0x8:  # close
            self.close_code = int.from_bytes(payload[:2], "big") if len(payload) >= 2 else 1005
            with contextlib.suppress(Exception):
                self.transport.write(mask_frame(0x8, payload[:2]))
            self.transport.close()

    def close(self) -> None:
        if self.transport is not None and not self.transport.is_closing():
            with contextlib.suppress(Exception):
                self.transport.write(mask_frame(0x8, (1000).to_bytes(2, "big")))
            self.transport.close()


class WebsocketsSubscriber:
    """The same subscriber written the usual way, with the `websockets` package."""

    def __init__(self, recorder: Recorder, host: str, port: int, path: str) -> None:
        self.recorder = recorder
        self.uri = f"ws://{host}:{port}{path}"
        self.seen: set[int] = set()
        self.connection = None
        self.task: asyncio.Task | None = None

    async def open(self, timeout: float) -> float:
        from websockets.asyncio.client import connect

        self.connection = await connect(
            self.uri, compression=None, open_timeout=timeout, ping_interval=None, max_queue=None
        )
        self.recorder.open += 1
        self.task = asyncio.get_running_loop().create_task(self.read())
        return time.monotonic()

    async def read(self) -> None:
        why = "dropped"
        try:
            async for message in self.connection:
                now = time.monotonic()
                payload = message.encode() if isinstance(message, str) else message
                seq, delivery = seq_of(payload)
                if seq is None:
                    continue
                if delivery:
                    self.recorder.delivered(self.seen, seq, now, len(payload))
                else:
                    self.recorder.hello_seqs.add(seq)
            why = f"close {self.connection.close_code}"
        except Exception as exc:
            why = type(exc).__name__
        finally:
            self.recorder.closed(why)

    def close(self) -> None:
        if self.task is not None:
            self.task.cancel()
        if self.connection is not None:
            with contextlib.suppress(Exception):
                self.connection.transport.abort()


class Worker:
    def __init__(self, impl: str) -> None:
        self.impl = impl
        self.recorder = Recorder()
        self.subscribers: list = []

    async def connect_one(self, host: str, port: int, path: str, timeout: float, deflate: bool = False) -> None:
        if self.impl == "websockets":
            if deflate:
                raise ValueError("--deflate-share needs the raw client")
            subscriber = WebsocketsSubscriber(self.recorder, host, port, path)
            await subscriber.open(timeout)
        else:
            loop = asyncio.get_running_loop()
            subscriber = None

            def factory():
                nonlocal subscriber
                subscriber = RawSubscriber(self.recorder, host, port, path, deflate)
                return subscriber

            try:
                async with asyncio.timeout(timeout):
                    await loop.create_connection(factory, host, port)
                    await subscriber.opened
            except BaseException:
                if subscriber is not None and subscriber.transport is not None:
                    subscriber.transport.abort()
                raise
        self.subscribers.append(subscriber)

    async def connect(
        self, host, port, path, count, concurrency, timeout, attempts=3, ports=None, deflate=False
    ) -> dict:
        """`count` subscribers, spread evenly over `ports` (default: `port` alone)."""
        ports = ports or [port]
        gate = asyncio.Semaphore(max(1, concurrency))
        errors: dict[str, int] = {}
        started = time.monotonic()
        deadline = started + max(timeout * attempts, 60.0 + count / 50)

        async def one(i: int) -> bool:
            target = ports[i % len(ports)]
            for _ in range(attempts):
                if time.monotonic() > deadline:
                    errors["deadline"] = errors.get("deadline", 0) + 1
                    return False
                async with gate:
                    try:
                        await self.connect_one(host, target, path, timeout, deflate)
                        return True
                    except Exception as exc:
                        name = type(exc).__name__ + (f": {exc}" if isinstance(exc, ConnectionError) else "")
                        errors[name[:80]] = errors.get(name[:80], 0) + 1
                await asyncio.sleep(0.2)
            return False

        results = await asyncio.gather(*(one(i) for i in range(count)))
        return {
            "connected": sum(results),
            "failed": len(results) - sum(results),
            "errors": errors,
            "seconds": time.monotonic() - started,
            "hello_seqs": sorted(self.recorder.hello_seqs),
        }

    def results(self) -> dict:
        r = self.recorder
        return {
            "times": {str(seq): [round(t, 6) for t in times] for seq, times in r.times.items()},
            "sizes": {str(seq): size for seq, size in r.sizes.items()},
            "duplicates": r.duplicates,
            "closes": r.closes,
            "open": r.open,
            "subscribers": len(self.subscribers),
            "deflate_offered": r.deflate_offered,
            "deflate_accepted": r.deflate_accepted,
            "deflate_deliveries": r.deflate_deliveries,
            "compressed_frames": r.compressed_frames,
        }

    def close_all(self) -> None:
        for subscriber in self.subscribers:
            subscriber.close()


async def main(impl: str) -> None:
    raise_fd_limit()
    worker = Worker(impl)
    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader(limit=1 << 20)
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)

    def reply(message: dict) -> None:
        sys.stdout.write(json.dumps(message, separators=(",", ":")) + "\n")
        sys.stdout.flush()

    for _ in range(10_000):  # bounded: a run sends a handful of commands
        line = await reader.readline()
        if not line:
            break
        command = json.loads(line)
        cmd = command.pop("cmd")
        if cmd == "connect":
            reply(await worker.connect(**command))
        elif cmd == "count":
            reply({"deliveries": worker.recorder.deliveries, "open": worker.recorder.open})
        elif cmd == "cpu":
            reply({"cpu": cpu_seconds(), "t": time.monotonic()})
        elif cmd == "results":
            reply(worker.results())
        elif cmd == "quit":
            worker.close_all()
            await asyncio.sleep(0.2)
            reply({"bye": True})
            break
    worker.close_all()


def uvloop_or_none():
    try:
        import uvloop
    except ImportError:
        return None
    return uvloop


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--impl", choices=("raw", "websockets"), default="raw")
    parser.add_argument(
        "--loop", choices=("uvloop", "asyncio"), default="uvloop", help="uvloop when installed (default)"
    )
    options = parser.parse_args()
    uvloop = uvloop_or_none() if options.loop == "uvloop" else None
    (uvloop.run if uvloop else asyncio.run)(main(options.impl))
