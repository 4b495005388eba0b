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
* Passkeys (django-otp-webauthn): an operator may add a passkey on the enrolment page (from
  a verified session, or as the first device). One with a passkey logs in with the
  password and no code, and is then asked for the passkey (/admin/two-factor/verify/,
  where a code also works); the admin stays closed to that session until then, whatever
  ADMIN_REQUIRE_2FA says.
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
from django.utils.http import url_has_allowed_host_and_scheme, urlencode
from django.utils.safestring import mark_safe
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_protect
from django_otp import login as otp_login
from django_otp import user_has_device
from django_otp.plugins.otp_totp.models import TOTPDevice
from django_otp_webauthn.models import WebAuthnCredential

ENROL_DEVICE_NAME = "Authenticator app"


def confirmed_devices(user) -> list[TOTPDevice]:
    return list(TOTPDevice.objects.filter(user=user, confirmed=True))


def passkeys(user) -> list[WebAuthnCredential]:
    return list(WebAuthnCredential.objects.filter(user=user, confirmed=True).order_by("pk"))


def safe_next(request, fallback: str) -> str:
    next_url = request.POST.get(REDIRECT_FIELD_NAME) or request.GET.get(REDIRECT_FIELD_NAME) or ""
    if url_has_allowed_host_and_scheme(next_url, allowed_hosts={request.get_host()}, require_https=request.is_secure()):
        return next_url
    return fallback


def verify_code(request, user, token: str) -> bool:
    """A code of one of the user's authenticators: the session is verified with it. A wrong
    one is a failed login, and counts towards the lockout like a wrong password."""
    token = token.strip().replace(" ", "")
    for device in confirmed_devices(user):
        if device.verify_token(token):
            user.otp_device = device  # django_otp marks the session verified at login
            return True
    login_failed(request, user)
    return False


def login_failed(request, user) -> None:
    """A missing or wrong code: a failed login for the lockout (django-axes) and its log."""
    user_login_failed.send(sender=__name__, credentials={"username": user.get_username()}, request=request)


class OperatorLoginForm(AdminAuthenticationForm):
    otp_token = forms.CharField(
        label="Code from your authenticator app",
        required=False,
        max_length=8,
        widget=forms.TextInput(attrs={"autocomplete": "one-time-code", "inputmode": "numeric"}),
        help_text="Leave empty if you use a passkey (asked next), or have not set up an authenticator yet.",
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
        token = (cleaned.get("otp_token") or "").strip()
        if not token and passkeys(user):
            return cleaned  # the passkey is asked next; the admin stays closed until then
        if not confirmed_devices(user):
            return cleaned  # not enrolled: the site sends them to enrol (or lets them in, 2FA off)
        if not token:
            login_failed(self.request, user)
            raise forms.ValidationError(self.error_messages["otp_required"], code="otp_required")
        if not verify_code(self.request, user, token):
            raise forms.ValidationError(self.error_messages["otp_invalid"], code="otp_invalid")
        return cleaned


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
        user = request.user
        # Verified with a code or a passkey; or, with 2FA not required, an operator who has
        # no device (one who has must use it: a password alone never opens their account).
        return user.is_verified() or not (settings.ADMIN_REQUIRE_2FA or user_has_device(user, confirmed=True))

    def login(self, request, extra_context=None):
        # Logged in with the password: not yet enrolled, on to enrolment; with a passkey
        # (and no code given), on to the passkey.
        if request.method == "GET" and self._must_enrol(request):
            return HttpResponseRedirect(self._step_url(request, "admin:two_factor"))
        if request.method == "GET" and self._must_verify(request):
            return HttpResponseRedirect(self._step_url(request, "admin:two_factor_verify"))
        return super().login(request, extra_context)

    def _must_verify(self, request) -> bool:
        user = request.user
        return user.is_active and user.is_staff and not user.is_verified() and user_has_device(user, confirmed=True)

    def _must_enrol(self, request) -> bool:
        user = request.user
        return (
            settings.ADMIN_REQUIRE_2FA
            and user.is_active
            and user.is_staff
            and not user.is_verified()
            and not user_has_device(user, confirmed=True)
        )

    def _step_url(self, request, name: str) -> str:
        url = reverse(name, current_app=self.name)
        next_url = request.GET.get(REDIRECT_FIELD_NAME)
        return f"{url}?{urlencode({REDIRECT_FIELD_NAME: next_url})}" if next_url else url

    def get_urls(self):
        enrol = never_cache(csrf_protect(self.two_factor_view))
        verify = never_cache(csrf_protect(self.verify_view))
        return [
            path("two-factor/", enrol, name="two_factor"),
            path("two-factor/verify/", verify, name="two_factor_verify"),
            *super().get_urls(),
        ]

    def verify_view(self, request):
        """The second step for an operator with a passkey: the passkey, or a code."""
        user = request.user
        index = reverse("admin:index", current_app=self.name)
        if not (user.is_active and user.is_staff):
            return HttpResponseRedirect(reverse("admin:login", current_app=self.name))
        if user.is_verified():
            return HttpResponseRedirect(safe_next(request, index))
        form = EnrolForm(request.POST or None)
        if request.method == "POST" and form.is_valid():
            if verify_code(request, user, form.cleaned_data["otp_token"]):
                otp_login(request, user.otp_device)
                return HttpResponseRedirect(safe_next(request, index))
            form.add_error("otp_token", "That code is wrong or expired. Enter the current code from your app.")
        context = {
            **self.each_context(request),
            "title": "Confirm it is you",
            "form": form,
            "has_code": bool(confirmed_devices(user)),
            "next": safe_next(request, index),
        }
        request.current_app = self.name
        return render(request, "admin/two_factor_verify.html", context)

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
                return HttpResponseRedirect(safe_next(request, reverse("admin:index", current_app=self.name)))
            form.add_error("otp_token", "That code is wrong or expired. Enter the current code from the app.")
        qr = segno.make(device.config_url, error="m")
        context = {
            **self.each_context(request),
            "title": "Set up two-factor authentication",
            "form": form,
            "qr_svg": mark_safe(qr.svg_inline(scale=5, omitsize=False)),  # noqa: S308 - segno's own SVG
            "secret": base64.b32encode(device.bin_key).decode(),
            "enrolled": confirmed_devices(user),
            "passkeys": passkeys(user),
            "next": request.GET.get(REDIRECT_FIELD_NAME, request.POST.get(REDIRECT_FIELD_NAME, "")),
        }
        request.current_app = self.name
        return render(request, "admin/two_factor.html", context)
