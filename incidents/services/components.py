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
    TradingModeChange,
)
from ..wire import statuspage as v2
from ..wire.time import iso
from . import audit, checks
from . import translations as localized
from .change import Actor, PublicChange, public_change
from .translations import Translations

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
    "trading",
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


def set_trading_mode(
    change: PublicChange,
    component: Component,
    new_mode: str,
    *,
    actor: Actor,
    at: datetime,
    incident: Incident | None = None,
    update: IncidentUpdate | None = None,
) -> TradingModeChange | None:
    """Change a trading product's mode, log it and emit its event; None when unchanged.

    Told like a status change: the event (`trading_mode_changed`, with `trading_mode_update`
    beside the component, as `component_update` is for a status) goes to the sockets and to
    the component's webhook subscribers, unless the update asked for silence."""
    if component.trading_mode == new_mode:
        return None
    log = TradingModeChange.objects.create(
        component=component,
        old_mode=component.trading_mode,
        new_mode=new_mode,
        changed_at=at,
        incident=incident,
        update=update,
        actor=actor.user,
        actor_label=actor.label,
    )
    component.trading_mode = new_mode
    component.save(update_fields=["trading_mode", "updated_at"])
    payload = {
        "component": v2.component_json(component),
        "trading_mode_update": {
            "id": str(log.pk),
            "component_id": component.public_id,
            "old_mode": log.old_mode,
            "new_mode": log.new_mode,
            "created_at": iso(log.changed_at),
        },
    }
    event = change.emit(PublicEvent.Kind.COMPONENT, "trading_mode_changed", payload, component=component)
    if update is None or update.deliver_notifications:
        change.notify(Notification.Kind.COMPONENT_UPDATED, event, component=component, incident=incident)
    return log


# A component's or group's texts in other languages, as `translations` takes them.
TEXT_LIMITS = {"name": 120, "description": None}
TRANSLATED_COLUMNS = tuple(column for field in TEXT_LIMITS for column in localized.columns(field))


def component_create(
    *,
    actor: Actor,
    name: str,
    status: str = rules.OPERATIONAL,
    trading_mode: str = rules.NORMAL,
    translations: Translations | None = None,
    **fields,
) -> Component:
    """Add a component (`translations`: {"zh-hans": {"name", "description"}}). After
    commit: snapshot rebuilt, change pushed."""
    unknown = set(fields) - set(COMPONENT_FIELDS)
    if unknown:
        raise TypeError(f"unknown component fields: {sorted(unknown)}")
    name = checks.name(name, "name", max_length=120)
    if status not in rules.COMPONENT_STATUSES:
        raise ValidationError({"status": f"'{status}' is not a component status."})
    translated = localized.check(translations, TEXT_LIMITS)
    with public_change() as change:
        component = Component(name=name, **fields)
        localized.apply(component, translated)
        component.full_clean()
        component.save()
        component_event(change, component, "created")
        audit.record(actor, "component.create", component, changes={"status": [None, status]})
        if status != rules.OPERATIONAL:
            set_component_status(change, component, status, actor=actor, at=change.now)
        if trading_mode != rules.NORMAL:
            checks.trading_modes({component: trading_mode}, field="trading_mode")
            set_trading_mode(change, component, trading_mode, actor=actor, at=change.now)
    return component


def component_edit(
    *, component: Component, actor: Actor, translations: Translations | None = None, **fields
) -> Component:
    """Change a component's name, group, position, visibility or OKX type (not its status).

    After commit: snapshot rebuilt, change pushed.
    """
    unknown = set(fields) - set(COMPONENT_FIELDS)
    if unknown:
        raise TypeError(f"unknown component fields: {sorted(unknown)}")
    translated = localized.check(translations, TEXT_LIMITS)
    with public_change() as change:
        if "name" in fields:
            fields["name"] = checks.name(fields["name"], "name", max_length=120)
        component = Component.objects.select_for_update().get(pk=component.pk)
        before = audit.fields_of(component, [*fields, *TRANSLATED_COLUMNS])
        for name, value in fields.items():
            setattr(component, name, value)
        localized.apply(component, translated)
        component.full_clean()
        component.save()
        component_event(change, component, "updated")
        audit.record(actor, "component.edit", component, changes=audit.changed(before, component))
    return component


def component_set_status(*, component: Component, status: str, actor: Actor, at: datetime | None = None) -> Component:
    """Set a component's status outside any incident (for example from the admin list).

    Logged in the audit trail with the actor. After commit: snapshot rebuilt, change pushed.
    """
    return component_set_state(component=component, actor=actor, status=status, at=at)


def component_set_trading_mode(
    *, component: Component, trading_mode: str, actor: Actor, at: datetime | None = None
) -> Component:
    """Set a trading product's mode outside any incident (admin, API, automation). Logged
    with the actor, numbered, told. After commit: snapshot rebuilt, change pushed."""
    return component_set_state(component=component, actor=actor, trading_mode=trading_mode, at=at)


def component_set_state(
    *,
    component: Component,
    actor: Actor,
    status: str | None = None,
    trading_mode: str | None = None,
    at: datetime | None = None,
) -> Component:
    """Set a component's status, its trading mode, or both in one change (all or nothing)."""
    if status is not None and status not in rules.COMPONENT_STATUSES:
        raise ValidationError(
            {"status": f"'{status}' is not a component status; use one of {', '.join(rules.COMPONENT_STATUSES)}."}
        )
    with public_change() as change:
        at = checks.aware(at, "at", now=change.now, default=change.now)
        component = Component.objects.select_for_update().get(pk=component.pk)
        if trading_mode is not None:
            checks.trading_modes({component: trading_mode}, field="trading_mode")
        if status is not None:
            old = component.status
            set_component_status(change, component, status, actor=actor, at=at)
            audit.record(actor, "component.status", component, changes={"status": [old, status]})
        if trading_mode is not None:
            old = component.trading_mode
            set_trading_mode(change, component, trading_mode, actor=actor, at=at)
            audit.record(actor, "component.trading_mode", component, changes={"trading_mode": [old, trading_mode]})
    return component


def group_save(
    *, actor: Actor, group: ComponentGroup | None = None, translations: Translations | None = None, **fields
) -> ComponentGroup:
    """Create or change a component group (`translations` as for components). After
    commit: snapshot rebuilt, change pushed."""
    translated = localized.check(translations, TEXT_LIMITS)
    with public_change() as change:
        group = group or ComponentGroup()
        creating = group.pk is None
        if "name" in fields:
            fields["name"] = checks.name(fields["name"], "name", max_length=120)
        before = audit.fields_of(group, [*fields, *TRANSLATED_COLUMNS])
        for name, value in fields.items():
            setattr(group, name, value)
        localized.apply(group, translated)
        group.full_clean()
        group.save()
        audit.record(actor, "group.create" if creating else "group.edit", group, changes=audit.changed(before, group))
        change.emit(PublicEvent.Kind.PAGE, "group_saved", {"group": {"id": group.public_id, "name": group.name}})
    return group
