"""Templates: the first post written ahead of time, opened from in one step (issue #14).

`template_save` keeps one (admin, API, the demo); `incident_opening` and
`maintenance_opening` say what an incident or maintenance opened from it starts with,
what the operator or client gave taking precedence; `open_from_template` opens it through
`incident_open` / `maintenance_schedule` like a hand-written one, and records the
template on it. Saving a template publishes nothing.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from .. import languages, rules
from ..models import Component, Incident, Template, TemplateRow
from . import audit, checks
from . import translations as localized
from .change import Actor
from .incidents import incident_open
from .maintenance import maintenance_schedule, maintenance_start
from .translations import Translations

SLUG = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*\Z")
# The fields of a template besides its texts and rows, with their defaults.
TEMPLATE_FIELDS = {
    "kind": Incident.Kind.INCIDENT,
    "status": rules.INVESTIGATING,
    "impact_override": "",
    "duration_minutes": 60,
    "unscheduled": False,
    "position": 0,
}
# A row: the status it sets ("" for none) and the trading mode ("" for none).
Row = tuple[str, str]


def _rows(kind: str, rows: Mapping[Component, Row]) -> dict[Component, Row]:
    statuses = {c: status for c, (status, _mode) in rows.items() if status}
    modes = {c: mode for c, (_status, mode) in rows.items() if mode}
    checks.component_statuses(statuses)
    checks.trading_modes(modes)
    if kind == Incident.Kind.MAINTENANCE:
        wrong = [c.name for c, status in statuses.items() if status != rules.MAINTENANCE]
        if wrong:
            raise ValidationError(
                {"components": f"A maintenance puts its components under maintenance ({', '.join(wrong)})."}
            )
    return {c: (status or "", mode or "") for c, (status, mode) in rows.items()}


def template_save(
    *,
    actor: Actor,
    template: Template | None = None,
    slug: str,
    title: str,
    body: str,
    rows: Mapping[Component, Row] | None = None,
    translations: Translations | None = None,
    **fields: Any,
) -> Template:
    """Create or change a template: `slug`, `title`, `body` (its other languages in
    `translations`: {"zh-hans": {"title", "body"}}), `rows` {component: (status, mode)}
    and TEMPLATE_FIELDS. Audited; publishes nothing."""
    unknown = set(fields) - set(TEMPLATE_FIELDS)
    if unknown:
        raise TypeError(f"unknown template fields: {sorted(unknown)}")
    values = {**TEMPLATE_FIELDS, **fields} if template is None else fields
    slug = checks.name(slug, "slug", max_length=60)
    if not SLUG.match(slug):
        raise ValidationError({"slug": "Lowercase letters, digits and single hyphens (market-data-delayed)."})
    title = checks.name(title, "title", max_length=200)
    body = checks.text(body, "body")
    translated = localized.check(translations, {"title": 200, "body": None})
    kind = values.get("kind", template.kind if template else Incident.Kind.INCIDENT)
    if kind not in Incident.Kind.values:
        raise ValidationError({"kind": f"One of {', '.join(Incident.Kind.values)}."})
    if "status" in values and values["status"] not in rules.INCIDENT_OPEN:
        raise ValidationError({"status": f"A new incident starts as one of {', '.join(rules.INCIDENT_OPEN)}."})
    if "impact_override" in values:
        checks.impact(values["impact_override"])
    if "duration_minutes" in values and not 1 <= (values["duration_minutes"] or 0) <= checks.MAX_MINUTES:
        raise ValidationError({"duration_minutes": f"Between 1 and {checks.MAX_MINUTES} minutes."})
    rows = _rows(kind, rows) if rows is not None else None
    with transaction.atomic():
        template = template or Template()
        creating = template.pk is None
        if Template.objects.filter(slug=slug).exclude(pk=template.pk).exists():
            raise checks.Conflict({"slug": f"There is a template {slug} already."})
        before = audit.fields_of(template, ["slug", "title", "body", *values, *localized.columns("title")])
        template.slug, template.title, template.body = slug, title, body
        for name, value in values.items():
            setattr(template, name, value)
        localized.apply(template, translated)
        template.save()
        changes = audit.changed(before, template)
        if rows is not None:
            old = {row.component_id: (row.status, row.trading_mode) for row in template.rows.all()}
            new = {c.pk: row for c, row in rows.items()}
            if old != new:
                template.rows.all().delete()
                TemplateRow.objects.bulk_create(
                    TemplateRow(template=template, component=c, status=status, trading_mode=mode)
                    for c, (status, mode) in rows.items()
                )
                changes["rows"] = [
                    {str(pk): list(row) for pk, row in old.items()},
                    {c.public_id: list(row) for c, row in rows.items()},
                ]
        audit.record(actor, "template.create" if creating else "template.edit", template, changes=changes)
    return template


def template_delete(*, actor: Actor, template: Template) -> None:
    with transaction.atomic():
        audit.record(actor, "template.delete", template, changes={"slug": [template.slug, None]})
        template.delete()


def template_texts(
    template: Template, given: Mapping[str, Any] | None = None
) -> tuple[dict[str, Any], dict[str, dict[str, str]]]:
    """The name and body (in the default language) and their other languages: the
    template's, except where `given` has its own. A given name comes without the
    template's translations of the title (they would say something else)."""
    given = given or {}
    default = languages.default()
    values = {
        "name": getattr(template, languages.field("title", default)) or template.title,
        "body": getattr(template, languages.field("body", default)) or template.body,
    }
    translated: dict[str, dict[str, str]] = {}
    for code in languages.others():
        for key, column in (("name", "title"), ("body", "body")):
            text = getattr(template, languages.field(column, code), None)
            if text and given.get(key) is None:
                translated.setdefault(code, {})[key] = text
    for code, texts in (given.get("translations") or {}).items():
        translated.setdefault(code, {}).update(texts)
    return values, translated


