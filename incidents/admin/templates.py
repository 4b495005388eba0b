"""Incident and maintenance templates in the admin: written ahead of time with the same
status grid and trading modes as an incident, saved through `services.template_save`;
each opens the add form it is for, filled in (`opening_initial`, `opening_preview`)."""

from __future__ import annotations

from django import forms
from django.contrib import admin
from django.urls import reverse
from django.utils import translation
from django.utils.html import format_html
from django.utils.http import urlencode
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from .. import languages, rules, services
from ..markdown import render_markdown
from ..models import Incident, Template
from ..services import templates as opening
from . import forms as admin_forms
from .base import ServiceAdmin, adopt


class TemplateForm(admin_forms.ServiceForm):
    service_fields = {"components": admin_forms.GRID_FIELD, "trading_modes": admin_forms.MODES_FIELD}
    translated = {"title": ("title", "title"), "body": ("body", "body")}

    body = admin_forms.markdown_field(label=_("First update"), help_text=_("Markdown. What readers see first."))
    impact_override = forms.ChoiceField(
        label=_("Impact"),
        choices=admin_forms.IMPACT_CHOICES,
        required=False,
        help_text=_("Blank: derived from the components."),
    )

    class Meta:
        model = Template
        fields = ["title", "slug", "kind", "status", "impact_override", "duration_minutes", "unscheduled", "position"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if self.instance.pk is not None:
            rows = list(self.instance.rows.all())
            self.initial[admin_forms.GRID_FIELD] = {row.component_id: row.status for row in rows if row.status}
            self.initial[admin_forms.MODES_FIELD] = {r.component_id: r.trading_mode for r in rows if r.trading_mode}
            self.initial["body"] = self.instance.body

    def rows(self) -> dict:
        statuses, modes = self.component_statuses(), self.trading_modes()
        return {c: (statuses.get(c, ""), modes.get(c, "")) for c in {*statuses, *modes}}


def opening_url(template: Template) -> str:
    name = "incident" if template.kind == Incident.Kind.INCIDENT else "maintenance"
    return reverse(f"admin:incidents_{name}_add") + "?" + urlencode({"template": template.slug})


@admin.register(Template)
class TemplateAdmin(ServiceAdmin):
    add_form = change_form = TemplateForm
    component_selects = True
    list_display = ("title", "kind", "slug", "affects", "open_link")
    list_filter = ("kind",)
    search_fields = ("title", "slug")

    def get_fieldsets(self, request, obj=None):
        return [
            (
                None,
                {
                    "fields": admin_forms.translated_fields(
                        "title", "slug", "kind", "status", "body", "impact_override", "position"
                    )
                },
            ),
            (gettext("A maintenance"), {"fields": ("duration_minutes", "unscheduled")}),
            (
                gettext("Components"),
                {"fields": (admin_forms.GRID_FIELD, admin_forms.MODES_FIELD), "classes": ("status-grid-fieldset",)},
            ),
        ]

    def get_queryset(self, request):
        return super().get_queryset(request).prefetch_related("rows__component")

    def has_delete_permission(self, request, obj=None):
        return admin.ModelAdmin.has_delete_permission(self, request, obj)

    @admin.display(description=_("components"))
    def affects(self, obj):
        return ", ".join(row.component.name for row in obj.rows.all()) or "—"

    @admin.display(description=_("open"))
    def open_link(self, obj):
        label = gettext("Open an incident") if obj.kind == Incident.Kind.INCIDENT else gettext("Open a maintenance")
        return format_html('<a href="{}">{}</a>', opening_url(obj), label)

    def save_with_services(self, request, obj, form, change, actor):
        data = form.cleaned_data
        template = services.template_save(
            actor=actor,
            template=obj if change else None,
            slug=data["slug"],
            title=data["title"],
            body=admin_forms.normalize_newlines(data["body"]),
            rows=form.rows(),
            translations=form.translations("title", "body"),
            **{name: data[name] for name in opening.TEMPLATE_FIELDS},
        )
        adopt(obj, template)

    def delete_model(self, request, obj):
        services.template_delete(actor=services.Actor.of(request.user), template=obj)

    def delete_queryset(self, request, queryset):
        for template in queryset:
            self.delete_model(request, template)


# --- opening from a template (the incident and maintenance add forms) ---------------------


def chosen(request, kind: str) -> Template | None:
    slug = request.GET.get("template") or request.POST.get("template") or ""
    if not opening.SLUG.match(slug):
        return None  # not a slug (a NUL among others, which PostgreSQL refuses in a query)
    return Template.objects.filter(kind=kind, slug=slug).prefetch_related("rows__component").first()


def opening_initial(template: Template) -> dict:
    """The add form filled in from `template`: the values the API would open it with."""
    rows = list(template.rows.all())
    texts, translated = opening.template_texts(template)
    initial = {**texts, "template": template.slug}
    if template.kind == Incident.Kind.INCIDENT:
        initial.update(
            status=template.status,
            impact_override=template.impact_override,
            **{
                admin_forms.GRID_FIELD: {row.component_id: row.status for row in rows if row.status},
                admin_forms.MODES_FIELD: {row.component_id: row.trading_mode for row in rows if row.trading_mode},
            },
        )
    else:
        initial.update(components=[row.component_id for row in rows], unscheduled=template.unscheduled)
        if template.unscheduled:
            window = opening.maintenance_opening(template)
            initial.update(scheduled_for=window["scheduled_for"], scheduled_until=window["scheduled_until"])
    for code, found in translated.items():
        for key, text in found.items():
            initial[admin_forms.translated_name(key, code)] = text
    return initial


def opening_preview(template: Template) -> dict:
    """What the first post will say, as readers will see it (before the operator edits)."""
    with translation.override(languages.default()):
        rows = list(template.rows.all())
        statuses = [rules.counted_status(row.status or row.component.status, row.trading_mode or None) for row in rows]
        kind = template.kind
        return {
            "template": template,
            "title": template.title,
            "status": Incident.Status(template.status).label if kind == Incident.Kind.INCIDENT else "",
            "body": render_markdown(template.body),
            "impact": rules.incident_impact(kind=kind, statuses=statuses, override=template.impact_override),
            "rows": [
                {
                    "name": row.component.name,
                    "status": row.status,
                    "status_label": row.get_status_display() if row.status else "",
                    "mode": rules.trading_mode_text(row.trading_mode) if row.trading_mode else "",
                }
                for row in rows
            ],
        }


def opening_context(request, kind: str) -> dict:
    """The add page's "start from a template" list and, once one is chosen, its preview."""
    template = chosen(request, kind)
    return {
        "templates": [(t, opening_url(t)) for t in Template.objects.filter(kind=kind)],
        "template_preview": opening_preview(template) if template else None,
    }
