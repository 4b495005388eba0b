"""Per-token rate limits that keep working when the cache is down.

DRF keeps its counters in the cache. If the cache (Redis) fails, reads are let through
(fail open: the public must keep reading) and writes fall back to a counter in this
process, so a runaway script is still held back. Never a 500.
"""

import logging
import threading
import time

from rest_framework.settings import api_settings
from rest_framework.throttling import SimpleRateThrottle

from ..publish import breaker

logger = logging.getLogger(__name__)


class TokenRateThrottle(SimpleRateThrottle):
    scope_attr = "throttle_scope"
    _local_history: dict[str, list[float]] = {}
    _local_lock = threading.Lock()

    def get_rate(self):
        # Read at request time (DRF binds the rates at import), so settings can change them.
        return api_settings.DEFAULT_THROTTLE_RATES[self.scope]

    def get_cache_key(self, request, view):
        token = getattr(request, "auth", None)
        ident = f"token-{token.pk}" if token is not None and hasattr(token, "pk") else self.get_ident(request)
        return self.cache_format % {"scope": self.scope, "ident": ident}

    def allow_request(self, request, view):
        try:
            return super().allow_request(request, view)
        except Exception as exc:
            if request.method in ("GET", "HEAD", "OPTIONS"):
                breaker.log_fallback(logger, "rate-limit cache unavailable: read let through", exc)
                return True
            breaker.log_fallback(logger, "rate-limit cache unavailable: counting writes in this process", exc)
            return self._allow_locally(request, view)

    def _allow_locally(self, request, view):
        self.key = self.get_cache_key(request, view)
        self.now = time.time()
        with self._local_lock:
            history = [t for t in self._local_history.get(self.key, []) if t > self.now - self.duration]
            if len(history) >= self.num_requests:
                self.history = history
                self._local_history[self.key] = history
                return False
            history.insert(0, self.now)
            self._local_history[self.key] = history
            self.history = history
        return True


class WriteRateThrottle(TokenRateThrottle):
    scope = "api-write"

    def allow_request(self, request, view):
        if request.method in ("GET", "HEAD", "OPTIONS"):
            return True
        return super().allow_request(request, view)


class ReadRateThrottle(TokenRateThrottle):
    scope = "api-read"

    def allow_request(self, request, view):
        if request.method not in ("GET", "HEAD", "OPTIONS"):
            return True
        return super().allow_request(request, view)
