"""Statuspage v2 objects: page, components and groups, incidents and their updates, events.

The same keys and values as Atlassian Statuspage's public API v2 (shared/reference), so
existing aggregators, bots and dashboards read this page unchanged; a few fields beyond
it (`kind`, `durations`, `identified_at`, `okx_service_type`, …) are additions they ignore.
"""

from __future__ import annotations

from datetime import datetime

from django.conf import settings

from .. import rules
from ..models import Asset, Component, ComponentGroup, ComponentStatusChange, Incident, IncidentUpdate, Network
from .page import absolute
from .time import iso


def page_json(updated_at: datetime | None) -> dict:
    page = settings.STATUS_PAGE
    return {
        "id": page["ID"],
        "name": page["NAME"],
        "url": page["URL"],
        "time_zone": page["TIME_ZONE"],
        "updated_at": iso(updated_at),
    }


def component_json(component: Component) -> dict:
    return {
        "id": component.public_id,
        "name": component.name,
        "status": component.status,
        "created_at": iso(component.created_at),
        "updated_at": iso(component.updated_at),
        "position": component.position,
        "description": component.description or None,
        "showcase": component.showcase,
        "start_date": component.start_date.isoformat() if component.start_date else None,
        "group_id": component.group.public_id if component.group_id else None,
        "page_id": settings.STATUS_PAGE["ID"],
        "group": False,
        "only_show_if_degraded": component.only_show_if_degraded,
        "okx_service_type": component.okx_service_type,
        # Our extension: a trading product's mode (rules.TRADING_MODES); null for the rest.
        "trading_mode": component.trading_mode if component.trading else None,
    }


# Statuspage knows four maintenance statuses; its clients get the pre-open phase as
# "in_progress" (the window is not over, matching has not resumed) and find the true
# status in our extension field `phase`.
STATUSPAGE_STATUS = {rules.PRE_OPEN: rules.IN_PROGRESS}


def statuspage_status(status: str) -> str:
    return STATUSPAGE_STATUS.get(status, status)


def group_json(group: ComponentGroup, children: list[Component]) -> dict:
    """A group is a component row with `group: true` and its children's ids."""
    return {
        "id": group.public_id,
        "name": group.name,
        "status": rules.group_status(c.status for c in children),
        "created_at": iso(group.created_at),
        "updated_at": iso(max([group.updated_at] + [c.updated_at for c in children])),
        "position": group.position,
        "description": group.description or None,
        "showcase": False,
        "start_date": None,
        "group_id": None,
        "page_id": settings.STATUS_PAGE["ID"],
        "group": True,
        "only_show_if_degraded": False,
        "components": [c.public_id for c in children],
    }


def components_json(components: list[Component]) -> list[dict]:
    """Visible components and their groups, in page order (groups before their children)."""
    rows: list[dict] = []
    seen_groups: set[int] = set()
    for component in components:
        if component.group_id and component.group_id not in seen_groups:
            seen_groups.add(component.group_id)
            children = [c for c in components if c.group_id == component.group_id]
            rows.append(group_json(component.group, children))
        rows.append(component_json(component))
    return rows


def affected_component_json(change: ComponentStatusChange) -> dict:
    return {
        "code": change.component.public_id,
        "name": change.component.name,
        "old_status": change.old_status,
        "new_status": change.new_status,
    }


def update_json(update: IncidentUpdate, incident: Incident) -> dict:
    changes = list(update.component_changes.all())
    return {
        "id": update.public_id,
        "status": statuspage_status(update.status),
        "body": update.body,
        "incident_id": incident.public_id,
        "created_at": iso(update.created_at),
        "updated_at": iso(update.updated_at),
        "display_at": iso(update.display_at),
        "affected_components": [affected_component_json(c) for c in changes] or None,
        "deliver_notifications": update.deliver_notifications,
        "custom_tweet": None,
        "tweet_id": None,
        "phase": update.status,
        # Our extension: the trading modes the update set, as `affected_components` the statuses.
        "affected_trading_modes": [
            {"code": c.component.public_id, "name": c.component.name, "old_mode": c.old_mode, "new_mode": c.new_mode}
            for c in update.trading_mode_changes.all()
        ]
        or None,
    }


