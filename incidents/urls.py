from django.urls import path

from . import views

urlpatterns = [
    path("", views.status_page, name="status-page"),
    path("history", views.history, name="history"),
    path("live/state", views.live_state, name="live-state"),
    path("incidents/<str:public_id>", views.incident_detail, name="incident-detail"),
]
