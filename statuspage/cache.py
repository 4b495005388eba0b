"""Django's Redis cache, behind the process's Redis breaker (incidents/publish/breaker.py):
while Redis is known not to answer, a cache call fails at once instead of after its
timeout, and the callers' fallbacks take over."""

from __future__ import annotations

from django.core.cache.backends.redis import RedisCache, RedisCacheClient

from incidents.publish import breaker

OPERATIONS = (
    "add",
    "get",
    "set",
    "touch",
    "delete",
    "get_many",
    "has_key",
    "incr",
    "set_many",
    "delete_many",
    "clear",
)


class BreakerClient(RedisCacheClient):
    pass


def _guarded(name: str):
    method = getattr(RedisCacheClient, name)

    def guarded(self, *args, **kwargs):
        return breaker.call(method, self, *args, **kwargs)

    guarded.__name__ = name
    return guarded


for _name in OPERATIONS:
    setattr(BreakerClient, _name, _guarded(_name))


class BreakerRedisCache(RedisCache):
    def __init__(self, server, params):
        super().__init__(server, params)
        self._class = BreakerClient
