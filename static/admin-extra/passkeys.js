// The enrolment page: once django-otp-webauthn's script has registered a passkey (its
// `otp_webauthn.register_complete` event), the session is verified: on to the admin.
document.addEventListener("otp_webauthn.register_complete", () => {
  const next = document.getElementById("passkey-continue");
  if (next) window.location.assign(next.dataset.next);
});
