"""Telling subscribers: the outbox, who is told what, and delivery with retries.

How a message travels, and why nothing is lost on the way:

1. A service notes what to tell (`Notice`) while it makes a change; `record` writes the
   `Notification` rows in the same transaction, so the change and its message commit
   together or not at all. After commit, `kick` asks a worker to dispatch now. That is
   best effort: with the broker down it logs and moves on, and the operator's change
   stands.
2. `dispatch` (kicked, and every 30 s from beat) makes one `Delivery` per subscriber told
   (unique per notification and subscriber: doing it twice makes nothing twice) and hands
   every delivery that is due to the broker, one task each, so one slow receiver never
   holds up the others.
3. `attempt` claims one delivery, sends it once (email or signed webhook), logs the
   attempt and either marks it delivered or writes when to try again
   (`next_attempt_at`: long delays live in the database, not in broker countdowns).

Who is told: an active subscriber to the whole page hears of everything that asks to be
told, including components added after it subscribed; a subscriber to some components
only of what touches one of them. Component status changes go to webhooks only.
"""

from __future__ import annotations

import http.client
import json
import logging
import random
import threading
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import Q, QuerySet
from django.utils import timezone

from . import formats, links, selectors
from . import status as rules
from .models import (
    Component,
    Delivery,
    DeliveryAttempt,
    Incident,
    IncidentUpdate,
    Notification,
    PublicEvent,
    Subscriber,
)

logger = logging.getLogger(__name__)

Kind = Notification.Kind

# Kinds sent to one subscriber by email, whatever the subscriber's kind.
DIRECT_EMAIL_KINDS = {Kind.SUBSCRIPTION_CONFIRM, Kind.SUBSCRIPTION_EXISTING, Kind.WEBHOOK_QUARANTINED}
WEBHOOK_ONLY_KINDS = {Kind.COMPONENT_UPDATED}

# A worker holds a claimed delivery this long; longer than any one attempt can take.
ATTEMPT_LEASE = timedelta(minutes=2)
# A delivery handed to the broker but not attempted by then is handed over again.
REQUEUE_AFTER = timedelta(minutes=5)
# Retries due sooner than this go through a broker countdown; later ones wait for the sweep.
COUNTDOWN_LIMIT = timedelta(seconds=30)
# One sweep hands over at most this many deliveries; the next sweep takes the rest.
ENQUEUE_BATCH = 1000
ENQUEUE_ROUNDS = 20
# Publishing must not hold a request or a sweep when the broker is away.
QUICK_PUBLISH = {"retry": True, "retry_policy": {"max_retries": 1, "interval_start": 0, "interval_step": 0.2}}


# --- recording (inside the service's transaction) -----------------------------------------


@dataclass
class Notice:
    """Something to tell, noted by a service before it is written to the outbox."""

    kind: str
    event: PublicEvent | None = None
    incident: Incident | None = None
    update: IncidentUpdate | None = None
    component: Component | None = None
    recipient: Subscriber | None = None
    payload: dict = field(default_factory=dict)


