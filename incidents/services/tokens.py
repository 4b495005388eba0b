"""API tokens for the v1 API: made (shown once, stored as a hash) and revoked."""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from ..models import ApiToken
from . import audit, checks
from .change import Actor


def api_token_create(
    *, user, name: str, scope: str = "read", expires_at: datetime | None = None, actor: Actor | None = None
):
    """Make a bearer token; returns (token row, the token text), the text shown only now.
    `actor`: who made it (by default its own user, from the admin)."""
    name = checks.name(name, "name", max_length=100)
    if scope not in ApiToken.Scope.values:
        raise ValidationError({"scope": f"Use one of {', '.join(ApiToken.Scope.values)}."})
    if expires_at is not None and timezone.is_naive(expires_at):
        raise ValidationError({"expires_at": "Give a time zone; naive times are refused."})
    text = "sp_" + secrets.token_urlsafe(32)
    with transaction.atomic():
        token = ApiToken.objects.create(
            user=user,
            name=name,
            prefix=text[:10],
            key_hash=hashlib.sha256(text.encode()).hexdigest(),
            scope=scope,
            expires_at=expires_at,
        )
        audit.record(
            actor or Actor.of(user),
            "token.create",
            token,
            changes={"user": [None, user.get_username()], "scope": [None, scope], "prefix": [None, token.prefix]},
        )
    return token, text


def api_token_revoke(*, token, actor: Actor):
    """Stop a token from working, keeping its row for the record."""
    with transaction.atomic():
        if token.revoked_at is None:
            token.revoked_at = timezone.now()
            token.save(update_fields=["revoked_at"])
            audit.record(actor, "token.revoke", token, changes={"user": [None, token.user.get_username()]})
    return token
