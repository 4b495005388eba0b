"""The one place that names Celery tasks: kick the dispatcher, hand a delivery to a worker.

Tasks are named, not imported (`incidents/tasks.py` is a door above this room), and sent
quickly: publishing must not hold a request or a sweep when the broker is away. Whatever
cannot be sent waits in the database for beat's next sweep.
"""

from __future__ import annotations

import logging

from celery import current_app

logger = logging.getLogger(__name__)

DISPATCH = "incidents.dispatch_notifications"
DELIVER = "incidents.deliver_notification"
QUICK_PUBLISH = {"retry": True, "retry_policy": {"max_retries": 1, "interval_start": 0, "interval_step": 0.2}}


def kick() -> None:
    """Ask a worker to dispatch now. Best effort: the periodic sweep catches up otherwise."""
    try:
        current_app.send_task(DISPATCH, **QUICK_PUBLISH)
    except Exception:
        # The notifications are committed; beat's sweep sends them once the broker is back.
        logger.warning("broker unreachable: notifications wait for the next sweep", exc_info=True)


def enqueue_delivery(delivery_id: int, *, countdown: float | None = None) -> None:
    """Hand one delivery to a worker; raises when the broker cannot be reached."""
    options = {"countdown": countdown} if countdown is not None else {}
    current_app.send_task(DELIVER, args=(delivery_id,), **options, **QUICK_PUBLISH)
