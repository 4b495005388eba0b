"""The demo: an exchange's components and its 2021-01-29 outage, told update by update.

Facts from the exchange's own report (shared/seed): detection 17:37 HKT, cause identified
17:40, core functions back on web and app 17:58, perpetual-contract API still timing out
18:05, fully restored 18:18. Everything goes through the services, like an operator's
work, so the audit log, the events and the snapshot are what a real incident leaves.

Two more things make the demo look alive: a few small incidents and a maintenance in the
last 90 days, so the uptime bars show what they are for (`load_demo(recent=True)`, what
`manage.py load_demo` does), and `replay`, which posts the 2021 timeline again on today's
date, compressed in time, for someone watching the page (`load_demo --replay`, `make demo`).
"""

from __future__ import annotations

import time as clock
from collections.abc import Callable
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from django.db import transaction
from django.utils import timezone

from . import rules, services
from .models import Component, ComponentGroup, Incident, OkxServiceType

HKT = ZoneInfo("Asia/Hong_Kong")
SYSTEM = services.Actor.system()

# (group, [(component, description, OKX serviceType)])
COMPONENTS = [
    (
        "Platform",
        [
            ("Website", "okx.com trading and account pages", OkxServiceType.OTHERS),
            ("Mobile app", "iOS and Android apps", OkxServiceType.OTHERS),
        ],
    ),
    (
        "Market data",
        [
            ("Market data", "Tickers, candles and trade history", OkxServiceType.WEBSOCKET),
            ("Order book", "Order book depth on web, app and API", OkxServiceType.WEBSOCKET),
        ],
    ),
    (
        "Trading",
        [
            ("Spot trading", "Spot and margin order placement and matching", OkxServiceType.TRADING),
            ("Perpetual contracts", "Perpetual swap trading", OkxServiceType.PERPETUAL),
        ],
    ),
    (
        "API",
        [
            ("REST API", "/api/v5 REST endpoints for trading and accounts", OkxServiceType.TRADING),
            ("WebSocket API", "Public and private WebSocket channels", OkxServiceType.WEBSOCKET),
        ],
    ),
    (
        "Account",
        [
            ("Authentication", "Login, API keys and session validation", OkxServiceType.OTHERS),
            ("Deposits and withdrawals", "On-chain deposits and withdrawals", OkxServiceType.OTHERS),
        ],
    ),
]

INCIDENT_NAME = "Trading disruption: market data, order book and API calls failing"
INCIDENT_START = datetime(2021, 1, 29, 17, 37, tzinfo=HKT)


def _at(hour: int, minute: int) -> datetime:
    return datetime(2021, 1, 29, hour, minute, tzinfo=HKT)


# (time, status, body, {component: status})
TIMELINE = [
    (
        _at(17, 37),
        "investigating",
        "Our monitoring raised alarms across several services. Market data and order book "
        "depth have stopped updating on web and app, and API requests are failing with error "
        '`30012` "Invalid Authority". We are investigating.',
        {
            "Market data": "major_outage",
            "Order book": "major_outage",
            "REST API": "partial_outage",
            "Authentication": "partial_outage",
            "WebSocket API": "degraded_performance",
            "Spot trading": "partial_outage",
            "Perpetual contracts": "partial_outage",
            "Website": "degraded_performance",
            "Mobile app": "degraded_performance",
        },
    ),
    (
        _at(17, 40),
        "identified",
        "We have found the cause: a sudden surge of traffic exceeded the bandwidth of our "
        "cache network, and calls between internal services are timing out. Session "
        "validation is among them, which is why API users see `30012`. Our emergency "
        "response procedure is under way.",
        {"REST API": "major_outage"},
    ),
    (
        _at(17, 58),
        "monitoring",
        "Core functions are restored: market data, order book depth and trading work again "
        "on web and app. Perpetual contract API requests can still time out; we are "
        "watching them closely.",
        {
            "Market data": "operational",
            "Order book": "operational",
            "Spot trading": "operational",
            "Website": "operational",
            "Mobile app": "operational",
            "WebSocket API": "operational",
            "Authentication": "operational",
            "REST API": "degraded_performance",
        },
    ),
    (
        _at(18, 5),
        "identified",
        "The perpetual contract API is still timing out: internal events delayed during the "
        "disruption built up a backlog that is being processed. Other services are working "
        "normally.",
        {"REST API": "partial_outage"},
    ),
    (
        _at(18, 18),
        "resolved",
        "The event backlog has cleared and the perpetual contract API answers normally. All "
        "services are fully restored. No balances or records were affected. A postmortem "
        "follows.",
        {"REST API": "operational", "Perpetual contracts": "operational"},
    ),
]

