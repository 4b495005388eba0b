"""Every write to the status page, whoever makes it: admin, API, scheduled task, command.

Each service runs in one transaction that first locks the page's sequence row, writes the
change, the audit log and one numbered `PublicEvent` per public change, and then, only
after commit, runs `after_public_change()`: the snapshot is rebuilt and the change is
pushed to live clients. Bad input raises `django.core.exceptions.ValidationError` with a
message per field, before anything is written.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import secrets
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import ValidationError
from django.core.validators import EmailValidator, URLValidator
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from . import formats, notifications, selectors, webhooks
from . import status as rules
from .models import (
    ApiToken,
    Component,
    ComponentGroup,
    ComponentStatusChange,
    Incident,
    IncidentUpdate,
    Notification,
    PageState,
    PublicEvent,
    Subscriber,
)

logger = logging.getLogger(__name__)

# How far into the future an update may be dated (clock skew between operators' machines).
FUTURE_TOLERANCE = timedelta(minutes=5)


@dataclass(frozen=True)
class Actor:
    """Who makes a change, for the audit log: a user, a token's user, or the system."""

    user: AbstractBaseUser | None
    label: str

    @classmethod
    def system(cls) -> Actor:
        return cls(None, "system")

    @classmethod
    def of(cls, user: AbstractBaseUser, via: str = "") -> Actor:
        return cls(user, f"{user.get_username()}{f' ({via})' if via else ''}")


# --- the public-change envelope ----------------------------------------------------------


class PublicChange:
    """The numbered events of one service call, written in its transaction."""

    def __init__(self, state: PageState, now: datetime):
        self.state = state
        self.now = now
        self.events: list[PublicEvent] = []
        self.notices: list[notifications.Notice] = []

    def notify(self, kind: str, event: PublicEvent, **about) -> None:
        """Tell subscribers of this event; written to the outbox when the change is done."""
        self.notices.append(notifications.Notice(kind, event=event, payload=dict(event.payload), **about))

    def emit(self, kind: str, action: str, payload: dict, *, incident=None, component=None) -> PublicEvent:
        self.state.seq += 1
        event = PublicEvent.objects.create(
            seq=self.state.seq,
            kind=kind,
            action=action,
            incident=incident,
            component=component,
            payload=payload,
            created_at=self.now,
        )
        self.events.append(event)
        return event


@contextlib.contextmanager
def public_change() -> Iterator[PublicChange]:
    """Open a transaction that holds the sequence lock; schedule the after-commit work.

    What the change asked to tell subscribers is written to the outbox in the same
    transaction; the dispatcher is kicked after commit.
    """
    with transaction.atomic():
        state = PageState.objects.select_for_update().filter(pk=1).first()
        if state is None:
            state, _ = PageState.objects.get_or_create(pk=1)
            state = PageState.objects.select_for_update().get(pk=1)
        change = PublicChange(state, timezone.now())
        yield change
        if change.events:
            state.updated_at = change.now
            state.save(update_fields=["seq", "updated_at"])
            transaction.on_commit(after_public_change)
        notifications.record(change.notices, now=change.now, kick_after_commit=False)


# How long the writer waits for its own process's event streams before it rebuilds.
FAN_OUT_SETTLE = 1.0


def after_public_change() -> None:
    """Runs after a commit that made public changes: push the news, rebuild the snapshot.

    The hubs are told twice: first at once, so event streams carry the change without
    waiting for the snapshot, then after the rebuild, for what is drawn from it (pages,
    OKX rows). A failure here never undoes the committed change; it is logged, and the
    hubs and the periodic refresh rebuild from the database.
    """
    from . import broadcast, snapshot

    broadcast.publish(settle=FAN_OUT_SETTLE)
    try:
        snapshot.rebuild()
    except Exception:
        logger.exception("snapshot rebuild after commit failed; the hubs and the periodic refresh will retry")
    broadcast.publish()
    notifications.kick_if_recorded()


# --- validation helpers ------------------------------------------------------------------


def _aware(value: datetime | None, field: str, *, now: datetime, default: datetime | None = None) -> datetime:
    if value is None:
        if default is None:
            raise ValidationError({field: "This field is required."})
        return default
    if not isinstance(value, datetime):
        raise ValidationError({field: "Enter a date and time."})
    if timezone.is_naive(value):
        raise ValidationError(
            {field: "Give a time zone (for example 2021-01-29T17:37:00+08:00); naive times are refused."}
        )
    if value > now + FUTURE_TOLERANCE:
        raise ValidationError({field: "This time is in the future."})
    return value


def _text(value: str | None, field: str, *, required: bool = True, max_length: int | None = None) -> str:
    value = (value or "").strip()
    if required and not value:
        raise ValidationError({field: "This field may not be blank."})
    if max_length and len(value) > max_length:
        raise ValidationError({field: f"At most {max_length} characters (it has {len(value)})."})
    return value


