"""The page itself: its public address, and absolute links into it."""

from __future__ import annotations

from django.conf import settings


def absolute(path: str) -> str:
    """A path on this page as the absolute URL readers and clients follow."""
    return settings.STATUS_PAGE["URL"].rstrip("/") + path
