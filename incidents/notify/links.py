"""Signed links for subscribers: confirm an address, manage a subscription, unsubscribe.

A link carries the subscriber's public id signed with SECRET_KEY (and a purpose of its
own, so one kind of link never works as another). Confirmation links expire
(`SUBSCRIPTION_CONFIRM_MAX_AGE`); manage and unsubscribe links do not, so the link in a
year-old mail still unsubscribes.
"""

from __future__ import annotations

from django.conf import settings
from django.core import signing
from django.urls import reverse

from ..models import Subscriber
from ..wire.page import absolute

_CONFIRM = signing.TimestampSigner(salt="incidents.subscriptions.confirm")
_MANAGE = signing.Signer(salt="incidents.subscriptions.manage")


class BadLink(Exception):
    """A link this server did not make, or one that has expired."""


def confirm_token(subscriber: Subscriber) -> str:
    return _CONFIRM.sign(subscriber.public_id)


def manage_token(subscriber: Subscriber) -> str:
    return _MANAGE.sign(subscriber.public_id)


def subscriber_for_confirm_token(token: str) -> Subscriber:
    try:
        public_id = _CONFIRM.unsign(token, max_age=settings.SUBSCRIPTION_CONFIRM_MAX_AGE)
    except signing.SignatureExpired as exc:
        raise BadLink("This confirmation link has expired. Subscribe again to get a new one.") from exc
    except signing.BadSignature as exc:
        raise BadLink("This confirmation link is not valid.") from exc
    return _subscriber(public_id)


def subscriber_for_manage_token(token: str) -> Subscriber:
    try:
        public_id = _MANAGE.unsign(token)
    except signing.BadSignature as exc:
        raise BadLink("This link is not valid.") from exc
    return _subscriber(public_id)


def _subscriber(public_id: str) -> Subscriber:
    subscriber = Subscriber.objects.filter(public_id=public_id).first()
    if subscriber is None:
        raise BadLink("This subscription no longer exists.")
    return subscriber


def confirm_url(subscriber: Subscriber) -> str:
    return absolute(reverse("subscription-confirm", args=[confirm_token(subscriber)]))


def manage_url(subscriber: Subscriber) -> str:
    return absolute(reverse("subscription-manage", args=[manage_token(subscriber)]))


def unsubscribe_url(subscriber: Subscriber) -> str:
    return absolute(reverse("subscription-unsubscribe", args=[manage_token(subscriber)]))
