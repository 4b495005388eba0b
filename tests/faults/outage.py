"""Parts of the outage-hour fault suite (test_outage_hour.py): read load through nginx, a
raw WebSocket client fast enough for tens of thousands of connects, the web processes'
memory, and the table of results the suite writes to bench/results/faults.md."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import os
import struct
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

import httpx

RESULTS = Path(__file__).resolve().parents[2] / "bench" / "results" / "faults.md"


def public_reads(base: str) -> list[str]:
    """Every kind of public read: the page, history, an incident, the feeds, the
    Statuspage v2 and OKX documents."""
    http = httpx.Client(base_url=base, timeout=10)
    incident = http.get("/api/v2/incidents.json").json()["incidents"][0]["id"]
    component = next(c["id"] for c in http.get("/api/v2/components.json").json()["components"] if not c["group"])
    return [
        "/",
        "/history",
        f"/incidents/{incident}",
        "/history.atom",
        "/history.rss",
        f"/components/{component}/history.atom",
        *(f"/api/v2/{suffix}" for suffix in ("summary.json", "status.json", "components.json", "incidents.json")),
        "/api/v2/incidents/unresolved.json",
        "/api/v2/scheduled-maintenances.json",
        "/api/v2/history.json",
        f"/api/v2/incidents/{incident}.json",
        f"/api/v2/components/{component}/uptime.json",
        "/api/v5/system/status",
        "/api/v5/system/status?state=completed",
    ]


def percentile(values: list[float], q: float) -> float:
    if not values:
        return 0.0
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * q))]


def p99(values: list[float]) -> float:
    return percentile(values, 0.99)


@dataclass
class Tally:
    codes: Counter = field(default_factory=Counter)
    errors: Counter = field(default_factory=Counter)  # transport errors by kind
    took: list[float] = field(default_factory=list)

    @property
    def total(self) -> int:
        return sum(self.codes.values()) + sum(self.errors.values())

    @property
    def server_errors(self) -> int:
        return sum(n for code, n in self.codes.items() if code >= 500)

    @property
    def failed(self) -> int:
        """Anything but a 200 (or 304): what a reader would call a failure."""
        return sum(n for code, n in self.codes.items() if code not in (200, 304)) + sum(self.errors.values())

    def summary(self) -> str:
        codes = ", ".join(f"{n} x {code}" for code, n in sorted(self.codes.items()))
        errors = "".join(f", {n} x {kind}" for kind, n in sorted(self.errors.items()))
        return f"{codes}{errors}; p50 {percentile(self.took, 0.5) * 1000:.0f} ms, p99 {p99(self.took) * 1000:.0f} ms, max {max(self.took, default=0) * 1000:.0f} ms"


class ReadLoad:
    """`threads` readers looping over `paths` through nginx until stopped, or until
    `limit` reads in all; a Tally of what they got."""

    def __init__(self, base: str, paths: list[str], threads: int = 6, limit: int | None = None, rate: float = 0):
        self.base, self.paths, self.limit = base, paths, limit
        # With `rate`, the readers together start at most this many reads a second.
        self.interval = threads / rate if rate else 0.0
        self.tally = Tally()
        self.lock = threading.Lock()
        self.running = True
        self.done = threading.Event()
        self.count = 0
        self.threads = [threading.Thread(target=self.read, args=(i,), daemon=True) for i in range(threads)]
        for thread in self.threads:
            thread.start()

    def read(self, index: int) -> None:
        http = httpx.Client(base_url=self.base, timeout=10, headers={"Accept-Encoding": "gzip, br"})
        n = index
        while self.running:
            with self.lock:
                if self.limit is not None and self.count >= self.limit:
                    self.done.set()
                    return
                self.count += 1
            path = self.paths[n % len(self.paths)]
            n += 1
            started = time.monotonic()
            if self.interval:
                time.sleep(self.interval)
                started = time.monotonic()
            try:
                code = http.get(path).status_code
            except httpx.TransportError as exc:
                with self.lock:
                    self.tally.errors[type(exc).__name__] += 1
                http = httpx.Client(base_url=self.base, timeout=10, headers={"Accept-Encoding": "gzip, br"})
                time.sleep(0.01)
                continue
            with self.lock:
                self.tally.codes[code] += 1
                self.tally.took.append(time.monotonic() - started)

    def stop(self) -> Tally:
        self.running = False
        for thread in self.threads:
            thread.join(timeout=20)
        return self.tally


def rss_kb(pids: list[int]) -> int:
    """VmRSS of these processes, summed (KB)."""
    total = 0
    for pid in pids:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                total += int(line.split()[1])
    return total


# --- a raw RFC 6455 client: a browser's handshake, offering permessage-deflate ------------


class Socket:
    """One WebSocket through `url`, opened with the headers Chromium sends (it offers
    permessage-deflate with client_max_window_bits)."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, extensions: str):
        self.reader, self.writer, self.extensions = reader, writer, extensions

    @classmethod
    async def open(cls, url: str, *, deflate: bool = True, origin: str | None = None, timeout: float = 10):
        parts = urlsplit(url)
        reader, writer = await asyncio.wait_for(asyncio.open_connection(parts.hostname, parts.port), timeout)
        key = base64.b64encode(os.urandom(16)).decode()
        target = parts.path + (f"?{parts.query}" if parts.query else "")
        lines = [
            f"GET {target} HTTP/1.1",
            f"Host: {parts.hostname}:{parts.port}",
            "Upgrade: websocket",
            "Connection: Upgrade",
            f"Sec-WebSocket-Key: {key}",
            "Sec-WebSocket-Version: 13",
        ]
        if deflate:
            lines.append("Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits")
        if origin:
            lines.append(f"Origin: {origin}")
        writer.write(("\r\n".join(lines) + "\r\n\r\n").encode())
        try:
            head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), timeout)
        except BaseException:
            writer.close()
            raise
        status = head.split(b"\r\n", 1)[0]
        if b" 101 " not in status:
            writer.close()
            raise ConnectionError(status.decode(errors="replace"))
        extensions = ""
        for line in head.decode(errors="replace").split("\r\n")[1:]:
            name, _, value = line.partition(":")
            if name.strip().lower() == "sec-websocket-extensions":
                extensions = value.strip()
        return cls(reader, writer, extensions)

    async def frame(self, timeout: float = 10) -> tuple[int, bytes]:
        """The next frame from the server: (opcode, payload)."""
        first, second = await asyncio.wait_for(self.reader.readexactly(2), timeout)
        length = second & 0x7F
        if length == 126:
            (length,) = struct.unpack("!H", await self.reader.readexactly(2))
        elif length == 127:
            (length,) = struct.unpack("!Q", await self.reader.readexactly(8))
        return first & 0x0F, await asyncio.wait_for(self.reader.readexactly(length), timeout)

    def send_close(self) -> None:
        mask = os.urandom(4)
        payload = struct.pack("!H", 1000)
        masked = bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
        self.writer.write(bytes([0x88, 0x80 | len(payload)]) + mask + masked)

    async def close(self) -> None:
        try:
            self.send_close()
            await asyncio.wait_for(self.writer.drain(), 5)
        except (OSError, TimeoutError):
            pass
        self.writer.close()
        with contextlib.suppress(OSError, TimeoutError):
            await asyncio.wait_for(self.writer.wait_closed(), 5)


