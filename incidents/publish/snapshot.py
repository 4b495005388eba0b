"""The public snapshot: everything the page, the JSON reads and the sockets show.

Built from the database after each committed change (`rebuild`), never per request. It
holds bounded data only (components, open incidents, current and upcoming maintenance, the
last week's incidents, 90 days of uptime), so reading it costs the same with 10 or
100,000 incidents in history. It is kept in three places: this process's memory, the
shared cache (so every process sees a rebuild made by another) and the database (so a
cache outage or restart still finds it).
"""

from __future__ import annotations

import logging
import threading
from datetime import datetime, timedelta

from django.conf import settings
from django.core.cache import cache
from django.db import transaction
from django.utils import timezone, translation

from .. import languages, rules, selectors
from ..models import Component, Incident, PageState, Snapshot
from ..wire import metrics as wire_metrics
from ..wire import okx, page
from ..wire import statuspage as v2
from ..wire.time import iso, page_tz
from . import breaker

logger = logging.getLogger(__name__)

CACHE_KEY = "snapshot:data"
CACHE_SEQ_KEY = "snapshot:seq"
UPTIME_DAYS = 90
# Bumped when the snapshot's shape changes: one stored by an older release is rebuilt.
FORMAT = 8
RECENT_DAYS = 7

_local: dict = {}
_lock = threading.Lock()


# --- building ----------------------------------------------------------------------------


def _uptime_rows(components: list[Component], now: datetime) -> dict[int, dict]:
    """Each showcased component's days (read once), with the incidents that touched each
    day; their texts are laid out per language (`_uptime_day`)."""
    tz = page_tz()
    today = now.astimezone(tz).date()
    showcased = [c for c in components if c.showcase]
    window = {"first_day": today - timedelta(days=UPTIME_DAYS - 1), "last_day": today, "now": now, "tz": tz}
    per_component = selectors.daily_uptime(showcased, **window)
    # What a reader who taps a day sees besides its durations: that day's incidents.
    touched = selectors.incidents_by_component_day(showcased, **window)
    return {
        pk: {
            "percent": rules.uptime_percentage(days),
            "days": [(d, touched.get(pk, {}).get(d.day)) for d in days],
        }
        for pk, days in per_component.items()
    }


def _uptime_day(day: rules.DayUptime, incidents: list[dict] | None) -> dict:
    view = {
        "date": day.day.isoformat(),
        "status": day.worst if day.observed else "none",
        "uptime": None if day.uptime is None else round(day.uptime * 100, 2),
        "title": str(rules.describe_day(day)),
    }
    if incidents:  # most days have none: the key is left out rather than stored 90 times empty
        code = translation.get_language()
        view["incidents"] = [{"id": i["id"], "name": i["names"].get(code) or i["name"]} for i in incidents]
    return view


def _component_view(component: Component, uptime: dict | None, metrics: list[str]) -> dict:
    mode = component.trading_mode if component.trading else None
    return {
        "id": component.public_id,
        "name": component.name,
        "description": component.description,
        "status": component.status,
        "status_label": component.get_status_display(),
        "counted_status": selectors.counted_status(component),
        "trading_mode": mode,
        # Said to traders only when it is not normal trading.
        "trading_mode_label": component.get_trading_mode_display() if mode else None,
        "trading_mode_text": rules.trading_mode_text(mode) if mode and mode != rules.NORMAL else None,
        "uptime": uptime,
        "metrics": metrics,
    }


def _page_layout(components: list[Component], uptime: dict[int, dict], metrics: dict[int, list[str]]) -> list[dict]:
    """Top-level rows in page order: groups with their shown children, and lone components."""
    shown = [
        c for c in components if not (c.only_show_if_degraded and selectors.counted_status(c) == rules.OPERATIONAL)
    ]
    rows: list[tuple[tuple, dict]] = []
    groups: dict[int, dict] = {}
    for component in shown:
        view = _component_view(component, uptime.get(component.pk), metrics.get(component.pk, []))
        if component.group_id is None:
            rows.append(((component.position, 1, component.pk), {"group": None, "components": [view]}))
            continue
        if component.group_id not in groups:
            group = component.group
            groups[component.group_id] = {
                "group": {"id": group.public_id, "name": group.name, "description": group.description},
                "components": [],
            }
            rows.append(((group.position, 0, group.pk), groups[component.group_id]))
        groups[component.group_id]["components"].append(view)
    for row in groups.values():
        row["group"]["status"] = rules.group_status(c["counted_status"] for c in row["components"])
    return [row for _, row in sorted(rows, key=lambda item: item[0])]


def _funding_issues(funding) -> list[dict]:
    issues = [
        (asset, network)
        for asset, networks in funding
        for network in networks
        if not rules.funding_is_normal(network.deposit, network.withdrawal)
    ]
    issues.sort(key=lambda pair: -rules.funding_severity(pair[1].deposit, pair[1].withdrawal))
    return [{**v2.network_json(network), "asset_name": asset.name} for asset, network in issues]


