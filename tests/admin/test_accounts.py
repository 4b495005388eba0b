"""Operators' accounts worth trusting: a one-time code at every admin login (django-otp),
lockout per username and address after repeated failures (django-axes), and all of it
visible in the admin."""

from __future__ import annotations

import re
from base64 import b32decode

import pytest
from django.core.management import call_command
from django_otp.oath import TOTP
from django_otp.plugins.otp_totp.models import TOTPDevice

from ..factories import UserFactory

PASSWORD = "correct horse battery staple"
HERE = "127.0.0.2"  # the REMOTE_ADDR of the test client's requests: no traffic is sent
ELSEWHERE = "127.0.0.3"


@pytest.fixture
def oncall(roles):
    return UserFactory(username="oncall", is_staff=True, is_superuser=True, password=PASSWORD)


def code(key: bytes, ahead: int = 0) -> str:
    """The code an authenticator app shows for this key (`ahead` steps later: a code once
    accepted is never accepted again, so a second login in the same 30 s uses the next)."""
    totp = TOTP(key, step=30, t0=0, digits=6, drift=ahead)
    return f"{totp.token():06d}"


def log_in(client, address=HERE, otp_token="", password=PASSWORD, username="oncall"):
    return client.post(
        "/admin/login/?next=/admin/",
        {"username": username, "password": password, "otp_token": otp_token, "next": "/admin/"},
        REMOTE_ADDR=address,
    )


@pytest.mark.django_db
def test_300_wrong_passwords_lock_the_username_out_from_that_address_only(client, oncall, settings):
    codes = [log_in(client, password=f"guess-{n}").status_code for n in range(300)]

    allowed = settings.AXES_FAILURE_LIMIT
    # The form comes back for the first failures; from the limit on, every try is the lockout.
    assert codes[: allowed - 1] == [200] * (allowed - 1), codes[:allowed]
    assert set(codes[allowed - 1 :]) == {429}, sorted(set(codes))
    assert codes.index(429) + 1 == allowed == 10
    locked = log_in(client)
    assert locked.status_code == 429 and "Too many failed logins" in locked.content.decode()
    assert "_auth_user_id" not in client.session

    # The on-call from another address is not locked out by the attacker.
    other = client.__class__()
    elsewhere = log_in(other, address=ELSEWHERE)
    assert elsewhere.status_code == 302 and elsewhere["Location"] == "/admin/"

    # Every failure and the lockout are in the admin; the login from elsewhere too.
    attempts = other.get("/admin/axes/accessattempt/")
    assert attempts.status_code == 200 and HERE in attempts.content.decode()
    failures = other.get("/admin/axes/accessfailurelog/")
    assert failures.status_code == 200 and "oncall" in failures.content.decode()
    logins = other.get("/admin/axes/accesslog/")
    assert logins.status_code == 200 and ELSEWHERE in logins.content.decode()

    # The unlock path: axes_reset_username, then the right password works from here again.
    call_command("axes_reset_username", "oncall")
    assert log_in(client).status_code == 302


@pytest.mark.django_db
def test_with_2fa_required_the_password_alone_does_not_reach_the_admin(client, oncall, settings):
    settings.ADMIN_REQUIRE_2FA = True
    device = TOTPDevice.objects.create(user=oncall, name="phone", confirmed=True)

    no_code = log_in(client)
    assert no_code.status_code == 200 and "Enter the 6-digit code" in no_code.content.decode()
    assert client.get("/admin/").status_code == 302
    wrong = log_in(client, otp_token="000000" if code(device.bin_key) != "000000" else "111111")
    assert wrong.status_code == 200 and "wrong or expired" in wrong.content.decode()
    assert client.get("/admin/").status_code == 302
    assert client.get("/admin/incidents/incident/").status_code == 302

    device.refresh_from_db()
    device.throttling_failure_count = 0  # the wrong code slowed this device down (django-otp)
    device.save()
    right = log_in(client, otp_token=code(device.bin_key))
    assert right.status_code == 302 and right["Location"] == "/admin/"
    assert client.get("/admin/").status_code == 200
    assert client.get("/admin/incidents/incident/").status_code == 200


@pytest.mark.django_db
def test_the_password_alone_in_a_session_is_not_enough_either(client, oncall, settings):
    """A session logged in without a code (2FA off, then turned on) is sent back."""
    settings.ADMIN_REQUIRE_2FA = True
    TOTPDevice.objects.create(user=oncall, name="phone", confirmed=True)
    client.force_login(oncall)
    assert client.get("/admin/").status_code == 302
    # Enrolling another device needs a verified session: a stolen password makes none.
    assert client.get("/admin/two-factor/").status_code == 302
    assert TOTPDevice.objects.filter(user=oncall).count() == 1


@pytest.mark.django_db
def test_an_operator_without_an_authenticator_enrols_at_first_login(client, oncall, settings):
    settings.ADMIN_REQUIRE_2FA = True
    first = log_in(client)
    assert first.status_code == 302
    # The admin is not reachable yet: the login sends them on to enrolment.
    assert client.get("/admin/").status_code == 302
    to_enrol = client.get("/admin/login/?next=/admin/")
    assert to_enrol.status_code == 302 and to_enrol["Location"].startswith("/admin/two-factor/")
    page = client.get(to_enrol["Location"])
    html = page.content.decode()
    assert page.status_code == 200 and "<svg" in html
    secret = re.search(r'id="two-factor-secret">([A-Z2-7=]+)<', html).group(1)
    key = b32decode(secret)

    wrong = client.post("/admin/two-factor/", {"otp_token": "12345", "next": "/admin/"})
    assert wrong.status_code == 200 and not TOTPDevice.objects.filter(user=oncall, confirmed=True).exists()
    device = TOTPDevice.objects.get(user=oncall)
    device.throttling_failure_count = 0
    device.save()
    done = client.post("/admin/two-factor/", {"otp_token": code(key), "next": "/admin/"})
    assert done.status_code == 302 and done["Location"] == "/admin/"
    assert client.get("/admin/").status_code == 200

    # From now on the code is needed at login.
    client.logout()
    assert log_in(client).status_code == 200
    assert log_in(client, otp_token=code(key, ahead=1)).status_code == 302
    assert client.get("/admin/").status_code == 200

    # A lost phone: reset_2fa removes the device and ends the sessions; enrol again.
    call_command("reset_2fa", "oncall")
    assert not TOTPDevice.objects.filter(user=oncall).exists()
    assert client.get("/admin/").status_code == 302


@pytest.mark.django_db
def test_with_2fa_off_the_printed_login_works_and_the_enrolment_page_is_there(client, oncall, settings):
    """`make run`'s DEBUG demo: the password alone; an operator may still enrol."""
    settings.ADMIN_REQUIRE_2FA = False
    assert log_in(client).status_code == 302
    assert client.get("/admin/").status_code == 200
    assert client.get("/admin/two-factor/").status_code == 200


def test_admin_sessions_last_a_shift_and_end_with_the_browser(settings):
    assert settings.SESSION_COOKIE_AGE == 12 * 3600
    assert settings.SESSION_EXPIRE_AT_BROWSER_CLOSE is True
