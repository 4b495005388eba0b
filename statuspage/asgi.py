"""ASGI entry point: the hot public reads from memory, HTTP through Django, WebSockets
through Channels."""

import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "statuspage.settings")

django_asgi_app = get_asgi_application()

from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402  (after Django is set up)

from incidents.asgi.hotpath import HotPath  # noqa: E402
from incidents.asgi.routing import websocket_urlpatterns  # noqa: E402

application = HotPath(
    ProtocolTypeRouter(
        {
            "http": django_asgi_app,
            "websocket": URLRouter(websocket_urlpatterns),
        }
    )
)