def _component_statuses(components: Mapping[Component, str] | None) -> dict[Component, str]:
    components = dict(components or {})
    errors = {}
    for component, new_status in components.items():
        if new_status not in rules.COMPONENT_STATUSES:
            errors[component.public_id] = (
                f"'{new_status}' is not a component status; use one of {', '.join(rules.COMPONENT_STATUSES)}."
            )
    if errors:
        raise ValidationError({"components": [f"{k}: {v}" for k, v in errors.items()]})
    return components


def _impact(value: str) -> str:
    if value and value not in rules.IMPACTS:
        raise ValidationError(
            {"impact_override": f"'{value}' is not an impact; use one of {', '.join(rules.IMPACTS)}."}
        )
    return value


# --- components --------------------------------------------------------------------------

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


def _component_event(
    change: PublicChange, component: Component, action: str, log: ComponentStatusChange | None = None
) -> PublicEvent:
    payload = {"component": formats.component_json(component)}
    if log is not None:
        payload["component_update"] = {
            "id": str(log.pk),
            "component_id": component.public_id,
            "old_status": log.old_status,
            "new_status": log.new_status,
            "created_at": formats.iso(log.changed_at),
            "component_type": "Component",
        }
    return change.emit(PublicEvent.Kind.COMPONENT, action, payload, component=component)


