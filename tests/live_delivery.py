"""Real parts for the notification tests.

* `Receiver`: a webhook endpoint on loopback (http.server in a thread) that verifies every
  delivery with the `standardwebhooks` package and answers as a test tells it to.
* `celery_worker`: a Celery worker in this process (threads pool) on the broker that
  CELERY_BROKER_URL configures: the file-system broker, or RabbitMQ in CI's second run.
* `broker_down()`: takes the broker away and brings it back.
* `wait_for()`: polls until a condition holds.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import shutil
import socket
import subprocess
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit

import pytest
from celery.contrib.testing.worker import start_worker
from django.conf import settings
from standardwebhooks import Webhook, WebhookVerificationError

from statuspage.celery import app


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: bytes
    status: int
    payload: dict | None = None
    verification_error: str = ""
    at: float = field(default_factory=time.monotonic)

    @property
    def webhook_id(self) -> str:
        return self.headers.get("webhook-id", "")


class Receiver:
    """A webhook endpoint. `secrets[path]` verifies; `plan[path]` lists the answers to give
    in turn (an int status, or a (status, headers, body, delay) tuple), then 204s."""

    def __init__(self):
        self.secrets: dict[str, str] = {}
        self.plan: dict[str, list] = {}
        self.received: list[Received] = []
        self._lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                headers = {k.lower(): v for k, v in self.headers.items()}
                status, extra, answer, delay = receiver._next_answer(self.path)
                record = Received(self.path, headers, body, status)
                secret = receiver.secrets.get(self.path)
                try:
                    if secret is None:
                        raise WebhookVerificationError("no secret for this path")
                    record.payload = Webhook(secret).verify(body, headers)
                except WebhookVerificationError as exc:
                    record.verification_error = str(exc)
                with receiver._lock:
                    receiver.received.append(record)
                if delay:
                    time.sleep(delay)
                with contextlib.suppress(OSError):
                    self.send_response(status)
                    for name, value in extra.items():
                        self.send_header(name, value)
                    self.send_header("Content-Length", str(len(answer)))
                    self.end_headers()
                    self.wfile.write(answer)

            do_GET = do_POST

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def _next_answer(self, path: str):
        with self._lock:
            steps = self.plan.get(path) or []
            step = steps.pop(0) if steps else 204
        if isinstance(step, int):
            return step, {}, b"", 0
        status, extra, answer, delay = step
        return status, extra, answer, delay

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}{path}"

    def at(self, path: str) -> list[Received]:
        with self._lock:
            return [r for r in self.received if r.path == path]

    def events(self, path: str) -> Counter:
        """How many verified deliveries of each kind (`meta.event`) reached `path`."""
        return Counter(r.payload["meta"]["event"] for r in self.at(path) if r.payload)

    def close(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver(settings):
    settings.WEBHOOK_ALLOW_LOOPBACK = True
    server = Receiver()
    yield server
    server.close()


@pytest.fixture(scope="module")
def celery_worker(django_db_setup):
    """A real worker in this process, consuming this process's queue on the configured broker.

    Threads, so that one slow delivery does not hold up the others.
    """
    with start_worker(app, pool="threads", concurrency=4, perform_ping_check=False, shutdown_timeout=60) as worker:
        yield worker


@contextlib.contextmanager
def exclusive_broker(exclusive: bool):
    """Tests that stop the broker run alone; the others may share it (a lock across processes)."""
    path = settings.VAR_DIR / "test-broker.lock"
    with open(path, "a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX if exclusive else fcntl.LOCK_SH)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


@pytest.fixture
def shared_broker():
    with exclusive_broker(False):
        yield


def _use_broker(url: str, transport: str | None = None) -> None:
    app.conf.broker_url = url
    app.conf.broker_transport = transport  # the embedded broker names its own (statuspage/broker.py)
    # The pools keep the URL they were made with: let them be made again.
    app._pool = None
    app.amqp._producer_pool = None


def _port_open(host: str, port: int) -> bool:
    with contextlib.suppress(OSError), socket.create_connection((host, port), timeout=1):
        return True
    return False


@contextlib.contextmanager
def broker_down():
    """Take the broker away, honestly. A RabbitMQ on this machine that the run was given
    (CELERY_BROKER_URL: CI's second run) is stopped (`rabbitmqctl stop_app`) and started
    again however the block ends, so the worker loses it too; for the embedded file-system
    broker, senders are pointed at a loopback port where nothing listens. Yields how."""
    url, transport = app.conf.broker_url, app.conf.broker_transport
    parts = urlsplit(url)
    if parts.scheme == "amqp" and parts.hostname in ("127.0.0.1", "localhost") and shutil.which("rabbitmqctl"):
        subprocess.run(["rabbitmqctl", "stop_app"], check=True, capture_output=True, timeout=120)
        try:
            yield "rabbitmqctl stop_app"
        finally:
            subprocess.run(["rabbitmqctl", "start_app"], check=True, capture_output=True, timeout=120)
            assert wait_for(lambda: _port_open(parts.hostname, parts.port or 5672), timeout=60)
        return
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        closed_port = probe.getsockname()[1]
    _use_broker(f"amqp://guest:guest@127.0.0.1:{closed_port}//")
    try:
        yield f"senders pointed at closed port {closed_port}"
    finally:
        _use_broker(url, transport)


def wait_for(condition, *, timeout: float = 30, every: float = 0.05, sweep_every: float | None = None) -> bool:
    """Poll `condition` until it holds or `timeout` passes. With `sweep_every`, also send the
    sweep that beat sends in production (a message through the broker, run by the worker)."""
    from incidents import tasks
    from incidents.notify import queue

    deadline = time.monotonic() + timeout
    last_sweep = 0.0
    while True:
        if condition():
            return True
        if time.monotonic() > deadline:
            return False
        if sweep_every is not None and time.monotonic() - last_sweep >= sweep_every:
            last_sweep = time.monotonic()
            with contextlib.suppress(Exception):
                tasks.dispatch_notifications.apply_async(**queue.QUICK_PUBLISH)
        time.sleep(every)


def payload_kinds(records: list[Received]) -> list[str]:
    return [json.loads(r.body)["meta"]["event"] for r in records]
