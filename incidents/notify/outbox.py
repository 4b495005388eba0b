"""The outbox: notifications are written in the transaction of the change they tell of.

A service notes what to tell (`Notice`) while it makes a change; `record` writes the
`Notification` rows in the same transaction, so the change and its message commit
together or not at all. Each row's payload is the body in the default language with its
texts in every other language beside it (`translations`, notify/texts.py), made here once:
every delivery, mail or webhook, and every retry is written from it. After commit the
dispatcher is kicked (`queue.kick`); that is best effort, and beat's sweep finds whatever
the kick missed.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from datetime import datetime

from django.conf import settings
from django.db import transaction
from django.utils import timezone, translation

from .. import languages, rules, selectors
from ..models import Component, Incident, Notification
from ..wire import statuspage as v2
from . import queue, texts
from .types import DIRECT_EMAIL_KINDS, Kind, Notice


def _page_block() -> dict:
    """Statuspage's `page` object of a webhook: the banner once the change is made."""
    components = selectors.visible_components()
    open_impacts = Incident.objects.filter(kind=Incident.Kind.INCIDENT, status__in=rules.INCIDENT_OPEN).values_list(
        "impact", flat=True
    )
    in_progress = Incident.objects.filter(kind=Incident.Kind.MAINTENANCE, status__in=rules.MAINTENANCE_ACTIVE).exists()
    banner = rules.page_status(
        (selectors.counted_status(c) for c in components), open_impacts, maintenance_in_progress=in_progress
    )
    return {
        "id": settings.STATUS_PAGE["ID"],
        "status_indicator": banner.indicator,
        # Statuspage's English on the wire, whatever language the operator's request is in.
        "status_description": rules.INDICATOR_DESCRIPTION[banner.indicator],
    }


_after_commit = threading.local()


def record(
    notices: Sequence[Notice], *, now: datetime | None = None, kick_after_commit: bool = True
) -> list[Notification]:
    """Write the notices to the outbox; call inside the transaction of the change.

    After commit the dispatcher is kicked: here, or, for a public change
    (`kick_after_commit=False`), by `services.after_public_change` through
    `kick_if_recorded`. Incident and maintenance notices carry the incident as it stands
    at the end of the change, with every component it touches.
    """
    if not notices:
        return []
    now = now or timezone.now()
    page = None
    written = []
    for notice in notices:
        # The body in the default language whatever the caller's (an operator's admin in
        # Chinese), each other language's texts beside it (`texts.translations`).
        with translation.override(languages.default()):
            payload = dict(notice.payload)
            components: list[int] = []
            if notice.kind == Kind.COMPONENT_UPDATED:
                components = [notice.component.pk]
            elif notice.incident is not None and notice.kind not in DIRECT_EMAIL_KINDS:
                if "incident" not in payload:
                    payload["incident"] = v2.incident_json(selectors.incident_detail(notice.incident.public_id))
                components = list(Component.objects.filter(incidents=notice.incident).values_list("pk", flat=True))
            if notice.kind not in DIRECT_EMAIL_KINDS:
                page = page or _page_block()
                payload["page"] = page
                translated = texts.translations(payload)
                if translated:
                    payload["translations"] = translated
        notification = Notification.objects.create(
            kind=notice.kind,
            event=notice.event,
            incident=notice.incident,
            update=notice.update,
            component=notice.component,
            recipient=notice.recipient,
            asset=notice.asset,
            payload=payload,
            created_at=now,
        )
        if components:
            notification.components.set(components)
        written.append(notification)
    if kick_after_commit:
        transaction.on_commit(queue.kick)
    else:
        _after_commit.kick = True
    return written


def kick_if_recorded() -> None:
    """After a public change's commit: kick the dispatcher if the change told anyone."""
    if getattr(_after_commit, "kick", False):
        _after_commit.kick = False
        queue.kick()
