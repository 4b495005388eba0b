"""The history feeds, Atom and RSS, for the whole page or one component.

`/history.atom` and `/history.rss` are the paths Statuspage uses; `?component=<id>` or
`/components/<id>/history.atom` narrows to one component. Each is a published document
(incidents.publish.feeds renders them, with every change that touches the history).
"""

from django.http import Http404
from django.views.decorators.http import require_safe

from .. import languages
from ..publish import documents, site


@require_safe
def history_feed(request, fmt: str, public_id: str | None = None):
    public_id = public_id or request.GET.get("component")
    path = f"/components/{public_id}/history.{fmt}" if public_id else f"/history.{fmt}"
    # The feed of the URL's language (/zh-hans/history.atom), as nginx serves it.
    path = languages.prefix(request.LANGUAGE_CODE) + path
    relpath = documents.published_path(path, {})
    if relpath is None:
        raise Http404("No such component.")
    return site.serve_derived(request, relpath, "No such component.")
