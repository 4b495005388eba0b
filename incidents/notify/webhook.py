"""Outgoing webhooks: Standard Webhooks signatures, the SSRF guard, one bounded POST.

Webhook URLs are typed by strangers, so a URL is trusted only after its host has been
resolved once and every address it resolves to is globally routable; the request then
goes to that very address (Host header and TLS SNI still name the host), so DNS cannot
answer differently between the check and the connection. The check runs when the
subscription is made and again before every attempt.

Delivery rules: only 2xx is success, redirects are never followed, the connection and the
whole exchange have time limits, and at most `MAX_RESPONSE_BYTES` of the answer is read.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import hmac
import http.client
import ipaddress
import json
import secrets
import socket
import ssl
import threading
import time
from dataclasses import dataclass
from email.utils import parsedate_to_datetime
from urllib.parse import urlsplit

from django.conf import settings

from .. import languages
from ..models import Delivery, Notification
from ..wire.page import absolute
from ..wire.time import iso
from .links import unsubscribe_url
from .types import ERROR_CHARS, Outcome

USER_AGENT = "statuspage-webhooks/1.0 (+https://www.standardwebhooks.com)"
MAX_RESPONSE_BYTES = 64 * 1024
EXCERPT_CHARS = 1000

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

# Not covered (or not in every Python version) by `is_global`/`is_private`.
SHARED_ADDRESS_SPACE = ipaddress.ip_network("100.64.0.0/10")
NAT64_WELL_KNOWN = ipaddress.ip_network("64:ff9b::/96")
METADATA_ADDRESS = ipaddress.ip_address("169.254.169.254")


# --- signing (Standard Webhooks 1.0) ------------------------------------------------------


def new_secret() -> str:
    """`whsec_` and base64 of 32 random bytes: one per endpoint."""
    return "whsec_" + base64.b64encode(secrets.token_bytes(32)).decode()


def _secret_bytes(secret: str) -> bytes:
    return base64.b64decode(secret.removeprefix("whsec_"))


def signature(secret: str, msg_id: str, timestamp: int, body: bytes) -> str:
    """`v1,<base64 HMAC-SHA256 of "{id}.{timestamp}.{body}">`."""
    signed = f"{msg_id}.{timestamp}.".encode() + body
    digest = hmac.new(_secret_bytes(secret), signed, hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode()


def signed_headers(secret: str, msg_id: str, body: bytes, *, timestamp: int | None = None) -> dict[str, str]:
    """The request headers of one attempt: the id stays the same on every retry of a message,
    the timestamp is the attempt's (receivers refuse timestamps more than 5 minutes off)."""
    timestamp = int(time.time()) if timestamp is None else timestamp
    return {
        "Content-Type": "application/json",
        "User-Agent": USER_AGENT,
        "webhook-id": msg_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": signature(secret, msg_id, timestamp, body),
    }


# --- the SSRF guard ----------------------------------------------------------------------


class UnsafeDestination(ValueError):
    """A webhook URL we will not send to; the message says why, for the subscriber."""


def address_refusal(address: IPAddress, *, allow_loopback: bool = False) -> str | None:
    """Why a request must not go to `address`, or None when it may."""
    if isinstance(address, ipaddress.IPv6Address):
        # An IPv4 address inside an IPv6 one reaches that IPv4 address: judge that one.
        embedded = address.ipv4_mapped or address.sixtofour or (address.teredo[1] if address.teredo else None)
        if embedded is None and address in NAT64_WELL_KNOWN:
            embedded = ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
        if embedded is not None:
            reason = address_refusal(embedded, allow_loopback=allow_loopback)
            if reason:
                return f"it embeds {embedded}, {reason}"
    if address.is_loopback:
        return None if allow_loopback else "a loopback address"
    if address.is_unspecified:
        return "an unspecified address"
    if address == METADATA_ADDRESS:
        return "the cloud metadata address"
    if address.is_link_local:
        return "a link-local address"
    if address.is_multicast:
        return "a multicast address"
    if address.version == 4 and address in SHARED_ADDRESS_SPACE:
        return "a carrier-grade NAT address (100.64.0.0/10)"
    if address.is_private:
        return "a private address"
    if address.is_reserved:
        return "a reserved address"
    if not address.is_global:
        return "not a globally routable address"
    return None


@dataclass(frozen=True)
class Destination:
    """A checked webhook URL: where to connect, and what to call the host."""

    scheme: str
    host: str
    port: int
    target: str  # path and query
    address: str  # the checked IP address to connect to


def check_url(url: str) -> Destination:
    """Resolve the URL's host once and refuse it unless every address is global.

    Raises `UnsafeDestination`. Loopback passes only with `WEBHOOK_ALLOW_LOOPBACK`.
    """
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise UnsafeDestination(f"This is not a valid URL ({exc}).")
    if parts.scheme not in ("http", "https"):
        raise UnsafeDestination("Use an http:// or https:// URL.")
    if not parts.hostname:
        raise UnsafeDestination("The URL has no host.")
    if parts.username or parts.password:
        raise UnsafeDestination("Credentials in the URL are not supported; deliveries are signed instead.")
    port = port or (443 if parts.scheme == "https" else 80)
    try:
        infos = socket.getaddrinfo(parts.hostname, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as exc:
        raise UnsafeDestination(f"The host {parts.hostname} cannot be resolved ({exc}).")
    addresses: list[IPAddress] = []
    for info in infos:
        address = ipaddress.ip_address(info[4][0].split("%", 1)[0])
        if address not in addresses:
            addresses.append(address)
    if not addresses:
        raise UnsafeDestination(f"The host {parts.hostname} has no address.")
    allow_loopback = settings.WEBHOOK_ALLOW_LOOPBACK
    for address in addresses:
        reason = address_refusal(address, allow_loopback=allow_loopback)
        if reason:
            raise UnsafeDestination(f"The host {parts.hostname} resolves to {address}: {reason}.")
    target = parts.path or "/"
    if parts.query:
        target += "?" + parts.query
    return Destination(parts.scheme, parts.hostname, port, target, str(addresses[0]))


# --- one POST ----------------------------------------------------------------------------


class _PinnedHTTPConnection(http.client.HTTPConnection):
    """Connects to the checked address, whatever DNS says now."""

    def __init__(self, destination: Destination, timeout: float):
        super().__init__(destination.host, destination.port, timeout=timeout)
        self._address = destination.address

    def connect(self):
        self.sock = socket.create_connection((self._address, self.port), self.timeout)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)


