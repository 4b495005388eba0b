"""Subscribers (email and webhooks) and what operators do with their deliveries.

Subscriber changes are not public: no event, no snapshot rebuild.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import timedelta

from django.core.exceptions import ValidationError
from django.core.validators import EmailValidator, URLValidator
from django.db import transaction
from django.utils import timezone

from .. import languages
from ..models import Component, Notification, Subscriber
from ..notify import chat, delivery, outbox, webhook
from ..notify.types import Notice
from . import audit, checks
from .change import Actor


def check_language(value: str | None) -> str:
    """A subscriber's language: one of the page's (`settings.LANGUAGES`) codes, the
    default when none is given; anything else is refused on `language`."""
    if value is None or value == "":
        return languages.default()
    code = value.strip().lower() if isinstance(value, str) else value
    if code not in languages.codes():
        raise ValidationError(
            {"language": f"{value!r} is not one of this page's languages; use one of {', '.join(languages.codes())}."}
        )
    return code


def check_chat_url(url: str) -> str:
    """A community channel's Apprise URL, checked: Apprise knows its service."""
    try:
        return chat.check_url(url)
    except ValueError as exc:
        raise ValidationError({"chat_url": str(exc)}) from exc


def subscriber_create(
    *,
    actor: Actor,
    email: str = "",
    endpoint: str = "",
    components: Iterable[Component] = (),
    confirmed: bool = False,
    owner_email: str = "",
    language: str | None = None,
    assets: Iterable = (),
    chat_url: str = "",
    chat_name: str = "",
):
    """Subscribe an email address, a webhook endpoint or a community channel (`chat_url`,
    an Apprise URL, set up by an operator: the exchange's official Telegram channel, its
    Discord announcements) to the page or some components (and, a webhook, to the
    deposits and withdrawals of some `assets`).

    A webhook gets its signing secret now (returned once by the API); its URL must pass
    the SSRF check (`webhook.check_url`). An email address waits for confirmation unless
    an operator vouches for it (`confirmed`); a new pending address is sent the
    confirmation mail after commit. `language` (one of the page's, the default if none)
    is the language of the mail it gets; webhook bodies carry every language. Subscriber
    changes are not public, so no event and no snapshot rebuild.
    """
    language = check_language(language)
    email, endpoint = (email or "").strip().lower(), (endpoint or "").strip()
    owner_email = (owner_email or "").strip().lower()
    chat_name = checks.name(chat_name, "chat_name", required=False, max_length=120)
    if [bool(email), bool(endpoint), bool((chat_url or "").strip())].count(True) != 1:
        raise ValidationError({"email": "Give one of an email address, a webhook endpoint or a channel URL."})
    if owner_email:
        try:
            EmailValidator()(owner_email)
        except ValidationError as exc:
            raise ValidationError({"owner_email": exc.messages})
    if chat_url:
        chat_url = check_chat_url(chat_url)
        with transaction.atomic():
            subscriber = Subscriber.objects.create(
                kind=Subscriber.Kind.CHAT,
                chat_url=chat_url,
                chat_name=chat_name,
                owner_email=owner_email,
                language=language,
                state=Subscriber.State.ACTIVE,
                confirmed_at=timezone.now(),
            )
            subscriber.components.set(list(components))
            audit.record(actor, "subscriber.create", subscriber, changes={"state": [None, subscriber.state]})
        return subscriber
    try:
        if email:
            EmailValidator()(email)
        else:
            URLValidator(schemes=["http", "https"])(endpoint)
    except ValidationError as exc:
        raise ValidationError({"email" if email else "endpoint": exc.messages})
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
                language=language,
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
                language=language,
                state=Subscriber.State.ACTIVE,
                confirmed_at=timezone.now(),
                webhook_secret=webhook.new_secret(),
            )
        subscriber.components.set(list(components))
        subscriber.assets.set(list(assets))
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


