"""OKX v5 system status: `GET /api/v5/system/status` rows and the `status` WebSocket channel.

Exactly as OKX serves them (shared/reference/okx-v5-status.md), so OKX's own SDK
(python-okx), ccxt and every bot written against OKX read this page unchanged: the
`{"code","msg","data"}` envelope, every value a string, OKX's error codes.

The order of the rows is part of the interface. ccxt's `okx.fetch_status()` reads them in
order and the last row wins, so rows go from the least to the most severe current state:
finished ones (completed, canceled) first, then scheduled, then pre-open, then ongoing, each
by its begin time. A client reading the last row gets the most severe state now: an
ongoing maintenance is never hidden behind a scheduled one.
"""

from __future__ import annotations

import json
from collections import Counter
from datetime import datetime

from django.conf import settings

from .. import rules
from ..models import Incident
from .page import absolute
from .time import now_ms, unix_ms

SCHEDULED, ONGOING, PRE_OPEN, COMPLETED, CANCELED = "scheduled", "ongoing", "pre_open", "completed", "canceled"
STATES = (SCHEDULED, ONGOING, PRE_OPEN, COMPLETED, CANCELED)
# Without `state`, OKX answers with what is open or coming.
DEFAULT_STATES = (SCHEDULED, ONGOING, PRE_OPEN)
# Row order: the last row is the most severe current state (see the module's docstring).
SEVERITY = {COMPLETED: 0, CANCELED: 0, SCHEDULED: 1, PRE_OPEN: 2, ONGOING: 3}

# maintType: 1 scheduled maintenance, 2 unscheduled maintenance, 3 system disruption.
MAINT_SCHEDULED, MAINT_UNSCHEDULED, MAINT_DISRUPTION = "1", "2", "3"
SERVICE_OTHERS = "99"

# WebSocket error codes and the notice before a server-side close.
INVALID_REQUEST = "60012"
NO_SUCH_CHANNEL = "60018"
SERVICE_UPGRADE_NOTICE = "64008"
CHANNEL = "status"


def state(incident: Incident, now: datetime) -> str:
    if incident.is_maintenance:
        if incident.status == Incident.Status.SCHEDULED:
            return SCHEDULED
        if incident.status == Incident.Status.CANCELLED:
            return CANCELED
        if incident.status == Incident.Status.COMPLETED:
            return COMPLETED
        if incident.status == Incident.Status.PRE_OPEN:
            return PRE_OPEN
        return ONGOING
    return ONGOING if incident.status in rules.INCIDENT_OPEN else COMPLETED


def row(incident: Incident, now: datetime) -> dict:
    """One element of `/api/v5/system/status` `data`: every value a string."""
    components = list(incident.components.all())
    counts = Counter(c.okx_service_type for c in components if c.okx_service_type != SERVICE_OTHERS)
    if incident.is_maintenance:
        maint_type = MAINT_UNSCHEDULED if incident.unscheduled else MAINT_SCHEDULED
        not_begun = incident.status in (Incident.Status.SCHEDULED, Incident.Status.CANCELLED)
        begin = incident.scheduled_for if not_begun else incident.started_at
        end = incident.resolved_at if incident.status == Incident.Status.COMPLETED else incident.scheduled_until
    else:
        maint_type = MAINT_DISRUPTION
        begin = incident.started_at
        end = incident.resolved_at
    return {
        "id": incident.public_id,
        "title": incident.name,
        "state": state(incident, now),
        "begin": unix_ms(begin),
        "end": unix_ms(end),
        "preOpenBegin": unix_ms(incident.pre_open_at),
        "href": absolute(incident.get_absolute_url()),
        # OKX has one serviceType per event: the one most of the affected components have
        # (the lower number on a tie), 99 "Others" only when nothing more specific is hit.
        "serviceType": min(counts, key=lambda t: (-counts[t], int(t))) if counts else SERVICE_OTHERS,
        "system": "unified",
        "scheDesc": incident.reschedule_note,
        "maintType": maint_type,
        "env": settings.STATUS_PAGE["OKX_ENV"],
    }


def in_order(rows: list[dict]) -> list[dict]:
    """Least to most severe current state, each by begin: the last row is the one that counts."""
    return sorted(rows, key=lambda r: (SEVERITY[r["state"]], int(r["begin"] or 0), r["id"]))


def envelope(rows: list[dict]) -> dict:
    return {"code": "0", "msg": "", "data": rows}


def parameter_error(parameter: str) -> dict:
    return {"code": "51000", "msg": f"Parameter {parameter} error", "data": []}


# --- the WebSocket `status` channel --------------------------------------------------------


def pushed_rows(public_ids: list[str], rows: list[dict]) -> list[dict]:
    """The rows of these events, stamped with the push's `ts`, in the order of `in_order`."""
    by_id = {r["id"]: r for r in rows}
    ts = now_ms()
    chosen = [by_id[pid] for pid in dict.fromkeys(public_ids) if pid in by_id]
    return [{**r, "ts": ts} for r in in_order(chosen)]


def push(public_ids: list[str], rows: list[dict]) -> str | None:
    """A push of the events that changed; None when none of them is an OKX event."""
    data = pushed_rows(public_ids, rows)
    if not data:
        return None
    return json.dumps({"arg": {"channel": CHANNEL}, "data": data}, separators=(",", ":"))


def state_push(rows: list[dict]) -> str:
    """What a new subscriber gets: the open events, or else the latest change."""
    open_ids = [r["id"] for r in rows if r["state"] in DEFAULT_STATES]
    latest = [max(rows, key=lambda r: int(r["begin"] or 0))["id"]] if rows else []
    return json.dumps(
        {"arg": {"channel": CHANNEL}, "data": pushed_rows(open_ids or latest, rows)}, separators=(",", ":")
    )


def notice(conn_id: str) -> str:
    return json.dumps(
        {
            "event": "notice",
            "code": SERVICE_UPGRADE_NOTICE,
            "msg": "The connection will soon be closed for a service upgrade. Please reconnect.",
            "connId": conn_id,
        }
    )


def acknowledgement(op: str, conn_id: str, request_id=None) -> str:
    reply = {"event": op, "arg": {"channel": CHANNEL}, "connId": conn_id}
    return json.dumps(reply if request_id is None else {"id": request_id, **reply})


def error(code: str, msg: str, conn_id: str, request_id=None) -> str:
    reply = {"event": "error", "code": code, "msg": msg, "connId": conn_id}
    return json.dumps(reply if request_id is None else {"id": request_id, **reply})
