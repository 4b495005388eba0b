"""Django's Redis cache, behind the process's Redis breaker (incidents/publish/breaker.py):
while Redis is known not to answer, a cache call fails at once instead of after its
timeout, and the callers' fallbacks take over.

`clear()` deletes this site's keys (its KEY_PREFIX) only. Django's own clears the whole
Redis database, which may hold another application's keys, or another deployment's."""

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

    def clear(self) -> None:
        client = self._cache.get_client(None, write=True)

        def delete_ours() -> None:
            batch = []
            for key in client.scan_iter(match=f"{_glob_escape(self.key_prefix)}:*", count=1000):
                batch.append(key)
                if len(batch) == 1000:
                    client.unlink(*batch)
                    batch = []
            if batch:
                client.unlink(*batch)

        breaker.call(delete_ours)


def _glob_escape(text: str) -> str:
    """`text` matched literally in a Redis MATCH pattern."""
    return "".join(f"\\{c}" if c in "*?[]\\" else c for c in text)
