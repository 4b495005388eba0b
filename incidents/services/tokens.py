"""API tokens for the v1 API: made (shown once, stored as a hash) and revoked."""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime

from django.core.exceptions import ValidationError
from django.utils import timezone

from ..models import ApiToken
from . import checks
from .change import Actor


def api_token_create(*, user, name: str, scope: str = "read", expires_at: datetime | None = None):
    """Make a bearer token; returns (token row, the token text), the text shown only now."""
    name = checks.name(name, "name", max_length=100)
    if scope not in ApiToken.Scope.values:
        raise ValidationError({"scope": f"Use one of {', '.join(ApiToken.Scope.values)}."})
    if expires_at is not None and timezone.is_naive(expires_at):
        raise ValidationError({"expires_at": "Give a time zone; naive times are refused."})
    text = "sp_" + secrets.token_urlsafe(32)
    token = ApiToken.objects.create(
        user=user,
        name=name,
        prefix=text[:10],
        key_hash=hashlib.sha256(text.encode()).hexdigest(),
        scope=scope,
        expires_at=expires_at,
    )
    return token, text


def api_token_revoke(*, token, actor: Actor):
    """Stop a token from working, keeping its row for the record."""
    if token.revoked_at is None:
        token.revoked_at = timezone.now()
        token.save(update_fields=["revoked_at"])
    return token