async def connect_close_cycles(url: str, count: int, concurrency: int = 100) -> Counter:
    """`count` sockets opened (offering deflate), their first frame read, and closed;
    outcomes by kind ("ok", or the error's name)."""
    outcomes: Counter = Counter()
    gate = asyncio.Semaphore(concurrency)

    async def one() -> None:
        async with gate:
            try:
                socket = await Socket.open(url)
                try:
                    opcode, _ = await socket.frame()
                    outcomes["ok" if opcode == 1 and not socket.extensions else f"opcode {opcode}"] += 1
                finally:
                    await socket.close()
            except (OSError, TimeoutError, asyncio.IncompleteReadError, ConnectionError) as exc:
                outcomes[type(exc).__name__] += 1

    await asyncio.gather(*(one() for _ in range(count)))
    return outcomes


# --- the table --------------------------------------------------------------------------


@dataclass
class Row:
    fault: str
    before: str  # what issue #11 measured on the old code
    now: str = ""
    verdict: str = "not run"


class Table:
    def __init__(self):
        self.rows: list[Row] = []

    def row(self, fault: str, before: str) -> Row:
        row = Row(fault, before)
        self.rows.append(row)
        return row

    def markdown(self, header: str) -> str:
        lines = [
            header,
            "",
            "| fault | before (issue #11) | now | |",
            "|---|---|---|---|",
        ]
        for row in self.rows:
            lines.append(f"| {row.fault} | {row.before} | {row.now} | {row.verdict} |")
        return "\n".join(lines) + "\n"
