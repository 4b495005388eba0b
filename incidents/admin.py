"""The operators' admin. Every save goes through `incidents.services`.

`save_model` calls the service and copies the row it wrote onto the admin's instance (so
the redirect and the LogEntry name it); `save_related` writes nothing, since the form's
relations and inlines would otherwise be saved behind the services' back. The admin runs
the change form in one transaction; the services' after-commit work (snapshot rebuild,
push) runs once it commits. A service that refuses at save time rolls that transaction
back and its errors show on the redisplayed form, never as a server error.

Nothing is deleted here: components, incidents and maintenance are referenced by the
audit log, and the audit log and event log are append-only.
"""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django.contrib import admin, messages
from django.contrib.admin.views.decorators import staff_member_required
from django.core.exceptions import ValidationError
from django.http import HttpResponse, HttpResponseRedirect
from django.urls import path, reverse
from django.utils import timezone
from django.utils.html import format_html, format_html_join
from django.views.decorators.http import require_POST

from . import admin_forms, formats, services
from .admin_notifications import LogAdmin  # also registers the notification admins
from .models import (
    ApiToken,
    Component,
    ComponentGroup,
    ComponentStatusChange,
    Incident,
    IncidentUpdate,
    Maintenance,
    PublicEvent,
)


class ServiceRefused(Exception):
    """A service raised ValidationError inside the admin's transaction; carries it out."""

    def __init__(self, error: ValidationError):
        super().__init__(error)
        self.error = error


def actor_for(request) -> services.Actor:
    return services.Actor.of(request.user)


def in_page_time(value) -> str:
    if value is None:
        return "—"
    return f"{value.astimezone(formats.page_tz()):%Y-%m-%d %H:%M} {settings.STATUS_PAGE['TIME_ZONE_LABEL']}"


def page_time(field: str, description: str):
    """A column or read-only field showing `field` in the page's time zone."""

    @admin.display(description=description, ordering=field)
    def show(self, obj):
        return in_page_time(getattr(obj, field))

    show.__name__ = f"{field}_shown"
    return show


def adopt(obj, saved) -> None:
    """Make the admin's unsaved instance the row a service wrote."""
    for field in saved._meta.concrete_fields:
        setattr(obj, field.attname, getattr(saved, field.attname))
    obj._state.adding = False
    obj._state.db = saved._state.db


def error_text(error: ValidationError) -> str:
    return " ".join(error.messages)


class ServiceAdmin(admin.ModelAdmin):
    """Base: forms from `admin_forms`, saves through services, refusals shown on the form."""

    add_form: type[admin_forms.ServiceForm] | None = None
    change_form: type[admin_forms.ServiceForm] | None = None
    # Whether the forms carry the component status grid (admin_forms.GRID_FIELD).
    component_selects = False

    def has_delete_permission(self, request, obj=None):
        return False

    # --- forms ---------------------------------------------------------------------------

    def status_components(self, request) -> list[Component]:
        """All components, read once per request so the form and its fieldsets agree."""
        if not hasattr(request, "_admin_status_components"):
            request._admin_status_components = list(Component.objects.select_related("group"))
        return request._admin_status_components

    def get_form(self, request, obj=None, change=False, **kwargs):
        form = self.add_form if obj is None else self.change_form
        if form is None:
            return super().get_form(request, obj, change=change, **kwargs)
        if self.component_selects:
            form = admin_forms.with_component_fields(form, self.status_components(request))
        refusal = getattr(request, "_admin_service_refusal", None)
        if refusal is not None:
            form = type(form.__name__, (form,), {"service_error": refusal})
        kwargs["form"] = form
        return super().get_form(request, obj, change=change, **kwargs)

    # --- saving --------------------------------------------------------------------------

    def changeform_view(self, request, object_id=None, form_url="", extra_context=None):
        try:
            return super().changeform_view(request, object_id, form_url, extra_context)
        except ServiceRefused as refused:
            # The transaction rolled back: nothing of this save was written. Show the
            # service's reasons on the same form, as its own checks would have.
            request._admin_service_refusal = refused.error
            return super().changeform_view(request, object_id, form_url, extra_context)

    def save_model(self, request, obj, form, change):
        try:
            self.save_with_services(request, obj, form, change, actor_for(request))
        except ValidationError as error:
            raise ServiceRefused(error) from error

    def save_with_services(self, request, obj, form, change, actor: services.Actor) -> None:
        raise NotImplementedError

    def save_related(self, request, form, formsets, change):
        """Nothing to save: the services wrote the relations; the inlines are read-only."""

    def construct_change_message(self, request, form, formsets, add=False):
        # The read-only inlines were not saved, so they have nothing to report.
        return super().construct_change_message(request, form, [], add)

    def run_action(self, request, queryset, service, done: str) -> None:
        """Apply `service` to each selected row; report each refusal by name."""
        actor = actor_for(request)
        succeeded = 0
        for obj in queryset:
            try:
                service(obj, actor)
            except ValidationError as error:
                self.message_user(request, f"{obj}: {error_text(error)}", messages.ERROR)
            else:
                succeeded += 1
        if succeeded:
            self.message_user(request, f"{done}: {succeeded}.", messages.SUCCESS)


