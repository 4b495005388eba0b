"""Public reads, unauthenticated: Statuspage v2 and OKX v5, served from prepared documents.

No database query per request: each answer is bytes made once per change
(`incidents.publish.documents`), with ETag and Last-Modified for 304s and a short public
Cache-Control so a CDN or nginx can absorb a spike.
"""

from django.http import HttpResponseNotAllowed, JsonResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework.negotiation import BaseContentNegotiation
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView

from .. import languages, selectors
from ..publish import documents, site
from ..wire import okx
from ..wire import statuspage as v2
from . import examples as ex
from . import schema

# The largest `seq` a client may give: below the database's 2**63, in 18 digits.
MAX_SEQ = 10**18 - 1


class AnyAccept(BaseContentNegotiation):
    """The answer is the prepared JSON whatever `Accept` or `?format=` says (no 406, no 404)."""

    def select_parser(self, request, parsers):
        return parsers[0] if parsers else None

    def select_renderer(self, request, renderers, format_suffix=None):
        return renderers[0], renderers[0].media_type


class PreparedRead(APIView):
    """A public read answered with bytes made elsewhere, exactly as a plain Django view would.

    An APIView only so the OpenAPI schema can describe it; DRF adds nothing to the
    answer: no authentication (request.user is left alone), no throttle, no content
    negotiation that could refuse, no headers of its own, and GET/HEAD only with
    Django's bare 405 otherwise, as `require_safe` answered.
    """

    authentication_classes = []
    permission_classes = [AllowAny]
    throttle_classes = []
    content_negotiation_class = AnyAccept
    http_method_names = ["get", "head"]

    def perform_authentication(self, request):
        pass

    def http_method_not_allowed(self, request, *args, **kwargs):
        return HttpResponseNotAllowed(["GET", "HEAD"])

    def finalize_response(self, request, response, *args, **kwargs):
        # DRF would add `Allow` (and `Vary: Accept`) to every answer; a prepared one
        # leaves exactly as it was made. Only DRF's own answers get DRF's treatment.
        if isinstance(response, Response):
            return super().finalize_response(request, response, *args, **kwargs)
        return response


LOCALE_ERROR = "Not one of this page's languages."
LOCALE_PARAMETER = OpenApiParameter(
    "locale",
    OpenApiTypes.STR,
    enum=languages.codes(),
    description=(
        "Names, bodies and status texts in this language (default language where a text has no translation). "
        "Without it, the default language: exactly what Statuspage clients expect."
    ),
)


def statuspage_view(name: str):
    """The view of one Statuspage v2 document (`documents.STATUSPAGE_PATHS`)."""
    summary, shape, example = schema.STATUSPAGE_READS[name]

    # A function of its own per document: extend_schema marks the function it decorates.
    def get(self, request):
        # The language of `?locale=` (statuspage.middleware.ReaderLanguage refuses others).
        return site.serve_snapshot(request, name, request.LANGUAGE_CODE)

    documented = extend_schema(
        summary=summary,
        parameters=[LOCALE_PARAMETER],
        responses={
            200: schema.ok(shape, example),
            400: schema.ok(
                schema.FIELD_ERRORS, {"locale": [LOCALE_ERROR]}, "Not one of the page's languages.", code="400"
            ),
        },
    )(get)
    view_class = type(
        "Statuspage" + name.title().replace("/", "").replace("-", ""),
        (PreparedRead,),
        {"get": documented, "__module__": __name__},
    )
    return view_class.as_view()


class OkxSystemStatus(PreparedRead):
    @extend_schema(
        summary="OKX v5 system status: maintenance and disruptions, the last row the most severe now",
        description=(
            "The same answer as OKX's `GET /api/v5/system/status`, so python-okx, ccxt and OKX bots read it "
            "unchanged: the `{code, msg, data}` envelope and every value a string. Rows go from the least to "
            "the most severe current state (completed and canceled, then scheduled, pre_open, ongoing), so a "
            "client that reads the last row (ccxt's `fetch_status`) sees an ongoing maintenance."
        ),
        parameters=[
            OpenApiParameter(
                "state",
                OpenApiTypes.STR,
                enum=["", *okx.STATES],
                description=(
                    "Only events in this state; without it (or empty, as python-okx sends it), scheduled, "
                    "ongoing and pre_open."
                ),
            )
        ],
        responses={
            200: schema.ok(schema.OkxEnvelope, ex.OKX, "A maintenance scheduled and the outage ongoing."),
            400: schema.ok(schema.OkxEnvelope, ex.OKX_BAD_STATE, "OKX's parameter error.", code="400"),
        },
    )
    def get(self, request):
        """OKX v5 `GET /api/v5/system/status`; `state` empty or absent means the open states."""
        name = documents.okx_document(request.query_params.get("state", ""))
        # Titles in the client's Accept-Language (zh-CN, zh-TW, …), as OKX's own REST API
        # (statuspage.middleware.ReaderLanguage).
        if name in documents.SNAPSHOT_FILES:
            return site.serve_snapshot(request, name, request.LANGUAGE_CODE)
        return documents.respond(request, documents.get(name))  # OKX's parameter error, in every language


class Events(PreparedRead):
    @extend_schema(
        summary="Every public change after a sequence number, oldest first",
        description=(
            "`reset: true` means `since` is older than the events kept (or from another page): reload "
            "`summary.json` and continue from `last_seq`. The same events are pushed on `/ws/v2/events`."
        ),
        parameters=[
            OpenApiParameter(
                "since",
                {"type": "integer", "minimum": 0, "maximum": MAX_SEQ},
                description="The last `seq` you saw (default 0).",
            )
        ],
        responses={
            200: schema.ok(schema.EventsPage, ex.EVENTS),
            400: schema.ok(schema.FIELD_ERRORS, ex.EVENTS_BAD_SINCE, "`since` is not a whole number.", code="400"),
        },
    )
    def get(self, request):
        """`GET /api/v2/events.json?since=<seq>`: what changed after `seq`, oldest first."""
        raw = request.query_params.get("since", "0")
        # ASCII digits ("²".isdigit() holds, and int() refuses it), at most MAX_SEQ.
        if not (raw.isascii() and raw.isdigit() and len(raw) <= len(str(MAX_SEQ))):
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


okx_system_status = OkxSystemStatus.as_view()
events = Events.as_view()
