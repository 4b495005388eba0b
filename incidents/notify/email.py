"""Notification mail: plain text and HTML parts, one-click unsubscribe, one thread per incident.

Sent by a worker through Django's email backend (SMTP in production, console in
development, locmem in tests), never from a request.

Every mail to a subscriber carries its manage link and RFC 8058 one-click unsubscribe
(`List-Unsubscribe` with a signed https URL and `List-Unsubscribe-Post`). Mails about one
incident share a thread: the first names the thread root in `Message-ID`, the later ones
in `In-Reply-To` and `References`. Each subject says what the mail tells before the
incident's name ("[OKX Status] Resolved: API errors"), so the inbox shows the news and the
name, which ends every subject of the thread, still groups them.

Each mail is written in its subscriber's language (`Subscriber.language`): the subject and
texts from the catalogs, the incident's name and updates from the notification's
`translations` (English where a text has none), the links to the pages in that language.
It is rendered per delivery, under `translation.override`, from the notification's payload
only: nothing of one language's mail is kept for another's.
"""

from __future__ import annotations

import smtplib
from datetime import datetime
from urllib.parse import urlsplit

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.template.loader import render_to_string
from django.utils import translation
from django.utils.translation import gettext, pgettext_lazy

from .. import languages
from ..markdown import render_markdown
from ..models import Delivery, Incident, Notification
from ..wire.time import in_page_time
from . import links, texts
from .types import ERROR_CHARS, Outcome

Kind = Notification.Kind

# The notification that starts an incident's thread.
THREAD_STARTERS = {Kind.INCIDENT_OPENED, Kind.MAINTENANCE_SCHEDULED}
# News that sets no status of its own (the maintenance stays `scheduled`); every other
# subject names the status, in the words of `Incident.Status`.
NEWS_WITHOUT_A_STATUS = {
    Kind.MAINTENANCE_REMINDER: pgettext_lazy("mail subject", "Reminder"),
    Kind.MAINTENANCE_RESCHEDULED: pgettext_lazy("mail subject", "Rescheduled"),
}


def _domain() -> str:
    return urlsplit(settings.STATUS_PAGE["URL"]).hostname or "localhost"


def thread_root(notification: Notification, delivery: Delivery) -> str:
    return f"<{notification.incident.public_id}.{delivery.subscriber.public_id}@{_domain()}>"


def _when(iso: str | None) -> str:
    """`2021-01-29 17:37 HKT` from the payload's ISO time (already in the page's zone)."""
    if not iso:
        return ""
    return in_page_time(datetime.fromisoformat(iso))


def news(notification: Notification, update: dict | None) -> str:
    """The first word of an incident mail's subject: the status the notified update set
    (`Investigating`, …, `Cancelled`), else the incident's status when it was notified
    (`Postmortem`), or what a reminder or a reschedule is."""
    if notification.kind in NEWS_WITHOUT_A_STATUS:
        return str(NEWS_WITHOUT_A_STATUS[notification.kind])
    incident = notification.payload.get("incident") or {}
    named = notification.update is not None and update is not None and update["id"] == notification.update.public_id
    # `phase`: the true status where Statuspage's four maintenance statuses say less (pre-open).
    chosen = (update.get("phase") or update["status"]) if named else (incident.get("phase") or incident.get("status"))
    return str(Incident.Status(chosen).label)