def _set_component_status(
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
    event = _component_event(change, component, "status_changed", log)
    if update is None or update.deliver_notifications:
        change.notify(Notification.Kind.COMPONENT_UPDATED, event, component=component, incident=incident)
    return log


def component_create(*, actor: Actor, name: str, status: str = rules.OPERATIONAL, **fields) -> Component:
    """Add a component. After commit: snapshot rebuilt, change pushed."""
    unknown = set(fields) - set(COMPONENT_FIELDS)
    if unknown:
        raise TypeError(f"unknown component fields: {sorted(unknown)}")
    name = _text(name, "name", max_length=120)
    if status not in rules.COMPONENT_STATUSES:
        raise ValidationError({"status": f"'{status}' is not a component status."})
    with public_change() as change:
        component = Component(name=name, **fields)
        component.full_clean()
        component.save()
        _component_event(change, component, "created")
        if status != rules.OPERATIONAL:
            _set_component_status(change, component, status, actor=actor, at=change.now)
    return component


def component_edit(*, component: Component, actor: Actor, **fields) -> Component:
    """Change a component's name, group, position, visibility or OKX type (not its status).

    After commit: snapshot rebuilt, change pushed.
    """
    unknown = set(fields) - set(COMPONENT_FIELDS)
    if unknown:
        raise TypeError(f"unknown component fields: {sorted(unknown)}")
    with public_change() as change:
        component = Component.objects.select_for_update().get(pk=component.pk)
        for name, value in fields.items():
            setattr(component, name, value)
        component.full_clean()
        component.save()
        _component_event(change, component, "updated")
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
        at = _aware(at, "at", now=change.now, default=change.now)
        component = Component.objects.select_for_update().get(pk=component.pk)
        _set_component_status(change, component, status, actor=actor, at=at)
    return component


def group_save(*, actor: Actor, group: ComponentGroup | None = None, **fields) -> ComponentGroup:
    """Create or change a component group. After commit: snapshot rebuilt, change pushed."""
    with public_change() as change:
        group = group or ComponentGroup()
        for name, value in fields.items():
            setattr(group, name, value)
        group.full_clean()
        group.save()
        change.emit(PublicEvent.Kind.PAGE, "group_saved", {"group": {"id": group.public_id, "name": group.name}})
    return group


# --- incidents ---------------------------------------------------------------------------


def _incident_event(change: PublicChange, incident: Incident, action: str) -> PublicEvent:
    fresh = selectors.incident_detail(incident.public_id)
    kind = PublicEvent.Kind.MAINTENANCE if incident.is_maintenance else PublicEvent.Kind.INCIDENT
    return change.emit(kind, action, {"incident": formats.incident_json(fresh)}, incident=incident)


def _refresh_impact(incident: Incident) -> None:
    statuses = ComponentStatusChange.objects.filter(incident=incident).values_list("new_status", flat=True)
    incident.impact = rules.incident_impact(kind=incident.kind, statuses=statuses, override=incident.impact_override)


def _post_update(
    change: PublicChange,
    incident: Incident,
    *,
    status: str,
    body: str,
    components: Mapping[Component, str],
    display_at: datetime,
    deliver_notifications: bool,
    actor: Actor,
) -> IncidentUpdate:
    update = IncidentUpdate.objects.create(
        incident=incident,
        status=status,
        body=body,
        display_at=display_at,
        deliver_notifications=deliver_notifications,
        author=actor.user,
    )
    for component, new_status in components.items():
        locked = Component.objects.select_for_update().get(pk=component.pk)
        _set_component_status(change, locked, new_status, actor=actor, at=display_at, incident=incident, update=update)
    if components:
        incident.components.add(*components.keys())
    return update


def components_to_restore(incident: Incident) -> dict[Component, str]:
    """What resolving with no component statuses does: every affected component that is
    still degraded or down goes back to operational (maintenance is left to its own)."""
    return {
        c: rules.OPERATIONAL
        for c in incident.components.all()
        if c.status not in (rules.OPERATIONAL, rules.MAINTENANCE)
    }


def _left_after_resolve(incident: Incident, components: Mapping[Component, str]) -> dict[str, str]:
    """The components this incident touched or the resolving update sets, with their status
    once it applies, leaving out those another open incident or active maintenance covers."""
    after: dict[int, tuple[str, str]] = {}
    if incident.pk:
        after = {c.pk: (c.name, c.status) for c in incident.components.all()}
    after.update({c.pk: (c.name, new_status) for c, new_status in components.items()})
    links = Incident.components.through.objects.filter(component_id__in=list(after)).exclude(incident_id=incident.pk)
    covered = set(
        links.filter(
            Q(incident__kind=Incident.Kind.INCIDENT, incident__status__in=rules.INCIDENT_OPEN)
            | Q(incident__kind=Incident.Kind.MAINTENANCE, incident__status__in=rules.MAINTENANCE_ACTIVE)
        ).values_list("component_id", flat=True)
    )
    return dict(after[pk] for pk in after if pk not in covered)


def validate_incident_update(
    incident: Incident,
    *,
    status: str,
    body: str,
    display_at: datetime | None,
    components=None,
    now=None,
    confirm_down_after_resolve: bool = False,
) -> None:
    """The checks `incident_post_update` makes, for forms that want to show them first.

    Resolving while a component the incident touched stays degraded or down is refused
    unless `confirm_down_after_resolve` (see `status.check_resolve`); the refusal names that
    field, since confirming is the way past it when the components really stay down.
    """
    now = now or timezone.now()
    errors = {}
    problem = (
        rules.check_maintenance_transition(incident.status, status)
        if incident.is_maintenance
        else rules.check_incident_update(incident.status, status)
    )
    if problem:
        errors["status"] = problem
    if status == "resolved" and not problem and not incident.is_maintenance:
        try:
            left = _left_after_resolve(incident, _component_statuses(components))
        except ValidationError:
            left = {}  # reported below, on its own field
        refused = rules.check_resolve(left, confirmed=confirm_down_after_resolve)
        if refused:
            errors["confirm_down_after_resolve"] = refused
    for check in (
        lambda: _text(body, "body"),
        lambda: _aware(display_at, "display_at", now=now, default=now),
        lambda: _component_statuses(components),
    ):
        try:
            check()
        except ValidationError as exc:
            errors.update(exc.message_dict)
    if (
        display_at
        and timezone.is_aware(display_at)
        and display_at < incident.started_at
        and not errors.get("display_at")
    ):
        errors["display_at"] = "An update cannot be dated before the incident started."
    if errors:
        raise ValidationError(errors)


def incident_open(
    *,
    actor: Actor,
    name: str,
    body: str,
    status: str = "investigating",
    components: Mapping[Component, str] | None = None,
    impact_override: str = "",
    started_at: datetime | None = None,
    deliver_notifications: bool = True,
) -> Incident:
    """Open an incident with its first update and the statuses of the components it hits.

    After commit: snapshot rebuilt, change pushed (notifications when asked).
    """
    name = _text(name, "name", max_length=200)
    body = _text(body, "body")
    components = _component_statuses(components)
    impact_override = _impact(impact_override)
    if status not in rules.INCIDENT_OPEN:
        raise ValidationError({"status": f"A new incident starts as one of {', '.join(rules.INCIDENT_OPEN)}."})
    with public_change() as change:
        started_at = _aware(started_at, "started_at", now=change.now, default=change.now)
        incident = Incident.objects.create(
            kind=Incident.Kind.INCIDENT,
            name=name,
            status=status,
            impact_override=impact_override,
            started_at=started_at,
            identified_at=started_at if status in ("identified", "monitoring") else None,
            monitoring_at=started_at if status == "monitoring" else None,
            created_by=actor.user,
        )
        update = _post_update(
            change,
            incident,
            status=status,
            body=body,
            components=components,
            display_at=started_at,
            deliver_notifications=deliver_notifications,
            actor=actor,
        )
        _refresh_impact(incident)
        incident.save()
        event = _incident_event(change, incident, "created")
        if deliver_notifications:
            change.notify(Notification.Kind.INCIDENT_OPENED, event, incident=incident, update=update)
    return incident


def incident_post_update(
    *,
    incident: Incident,
    actor: Actor,
    status: str,
    body: str,
    components: Mapping[Component, str] | None = None,
    display_at: datetime | None = None,
    deliver_notifications: bool = True,
    confirm_down_after_resolve: bool = False,
) -> IncidentUpdate:
    """Add a timeline update; the components named take their new statuses.

    The first update in `identified`, `monitoring` and `resolved` stamps `identified_at`,
    `monitoring_at` and `resolved_at` with its `display_at`, so a backdated timeline gives
    true durations. Refused on a resolved incident, and a resolve that leaves a component
    degraded or down is refused unless `confirm_down_after_resolve`. After commit:
    snapshot rebuilt, change pushed (notifications when asked).
    """
    if incident.is_maintenance:
        raise ValidationError({"incident": "This is a scheduled maintenance; use the maintenance actions."})
    with public_change() as change:
        incident = Incident.objects.select_for_update().get(pk=incident.pk)
        validate_incident_update(
            incident,
            status=status,
            body=body,
            display_at=display_at,
            components=components,
            now=change.now,
            confirm_down_after_resolve=confirm_down_after_resolve,
        )
        display_at = display_at or change.now
        update = _post_update(
            change,
            incident,
            status=status,
            body=body.strip(),
            components=dict(components or {}),
            display_at=display_at,
            deliver_notifications=deliver_notifications,
            actor=actor,
        )
        incident.status = status
        if status == "identified" and not incident.identified_at:
            incident.identified_at = display_at
        if status == "monitoring" and not incident.monitoring_at:
            incident.monitoring_at = display_at
        if status == "resolved":
            incident.resolved_at = display_at
        _refresh_impact(incident)
        incident.save()
        event = _incident_event(change, incident, "resolved" if status == "resolved" else "updated")
        if deliver_notifications:
            kind = Notification.Kind.INCIDENT_RESOLVED if status == "resolved" else Notification.Kind.INCIDENT_UPDATED
            change.notify(kind, event, incident=incident, update=update)
    return update


def incident_resolve(
    *,
    incident: Incident,
    actor: Actor,
    body: str,
    components: Mapping[Component, str] | None = None,
    display_at: datetime | None = None,
    deliver_notifications: bool = True,
    confirm_down_after_resolve: bool = False,
) -> IncidentUpdate:
    """Resolve an incident. Without `components`, every affected component that is still
    degraded or down goes back to operational (`components_to_restore`). Components left
    degraded or down need `confirm_down_after_resolve`. After commit: as
    `incident_post_update`."""
    if components is None:
        components = components_to_restore(incident)
    return incident_post_update(
        incident=incident,
        actor=actor,
        status="resolved",
        body=body,
        components=components,
        display_at=display_at,
        deliver_notifications=deliver_notifications,
        confirm_down_after_resolve=confirm_down_after_resolve,
    )


def incident_edit(
    *, incident: Incident, actor: Actor, name: str | None = None, impact_override: str | None = None
) -> Incident:
    """Rename an incident or override its impact. After commit: snapshot rebuilt, change pushed."""
    with public_change() as change:
        incident = Incident.objects.select_for_update().get(pk=incident.pk)
        if name is not None:
            incident.name = _text(name, "name", max_length=200)
        if impact_override is not None:
            incident.impact_override = _impact(impact_override)
            _refresh_impact(incident)
        incident.save()
        _incident_event(change, incident, "updated")
    return incident


def incident_update_edit(*, update: IncidentUpdate, actor: Actor, body: str) -> IncidentUpdate:
    """Correct the text of a posted update (a typo); its time and statuses stay."""
    body = _text(body, "body")
    with public_change() as change:
        update = IncidentUpdate.objects.select_for_update().get(pk=update.pk)
        update.body = body
        update.save(update_fields=["body", "updated_at"])
        _incident_event(change, update.incident, "updated")
    return update


def postmortem_save(
    *, incident: Incident, actor: Actor, body: str, publish: bool = False, deliver_notifications: bool = True
) -> Incident:
    """Save the postmortem text; with `publish`, show it and set the status `postmortem`.

    A postmortem is published only once the incident is resolved. Editing a published
    postmortem changes it in place. After commit: snapshot rebuilt, change pushed when
    the public text changed, subscribers told of the first publication when asked.
    """
    body = (body or "").strip()
    with public_change() as change:
        incident = Incident.objects.select_for_update().get(pk=incident.pk)
        if incident.is_maintenance:
            raise ValidationError({"postmortem_body": "Maintenance has no postmortem."})
        if publish:
            if not body:
                raise ValidationError({"postmortem_body": "Write the postmortem before publishing it."})
            if incident.status not in rules.INCIDENT_CLOSED:
                raise ValidationError({"postmortem_body": "Resolve the incident before publishing its postmortem."})
        was_public = incident.postmortem_published_at is not None
        incident.postmortem_body = body
        if publish and not was_public:
            incident.postmortem_published_at = change.now
            incident.status = Incident.Status.POSTMORTEM
        incident.save()
        if publish and not was_public:
            event = _incident_event(change, incident, "postmortem_published")
            if deliver_notifications:
                change.notify(Notification.Kind.POSTMORTEM_PUBLISHED, event, incident=incident)
        elif was_public:
            _incident_event(change, incident, "postmortem_updated")
    return incident


def postmortem_publish(*, incident: Incident, actor: Actor, deliver_notifications: bool = True) -> Incident:
    """Publish the saved draft postmortem. After commit: snapshot rebuilt, change pushed,
    subscribers told when asked."""
    return postmortem_save(
        incident=incident,
        actor=actor,
        body=incident.postmortem_body,
        publish=True,
        deliver_notifications=deliver_notifications,
    )


# --- scheduled maintenance ---------------------------------------------------------------


def _window(scheduled_for, scheduled_until) -> tuple[datetime, datetime]:
    errors = {}
    for field, value in (("scheduled_for", scheduled_for), ("scheduled_until", scheduled_until)):
        if not isinstance(value, datetime):
            errors[field] = "Enter a date and time."
        elif timezone.is_naive(value):
            errors[field] = "Give a time zone; naive times are refused."
    if not errors and scheduled_until <= scheduled_for:
        errors["scheduled_until"] = "The end must be after the start."
    if errors:
        raise ValidationError(errors)
    return scheduled_for, scheduled_until


def maintenance_schedule(
    *,
    actor: Actor,
    name: str,
    body: str,
    scheduled_for: datetime,
    scheduled_until: datetime,
    components: Iterable[Component] = (),
    auto_start: bool = False,
    auto_complete: bool = False,
    components_to_maintenance: bool = True,
    notify_at_transitions: bool = True,
    remind_before_minutes: int | None = 60,
    unscheduled: bool = False,
    deliver_notifications: bool = True,
    announced_at: datetime | None = None,
) -> Incident:
    """Announce a maintenance window. `announced_at` (default now) dates the announcement
    in the timeline, backdated like an incident's updates may be. After commit: snapshot
    rebuilt, change pushed (subscribers told when asked)."""
    name = _text(name, "name", max_length=200)
    body = _text(body, "body")
    scheduled_for, scheduled_until = _window(scheduled_for, scheduled_until)
    if remind_before_minutes is not None and remind_before_minutes < 0:
        raise ValidationError({"remind_before_minutes": "Must be zero or more."})
    with public_change() as change:
        announced_at = _aware(announced_at, "announced_at", now=change.now, default=change.now)
        maintenance = Incident.objects.create(
            kind=Incident.Kind.MAINTENANCE,
            name=name,
            status=Incident.Status.SCHEDULED,
            impact=Incident.Impact.MAINTENANCE,
            started_at=scheduled_for,
            scheduled_for=scheduled_for,
            scheduled_until=scheduled_until,
            auto_start=auto_start,
            auto_complete=auto_complete,
            components_to_maintenance=components_to_maintenance,
            notify_at_transitions=notify_at_transitions,
            remind_before_minutes=remind_before_minutes,
            unscheduled=unscheduled,
            created_by=actor.user,
        )
        maintenance.components.set(list(components))
        update = _post_update(
            change,
            maintenance,
            status="scheduled",
            body=body,
            components={},
            display_at=announced_at,
            deliver_notifications=deliver_notifications,
            actor=actor,
        )
        event = _incident_event(change, maintenance, "scheduled")
        if deliver_notifications:
            change.notify(Notification.Kind.MAINTENANCE_SCHEDULED, event, incident=maintenance, update=update)
    return maintenance


MAINTENANCE_NOTIFICATIONS = {
    "in_progress": Notification.Kind.MAINTENANCE_STARTED,
    "completed": Notification.Kind.MAINTENANCE_COMPLETED,
    "cancelled": Notification.Kind.MAINTENANCE_CANCELLED,
}


def _transition(
    maintenance: Incident,
    new_status: str,
    *,
    actor: Actor,
    body: str,
    at: datetime | None,
    deliver_notifications: bool | None,
    if_status: Iterable[str] | None = None,
) -> Incident:
    with public_change() as change:
        maintenance = Incident.objects.select_for_update().get(pk=maintenance.pk)
        if not maintenance.is_maintenance:
            raise ValidationError({"incident": "This is an incident, not a scheduled maintenance."})
        if if_status is not None and maintenance.status not in if_status:
            # A scheduler's re-check under the lock: someone else moved it first.
            raise ValidationError({"status": f"The maintenance is {maintenance.status.replace('_', ' ')} by now."})
        problem = rules.check_maintenance_transition(maintenance.status, new_status)
        if problem:
            raise ValidationError({"status": problem})
        at = _aware(at, "at", now=change.now, default=change.now)
        components: dict[Component, str] = {}
        if maintenance.components_to_maintenance:
            affected = list(maintenance.components.all())
            if new_status == "in_progress" and maintenance.status == "scheduled":
                components = dict.fromkeys(affected, rules.MAINTENANCE)
            elif new_status == "completed":
                # Back to operational, unless an operator set another status meanwhile.
                components = {c: rules.OPERATIONAL for c in affected if c.status == rules.MAINTENANCE}
        if new_status == "in_progress" and maintenance.status == "scheduled":
            maintenance.started_at = at
        if new_status in rules.MAINTENANCE_CLOSED:
            maintenance.resolved_at = at
        notify = maintenance.notify_at_transitions if deliver_notifications is None else deliver_notifications
        update = _post_update(
            change,
            maintenance,
            status=new_status,
            body=body,
            components=components,
            display_at=at,
            deliver_notifications=notify,
            actor=actor,
        )
        kind = Notification.Kind.MAINTENANCE_UPDATED
        if new_status != maintenance.status and (new_status != "in_progress" or maintenance.status == "scheduled"):
            kind = MAINTENANCE_NOTIFICATIONS.get(new_status, kind)
        maintenance.status = new_status
        maintenance.save()
        event = _incident_event(change, maintenance, new_status)
        if notify:
            change.notify(kind, event, incident=maintenance, update=update)
    return maintenance


# The standard text of an update posted without one (Statuspage's own defaults for incidents).
DEFAULT_BODIES = {
    "investigating": "We are currently investigating this issue.",
    "identified": "The issue has been identified and a fix is being implemented.",
    "monitoring": "A fix has been implemented and we are monitoring the results.",
    "resolved": "This incident has been resolved.",
    "in_progress": "Scheduled maintenance is in progress. We will provide updates as necessary.",
    "verifying": "Maintenance work is done; we are verifying that everything works as expected.",
    "completed": "The scheduled maintenance has been completed.",
    "cancelled": "This scheduled maintenance has been cancelled.",
}


def maintenance_start(
    *,
    maintenance: Incident,
    actor: Actor,
    body: str = "",
    at: datetime | None = None,
    deliver_notifications: bool | None = None,
    if_status: Iterable[str] | None = None,
) -> Incident:
    """Begin the maintenance: `in_progress`, its components `under_maintenance` when asked.

    `if_status` refuses unless the maintenance is still in one of those statuses when
    locked (schedulers pass it, so a late or doubled tick never acts twice).
    After commit: snapshot rebuilt, change pushed (notifications when asked)."""
    return _transition(
        maintenance,
        "in_progress",
        actor=actor,
        body=body or DEFAULT_BODIES["in_progress"],
        at=at,
        deliver_notifications=deliver_notifications,
        if_status=if_status,
    )


def maintenance_verify(
    *,
    maintenance: Incident,
    actor: Actor,
    body: str = "",
    at: datetime | None = None,
    deliver_notifications: bool | None = None,
) -> Incident:
    """Work is done and being checked. After commit: snapshot rebuilt, change pushed."""
    return _transition(
        maintenance,
        "verifying",
        actor=actor,
        body=body or DEFAULT_BODIES["verifying"],
        at=at,
        deliver_notifications=deliver_notifications,
    )


def maintenance_complete(
    *,
    maintenance: Incident,
    actor: Actor,
    body: str = "",
    at: datetime | None = None,
    deliver_notifications: bool | None = None,
    if_status: Iterable[str] | None = None,
) -> Incident:
    """End the maintenance; components it put under maintenance go back to operational.

    `if_status` as for `maintenance_start`.
    After commit: snapshot rebuilt, change pushed (notifications when asked)."""
    return _transition(
        maintenance,
        "completed",
        actor=actor,
        body=body or DEFAULT_BODIES["completed"],
        at=at,
        deliver_notifications=deliver_notifications,
        if_status=if_status,
    )


def maintenance_cancel(
    *, maintenance: Incident, actor: Actor, body: str = "", deliver_notifications: bool | None = None
) -> Incident:
    """Call off a maintenance that has not started. After commit: snapshot rebuilt, change pushed."""
    return _transition(
        maintenance,
        "cancelled",
        actor=actor,
        body=body or DEFAULT_BODIES["cancelled"],
        at=None,
        deliver_notifications=deliver_notifications,
    )


def maintenance_post_update(
    *, maintenance: Incident, actor: Actor, body: str, deliver_notifications: bool | None = None
) -> Incident:
    """A progress note that keeps the current status. After commit: snapshot rebuilt, change pushed."""
    return _transition(
        maintenance,
        maintenance.status,
        actor=actor,
        body=_text(body, "body"),
        at=None,
        deliver_notifications=deliver_notifications,
    )


def maintenance_reschedule(
    *,
    maintenance: Incident,
    actor: Actor,
    scheduled_for: datetime,
    scheduled_until: datetime,
    body: str = "",
    deliver_notifications: bool | None = None,
) -> Incident:
    """Move a maintenance that has not started; the change is noted (OKX `scheDesc`).

    After commit: snapshot rebuilt, change pushed (notifications when asked)."""
    scheduled_for, scheduled_until = _window(scheduled_for, scheduled_until)
    with public_change() as change:
        maintenance = Incident.objects.select_for_update().get(pk=maintenance.pk)
        if not maintenance.is_maintenance or maintenance.status != "scheduled":
            raise ValidationError({"scheduled_for": "Only a maintenance that has not started can be rescheduled."})
        fmt = "%Y-%m-%d %H:%M"
        tz = formats.page_tz()
        label = settings.STATUS_PAGE["TIME_ZONE_LABEL"]
        note = (
            f"Rescheduled from {maintenance.scheduled_for.astimezone(tz):{fmt}}–"
            f"{maintenance.scheduled_until.astimezone(tz):{fmt}} to "
            f"{scheduled_for.astimezone(tz):{fmt}}–{scheduled_until.astimezone(tz):{fmt}} {label}"
        )
        maintenance.scheduled_for = scheduled_for
        maintenance.scheduled_until = scheduled_until
        maintenance.started_at = scheduled_for
        maintenance.reschedule_note = note
        maintenance.reminded_at = None
        notify = maintenance.notify_at_transitions if deliver_notifications is None else deliver_notifications
        update = _post_update(
            change,
            maintenance,
            status="scheduled",
            body=(body or "").strip() or f"{note}.",
            components={},
            display_at=change.now,
            deliver_notifications=notify,
            actor=actor,
        )
        maintenance.save()
        event = _incident_event(change, maintenance, "rescheduled")
        if notify:
            change.notify(Notification.Kind.MAINTENANCE_RESCHEDULED, event, incident=maintenance, update=update)
    return maintenance


def maintenance_remind(*, maintenance: Incident, actor: Actor) -> bool:
    """Remind subscribers that a maintenance is coming, once per window (`reminded_at`;
    rescheduling clears it). Not a public change: no event, no snapshot rebuild.

    Returns whether a reminder was made now. After commit: the dispatcher is kicked.
    """
    with transaction.atomic():
        maintenance = Incident.objects.select_for_update().get(pk=maintenance.pk)
        if (
            not maintenance.is_maintenance
            or maintenance.status != "scheduled"
            or maintenance.reminded_at is not None
            or maintenance.remind_before_minutes is None
        ):
            return False
        now = timezone.now()
        maintenance.reminded_at = now
        # Only this field: `updated_at` is public, and nothing public changed.
        maintenance.save(update_fields=["reminded_at"])
        if maintenance.notify_at_transitions:
            notifications.record(
                [notifications.Notice(Notification.Kind.MAINTENANCE_REMINDER, incident=maintenance)], now=now
            )
    return True


def maintenance_edit(*, maintenance: Incident, actor: Actor, **fields) -> Incident:
    """Change a maintenance's name, affected components or automation flags.

    The window moves only through `maintenance_reschedule`. After commit: snapshot
    rebuilt, change pushed.
    """
    allowed = {
        "name",
        "components",
        "auto_start",
        "auto_complete",
        "components_to_maintenance",
        "notify_at_transitions",
        "remind_before_minutes",
        "unscheduled",
    }
    unknown = set(fields) - allowed
    if unknown:
        raise TypeError(f"unknown maintenance fields: {sorted(unknown)}")
    if "name" in fields:
        fields["name"] = _text(fields["name"], "name", max_length=200)
    remind = fields.get("remind_before_minutes")
    if remind is not None and remind < 0:
        raise ValidationError({"remind_before_minutes": "Must be zero or more."})
    with public_change() as change:
        maintenance = Incident.objects.select_for_update().get(pk=maintenance.pk)
        if not maintenance.is_maintenance:
            raise ValidationError({"incident": "This is an incident, not a scheduled maintenance."})
        if maintenance.status in rules.MAINTENANCE_CLOSED:
            raise ValidationError({"status": f"A {maintenance.status} maintenance cannot be changed."})
        components = fields.pop("components", None)
        for name, value in fields.items():
            setattr(maintenance, name, value)
        maintenance.save()
        if components is not None:
            maintenance.components.set(list(components))
        _incident_event(change, maintenance, "updated")
    return maintenance


# --- API tokens --------------------------------------------------------------------------


def api_token_create(*, user, name: str, scope: str = "read", expires_at: datetime | None = None):
    """Make a bearer token; returns (token row, the token text), the text shown only now."""
    name = _text(name, "name", max_length=100)
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


# --- subscribers -------------------------------------------------------------------------


def subscriber_create(
    *,
    actor: Actor,
    email: str = "",
    endpoint: str = "",
    components: Iterable[Component] = (),
    confirmed: bool = False,
    owner_email: str = "",
):
    """Subscribe an email address or a webhook endpoint to the page or some components.

    A webhook gets its signing secret now (returned once by the API); its URL must pass
    the SSRF check (`webhooks.check_url`). An email address waits for confirmation unless
    an operator vouches for it (`confirmed`); a new pending address is sent the
    confirmation mail after commit. Subscriber changes are not public, so no event and no
    snapshot rebuild.
    """
    email, endpoint = (email or "").strip().lower(), (endpoint or "").strip()
    owner_email = (owner_email or "").strip().lower()
    if bool(email) == bool(endpoint):
        raise ValidationError({"email": "Give either an email address or a webhook endpoint."})
    try:
        if email:
            EmailValidator()(email)
        else:
            URLValidator(schemes=["http", "https"])(endpoint)
    except ValidationError as exc:
        raise ValidationError({"email" if email else "endpoint": exc.messages})
    if owner_email:
        try:
            EmailValidator()(owner_email)
        except ValidationError as exc:
            raise ValidationError({"owner_email": exc.messages})
    if endpoint:
        try:
            webhooks.check_url(endpoint)
        except webhooks.UnsafeDestination as exc:
            raise ValidationError({"endpoint": str(exc)})
    with transaction.atomic():
        if email:
            existing = Subscriber.objects.filter(kind=Subscriber.Kind.EMAIL, email=email).first()
            if existing is not None:
                return existing
            subscriber = Subscriber.objects.create(
                kind=Subscriber.Kind.EMAIL,
                email=email,
                state=Subscriber.State.ACTIVE if confirmed else Subscriber.State.PENDING,
                confirmed_at=timezone.now() if confirmed else None,
            )
            if not confirmed:
                _subscription_mail(subscriber, Notification.Kind.SUBSCRIPTION_CONFIRM)
        else:
            subscriber = Subscriber.objects.create(
                kind=Subscriber.Kind.WEBHOOK,
                endpoint=endpoint,
                owner_email=owner_email,
                state=Subscriber.State.ACTIVE,
                confirmed_at=timezone.now(),
                webhook_secret=webhooks.new_secret(),
            )
        subscriber.components.set(list(components))
    return subscriber


# At most one subscription mail per address in this time: the form cannot mail-bomb anyone.
SUBSCRIPTION_MAIL_INTERVAL = timedelta(minutes=2)


def _subscription_mail(subscriber: Subscriber, kind: str) -> None:
    recent = subscriber.direct_notifications.filter(
        kind__in=(Notification.Kind.SUBSCRIPTION_CONFIRM, Notification.Kind.SUBSCRIPTION_EXISTING),
        created_at__gte=timezone.now() - SUBSCRIPTION_MAIL_INTERVAL,
    )
    if not recent.exists():
        notifications.record([notifications.Notice(kind, recipient=subscriber)])


def subscriber_request(*, email: str, components: Iterable[Component] = ()) -> None:
    """A reader asks, on the public form, for mail to `email`: the same answer for anyone.

    New or unsubscribed: pending, with the chosen components (none: the whole page), and
    a confirmation mail. Pending: the chosen components and the confirmation mail again.
    Confirmed: unchanged, and a mail with its manage link. Every mail is sent later by a
    worker (at most one per address every few minutes), so neither the answer nor its
    timing tells whether an address is subscribed. Only a malformed address is refused.
    """
    email = (email or "").strip().lower()
    try:
        EmailValidator()(email)
    except ValidationError as exc:
        raise ValidationError({"email": exc.messages})
    components = list(components)
    with transaction.atomic():
        subscriber = Subscriber.objects.select_for_update().filter(kind=Subscriber.Kind.EMAIL, email=email).first()
        if subscriber is None:
            subscriber = Subscriber.objects.create(kind=Subscriber.Kind.EMAIL, email=email)
        if subscriber.state == Subscriber.State.ACTIVE:
            _subscription_mail(subscriber, Notification.Kind.SUBSCRIPTION_EXISTING)
            return
        subscriber.state = Subscriber.State.PENDING
        subscriber.save(update_fields=["state"])
        subscriber.components.set(components)
        _subscription_mail(subscriber, Notification.Kind.SUBSCRIPTION_CONFIRM)


def subscriber_confirm(*, subscriber: Subscriber) -> Subscriber:
    """The owner of the address opened the signed confirmation link: mail starts now."""
    with transaction.atomic():
        subscriber = Subscriber.objects.select_for_update().get(pk=subscriber.pk)
        if subscriber.state == Subscriber.State.PENDING:
            subscriber.state = Subscriber.State.ACTIVE
            subscriber.confirmed_at = timezone.now()
            subscriber.unsubscribed_at = None
            subscriber.save(update_fields=["state", "confirmed_at", "unsubscribed_at"])
    return subscriber


def subscriber_set_components(*, subscriber: Subscriber, components: Iterable[Component]) -> Subscriber:
    """Choose what to hear of: some components, or none for the whole page."""
    with transaction.atomic():
        subscriber = Subscriber.objects.select_for_update().get(pk=subscriber.pk)
        subscriber.components.set(list(components))
    return subscriber


def subscriber_unsubscribe(*, subscriber: Subscriber) -> Subscriber:
    """Stop all mail (or webhooks) to this subscriber; pending deliveries are not sent."""
    with transaction.atomic():
        subscriber = Subscriber.objects.select_for_update().get(pk=subscriber.pk)
        if subscriber.state != Subscriber.State.UNSUBSCRIBED:
            subscriber.state = Subscriber.State.UNSUBSCRIBED
            subscriber.unsubscribed_at = timezone.now()
            subscriber.save(update_fields=["state", "unsubscribed_at"])
    return subscriber


def subscriber_reactivate(*, subscriber: Subscriber, actor: Actor) -> Subscriber:
    """Operators: resume a quarantined or disabled webhook once its endpoint works again."""
    with transaction.atomic():
        subscriber = Subscriber.objects.select_for_update().get(pk=subscriber.pk)
        if subscriber.kind != Subscriber.Kind.WEBHOOK or subscriber.state not in (
            Subscriber.State.QUARANTINED,
            Subscriber.State.DISABLED,
        ):
            raise ValidationError({"state": "Only a quarantined or disabled webhook can be reactivated."})
        subscriber.state = Subscriber.State.ACTIVE
        subscriber.consecutive_failures = 0
        subscriber.quarantined_at = None
        subscriber.unsubscribed_at = None
        subscriber.disabled_reason = ""
        subscriber.save(
            update_fields=["state", "consecutive_failures", "quarantined_at", "unsubscribed_at", "disabled_reason"]
        )
    return subscriber


def subscriber_delete(*, subscriber, actor: Actor) -> None:
    """Remove a subscriber for good (operators; readers unsubscribe by link)."""
    subscriber.delete()
