"""The reader's choices of language and time zone: plain links and a form, remembered in
cookies, so they work with JavaScript off.

The published pages are the same bytes for everyone; a reader who chose another zone is
answered by the app from a copy rendered in that zone once per change
(`documents.zoned`), and nginx and the ASGI hot path send such readers to it
(the `page_zone` cookie)."""

from __future__ import annotations

import zoneinfo
from functools import cache

from django.conf import settings
from django.http import HttpResponseRedirect
from django.shortcuts import render
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_safe

from .. import languages
from ..wire.time import label_of

ZONE_COOKIE = "page_zone"
COOKIE_AGE = 365 * 24 * 3600


@cache
def zones() -> list[str]:
    """Every zone a reader may pick, by name (IANA), without the legacy aliases."""
    return sorted(z for z in zoneinfo.available_timezones() if "/" in z and not z.startswith(("Etc/", "SystemV/")))


def reader_zone(request) -> zoneinfo.ZoneInfo | None:
    """The zone a reader chose, when it is not the page's own; None otherwise."""
    name = request.COOKIES.get(ZONE_COOKIE, "")
    if not name or name == settings.STATUS_PAGE["TIME_ZONE"]:
        return None
    if name != "UTC" and name not in zones():
        return None
    return zoneinfo.ZoneInfo(name)


def _next(request, default: str = "/") -> str:
    target = request.GET.get("next") or default
    if not target.startswith("/") or not url_has_allowed_host_and_scheme(target, allowed_hosts=None):
        return default
    return target


@require_safe
def choose_language(request):
    """`/language?to=zh-hans&next=/incidents/ab12`: the same page in that language, and
    the choice remembered (a first visit to `/` then goes to it)."""
    code = languages.supported(request.GET.get("to")) or languages.default()
    _, path = languages.split_path(_next(request))
    target = languages.prefix(code) + path if path != "/" else (languages.prefix(code) + "/")
    response = HttpResponseRedirect(target)
    response.set_cookie(
        settings.LANGUAGE_COOKIE_NAME,
        code,
        max_age=settings.LANGUAGE_COOKIE_AGE,
        samesite=settings.LANGUAGE_COOKIE_SAMESITE,
    )
    return response


@require_safe
def choose_zone(request):
    """The zone picker: the page's zone, UTC or any zone from the list; with `zone`
    given, remembered and back to `next`."""
    back = _next(request, languages.prefix(request.LANGUAGE_CODE) + "/")
    chosen = request.GET.get("zone")
    page_zone = settings.STATUS_PAGE["TIME_ZONE"]
    if chosen is not None:
        response = HttpResponseRedirect(back)
        if chosen == page_zone or chosen == "":
            response.delete_cookie(ZONE_COOKIE, samesite="Lax")
            return response
        if chosen == "UTC" or chosen in zones():
            response.set_cookie(ZONE_COOKIE, chosen, max_age=COOKIE_AGE, samesite="Lax")
            return response
        status, error = 400, chosen
    else:
        status, error = 200, None
    current = reader_zone(request)
    context = {
        "status_page": settings.STATUS_PAGE,
        "zones": zones(),
        "page_zone": page_zone,
        "page_zone_label": label_of(zoneinfo.ZoneInfo(page_zone)),
        "current": current.key if current else page_zone,
        "next": back,
        "error": error,
    }
    return render(request, "status/zone.html", context, status=status)
