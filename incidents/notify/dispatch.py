"""Dispatching, in a worker: who is told, one `Delivery` each, handed to the broker.

`dispatch` (kicked after commit, and every 30 s from beat) makes one `Delivery` per
subscriber told (unique per notification and subscriber: doing it twice makes nothing
twice) and hands every delivery that is due to the broker, one task each, so one slow
receiver never holds up the others.

Who is told: an active subscriber to the whole page hears of everything that asks to be
told, including components added after it subscribed; a subscriber to some components
only of what touches one of them. Component status changes go to webhooks only; email
and community channels hear of incidents and maintenance.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from django.db import transaction
from django.db.models import Q, QuerySet
from django.utils import timezone

from ..models import Delivery, Notification, Subscriber
from . import queue
from .types import DIRECT_EMAIL_KINDS, WEBHOOK_ONLY_KINDS

logger = logging.getLogger(__name__)

# A delivery handed to the broker but not attempted by then is handed over again.
REQUEUE_AFTER = timedelta(minutes=5)
# One sweep hands over at most this many deliveries; the next sweep takes the rest.
ENQUEUE_BATCH = 1000
ENQUEUE_ROUNDS = 20


def audience(notification: Notification) -> QuerySet[Subscriber]:
    """The subscribers this notification goes to."""
    if notification.recipient_id is not None:
        return Subscriber.objects.filter(pk=notification.recipient_id)
    subscribers = Subscriber.objects.filter(state=Subscriber.State.ACTIVE, confirmed_at__lte=notification.created_at)
    if notification.kind in WEBHOOK_ONLY_KINDS:
        subscribers = subscribers.filter(kind=Subscriber.Kind.WEBHOOK)
    chosen = Subscriber.components.through.objects
    assets = Subscriber.assets.through.objects
    # No component and no asset chosen: the whole page.
    whole_page = ~Q(pk__in=chosen.values("subscriber_id")) & ~Q(pk__in=assets.values("subscriber_id"))
    if notification.asset_id is not None:
        return subscribers.filter(
            whole_page | Q(pk__in=assets.filter(asset_id=notification.asset_id).values("subscriber_id"))
        )
    touched = notification.components.values("pk")
    return subscribers.filter(whole_page | Q(pk__in=chosen.filter(component__in=touched).values("subscriber_id")))


def channel_for(notification: Notification, subscriber: Subscriber) -> str:
    if subscriber.kind == Subscriber.Kind.CHAT and notification.kind == Notification.Kind.SUBSCRIPTION_CONFIRM:
        return Delivery.Channel.CHAT  # a reader's channel is confirmed from a message posted to it
    if notification.kind in DIRECT_EMAIL_KINDS or subscriber.kind == Subscriber.Kind.EMAIL:
        return Delivery.Channel.EMAIL
    if subscriber.kind == Subscriber.Kind.CHAT:
        return Delivery.Channel.CHAT
    return Delivery.Channel.WEBHOOK


def fan_out(notification_id: int, *, now: datetime | None = None) -> int:
    """Make the deliveries of one notification; returns how many were made now."""
    now = now or timezone.now()
    with transaction.atomic():
        notification = (
            Notification.objects.select_for_update(skip_locked=True)
            .filter(pk=notification_id, fanned_out_at__isnull=True)
            .first()
        )
        if notification is None:
            return 0
        deliveries = [
            Delivery(
                notification=notification,
                subscriber=subscriber,
                channel=channel_for(notification, subscriber),
                next_attempt_at=now,
            )
            for subscriber in audience(notification)
        ]
        made = Delivery.objects.bulk_create(deliveries, batch_size=500, ignore_conflicts=True)
        notification.fanned_out_at = now
        notification.save(update_fields=["fanned_out_at"])
    return len(made)


def enqueue_due(*, now: datetime | None = None, limit: int = ENQUEUE_BATCH) -> int:
    """Hand every due delivery to the broker, one task each; returns how many were handed."""
    now = now or timezone.now()
    with transaction.atomic():
        ids = list(
            Delivery.objects.select_for_update(skip_locked=True)
            .filter(state=Delivery.State.PENDING, next_attempt_at__lte=now)
            .filter(Q(enqueued_at__isnull=True) | Q(enqueued_at__lt=now - REQUEUE_AFTER))
            .order_by("next_attempt_at", "id")
            .values_list("id", flat=True)[:limit]
        )
        Delivery.objects.filter(pk__in=ids).update(enqueued_at=now)
    for index, delivery_id in enumerate(ids):
        try:
            queue.enqueue_delivery(delivery_id)
        except Exception:
            Delivery.objects.filter(pk__in=ids[index:]).update(enqueued_at=None)
            logger.warning("broker unreachable: %d deliveries wait for the next sweep", len(ids) - index, exc_info=True)
            return index
    return len(ids)


def dispatch(*, now: datetime | None = None) -> dict[str, int]:
    """Fan out what is new and enqueue what is due. Idempotent; run it as often as you like."""
    now = now or timezone.now()
    pending = Notification.objects.filter(fanned_out_at__isnull=True).order_by("id").values_list("id", flat=True)
    made = sum(fan_out(notification_id, now=now) for notification_id in list(pending[:500]))
    enqueued = 0
    for _ in range(ENQUEUE_ROUNDS):
        handed = enqueue_due(now=now, limit=ENQUEUE_BATCH)
        enqueued += handed
        if handed < ENQUEUE_BATCH:
            break
    return {"deliveries_made": made, "enqueued": enqueued}
