"""ASGI entry point: the hot public reads from memory, HTTP through Django (at most
WEB_DB_CONCURRENCY requests at once: statuspage/budget.py), WebSockets through Channels
(at most LIVE_MAX_SOCKETS_PER_IP per client address: incidents/asgi/per_client.py)."""

import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "statuspage.settings")

django_asgi_app = get_asgi_application()

from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402  (after Django is set up)
from django.conf import settings  # noqa: E402

from incidents.asgi.hotpath import HotPath  # noqa: E402
from incidents.asgi.per_client import SocketsPerClient  # noqa: E402
from incidents.asgi.routing import websocket_urlpatterns  # noqa: E402

from .budget import DatabaseConcurrency  # noqa: E402

application = HotPath(
    ProtocolTypeRouter(
        {
            "http": DatabaseConcurrency(
                django_asgi_app, limit=settings.WEB_DB_CONCURRENCY, queue_seconds=settings.WEB_DB_QUEUE_SECONDS
            ),
            "websocket": SocketsPerClient(URLRouter(websocket_urlpatterns), limit=settings.LIVE_MAX_SOCKETS_PER_IP),
        }
    )
)
