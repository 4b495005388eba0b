"""Community channels: Telegram, Discord, Slack, Mattermost, ntfy and the rest of Apprise's
services, told of incidents and maintenance like email subscribers are.

A channel is a subscriber of kind `chat` whose Apprise URL (`tgram://bot-token/chat-id`,
`discord://webhook-id/webhook-token`, `slack://…`, `mmost://host/token`, `ntfy://host/topic`)
holds its credentials. Each message is short and in Markdown (Apprise writes it the way
each service takes it): the news and the name, the update's own words, what it affects
and the link to the incident, in the channel's language. An update is a new message; on
Slack (a bot token: `slack://xoxb-…/#channel`) the updates of one incident are replies in
the thread of its first message (`ChatThread`).

It goes through the outbox like email and webhooks: written in the change's
transaction, attempted by a worker, retried on the schedule, quarantined after repeated
failures, every attempt in the admin's log. Apprise answers only whether the service
took the message; what it logged on the way is the attempt's error.
"""

from __future__ import annotations

import logging

import apprise
from apprise.plugins.discord import NotifyDiscord
from apprise.plugins.slack import NotifySlack, SlackMode
from apprise.plugins.telegram import NotifyTelegram
from django.conf import settings
from django.utils import translation
from django.utils.translation import gettext

from ..models import ChatThread, Delivery, Notification
from . import email, links
from .types import ERROR_CHARS, Outcome

# Each plugin's API base: (its attribute, Apprise's own value, the setting, the path the
# plugin expects after the base). Telegram's base ends in `/bot` (the token follows).
_API_BASES = (
    (NotifyTelegram, "notify_url", NotifyTelegram.notify_url, "CHAT_TELEGRAM_API_URL", "/bot"),
    (NotifyDiscord, "notify_url", NotifyDiscord.notify_url, "CHAT_DISCORD_API_URL", ""),
    (NotifySlack, "webhook_url", NotifySlack.webhook_url, "CHAT_SLACK_API_URL", ""),
    (NotifySlack, "api_url", NotifySlack.api_url, "CHAT_SLACK_BOT_API_URL", "/{}"),
)


def _apply_api_bases() -> None:
    """Point Apprise's plugins at the configured API bases (a self-hosted Telegram Bot API
    server, a proxy), else at the services' own."""
    for plugin, attribute, default, setting, suffix in _API_BASES:
        configured = getattr(settings, setting, "")
        setattr(plugin, attribute, configured.rstrip("/") + suffix if configured else default)


def check_url(url: str) -> str:
    """The channel's Apprise URL, if Apprise knows its service; else ValueError."""
    url = (url or "").strip()
    if not url or apprise.Apprise.instantiate(url) is None:
        raise ValueError("Not a channel URL Apprise knows (for example tgram://bot-token/chat-id).")
    return url


def message(delivery: Delivery) -> tuple[str, str]:
    """The title and the Markdown body of one delivery, in its channel's language."""
    language = links.language_of(delivery.subscriber)
    with translation.override(language):
        notification = delivery.notification
        if notification.kind == Notification.Kind.SUBSCRIPTION_CONFIRM:
            return _confirmation(delivery, language)
        context = email.incident_context(notification, language)
        incident, update = context["incident"], context["update"]
        title = f"{email.news(notification, update)}: {incident.get('name', '')}"
        lines = []
        if context["is_maintenance"] and context["window"]:
            lines.append(gettext("Window: %(window)s") % {"window": context["window"]})
        if context["postmortem"]:
            lines.append(context["postmortem_text"] or "")
        elif update:
            lines.append(update["body"])
        if context["components"]:
            lines.append(gettext("Affects: %(names)s") % {"names": ", ".join(context["components"])})
        if context["incident_url"]:
            lines.append(context["incident_url"])
        return title, "\n\n".join(line for line in lines if line)


def _confirmation(delivery: Delivery, language: str) -> tuple[str, str]:
    """The test message of a reader's channel: opening its link starts the posts."""
    page = settings.STATUS_PAGE["NAME"]
    subscriber = delivery.subscriber
    title = gettext("Confirm posts from %(page)s") % {"page": page}
    body = gettext(
        "Someone asked for %(page)s to post its incidents and maintenance to this channel. To start, open "
        "%(confirm)s and press the button. If nobody here asked, ignore this message: nothing more is posted."
    ) % {"page": page, "confirm": links.confirm_url(subscriber, language)}
    return title, body


def send(delivery: Delivery) -> Outcome:
    """Post one delivery's message to its channel once."""
    subscriber = delivery.subscriber
    _apply_api_bases()
    url = subscriber.chat_url
    if "?" not in url:
        url += f"?rto={settings.CHAT_TIMEOUT:g}&cto={settings.CHAT_TIMEOUT:g}"
    plugin = apprise.Apprise.instantiate(url)
    if plugin is None:
        return Outcome(delivered=False, error="Apprise does not know this channel's URL", address=subscriber.chat_label)
    threaded = _threading(plugin, delivery)
    channels = apprise.Apprise()
    channels.add(plugin)
    title, body = message(delivery)
    with apprise.LogCapture(level=logging.WARNING) as captured:
        delivered = channels.notify(title=title, body=body, body_format=apprise.NotifyFormat.MARKDOWN)
    error = "" if delivered else (captured.getvalue().strip() or "the service refused the message")
    if delivered and threaded is not None:
        threaded()
    return Outcome(delivered=bool(delivered), error=error[-ERROR_CHARS:], address=subscriber.chat_label)


def _threading(plugin, delivery: Delivery):
    """On Slack with a bot token, one channel: a later message about an incident replies in
    the thread of the first (Apprise's `#channel:ts` target); the first one's `ts` is kept.
    Returns what to do once the message is posted (keep the thread), or None."""
    notification = delivery.notification
    if not (
        isinstance(plugin, NotifySlack)
        and plugin.mode is SlackMode.BOT
        and notification.incident_id is not None
        and len(plugin.channels) == 1
        and ":" not in plugin.channels[0]  # a thread chosen in the URL itself stays
    ):
        return None
    known = ChatThread.objects.filter(subscriber=delivery.subscriber, incident_id=notification.incident_id).first()
    if known is not None:
        plugin.channels = [f"{plugin.channels[0]}:{known.thread}"]
        return None
    # Apprise keeps Slack's answer to itself: read the posted message's `ts` off the plugin's
    # one request method (tests/notify/test_chat.py fails if Apprise stops calling it).
    answers: list[dict] = []
    post = plugin._send

    def keeping_answers(*args, **kwargs):
        answer = post(*args, **kwargs)
        if isinstance(answer, dict):
            answers.append(answer)
        return answer

    plugin._send = keeping_answers

    def keep_thread() -> None:
        ts = next((a["ts"] for a in answers if a.get("ok") and isinstance(a.get("ts"), str)), None)
        if ts:
            ChatThread.objects.get_or_create(
                subscriber=delivery.subscriber, incident_id=notification.incident_id, defaults={"thread": ts[:64]}
            )

    return keep_thread
