from django.contrib import admin
from django.urls import include, path

admin.site.site_header = "Status page operations"
admin.site.site_title = "Status operations"
admin.site.index_title = "Incidents, components and maintenance"

urlpatterns = [
    path("admin/", admin.site.urls),
    path("", include("incidents.api.urls")),
    path("", include("incidents.web.urls")),
]
