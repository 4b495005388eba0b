"""The ASGI door: the hot path in front of Django, and the WebSocket endpoints."""
