"""Signed links for subscribers: confirm an address, manage a subscription, unsubscribe.

A link carries the subscriber's public id signed with SECRET_KEY (and a purpose of its
own, so one kind of link never works as another). Confirmation links expire
(`SUBSCRIPTION_CONFIRM_MAX_AGE`); manage and unsubscribe links do not, so the link in a
year-old mail still unsubscribes. A link leads to the page in the subscriber's language
(`/zh-hant/subscriptions/manage/…`), or in the one asked for.
"""

from __future__ import annotations

from django.conf import settings
from django.core import signing
from django.urls import reverse
from django.utils import translation
from django.utils.translation import gettext

from .. import languages
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
        raise BadLink(gettext("This confirmation link has expired. Subscribe again to get a new one.")) from exc
    except signing.BadSignature as exc:
        raise BadLink(gettext("This confirmation link is not valid.")) from exc
    return _subscriber(public_id)


def subscriber_for_manage_token(token: str) -> Subscriber:
    try:
        public_id = _MANAGE.unsign(token)
    except signing.BadSignature as exc:
        raise BadLink(gettext("This link is not valid.")) from exc
    return _subscriber(public_id)


def _subscriber(public_id: str) -> Subscriber:
    subscriber = Subscriber.objects.filter(public_id=public_id).first()
    if subscriber is None:
        raise BadLink(gettext("This subscription no longer exists."))
    return subscriber


def language_of(subscriber: Subscriber) -> str:
    """The language a subscriber is written to in: its choice, while the page still has it."""
    code = subscriber.language
    return code if code in languages.codes() else languages.default()


def _page_link(name: str, args: list, language: str) -> str:
    """An absolute link to a page in `language` (its prefix: /zh-hans/…; none for the default)."""
    with translation.override(language):
        return absolute(reverse(name, args=args))


def confirm_url(subscriber: Subscriber, language: str | None = None) -> str:
    """The confirmation page, in the subscriber's language unless `language` says."""
    return _page_link("subscription-confirm", [confirm_token(subscriber)], language or language_of(subscriber))


def manage_url(subscriber: Subscriber, language: str | None = None) -> str:
    return _page_link("subscription-manage", [manage_token(subscriber)], language or language_of(subscriber))


def unsubscribe_url(subscriber: Subscriber, language: str | None = None) -> str:
    return _page_link("subscription-unsubscribe", [manage_token(subscriber)], language or language_of(subscriber))


def page_url(language: str) -> str:
    """The status page in `language`: the page's own URL for the default language."""
    if language == languages.default():
        return settings.STATUS_PAGE["URL"]
    return _page_link("status-page", [], language)


def incident_url(public_id: str, language: str) -> str:
    return _page_link("incident-detail", [public_id], language)
