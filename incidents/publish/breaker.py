"""One process's view of whether Redis answers, so that a frozen Redis costs one timeout
now and then instead of one per call.

Every Redis call here is bounded (0.5 s), but a write makes several (the rate-limit
counter, the snapshot, the pub/sub message), so with Redis frozen (SIGSTOP: connections
accepted, nothing answered) each operator write took 2.3-2.5 s
(tests/faults/test_outage_hour.py). After a call times out or cannot connect, the breaker
stays open for REDIS_BREAKER_SECONDS: calls fail at once, and every caller already treats
a failure as "no Redis" (a cache miss, a write counted in-process, a change the other hubs
find by polling). Then one call tries again.
"""

from __future__ import annotations

import time

import redis
from django.conf import settings

FAILURES = (redis.ConnectionError, redis.TimeoutError)

_open_until = 0.0


class Open(redis.ConnectionError):
    """Raised instead of calling Redis while the breaker is open."""


def check() -> None:
    if time.monotonic() < _open_until:
        raise Open("Redis did not answer a moment ago; not asking again yet")


def trip() -> None:
    global _open_until
    _open_until = time.monotonic() + settings.REDIS_BREAKER_SECONDS


def close() -> None:
    global _open_until
    _open_until = 0.0


def call(function, *args, **kwargs):
    """`function(*args, **kwargs)` unless the breaker is open; a timeout or a refused
    connection opens it."""
    check()
    try:
        return function(*args, **kwargs)
    except Open:
        raise
    except FAILURES:
        trip()
        raise
