"""Scheduled maintenance that runs itself, through the same services as an operator.

`maintenance_tick` is called by Celery beat (every 30 s) and is safe to run late, twice,
or twice at once: each step re-checks the maintenance's state under the service's row
lock (`if_status`, `reminded_at`), so a second tick finds nothing left to do.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from django.core.exceptions import ValidationError
from django.utils import timezone

from .. import rules
from ..models import Incident
from .change import Actor
from .maintenance import maintenance_complete, maintenance_pre_open, maintenance_remind, maintenance_start

logger = logging.getLogger(__name__)


def maintenance_tick(now: datetime | None = None) -> dict[str, list[str]]:
    """Remind, start and complete what is due at `now`; returns the public ids acted on.

    * a reminder `remind_before_minutes` before the start, once, while it has not started;
    * `in_progress` at `scheduled_for` when `auto_start` (components under maintenance
      when asked);
    * `pre_open` at `pre_open_at` when `auto_pre_open` (its trading products in the
      pre-open mode);
    * `completed` at `scheduled_until` when `auto_complete` (components back to
      operational unless an operator changed them meanwhile).
    """
    now = now or timezone.now()
    actor = Actor.system("task")
    done: dict[str, list[str]] = {"reminded": [], "started": [], "pre_open": [], "completed": []}
    maintenance = Incident.objects.filter(kind=Incident.Kind.MAINTENANCE)

    reminders = maintenance.filter(
        status=rules.SCHEDULED, reminded_at__isnull=True, remind_before_minutes__isnull=False, scheduled_until__gt=now
    )
    for item in reminders:
        due = item.scheduled_for - timedelta(minutes=item.remind_before_minutes) <= now
        about_to_start_itself = item.auto_start and item.scheduled_for <= now
        if due and not about_to_start_itself and maintenance_remind(maintenance=item, actor=actor):
            done["reminded"].append(item.public_id)

    for item in maintenance.filter(status=rules.SCHEDULED, auto_start=True, scheduled_for__lte=now):
        if _step(maintenance_start, item, actor, if_status=(rules.SCHEDULED,)):
            done["started"].append(item.public_id)

    pre_opening = (rules.IN_PROGRESS, rules.VERIFYING)
    due = maintenance.filter(status__in=pre_opening, auto_pre_open=True, pre_open_at__lte=now, scheduled_until__gt=now)
    for item in due:
        if _step(maintenance_pre_open, item, actor, if_status=pre_opening):
            done["pre_open"].append(item.public_id)

    for item in maintenance.filter(status__in=rules.MAINTENANCE_ACTIVE, auto_complete=True, scheduled_until__lte=now):
        if _step(maintenance_complete, item, actor, if_status=rules.MAINTENANCE_ACTIVE):
            done["completed"].append(item.public_id)
    return done


def _step(service, item: Incident, actor: Actor, *, if_status) -> bool:
    try:
        service(maintenance=item, actor=actor, if_status=if_status)
    except ValidationError as refused:
        # Another tick or an operator got there first: nothing to do.
        logger.info("maintenance %s left as it is: %s", item.public_id, "; ".join(refused.messages))
        return False
    return True
