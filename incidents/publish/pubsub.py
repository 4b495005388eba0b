"""How the server processes hear of a change made in another: one Redis pub/sub message.

The writer sends ONE message per change (`send`); each process's hub listens once
(`listen`). Neither waits long: a frozen Redis costs a writer at most
REDIS_SOCKET_TIMEOUT, once (`breaker`), and a
hub that hears nothing still finds every change by polling the sequence number.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import Callable
from urllib.parse import urlsplit

import redis
import redis.asyncio as aioredis
from django.conf import settings
from redis.backoff import NoBackoff
from redis.retry import Retry

from . import breaker

logger = logging.getLogger(__name__)


def url() -> str:
    """Where the hubs of every process hear of changes; empty: this process only."""
    return settings.LIVE_REDIS_URL or ""


def channel(redis_url: str) -> str:
    """Pub/sub ignores the database number; the channel carries it and the deployment's key
    prefix (CACHE_KEY_PREFIX), so deployments (and test processes) sharing one Redis, on
    one database or several, do not hear each other."""
    prefix = settings.CACHES["default"].get("KEY_PREFIX", "statuspage")
    return f"{prefix}:live:{urlsplit(redis_url).path.strip('/') or '0'}"


def _no_retry() -> Retry:
    return Retry(NoBackoff(), 0)


_publishers: dict[str, redis.Redis] = {}


def send(message: dict) -> None:
    """One Redis message for all the other processes; never raises, never waits longer
    than REDIS_SOCKET_TIMEOUT (the hubs poll besides)."""
    redis_url = url()
    if not redis_url:
        return
    client = _publishers.get(redis_url)
    if client is None:
        client = _publishers[redis_url] = redis.Redis.from_url(
            redis_url,
            socket_timeout=settings.REDIS_SOCKET_TIMEOUT,
            socket_connect_timeout=settings.REDIS_CONNECT_TIMEOUT,
            retry=_no_retry(),
        )
    try:
        breaker.call(client.publish, channel(redis_url), json.dumps(message))
    except Exception as exc:
        breaker.log_fallback(logger, "could not publish on Redis; the hubs will find the change by polling", exc)


async def listen(redis_url: str, heard: Callable[[], None], retry_after: float) -> None:
    """Subscribe once and call `heard()` for every message, for ever; after a failure wait
    `retry_after` and subscribe again (`heard()` is called on every (re)subscription too,
    for whatever was published meanwhile). Reads block with no timeout of their own, so a
    cancelled listener stops at once; clean-up is bounded."""
    while True:
        client = aioredis.Redis.from_url(
            redis_url, socket_connect_timeout=settings.REDIS_CONNECT_TIMEOUT, retry=_no_retry()
        )
        pubsub = client.pubsub(ignore_subscribe_messages=True)
        try:
            await pubsub.subscribe(channel(redis_url))
            heard()
            while True:
                if await pubsub.get_message(timeout=None) is not None:
                    heard()
        except asyncio.CancelledError:
            raise
        except Exception:
            logger.warning("Redis unavailable for live push; polling until it is back", exc_info=True)
            await asyncio.sleep(retry_after)
        finally:
            with contextlib.suppress(BaseException):
                async with asyncio.timeout(1.0):
                    await pubsub.aclose()
                    await client.aclose()
