"""Subscribers (email and webhooks) and what operators do with their deliveries.

Subscriber changes are not public: no event, no snapshot rebuild.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import timedelta

from django.core.exceptions import ValidationError
from django.core.validators import EmailValidator, URLValidator
from django.db import transaction
from django.utils import timezone

from ..models import Component, Notification, Subscriber
from ..notify import delivery, outbox, webhook
from ..notify.types import Notice
from . import audit
from .change import Actor


def subscriber_create(
    *,
    actor: Actor,
    email: str = "",
    endpoint: str = "",
    components: Iterable[Component] = (),
    confirmed: bool = False,
    owner_email: str = "",
):
    """Subscribe an email address or a webhook endpoint to the page or some components.

    A webhook gets its signing secret now (returned once by the API); its URL must pass
    the SSRF check (`webhook.check_url`). An email address waits for confirmation unless
    an operator vouches for it (`confirmed`); a new pending address is sent the
    confirmation mail after commit. Subscriber changes are not public, so no event and no
    snapshot rebuild.
    """
    email, endpoint = (email or "").strip().lower(), (endpoint or "").strip()
    owner_email = (owner_email or "").strip().lower()
    if bool(email) == bool(endpoint):
        raise ValidationError({"email": "Give either an email address or a webhook endpoint."})
    try:
        if email:
            EmailValidator()(email)
        else:
            URLValidator(schemes=["http", "https"])(endpoint)
    except ValidationError as exc:
        raise ValidationError({"email" if email else "endpoint": exc.messages})
    if owner_email:
        try:
            EmailValidator()(owner_email)
        except ValidationError as exc:
            raise ValidationError({"owner_email": exc.messages})
    if endpoint:
        try:
            webhook.check_url(endpoint)
        except webhook.UnsafeDestination as exc:
            raise ValidationError({"endpoint": str(exc)})
    with transaction.atomic():
        if email:
            existing = Subscriber.objects.filter(kind=Subscriber.Kind.EMAIL, email=email).first()
            if existing is not None:
                return existing
            subscriber = Subscriber.objects.create(
                kind=Subscriber.Kind.EMAIL,
                email=email,
                state=Subscriber.State.ACTIVE if confirmed else Subscriber.State.PENDING,
                confirmed_at=timezone.now() if confirmed else None,
            )
            if not confirmed:
                _subscription_mail(subscriber, Notification.Kind.SUBSCRIPTION_CONFIRM)
        else:
            subscriber = Subscriber.objects.create(
                kind=Subscriber.Kind.WEBHOOK,
                endpoint=endpoint,
                owner_email=owner_email,
                state=Subscriber.State.ACTIVE,
                confirmed_at=timezone.now(),
                webhook_secret=webhook.new_secret(),
            )
        subscriber.components.set(list(components))
        audit.record(actor, "subscriber.create", subscriber, changes={"state": [None, subscriber.state]})
    return subscriber


# At most one subscription mail per address in this time: the form cannot mail-bomb anyone.
SUBSCRIPTION_MAIL_INTERVAL = timedelta(minutes=2)


def _subscription_mail(subscriber: Subscriber, kind: str) -> None:
    recent = subscriber.direct_notifications.filter(
        kind__in=(Notification.Kind.SUBSCRIPTION_CONFIRM, Notification.Kind.SUBSCRIPTION_EXISTING),
        created_at__gte=timezone.now() - SUBSCRIPTION_MAIL_INTERVAL,
    )
    if not recent.exists():
        outbox.record([Notice(kind, recipient=subscriber)])


def subscriber_request(*, email: str, components: Iterable[Component] = ()) -> None:
    """A reader asks, on the public form, for mail to `email`: the same answer for anyone.

    New or unsubscribed: pending, with the chosen components (none: the whole page), and
    a confirmation mail. Pending: the chosen components and the confirmation mail again.
    Confirmed: unchanged, and a mail with its manage link. Every mail is sent later by a
    worker (at most one per address every few minutes), so neither the answer nor its
    timing tells whether an address is subscribed. Only a malformed address is refused.
    """
    email = (email or "").strip().lower()
    try:
        EmailValidator()(email)
    except ValidationError as exc:
        raise ValidationError({"email": exc.messages})
    components = list(components)
    with transaction.atomic():
        subscriber = Subscriber.objects.select_for_update().filter(kind=Subscriber.Kind.EMAIL, email=email).first()
        if subscriber is None:
            subscriber = Subscriber.objects.create(kind=Subscriber.Kind.EMAIL, email=email)
        if subscriber.state == Subscriber.State.ACTIVE:
            _subscription_mail(subscriber, Notification.Kind.SUBSCRIPTION_EXISTING)
            return
        subscriber.state = Subscriber.State.PENDING
        subscriber.save(update_fields=["state"])
        subscriber.components.set(components)
        _subscription_mail(subscriber, Notification.Kind.SUBSCRIPTION_CONFIRM)


def subscriber_confirm(*, subscriber: Subscriber) -> Subscriber:
    """The owner of the address opened the signed confirmation link: mail starts now."""
    with transaction.atomic():
        subscriber = Subscriber.objects.select_for_update().get(pk=subscriber.pk)
        if subscriber.state == Subscriber.State.PENDING:
            subscriber.state = Subscriber.State.ACTIVE
            subscriber.confirmed_at = timezone.now()
            subscriber.unsubscribed_at = None
            subscriber.save(update_fields=["state", "confirmed_at", "unsubscribed_at"])
            audit.record(
                Actor.system("public"), "subscriber.confirm", subscriber, changes={"state": ["pending", "active"]}
            )
    return subscriber


def subscriber_set_components(*, subscriber: Subscriber, components: Iterable[Component]) -> Subscriber:
    """Choose what to hear of: some components, or none for the whole page."""
    with transaction.atomic():
        subscriber = Subscriber.objects.select_for_update().get(pk=subscriber.pk)
        subscriber.components.set(list(components))
    return subscriber


def subscriber_unsubscribe(*, subscriber: Subscriber) -> Subscriber:
    """Stop all mail (or webhooks) to this subscriber; pending deliveries are not sent."""
    with transaction.atomic():
        subscriber = Subscriber.objects.select_for_update().get(pk=subscriber.pk)
        if subscriber.state != Subscriber.State.UNSUBSCRIBED:
            old = subscriber.state
            subscriber.state = Subscriber.State.UNSUBSCRIBED
            subscriber.unsubscribed_at = timezone.now()
            subscriber.save(update_fields=["state", "unsubscribed_at"])
            audit.record(
                Actor.system("public"), "subscriber.unsubscribe", subscriber, changes={"state": [old, "unsubscribed"]}
            )
    return subscriber


def subscriber_reactivate(*, subscriber: Subscriber, actor: Actor) -> Subscriber:
    """Operators: resume a quarantined or disabled webhook once its endpoint works again."""
    with transaction.atomic():
        subscriber = Subscriber.objects.select_for_update().get(pk=subscriber.pk)
        if subscriber.kind != Subscriber.Kind.WEBHOOK or subscriber.state not in (
            Subscriber.State.QUARANTINED,
            Subscriber.State.DISABLED,
        ):
            raise ValidationError({"state": "Only a quarantined or disabled webhook can be reactivated."})
        audit.record(actor, "subscriber.reactivate", subscriber, changes={"state": [subscriber.state, "active"]})
        subscriber.state = Subscriber.State.ACTIVE
        subscriber.consecutive_failures = 0
        subscriber.quarantined_at = None
        subscriber.unsubscribed_at = None
        subscriber.disabled_reason = ""
        subscriber.save(
            update_fields=["state", "consecutive_failures", "quarantined_at", "unsubscribed_at", "disabled_reason"]
        )
    return subscriber


def subscriber_delete(*, subscriber, actor: Actor) -> None:
    """Remove a subscriber for good (operators; readers unsubscribe by link)."""
    with transaction.atomic():
        audit.record(actor, "subscriber.delete", subscriber)
        subscriber.delete()


def delivery_redeliver(*, delivery_ids: Iterable[int], actor: Actor) -> int:
    """Operators: send these deliveries again (the same message id), whatever became of them.

    Those in a worker's hands right now are left alone. After commit the dispatcher is
    kicked. Returns how many were queued again."""
    delivery_ids = list(delivery_ids)
    with transaction.atomic():
        count = delivery.redeliver(delivery_ids)
        audit.record(actor, "delivery.redeliver", None, changes={"deliveries": [None, sorted(delivery_ids)]})
    return count
