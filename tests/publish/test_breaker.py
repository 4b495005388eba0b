"""A frozen Redis (SIGSTOP: connections accepted, nothing answered) costs a process one
timeout; then calls fail at once until the breaker's own probe finds Redis answering."""

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


def wait_until_closed(timeout: float) -> float:
    started = time.monotonic()
    while breaker._open:
        assert time.monotonic() - started < timeout, "the probe never closed the breaker"
        time.sleep(0.02)
    return time.monotonic() - started


def test_after_one_timeout_calls_fail_at_once_until_the_probe_finds_redis_back(frozen_redis):
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

    time.sleep(2.5)  # two of the probe's rounds (REDIS_BREAKER_SECONDS): still frozen
    with pytest.raises(breaker.Open):
        cache.get("k")  # no caller asks a Redis that did not answer the probe

    server.thaw()
    # The probe's next round finds it back: within REDIS_BREAKER_SECONDS and its timeout.
    assert wait_until_closed(1.0 + 0.5 + 0.5) <= 1.0 + 0.5 + 0.5
    assert cache.get("k") == "v"
    cache.set("k", "w")
    assert cache.get("k") == "w"


def test_once_open_no_caller_waits_for_a_frozen_redis(frozen_redis):
    """Request threads and the hub call at once, round after round of the probe: none of
    them waits out a timeout (with a caller as the probe, a write met it every few seconds)."""
    server, cache = frozen_redis
    server.freeze()
    with pytest.raises(redis.TimeoutError):
        cache.get("k")

    outcomes = []
    lock = threading.Lock()
    start = threading.Barrier(8)

    def caller():
        start.wait()
        for _ in range(30):  # 3 s: three of the probe's rounds
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
            time.sleep(0.1)

    threads = [threading.Thread(target=caller) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=20)

    assert {kind for kind, _ in outcomes} == {"open"} and len(outcomes) == 240, outcomes
    assert max(took for _, took in outcomes) < 0.1, max(outcomes, key=lambda o: o[1])

    server.thaw()
    wait_until_closed(3.0)
    assert cache.get("k") is None  # Redis is asked again, and answers
    cache.set("k", "v")
    assert cache.get("k") == "v"
