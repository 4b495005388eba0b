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

import threading
import time

import redis
from django.conf import settings

FAILURES = (redis.ConnectionError, redis.TimeoutError)

_open_until = 0.0
_probing = False  # one call is asking Redis whether it is back; the others do not wait
_lock = threading.Lock()


class Open(redis.ConnectionError):
    """Raised instead of calling Redis while the breaker is open."""


def trip() -> None:
    global _open_until, _probing
    with _lock:
        _open_until = time.monotonic() + settings.REDIS_BREAKER_SECONDS
        _probing = False


def close() -> None:
    global _open_until, _probing
    with _lock:
        _open_until = 0.0
        _probing = False


def _enter() -> bool:
    """May this call ask Redis? True while the breaker is closed; once it has been open,
    only the first call after REDIS_BREAKER_SECONDS asks (the probe), and the others fail
    at once until the probe has answered. Returns whether this call is the probe."""
    global _probing
    with _lock:
        if _open_until == 0.0:
            return False
        if time.monotonic() < _open_until or _probing:
            raise Open("Redis did not answer a moment ago; not asking again yet")
        _probing = True
        return True


def call(function, *args, **kwargs):
    """`function(*args, **kwargs)` unless the breaker is open; a timeout or a refused
    connection opens it. After it has been open, one call at a time finds out whether
    Redis is back: with Redis still frozen, one caller in each REDIS_BREAKER_SECONDS waits
    for a timeout, not every caller that arrives meanwhile."""
    probe = _enter()
    try:
        result = function(*args, **kwargs)
    except Open:
        raise
    except FAILURES:
        trip()
        raise
    except BaseException:
        if probe:
            close()  # Redis answered (the call failed for a reason of its own)
        raise
    if probe:
        close()
    return result
