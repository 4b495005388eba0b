"""Reads that more than one caller needs, with their prefetching in one place.

Each returns a bounded result, so the snapshot and the pages cost the same whatever the
length of the history.
"""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db.models import OuterRef, Prefetch, QuerySet, Subquery
from django.utils import timezone

from . import languages, rules
from .models import (
    Asset,
    Component,
    ComponentStatusChange,
    Incident,
    IncidentUpdate,
    Metric,
    MetricBucket,
    MetricPoint,
    Network,
    PageState,
    PublicEvent,
    TradingModeChange,
)

RECENT_LIMIT = 50
HISTORY_PAGE = 25  # entries per history page (HTML and JSON)


def visible_components() -> list[Component]:
    return list(Component.objects.filter(is_hidden=False).select_related("group"))


def funding() -> list[tuple[Asset, list[Network]]]:
    """Every asset with its networks, in page order (two queries, however many)."""
    networks = Network.objects.select_related("asset").order_by("position", "code")
    assets = Asset.objects.prefetch_related(Prefetch("networks", queryset=networks))
    return [(asset, list(asset.networks.all())) for asset in assets]


def published_metrics() -> list[Metric]:
    """The metrics on the page, in page order (hidden components' metrics are not shown)."""
    return list(
        Metric.objects.filter(is_published=True)
        .exclude(component__is_hidden=True)
        .select_related("component")
        .order_by("position", "id")
    )


def metric_samples(metrics: list[Metric], *, since: datetime) -> dict[int, list[tuple[datetime, float]]]:
    """Each metric's samples since `since` (the last hour's chart: about 60 rows each)."""
    samples: dict[int, list[tuple[datetime, float]]] = {m.pk: [] for m in metrics}
    rows = MetricPoint.objects.filter(metric__in=metrics, at__gte=since).order_by("at")
    for metric_id, at, value in rows.values_list("metric_id", "at", "value"):
        samples[metric_id].append((at, value))
    return samples


def metric_buckets(metrics: list[Metric], *, since: datetime) -> dict[int, dict[int, dict]]:
    """Each metric's stored buckets since `since`: {metric pk: {width: {start: (sum, count)}}}
    (a fixed number of rows per metric, however long it has been sampled)."""
    buckets: dict[int, dict[int, dict]] = {m.pk: {} for m in metrics}
    rows = MetricBucket.objects.filter(metric__in=metrics, at__gte=since)
    for metric_id, width, at, total, count in rows.values_list("metric_id", "width", "at", "total", "count"):
        buckets[metric_id].setdefault(width, {})[at] = (total, count)
    return buckets


def with_timeline(queryset: QuerySet[Incident]) -> QuerySet[Incident]:
    """Incidents with their updates, each update's component changes (statuses and trading
    modes), and components."""
    changes = ComponentStatusChange.objects.select_related("component").order_by("id")
    modes = TradingModeChange.objects.select_related("component").order_by("id")
    updates = IncidentUpdate.objects.prefetch_related(
        Prefetch("component_changes", queryset=changes), Prefetch("trading_mode_changes", queryset=modes)
    )
    return queryset.prefetch_related(
        Prefetch("updates", queryset=updates),
        Prefetch("components", queryset=Component.objects.select_related("group")),
    )


def unresolved_incidents() -> list[Incident]:
    # Open statuses belong to incidents only; on them alone the index
    # `incident_status_history` applies (with `kind` too, SQLite walks every incident).
    qs = Incident.objects.filter(status__in=rules.INCIDENT_OPEN)
    return list(with_timeline(qs).order_by("-started_at", "-id")[:RECENT_LIMIT])


def upcoming_maintenance() -> list[Incident]:
    qs = Incident.objects.filter(kind=Incident.Kind.MAINTENANCE, status=rules.SCHEDULED)
    return list(with_timeline(qs).order_by("scheduled_for", "id")[:RECENT_LIMIT])


def active_maintenance() -> list[Incident]:
    qs = Incident.objects.filter(kind=Incident.Kind.MAINTENANCE, status__in=rules.MAINTENANCE_ACTIVE)
    return list(with_timeline(qs).order_by("scheduled_for", "id")[:RECENT_LIMIT])