class _PinnedHTTPSConnection(http.client.HTTPSConnection):
    """TLS to the checked address; the certificate is verified for the host name (SNI)."""

    def __init__(self, destination: Destination, timeout: float):
        super().__init__(destination.host, destination.port, timeout=timeout, context=ssl.create_default_context())
        self._address = destination.address

    def connect(self):
        sock = socket.create_connection((self._address, self.port), self.timeout)
        self.sock = self._context.wrap_socket(sock, server_hostname=self.host)


@dataclass(frozen=True)
class Response:
    status: int
    retry_after: float | None
    location: str
    excerpt: str


def parse_retry_after(value: str | None, *, now: float | None = None) -> float | None:
    """Seconds from a `Retry-After` header (delta-seconds or an HTTP date), or None."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        moment = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if moment is None or moment.tzinfo is None:
        return None
    return max(0.0, moment.timestamp() - (time.time() if now is None else now))


def post(destination: Destination, body: bytes, headers: dict[str, str]) -> Response:
    """POST `body` to the checked destination within the configured time limits.

    Raises OSError (including timeouts) or http.client.HTTPException on failure to talk.
    """
    connect_timeout = settings.WEBHOOK_CONNECT_TIMEOUT
    total = settings.WEBHOOK_TIMEOUT
    deadline = time.monotonic() + total
    connection_class = _PinnedHTTPSConnection if destination.scheme == "https" else _PinnedHTTPConnection
    connection = connection_class(destination, timeout=min(connect_timeout, total))

    def cut_off():
        # Per-read socket timeouts do not bound a receiver that trickles bytes; this does.
        sock = connection.sock
        if sock is not None:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)

    watchdog = threading.Timer(total, cut_off)
    watchdog.daemon = True
    watchdog.start()
    try:
        connection.connect()
        connection.sock.settimeout(max(0.1, deadline - time.monotonic()))
        connection.request("POST", destination.target, body=body, headers=headers)
        response = connection.getresponse()
        data = response.read(MAX_RESPONSE_BYTES)
        if time.monotonic() > deadline:
            raise TimeoutError(f"no complete answer within {total:g} s")
        return Response(
            status=response.status,
            retry_after=parse_retry_after(response.getheader("Retry-After")),
            location=response.getheader("Location") or "",
            excerpt=data[:EXCERPT_CHARS].decode("utf-8", "replace"),
        )
    except OSError as exc:
        if time.monotonic() >= deadline:
            raise TimeoutError(f"no complete answer within {total:g} s") from exc
        raise
    finally:
        watchdog.cancel()
        connection.close()


# --- one message --------------------------------------------------------------------------


def message_id(notification: Notification) -> str:
    """`webhook-id`: one per message, the same on every retry and redelivery."""
    return f"msg_{notification.public_id}"


def webhook_body(delivery: Delivery) -> bytes:
    """Statuspage's webhook shapes: `{meta, page, incident}` or `{meta, page, component,
    component_update}`, in the default language, and `translations`: the texts of that body
    in each other language (notify/texts.py). The same bytes on every attempt."""
    notification, subscriber = delivery.notification, delivery.subscriber
    body = {
        "meta": {
            "unsubscribe": unsubscribe_url(subscriber, languages.default()),
            "documentation": absolute("/api/docs/"),
            "generated_at": iso(notification.created_at),
            "event": notification.kind,
        },
        **notification.payload,
    }
    return json.dumps(body, separators=(",", ":"), ensure_ascii=False).encode()


def send(delivery: Delivery) -> Outcome:
    """One signed POST to the subscriber's endpoint, after the SSRF check."""
    subscriber = delivery.subscriber
    body = webhook_body(delivery)
    headers = signed_headers(subscriber.webhook_secret, message_id(delivery.notification), body)
    try:
        destination = check_url(subscriber.endpoint)
    except UnsafeDestination as exc:
        return Outcome(delivered=False, error=f"refused: {exc}")
    try:
        response = post(destination, body, headers)
    except (OSError, http.client.HTTPException) as exc:
        return Outcome(delivered=False, error=f"{type(exc).__name__}: {exc}"[:ERROR_CHARS], address=destination.address)
    status = response.status
    error = ""
    if 300 <= status < 400:
        error = f"redirect to {response.location or '?'} not followed"
    elif not 200 <= status < 300:
        error = f"HTTP {status}"
    return Outcome(
        delivered=200 <= status < 300,
        status_code=status,
        error=error,
        retry_after=response.retry_after if status in (429, 503) else None,
        gone=status == 410,
        address=destination.address,
        excerpt=response.excerpt,
    )
