"""Monitoring in: Alertmanager's webhooks open a draft incident (issue #15).

`alertmanager_receive` takes Alertmanager's webhook body (version 4) as sent. Each group
(`groupKey`) is one `AlertGroup`; each alert in it is kept by its `fingerprint`, the newest
telling of it winning (`_newer`), so Alertmanager's resends change nothing and a late
"firing" after its "resolved" is not believed. The firing alerts, matched to components
by the `AlertRule`s, propose a draft incident: a responder publishes it in one click
(`alert_publish`), or the rule publishes it at once (`auto_publish`). A published
incident is updated when more components fire or a status worsens; when every alert has
resolved, recovery is proposed (`recovery_proposed_at`), and a responder resolves.

Every change is made through the same services as a person's, by the integration as
actor (`Actor.integration`): the audit names the token, never a person.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django.utils.text import slugify

from .. import rules
from ..models import AlertGroup, AlertRule, Component, Incident
from . import audit, checks
from .change import Actor
from .incidents import incident_open, incident_post_update, incident_resolve
from .templates import open_from_template

# Alertmanager's matchers: label="value", label!="value", label=~"regex", label!~"regex".
MATCHER = re.compile(r'\s*([A-Za-z_][A-Za-z0-9_]*)\s*(=~|!~|!=|=)\s*"((?:[^"\\]|\\.)*)"\s*(?:,|$)')
DEFAULT_STATUSES = {"critical": rules.MAJOR, "page": rules.MAJOR, "warning": rules.DEGRADED, "*": rules.PARTIAL}
MAX_ALERTS = 1000


def parse_matchers(text: str) -> list[tuple[str, str, str]]:
    """`label="value", …` as (label, operator, value); ValidationError naming `matchers`."""
    text = (text or "").strip()
    found, at = [], 0
    while at < len(text):
        match = MATCHER.match(text, at)
        if match is None:
            raise ValidationError(
                {"matchers": f'Not a matcher at "{text[at : at + 30]}" (label="value", label=~"re").'}
            )
        label, operator, value = match.groups()
        value = value.encode().decode("unicode_escape") if "\\" in value else value
        if operator in ("=~", "!~"):
            try:
                re.compile(value)
            except re.error as exc:
                raise ValidationError({"matchers": f"{label}: not a regular expression ({exc})."}) from exc
        found.append((label, operator, value))
        at = match.end()
    return found


def matches(matchers: list[tuple[str, str, str]], labels: Mapping[str, str]) -> bool:
    for label, operator, value in matchers:
        have = labels.get(label, "")
        if operator == "=" and have != value:
            return False
        if operator == "!=" and have == value:
            return False
        if operator == "=~" and not re.fullmatch(value, have):
            return False
        if operator == "!~" and re.fullmatch(value, have):
            return False
    return True


def alert_rule_save(*, actor: Actor, rule: AlertRule | None = None, **fields: Any) -> AlertRule:
    """Create or change a rule (name, matchers, component, severity_statuses, template,
    auto_publish, position), checked: its matchers parse, its statuses are statuses."""
    unknown = set(fields) - {
        "name",
        "matchers",
        "component",
        "severity_statuses",
        "template",
        "auto_publish",
        "position",
    }
    if unknown:
        raise TypeError(f"unknown rule fields: {sorted(unknown)}")
    if "name" in fields:
        fields["name"] = checks.name(fields["name"], "name", max_length=120)
    if "matchers" in fields:
        fields["matchers"] = (fields["matchers"] or "").strip()
        parse_matchers(fields["matchers"])
    statuses = fields.get("severity_statuses")
    valid = isinstance(statuses, dict) and all(v in rules.COMPONENT_STATUSES for v in statuses.values())
    if statuses is not None and not valid:
        raise ValidationError(
            {"severity_statuses": f"An object of severity -> one of {', '.join(rules.COMPONENT_STATUSES)}."}
        )
    with transaction.atomic():
        rule = rule or AlertRule()
        creating = rule.pk is None
        before = audit.fields_of(rule, list(fields))
        for name, value in fields.items():
            setattr(rule, name, value)
        rule.save()
        audit.record(
            actor, "alertrule.create" if creating else "alertrule.edit", rule, changes=audit.changed(before, rule)
        )
    return rule


# --- the webhook body ------------------------------------------------------------------------


def _text(value: Any, field: str, *, limit: int = 500) -> str:
    if not isinstance(value, str):
        raise ValidationError({field: "Give a string."})
    return checks.text(value, field, required=False, max_length=limit)


def _time(value: Any, field: str) -> str:
    moment = parse_datetime(value) if isinstance(value, str) else None
    if moment is None:
        raise ValidationError({field: "Give an RFC 3339 time."})
    return value


def _labels(value: Any, field: str) -> dict[str, str]:
    if not isinstance(value, dict) or not all(isinstance(k, str) and isinstance(v, str) for k, v in value.items()):
        raise ValidationError({field: "Give an object of strings."})
    if any("\x00" in k or "\x00" in v for k, v in value.items()):
        raise ValidationError({field: "The NUL character (\\u0000) is not allowed."})
    return {k[:100]: v[:500] for k, v in value.items()}


def read_payload(payload: Any) -> dict:
    """Alertmanager's webhook body (version 4), checked; ValidationError names the field."""
    if not isinstance(payload, dict):
        raise ValidationError({"non_field_errors": "Give Alertmanager's webhook JSON (an object)."})
    if payload.get("version") != "4":
        raise ValidationError({"version": 'Only Alertmanager\'s webhook version "4" is read.'})
    group_key = _text(payload.get("groupKey"), "groupKey")
    if not group_key:
        raise ValidationError({"groupKey": "This field is required."})
    alerts = payload.get("alerts")
    if not isinstance(alerts, list) or not alerts:
        raise ValidationError({"alerts": "Give the group's alerts (a non-empty list)."})
    if len(alerts) > MAX_ALERTS:
        raise ValidationError({"alerts": f"At most {MAX_ALERTS} alerts."})
    read = []
    for index, alert in enumerate(alerts):
        where = f"alerts.{index}"
        if not isinstance(alert, dict):
            raise ValidationError({where: "Give an object."})
        status = alert.get("status")
        if status not in ("firing", "resolved"):
            raise ValidationError({f"{where}.status": 'One of "firing", "resolved".'})
        fingerprint = _text(alert.get("fingerprint"), f"{where}.fingerprint", limit=64)
        if not fingerprint:
            raise ValidationError({f"{where}.fingerprint": "This field is required."})
        read.append(
            {
                "fingerprint": fingerprint,
                "status": status,
                "startsAt": _time(alert.get("startsAt"), f"{where}.startsAt"),
                "endsAt": _text(alert.get("endsAt", ""), f"{where}.endsAt", limit=40),
                "labels": _labels(alert.get("labels", {}), f"{where}.labels"),
                "annotations": _labels(alert.get("annotations", {}), f"{where}.annotations"),
            }
        )
    return {
        "groupKey": group_key,
        "receiver": _text(payload.get("receiver", ""), "receiver", limit=200),
        "commonLabels": _labels(payload.get("commonLabels", {}), "commonLabels"),
        "commonAnnotations": _labels(payload.get("commonAnnotations", {}), "commonAnnotations"),
        "alerts": read,
    }