def recent(kind: str, limit: int = RECENT_LIMIT) -> list[Incident]:
    """The most recent incidents (or maintenances), any status."""
    return list(with_timeline(Incident.objects.filter(kind=kind)).order_by("-started_at", "-id")[:limit])


def recently_resolved(*, days: int, now: datetime | None = None, limit: int = 20) -> list[Incident]:
    """Incidents resolved in the last `days` days, newest first."""
    since = (now or timezone.now()) - timedelta(days=days)
    qs = Incident.objects.filter(kind=Incident.Kind.INCIDENT, status__in=rules.INCIDENT_CLOSED, resolved_at__gte=since)
    return list(with_timeline(qs).order_by("-started_at", "-id")[:limit])


def latest_closed_incident() -> Incident | None:
    qs = Incident.objects.filter(kind=Incident.Kind.INCIDENT, status__in=rules.INCIDENT_CLOSED)
    return with_timeline(qs).order_by("-started_at", "-id").first()


def incident_detail(public_id: str) -> Incident | None:
    return with_timeline(Incident.objects.filter(public_id=public_id)).first()


def status_before(component_ids: list[int], moment: datetime) -> dict[int, str]:
    """Each component's status in force at `moment` (operational when nothing was logged),
    in one query."""
    last = (
        ComponentStatusChange.objects.filter(component_id=OuterRef("pk"), changed_at__lt=moment)
        .order_by("-changed_at", "-id")
        .values("new_status")[:1]
    )
    rows = Component.objects.filter(pk__in=component_ids).annotate(before=Subquery(last)).values_list("pk", "before")
    found = dict(rows)
    return {pk: found.get(pk) or rules.OPERATIONAL for pk in component_ids}


# --- history, keyset-paginated -----------------------------------------------------------


class BadCursor(ValueError):
    """A history cursor that this server did not hand out."""


@dataclass(frozen=True)
class HistoryPage:
    items: list[Incident]
    next_cursor: str | None


def encode_cursor(incident: Incident) -> str:
    raw = f"{incident.started_at.isoformat()}|{incident.pk}".encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[datetime, int]:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        moment, pk = raw.split("|")
        started_at = datetime.fromisoformat(moment)
        if started_at.tzinfo is None:
            raise ValueError("naive")
        if not (pk.isascii() and pk.isdigit() and len(pk) <= 18):
            raise ValueError("not a row id")  # the database's integers end at 2**63
        return started_at, int(pk)
    except (ValueError, binascii.Error, UnicodeDecodeError) as exc:
        raise BadCursor("This history cursor is not valid.") from exc


def history(*, cursor: str | None = None, limit: int = HISTORY_PAGE, kind: str | None = None) -> HistoryPage:
    """Incidents and maintenance, newest first, after `cursor` (keyset on started_at, id)."""
    # What is still only scheduled is upcoming, not history (rules.in_history).
    qs = Incident.objects.exclude(kind=Incident.Kind.MAINTENANCE, status=rules.SCHEDULED)
    if kind:
        qs = qs.filter(kind=kind)
    if cursor:
        started_at, pk = decode_cursor(cursor)
        # (started_at, id) < (cursor): written as a range plus an exclusion, so both
        # databases walk the index from the cursor; SQLite does not use the index for
        # the usual `a < x OR (a = x AND id < pk)` and deep pages slowed with depth.
        qs = qs.filter(started_at__lte=started_at).exclude(started_at=started_at, pk__gte=pk)
    items = list(with_timeline(qs).order_by("-started_at", "-id")[: limit + 1])
    next_cursor = encode_cursor(items[limit - 1]) if len(items) > limit else None
    return HistoryPage(items[:limit], next_cursor)


