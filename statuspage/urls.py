from django.contrib import admin
from django.urls import include, path

admin.site.site_header = "Status page operations"
admin.site.site_title = "Status operations"
admin.site.index_title = "Incidents, components and maintenance"

urlpatterns = [
    # The passkey ceremonies (django-otp-webauthn's JSON views), for the admin's login and enrolment.
    path("admin/passkeys/", include("django_otp_webauthn.urls", namespace="otp_webauthn")),
    path("admin/", admin.site.urls),
    path("", include("incidents.api.urls")),
    path("", include("incidents.web.urls")),
]
