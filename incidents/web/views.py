"""Public HTML pages. The status page reads only the snapshot; no query per request."""

from __future__ import annotations

from django.conf import settings
from django.http import Http404, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.utils import timezone
from django.utils.cache import patch_vary_headers
from django.utils.translation import gettext
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_safe

from .. import languages, selectors
from ..publish import documents, site, snapshot
from ..wire import page as page_content
from ..wire import statuspage as v2
from . import choices


def page_context(request):
    return {"status_page": settings.STATUS_PAGE}


@csrf_exempt
@require_safe
def status_page(request):
    """The same published bytes nginx and the ASGI hot path serve (documents.render_page),
    in the URL's language; a first visit to `/` goes to the reader's language."""
    code = request.LANGUAGE_CODE
    if request.path == "/" and not request.GET:
        wanted = documents.first_visit(
            request.COOKIES.get(settings.LANGUAGE_COOKIE_NAME), request.headers.get("Accept-Language")
        )
        if wanted:
            redirect = HttpResponseRedirect(wanted)
            patch_vary_headers(redirect, ("Accept-Language", "Cookie"))
            return redirect
    zone = choices.reader_zone(request)
    if zone is not None:
        page = languages.directory(code) + documents.SNAPSHOT_FILES["page"]
        return documents.respond(request, documents.zoned("page", code, zone), documents.vary_of(page))
    return site.serve_snapshot(request, "page", code)


@require_safe
def history(request):
    code = request.LANGUAGE_CODE
    zone = choices.reader_zone(request)
    if not request.GET.get("before"):
        # The first page is published with the snapshot (documents.render_history).
        if zone is not None:
            page = languages.directory(code) + documents.SNAPSHOT_FILES["history-page"]
            return documents.respond(request, documents.zoned("history-page", code, zone), documents.vary_of(page))
        return site.serve_snapshot(request, "history-page", code)
    # Read before the page's query: a change committed in between is then refetched.
    seq = snapshot.current()["seq"]
    try:
        page = selectors.history(cursor=request.GET.get("before"))
    except selectors.BadCursor:
        context = {
            "error": gettext("This link to older history is not valid. It may have been cut short or edited by hand."),
        }
        return render(request, "status/history.html", {**context, "page_path": "/history"}, status=400)
    with timezone.override(zone):  # None: the page's own zone
        return render(
            request,
            "status/history.html",
            {
                "page_path": "/history",
                "untranslated": set(page_content.untranslated(page.items)),
                "months": documents.by_month([v2.incident_json(i) for i in page.items]),
                "next_cursor": page.next_cursor,
                "is_first_page": False,
                "live_seq": seq,
            },
        )


@require_safe
def funding(request):
    """Deposits and withdrawals of every asset (documents.render_funding), published."""
    code = request.LANGUAGE_CODE
    zone = choices.reader_zone(request)
    if zone is not None:
        page = languages.directory(code) + documents.SNAPSHOT_FILES["funding-page"]
        return documents.respond(request, documents.zoned("funding-page", code, zone), documents.vary_of(page))
    return site.serve_snapshot(request, "funding-page", code)


@require_safe
def incident_detail(request, public_id):
    """Published with the changes that touch it, or on its first read (site.incident)."""
    code = request.LANGUAGE_CODE
    relpath = documents.published_path(languages.prefix(code) + f"/incidents/{public_id}", {})
    if relpath is None:
        raise Http404("No such incident.")
    zone = choices.reader_zone(request)
    if zone is not None:
        found = site.zoned_incident(public_id, code, zone)
        if found is None:
            raise Http404("No such incident.")
        return documents.respond(request, found, documents.vary_of(relpath))
    return site.serve_derived(request, relpath, "No such incident.")


@require_safe
def live_state(request):
    """The live client's polling fallback: the same message the socket would send."""
    view = request.GET.get("view", "home")
    if not (view in site.LIVE_VIEWS or view.startswith("incident:")):
        return HttpResponse('{"error": "unknown view"}', status=400, content_type="application/json")
    code = languages.supported(request.GET.get("lang")) or languages.default()
    message = site.state_message(view, snapshot.current(), code)
    if message is None:
        return HttpResponse('{"error": "no such incident"}', status=404, content_type="application/json")
    response = HttpResponse(message, content_type="application/json")
    response["Cache-Control"] = "no-cache"
    return response
