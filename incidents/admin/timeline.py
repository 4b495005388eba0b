"""Incidents and scheduled maintenance in the admin: open, post updates with the status
grid, resolve, write the postmortem; schedule, move along, reschedule. Every save goes
through `incidents.services`; the timeline is read-only."""

from __future__ import annotations

from datetime import timedelta
from functools import partial

from django.conf import settings
from django.contrib import admin
from django.contrib.admin.views.decorators import staff_member_required
from django.http import HttpResponse, HttpResponseRedirect
from django.urls import path, reverse
from django.utils import timezone
from django.utils.html import format_html, format_html_join
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_POST

from .. import rules, services
from ..markdown import render_markdown
from ..models import Incident, IncidentUpdate, Maintenance
from ..wire.time import page_tz, zone_label
from . import forms as admin_forms
from . import templates
from .base import ServiceAdmin, adopt, page_time

# --- incidents and maintenance: shared pieces --------------------------------------------


class TimelineInline(admin.TabularInline):
    """The timeline, newest first, with the component changes each update made. Read-only."""

    model = IncidentUpdate
    fk_name = "incident"
    extra = 0
    can_delete = False
    verbose_name = _("update")
    verbose_name_plural = _("timeline (newest first)")
    fields = ("shown_at", "status", "text", "component_changes", "author", "deliver_notifications")
    readonly_fields = fields

    class Media:
        css = {"all": ["admin-extra/admin.css"]}

    def get_queryset(self, request):
        return (
            super()
            .get_queryset(request)
            .select_related("author")
            .prefetch_related("component_changes__component")
            .order_by("-display_at", "-id")
        )

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    shown_at = page_time("display_at", _("shown at"))

    @admin.display(description=_("update"))
    def text(self, update):
        return format_html('<div class="update-text">{}</div>', update.body)

    @admin.display(description=_("components"))
    def component_changes(self, update):
        changes = list(update.component_changes.all())
        if not changes:
            return "—"
        return format_html_join(
            "",
            "<div>{}: {} → {}</div>",
            ((c.component.name, c.get_old_status_display(), c.get_new_status_display()) for c in changes),
        )