def _page_block() -> dict:
    """Statuspage's `page` object of a webhook: the banner once the change is made."""
    components = selectors.visible_components()
    open_impacts = Incident.objects.filter(kind=Incident.Kind.INCIDENT, status__in=rules.INCIDENT_OPEN).values_list(
        "impact", flat=True
    )
    in_progress = Incident.objects.filter(kind=Incident.Kind.MAINTENANCE, status__in=rules.MAINTENANCE_ACTIVE).exists()
    banner = rules.page_status((c.status for c in components), open_impacts, maintenance_in_progress=in_progress)
    return {
        "id": settings.STATUS_PAGE["ID"],
        "status_indicator": banner.indicator,
        "status_description": banner.description,
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
        payload = dict(notice.payload)
        components: list[int] = []
        if notice.kind == Kind.COMPONENT_UPDATED:
            components = [notice.component.pk]
        elif notice.incident is not None and notice.kind not in DIRECT_EMAIL_KINDS:
            if "incident" not in payload:
                payload["incident"] = formats.incident_json(selectors.incident_detail(notice.incident.public_id))
            components = list(Component.objects.filter(incidents=notice.incident).values_list("pk", flat=True))
        if notice.kind not in DIRECT_EMAIL_KINDS:
            page = page or _page_block()
            payload["page"] = page
        notification = Notification.objects.create(
            kind=notice.kind,
            event=notice.event,
            incident=notice.incident,
            update=notice.update,
            component=notice.component,
            recipient=notice.recipient,
            payload=payload,
            created_at=now,
        )
        if components:
            notification.components.set(components)
        written.append(notification)
    if kick_after_commit:
        transaction.on_commit(kick)
    else:
        _after_commit.kick = True
    return written


def kick_if_recorded() -> None:
    """After a public change's commit: kick the dispatcher if the change told anyone."""
    if getattr(_after_commit, "kick", False):
        _after_commit.kick = False
        kick()


def kick() -> None:
    """Ask a worker to dispatch now. Best effort: the periodic sweep catches up otherwise."""
    from . import tasks

    try:
        tasks.dispatch_notifications.apply_async(**QUICK_PUBLISH)
    except Exception:
        # The notifications are committed; beat's sweep sends them once the broker is back.
        logger.warning("broker unreachable: notifications wait for the next sweep", exc_info=True)


# --- who is told -------------------------------------------------------------------------


def audience(notification: Notification) -> QuerySet[Subscriber]:
    """The subscribers this notification goes to."""
    if notification.recipient_id is not None:
        return Subscriber.objects.filter(pk=notification.recipient_id)
    subscribers = Subscriber.objects.filter(state=Subscriber.State.ACTIVE, confirmed_at__lte=notification.created_at)
    if notification.kind in WEBHOOK_ONLY_KINDS:
        subscribers = subscribers.filter(kind=Subscriber.Kind.WEBHOOK)
    chosen = Subscriber.components.through.objects
    touched = notification.components.values("pk")
    return subscribers.filter(
        ~Q(pk__in=chosen.values("subscriber_id"))
        | Q(pk__in=chosen.filter(component__in=touched).values("subscriber_id"))
    )


def channel_for(notification: Notification, subscriber: Subscriber) -> str:
    if notification.kind in DIRECT_EMAIL_KINDS or subscriber.kind == Subscriber.Kind.EMAIL:
        return Delivery.Channel.EMAIL
    return Delivery.Channel.WEBHOOK


# --- dispatching (worker) ----------------------------------------------------------------


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
    from . import tasks

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
            tasks.deliver_notification.apply_async((delivery_id,), **QUICK_PUBLISH)
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


# --- attempting (worker) -----------------------------------------------------------------


@dataclass(frozen=True)
class Outcome:
    """What one attempt came to."""

    delivered: bool
    status_code: int | None = None
    error: str = ""
    retry_after: float | None = None
    gone: bool = False
    address: str = ""
    excerpt: str = ""


def retry_delay(attempts_made: int, *, retry_after: float | None = None) -> timedelta | None:
    """How long to wait after `attempts_made` failed tries, or None to give up.

    The schedule (`NOTIFICATION_RETRY_SCHEDULE`) with ±20 % jitter, so receivers that
    failed together are not retried together; a receiver's `Retry-After` wins while the
    schedule lasts, held between 1 s and a day.
    """
    schedule = settings.NOTIFICATION_RETRY_SCHEDULE
    if attempts_made > len(schedule):
        return None
    if retry_after is not None:
        return timedelta(seconds=min(max(retry_after, 1.0), 86400.0))
    return timedelta(seconds=schedule[attempts_made - 1] * random.uniform(0.8, 1.2))


def _claim(delivery_id: int, now: datetime) -> bool:
    return bool(
        Delivery.objects.filter(
            Q(in_flight_until__isnull=True) | Q(in_flight_until__lt=now),
            pk=delivery_id,
            state=Delivery.State.PENDING,
            next_attempt_at__lte=now + timedelta(seconds=1),
        ).update(in_flight_until=now + ATTEMPT_LEASE)
    )


def _may_send(delivery: Delivery) -> str | None:
    """Why this delivery must not go out any more, or None."""
    subscriber = delivery.subscriber
    if delivery.notification.recipient_id == subscriber.pk:
        return None
    if subscriber.state != Subscriber.State.ACTIVE:
        return f"subscriber is {subscriber.get_state_display().lower()}"
    return None


def _send(delivery: Delivery) -> Outcome:
    if delivery.channel == Delivery.Channel.WEBHOOK:
        return send_webhook(delivery)
    from . import emails

    return emails.send(delivery)


def attempt(delivery_id: int) -> str:
    """Try one delivery once, if it is due and no other worker holds it; log the attempt.

    Returns what became of it: delivered, retry, failed, cancelled or skipped.
    """
    now = timezone.now()
    if not _claim(delivery_id, now):
        return "skipped"
    delivery = Delivery.objects.select_related("notification", "subscriber").filter(pk=delivery_id).first()
    if delivery is None:  # its subscriber was deleted meanwhile
        return "skipped"
    refusal = _may_send(delivery)
    if refusal:
        Delivery.objects.filter(pk=delivery_id).update(
            state=Delivery.State.CANCELLED, last_error=refusal, in_flight_until=None, next_attempt_at=None
        )
        return "cancelled"
    started, clock = timezone.now(), time.monotonic()
    try:
        outcome = _send(delivery)
    except Exception as exc:
        # A bug or an unexpected library error must not leave the delivery stuck: log it as
        # a failed attempt, retried on the schedule like any other.
        logger.exception("delivery %s failed unexpectedly", delivery_id)
        outcome = Outcome(delivered=False, error=f"{type(exc).__name__}: {exc}")
    duration_ms = int((time.monotonic() - clock) * 1000)
    return _settle(delivery, outcome, started=started, duration_ms=duration_ms)


def _settle(delivery: Delivery, outcome: Outcome, *, started: datetime, duration_ms: int) -> str:
    from . import tasks

    now = timezone.now()
    countdown = None
    with transaction.atomic():
        delivery = Delivery.objects.select_for_update().filter(pk=delivery.pk).first()
        if delivery is None:  # its subscriber was deleted during the attempt
            return "skipped"
        subscriber = Subscriber.objects.select_for_update().get(pk=delivery.subscriber_id)
        delivery.attempt_count += 1
        DeliveryAttempt.objects.create(
            delivery=delivery,
            number=delivery.attempt_count,
            started_at=started,
            duration_ms=duration_ms,
            address=outcome.address,
            status_code=outcome.status_code,
            error=outcome.error[:500],
            response_excerpt=outcome.excerpt,
        )
        delivery.last_status_code = outcome.status_code
        delivery.last_error = outcome.error[:500]
        delivery.in_flight_until = None
        delivery.enqueued_at = None
        is_webhook = delivery.channel == Delivery.Channel.WEBHOOK
        if outcome.delivered:
            result = "delivered"
            delivery.state = Delivery.State.DELIVERED
            delivery.delivered_at = now
            delivery.next_attempt_at = None
            if is_webhook and subscriber.consecutive_failures:
                subscriber.consecutive_failures = 0
                subscriber.save(update_fields=["consecutive_failures"])
        elif outcome.gone and is_webhook:
            result = "failed"
            delivery.state = Delivery.State.FAILED
            delivery.next_attempt_at = None
            _disable(subscriber, now, "The endpoint answered 410 Gone.")
        else:
            delay = retry_delay(delivery.attempt_count, retry_after=outcome.retry_after)
            if delay is None:
                result = "failed"
                delivery.state = Delivery.State.FAILED
                delivery.next_attempt_at = None
                logger.warning("delivery %s gave up after %d attempts", delivery.pk, delivery.attempt_count)
            else:
                result = "retry"
                delivery.next_attempt_at = now + delay
                if delay <= COUNTDOWN_LIMIT:
                    countdown = delay.total_seconds()
                    delivery.enqueued_at = now
            if is_webhook:
                subscriber.consecutive_failures += 1
                subscriber.save(update_fields=["consecutive_failures"])
                if (
                    subscriber.state == Subscriber.State.ACTIVE
                    and subscriber.consecutive_failures >= settings.WEBHOOK_QUARANTINE_AFTER
                ):
                    _quarantine(subscriber, now)
        delivery.save()
    if countdown is not None:
        try:
            tasks.deliver_notification.apply_async((delivery.pk,), countdown=countdown, **QUICK_PUBLISH)
        except Exception:
            Delivery.objects.filter(pk=delivery.pk, enqueued_at=now).update(enqueued_at=None)
            logger.warning("broker unreachable: the retry of delivery %s waits for the sweep", delivery.pk)
    return result


def _disable(subscriber: Subscriber, now: datetime, reason: str) -> None:
    logger.warning("webhook subscriber %s disabled: %s", subscriber.public_id, reason)
    subscriber.state = Subscriber.State.DISABLED
    subscriber.disabled_reason = reason
    subscriber.unsubscribed_at = now
    subscriber.save(update_fields=["state", "disabled_reason", "unsubscribed_at"])


def _quarantine(subscriber: Subscriber, now: datetime) -> None:
    """Stop sending to a webhook that keeps failing; its owner is told when we know one."""
    reason = f"Quarantined after {subscriber.consecutive_failures} failed deliveries in a row."
    logger.warning("webhook subscriber %s (%s): %s", subscriber.public_id, subscriber.endpoint, reason)
    subscriber.state = Subscriber.State.QUARANTINED
    subscriber.quarantined_at = now
    subscriber.disabled_reason = reason
    subscriber.save(update_fields=["state", "quarantined_at", "disabled_reason"])
    if subscriber.owner_email:
        record([Notice(Kind.WEBHOOK_QUARANTINED, recipient=subscriber)], now=now)


def redeliver(delivery_ids: Iterable[int]) -> int:
    """Operators: send these deliveries again (same message id), whatever became of them.

    Those in a worker's hands right now are left alone. After commit the dispatcher is kicked.
    """
    now = timezone.now()
    with transaction.atomic():
        count = (
            Delivery.objects.filter(pk__in=list(delivery_ids))
            .filter(Q(in_flight_until__isnull=True) | Q(in_flight_until__lt=now))
            .update(state=Delivery.State.PENDING, next_attempt_at=now, enqueued_at=None, in_flight_until=None)
        )
        transaction.on_commit(kick)
    return count


# --- webhooks ----------------------------------------------------------------------------


def message_id(notification: Notification) -> str:
    """`webhook-id`: one per message, the same on every retry and redelivery."""
    return f"msg_{notification.public_id}"


def webhook_body(delivery: Delivery) -> bytes:
    """Statuspage's webhook shapes: `{meta, page, incident}` or `{meta, page, component,
    component_update}`. The same bytes on every attempt."""
    notification, subscriber = delivery.notification, delivery.subscriber
    body = {
        "meta": {
            "unsubscribe": links.unsubscribe_url(subscriber),
            "documentation": links.absolute("/api/docs/"),
            "generated_at": formats.iso(notification.created_at),
            "event": notification.kind,
        },
        **notification.payload,
    }
    return json.dumps(body, separators=(",", ":"), ensure_ascii=False).encode()


def send_webhook(delivery: Delivery) -> Outcome:
    """One signed POST to the subscriber's endpoint, after the SSRF check."""
    from . import webhooks

    subscriber = delivery.subscriber
    body = webhook_body(delivery)
    headers = webhooks.signed_headers(subscriber.webhook_secret, message_id(delivery.notification), body)
    try:
        destination = webhooks.check_url(subscriber.endpoint)
    except webhooks.UnsafeDestination as exc:
        return Outcome(delivered=False, error=f"refused: {exc}")
    try:
        response = webhooks.post(destination, body, headers)
    except (OSError, http.client.HTTPException) as exc:
        return Outcome(delivered=False, error=f"{type(exc).__name__}: {exc}"[:500], address=destination.address)
    status = response.status
    error = ""
    if 300 <= status < 400:
        error = f"redirect to {response.location or '?'} not followed"
    elif not 200 <= status < 300:
        error = f"HTTP {status}"
    return Outcome(
        delivered=200 <= status < 300,
        status_code=status,
        error=error,
        retry_after=response.retry_after if status in (429, 503) else None,
        gone=status == 410,
        address=destination.address,
        excerpt=response.excerpt,
    )
