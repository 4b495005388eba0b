"""Incidents: open one, post timeline updates, resolve, edit, write the postmortem."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime

from django.core.exceptions import ValidationError
from django.db.models import Q
from django.utils import timezone

from .. import languages, rules, selectors
from ..models import (
    Component,
    ComponentStatusChange,
    Incident,
    IncidentUpdate,
    Notification,
    PublicEvent,
    Template,
)
from ..wire import statuspage as v2
from . import audit, checks
from . import translations as localized
from .change import Actor, PublicChange, public_change
from .components import set_component_status, set_trading_mode
from .translations import Translations


def incident_event(change: PublicChange, incident: Incident, action: str) -> PublicEvent:
    fresh = selectors.incident_detail(incident.public_id)
    kind = PublicEvent.Kind.MAINTENANCE if incident.is_maintenance else PublicEvent.Kind.INCIDENT
    return change.emit(kind, action, {"incident": v2.incident_json(fresh)}, incident=incident)


def _refresh_impact(incident: Incident) -> None:
    statuses = ComponentStatusChange.objects.filter(incident=incident).values_list("new_status", flat=True)
    incident.impact = rules.incident_impact(kind=incident.kind, statuses=statuses, override=incident.impact_override)


def post_update(
    change: PublicChange,
    incident: Incident,
    *,
    status: str,
    body: str,
    components: Mapping[Component, str],
    display_at: datetime,
    deliver_notifications: bool,
    actor: Actor,
    translated: Mapping[str, Mapping[str, str]] | None = None,
    trading_modes: Mapping[Component, str] | None = None,
) -> IncidentUpdate:
    update = IncidentUpdate(
        incident=incident,
        status=status,
        display_at=display_at,
        deliver_notifications=deliver_notifications,
        author=actor.user,
    )
    update.body = body
    localized.apply(update, translated or {})
    update.save()
    for component, new_status in components.items():
        locked = Component.objects.select_for_update().get(pk=component.pk)
        set_component_status(change, locked, new_status, actor=actor, at=display_at, incident=incident, update=update)
    for component, new_mode in (trading_modes or {}).items():
        locked = Component.objects.select_for_update().get(pk=component.pk)
        set_trading_mode(change, locked, new_mode, actor=actor, at=display_at, incident=incident, update=update)
    if components or trading_modes:
        incident.components.add(*{**(components or {}), **(trading_modes or {})}.keys())
    return update


def modes_to_restore(incident: Incident) -> dict[Component, str]:
    """What resolving with no trading modes does: every trading product of the incident
    left in a restricted mode goes back to normal (pre-open belongs to a maintenance)."""
    return {
        c: rules.NORMAL
        for c in incident.components.all()
        if c.trading and c.trading_mode not in (rules.NORMAL, rules.PRE_OPEN)
    }


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
    if status == rules.RESOLVED and not problem and not incident.is_maintenance:
        try:
            left = _left_after_resolve(incident, checks.component_statuses(components))
        except ValidationError:
            left = {}  # reported below, on its own field
        refused = rules.check_resolve(left, confirmed=confirm_down_after_resolve)
        if refused:
            errors["confirm_down_after_resolve"] = refused
    for check in (
        lambda: checks.text(body, "body"),
        lambda: checks.aware(display_at, "display_at", now=now, default=now),
        lambda: checks.component_statuses(components),
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
        # Only the incident's state refuses a valid status (a valid request at the wrong
        # moment): a conflict. A status that is none, or any other field, is the request's.
        statuses = rules.MAINTENANCE_STATUSES if incident.is_maintenance else rules.INCIDENT_UPDATE_STATUSES
        state_only = set(errors) <= {"status", "confirm_down_after_resolve"} and status in statuses
        raise (checks.Conflict if state_only else ValidationError)(errors)


def incident_open(
    *,
    actor: Actor,
    name: str,
    body: str,
    status: str = rules.INVESTIGATING,
    components: Mapping[Component, str] | None = None,
    impact_override: str = "",
    started_at: datetime | None = None,
    deliver_notifications: bool = True,
    translations: Translations | None = None,
    trading_modes: Mapping[Component, str] | None = None,
    template: Template | None = None,
) -> Incident:
    """Open an incident with its first update and the statuses of the components it hits
    (and the trading modes of the products: `trading_modes`); `template`: the one it was
    opened from (services.templates), recorded on it.
    `translations`: its name and first update in other languages ({"zh-hans": {"name",
    "body"}}).

    After commit: snapshot rebuilt, change pushed (notifications when asked).
    """
    name = checks.name(name, "name", max_length=200)
    body = checks.text(body, "body")
    translated = localized.check(translations, {"name": 200, "body": None})
    components = checks.component_statuses(components)
    trading_modes = checks.trading_modes(trading_modes)
    impact_override = checks.impact(impact_override)
    if status not in rules.INCIDENT_OPEN:
        raise ValidationError({"status": f"A new incident starts as one of {', '.join(rules.INCIDENT_OPEN)}."})
    with public_change() as change:
        started_at = checks.aware(started_at, "started_at", now=change.now, default=change.now)
        incident = Incident(
            kind=Incident.Kind.INCIDENT,
            status=status,
            impact_override=impact_override,
            started_at=started_at,
            identified_at=started_at if status in (rules.IDENTIFIED, rules.MONITORING) else None,
            monitoring_at=started_at if status == rules.MONITORING else None,
            template=template,
            created_by=actor.user,
        )
        incident.name = name
        localized.apply(incident, localized.only(translated, "name"))
        incident.save()
        update = post_update(
            change,
            incident,
            status=status,
            body=body,
            components=components,
            display_at=started_at,
            deliver_notifications=deliver_notifications,
            actor=actor,
            translated=localized.only(translated, "body"),
            trading_modes=trading_modes,
        )
        _refresh_impact(incident)
        incident.save()
        event = incident_event(change, incident, "created")
        audit.record(
            actor,
            "incident.open",
            incident,
            changes={
                "status": [None, incident.status],
                "components": [None, _component_statuses(components)],
                **_mode_changes(trading_modes),
                **({"template": [None, template.slug]} if template else {}),
            },
        )
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
    translations: Translations | None = None,
    trading_modes: Mapping[Component, str] | None = None,
) -> IncidentUpdate:
    """Add a timeline update; the components named take their new statuses, the trading
    products in `trading_modes` their new modes.
    `translations`: its body in other languages ({"zh-hans": {"body"}}).

    The first update in `identified`, `monitoring` and `resolved` stamps `identified_at`,
    `monitoring_at` and `resolved_at` with its `display_at`, so a backdated timeline gives
    true durations. Refused on a resolved incident, and a resolve that leaves a component
    degraded or down is refused unless `confirm_down_after_resolve`. After commit:
    snapshot rebuilt, change pushed (notifications when asked).
    """
    if incident.is_maintenance:
        raise checks.Conflict({"incident": "This is a scheduled maintenance; use the maintenance actions."})
    translated = localized.check(translations, {"body": None})
    trading_modes = checks.trading_modes(trading_modes)
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
        old_status = incident.status
        update = post_update(
            change,
            incident,
            status=status,
            body=body.strip(),
            components=dict(components or {}),
            display_at=display_at,
            deliver_notifications=deliver_notifications,
            actor=actor,
            translated=translated,
            trading_modes=trading_modes,
        )
        incident.status = status
        if status == rules.IDENTIFIED and not incident.identified_at:
            incident.identified_at = display_at
        if status == rules.MONITORING and not incident.monitoring_at:
            incident.monitoring_at = display_at
        if status == rules.RESOLVED:
            incident.resolved_at = display_at
        _refresh_impact(incident)
        incident.save()
        event = incident_event(change, incident, rules.RESOLVED if status == rules.RESOLVED else "updated")
        audit.record(
            actor,
            "incident.resolve" if status == rules.RESOLVED else "incident.update",
            incident,
            changes={
                "status": [old_status, status],
                "components": [None, _component_statuses(components)],
                **_mode_changes(trading_modes),
            },
        )
        if deliver_notifications:
            kind = (
                Notification.Kind.INCIDENT_RESOLVED if status == rules.RESOLVED else Notification.Kind.INCIDENT_UPDATED
            )
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
    translations: Translations | None = None,
    trading_modes: Mapping[Component, str] | None = None,
) -> IncidentUpdate:
    """Resolve an incident. Without `components`, every affected component that is still
    degraded or down goes back to operational (`components_to_restore`); without
    `trading_modes`, every product it left restricted goes back to normal trading
    (`modes_to_restore`). Components left degraded or down need
    `confirm_down_after_resolve`. After commit: as `incident_post_update`."""
    if components is None:
        components = components_to_restore(incident)
    if trading_modes is None:
        trading_modes = modes_to_restore(incident)
    return incident_post_update(
        incident=incident,
        actor=actor,
        status=rules.RESOLVED,
        body=body,
        components=components,
        display_at=display_at,
        deliver_notifications=deliver_notifications,
        confirm_down_after_resolve=confirm_down_after_resolve,
        translations=translations,
        trading_modes=trading_modes,
    )


def incident_edit(
    *,
    incident: Incident,
    actor: Actor,
    name: str | None = None,
    impact_override: str | None = None,
    translations: Translations | None = None,
) -> Incident:
    """Rename an incident (in any language) or override its impact. After commit:
    snapshot rebuilt, change pushed."""
    translated = localized.check(translations, {"name": 200})
    with public_change() as change:
        incident = Incident.objects.select_for_update().get(pk=incident.pk)
        before = audit.fields_of(incident, ("name", "impact_override", "impact", *localized.columns("name")))
        if name is not None:
            incident.name = checks.name(name, "name", max_length=200)
        localized.apply(incident, translated)
        if impact_override is not None:
            incident.impact_override = checks.impact(impact_override)
            _refresh_impact(incident)
        incident.save()
        incident_event(change, incident, "updated")
        audit.record(actor, "incident.edit", incident, changes=audit.changed(before, incident))
    return incident


def incident_update_edit(
    *, update: IncidentUpdate, actor: Actor, body: str, translations: Translations | None = None
) -> IncidentUpdate:
    """Correct the text of a posted update (a typo), or its translations; its time and
    statuses stay."""
    body = checks.text(body, "body")
    translated = localized.check(translations, {"body": None})
    with public_change() as change:
        update = IncidentUpdate.objects.select_for_update().get(pk=update.pk)
        before = audit.fields_of(update, ("body", *localized.columns("body")))
        update.body = body
        written = localized.apply(update, translated)
        update.save(update_fields=["body", languages.field("body", languages.default()), *written, "updated_at"])
        incident_event(change, update.incident, "updated")
        audit.record(
            actor,
            "incident.update_edit",
            update.incident,
            changes=audit.changed(before, update),
            label=f"{update.incident.name}: update of {update.display_at:%Y-%m-%d %H:%M} UTC",
        )
    return update


def postmortem_save(
    *,
    incident: Incident,
    actor: Actor,
    body: str,
    publish: bool = False,
    deliver_notifications: bool = True,
    translations: Translations | None = None,
) -> Incident:
    """Save the postmortem text; with `publish`, show it and set the status `postmortem`.

    A postmortem is published only once the incident is resolved. Editing a published
    postmortem changes it in place. After commit: snapshot rebuilt, change pushed when
    the public text changed, subscribers told of the first publication when asked.
    """
    body = checks.text(body, "postmortem_body", required=False)
    translated = localized.check(translations, {"body": None})
    with public_change() as change:
        incident = Incident.objects.select_for_update().get(pk=incident.pk)
        if incident.is_maintenance:
            raise checks.Conflict({"postmortem_body": "Maintenance has no postmortem."})
        if publish:
            if not body:
                raise ValidationError({"postmortem_body": "Write the postmortem before publishing it."})
            if incident.status not in rules.INCIDENT_CLOSED:
                raise checks.Conflict({"postmortem_body": "Resolve the incident before publishing its postmortem."})
        was_public = incident.postmortem_published_at is not None
        if was_public and not body:
            # The published text is part of the record: it may be corrected, not blanked
            # by a draft save (issue #12).
            raise ValidationError(
                {"postmortem_body": "This postmortem is published: edit its text, it cannot be emptied."}
            )
        before = audit.fields_of(
            incident, ("postmortem_body", "postmortem_published_at", *localized.columns("postmortem_body"))
        )
        incident.postmortem_body = body
        localized.apply(incident, translated, {"body": "postmortem_body"})
        if publish and not was_public:
            incident.postmortem_published_at = change.now
            incident.status = Incident.Status.POSTMORTEM
        incident.save()
        action = (
            "postmortem.publish"
            if publish and not was_public
            else "postmortem.edit"
            if was_public
            else "postmortem.draft"
        )
        audit.record(actor, action, incident, changes=audit.changed(before, incident))
        if publish and not was_public:
            event = incident_event(change, incident, "postmortem_published")
            if deliver_notifications:
                change.notify(Notification.Kind.POSTMORTEM_PUBLISHED, event, incident=incident)
        elif was_public:
            incident_event(change, incident, "postmortem_updated")
    return incident


def _component_statuses(components) -> dict[str, str] | None:
    """The statuses a change gave components, by name, for the audit."""
    return {component.name: status for component, status in components.items()} if components else None


def _mode_changes(trading_modes) -> dict:
    """The trading modes a change gave products, by name, for the audit (nothing when none)."""
    if not trading_modes:
        return {}
    return {"trading_modes": [None, {component.name: mode for component, mode in trading_modes.items()}]}
