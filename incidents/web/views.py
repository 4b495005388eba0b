"""Public HTML pages. The status page reads only the snapshot; no query per request."""

from __future__ import annotations

from django.conf import settings
from django.http import Http404, HttpResponse
from django.shortcuts import render
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_safe

from .. import selectors
from ..publish import documents, site, snapshot
from ..wire import statuspage as v2


def page_context(request):
    return {"status_page": settings.STATUS_PAGE}


@csrf_exempt
@require_safe
def status_page(request):
    """The same published bytes nginx and the ASGI hot path serve (documents.render_page)."""
    return site.serve_snapshot(request, "page")


@require_safe
def history(request):
    if not request.GET.get("before"):
        # The first page is published with the snapshot (documents.render_history).
        return site.serve_snapshot(request, "history-page")
    # Read before the page's query: a change committed in between is then refetched.
    seq = snapshot.current()["seq"]
    try:
        page = selectors.history(cursor=request.GET.get("before"))
    except selectors.BadCursor:
        context = {
            "error": "This link to older history is not valid. It may have been cut short or edited by hand.",
        }
        return render(request, "status/history.html", context, status=400)
    return render(
        request,
        "status/history.html",
        {
            "months": documents.by_month([v2.incident_json(i) for i in page.items]),
            "next_cursor": page.next_cursor,
            "is_first_page": False,
            "live_seq": seq,
        },
    )


@require_safe
def incident_detail(request, public_id):
    """Published with the changes that touch it, or on its first read (site.incident)."""
    relpath = documents.published_path(f"/incidents/{public_id}", {})
    if relpath is None:
        raise Http404("No such incident.")
    return site.serve_derived(request, relpath, "No such incident.")


@require_safe
def live_state(request):
    """The live client's polling fallback: the same message the socket would send."""
    view = request.GET.get("view", "home")
    if not (view in ("home", "history") or view.startswith("incident:")):
        return HttpResponse('{"error": "unknown view"}', status=400, content_type="application/json")
    message = site.state_message(view, snapshot.current())
    if message is None:
        return HttpResponse('{"error": "no such incident"}', status=404, content_type="application/json")
    response = HttpResponse(message, content_type="application/json")
    response["Cache-Control"] = "no-cache"
    return response
