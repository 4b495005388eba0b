"""The audit: who changed what, when and from where, written by every service in the
change's own transaction (`record`), append-only in the database (AuditEntry)."""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable
from datetime import date, datetime
from decimal import Decimal

from django.db import models
from django.utils import timezone

from ..models import AuditEntry
from .change import Actor

TEXT_LIMIT = 10_000  # characters kept of a long text (an update, a postmortem) per side


def _plain(value):
    """A value as the audit keeps it (JSON)."""
    if value is None or isinstance(value, bool | int | float):
        return value
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, models.Model):
        return getattr(value, "public_id", None) or value.pk
    if isinstance(value, list | tuple | set):
        return sorted(str(_plain(v)) for v in value)
    return str(value)[:TEXT_LIMIT]


def fields_of(obj, names: Iterable[str]) -> dict:
    """The named fields of `obj` now, to compare after the change (`changed`)."""
    return {name: _plain(getattr(obj, name)) for name in names}


def changed(before: dict, obj) -> dict:
    """{field: [before, after]} for the fields of `before` that `obj` now has otherwise."""
    after = fields_of(obj, before)
    return {name: [before[name], after[name]] for name in before if before[name] != after[name]}


def record(actor: Actor, action: str, target=None, *, changes: dict | None = None, label: str = "") -> AuditEntry:
    """One audit row: `action` (e.g. "incident.edit") on `target` (a model instance) by
    `actor`. Call it inside the change's transaction: the row stands or falls with it."""
    user = actor.user
    target_type = target._meta.model_name if target is not None else action.split(".", 1)[0]
    target_id = ""
    if target is not None:
        target_id = str(getattr(target, "public_id", "") or target.pk or "")
    return AuditEntry.objects.create(
        at=timezone.now(),
        action=action,
        target_type=target_type,
        target_id=target_id,
        target_label=(label or (str(target) if target is not None else ""))[:200],
        user_id=user.pk if user is not None else None,
        username=user.get_username() if user is not None else "",
        via=actor.via,
        token_id=actor.token_id,
        address=actor.address,
        changes=dict(changes or {}),
    )


def client_address(request) -> str | None:
    """The client's IP address as the server saw it (behind nginx, uvicorn's proxy headers
    give the forwarded one), for `Actor.address`; None if it is not an address."""
    value = request.META.get("REMOTE_ADDR", "")
    try:
        return str(ipaddress.ip_address(value))
    except ValueError:
        return None
