"""A frozen Redis (SIGSTOP: connections accepted, nothing answered) costs a process one
timeout, then calls fail at once until REDIS_BREAKER_SECONDS have passed."""

import threading
import time

import pytest
import redis
from django.core.cache import caches

from incidents.publish import breaker, pubsub

from ..private_services import redis_server

pytestmark = pytest.mark.live


@pytest.fixture
def frozen_redis(settings):
    with redis_server() as server:
        settings.CACHES = {
            "default": {
                "BACKEND": "statuspage.cache.BreakerRedisCache",
                "LOCATION": server.url,
                "OPTIONS": {"socket_timeout": 0.5, "socket_connect_timeout": 0.5, "retry_on_timeout": False},
            }
        }
        settings.REDIS_BREAKER_SECONDS = 1.0
        settings.LIVE_REDIS_URL = server.url
        caches["default"].close()
        del caches["default"]
        breaker.close()
        try:
            yield server, caches["default"]
        finally:
            server.thaw()
            breaker.close()
            del caches["default"]


def test_after_one_timeout_calls_fail_at_once_until_the_breaker_lets_one_through(frozen_redis):
    server, cache = frozen_redis
    cache.set("k", "v")
    assert cache.get("k") == "v"

    server.freeze()
    with pytest.raises(redis.TimeoutError):
        cache.get("k")  # waits for its socket timeout: Redis is asked
    with pytest.raises(breaker.Open):
        cache.get("k")  # not asked
    with pytest.raises(breaker.Open):
        cache.set("k", "w")
    pubsub.send({"seq": 1})  # the live-push message is skipped too, and never raises

    time.sleep(1.1)
    with pytest.raises(redis.TimeoutError):
        cache.get("k")  # asked again after REDIS_BREAKER_SECONDS; still frozen

    server.thaw()
    time.sleep(1.1)
    assert cache.get("k") == "v"
    cache.set("k", "w")
    assert cache.get("k") == "w"


def test_once_open_one_caller_at_a_time_asks_redis_and_the_others_do_not_wait(frozen_redis):
    """Request threads and the hub call at once when the breaker lets a call through: only
    one of them waits out the timeout; a write used to meet it once per call it made."""
    server, cache = frozen_redis
    server.freeze()
    with pytest.raises(redis.TimeoutError):
        cache.get("k")
    time.sleep(1.1)  # REDIS_BREAKER_SECONDS: the next call may ask

    outcomes = []
    lock = threading.Lock()
    start = threading.Barrier(8)

    def caller():
        start.wait()
        began = time.monotonic()
        try:
            cache.get("k")
            outcome = "answered"
        except breaker.Open:
            outcome = "open"
        except redis.TimeoutError:
            outcome = "timeout"
        with lock:
            outcomes.append((outcome, time.monotonic() - began))

    threads = [threading.Thread(target=caller) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=10)

    kinds = sorted(kind for kind, _ in outcomes)
    assert kinds == ["open"] * 7 + ["timeout"], outcomes
    assert max(took for kind, took in outcomes if kind == "open") < 0.2, outcomes

    server.thaw()
    time.sleep(1.1)
    assert cache.get("k") is None  # the probe finds Redis back, and calls go through again
    cache.set("k", "v")
    assert cache.get("k") == "v"
