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
from django.http import HttpResponse, JsonResponse
from django.middleware.locale import LocaleMiddleware
from django.utils import translation

from incidents import languages

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


class ReaderLanguage(LocaleMiddleware):
    """The language of a request.

    The public pages (`i18n_patterns`) take it from the URL's prefix: English has none, so
    an unprefixed page is English whatever the browser says (a first visit to `/` is sent
    on by `incidents.web.views.status_page`). The admin and the API, which have no prefix,
    take the reader's remembered choice or their browser's (Django's own order)."""

    def process_request(self, request):
        path = request.path_info
        if path.startswith("/admin/"):
            code = translation.get_language_from_request(request, check_path=False)
        elif path.startswith("/api/"):
            # The API: `?locale=` (the JSON reads), OKX's status by Accept-Language as
            # OKX's own API; else the default language, whatever the browser says.
            if "locale" in request.GET:
                code = languages.supported(request.GET["locale"])
                if code is None:
                    named = ", ".join(languages.codes())
                    return JsonResponse({"locale": [f"Not one of this page's languages ({named})."]}, status=400)
            elif path == "/api/v5/system/status":
                code = languages.first_choice(request.headers.get("Accept-Language")) or languages.default()
            else:
                code = languages.default()
        else:
            return super().process_request(request)
        translation.activate(code)
        request.LANGUAGE_CODE = code
        return None

    def process_response(self, request, response):
        # No `Content-Language` or `Vary: Accept-Language` of Django's: the language is in
        # the URL (or the query), and the prepared answers carry the same headers whether
        # nginx, the hot path or a view sends them (OKX's, and the redirect of a first
        # visit to `/`, say Vary themselves).
        return response
