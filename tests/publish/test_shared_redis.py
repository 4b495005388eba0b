"""Two deployments (or another application) on one Redis database: the cache and the
live-push channel of each are its own (CACHE_KEY_PREFIX), and clearing one cache deletes
its own keys only; Django's RedisCache.clear() flushes the whole database."""

import pytest
import redis
from django.core.cache.backends.redis import RedisCache

from incidents.publish import pubsub
from statuspage.cache import BreakerRedisCache

from ..private_services import redis_server

pytestmark = pytest.mark.live


def test_clearing_one_sites_cache_leaves_every_other_key_on_the_database(settings):
    with redis_server() as server:
        ours = BreakerRedisCache(server.url, {"KEY_PREFIX": "status-a"})
        theirs = BreakerRedisCache(server.url, {"KEY_PREFIX": "status-b"})
        raw = redis.Redis.from_url(server.url)
        for n in range(2500):  # more than one SCAN batch
            ours.set(f"doc-{n}", n)
        theirs.set("doc-0", "b")
        raw.set("sessions:42", "another application's")
        raw.set("status-a-lookalike", "no colon after the prefix")

        ours.clear()

        assert ours.get("doc-0") is None and ours.get("doc-2499") is None
        assert theirs.get("doc-0") == "b"
        assert raw.get("sessions:42") == b"another application's"
        assert raw.get("status-a-lookalike") == b"no colon after the prefix"
        assert raw.dbsize() == 3

        # What Django's own cache would have done to the same database:
        RedisCache(server.url, {"KEY_PREFIX": "status-a"}).clear()
        assert raw.dbsize() == 0
        raw.close()


def test_each_prefix_has_its_own_live_channel(settings):
    with redis_server() as server:
        url = server.url.rsplit("/", 1)[0] + "/3"
        channels = []
        for prefix in ("a", "b"):
            settings.CACHES = {
                "default": {"BACKEND": "statuspage.cache.BreakerRedisCache", "LOCATION": url, "KEY_PREFIX": prefix}
            }
            channels.append(pubsub.channel(url))
    assert channels == ["a:live:3", "b:live:3"]