def durations_json(incident: Incident) -> dict:
    durations = rules.incident_durations(
        incident.started_at, incident.identified_at, incident.monitoring_at, incident.resolved_at
    )

    def seconds(value):
        return None if value is None else int(value.total_seconds())

    return {
        "time_to_identify": seconds(durations.to_identify),
        "time_to_mitigate": seconds(durations.to_mitigate),
        "time_to_resolve": seconds(durations.to_resolve),
    }


def incident_json(incident: Incident) -> dict:
    """An incident, or a scheduled maintenance with `scheduled_for` / `scheduled_until`."""
    updates = list(incident.updates.all())
    data = {
        "id": incident.public_id,
        "name": incident.name,
        "status": statuspage_status(incident.status),
        "created_at": iso(incident.created_at),
        "updated_at": iso(incident.updated_at),
        "monitoring_at": iso(incident.monitoring_at),
        "resolved_at": iso(incident.resolved_at),
        "impact": incident.impact,
        "shortlink": absolute(incident.get_absolute_url()),
        "started_at": iso(incident.started_at),
        "page_id": settings.STATUS_PAGE["ID"],
        "incident_updates": [update_json(u, incident) for u in updates],
        "components": [component_json(c) for c in incident.components.all()],
        "kind": incident.kind,
        "identified_at": iso(incident.identified_at),
        "durations": durations_json(incident),
        "postmortem_body": incident.postmortem_body if incident.postmortem_published_at else None,
        "postmortem_published_at": iso(incident.postmortem_published_at),
    }
    if incident.is_maintenance:
        data["scheduled_for"] = iso(incident.scheduled_for)
        data["scheduled_until"] = iso(incident.scheduled_until)
        data["scheduled_remind_prior"] = incident.remind_before_minutes is not None
        data["scheduled_auto_in_progress"] = incident.auto_start
        data["scheduled_auto_completed"] = incident.auto_complete
        data["reschedule_note"] = incident.reschedule_note or None
        data["phase"] = incident.status
        data["pre_open_at"] = iso(incident.pre_open_at)
        data["auto_pre_open"] = incident.auto_pre_open
    return data


def event_json(event) -> dict:
    """One numbered public change, in the Statuspage webhook shapes, with its `seq`."""
    return {
        "seq": event.seq,
        "type": f"{event.kind}.{event.action}",
        "created_at": iso(event.created_at),
        "data": event.payload,
    }


def uptime_json(component: Component, start, end, days: list[rules.DayUptime]) -> dict:
    """`/api/v2/components/<id>/uptime.json`: a component's days between `start` and `end`
    (our extension of the format: seconds in each status and the weighted percentage)."""
    return {
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
                **{f"{status}_seconds": int(d.seconds.get(status, 0)) for status in rules.COMPONENT_STATUSES[1:]},
            }
            for d in days
        ],
    }


# --- deposits and withdrawals (our extension: /api/v2/funding.json) -----------------------


def network_json(network: Network) -> dict:
    """One network of an asset with its deposit and withdrawal status."""
    return {
        "id": network.public_id,
        "asset": network.asset.symbol,
        "network": network.code,
        "name": network.name or network.code,
        "deposit": network.deposit,
        "withdrawal": network.withdrawal,
        "expected_at": iso(network.expected_at),
        "note": network.note or None,
        "updated_at": iso(network.updated_at),
    }


def asset_json(asset: Asset, networks: list[Network]) -> dict:
    return {
        "id": asset.public_id,
        "symbol": asset.symbol,
        "name": asset.name,
        "networks": [network_json(n) for n in networks],
    }
