"""Public subscription pages: subscribe, confirm, manage, unsubscribe (one-click too).

Links in mail carry a signed token (`incidents.notify.links`); opening one never changes
anything by itself (mail scanners open links): each page asks for a button press, a POST.
The RFC 8058 one-click unsubscribe is that POST made by the mail client, without cookies,
so only that view is exempt from CSRF: its token is what authorizes it.
"""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods

from .. import services
from ..models import Subscriber
from ..notify import links
from .forms import ChannelForm, ManageForm, SubscribeForm


def _add_errors(form, error: ValidationError) -> None:
    for field, messages in error.message_dict.items():
        form.add_error(field if field in form.fields else None, messages)


@require_http_methods(["GET", "POST"])
def subscribe(request):
    """The form answers the same for every address; the mail goes out later, from a worker.

    The mail's language is the reader's choice, preselected to the page's language
    (/zh-hans/subscribe: Simplified Chinese); a form without the choice (the status page's
    one-line form, posted to the page's own /subscribe) means the page's language."""
    initial = {"language": request.LANGUAGE_CODE}
    if request.POST.get("via") == "channel":
        return _subscribe_channel(request, initial)
    form = SubscribeForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            services.subscriber_request(
                email=form.cleaned_data["email"],
                components=form.cleaned_data["components"],
                language=form.cleaned_data["language"] or request.LANGUAGE_CODE,
            )
        except ValidationError as error:
            _add_errors(form, error)
        else:
            return redirect("subscribe-sent")
    status = 400 if request.method == "POST" else 200
    context = {"form": form, "channel_form": ChannelForm(initial=initial, prefix=ChannelForm.prefix)}
    return render(request, "subscriptions/subscribe.html", context, status=status)


def _subscribe_channel(request, initial: dict):
    """A Slack or Discord channel: a test message is posted to it with the link that
    starts the posts; the answer is the same whatever the channel's state."""
    channel_form = ChannelForm(request.POST, initial=initial, prefix=ChannelForm.prefix)
    if channel_form.is_valid():
        try:
            services.subscriber_request_channel(
                webhook_url=channel_form.cleaned_data["webhook_url"],
                components=channel_form.cleaned_data["components"],
                language=channel_form.cleaned_data["language"] or request.LANGUAGE_CODE,
            )
        except ValidationError as error:
            _add_errors(channel_form, error)
        else:
            return redirect("subscribe-sent-channel")
    context = {"form": SubscribeForm(initial=initial), "channel_form": channel_form}
    return render(request, "subscriptions/subscribe.html", context, status=400)


def subscribe_sent_channel(request):
    return render(request, "subscriptions/sent.html", {"channel": True})


def subscribe_sent(request):
    return render(request, "subscriptions/sent.html")


def _bad_link(request, error: links.BadLink):
    return render(request, "subscriptions/bad_link.html", {"error": str(error)}, status=400)


@require_http_methods(["GET", "POST"])
def confirm(request, token: str):
    try:
        subscriber = links.subscriber_for_confirm_token(token)
    except links.BadLink as error:
        return _bad_link(request, error)
    if request.method == "POST":
        subscriber = services.subscriber_confirm(subscriber=subscriber)
    # The manage page in the language of this one.
    context = {"subscriber": subscriber, "manage_url": links.manage_url(subscriber, request.LANGUAGE_CODE)}
    return render(request, "subscriptions/confirm.html", context)


@require_http_methods(["GET", "POST"])
def manage(request, token: str):
    try:
        subscriber = links.subscriber_for_manage_token(token)
    except links.BadLink as error:
        return _bad_link(request, error)
    saved = False
    if request.method == "POST" and request.POST.get("action") == "unsubscribe":
        services.subscriber_unsubscribe(subscriber=subscriber)
        return render(request, "subscriptions/unsubscribed.html", {"subscriber": subscriber})
    form = None
    if request.method == "POST":
        form = ManageForm(request.POST)
        if form.is_valid():
            try:
                subscriber = services.subscriber_update(
                    subscriber=subscriber,
                    components=form.cleaned_data["components"],
                    # Left out (an older form): the language stays as it is.
                    language=form.cleaned_data["language"] or None,
                )
            except ValidationError as error:
                _add_errors(form, error)
            else:
                saved = True
    if form is None or saved:
        # The choices as they stand (saved ones included).
        form = ManageForm(initial={"components": list(subscriber.components.all()), "language": subscriber.language})
    context = {
        "form": form,
        "subscriber": subscriber,
        "saved": saved,
        "active": subscriber.state == Subscriber.State.ACTIVE,
    }
    status = 400 if form.is_bound and form.errors else 200
    return render(request, "subscriptions/manage.html", context, status=status)


@csrf_exempt
@require_http_methods(["GET", "POST"])
def unsubscribe(request, token: str):
    """GET asks for confirmation; POST unsubscribes: the page's button or a mail client's
    RFC 8058 one-click request (`List-Unsubscribe=One-Click`, no cookies)."""
    try:
        subscriber = links.subscriber_for_manage_token(token)
    except links.BadLink as error:
        return _bad_link(request, error)
    if request.method == "GET":
        return render(request, "subscriptions/unsubscribe.html", {"subscriber": subscriber})
    services.subscriber_unsubscribe(subscriber=subscriber)
    if request.POST.get("List-Unsubscribe") == "One-Click":
        return HttpResponse(gettext("Unsubscribed.") + "\n", content_type="text/plain; charset=utf-8")
    return render(request, "subscriptions/unsubscribed.html", {"subscriber": subscriber})
