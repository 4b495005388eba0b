"""Passkeys (django-otp-webauthn) as the admin's second factor, in real headless Chromium
with a virtual authenticator (Chrome DevTools' WebAuthn domain: a real CTAP2 platform
authenticator in the browser, real signatures checked by py_webauthn on the server)."""

from __future__ import annotations

import hashlib

import pytest
from django_otp_webauthn.models import WebAuthnCredential

from ..factories import UserFactory
from ..servers import daphne

PASSWORD = "correct horse battery staple"

# Every Content-Security-Policy violation of the page, from its first script on.
LISTEN = """
window.__csp = [];
document.addEventListener('securitypolicyviolation', (e) => {
  window.__csp.push(`${e.violatedDirective} ${e.blockedURI} ${e.sourceFile}:${e.lineNumber}`);
});
"""


def authenticator(context, page) -> None:
    """A passkey authenticator in this browser context (a platform one, like Touch ID),
    which the user always approves."""
    cdp = context.new_cdp_session(page)
    cdp.send("WebAuthn.enable")
    cdp.send(
        "WebAuthn.addVirtualAuthenticator",
        {
            "options": {
                "protocol": "ctap2",
                "transport": "internal",
                "hasResidentKey": True,
                "hasUserVerification": True,
                "isUserVerified": True,
                "automaticPresenceSimulation": True,
            }
        },
    )


def log_in(page, base: str) -> None:
    page.goto(f"{base}/admin/login/?next=/admin/")
    page.fill("#id_username", "oncall")
    page.fill("#id_password", PASSWORD)
    page.click("input[type=submit]")


@pytest.mark.django_db(transaction=True)
@pytest.mark.live
def test_an_operator_adds_a_passkey_and_every_login_then_asks_for_it(browser):
    user = UserFactory(username="oncall", is_staff=True, is_superuser=True, password=PASSWORD)
    # localhost: browsers bind no passkey to an IP address (the relying party is a domain).
    with daphne(ADMIN_REQUIRE_2FA="1") as address:
        base = address.replace("127.0.0.1", "localhost")
        context = browser.new_context()
        context.add_init_script(LISTEN)
        page = context.new_page()
        authenticator(context, page)

        # First login: the password, then enrolment, where the passkey is added.
        log_in(page, base)
        page.wait_for_url(f"{base}/admin/two-factor/?next=%2Fadmin%2F")
        violations = page.evaluate("window.__csp")
        page.click("#passkey-register-button")
        page.wait_for_url(f"{base}/admin/")  # added, and the session verified with it
        assert page.locator("#site-name").count() == 1
        (credential,) = WebAuthnCredential.objects.filter(user=user, confirmed=True)

        # Every later login: password, then the passkey; the admin is closed in between.
        context.clear_cookies()
        log_in(page, base)
        page.wait_for_url(f"{base}/admin/two-factor/verify/?next=%2Fadmin%2F")
        violations += page.evaluate("window.__csp")
        page.goto(f"{base}/admin/incidents/incident/")
        assert page.url.startswith(f"{base}/admin/two-factor/verify/"), page.url
        page.click("#passkey-verification-button")
        page.wait_for_url(f"{base}/admin/incidents/incident/")
        assert page.locator("#changelist").count() == 1
        credential.refresh_from_db()
        assert credential.last_used_at is not None and credential.sign_count >= 1

        # A browser without the passkey (a stolen password): stuck at the second step.
        stranger = browser.new_context()
        other = stranger.new_page()
        authenticator(stranger, other)  # an authenticator, but not the one registered
        log_in(other, base)
        other.wait_for_url(f"{base}/admin/two-factor/verify/?next=%2Fadmin%2F")
        other.click("#passkey-verification-button")
        other.wait_for_selector("#passkey-verification-status-message:not(:empty)")
        other.goto(f"{base}/admin/")
        assert other.url.startswith(f"{base}/admin/two-factor/verify/"), other.url
        # Nor can it add a passkey of its own: enrolment needs a verified session now.
        other.goto(f"{base}/admin/two-factor/")
        assert not other.url.startswith(f"{base}/admin/two-factor/?"), other.url
        assert WebAuthnCredential.objects.filter(user=user).count() == 1
        stranger.close()
        context.close()
    assert violations == []


@pytest.mark.django_db
def test_with_2fa_off_a_passkey_is_still_needed_by_its_owner(client, settings):
    """`make run`'s default: the password alone lets in an operator with no device, never
    one who has a passkey."""
    settings.ADMIN_REQUIRE_2FA = False
    user = UserFactory(username="oncall", is_staff=True, is_superuser=True, password=PASSWORD)
    credential_id = b"passkey-of-oncall"
    WebAuthnCredential.objects.create(
        user=user,
        name="laptop",
        confirmed=True,
        credential_id=credential_id,
        credential_id_sha256=hashlib.sha256(credential_id).hexdigest(),
        public_key=b"\x00",
        sign_count=0,
    )
    login = client.post("/admin/login/?next=/admin/", {"username": "oncall", "password": PASSWORD, "next": "/admin/"})
    assert login.status_code == 302
    assert client.get("/admin/").status_code == 302
    onward = client.get("/admin/login/?next=/admin/")
    assert onward.status_code == 302 and onward["Location"] == "/admin/two-factor/verify/?next=%2Fadmin%2F"
    page = client.get(onward["Location"]).content.decode()
    assert 'id="passkey-verification-placeholder"' in page and 'name="otp_token"' not in page
