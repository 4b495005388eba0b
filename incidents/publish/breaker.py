"""One process's view of whether Redis answers, so that a frozen Redis costs one timeout
when it freezes, not one per call, and never a request's time afterwards.

Every Redis call here is bounded (REDIS_SOCKET_TIMEOUT), but a write makes several (the rate-limit
counter, the snapshot, the pub/sub message), so with Redis frozen (SIGSTOP: connections
accepted, nothing answered) each operator write took 2.3-2.5 s
(tests/faults/test_outage_hour.py). After a call times out or cannot connect, the breaker
opens: calls fail at once, and every caller already treats a failure as "no Redis" (a
cache miss, a write counted in-process, a change the other hubs find by polling).

While it is open, a thread of its own asks every Redis this process uses for a
PING each REDIS_BREAKER_SECONDS, and closes the breaker once all of them answer. No
caller is ever the one that waits for a Redis still frozen: with one caller a probe, a
write met that timeout again every few seconds (a p99 of 2.2-3.8 s in that test).
"""

from __future__ import annotations

import logging
import re
import threading

import redis
from django.conf import settings
from redis.backoff import NoBackoff
from redis.retry import Retry

FAILURES = (redis.ConnectionError, redis.TimeoutError)

logger = logging.getLogger(__name__)

_open = False
_prober: threading.Thread | None = None
_lock = threading.Lock()
_wake = threading.Event()  # set by close(): a waiting prober stops at once


class Open(redis.ConnectionError):
    """Raised instead of calling Redis while the breaker is open."""


def trip() -> None:
    """Open the breaker, and start the probe unless it runs."""
    global _open, _prober
    with _lock:
        if not _open:
            logger.warning("Redis did not answer: calls fail at once until it does")
        _open = True
        _wake.clear()
        if _prober is None:
            _prober = threading.Thread(target=_probe, name="redis-breaker-probe", daemon=True)
            _prober.start()


def close() -> None:
    global _open
    with _lock:
        _open = False
        _wake.set()


def _probe() -> None:
    """While open: every REDIS_BREAKER_SECONDS, PING each Redis this process uses; once
    all answer, close."""
    global _prober
    while True:
        _wake.wait(settings.REDIS_BREAKER_SECONDS)
        with _lock:
            if not _open:
                _prober = None
                return
        if all(_answers(url) for url in _urls()):
            logger.warning("Redis answers again: the breaker is closed")
            close()


def _urls() -> set[str]:
    """The Redis servers this process calls through the breaker: the cache's, and the
    live push's."""
    urls = {settings.LIVE_REDIS_URL} if settings.LIVE_REDIS_URL else set()
    cache = settings.CACHES["default"]
    if cache["BACKEND"] == "statuspage.cache.BreakerRedisCache":
        location = cache["LOCATION"]
        urls |= set(re.split("[;,]", location) if isinstance(location, str) else location)
    return urls


def _answers(url: str) -> bool:
    client = redis.Redis.from_url(
        url,
        socket_timeout=settings.REDIS_SOCKET_TIMEOUT,
        socket_connect_timeout=settings.REDIS_CONNECT_TIMEOUT,
        retry=Retry(NoBackoff(), 0),
    )
    try:
        return bool(client.ping())
    except (redis.RedisError, OSError):
        return False
    finally:
        client.close()


def log_fallback(log: logging.Logger, message: str, exc: BaseException) -> None:
    """A caller falling back for want of Redis: a warning with the cause, unless the
    breaker is why (it said so once when it opened; a line per call, with a traceback,
    would flood the log and take CPU from the outage hour)."""
    if isinstance(exc, Open):
        log.debug(message)
    else:
        log.warning(message, exc_info=exc)


def call(function, *args, **kwargs):
    """`function(*args, **kwargs)` unless the breaker is open; a timeout or a refused
    connection opens it."""
    if _open:
        raise Open("Redis did not answer; the breaker's probe will say when it does")
    try:
        return function(*args, **kwargs)
    except FAILURES:
        trip()
        raise