def _history_first_page(incidents: list[tuple[Incident, dict]], maintenances: list[tuple[Incident, dict]]) -> dict:
    """The first history page (what readers open during an incident), with no query of its
    own: the newest HISTORY_PAGE of both kinds are among the newest RECENT_LIMIT of each.

    Upcoming maintenance is not history (rules.in_history); when so much is scheduled that
    too few of the newest maintenances are left to be sure of the page, it is queried."""
    assert selectors.HISTORY_PAGE < selectors.RECENT_LIMIT
    shown = [pair for pair in maintenances if rules.in_history(pair[0].kind, pair[0].status)]
    if len(maintenances) >= selectors.RECENT_LIMIT and len(shown) <= selectors.HISTORY_PAGE:
        queried = selectors.history()
        return {
            "incidents": [v2.incident_json(i) for i in queried.items],
            "next_cursor": queried.next_cursor,
        }
    recent = incidents + shown
    recent.sort(key=lambda pair: (pair[0].started_at, pair[0].pk), reverse=True)
    page = recent[: selectors.HISTORY_PAGE]
    more = len(recent) > selectors.HISTORY_PAGE
    return {
        "incidents": [entry for _, entry in page],
        "next_cursor": selectors.encode_cursor(page[-1][0]) if more else None,
    }


def build(now: datetime | None = None) -> dict:
    """Read the database once and lay out every public view of the current state."""
    now = now or timezone.now()
    with transaction.atomic():
        state = PageState.objects.filter(pk=1).first()
        seq = state.seq if state else 0
        updated_at = state.updated_at if state else None
        components = selectors.visible_components()
        unresolved = selectors.unresolved_incidents()
        upcoming = selectors.upcoming_maintenance()
        active = selectors.active_maintenance()
        recent = selectors.recently_resolved(days=RECENT_DAYS, now=now)
        latest = None if recent else selectors.latest_closed_incident()
        incidents_recent = selectors.recent(Incident.Kind.INCIDENT)
        maintenances_recent = selectors.recent(Incident.Kind.MAINTENANCE)
        funding = selectors.funding()
        metrics = selectors.published_metrics()
        samples = selectors.metric_samples(metrics, since=now - wire_metrics.SAMPLES_SPAN)
        buckets = selectors.metric_buckets(metrics, since=now - wire_metrics.LONGEST - timedelta(days=1))
    # Each metric's charts, bucketed once (the same numbers in every language).
    metric_periods = {
        m.public_id: wire_metrics.periods_json(
            wire_metrics.cells_by_period(samples[m.pk], buckets[m.pk]), now, m.decimals, m.first_sampled_at
        )
        for m in metrics
    }
    metrics_under: dict[int, list[str]] = {}
    for m in metrics:
        metrics_under.setdefault(m.component_id, []).append(m.public_id)

    def view() -> dict:
        """What the page shows, in the active language."""
        page_state = rules.page_status(
            (selectors.counted_status(c) for c in components),
            (i.impact for i in unresolved),
            maintenance_in_progress=bool(active),
        )
        # Components coloured on the banner with no open incident or maintenance under
        # them: the banner names them, so its colour is never left unexplained.
        explained = {c.public_id for item in unresolved + active for c in item.components.all()}
        unexplained = rules.unexplained_outages(
            ((c.public_id, c.name, selectors.counted_status(c)) for c in components), explained
        )
        # OKX rows: what is open or coming and the recent past, the most severe now last.
        okx_events = {i.pk: i for i in unresolved + active + upcoming + incidents_recent + maintenances_recent}
        okx_rows = okx.in_order([okx.row(i, now) for i in okx_events.values()])
        incidents_recent_json = [v2.incident_json(i) for i in incidents_recent]
        maintenances_recent_json = [v2.incident_json(i) for i in maintenances_recent]
        shown = {i.pk: i for i in unresolved + active + upcoming + recent + incidents_recent + maintenances_recent}
        return {
            "page": v2.page_json(updated_at or now),
            "status": {"indicator": page_state.indicator, "description": str(page_state.description)},
            "unexplained_outages": unexplained,
            "banner_detail": str(rules.name_list(unexplained)),
            "components": v2.components_json(components),
            "incidents": [v2.incident_json(i) for i in unresolved],
            "scheduled_maintenances": [v2.incident_json(i) for i in active + upcoming],
            "recent_incidents": [v2.incident_json(i) for i in recent],
            "incidents_recent": incidents_recent_json,
            "maintenances_recent": maintenances_recent_json,
            "history": _history_first_page(
                list(zip(incidents_recent, incidents_recent_json, strict=True)),
                list(zip(maintenances_recent, maintenances_recent_json, strict=True)),
            ),
            "latest_incident": v2.incident_json(latest) if latest else None,
            "layout": _page_layout(components, uptime(), metrics_under),
            # Public metrics: what names each (the charts are `metric_periods`), and those
            # of the whole page (under no component).
            "metrics": [wire_metrics.metric_head(m) for m in metrics],
            "page_metrics": metrics_under.get(None, []),
            "okx": okx_rows,
            # Deposits and withdrawals: every asset's networks, and what is not normal,
            # worst first (the page's section and the bots' short JSON).
            "funding": [v2.asset_json(asset, networks) for asset, networks in funding],
            "funding_issues": _funding_issues(funding),
            # What is shown in the default language for want of a translation.
            "untranslated": page.untranslated([*components, *{c.group for c in components if c.group_id}])
            + page.untranslated([*shown.values(), *([latest] if latest else [])])
            + page.untranslated([*(asset for asset, _ in funding), *(n for _, ns in funding for n in ns)])
            + page.untranslated(metrics),
        }

    def uptime() -> dict[int, dict]:
        return {pk: {**row, "days": [_uptime_day(d, t) for d, t in row["days"]]} for pk, row in uptime_rows.items()}

    uptime_rows = _uptime_rows(components, now)
    views = {}
    for code in languages.codes():
        with translation.override(code):
            views[code] = view()
    return {
        "format": FORMAT,
        "seq": seq,
        "built_at": iso(now),
        "active_maintenances": [i.public_id for i in active],
        "metric_periods": metric_periods,
        **views[languages.default()],
        "languages": {code: v for code, v in views.items() if code != languages.default()},
    }