def _newer(incoming: dict, known: dict | None) -> bool:
    """Whether `incoming` tells of the alert later than `known`: a later start is a new
    firing; for the same start, resolved comes after firing (and a later end after an
    earlier one). Resends and late arrivals are not newer."""
    if known is None:
        return True
    starts, known_starts = parse_datetime(incoming["startsAt"]), parse_datetime(known["startsAt"])
    if starts != known_starts:
        return starts > known_starts
    rank = {"firing": 0, "resolved": 1}
    if rank[incoming["status"]] != rank[known["status"]]:
        return rank[incoming["status"]] > rank[known["status"]]
    return False


# --- from alerts to a proposal -------------------------------------------------------------


def _component_named(label: str) -> Component | None:
    if not label:
        return None
    by_id = Component.objects.filter(public_id=label).first()
    if by_id is not None:
        return by_id
    return next((c for c in Component.objects.all() if slugify(c.name) == slugify(label)), None)


def _status_for(rule: AlertRule | None, severity: str) -> str:
    statuses = {**DEFAULT_STATUSES, **((rule.severity_statuses if rule else None) or {})}
    status = statuses.get(severity) or statuses.get("*") or rules.PARTIAL
    return status if status in rules.COMPONENT_STATUSES else rules.PARTIAL


def propose(alerts: Mapping[str, dict]) -> tuple[dict[str, str], AlertRule | None]:
    """{component public id: status} the firing alerts ask for (the worst per component),
    and the first rule that matched."""
    rules_in_order = [(rule, parse_matchers(rule.matchers)) for rule in AlertRule.objects.select_related("component")]
    proposed: dict[str, str] = {}
    first_rule = None
    for alert in alerts.values():
        if alert["status"] != "firing":
            continue
        labels = alert["labels"]
        rule = next((r for r, m in rules_in_order if matches(m, labels)), None)
        if rules_in_order and rule is None:
            continue  # rules are set up and none takes this alert
        first_rule = first_rule or rule
        component = (rule.component if rule else None) or _component_named(labels.get("component", ""))
        if component is None:
            continue
        status = _status_for(rule, labels.get("severity", ""))
        proposed[component.public_id] = rules.worst_status([status, proposed.get(component.public_id, status)])
    return proposed, first_rule


def _texts(alerts: Mapping[str, dict], common: Mapping[str, str]) -> tuple[str, str]:
    firing = [a for a in alerts.values() if a["status"] == "firing"] or list(alerts.values())
    first = firing[0]
    name = common.get("summary") or first["annotations"].get("summary") or first["labels"].get("alertname", "Alert")
    body = common.get("description") or first["annotations"].get("description") or name
    return checks.name(name[:200], "name"), body


# --- the service -----------------------------------------------------------------------------


