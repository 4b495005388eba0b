"""Components and their groups: create, edit, and set a status (logged, numbered, told)."""

from __future__ import annotations

from datetime import datetime

from django.core.exceptions import ValidationError

from .. import rules
from ..models import (
    Component,
    ComponentGroup,
    ComponentStatusChange,
    Incident,
    IncidentUpdate,
    Notification,
    PublicEvent,
)
from ..wire import statuspage as v2
from ..wire.time import iso
from . import audit, checks
from .change import Actor, PublicChange, public_change

COMPONENT_FIELDS = (
    "name",
    "description",
    "group",
    "position",
    "showcase",
    "only_show_if_degraded",
    "is_hidden",
    "start_date",
    "okx_service_type",
)


def component_event(
    change: PublicChange, component: Component, action: str, log: ComponentStatusChange | None = None
) -> PublicEvent:
    payload = {"component": v2.component_json(component)}
    if log is not None:
        payload["component_update"] = {
            "id": str(log.pk),
            "component_id": component.public_id,
            "old_status": log.old_status,
            "new_status": log.new_status,
            "created_at": iso(log.changed_at),
            "component_type": "Component",
        }
    return change.emit(PublicEvent.Kind.COMPONENT, action, payload, component=component)


def set_component_status(
    change: PublicChange,
    component: Component,
    new_status: str,
    *,
    actor: Actor,
    at: datetime,
    incident: Incident | None = None,
    update: IncidentUpdate | None = None,
) -> ComponentStatusChange | None:
    """Change one component's status, log it and emit its event; None when unchanged.

    Webhook subscribers of the component are told, unless the update asked for silence.
    """
    if component.status == new_status:
        return None
    log = ComponentStatusChange.objects.create(
        component=component,
        old_status=component.status,
        new_status=new_status,
        changed_at=at,
        incident=incident,
        update=update,
        actor=actor.user,
        actor_label=actor.label,
    )
    component.status = new_status
    component.save(update_fields=["status", "updated_at"])
    event = component_event(change, component, "status_changed", log)
    if update is None or update.deliver_notifications:
        change.notify(Notification.Kind.COMPONENT_UPDATED, event, component=component, incident=incident)
    return log


def component_create(*, actor: Actor, name: str, status: str = rules.OPERATIONAL, **fields) -> Component:
    """Add a component. After commit: snapshot rebuilt, change pushed."""
    unknown = set(fields) - set(COMPONENT_FIELDS)
    if unknown:
        raise TypeError(f"unknown component fields: {sorted(unknown)}")
    name = checks.name(name, "name", max_length=120)
    if status not in rules.COMPONENT_STATUSES:
        raise ValidationError({"status": f"'{status}' is not a component status."})
    with public_change() as change:
        component = Component(name=name, **fields)
        component.full_clean()
        component.save()
        component_event(change, component, "created")
        audit.record(actor, "component.create", component, changes={"status": [None, status]})
        if status != rules.OPERATIONAL:
            set_component_status(change, component, status, actor=actor, at=change.now)
    return component


def component_edit(*, component: Component, actor: Actor, **fields) -> Component:
    """Change a component's name, group, position, visibility or OKX type (not its status).

    After commit: snapshot rebuilt, change pushed.
    """
    unknown = set(fields) - set(COMPONENT_FIELDS)
    if unknown:
        raise TypeError(f"unknown component fields: {sorted(unknown)}")
    with public_change() as change:
        if "name" in fields:
            fields["name"] = checks.name(fields["name"], "name", max_length=120)
        component = Component.objects.select_for_update().get(pk=component.pk)
        before = audit.fields_of(component, fields)
        for name, value in fields.items():
            setattr(component, name, value)
        component.full_clean()
        component.save()
        component_event(change, component, "updated")
        audit.record(actor, "component.edit", component, changes=audit.changed(before, component))
    return component


def component_set_status(*, component: Component, status: str, actor: Actor, at: datetime | None = None) -> Component:
    """Set a component's status outside any incident (for example from the admin list).

    Logged in the audit trail with the actor. After commit: snapshot rebuilt, change pushed.
    """
    if status not in rules.COMPONENT_STATUSES:
        raise ValidationError(
            {"status": f"'{status}' is not a component status; use one of {', '.join(rules.COMPONENT_STATUSES)}."}
        )
    with public_change() as change:
        at = checks.aware(at, "at", now=change.now, default=change.now)
        component = Component.objects.select_for_update().get(pk=component.pk)
        old = component.status
        set_component_status(change, component, status, actor=actor, at=at)
        audit.record(actor, "component.status", component, changes={"status": [old, status]})
    return component


def group_save(*, actor: Actor, group: ComponentGroup | None = None, **fields) -> ComponentGroup:
    """Create or change a component group. After commit: snapshot rebuilt, change pushed."""
    with public_change() as change:
        group = group or ComponentGroup()
        creating = group.pk is None
        if "name" in fields:
            fields["name"] = checks.name(fields["name"], "name", max_length=120)
        before = audit.fields_of(group, fields)
        for name, value in fields.items():
            setattr(group, name, value)
        group.full_clean()
        group.save()
        audit.record(actor, "group.create" if creating else "group.edit", group, changes=audit.changed(before, group))
        change.emit(PublicEvent.Kind.PAGE, "group_saved", {"group": {"id": group.public_id, "name": group.name}})
    return group