# --- components --------------------------------------------------------------------------


@admin.register(ComponentGroup)
class ComponentGroupAdmin(ServiceAdmin):
    add_form = change_form = admin_forms.ComponentGroupForm
    list_display = ("name", "position", "description")
    search_fields = ("name",)
    readonly_fields = ("public_id",)
    fields = ("name", "description", "position", "public_id")

    def save_with_services(self, request, obj, form, change, actor):
        fields = {name: form.cleaned_data[name] for name in ("name", "description", "position")}
        group = services.group_save(actor=actor, group=obj if change else None, **fields)
        adopt(obj, group)


def set_status_action(status: str, label: str):
    def action(modeladmin, request, queryset):
        modeladmin.run_action(
            request,
            queryset,
            lambda component, actor: services.component_set_status(component=component, status=status, actor=actor),
            f"Set to {label.lower()}",
        )

    action.__name__ = f"set_status_{status}"
    return admin.action(description=f"Set status: {label}", permissions=["change"])(action)


@admin.register(Component)
class ComponentAdmin(ServiceAdmin):
    add_form = change_form = admin_forms.ComponentForm
    list_display = ("name", "group", "status", "position", "is_hidden", "okx_service_type")
    list_filter = ("status", "group", "is_hidden", "okx_service_type")
    list_select_related = ("group",)
    search_fields = ("name", "public_id")
    readonly_fields = ("public_id",)
    fieldsets = (
        (None, {"fields": ("name", "description", "group", "position", "status", "public_id")}),
        ("Display", {"fields": ("showcase", "only_show_if_degraded", "is_hidden", "start_date", "okx_service_type")}),
    )
    actions = [set_status_action(value, label) for value, label in Component.Status.choices]

    def save_with_services(self, request, obj, form, change, actor):
        data = form.cleaned_data
        if not change:
            fields = {name: data[name] for name in services.COMPONENT_FIELDS if name != "name"}
            adopt(obj, services.component_create(actor=actor, name=data["name"], status=data["status"], **fields))
            return
        edited = {name: data[name] for name in services.COMPONENT_FIELDS if name in form.changed_data}
        if edited:
            services.component_edit(component=obj, actor=actor, **edited)
        if "status" in form.changed_data:
            services.component_set_status(component=obj, status=data["status"], actor=actor)
        obj.refresh_from_db()


# --- incidents and maintenance: shared pieces --------------------------------------------


