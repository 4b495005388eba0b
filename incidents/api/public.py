"""Public reads, unauthenticated: Statuspage v2 and OKX v5, served from prepared documents.

No database query per request: each answer is bytes made once per change
(`incidents.publish.documents`), with ETag and Last-Modified for 304s and a short public
Cache-Control so a CDN or nginx can absorb a spike.
"""

from django.http import JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_safe

from .. import selectors
from ..publish import documents
from ..wire import statuspage as v2


def statuspage_view(name: str):
    @csrf_exempt
    @require_safe
    def view(request):
        return documents.respond(request, documents.get(name))

    view.__name__ = f"statuspage_{name.replace('/', '_').replace('-', '_')}"
    return view


@csrf_exempt
@require_safe
def okx_system_status(request):
    """OKX v5 `GET /api/v5/system/status`; `state` empty or absent means the open states."""
    return documents.respond(request, documents.get(documents.okx_document(request.GET.get("state", ""))))


@csrf_exempt
@require_safe
def events(request):
    """`GET /api/v2/events.json?since=<seq>`: what changed after `seq`, oldest first.

    `reset: true` means `since` is older than the events kept (or from another page):
    reload the state (`summary.json`) and continue from `last_seq`.
    """
    raw = request.GET.get("since", "0")
    if not raw.isdigit():
        return JsonResponse({"since": ["Give the last seq you saw, a whole number."]}, status=400)
    page = selectors.events_since(int(raw))
    return JsonResponse(
        {
            "events": [v2.event_json(e) for e in page.events],
            "last_seq": page.last_seq,
            "reset": page.reset,
            "has_more": page.has_more,
        }
    )
