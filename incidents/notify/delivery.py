"""Attempting, in a worker: one delivery, once, logged; then delivered, or when to retry.

`attempt` claims one delivery, sends it once (email or signed webhook), logs the attempt
and either marks it delivered or writes when to try again (`next_attempt_at`: long delays
live in the database, not in broker countdowns). A webhook that keeps failing is
quarantined and its owner told; one that answers 410 is disabled.
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Iterable
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from ..models import Delivery, DeliveryAttempt, Subscriber
from . import chat, email, outbox, queue, webhook
from .types import ERROR_CHARS, Kind, Notice, Outcome

logger = logging.getLogger(__name__)

# A worker holds a claimed delivery this long; longer than any one attempt can take.
ATTEMPT_LEASE = timedelta(minutes=2)
# Retries due sooner than this go through a broker countdown; later ones wait for the sweep.
COUNTDOWN_LIMIT = timedelta(seconds=30)


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


CLAIM_SLACK = timedelta(milliseconds=50)


def _claim(delivery_id: int, now: datetime) -> bool:
    return bool(
        Delivery.objects.filter(
            Q(in_flight_until__isnull=True) | Q(in_flight_until__lt=now),
            pk=delivery_id,
            state=Delivery.State.PENDING,
            # Never early: a task's countdown ends at or after `next_attempt_at` (a receiver's
            # Retry-After included); the slack only absorbs clock rounding. A duplicate
            # message (delivery is at least once) finds nothing due and does nothing.
            next_attempt_at__lte=now + CLAIM_SLACK,
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
        return webhook.send(delivery)
    if delivery.channel == Delivery.Channel.CHAT:
        return chat.send(delivery)
    return email.send(delivery)


def chat_wait(delivery: Delivery, now: datetime) -> float:
    """Seconds before this community-channel message may go out: a channel reads its
    messages in the order of the news (an earlier one still pending goes first), at most
    one per `CHAT_MIN_INTERVAL` (Telegram takes about 20 a minute in a group or channel)."""
    subscriber = delivery.subscriber
    ahead = Delivery.objects.filter(
        subscriber_id=subscriber.pk,
        channel=Delivery.Channel.CHAT,
        state=Delivery.State.PENDING,
        notification_id__lt=delivery.notification_id,
    )
    if ahead.exists():
        return CHAT_TURN_CHECK.total_seconds()
    last = (
        Delivery.objects.filter(subscriber_id=subscriber.pk, channel=Delivery.Channel.CHAT, delivered_at__isnull=False)
        .order_by("-delivered_at")
        .values_list("delivered_at", flat=True)
        .first()
    )
    if last is None:
        return 0.0
    return max(0.0, (last + chat_interval(subscriber) - now).total_seconds())


def chat_interval(subscriber: Subscriber) -> timedelta:
    service = subscriber.chat_url.split("://", 1)[0]
    return timedelta(seconds=settings.CHAT_MIN_INTERVAL.get(service, settings.CHAT_MIN_INTERVAL.get("*", 1.0)))


# A message waiting behind an earlier one of its channel looks again this often (the
# earlier one, once delivered, also hands it over at once).
CHAT_TURN_CHECK = timedelta(seconds=5)


def _postpone(delivery: Delivery, seconds: float, now: datetime) -> str:
    """Not this message's turn yet: due again in `seconds`, no attempt made or counted."""
    due = now + timedelta(seconds=seconds)
    Delivery.objects.filter(pk=delivery.pk).update(in_flight_until=None, next_attempt_at=due, enqueued_at=now)
    try:
        queue.enqueue_delivery(delivery.pk, countdown=seconds)
    except Exception:
        Delivery.objects.filter(pk=delivery.pk).update(enqueued_at=None)
    return "waiting"


def _hand_over_next_chat(delivery: Delivery, now: datetime) -> None:
    """A channel's message went out: its next one is due after the channel's interval."""
    following = (
        Delivery.objects.filter(
            subscriber_id=delivery.subscriber_id,
            channel=Delivery.Channel.CHAT,
            state=Delivery.State.PENDING,
            notification_id__gt=delivery.notification_id,
        )
        .order_by("notification_id")
        .first()
    )
    if following is not None:
        _postpone(following, chat_interval(delivery.subscriber).total_seconds(), now)


def attempt(delivery_id: int) -> str:
    """Try one delivery once, if it is due and no other worker holds it; log the attempt.

    Returns what became of it: delivered, retry, failed, cancelled, skipped, or waiting
    (a community channel's earlier message goes first).
    """
    now = timezone.now()
    if not _claim(delivery_id, now):
        return "skipped"
    delivery = Delivery.objects.select_related("notification", "subscriber").filter(pk=delivery_id).first()
    if delivery is None:  # its subscriber was deleted meanwhile
        return "skipped"
    if delivery.channel == Delivery.Channel.CHAT:
        wait = chat_wait(delivery, now)
        if wait > 0:
            return _postpone(delivery, wait, now)
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
    result = _settle(delivery, outcome, started=started, duration_ms=duration_ms)
    if result == "delivered" and delivery.channel == Delivery.Channel.CHAT:
        _hand_over_next_chat(delivery, timezone.now())
    return result


def _settle(delivery: Delivery, outcome: Outcome, *, started: datetime, duration_ms: int) -> str:
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
            error=outcome.error[:ERROR_CHARS],
            response_excerpt=outcome.excerpt,
        )
        delivery.last_status_code = outcome.status_code
        delivery.last_error = outcome.error[:ERROR_CHARS]
        delivery.in_flight_until = None
        delivery.enqueued_at = None
        # Webhooks and community channels count their failures in a row (quarantine).
        is_webhook = delivery.channel in (Delivery.Channel.WEBHOOK, Delivery.Channel.CHAT)
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
            queue.enqueue_delivery(delivery.pk, countdown=countdown)
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
        outbox.record([Notice(Kind.WEBHOOK_QUARANTINED, recipient=subscriber)], now=now)


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
        transaction.on_commit(queue.kick)
    return count