def alertmanager_receive(*, actor: Actor, payload: Any, now: datetime | None = None) -> AlertGroup:
    """Take one webhook of Alertmanager's. Idempotent: the same body twice changes nothing."""
    body = read_payload(payload)
    now = now or timezone.now()
    with transaction.atomic():
        group, created = AlertGroup.objects.select_for_update().get_or_create(
            group_key=body["groupKey"],
            defaults={"receiver": body["receiver"], "first_received_at": now, "last_received_at": now},
        )
        known = dict(group.alerts)
        changed = created
        for alert in body["alerts"]:
            fingerprint = alert.pop("fingerprint")
            if _newer(alert, known.get(fingerprint)):
                known[fingerprint] = alert
                changed = True
        group.last_received_at = now
        if not changed:
            group.save(update_fields=["last_received_at"])
            return group
        group.alerts = known
        proposed, rule = propose(known)
        firing = any(a["status"] == "firing" for a in known.values())
        before = {"proposed": dict(group.proposed), "state": group.state}
        group.rule = group.rule or rule
        if created or group.state == AlertGroup.State.DRAFT:
            group.name, group.body = _texts(known, body["commonAnnotations"])
        widened = {
            pk: status
            for pk, status in proposed.items()
            if rules.SEVERITY[status] > rules.SEVERITY.get(group.proposed.get(pk, rules.OPERATIONAL), 0)
        }
        group.proposed = {**group.proposed, **proposed} if group.state == AlertGroup.State.PUBLISHED else proposed
        if firing:
            group.recovery_proposed_at = None
            if group.state == AlertGroup.State.CLEARED:
                group.state = AlertGroup.State.DRAFT
        elif group.recovery_proposed_at is None:
            group.recovery_proposed_at = now
            if group.state == AlertGroup.State.DRAFT:
                group.state = AlertGroup.State.CLEARED
        group.save()
        audit.record(
            actor,
            "alerts.receive",
            group,
            changes=audit.changed(before, group) | {"alerts": [None, sorted(known)]},
            label=group.name,
        )
        published = group.state == AlertGroup.State.PUBLISHED and group.incident_id
        if published and widened and group.incident.status in rules.INCIDENT_OPEN:
            _update_incident(group, widened, actor)
        elif group.state == AlertGroup.State.DRAFT and firing and group.rule and group.rule.auto_publish:
            alert_publish(group=group, actor=actor)
            group.refresh_from_db()
    return group


def _components(proposed: Mapping[str, str]) -> dict[Component, str]:
    found = Component.objects.in_bulk(list(proposed), field_name="public_id")
    return {found[pk]: status for pk, status in proposed.items() if pk in found}


def _update_incident(group: AlertGroup, widened: Mapping[str, str], actor: Actor) -> None:
    names = ", ".join(c.name for c in _components(widened))
    incident_post_update(
        incident=group.incident,
        actor=actor,
        status=group.incident.status,
        body=f"Monitoring reports more affected: {names}.",
        components=_components(widened),
    )


def alert_publish(*, group: AlertGroup, actor: Actor) -> Incident:
    """Publish a draft: the incident its alerts propose, through the same services as any
    (from the rule's template, what the alerts propose taking precedence)."""
    with transaction.atomic():
        group = AlertGroup.objects.select_for_update().get(pk=group.pk)
        if group.state == AlertGroup.State.PUBLISHED and group.incident is not None:
            return group.incident
        if group.state != AlertGroup.State.DRAFT:
            raise checks.Conflict({"state": f"This alert group is {group.get_state_display().lower()}."})
        components = _components(group.proposed)
        template = group.rule.template if group.rule else None
        if template is not None and template.kind == Incident.Kind.INCIDENT:
            incident = open_from_template(actor=actor, template=template, components=components or None)
        else:
            incident = incident_open(actor=actor, name=group.name, body=group.body, components=components)
        group.incident, group.state = incident, AlertGroup.State.PUBLISHED
        group.save(update_fields=["incident", "state"])
        audit.record(actor, "alerts.publish", group, changes={"incident": [None, incident.public_id]}, label=group.name)
    return incident


def alert_dismiss(*, group: AlertGroup, actor: Actor) -> AlertGroup:
    with transaction.atomic():
        group = AlertGroup.objects.select_for_update().get(pk=group.pk)
        if group.state not in (AlertGroup.State.DRAFT, AlertGroup.State.CLEARED):
            raise checks.Conflict({"state": "Only a draft can be dismissed."})
        before = group.state
        group.state = AlertGroup.State.DISMISSED
        group.save(update_fields=["state"])
        audit.record(actor, "alerts.dismiss", group, changes={"state": [before, group.state]}, label=group.name)
    return group


def alert_resolve(*, group: AlertGroup, actor: Actor, body: str = "") -> Incident:
    """The recovery the alerts propose, taken: the published incident resolved."""
    group = AlertGroup.objects.select_related("incident").get(pk=group.pk)
    if group.incident is None or group.incident.status not in rules.INCIDENT_OPEN:
        raise checks.Conflict({"state": "There is no open incident of this alert group to resolve."})
    incident_resolve(
        incident=group.incident,
        actor=actor,
        body=body or "Monitoring reports every alert resolved; the affected services are operational again.",
    )
    return Incident.objects.get(pk=group.incident_id)
