from channels.security.websocket import AllowedHostsOriginValidator
from django.urls import path

from . import consumers

websocket_urlpatterns = [
    # The browser page checks Origin; the integrators' sockets are for non-browser clients.
    path("ws/status", AllowedHostsOriginValidator(consumers.StatusPageConsumer.as_asgi())),
    path("ws/v5/public", consumers.OkxPublicConsumer.as_asgi()),
    path("ws/v2/events", consumers.EventsConsumer.as_asgi()),
]
