"""Notification mail: plain text and HTML parts, one-click unsubscribe, one thread per incident.

Sent by a worker through Django's email backend (SMTP in production, console in
development, locmem in tests), never from a request.

Every mail to a subscriber carries its manage link and RFC 8058 one-click unsubscribe
(`List-Unsubscribe` with a signed https URL and `List-Unsubscribe-Post`). Mails about one
incident share a thread: the first names the thread root in `Message-ID`, the later ones
in `In-Reply-To` and `References`. Each subject says what the mail tells before the
incident's name ("[OKX Status] Resolved: API errors"), so the inbox shows the news and the
name, which ends every subject of the thread, still groups them.
"""

from __future__ import annotations

import smtplib
from datetime import datetime
from urllib.parse import urlsplit

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.template.loader import render_to_string

from ..markdown import render_markdown
from ..models import Delivery, Incident, Notification
from ..wire.time import in_page_time
from . import links
from .types import ERROR_CHARS, Outcome

Kind = Notification.Kind

# The notification that starts an incident's thread.
THREAD_STARTERS = {Kind.INCIDENT_OPENED, Kind.MAINTENANCE_SCHEDULED}
# News that sets no status of its own (the maintenance stays `scheduled`); every other
# subject names the status, in the words of `Incident.Status`.
NEWS_WITHOUT_A_STATUS = {Kind.MAINTENANCE_REMINDER: "Reminder", Kind.MAINTENANCE_RESCHEDULED: "Rescheduled"}


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
        return NEWS_WITHOUT_A_STATUS[notification.kind]
    incident = notification.payload.get("incident") or {}
    named = notification.update is not None and update is not None and update["id"] == notification.update.public_id
    return Incident.Status(update["status"] if named else incident.get("status")).label


def _incident_context(notification: Notification) -> dict:
    incident = notification.payload.get("incident") or {}
    updates = incident.get("incident_updates") or []
    update = next((u for u in updates if notification.update and u["id"] == notification.update.public_id), None)
    update = update or (updates[0] if updates else None)
    is_maintenance = incident.get("kind") == "maintenance"
    if update:
        update = {
            **update,
            "status_label": Incident.Status(update["status"]).label,
            "when": _when(update["display_at"]),
            "body_html": render_markdown(update["body"], top_heading=3),
        }
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
        "postmortem_html": (
            render_markdown(incident.get("postmortem_body"), top_heading=3)
            if notification.kind == Kind.POSTMORTEM_PUBLISHED
            else ""
        ),
        "postmortem_text": incident.get("postmortem_body") if notification.kind == Kind.POSTMORTEM_PUBLISHED else "",
        "reminder": notification.kind == Kind.MAINTENANCE_REMINDER,
        "incident_url": incident.get("shortlink", ""),
    }


def build(delivery: Delivery) -> EmailMultiAlternatives:
    """The mail of one delivery."""
    notification, subscriber = delivery.notification, delivery.subscriber
    page = settings.STATUS_PAGE
    context = {"page": page, "notification": notification, "subscriber": subscriber}
    headers = {"Auto-Submitted": "auto-generated", "X-Auto-Response-Suppress": "All"}
    to = subscriber.email
    if notification.kind == Kind.SUBSCRIPTION_CONFIRM:
        template = "email/confirm"
        subject = f"Confirm your subscription to {page['NAME']}"
        context["confirm_url"] = links.confirm_url(subscriber)
    elif notification.kind == Kind.SUBSCRIPTION_EXISTING:
        template = "email/existing"
        subject = f"Your subscription to {page['NAME']}"
        context["manage_url"] = links.manage_url(subscriber)
    elif notification.kind == Kind.WEBHOOK_QUARANTINED:
        template = "email/webhook_quarantined"
        subject = f"[{page['NAME']}] Webhook deliveries paused for {subscriber.endpoint}"
        to = subscriber.owner_email
    else:
        template = "email/notification"
        context.update(_incident_context(notification))
        subject = f"[{page['NAME']}] {news(notification, context['update'])}: {context['incident'].get('name', '')}"
        context["manage_url"] = links.manage_url(subscriber)
        context["unsubscribe_url"] = unsubscribe = links.unsubscribe_url(subscriber)
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