def page_zone() -> dict:
    """The zone operators type times in, for the one statement at the top of the forms.

    Django's own warning ("You are 8 hours behind server time") is hidden
    (static/admin-extra/page-zone.js): next to "Page time, HKT" it read as a second,
    conflicting zone. The statement names the page's zone and, in the browser, the
    browser's own offset when it differs.
    """
    now = timezone.now().astimezone(page_tz())
    offset = now.utcoffset() or timedelta(0)
    minutes = int(offset.total_seconds() // 60)
    sign = "+" if minutes >= 0 else "\u2212"
    hours, rest = divmod(abs(minutes), 60)
    return {
        "label": zone_label(),
        "name": settings.STATUS_PAGE["TIME_ZONE"],
        "offset": f"UTC{sign}{hours}{f':{rest:02d}' if rest else ''}",
        "offset_minutes": minutes,
    }


class TimelineAdmin(ServiceAdmin):
    inlines = [TimelineInline]
    kind: str = Incident.Kind.INCIDENT

    class Media:
        css = {"all": ["admin-extra/admin.css"]}
        js = ["admin-extra/page-zone.js"]

    def render_change_form(self, request, context, add=False, change=False, form_url="", obj=None):
        context["page_zone"] = page_zone()
        if add:
            context.update(templates.opening_context(request, self.kind))
        return super().render_change_form(request, context, add, change, form_url, obj)

    def get_changeform_initial_data(self, request):
        """A new one from `?template=<slug>`: the form filled in from it, to check and save."""
        template = templates.chosen(request, self.kind)
        if template is None:
            return super().get_changeform_initial_data(request)
        return templates.opening_initial(template)

    def get_queryset(self, request):
        return super().get_queryset(request).filter(kind=self.kind)

    def get_inlines(self, request, obj):
        return self.inlines if obj is not None else []

    @admin.display(description=_("public page"))
    def public_link(self, obj):
        return format_html('<a href="{0}" target="_blank" rel="noopener">{0}</a>', obj.get_absolute_url())

    started = page_time("started_at", _("started"))
    identified = page_time("identified_at", _("identified"))
    monitoring = page_time("monitoring_at", _("monitoring"))
    resolved = page_time("resolved_at", _("resolved"))
    scheduled_from = page_time("scheduled_for", _("scheduled for"))
    scheduled_to = page_time("scheduled_until", _("scheduled until"))
    postmortem_published = page_time("postmortem_published_at", _("postmortem published"))


@staff_member_required
@require_POST
def markdown_preview(request):
    """The HTML a Markdown body will show as, for the admin's Preview buttons."""
    return HttpResponse(render_markdown(request.POST.get("text", "")), content_type="text/html; charset=utf-8")


# --- incidents ---------------------------------------------------------------------------


@admin.register(Incident)
class IncidentAdmin(TimelineAdmin):
    add_form = admin_forms.IncidentOpenForm
    change_form = admin_forms.IncidentChangeForm
    component_selects = True
    list_display = ("name", "status", "impact", "started", "resolved")
    list_filter = ("status", "impact")
    search_fields = ("name", "public_id")
    date_hierarchy = "started_at"

    def get_urls(self):
        # One Preview endpoint for every Markdown field (incidents and maintenance alike).
        preview = path(
            "markdown-preview/", self.admin_site.admin_view(markdown_preview), name="incidents_markdown_preview"
        )
        return [preview, *super().get_urls()]

    def get_fieldsets(self, request, obj=None):
        grid = admin_forms.GRID_FIELD
        if obj is None:
            return [
                (
                    gettext("Open an incident"),
                    {
                        "fields": admin_forms.translated_fields(
                            "name",
                            "status",
                            "body",
                            "impact_override",
                            "started_at",
                            "deliver_notifications",
                            "template",
                        )
                    },
                ),
                (
                    gettext("Components"),
                    {"fields": (grid, admin_forms.MODES_FIELD), "classes": ("status-grid-fieldset",)},
                ),
            ]
        facts = ("public_link", "status", "impact", "started", "identified", "monitoring", "resolved", "created_by")
        if not self.has_change_permission(request, obj):
            return [
                (None, {"fields": ("name", "impact_override", *facts)}),
                (gettext("Postmortem"), {"fields": ("postmortem_body", "postmortem_published")}),
            ]
        # The change form's template shows the timeline right after the first fieldset: an
        # operator posting updates finds the form and the story so far at the top.
        return [
            (
                gettext("Post an update"),
                {
                    "fields": admin_forms.translated_fields(
                        "update_status",
                        "update_body",
                        grid,
                        admin_forms.MODES_FIELD,
                        "confirm_down_after_resolve",
                        "update_display_at",
                        "update_deliver_notifications",
                    ),
                    "classes": ("status-grid-fieldset",),
                },
            ),
            (gettext("Incident"), {"fields": admin_forms.translated_fields("name", "impact_override", *facts)}),
            (
                gettext("Postmortem"),
                {
                    "fields": admin_forms.translated_fields(
                        "postmortem_body", "publish_postmortem", "postmortem_published"
                    )
                },
            ),
        ]

    def response_post_save_add(self, request, obj):
        """ "Save" on a new incident lands on it, not on the list: the next thing an operator
        does is post its next update."""
        return HttpResponseRedirect(reverse("admin:incidents_incident_change", args=[obj.pk]))

    def get_readonly_fields(self, request, obj=None):
        if obj is None:
            return ()
        return (
            "public_link",
            "status",
            "impact",
            "started",
            "identified",
            "monitoring",
            "resolved",
            "created_by",
            "postmortem_published",
        )

    def save_with_services(self, request, obj, form, change, actor):
        data = form.cleaned_data
        if not change:
            opened = {
                "actor": actor,
                "name": data["name"],
                "body": data["body"],
                "status": data["status"],
                "components": form.component_statuses(),
                "trading_modes": form.trading_modes(),
                "impact_override": data["impact_override"],
                "started_at": data["started_at"],
                "deliver_notifications": data["deliver_notifications"],
                "translations": form.translations("name", "body"),
            }
            if data.get("template"):
                incident = services.open_from_template(template=data["template"], **opened)
            else:
                incident = services.incident_open(**opened)
            adopt(obj, incident)
            return
        edited = {name: data[name] for name in ("name", "impact_override") if name in form.changed_data}
        renamed = form.translations("name")
        if edited or renamed:
            services.incident_edit(incident=obj, actor=actor, translations=renamed, **edited)
        if form.wants_update():
            update = form.update_fields()
            update["translations"] = form.translations("update_body")
            if not (data.get("update_body") or "").strip() and update["status"] in rules.DEFAULT_BODIES:
                # The status's own words (the form filled them in), in every language too.
                _, defaults = services.translations.default_body(update["status"])
                update["translations"] = services.translations.merged(update["translations"], defaults)
            if update["status"] == "resolved" and not update["components"]:
                update.pop("status")
                update.pop("components")
                services.incident_resolve(incident=obj, actor=actor, **update)
            else:
                services.incident_post_update(incident=obj, actor=actor, **update)
        if form.wants_postmortem():
            services.postmortem_save(
                incident=obj,
                actor=actor,
                body=data["postmortem_body"],
                publish=bool(data.get("publish_postmortem")) and not form.fields["publish_postmortem"].disabled,
                translations=form.translations("postmortem_body"),
            )
        obj.refresh_from_db()


# --- scheduled maintenance ---------------------------------------------------------------


@admin.register(Maintenance)
class MaintenanceAdmin(TimelineAdmin):
    kind = Incident.Kind.MAINTENANCE
    add_form = admin_forms.MaintenanceScheduleForm
    change_form = admin_forms.MaintenanceChangeForm
    list_display = ("name", "status", "scheduled_from", "scheduled_to", "started", "resolved", "auto_start")
    list_filter = ("status", "unscheduled", "auto_start", "auto_complete")
    search_fields = ("name", "public_id")
    filter_horizontal = ("components",)
    actions = ["start", "pre_open", "complete", "cancel"]

    def get_fieldsets(self, request, obj=None):
        if obj is None:
            return [
                (
                    gettext("Schedule a maintenance"),
                    {
                        "fields": admin_forms.translated_fields(
                            "name", "body", "scheduled_for", "scheduled_until", "template"
                        )
                    },
                ),
                (gettext("Affected components"), {"fields": ("components",)}),
                (
                    gettext("Behaviour"),
                    {"fields": (*services.MAINTENANCE_BEHAVIOUR, "deliver_notifications")},
                ),
            ]
        settings_shown = ("affected", *services.MAINTENANCE_BEHAVIOUR, "reschedule_note")
        facts = (None, {"fields": ("name", "public_link", "status", "started", "resolved", *settings_shown)})
        if not self.has_change_permission(request, obj):
            return [facts, (gettext("Window"), {"fields": ("scheduled_from", "scheduled_to")})]
        facts = (None, {"fields": admin_forms.translated_fields(*facts[1]["fields"])})
        if obj.status == rules.SCHEDULED:
            window = (
                gettext("Reschedule"),
                {"fields": admin_forms.translated_fields("scheduled_for", "scheduled_until", "reschedule_body")},
            )
        else:
            window = (gettext("Window"), {"fields": ("scheduled_from", "scheduled_to")})
        moves = (gettext("Move it along"), {"fields": admin_forms.translated_fields("transition", "update_body")})
        return [facts, window, moves]

    def get_readonly_fields(self, request, obj=None):
        if obj is None:
            return ()
        return (
            "public_link",
            "status",
            "started",
            "resolved",
            "scheduled_from",
            "scheduled_to",
            "affected",
            *services.MAINTENANCE_BEHAVIOUR,
            "reschedule_note",
        )

    @admin.display(description=_("components"))
    def affected(self, obj):
        return ", ".join(str(c) for c in obj.components.select_related("group")) or "—"

    def save_with_services(self, request, obj, form, change, actor):
        data = form.cleaned_data
        if not change:
            # From a template: through it (an emergency one starts at once), with the form's values.
            schedule = services.maintenance_schedule
            if data.get("template"):
                schedule = partial(services.open_from_template, template=data["template"])
            maintenance = schedule(
                actor=actor,
                name=data["name"],
                body=data["body"],
                scheduled_for=data["scheduled_for"],
                scheduled_until=data["scheduled_until"],
                components=data["components"],
                auto_start=data["auto_start"],
                auto_complete=data["auto_complete"],
                components_to_maintenance=data["components_to_maintenance"],
                notify_at_transitions=data["notify_at_transitions"],
                remind_before_minutes=data["remind_before_minutes"],
                unscheduled=data["unscheduled"],
                pre_open_at=data["pre_open_at"],
                auto_pre_open=data["auto_pre_open"],
                deliver_notifications=data["deliver_notifications"],
                translations=form.translations("name", "body"),
            )
            adopt(obj, maintenance)
            return
        renamed = form.translations("name")
        if "name" in form.changed_data or renamed:
            services.incident_edit(incident=obj, actor=actor, name=data["name"], translations=renamed)
        if form.moved():
            services.maintenance_reschedule(
                maintenance=obj,
                actor=actor,
                scheduled_for=data["scheduled_for"],
                scheduled_until=data["scheduled_until"],
                body=data.get("reschedule_body", ""),
                translations=form.translations("reschedule_body"),
            )
        transition = data.get("transition")
        body = {"body": data["update_body"], "translations": form.translations("update_body")}
        if transition == "note":
            services.maintenance_post_update(maintenance=obj, actor=actor, **body)
        elif transition:
            services.MAINTENANCE_SERVICES[transition](maintenance=obj, actor=actor, **body)
        obj.refresh_from_db()

    @admin.action(description=_("Start the selected maintenance"), permissions=["change"])
    def start(self, request, queryset):
        self.run_action(
            request,
            queryset,
            lambda m, actor: services.maintenance_start(maintenance=m, actor=actor),
            gettext("Started"),
        )

    @admin.action(description=_("Enter the pre-open phase of the selected maintenance"), permissions=["change"])
    def pre_open(self, request, queryset):
        self.run_action(
            request,
            queryset,
            lambda m, actor: services.maintenance_pre_open(maintenance=m, actor=actor),
            gettext("Pre-open"),
        )

    @admin.action(description=_("Complete the selected maintenance"), permissions=["change"])
    def complete(self, request, queryset):
        self.run_action(
            request,
            queryset,
            lambda m, actor: services.maintenance_complete(maintenance=m, actor=actor),
            gettext("Completed"),
        )

    @admin.action(description=_("Cancel the selected maintenance"), permissions=["change"])
    def cancel(self, request, queryset):
        self.run_action(
            request,
            queryset,
            lambda m, actor: services.maintenance_cancel(maintenance=m, actor=actor),
            gettext("Cancelled"),
        )
