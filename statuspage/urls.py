from django.conf.urls.i18n import i18n_patterns
from django.contrib import admin
from django.urls import include, path

from incidents.web import choices

admin.site.site_header = "Status page operations"
admin.site.site_title = "Status operations"
admin.site.index_title = "Incidents, components and maintenance"

urlpatterns = [
    # The passkey ceremonies (django-otp-webauthn's JSON views), for the admin's login and enrolment.
    path("admin/passkeys/", include("django_otp_webauthn.urls", namespace="otp_webauthn")),
    path("admin/", admin.site.urls),
    path("", include("incidents.api.urls")),
    # The reader's choices, remembered in a cookie (no JavaScript needed).
    path("language", choices.choose_language, name="choose-language"),
    # The public pages, in each language: English unprefixed (the URLs that always
    # existed), the others under /<code>/ (incidents/languages.py).
    *i18n_patterns(path("", include("incidents.web.urls")), prefix_default_language=False),
]