def daily_uptime(
    components: list[Component], *, first_day, last_day, now: datetime, tz
) -> dict[int, list[rules.DayUptime]]:
    """Per component id, its days from `first_day` to `last_day` (page time zone)."""
    window_start = datetime.combine(first_day, datetime.min.time(), tzinfo=tz)
    window_end = datetime.combine(last_day + timedelta(days=1), datetime.min.time(), tzinfo=tz)
    before = status_before([c.pk for c in components], window_start)
    changes: dict[int, list[tuple[datetime, str]]] = {}
    rows = ComponentStatusChange.objects.filter(
        component__in=components, changed_at__gte=window_start, changed_at__lt=window_end
    ).values_list("component_id", "changed_at", "new_status")
    for component_id, changed_at, new_status in rows:
        changes.setdefault(component_id, []).append((changed_at, new_status))
    result = {}
    for component in components:
        counted_from = (
            datetime.combine(component.start_date, datetime.min.time(), tzinfo=tz) if component.start_date else None
        )
        result[component.pk] = rules.daily_uptime(
            changes.get(component.pk, []),
            status_before=before[component.pk],
            first_day=first_day,
            last_day=last_day,
            tz=tz,
            now=now,
            counted_from=counted_from,
        )
    return result


def incidents_by_component_day(
    components: list[Component], *, first_day, last_day, now: datetime, tz
) -> dict[int, dict]:
    """Per component id, per day (page time zone), the incidents and maintenance that
    changed that component's status that day or were still open on it, oldest first.

    One query over the status changes in the window (bounded by the window, as the uptime
    bars are). A span runs from an incident's first change of the component to its last
    one, or to its end (now while it is open)."""
    window_start = datetime.combine(first_day, datetime.min.time(), tzinfo=tz)
    window_end = datetime.combine(last_day + timedelta(days=1), datetime.min.time(), tzinfo=tz)
    rows = (
        ComponentStatusChange.objects.filter(
            component__in=components, incident__isnull=False, changed_at__gte=window_start, changed_at__lt=window_end
        )
        .order_by()
        .values_list(
            "component_id",
            "changed_at",
            "incident_id",
            "incident__public_id",
            "incident__name",
            "incident__started_at",
            "incident__resolved_at",
            *(f"incident__{languages.field('name', code)}" for code in languages.codes()),
        )
    )
    spans: dict[tuple[int, int], dict] = {}
    for component_id, changed_at, incident_id, public_id, name, started_at, resolved_at, *names in rows:
        span = spans.setdefault(
            (component_id, incident_id),
            {
                "first": changed_at,
                "last": changed_at,
                "end": resolved_at or now,
                "started_at": started_at,
                # The name in each language that has one (the snapshot picks the reader's).
                "entry": {"id": public_id, "name": name, "names": dict(zip(languages.codes(), names, strict=True))},
            },
        )
        span["first"] = min(span["first"], changed_at)
        span["last"] = max(span["last"], changed_at)
    result: dict[int, dict] = {}
    for (component_id, _), span in sorted(spans.items(), key=lambda item: (item[1]["started_at"], item[0][1])):
        day = max(span["first"].astimezone(tz).date(), first_day)
        last = min(max(span["last"], span["end"]).astimezone(tz).date(), last_day)
        while day <= last:
            result.setdefault(component_id, {}).setdefault(day, []).append(span["entry"])
            day += timedelta(days=1)
    return result


EVENTS_PAGE = 100


@dataclass(frozen=True)
class EventPage:
    events: list
    last_seq: int
    reset: bool
    has_more: bool


def events_since(since: int, *, limit: int = EVENTS_PAGE) -> EventPage:
    """Public events after `since`, oldest first. `reset` when `since` is older than the
    oldest event kept (or from another page): the client must reload the snapshot."""
    state = PageState.objects.filter(pk=1).values_list("seq", flat=True).first() or 0
    oldest = PublicEvent.objects.order_by("seq").values_list("seq", flat=True).first()
    if since > state or (oldest is not None and since < oldest - 1) or (oldest is None and since < state):
        return EventPage([], state, True, False)
    events = list(PublicEvent.objects.filter(seq__gt=since).select_related("incident").order_by("seq")[: limit + 1])
    return EventPage(events[:limit], state, False, len(events) > limit)


def counted_status(component: Component) -> str:
    """The status a component counts as on the banner and in its group: its own, or its
    trading mode's when that is worse (rules.counted_status; only trading products have one)."""
    return rules.counted_status(component.status, component.trading_mode if component.trading else None)
