"""Real parts for the notification tests.

* `Receiver`: a webhook endpoint on loopback (http.server in a thread) that verifies every
  delivery with the `standardwebhooks` package and answers as a test tells it to.
* `celery_worker`: a Celery worker in this process (threads pool) on the broker that
  CELERY_BROKER_URL configures: the file-system broker, or RabbitMQ in CI's second run.
* `use_broker()`: points this process's senders at another broker.
* `wait_for()`: polls until a condition holds.
"""

from __future__ import annotations

import contextlib
import json
import os
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from celery.contrib.testing.worker import start_worker
from django.core import mail
from standardwebhooks import Webhook, WebhookVerificationError

from incidents import services
from incidents.models import Delivery, Notification, Subscriber
from incidents.services import Actor
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
def use_broker(url: str):
    """This process's senders and workers on the broker at `url` for the block."""
    saved = app.conf.broker_url, app.conf.broker_transport, os.environ.get("CELERY_BROKER_URL")

    def point(url: str, transport: str | None, variable: str | None) -> None:
        # Celery reads CELERY_BROKER_URL before its own setting (CI's second run sets it).
        if variable is None:
            os.environ.pop("CELERY_BROKER_URL", None)
        else:
            os.environ["CELERY_BROKER_URL"] = variable
        app.conf.broker_url = url
        app.conf.broker_transport = transport  # the embedded broker names its own (statuspage/broker.py)
        # The pools keep the URL they were made with: let them be made again.
        app._pool = None
        app.amqp._producer_pool = None

    point(url, None, url)
    try:
        yield
    finally:
        point(*saved)


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


SYSTEM = Actor.system()


def subscribe(receiver, path, **kwargs) -> Subscriber:
    subscriber = services.subscriber_create(actor=SYSTEM, endpoint=receiver.url(path), **kwargs)
    receiver.secrets[path] = subscriber.webhook_secret
    return subscriber


def all_settled() -> bool:
    """Every notification fanned out and every delivery finished."""
    return (
        not Notification.objects.filter(fanned_out_at__isnull=True).exists()
        and not Delivery.objects.filter(state=Delivery.State.PENDING).exists()
    )


def mails_to(address: str) -> list:
    return [m for m in mail.outbox if address in m.to]
