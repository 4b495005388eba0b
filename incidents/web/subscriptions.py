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
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods

from .. import services
from ..models import Subscriber
from ..notify import links
from .forms import ManageForm, SubscribeForm


@require_http_methods(["GET", "POST"])
def subscribe(request):
    """The form answers the same for every address; the mail goes out later, from a worker."""
    form = SubscribeForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            services.subscriber_request(email=form.cleaned_data["email"], components=form.cleaned_data["components"])
        except ValidationError as error:
            for field, messages in error.message_dict.items():
                form.add_error(field if field in form.fields else None, messages)
        else:
            return redirect("subscribe-sent")
    status = 400 if request.method == "POST" else 200
    return render(request, "subscriptions/subscribe.html", {"form": form}, status=status)


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
    context = {"subscriber": subscriber, "manage_url": links.manage_url(subscriber)}
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
    if request.method == "POST":
        form = ManageForm(request.POST)
        if form.is_valid():
            subscriber = services.subscriber_set_components(
                subscriber=subscriber, components=form.cleaned_data["components"]
            )
            saved = True
    else:
        form = ManageForm(initial={"components": list(subscriber.components.all())})
    context = {
        "form": form,
        "subscriber": subscriber,
        "saved": saved,
        "active": subscriber.state == Subscriber.State.ACTIVE,
    }
    status = 400 if form.is_bound and not form.is_valid() else 200
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
        return HttpResponse("Unsubscribed.\n", content_type="text/plain; charset=utf-8")
    return render(request, "subscriptions/unsubscribed.html", {"subscriber": subscriber})
