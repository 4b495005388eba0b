"""The operators' admin site: a one-time code at every login, and enrolment.

* Login: username, password and the 6-digit code of the operator's authenticator app
  (TOTP, django-otp). The code is required whenever the operator has enrolled one; a wrong
  code counts as a failed login for the lockout (django-axes), and each device also
  slows down guesses itself (django-otp's throttling).
* ADMIN_REQUIRE_2FA (settings): the admin is reachable only from a session verified with
  a code. An operator with no authenticator yet logs in with the password and lands on
  the enrolment page (/admin/two-factor/: QR code and secret), and reaches the admin once
  the first code from the app is accepted. An operator who enrolled cannot enrol another
  device without first giving a code (so a stolen password does not make a new device).
* `manage.py reset_2fa <username>` removes an operator's devices (a lost phone); they
  enrol again at their next login.
"""

from __future__ import annotations

import base64

import segno
from django import forms
from django.conf import settings
from django.contrib import admin
from django.contrib.admin.forms import AdminAuthenticationForm
from django.contrib.auth import REDIRECT_FIELD_NAME
from django.contrib.auth.signals import user_login_failed
from django.http import HttpResponseRedirect
from django.shortcuts import render
from django.urls import path, reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.safestring import mark_safe
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_protect
from django_otp import login as otp_login
from django_otp import user_has_device
from django_otp.plugins.otp_totp.models import TOTPDevice

ENROL_DEVICE_NAME = "Authenticator app"


def confirmed_devices(user) -> list[TOTPDevice]:
    return list(TOTPDevice.objects.filter(user=user, confirmed=True))


class OperatorLoginForm(AdminAuthenticationForm):
    otp_token = forms.CharField(
        label="Code from your authenticator app",
        required=False,
        max_length=8,
        widget=forms.TextInput(attrs={"autocomplete": "one-time-code", "inputmode": "numeric"}),
        help_text="Leave empty only if you have not set up an authenticator yet.",
    )
    error_messages = {
        **AdminAuthenticationForm.error_messages,
        "otp_required": "Enter the 6-digit code from your authenticator app.",
        "otp_invalid": "That code is wrong or expired. Enter the current code from your authenticator app.",
    }

    def clean(self):
        cleaned = super().clean()  # the password (and the lockout) first
        user = self.get_user()
        if user is None:
            return cleaned
        devices = confirmed_devices(user)
        if not devices:
            return cleaned  # not enrolled: the site sends them to enrol (or lets them in, 2FA off)
        token = (cleaned.get("otp_token") or "").strip().replace(" ", "")
        if not token:
            raise self._failed(user, "otp_required")
        for device in devices:
            if device.verify_token(token):
                user.otp_device = device  # django_otp marks the session verified at login
                return cleaned
        raise self._failed(user, "otp_invalid")

    def _failed(self, user, code: str) -> forms.ValidationError:
        # A wrong code is a failed login: it counts towards the lockout like a wrong password.
        user_login_failed.send(
            sender=__name__,
            credentials={"username": user.get_username()},
            request=self.request,
        )
        return forms.ValidationError(self.error_messages[code], code=code)


class EnrolForm(forms.Form):
    otp_token = forms.CharField(
        label="Code shown by the app",
        max_length=8,
        widget=forms.TextInput(attrs={"autocomplete": "one-time-code", "inputmode": "numeric", "autofocus": True}),
    )


class OperatorsAdminSite(admin.AdminSite):
    login_form = OperatorLoginForm
    login_template = "admin/operators_login.html"

    def has_permission(self, request):
        if not super().has_permission(request):
            return False
        return not settings.ADMIN_REQUIRE_2FA or request.user.is_verified()

    def login(self, request, extra_context=None):
        # Logged in with the password but not yet enrolled: on to enrolment.
        if request.method == "GET" and self._must_enrol(request):
            return HttpResponseRedirect(self._enrol_url(request))
        return super().login(request, extra_context)

    def _must_enrol(self, request) -> bool:
        user = request.user
        return (
            settings.ADMIN_REQUIRE_2FA
            and user.is_active
            and user.is_staff
            and not user.is_verified()
            and not user_has_device(user, confirmed=True)
        )

    def _enrol_url(self, request) -> str:
        url = reverse("admin:two_factor", current_app=self.name)
        next_url = request.GET.get(REDIRECT_FIELD_NAME)
        return f"{url}?{REDIRECT_FIELD_NAME}={next_url}" if next_url else url

    def get_urls(self):
        enrol = never_cache(csrf_protect(self.two_factor_view))
        return [path("two-factor/", enrol, name="two_factor"), *super().get_urls()]

    def two_factor_view(self, request):
        """Enrol an authenticator app: the QR code and the secret, then its first code."""
        user = request.user
        if not (user.is_active and user.is_staff):
            return HttpResponseRedirect(reverse("admin:login", current_app=self.name))
        # Another device only from a session verified with a code of an enrolled one.
        if user_has_device(user, confirmed=True) and not user.is_verified():
            return HttpResponseRedirect(reverse("admin:login", current_app=self.name))
        device = TOTPDevice.objects.filter(user=user, confirmed=False).order_by("pk").first()
        if device is None:
            device = TOTPDevice.objects.create(user=user, name=ENROL_DEVICE_NAME, confirmed=False)
        form = EnrolForm(request.POST or None)
        if request.method == "POST" and form.is_valid():
            if device.verify_token(form.cleaned_data["otp_token"].strip().replace(" ", "")):
                device.confirmed = True
                device.save(update_fields=["confirmed"])
                otp_login(request, device)
                next_url = request.POST.get(REDIRECT_FIELD_NAME) or ""
                if not url_has_allowed_host_and_scheme(
                    next_url, allowed_hosts={request.get_host()}, require_https=request.is_secure()
                ):
                    next_url = reverse("admin:index", current_app=self.name)
                return HttpResponseRedirect(next_url)
            form.add_error("otp_token", "That code is wrong or expired. Enter the current code from the app.")
        qr = segno.make(device.config_url, error="m")
        context = {
            **self.each_context(request),
            "title": "Set up two-factor authentication",
            "form": form,
            "qr_svg": mark_safe(qr.svg_inline(scale=5, omitsize=False)),  # noqa: S308 - segno's own SVG
            "secret": base64.b32encode(device.bin_key).decode(),
            "enrolled": confirmed_devices(user),
            "next": request.GET.get(REDIRECT_FIELD_NAME, request.POST.get(REDIRECT_FIELD_NAME, "")),
        }
        request.current_app = self.name
        return render(request, "admin/two_factor.html", context)