def incident_opening(template: Template, given: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """incident_open's arguments for an incident opened from `template`; what `given`
    has (not None) wins: a name, a body, components, trading modes, …"""
    given = dict(given or {})
    rows = list(template.rows.select_related("component"))
    texts, translated = template_texts(template, given)
    values: dict[str, Any] = {
        **texts,
        "status": template.status,
        "impact_override": template.impact_override,
        "components": {row.component: row.status for row in rows if row.status},
        "trading_modes": {row.component: row.trading_mode for row in rows if row.trading_mode},
    }
    values.update({key: value for key, value in given.items() if value is not None})
    values["translations"] = translated
    return values


def maintenance_opening(
    template: Template, given: Mapping[str, Any] | None = None, *, now: datetime | None = None
) -> dict[str, Any]:
    """maintenance_schedule's arguments for a maintenance opened from `template`: its
    window from `scheduled_for` (an emergency's: now) for the template's duration."""
    given = dict(given or {})
    texts, translated = template_texts(template, given)
    start = given.get("scheduled_for")
    if start is None:
        if not template.unscheduled:
            raise ValidationError({"scheduled_for": "A planned maintenance needs its start."})
        start = now or timezone.now()
    values: dict[str, Any] = {
        **texts,
        "scheduled_for": start,
        "scheduled_until": start + timedelta(minutes=template.duration_minutes),
        "components": [row.component for row in template.rows.select_related("component")],
        "unscheduled": template.unscheduled,
    }
    values.update({key: value for key, value in given.items() if value is not None})
    values["translations"] = translated
    return values


def open_from_template(*, actor: Actor, template: Template, **given: Any) -> Incident:
    """Open an incident or maintenance from `template`, `given` overriding it. An
    emergency maintenance (`unscheduled`, starting now) is under way at once: one
    transaction schedules and starts it, and subscribers hear of it once, as started."""
    if template.kind == Incident.Kind.INCIDENT:
        return incident_open(actor=actor, template=template, **incident_opening(template, given))
    now = timezone.now()
    values = maintenance_opening(template, given, now=now)
    at_once = template.unscheduled and values["scheduled_for"] <= now
    if not at_once:
        return maintenance_schedule(actor=actor, template=template, **values)
    notify = values.pop("deliver_notifications", True)
    with transaction.atomic():
        maintenance = maintenance_schedule(actor=actor, template=template, deliver_notifications=False, **values)
        return maintenance_start(maintenance=maintenance, actor=actor, deliver_notifications=notify)