class TimelineInline(admin.TabularInline):
    """The timeline, newest first, with the component changes each update made. Read-only."""

    model = IncidentUpdate
    fk_name = "incident"
    extra = 0
    can_delete = False
    verbose_name = "update"
    verbose_name_plural = "timeline (newest first)"
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

    shown_at = page_time("display_at", "shown at")

    @admin.display(description="update")
    def text(self, update):
        return format_html('<div style="white-space: pre-wrap; max-width: 40em">{}</div>', update.body)

    @admin.display(description="components")
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
    now = timezone.now().astimezone(formats.page_tz())
    offset = now.utcoffset() or timedelta(0)
    minutes = int(offset.total_seconds() // 60)
    sign = "+" if minutes >= 0 else "\u2212"
    hours, rest = divmod(abs(minutes), 60)
    return {
        "label": settings.STATUS_PAGE["TIME_ZONE_LABEL"],
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
        return super().render_change_form(request, context, add, change, form_url, obj)

    def get_queryset(self, request):
        return super().get_queryset(request).filter(kind=self.kind)

    def get_inlines(self, request, obj):
        return self.inlines if obj is not None else []

    @admin.display(description="public page")
    def public_link(self, obj):
        return format_html('<a href="{0}" target="_blank" rel="noopener">{0}</a>', obj.get_absolute_url())

    started = page_time("started_at", "started")
    identified = page_time("identified_at", "identified")
    monitoring = page_time("monitoring_at", "monitoring")
    resolved = page_time("resolved_at", "resolved")
    scheduled_from = page_time("scheduled_for", "scheduled for")
    scheduled_to = page_time("scheduled_until", "scheduled until")
    postmortem_published = page_time("postmortem_published_at", "postmortem published")


@staff_member_required
@require_POST
def markdown_preview(request):
    """The HTML a Markdown body will show as, for the admin's Preview buttons."""
    from .rendering import render_markdown

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
                    "Open an incident",
                    {"fields": ("name", "status", "body", "impact_override", "started_at", "deliver_notifications")},
                ),
                ("Components", {"fields": (grid,), "classes": ("status-grid-fieldset",)}),
            ]
        facts = ("public_link", "status", "impact", "started", "identified", "monitoring", "resolved", "created_by")
        if not self.has_change_permission(request, obj):
            return [
                (None, {"fields": ("name", "impact_override", *facts)}),
                ("Postmortem", {"fields": ("postmortem_body", "postmortem_published")}),
            ]
        # The change form's template shows the timeline right after the first fieldset: an
        # operator posting updates finds the form and the story so far at the top.
        return [
            (
                "Post an update",
                {
                    "fields": (
                        "update_status",
                        "update_body",
                        grid,
                        "confirm_down_after_resolve",
                        "update_display_at",
                        "update_deliver_notifications",
                    ),
                    "classes": ("status-grid-fieldset",),
                },
            ),
            ("Incident", {"fields": ("name", "impact_override", *facts)}),
            ("Postmortem", {"fields": ("postmortem_body", "publish_postmortem", "postmortem_published")}),
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
            incident = services.incident_open(
                actor=actor,
                name=data["name"],
                body=data["body"],
                status=data["status"],
                components=form.component_statuses(),
                impact_override=data["impact_override"],
                started_at=data["started_at"],
                deliver_notifications=data["deliver_notifications"],
            )
            adopt(obj, incident)
            return
        edited = {name: data[name] for name in ("name", "impact_override") if name in form.changed_data}
        if edited:
            services.incident_edit(incident=obj, actor=actor, **edited)
        if form.wants_update():
            update = form.update_fields()
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
            )
        obj.refresh_from_db()


# --- scheduled maintenance ---------------------------------------------------------------

TRANSITION_SERVICES = {
    "start": services.maintenance_start,
    "verify": services.maintenance_verify,
    "complete": services.maintenance_complete,
    "cancel": services.maintenance_cancel,
}


@admin.register(Maintenance)
class MaintenanceAdmin(TimelineAdmin):
    kind = Incident.Kind.MAINTENANCE
    add_form = admin_forms.MaintenanceScheduleForm
    change_form = admin_forms.MaintenanceChangeForm
    list_display = ("name", "status", "scheduled_from", "scheduled_to", "started", "resolved", "auto_start")
    list_filter = ("status", "unscheduled", "auto_start", "auto_complete")
    search_fields = ("name", "public_id")
    filter_horizontal = ("components",)
    actions = ["start", "complete", "cancel"]

    def get_fieldsets(self, request, obj=None):
        if obj is None:
            return [
                ("Schedule a maintenance", {"fields": ("name", "body", "scheduled_for", "scheduled_until")}),
                ("Affected components", {"fields": ("components",)}),
                (
                    "Behaviour",
                    {
                        "fields": (
                            "auto_start",
                            "auto_complete",
                            "components_to_maintenance",
                            "notify_at_transitions",
                            "remind_before_minutes",
                            "unscheduled",
                            "deliver_notifications",
                        )
                    },
                ),
            ]
        settings_shown = (
            "affected",
            "auto_start",
            "auto_complete",
            "components_to_maintenance",
            "notify_at_transitions",
            "remind_before_minutes",
            "unscheduled",
            "reschedule_note",
        )
        facts = (None, {"fields": ("name", "public_link", "status", "started", "resolved", *settings_shown)})
        if not self.has_change_permission(request, obj):
            return [facts, ("Window", {"fields": ("scheduled_from", "scheduled_to")})]
        if obj.status == "scheduled":
            window = ("Reschedule", {"fields": ("scheduled_for", "scheduled_until", "reschedule_body")})
        else:
            window = ("Window", {"fields": ("scheduled_from", "scheduled_to")})
        return [facts, window, ("Move it along", {"fields": ("transition", "update_body")})]

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
            "auto_start",
            "auto_complete",
            "components_to_maintenance",
            "notify_at_transitions",
            "remind_before_minutes",
            "unscheduled",
            "reschedule_note",
        )

    @admin.display(description="components")
    def affected(self, obj):
        return ", ".join(str(c) for c in obj.components.select_related("group")) or "—"

    def save_with_services(self, request, obj, form, change, actor):
        data = form.cleaned_data
        if not change:
            maintenance = services.maintenance_schedule(
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
                deliver_notifications=data["deliver_notifications"],
            )
            adopt(obj, maintenance)
            return
        if "name" in form.changed_data:
            services.incident_edit(incident=obj, actor=actor, name=data["name"])
        if form.moved():
            services.maintenance_reschedule(
                maintenance=obj,
                actor=actor,
                scheduled_for=data["scheduled_for"],
                scheduled_until=data["scheduled_until"],
                body=data.get("reschedule_body", ""),
            )
        transition = data.get("transition")
        if transition == "note":
            services.maintenance_post_update(maintenance=obj, actor=actor, body=data["update_body"])
        elif transition:
            TRANSITION_SERVICES[transition](maintenance=obj, actor=actor, body=data["update_body"])
        obj.refresh_from_db()

    @admin.action(description="Start the selected maintenance", permissions=["change"])
    def start(self, request, queryset):
        self.run_action(
            request, queryset, lambda m, actor: services.maintenance_start(maintenance=m, actor=actor), "Started"
        )

    @admin.action(description="Complete the selected maintenance", permissions=["change"])
    def complete(self, request, queryset):
        self.run_action(
            request, queryset, lambda m, actor: services.maintenance_complete(maintenance=m, actor=actor), "Completed"
        )

    @admin.action(description="Cancel the selected maintenance", permissions=["change"])
    def cancel(self, request, queryset):
        self.run_action(
            request, queryset, lambda m, actor: services.maintenance_cancel(maintenance=m, actor=actor), "Cancelled"
        )


