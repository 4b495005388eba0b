"""A frozen Redis (SIGSTOP: connections accepted, nothing answered) costs a process one
timeout, then calls fail at once until REDIS_BREAKER_SECONDS have passed."""

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