def in_language(data: dict, code: str) -> dict:
    """The snapshot as readers of `code` see it (the default language's is `data` itself)."""
    if code == languages.default() or code not in data.get("languages", {}):
        return data
    key = (data["seq"], data["built_at"], code)
    memo = _views.get(code)
    if memo is None or memo[0] != key:
        memo = (key, {**data, **data["languages"][code], "language": code})
        _views[code] = memo
    return memo[1]


_views: dict[str, tuple] = {}


# --- storing and reading -----------------------------------------------------------------


def _remember(data: dict) -> None:
    _local["data"] = data


def rebuild(now: datetime | None = None) -> dict:
    """Build the snapshot and store it everywhere; returns it."""
    data = build(now)
    Snapshot.objects.update_or_create(
        pk=1, defaults={"seq": data["seq"], "data": data, "built_at": now or timezone.now()}
    )
    _remember(data)
    _share(data)
    return data


def _share(data: dict) -> None:
    try:
        cache.set_many({CACHE_KEY: data, CACHE_SEQ_KEY: (data["seq"], data["built_at"])}, timeout=None)
    except Exception as exc:
        breaker.log_fallback(logger, "cache unavailable: the snapshot stays in the database and this process", exc)


def _is_stale(data: dict, now: datetime) -> bool:
    """A snapshot from an earlier day has the wrong uptime bars and the wrong 'last week';
    one from an older release lacks what this one serves."""
    if data.get("format") != FORMAT:
        return True
    built = datetime.fromisoformat(data["built_at"])
    tz = page_tz()
    return built.astimezone(tz).date() != now.astimezone(tz).date()


def current() -> dict:
    """The snapshot to serve: this process's copy while the cache names the same version.

    With the cache down, the local copy (or the database row) is served: stale public
    state beats an error page.
    """
    local = _local.get("data")
    try:
        version = cache.get(CACHE_SEQ_KEY)
    except Exception as exc:
        breaker.log_fallback(logger, "cache unavailable: serving this process's snapshot", exc)
        version = "unavailable"
    if local is not None and (version == "unavailable" or version == (local["seq"], local["built_at"])):
        data = local
    else:
        data = None
        if version not in (None, "unavailable"):
            try:
                data = cache.get(CACHE_KEY)
            except Exception:
                data = None
        if data is None:
            row = Snapshot.objects.filter(pk=1).first()
            data = row.data if row else None
            if data is not None and version is None:
                _share(data)
        if data is None:
            with _lock:
                data = rebuild()
        _remember(data)
    if _is_stale(data, timezone.now()):
        with _lock:
            data = rebuild()
    return data


def load_stored(at_least: int) -> dict | None:
    """The snapshot in the database, if it is at `at_least`; remembered here when it is."""
    row = Snapshot.objects.filter(pk=1, seq__gte=at_least).first()
    if row is None or row.data.get("format") != FORMAT:
        return None
    _remember(row.data)
    return row.data


def cache_is_shared() -> bool:
    """Whether the processes share one cache (Redis): a rebuild in one is then seen by all."""
    return "LocMemCache" not in settings.CACHES["default"]["BACKEND"]


def load_newer_stored(data: dict) -> dict | None:
    """A snapshot in the database built after `data` (another process rebuilt it without a
    change of seq: the periodic refresh, a metrics sample), remembered here; None if not.
    For processes without a shared cache (the embedded defaults), where nothing else tells."""
    # `built_at` is kept to the millisecond in the data: the same snapshot's row is not newer.
    after = datetime.fromisoformat(data["built_at"]) + timedelta(milliseconds=1)
    row = Snapshot.objects.filter(pk=1, built_at__gte=after).first()
    if row is None or row.data.get("format") != FORMAT or row.data["seq"] < data["seq"]:
        return None
    _remember(row.data)
    return row.data


def local() -> dict | None:
    """This process's copy, with no I/O at all (the hot path's read; the hub keeps it fresh)."""
    return _local.get("data")


def forget_local() -> None:
    """Drop this process's copy (tests, and a process that must re-read)."""
    _local.clear()
