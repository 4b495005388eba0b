"""Celery tasks: thin, they take ids and call the domain modules, and they are idempotent.

Every task acknowledges late (`acks_late`): a worker that dies mid-task leaves the message
to be delivered again, and running it again does no harm. Long waits live in the
database, not in broker countdowns, so a broker's visibility timeout never has to cover
them; beat's periodic tasks pick up whatever is due.
"""

from __future__ import annotations

from datetime import datetime

from celery import shared_task

from . import services
from .notify import delivery, dispatch, queue
from .publish import site


@shared_task(name=queue.DISPATCH, acks_late=True, ignore_result=True)
def dispatch_notifications() -> dict:
    """Fan out new notifications and enqueue due deliveries (kicked after commit, and beat)."""
    return dispatch.dispatch()


@shared_task(
    name=queue.DELIVER,
    acks_late=True,
    ignore_result=True,
    # An attempt takes at most WEBHOOK_TIMEOUT (or EMAIL_TIMEOUT) seconds.
    soft_time_limit=60,
    time_limit=90,
)
def deliver_notification(delivery_id: int) -> str:
    """Try one delivery once; does nothing if it is not due or another worker holds it."""
    return delivery.attempt(delivery_id)


@shared_task(name="incidents.maintenance_tick", acks_late=True, ignore_result=True)
def maintenance_tick(now: str | None = None) -> dict:
    """Remind, start and complete scheduled maintenance that is due (beat, every 30 s).

    `now` (ISO 8601 with offset) lets a caller ask what is due at another moment.
    """
    return services.maintenance_tick(datetime.fromisoformat(now) if now else None)


@shared_task(name="incidents.refresh_snapshot", acks_late=True, ignore_result=True)
def refresh_snapshot() -> int:
    """Rebuild the public snapshot and publish it, so today's uptime bar and 'last 7 days'
    move with time (each node's hubs publish it to their own files when they next look)."""
    return site.refresh()["seq"]


@shared_task(name="incidents.sample_metrics", acks_late=True, ignore_result=True, soft_time_limit=50, time_limit=58)
def sample_metrics() -> dict:
    """Sample every published metric from Prometheus (beat, every METRICS_SAMPLE_SECONDS)."""
    return services.metrics_sample()
