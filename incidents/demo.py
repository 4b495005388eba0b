"""The demo: an exchange's components and its 2021-01-29 outage, told update by update.

Facts from the exchange's own report (shared/seed): detection 17:37 HKT, cause identified
17:40, core functions back on web and app 17:58, perpetual-contract API still timing out
18:05, fully restored 18:18. Everything goes through the services, like an operator's
work, so the audit log, the events and the snapshot are what a real incident leaves.
"""

from __future__ import annotations

from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from django.db import transaction
from django.utils import timezone

from . import services
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
    services.postmortem_save(incident=incident, actor=SYSTEM, body=POSTMORTEM, publish=True)
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


def load_demo(now: datetime | None = None) -> tuple[Incident, Incident]:
    """Create what is missing of the demo; running it again changes nothing."""
    now = now or timezone.now()
    with transaction.atomic():
        components = _components()
        incident = _incident(components)
        maintenance = _maintenance(components, now)
    return incident, maintenance
