"""Scheduled maintenance: announce, start, verify, complete, cancel, reschedule, remind."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext

from .. import rules
from ..models import Component, Incident, Notification, Template
from ..notify import outbox
from ..notify.types import Notice
from ..wire.time import in_page_time
from . import audit, checks
from . import translations as localized
from .change import Actor, public_change
from .incidents import incident_event, post_update
from .translations import Translations


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


def _pre_open(pre_open_at, scheduled_for, scheduled_until, auto_pre_open) -> None:
    """A planned pre-open phase starts inside the window; entering it by itself needs one."""
    if pre_open_at is None:
        if auto_pre_open:
            raise ValidationError({"auto_pre_open": "Give the pre-open phase a start (pre_open_at) first."})
        return
    if not isinstance(pre_open_at, datetime) or timezone.is_naive(pre_open_at):
        raise ValidationError({"pre_open_at": "Give a date and time with a time zone."})
    if not scheduled_for < pre_open_at < scheduled_until:
        raise ValidationError(
            {"pre_open_at": "The pre-open phase starts inside the window: after its start, before its end."}
        )


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
    translations: Translations | None = None,
    pre_open_at: datetime | None = None,
    auto_pre_open: bool = False,
    template: Template | None = None,
) -> Incident:
    """Announce a maintenance window (with a planned pre-open phase from `pre_open_at`,
    entered by itself when `auto_pre_open`) (`translations`: {"zh-hans": {"name", "body"}}). `announced_at` (default now) dates the announcement
    in the timeline, backdated like an incident's updates may be. After commit: snapshot
    rebuilt, change pushed (subscribers told when asked)."""
    name = checks.name(name, "name", max_length=200)
    body = checks.text(body, "body")
    translated = localized.check(translations, {"name": 200, "body": None})
    scheduled_for, scheduled_until = _window(scheduled_for, scheduled_until)
    _pre_open(pre_open_at, scheduled_for, scheduled_until, auto_pre_open)
    checks.minutes(remind_before_minutes, "remind_before_minutes")
    with public_change() as change:
        announced_at = checks.aware(announced_at, "announced_at", now=change.now, default=change.now)
        maintenance = Incident(
            kind=Incident.Kind.MAINTENANCE,
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
            pre_open_at=pre_open_at,
            auto_pre_open=auto_pre_open,
            template=template,
            created_by=actor.user,
        )
        maintenance.name = name
        localized.apply(maintenance, localized.only(translated, "name"))
        maintenance.save()
        maintenance.components.set(list(components))
        update = post_update(
            change,
            maintenance,
            status=rules.SCHEDULED,
            body=body,
            components={},
            display_at=announced_at,
            deliver_notifications=deliver_notifications,
            actor=actor,
            translated=localized.only(translated, "body"),
        )
        event = incident_event(change, maintenance, "scheduled")
        audit.record(
            actor,
            "maintenance.schedule",
            maintenance,
            changes={
                "window": [None, [maintenance.scheduled_for.isoformat(), maintenance.scheduled_until.isoformat()]],
                **({"template": [None, template.slug]} if template else {}),
            },
        )
        if deliver_notifications:
            change.notify(Notification.Kind.MAINTENANCE_SCHEDULED, event, incident=maintenance, update=update)
    return maintenance


MAINTENANCE_NOTIFICATIONS = {
    rules.IN_PROGRESS: Notification.Kind.MAINTENANCE_STARTED,
    rules.PRE_OPEN: Notification.Kind.MAINTENANCE_UPDATED,
    rules.COMPLETED: Notification.Kind.MAINTENANCE_COMPLETED,
    rules.CANCELLED: Notification.Kind.MAINTENANCE_CANCELLED,
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
    translations: Translations | None = None,
) -> Incident:
    """Move a maintenance to `new_status` with an update: `body`, else the status's own
    words (rules.DEFAULT_BODIES, in every language the catalogs have)."""
    translated = localized.check(translations, {"body": None})
    if not body:
        body, defaults = localized.default_body(new_status)
        translated = localized.merged(translated, defaults)
    with public_change() as change:
        maintenance = Incident.objects.select_for_update().get(pk=maintenance.pk)
        if not maintenance.is_maintenance:
            raise checks.Conflict({"incident": "This is an incident, not a scheduled maintenance."})
        if if_status is not None and maintenance.status not in if_status:
            # A scheduler's re-check under the lock: someone else moved it first.
            raise checks.Conflict({"status": f"The maintenance is {maintenance.status.replace('_', ' ')} by now."})
        problem = rules.check_maintenance_transition(maintenance.status, new_status)
        if problem:
            raise checks.Conflict({"status": problem})
        at = checks.aware(at, "at", now=change.now, default=change.now)
        components: dict[Component, str] = {}
        modes: dict[Component, str] = {}
        if maintenance.components_to_maintenance:
            affected = list(maintenance.components.all())
            if new_status == rules.IN_PROGRESS and maintenance.status == rules.SCHEDULED:
                components = dict.fromkeys(affected, rules.MAINTENANCE)
            elif new_status == rules.COMPLETED:
                # Back to operational, unless an operator set another status meanwhile.
                components = {c: rules.OPERATIONAL for c in affected if c.status == rules.MAINTENANCE}
            # Its trading products reopen through the pre-open phase with it, from whatever
            # mode the outage left them in, and trade normally again when it ends (or goes
            # back to work), unless an operator set another mode meanwhile.
            if new_status == rules.PRE_OPEN:
                modes = {c: rules.PRE_OPEN for c in affected if c.trading and c.trading_mode != rules.PRE_OPEN}
            elif maintenance.status == rules.PRE_OPEN and new_status in (rules.COMPLETED, rules.IN_PROGRESS):
                modes = {c: rules.NORMAL for c in affected if c.trading and c.trading_mode == rules.PRE_OPEN}
        if new_status == rules.IN_PROGRESS and maintenance.status == rules.SCHEDULED:
            maintenance.started_at = at
        if new_status == rules.PRE_OPEN and maintenance.status != rules.PRE_OPEN:
            # As it happened (OKX's preOpenBegin); before, the planned start if one was set.
            maintenance.pre_open_at = at
        if new_status in rules.MAINTENANCE_CLOSED:
            maintenance.resolved_at = at
        notify = maintenance.notify_at_transitions if deliver_notifications is None else deliver_notifications
        update = post_update(
            change,
            maintenance,
            status=new_status,
            body=body,
            components=components,
            display_at=at,
            deliver_notifications=notify,
            actor=actor,
            translated=translated,
            trading_modes=modes,
        )
        audit.record(
            actor, f"maintenance.{new_status}", maintenance, changes={"status": [maintenance.status, new_status]}
        )
        kind = Notification.Kind.MAINTENANCE_UPDATED
        if new_status != maintenance.status and (
            new_status != rules.IN_PROGRESS or maintenance.status == rules.SCHEDULED
        ):
            kind = MAINTENANCE_NOTIFICATIONS.get(new_status, kind)
        maintenance.status = new_status
        maintenance.save()
        event = incident_event(change, maintenance, new_status)
        if notify:
            change.notify(kind, event, incident=maintenance, update=update)
    return maintenance


def maintenance_start(
    *,
    maintenance: Incident,
    actor: Actor,
    body: str = "",
    at: datetime | None = None,
    deliver_notifications: bool | None = None,
    if_status: Iterable[str] | None = None,
    translations: Translations | None = None,
) -> Incident:
    """Begin the maintenance: `in_progress`, its components `under_maintenance` when asked.

    `if_status` refuses unless the maintenance is still in one of those statuses when
    locked (schedulers pass it, so a late or doubled tick never acts twice).
    After commit: snapshot rebuilt, change pushed (notifications when asked)."""
    return _transition(
        maintenance,
        rules.IN_PROGRESS,
        actor=actor,
        body=body,
        translations=translations,
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
    translations: Translations | None = None,
) -> Incident:
    """Work is done and being checked. After commit: snapshot rebuilt, change pushed."""
    return _transition(
        maintenance,
        rules.VERIFYING,
        actor=actor,
        body=body,
        translations=translations,
        at=at,
        deliver_notifications=deliver_notifications,
    )


def maintenance_pre_open(
    *,
    maintenance: Incident,
    actor: Actor,
    body: str = "",
    at: datetime | None = None,
    deliver_notifications: bool | None = None,
    if_status: Iterable[str] | None = None,
    translations: Translations | None = None,
) -> Incident:
    """The work is done and the market reopens in stages: `pre_open` (OKX's state of that
    name, `preOpenBegin` now), its trading products in the `pre_open` mode (cancel and
    post-only orders, no matching) until `maintenance_complete`.

    `if_status` as for `maintenance_start`. After commit: snapshot rebuilt, change pushed
    (notifications when asked)."""
    return _transition(
        maintenance,
        rules.PRE_OPEN,
        actor=actor,
        body=body,
        translations=translations,
        at=at,
        deliver_notifications=deliver_notifications,
        if_status=if_status,
    )


def maintenance_complete(
    *,
    maintenance: Incident,
    actor: Actor,
    body: str = "",
    at: datetime | None = None,
    deliver_notifications: bool | None = None,
    if_status: Iterable[str] | None = None,
    translations: Translations | None = None,
) -> Incident:
    """End the maintenance; components it put under maintenance go back to operational.

    `if_status` as for `maintenance_start`.
    After commit: snapshot rebuilt, change pushed (notifications when asked)."""
    return _transition(
        maintenance,
        rules.COMPLETED,
        actor=actor,
        body=body,
        translations=translations,
        at=at,
        deliver_notifications=deliver_notifications,
        if_status=if_status,
    )


def maintenance_cancel(
    *,
    maintenance: Incident,
    actor: Actor,
    body: str = "",
    deliver_notifications: bool | None = None,
    translations: Translations | None = None,
) -> Incident:
    """Call off a maintenance that has not started. After commit: snapshot rebuilt, change pushed."""
    return _transition(
        maintenance,
        rules.CANCELLED,
        actor=actor,
        body=body,
        translations=translations,
        at=None,
        deliver_notifications=deliver_notifications,
    )


def maintenance_post_update(
    *,
    maintenance: Incident,
    actor: Actor,
    body: str,
    deliver_notifications: bool | None = None,
    translations: Translations | None = None,
) -> Incident:
    """A progress note that keeps the current status. After commit: snapshot rebuilt, change pushed."""
    return _transition(
        maintenance,
        maintenance.status,
        actor=actor,
        body=checks.text(body, "body"),
        at=None,
        deliver_notifications=deliver_notifications,
        translations=translations,
    )


def maintenance_reschedule(
    *,
    maintenance: Incident,
    actor: Actor,
    scheduled_for: datetime,
    scheduled_until: datetime,
    body: str = "",
    deliver_notifications: bool | None = None,
    translations: Translations | None = None,
) -> Incident:
    """Move a maintenance that has not started; the change is noted (OKX `scheDesc`), in
    every language the catalogs have.

    After commit: snapshot rebuilt, change pushed (notifications when asked)."""
    scheduled_for, scheduled_until = _window(scheduled_for, scheduled_until)
    translated = localized.check(translations, {"body": None})
    with public_change() as change:
        maintenance = Incident.objects.select_for_update().get(pk=maintenance.pk)
        if not maintenance.is_maintenance or maintenance.status != rules.SCHEDULED:
            raise checks.Conflict({"scheduled_for": "Only a maintenance that has not started can be rescheduled."})

        def make_note() -> str:
            return rescheduled_note(
                maintenance.scheduled_for, maintenance.scheduled_until, scheduled_for, scheduled_until
            )

        note = make_note()
        notes = localized.generated(make_note, "note")
        before = audit.fields_of(maintenance, ("scheduled_for", "scheduled_until"))
        maintenance.scheduled_for = scheduled_for
        maintenance.scheduled_until = scheduled_until
        maintenance.started_at = scheduled_for
        audit.record(actor, "maintenance.reschedule", maintenance, changes=audit.changed(before, maintenance))
        maintenance.reschedule_note = note
        localized.apply(maintenance, notes, {"note": "reschedule_note"})
        maintenance.reminded_at = None
        notify = maintenance.notify_at_transitions if deliver_notifications is None else deliver_notifications
        update = post_update(
            change,
            maintenance,
            status=rules.SCHEDULED,
            body=(body or "").strip() or f"{note}.",
            components={},
            display_at=change.now,
            deliver_notifications=notify,
            actor=actor,
            translated=translated
            if (body or "").strip()
            else {code: {"body": f"{texts['note']}."} for code, texts in notes.items()},
        )
        maintenance.save()
        event = incident_event(change, maintenance, "rescheduled")
        if notify:
            change.notify(Notification.Kind.MAINTENANCE_RESCHEDULED, event, incident=maintenance, update=update)
    return maintenance


def rescheduled_note(old_start: datetime, old_end: datetime, start: datetime, end: datetime) -> str:
    """ "Rescheduled from 2021-02-01 01:00–03:00 to 2021-02-02 01:00–03:00 HKT", in the
    active language."""
    return gettext("Rescheduled from %(old_start)s–%(old_end)s to %(start)s–%(end)s") % {
        "old_start": in_page_time(old_start, label=False),
        "old_end": in_page_time(old_end, label=False),
        "start": in_page_time(start, label=False),
        "end": in_page_time(end),
    }


def maintenance_remind(*, maintenance: Incident, actor: Actor) -> bool:
    """Remind subscribers that a maintenance is coming, once per window (`reminded_at`;
    rescheduling clears it). Not a public change: no event, no snapshot rebuild.

    Returns whether a reminder was made now. After commit: the dispatcher is kicked.
    """
    with transaction.atomic():
        maintenance = Incident.objects.select_for_update().get(pk=maintenance.pk)
        if (
            not maintenance.is_maintenance
            or maintenance.status != rules.SCHEDULED
            or maintenance.reminded_at is not None
            or maintenance.remind_before_minutes is None
        ):
            return False
        now = timezone.now()
        maintenance.reminded_at = now
        # Only this field: `updated_at` is public, and nothing public changed.
        maintenance.save(update_fields=["reminded_at"])
        audit.record(actor, "maintenance.remind", maintenance)
        if maintenance.notify_at_transitions:
            outbox.record([Notice(Notification.Kind.MAINTENANCE_REMINDER, incident=maintenance)], now=now)
    return True


# How a maintenance behaves, set when it is scheduled and changed by `maintenance_edit`.
MAINTENANCE_BEHAVIOUR = (
    "auto_start",
    "auto_complete",
    "pre_open_at",
    "auto_pre_open",
    "components_to_maintenance",
    "notify_at_transitions",
    "remind_before_minutes",
    "unscheduled",
)


def maintenance_edit(
    *, maintenance: Incident, actor: Actor, translations: Translations | None = None, **fields
) -> Incident:
    """Change a maintenance's name (in any language: `translations` {"zh-hans": {"name"}}),
    affected components or automation flags.

    The window moves only through `maintenance_reschedule`. After commit: snapshot
    rebuilt, change pushed.
    """
    unknown = set(fields) - {"name", "components", *MAINTENANCE_BEHAVIOUR}
    if unknown:
        raise TypeError(f"unknown maintenance fields: {sorted(unknown)}")
    if "name" in fields:
        fields["name"] = checks.name(fields["name"], "name", max_length=200)
    checks.minutes(fields.get("remind_before_minutes"), "remind_before_minutes")
    remind = fields.get("remind_before_minutes")
    if remind is not None and remind < 0:
        raise ValidationError({"remind_before_minutes": "Must be zero or more."})
    translated = localized.check(translations, {"name": 200})
    with public_change() as change:
        maintenance = Incident.objects.select_for_update().get(pk=maintenance.pk)
        if not maintenance.is_maintenance:
            raise checks.Conflict({"incident": "This is an incident, not a scheduled maintenance."})
        if maintenance.status in rules.MAINTENANCE_CLOSED:
            raise checks.Conflict({"status": f"A {maintenance.status} maintenance cannot be changed."})
        if {"pre_open_at", "auto_pre_open"} & fields.keys():
            if maintenance.status == rules.PRE_OPEN and "pre_open_at" in fields:
                raise checks.Conflict({"pre_open_at": "The pre-open phase has begun: its start is what happened."})
            _pre_open(
                fields.get("pre_open_at", maintenance.pre_open_at),
                maintenance.scheduled_for,
                maintenance.scheduled_until,
                fields.get("auto_pre_open", maintenance.auto_pre_open),
            )
        components = fields.pop("components", None)
        before = audit.fields_of(maintenance, [*fields, *localized.columns("name")])
        names_before = _component_names(maintenance) if components is not None else None
        for name, value in fields.items():
            setattr(maintenance, name, value)
        localized.apply(maintenance, translated)
        maintenance.save()
        edits = audit.changed(before, maintenance)
        if components is not None:
            maintenance.components.set(list(components))
            if (names := _component_names(maintenance)) != names_before:
                edits["components"] = [names_before, names]
        incident_event(change, maintenance, "updated")
        audit.record(actor, "maintenance.edit", maintenance, changes=edits)
    return maintenance


# The service of each move operators make (rules.MAINTENANCE_ACTIONS names the status each
# leads to): the admin's form and actions and the API's endpoints all go by this table.
MAINTENANCE_SERVICES = {
    "start": maintenance_start,
    "verify": maintenance_verify,
    "pre_open": maintenance_pre_open,
    "complete": maintenance_complete,
    "cancel": maintenance_cancel,
}
assert MAINTENANCE_SERVICES.keys() == rules.MAINTENANCE_ACTIONS.keys()


def _component_names(maintenance: Incident) -> list[str]:
    return sorted(c.name for c in maintenance.components.all())