# --- the logs: read-only for everyone ----------------------------------------------------


@admin.register(ComponentStatusChange)
class ComponentStatusChangeAdmin(LogAdmin):
    list_display = ("component", "transition", "changed", "incident", "actor_label")
    list_filter = ("new_status", "component")
    list_select_related = ("component__group", "incident")
    search_fields = ("component__name", "actor_label", "incident__name")
    date_hierarchy = "changed_at"
    fields = ("component", "old_status", "new_status", "changed", "recorded", "incident", "update", "actor_label")
    readonly_fields = ("changed", "recorded")

    changed = page_time("changed_at", "changed at")
    recorded = page_time("recorded_at", "recorded at")

    @admin.display(description="change")
    def transition(self, obj):
        return f"{obj.get_old_status_display()} → {obj.get_new_status_display()}"


@admin.register(PublicEvent)
class PublicEventAdmin(LogAdmin):
    list_display = ("seq", "kind", "action", "created", "incident", "component")
    list_filter = ("kind", "action")
    list_select_related = ("incident", "component__group")
    fields = ("seq", "kind", "action", "created", "incident", "component", "payload")
    readonly_fields = ("created",)

    created = page_time("created_at", "created at")


@admin.register(ApiToken)
class ApiTokenAdmin(admin.ModelAdmin):
    """Tokens for the v1 API. The token text is shown once, right after it is made."""

    list_display = ("name", "user", "prefix", "scope", "expires_at", "last_used_at", "revoked_at")
    list_filter = ("scope",)
    fields = ("user", "name", "scope", "expires_at")
    actions = ("revoke",)

    def get_readonly_fields(self, request, obj=None):
        return ("user", "name", "scope", "expires_at", "prefix", "last_used_at", "revoked_at") if obj else ()

    def get_fields(self, request, obj=None):
        return self.get_readonly_fields(request, obj) if obj else self.fields

    def has_delete_permission(self, request, obj=None):
        return False

    def save_model(self, request, obj, form, change):
        if change:
            return
        token, text = services.api_token_create(
            user=form.cleaned_data["user"],
            name=form.cleaned_data["name"],
            scope=form.cleaned_data["scope"],
            expires_at=form.cleaned_data["expires_at"],
        )
        adopt(obj, token)
        messages.warning(request, f"The token, shown only this once — copy it now: {text}")

    @admin.action(description="Revoke the selected tokens")
    def revoke(self, request, queryset):
        for token in queryset:
            services.api_token_revoke(token=token, actor=actor_for(request))
        messages.success(request, f"Revoked {queryset.count()} token(s).")