def incident_context(notification: Notification, language: str) -> dict:
    """What an incident mail tells, in `language` (active when called): the notified body
    with that language's texts in place (`texts.localized`), English where it has none."""
    incident = texts.localized(notification.payload, language).get("incident") or {}
    updates = incident.get("incident_updates") or []
    update = next((u for u in updates if notification.update and u["id"] == notification.update.public_id), None)
    update = update or (updates[0] if updates else None)
    is_maintenance = incident.get("kind") == "maintenance"
    if update:
        update = {
            **update,
            "status_label": str(Incident.Status(update.get("phase") or update["status"]).label),
            "when": _when(update["display_at"]),
            "body_html": render_markdown(update["body"], top_heading=3),
        }
    postmortem = notification.kind == Kind.POSTMORTEM_PUBLISHED
    return {
        "incident": incident,
        "update": update,
        "event": notification.get_kind_display(),
        "is_maintenance": is_maintenance,
        "window": (
            f"{_when(incident.get('scheduled_for'))} – {_when(incident.get('scheduled_until'))}"
            if is_maintenance
            else ""
        ),
        "components": [c["name"] for c in incident.get("components") or []],
        "postmortem": postmortem,
        "postmortem_html": render_markdown(incident.get("postmortem_body"), top_heading=3) if postmortem else "",
        "postmortem_text": incident.get("postmortem_body") if postmortem else "",
        "reminder": notification.kind == Kind.MAINTENANCE_REMINDER,
        "incident_url": (
            links.incident_url(incident["id"], language)
            if language != languages.default() and incident.get("id")
            else incident.get("shortlink", "")
        ),
    }


def build(delivery: Delivery) -> EmailMultiAlternatives:
    """The mail of one delivery, in its subscriber's language: subject, texts, the
    incident's own words and the links (to the pages in that language)."""
    language = links.language_of(delivery.subscriber)
    with translation.override(language):
        return _build(delivery, language)


def _build(delivery: Delivery, language: str) -> EmailMultiAlternatives:
    notification, subscriber = delivery.notification, delivery.subscriber
    page = settings.STATUS_PAGE
    context = {
        "page": page,
        "page_url": links.page_url(language),
        "notification": notification,
        "subscriber": subscriber,
    }
    headers = {"Auto-Submitted": "auto-generated", "X-Auto-Response-Suppress": "All"}
    to = subscriber.email
    if notification.kind == Kind.SUBSCRIPTION_CONFIRM:
        template = "email/confirm"
        subject = gettext("Confirm your subscription to %(page)s") % {"page": page["NAME"]}
        context["confirm_url"] = links.confirm_url(subscriber, language)
    elif notification.kind == Kind.SUBSCRIPTION_EXISTING:
        template = "email/existing"
        subject = gettext("Your subscription to %(page)s") % {"page": page["NAME"]}
        context["manage_url"] = links.manage_url(subscriber, language)
    elif notification.kind == Kind.WEBHOOK_QUARANTINED:
        template = "email/webhook_quarantined"
        subject = gettext("[%(page)s] Webhook deliveries paused for %(endpoint)s") % {
            "page": page["NAME"],
            "endpoint": subscriber.endpoint or subscriber.chat_label,
        }
        to = subscriber.owner_email
    else:
        template = "email/notification"
        context.update(incident_context(notification, language))
        subject = gettext("[%(page)s] %(news)s: %(name)s") % {
            "page": page["NAME"],
            "news": news(notification, context["update"]),
            "name": context["incident"].get("name", ""),
        }
        context["manage_url"] = links.manage_url(subscriber, language)
        context["unsubscribe_url"] = unsubscribe = links.unsubscribe_url(subscriber, language)
        headers["List-Unsubscribe"] = f"<{unsubscribe}>"
        headers["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
        headers["List-Id"] = f"{page['NAME']} <status.{_domain()}>"
        root = thread_root(notification, delivery)
        if notification.kind in THREAD_STARTERS:
            headers["Message-ID"] = root
        else:
            headers["Message-ID"] = f"<{notification.public_id}.{subscriber.public_id}@{_domain()}>"
            headers["In-Reply-To"] = root
            headers["References"] = root
    message = EmailMultiAlternatives(
        subject=subject,
        body=render_to_string(f"{template}.txt", context),
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=[to],
        headers=headers,
    )
    message.attach_alternative(render_to_string(f"{template}.html", context), "text/html")
    return message


def send(delivery: Delivery) -> Outcome:
    """Send one delivery's mail; a refusal or an unreachable server is a failed attempt."""
    try:
        sent = build(delivery).send()
    except (smtplib.SMTPException, OSError) as exc:
        return Outcome(delivered=False, error=f"{type(exc).__name__}: {exc}"[:ERROR_CHARS])
    if not sent:
        return Outcome(delivered=False, error="the mail backend sent nothing")
    return Outcome(delivered=True)
