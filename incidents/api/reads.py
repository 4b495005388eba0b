"""Public reads beyond the two borrowed formats: one incident with its durations, a
component's uptime over a range, and the history, keyset-paginated. These hit the
database (bounded, indexed queries), so they are not on the hot path."""

from datetime import date, timedelta

from django.shortcuts import get_object_or_404
from django.utils import timezone
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework.exceptions import ValidationError
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView

from .. import rules, selectors
from ..models import Component
from ..publish import documents
from ..wire import statuspage as v2
from ..wire.time import page_tz
from . import examples as ex
from . import schema

MAX_UPTIME_DAYS = 366


class PublicView(APIView):
    authentication_classes = []
    permission_classes = [AllowAny]


class IncidentRead(PublicView):
    @extend_schema(
        summary="One incident or maintenance, with its timeline and durations",
        responses={
            200: schema.ok(schema.IncidentDocument, ex.INCIDENT_READ),
            404: schema.ok(schema.Detail, {"detail": "No incident with this id."}, "Unknown id.", code="404"),
        },
    )
    def get(self, request, public_id):
        incident = selectors.incident_detail(public_id)
        if incident is None:
            return Response({"detail": "No incident with this id."}, status=404)
        return Response({"page": v2.page_json(None), "incident": v2.incident_json(incident)})


def _day(value: str | None, field: str, default: date) -> date:
    if not value:
        return default
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise ValidationError({field: "Use a date as YYYY-MM-DD."})


class ComponentUptime(PublicView):
    @extend_schema(
        summary="A component's daily uptime and percentage over a range (at most 366 days)",
        parameters=[
            OpenApiParameter(
                "start", OpenApiTypes.DATE, description="First day (page time zone); 89 days before end by default."
            ),
            OpenApiParameter("end", OpenApiTypes.DATE, description="Last day; today by default."),
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
        return Response(
            {
                "id": component.public_id,
                "name": component.name,
                "range_start": start.isoformat(),
                "range_end": end.isoformat(),
                "uptime_percentage": rules.uptime_percentage(days),
                "weights": rules.DOWNTIME_WEIGHT,
                "days": [
                    {
                        "date": d.day.isoformat(),
                        "uptime_percentage": None if d.uptime is None else round(d.uptime * 100, 3),
                        "observed_seconds": int(d.observed),
                        **{
                            f"{status}_seconds": int(d.seconds.get(status, 0))
                            for status in rules.COMPONENT_STATUSES[1:]
                        },
                    }
                    for d in days
                ],
            }
        )


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
        kind = request.query_params.get("kind") or None
        if kind is None and not request.query_params.get("cursor"):
            # The first page of both kinds is prepared with the snapshot.
            return documents.respond(request, documents.get("history"))
        if kind not in (None, "incident", "maintenance"):
            raise ValidationError({"kind": "Use incident or maintenance."})
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
