"""When the database cannot serve a request in time, say so: 503 with Retry-After, not 500.

A full connection pool, a lock held too long, a statement cut off, a database that is
down: all are the database's `OperationalError`. The public reads that matter most never
get here (they are prepared documents, served without the database); what does get here
is answered with a clear "try again shortly" that clients and nginx understand
(`proxy_cache_use_stale` serves its last good copy on a 503).
"""

from __future__ import annotations

import json
import logging

from django.db import InterfaceError, OperationalError
from django.http import HttpResponse

logger = logging.getLogger(__name__)

RETRY_AFTER_SECONDS = 5
MESSAGE = "The status page's database is busy; try again in a few seconds."


class DatabaseUnavailable:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_exception(self, request, exception):
        if not isinstance(exception, OperationalError | InterfaceError):
            return None
        logger.warning("database unavailable for %s %s: %s", request.method, request.path, exception)
        if request.path.startswith("/api/"):
            response = HttpResponse(json.dumps({"detail": MESSAGE}), status=503, content_type="application/json")
        else:
            response = HttpResponse(f"<!doctype html><title>Busy</title><p>{MESSAGE}</p>", status=503)
        response["Retry-After"] = str(RETRY_AFTER_SECONDS)
        response["Cache-Control"] = "no-store"
        return response


class RefuseNul:
    """A NUL anywhere in the path or query string is a 400, before any view: no database
    stores it in text, and PostgreSQL answered the lookups it reached with DataError (a
    500: `/history.atom?component=%00`, `/live/state?view=incident:%00`, issue #12)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        raw = request.META.get("QUERY_STRING", "")
        if "\x00" in request.path or "%00" in raw or "\x00" in raw:
            body = {"detail": "The NUL character (%00) is not allowed in a URL."}
            if request.path.startswith("/api/"):
                return HttpResponse(json.dumps(body), status=400, content_type="application/json")
            return HttpResponse(f"<!doctype html><title>Bad request</title><p>{body['detail']}</p>", status=400)
        return self.get_response(request)
