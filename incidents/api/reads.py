"""Public reads beyond the two borrowed formats: one incident with its durations, a
component's uptime over a range, and the history, keyset-paginated.

One incident, a component's last 90 days and the first history page are published
documents (incidents.publish.site); another range or page is a bounded, indexed query."""

from datetime import date, timedelta

from django.http import Http404
from django.shortcuts import get_object_or_404
from django.utils import timezone
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework.exceptions import ValidationError
from rest_framework.response import Response

from .. import languages, selectors
from ..models import Component
from ..publish import documents, site
from ..services import checks
from ..wire import statuspage as v2
from ..wire.time import page_tz
from . import examples as ex
from . import schema
from .public import PreparedRead

MAX_UPTIME_DAYS = 366


def locale_query(request) -> dict[str, str]:
    """The request's language as the query `documents.published_path` reads."""
    return {} if languages.default() == request.LANGUAGE_CODE else {documents.LOCALE: request.LANGUAGE_CODE}


def published_read(request, path: str, not_found: str):
    """A document drawn from the database (an incident, a metric), in the request's
    language: its published file, else published now, else a 404 saying `not_found`."""
    relpath = documents.published_path(path, locale_query(request))
    if relpath is None:
        raise Http404(not_found)
    return site.serve_derived(request, relpath, not_found)


class PublicView(PreparedRead):
    """Published documents, or DRF's answers for a query of our own."""


class IncidentRead(PublicView):
    @extend_schema(
        summary="One incident or maintenance, with its timeline and durations",
        responses={
            200: schema.ok(schema.IncidentDocument, ex.INCIDENT_READ),
            404: schema.ok(schema.Detail, {"detail": "No incident with this id."}, "Unknown id.", code="404"),
        },
    )
    def get(self, request, public_id):
        return published_read(request, f"/api/v2/incidents/{public_id}.json", "No incident with this id.")


class MetricRead(PublicView):
    @extend_schema(
        summary="Our extension: one public metric's charts (last hour, 24 hours, 7 and 30 days)",
        description=(
            "Sampled from Prometheus on a schedule and published with the page: each period's buckets hold the "
            "mean of the samples in them, or null where there were none (a gap: Prometheus did not answer). "
            "`gaps` lists those runs after the metric's first sample."
        ),
        responses={
            200: schema.ok(schema.MetricDocument, ex.METRIC),
            404: schema.ok(schema.Detail, {"detail": "No metric with this id."}, "Unknown id.", code="404"),
        },
    )
    def get(self, request, public_id):
        return published_read(request, f"/api/v2/metrics/{public_id}.json", "No metric with this id.")


# A day of the years the API takes (2000-2099), as the schema states it.
DAY = {"type": "string", "format": "date", "pattern": "^20[0-9]{2}-[0-9]{2}-[0-9]{2}$"}


def _day(value: str | None, field: str, default: date) -> date:
    if value is None:
        return default
    try:
        day = date.fromisoformat(value)
    except ValueError:
        raise ValidationError({field: "Use a date as YYYY-MM-DD."})
    if not checks.EARLIEST.date() <= day < checks.LATEST.date():
        # Days at the ends of the calendar would overflow the day arithmetic.
        raise ValidationError(
            {field: f"Use a date from {checks.EARLIEST.date()} to {checks.LATEST.date()} (excluded)."}
        )
    return day


class ComponentUptime(PublicView):
    @extend_schema(
        summary="A component's daily uptime and percentage over a range (at most 366 days)",
        parameters=[
            OpenApiParameter("start", DAY, description="First day (page time zone); 89 days before end by default."),
            OpenApiParameter("end", DAY, description="Last day; today by default."),
        ],
        responses={
            200: schema.ok(schema.Uptime, ex.UPTIME),
            400: schema.ok(schema.READ_ERRORS, {"start": "Use a date as YYYY-MM-DD."}, "A bad range.", code="400"),
            404: schema.ok(
                schema.Detail, {"detail": "No Component matches the given query."}, "Unknown id.", code="404"
            ),
        },
    )
    def get(self, request, public_id):
        relpath = documents.published_path(f"/api/v2/components/{public_id}/uptime.json", locale_query(request))
        if relpath is not None and not ("start" in request.query_params or "end" in request.query_params):
            return site.serve_derived(request, relpath, "No Component matches the given query.")
        component = get_object_or_404(Component, public_id=public_id, is_hidden=False)
        now = timezone.now()
        tz = page_tz()
        end = _day(request.query_params.get("end"), "end", now.astimezone(tz).date())
        start = _day(request.query_params.get("start"), "start", end - timedelta(days=89))
        if start > end:
            raise ValidationError({"start": "The start must not be after the end."})
        if (end - start).days + 1 > MAX_UPTIME_DAYS:
            raise ValidationError({"start": f"At most {MAX_UPTIME_DAYS} days at a time."})
        days = selectors.daily_uptime([component], first_day=start, last_day=end, now=now, tz=tz)[component.pk]
        return Response(v2.uptime_json(component, start, end, days))


class History(PublicView):
    @extend_schema(
        summary="Incidents and maintenance, newest first, 25 a page (keyset cursor)",
        parameters=[
            OpenApiParameter("cursor", OpenApiTypes.STR, description="`next_cursor` of the previous page."),
            OpenApiParameter("kind", OpenApiTypes.STR, enum=["incident", "maintenance"]),
        ],
        responses={
            200: schema.ok(schema.HistoryPage, ex.HISTORY),
            400: schema.ok(schema.READ_ERRORS, {"kind": "Use incident or maintenance."}, "A bad query.", code="400"),
        },
    )
    def get(self, request):
        kind = request.query_params.get("kind")
        if kind is not None and kind not in ("incident", "maintenance"):
            raise ValidationError({"kind": "Use incident or maintenance."})
        if kind is None and not request.query_params.get("cursor"):
            # The first page of both kinds is prepared with the snapshot.
            return site.serve_snapshot(request, "history", request.LANGUAGE_CODE)
        try:
            page = selectors.history(cursor=request.query_params.get("cursor"), kind=kind)
        except selectors.BadCursor as exc:
            raise ValidationError({"cursor": str(exc)})
        return Response(
            {
                "page": v2.page_json(None),
                "incidents": [v2.incident_json(i) for i in page.items],
                "next_cursor": page.next_cursor,
            }
        )
