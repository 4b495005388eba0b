from csp.decorators import csp_update
from django.urls import path
from drf_spectacular.views import SpectacularAPIView, SpectacularRedocView, SpectacularSwaggerSplitView

from .. import rules
from ..publish.documents import STATUSPAGE_PATHS
from . import public, reads, views

statuspage_v2 = [
    path(f"api/v2/{suffix}", public.statuspage_view(name), name=f"v2-{name}")
    for suffix, name in STATUSPAGE_PATHS.items()
]

urlpatterns = [
    *statuspage_v2,
    path("api/v2/incidents/<str:public_id>.json", reads.IncidentRead.as_view(), name="v2-incident"),
    path("api/v2/components/<str:public_id>/uptime.json", reads.ComponentUptime.as_view(), name="v2-uptime"),
    path("api/v2/metrics/<str:public_id>.json", reads.MetricRead.as_view(), name="v2-metric"),
    path("api/v2/history.json", reads.History.as_view(), name="v2-history"),
    path("api/v2/events.json", public.events, name="v2-events"),
    path("api/v5/system/status", public.okx_system_status, name="okx-system-status"),
    # Ops automation.
    path("api/v1/incidents", views.IncidentList.as_view(), name="v1-incidents"),
    path("api/v1/incidents/<str:public_id>", views.IncidentDetail.as_view(), name="v1-incident"),
    path("api/v1/incidents/<str:public_id>/updates", views.IncidentUpdates.as_view(), name="v1-incident-updates"),
    path("api/v1/incidents/<str:public_id>/resolve", views.IncidentResolve.as_view(), name="v1-incident-resolve"),
    path(
        "api/v1/incidents/<str:public_id>/postmortem", views.IncidentPostmortem.as_view(), name="v1-incident-postmortem"
    ),
    path("api/v1/templates", views.TemplateList.as_view(), name="v1-templates"),
    path("api/v1/integrations/alertmanager", views.AlertmanagerWebhook.as_view(), name="v1-integrations-alertmanager"),
    path("api/v1/funding", views.Funding.as_view(), name="v1-funding"),
    path("api/v1/assets", views.AssetList.as_view(), name="v1-assets"),
    path("api/v1/assets/<str:symbol>/networks", views.AssetNetworks.as_view(), name="v1-asset-networks"),
    path("api/v1/components", views.ComponentList.as_view(), name="v1-components"),
    path("api/v1/components/<str:public_id>", views.ComponentDetail.as_view(), name="v1-component"),
    path("api/v1/maintenances", views.MaintenanceList.as_view(), name="v1-maintenances"),
    path("api/v1/maintenances/<str:public_id>", views.MaintenanceDetail.as_view(), name="v1-maintenance"),
    path(
        "api/v1/maintenances/<str:public_id>/updates", views.MaintenanceUpdates.as_view(), name="v1-maintenance-updates"
    ),
    *[
        path(
            f"api/v1/maintenances/<str:public_id>/{action}",
            views.transition_view(action),
            name=f"v1-maintenance-{action}",
        )
        for action in rules.MAINTENANCE_ACTIONS
    ],
    path(
        "api/v1/maintenances/<str:public_id>/reschedule",
        views.MaintenanceReschedule.as_view(),
        name="v1-maintenance-reschedule",
    ),
    path("api/v1/subscribers", views.SubscriberList.as_view(), name="v1-subscribers"),
    path("api/v1/subscribers/<str:public_id>", views.SubscriberDetail.as_view(), name="v1-subscriber"),
    # OpenAPI.
    path("api/schema/", SpectacularAPIView.as_view(), name="api-schema"),
    # Swagger UI's start-up script as a file of its own (the split view): nothing inline.
    path("api/docs/", SpectacularSwaggerSplitView.as_view(url_name="api-schema"), name="api-docs"),
    # Redoc writes its styles into the page as it renders, parses in a blob: worker and
    # shows its maker's logo from its CDN (built into the bundle); that page alone allows
    # these (it shows only the schema).
    path(
        "api/redoc/",
        csp_update({"style-src": ["'unsafe-inline'"], "worker-src": ["blob:"], "img-src": ["https://cdn.redoc.ly"]})(
            SpectacularRedocView.as_view(url_name="api-schema")
        ),
        name="api-redoc",
    ),
]