POSTMORTEM = """\
## Summary

On 29 January 2021, from 17:37 to 18:18 HKT, users could not rely on market data, order
book depth or trading through web, app and API. Critical trading functions were back
after **21 minutes**; everything, including the perpetual contract API, after
**41 minutes**. No funds or records were affected: this was a loss of availability, not of
data.

## What happened

A sudden spike in user traffic went beyond the throughput our cache layer was designed
for. The cache cluster's outbound bandwidth saturated, so services that depend on it
answered late, and calls between internal services began to time out.

* Authentication timed out while validating sessions, so API users received `30012`
  "Invalid Authority" although their keys were valid.
* Order processing and market data publishing stalled, so prices and depth froze on web
  and app.
* Events delayed during the disruption queued up; after the rest recovered, the
  perpetual contract API kept timing out until that backlog was processed (18:18).

The load pattern had not been covered by our capacity tests: an edge case under extreme
load that we now test for.

## Timeline (HKT)

| time | what happened |
|---|---|
| 17:37 | Monitoring alerts; market data stops updating; API errors `30012` |
| 17:40 | Cause identified: cache network bandwidth saturated; emergency response started |
| 17:58 | Market data, order book and trading restored on web and app |
| 18:05 | Perpetual contract API still timing out from an event backlog |
| 18:18 | Backlog cleared; all services fully restored |

## What we are changing

1. **Engineering quality and testing.** New features are tested longer in a simulated
   trading environment before release; every release runs automated regression and
   performance benchmarks; regular chaos-engineering drills look for weak points before
   users find them.
2. **Architecture for high availability.** We are moving to a multi-node, multi-region
   design: redundant systems in separate data centres, load balancing and failover, and
   isolation of critical components such as the matching engine and risk management.
3. **Hot updates and stateless services.** Non-critical logic can be patched without
   restarts, and services are made stateless where possible, so upgrades need no
   maintenance window.
4. **Capacity.** Infrastructure now handles higher traffic volumes, with predictive
   scaling that adds resources ahead of demand spikes.

## Staying informed

This page, its API (`/api/v2/` and OKX's `/api/v5/system/status`) and the `status`
WebSocket channel carry every incident and maintenance as it happens.
"""

MAINTENANCE_NAME = "Spot and perpetual trading system upgrade"


def _components() -> dict[str, Component]:
    by_name = {c.name: c for c in Component.objects.all()}
    for group_position, (group_name, items) in enumerate(COMPONENTS, start=1):
        group = ComponentGroup.objects.filter(name=group_name).first()
        if group is None:
            group = services.group_save(actor=SYSTEM, name=group_name, position=group_position)
        for position, (name, description, service_type) in enumerate(items, start=1):
            if name not in by_name:
                by_name[name] = services.component_create(
                    actor=SYSTEM,
                    name=name,
                    description=description,
                    group=group,
                    position=position,
                    okx_service_type=service_type,
                    start_date=datetime(2020, 1, 1).date(),
                )
    return by_name


def _incident(components: dict[str, Component]) -> Incident:
    incident = Incident.objects.filter(name=INCIDENT_NAME, started_at=INCIDENT_START).first()
    if incident is not None:
        return incident
    (first_at, first_status, first_body, first_changes), *rest = TIMELINE
    incident = services.incident_open(
        actor=SYSTEM,
        name=INCIDENT_NAME,
        body=first_body,
        status=first_status,
        components={components[n]: s for n, s in first_changes.items()},
        started_at=first_at,
        deliver_notifications=False,
    )
    for at, status, body, changes in rest:
        services.incident_post_update(
            incident=incident,
            actor=SYSTEM,
            status=status,
            body=body,
            components={components[n]: s for n, s in changes.items()},
            display_at=at,
            deliver_notifications=False,
        )
    services.postmortem_save(
        incident=incident, actor=SYSTEM, body=POSTMORTEM, publish=True, deliver_notifications=False
    )
    incident.refresh_from_db()
    return incident