def subscriber_request(*, email: str, components: Iterable[Component] = (), language: str | None = None) -> None:
    """A reader asks, on the public form, for mail to `email`: the same answer for anyone.

    New or unsubscribed: pending, with the chosen components (none: the whole page) and
    language (the mail's, the confirmation's first), and a confirmation mail. Pending: the
    chosen components and language, and the confirmation mail again. Confirmed: unchanged
    (its language too: only its manage link changes it), and a mail with its manage link.
    Every mail is sent later by a worker (at most one per address every few minutes), so
    neither the answer nor its timing tells whether an address is subscribed. Only a
    malformed address or a language the page does not have is refused.
    """
    email = (email or "").strip().lower()
    try:
        EmailValidator()(email)
    except ValidationError as exc:
        raise ValidationError({"email": exc.messages})
    language = check_language(language)
    components = list(components)
    with transaction.atomic():
        subscriber = Subscriber.objects.select_for_update().filter(kind=Subscriber.Kind.EMAIL, email=email).first()
        if subscriber is None:
            subscriber = Subscriber.objects.create(kind=Subscriber.Kind.EMAIL, email=email)
        if subscriber.state == Subscriber.State.ACTIVE:
            _subscription_mail(subscriber, Notification.Kind.SUBSCRIPTION_EXISTING)
            return
        subscriber.state = Subscriber.State.PENDING
        subscriber.language = language
        subscriber.save(update_fields=["state", "language"])
        subscriber.components.set(components)
        _subscription_mail(subscriber, Notification.Kind.SUBSCRIPTION_CONFIRM)


# What a reader may give on the public form: a Slack or Discord incoming webhook, as the
# service itself writes it. Apprise posts to the service's own host whatever the URL says
# (or to the configured proxy), so a reader never chooses where a request goes: no host of
# theirs is ever connected to (a stricter guard than the webhooks' address check).
READER_CHANNEL_URLS = (
    (
        "Slack",
        re.compile(r"^https://hooks\.slack\.com/services/[A-Za-z0-9]{1,40}/[A-Za-z0-9]{1,40}/[A-Za-z0-9]{1,80}$"),
    ),
    ("Discord", re.compile(r"^https://(?:discord|discordapp)\.com/api/webhooks/[0-9]{1,30}/[A-Za-z0-9_-]{1,100}$")),
)


def reader_channel(url: str) -> tuple[str, str]:
    """The service and URL of a reader's Slack or Discord webhook; else ValidationError."""
    url = (url or "").strip()
    for service, pattern in READER_CHANNEL_URLS:
        if pattern.match(url):
            return service, check_chat_url(url)
    raise ValidationError(
        {
            "webhook_url": "Give a Slack or Discord incoming-webhook URL (https://hooks.slack.com/services/… "
            "or https://discord.com/api/webhooks/…)."
        }
    )


def subscriber_request_channel(*, webhook_url: str, components: Iterable[Component] = (), language=None) -> None:
    """A reader asks, on the public form, for a Slack or Discord channel of theirs to be
    posted to: pending until someone in that channel opens the link of the test message
    posted there (so nobody can have a channel they cannot read spammed). The same answer
    for anyone; at most one test message per channel every few minutes."""
    service, url = reader_channel(webhook_url)
    language = check_language(language)
    components = list(components)
    with transaction.atomic():
        subscriber = Subscriber.objects.select_for_update().filter(kind=Subscriber.Kind.CHAT, chat_url=url).first()
        if subscriber is not None and subscriber.state == Subscriber.State.ACTIVE:
            return
        if subscriber is None:
            subscriber = Subscriber.objects.create(
                kind=Subscriber.Kind.CHAT, chat_url=url, chat_name=f"{service} channel", language=language
            )
            audit.record(Actor.system("public"), "subscriber.create", subscriber, changes={"state": [None, "pending"]})
        elif subscriber.state in (Subscriber.State.PENDING, Subscriber.State.UNSUBSCRIBED):
            subscriber.state, subscriber.language = Subscriber.State.PENDING, language
            subscriber.save(update_fields=["state", "language"])
        else:  # quarantined or disabled: an operator looks at it first
            return
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


def subscriber_update(
    *, subscriber: Subscriber, components: Iterable[Component] | None = None, language: str | None = None
) -> Subscriber:
    """The subscriber's own choices (its manage page): what to hear of (some components, or
    none for the whole page) and the language of its mail. What is None stays as it is."""
    if language is not None:
        language = check_language(language)
    with transaction.atomic():
        subscriber = Subscriber.objects.select_for_update().get(pk=subscriber.pk)
        if components is not None:
            subscriber.components.set(list(components))
        if language is not None and language != subscriber.language:
            subscriber.language = language
            subscriber.save(update_fields=["language"])
    return subscriber


def subscriber_set_components(*, subscriber: Subscriber, components: Iterable[Component]) -> Subscriber:
    """Choose what to hear of: some components, or none for the whole page."""
    return subscriber_update(subscriber=subscriber, components=components)


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
    """Operators: resume a quarantined or disabled webhook (or community channel) once its
    endpoint works again."""
    with transaction.atomic():
        subscriber = Subscriber.objects.select_for_update().get(pk=subscriber.pk)
        if subscriber.kind not in (Subscriber.Kind.WEBHOOK, Subscriber.Kind.CHAT) or subscriber.state not in (
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