def _maintenance(components: dict[str, Component], now: datetime) -> Incident:
    upcoming = Incident.objects.filter(name=MAINTENANCE_NAME, status="scheduled", scheduled_for__gt=now).first()
    if upcoming is not None:
        return upcoming
    day = (now.astimezone(HKT) + timedelta(days=3)).date()
    start = datetime.combine(day, time(6, 0), tzinfo=HKT)
    return services.maintenance_schedule(
        actor=SYSTEM,
        name=MAINTENANCE_NAME,
        body="We will upgrade the matching systems for spot and perpetual trading. Orders "
        "cannot be placed or cancelled during the window; open orders are kept. Deposits and "
        "withdrawals are not affected.",
        scheduled_for=start,
        scheduled_until=start + timedelta(hours=1),
        components=[components["Spot trading"], components["Perpetual contracts"], components["REST API"]],
        auto_start=True,
        auto_complete=True,
        deliver_notifications=False,
    )


# Small incidents of the last 90 days, relative to when the demo is loaded, so the uptime
# bars have something to show: (name, days ago, HKT start, minutes to identify, length,
# {component: status}, first update, resolution). Clearly marked as demo data.
RECENT = [
    (
        "[Demo] Delayed withdrawals on TRC20",
        71,
        time(9, 12),
        6,
        timedelta(minutes=25),
        {"Deposits and withdrawals": "degraded_performance"},
        "TRC20 withdrawals are taking longer than usual to reach the chain. Deposits and "
        "other networks are not affected.",
        "A stuck signing queue was restarted; every delayed TRC20 withdrawal has been sent.",
    ),
    (
        "[Demo] Slow REST API responses",
        38,
        time(21, 3),
        4,
        timedelta(minutes=12),
        {"REST API": "degraded_performance"},
        "Some REST API requests take several seconds to answer. Orders placed are executed.",
        "A slow database replica was taken out of rotation; response times are back to normal.",
    ),
    (
        "[Demo] Order book lag",
        23,
        time(15, 41),
        2,
        timedelta(minutes=8),
        {"Order book": "partial_outage", "Market data": "degraded_performance"},
        "Order book depth on web and app lags behind trading by up to a minute.",
        "The order book publishers caught up after a failover; depth is live again.",
    ),
    (
        "[Demo] Brief WebSocket API disconnections",
        9,
        time(3, 27),
        0,
        timedelta(seconds=40),
        {"WebSocket API": "major_outage"},
        "Public and private WebSocket connections were dropped; clients are reconnecting.",
        "A load balancer restarted; connections recovered within a minute.",
    ),
]

# A completed maintenance in the same window: (name, days ago, HKT start, planned, taken, components).
RECENT_MAINTENANCE = (
    "[Demo] Database upgrade for spot and perpetual trading",
    52,
    time(6, 0),
    timedelta(hours=1),
    timedelta(minutes=45),
    ("Spot trading", "Perpetual contracts"),
)


def _page_day(now: datetime, days_ago: int, at: time) -> datetime:
    day = now.astimezone(HKT).date() - timedelta(days=days_ago)
    return datetime.combine(day, at, tzinfo=HKT)


def _recent(components: dict[str, Component], now: datetime) -> list[Incident]:
    """The small demo incidents and maintenance of the last 90 days; each made once."""
    made = []
    for name, days_ago, at, identify, length, changes, first, last in RECENT:
        if Incident.objects.filter(name=name).exists():
            continue
        start = _page_day(now, days_ago, at)
        # Only components that are fine now: resolving puts them back to operational.
        hit = {components[n]: s for n, s in changes.items() if components[n].status == rules.OPERATIONAL}
        if not hit:
            continue
        incident = services.incident_open(
            actor=SYSTEM,
            name=name,
            body=first,
            components=hit,
            started_at=start,
            deliver_notifications=False,
        )
        if identify:
            services.incident_post_update(
                incident=incident,
                actor=SYSTEM,
                status="identified",
                body="We have found the cause and are working on a fix.",
                display_at=start + timedelta(minutes=identify),
                deliver_notifications=False,
            )
        services.incident_resolve(
            incident=incident,
            actor=SYSTEM,
            body=last,
            components=dict.fromkeys(hit, rules.OPERATIONAL),
            display_at=start + length,
            deliver_notifications=False,
        )
        made.append(incident)

    name, days_ago, at, planned, taken, names = RECENT_MAINTENANCE
    if not Incident.objects.filter(name=name).exists():
        start = _page_day(now, days_ago, at)
        maintenance = services.maintenance_schedule(
            actor=SYSTEM,
            name=name,
            body="We will upgrade the databases behind spot and perpetual trading. Orders cannot be "
            "placed or cancelled during the window; open orders are kept.",
            scheduled_for=start,
            scheduled_until=start + planned,
            components=[components[n] for n in names],
            remind_before_minutes=None,
            announced_at=start - timedelta(days=3),
            deliver_notifications=False,
        )
        services.maintenance_start(maintenance=maintenance, actor=SYSTEM, at=start, deliver_notifications=False)
        services.maintenance_complete(
            maintenance=maintenance, actor=SYSTEM, at=start + taken, deliver_notifications=False
        )
        made.append(maintenance)
    return made


def load_demo(now: datetime | None = None, *, recent: bool = False) -> tuple[Incident, Incident]:
    """Create what is missing of the demo; running it again changes nothing.

    `recent` adds the small incidents and the maintenance of the last 90 days (RECENT),
    dated from `now`; `manage.py load_demo` asks for them, tests mostly do not.
    """
    now = now or timezone.now()
    with transaction.atomic():
        components = _components()
        incident = _incident(components)
        maintenance = _maintenance(components, now)
        if recent:
            _recent(components, now)
    return incident, maintenance


# --- the replay ----------------------------------------------------------------------------

REPLAY_NAME = f"Replay of 2021-01-29: {INCIDENT_NAME}"
REPLAY_NOTE = (
    "*A demo: the outage of 2021-01-29 (17:37–18:18 HKT) replayed on today's date, {length} instead of 41 minutes.*\n\n"
)
# From the first update to the last, in the real outage.
REPLAY_SPAN = TIMELINE[-1][0] - TIMELINE[0][0]


def replay_offsets(seconds: float) -> list[float]:
    """Seconds after the replay's start at which each TIMELINE update is posted, when the
    whole 41 minutes take `seconds`."""
    scale = seconds / REPLAY_SPAN.total_seconds()
    return [(at - TIMELINE[0][0]).total_seconds() * scale for at, *_ in TIMELINE]


def _length(seconds: float) -> str:
    if seconds >= 90:
        return f"{seconds / 60:g} minutes"
    return f"{seconds:.3g} seconds"


def _close_unfinished_replays(body: str) -> None:
    for left in Incident.objects.filter(name=REPLAY_NAME, status__in=rules.INCIDENT_OPEN):
        services.incident_resolve(incident=left, actor=SYSTEM, body=body, deliver_notifications=False)


def replay(seconds: float = 120.0, *, report: Callable[[int, str, float], None] | None = None) -> Incident:
    """Post the 2021-01-29 timeline again, now, through the services: each update at its
    offset scaled to `seconds` (display_at is the real moment it is posted), so a page
    watched meanwhile changes as the real one did, then recovers.

    A reader of another process's page sees it within LIVE_POLL_SECONDS. `report(index,
    status, elapsed)` is called after each update. Interrupted (Ctrl-C), it resolves the
    replay, so every component it took down is operational again.
    """
    components = _components()
    _close_unfinished_replays("An earlier replay was stopped before its end; this closes it.")
    offsets = replay_offsets(seconds)
    started = clock.monotonic()
    incident = None
    try:
        for index, ((_, status, body, changes), offset) in enumerate(zip(TIMELINE, offsets, strict=True)):
            delay = started + offset - clock.monotonic()
            if delay > 0:
                clock.sleep(delay)
            statuses = {components[n]: s for n, s in changes.items()}
            if incident is None:
                incident = services.incident_open(
                    actor=SYSTEM,
                    name=REPLAY_NAME,
                    body=REPLAY_NOTE.format(length=_length(seconds)) + body,
                    status=status,
                    components=statuses,
                    deliver_notifications=False,
                )
            else:
                services.incident_post_update(
                    incident=incident,
                    actor=SYSTEM,
                    status=status,
                    body=body,
                    components=statuses,
                    deliver_notifications=False,
                )
            if report:
                report(index, status, clock.monotonic() - started)
    except BaseException:
        _close_unfinished_replays("The replay was stopped before its end; every component is back to operational.")
        raise
    incident.refresh_from_db()
    return incident
