"""The audit log, the public event log and API tokens: read-only logs, and tokens made
once and revoked, never edited."""

from __future__ import annotations

from django.contrib import admin, messages
from django.contrib.auth import get_user_model
from django.contrib.auth.admin import UserAdmin
from django.template.response import TemplateResponse
from django.utils.html import format_html_join
from django.utils.translation import gettext, ngettext
from django.utils.translation import gettext_lazy as _

from .. import services
from ..models import ApiToken, AuditEntry, ComponentStatusChange, PublicEvent
from .base import LogAdmin, actor_for, adopt, page_time


@admin.register(ComponentStatusChange)
class ComponentStatusChangeAdmin(LogAdmin):
    list_display = ("component", "transition", "changed", "incident", "actor_label")
    list_filter = ("new_status", "component")
    list_select_related = ("component__group", "incident")
    search_fields = ("component__name", "actor_label", "incident__name")
    date_hierarchy = "changed_at"
    fields = ("component", "old_status", "new_status", "changed", "recorded", "incident", "update", "actor_label")
    readonly_fields = ("changed", "recorded")

    changed = page_time("changed_at", _("changed at"))
    recorded = page_time("recorded_at", _("recorded at"))

    @admin.display(description=_("change"))
    def transition(self, obj):
        return f"{obj.get_old_status_display()} → {obj.get_new_status_display()}"


@admin.register(PublicEvent)
class PublicEventAdmin(LogAdmin):
    list_display = ("seq", "kind", "action", "created", "incident", "component")
    list_filter = ("kind", "action")
    list_select_related = ("incident", "component__group")
    fields = ("seq", "kind", "action", "created", "incident", "component", "payload")
    readonly_fields = ("created",)

    created = page_time("created_at", _("created at"))


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
            actor=actor_for(request),
        )
        adopt(obj, token)
        # Shown once, on the answer to this request (response_add), never in a message:
        # messages travel in a cookie that is signed, not encrypted.
        request._new_token_text = text

    def response_add(self, request, obj, post_url_continue=None):
        text = getattr(request, "_new_token_text", None)
        if text is None:
            return super().response_add(request, obj, post_url_continue)
        context = {
            **self.admin_site.each_context(request),
            "title": gettext("Token “%(name)s” created") % {"name": obj.name},
            "opts": self.model._meta,
            "token": obj,
            "text": text,
        }
        response = TemplateResponse(request, "admin/incidents/apitoken/created.html", context)
        response["Cache-Control"] = "no-store"
        return response

    @admin.action(description=_("Revoke the selected tokens"))
    def revoke(self, request, queryset):
        for token in queryset:
            services.api_token_revoke(token=token, actor=actor_for(request))
        count = queryset.count()
        messages.success(
            request, ngettext("Revoked %(count)d token.", "Revoked %(count)d tokens.", count) % {"count": count}
        )


@admin.register(AuditEntry)
class AuditEntryAdmin(LogAdmin):
    """Every write, by whom, from where (services.audit); sign-ins, failures and lockouts
    are django-axes' access logs, beside it in this admin."""

    list_display = ("when", "action", "target_label", "who", "via", "address")
    list_filter = ("via", "action", "target_type")
    search_fields = ("target_label", "target_id", "username", "action")
    date_hierarchy = "at"
    fields = (
        "when",
        "action",
        "target_type",
        "target_id",
        "target_label",
        "username",
        "user_id",
        "via",
        "token_id",
        "address",
        "changes_shown",
    )
    readonly_fields = ("when", "changes_shown")

    when = page_time("at", _("when"))

    @admin.display(description=_("who"))
    def who(self, obj):
        return obj.username or obj.get_via_display()

    @admin.display(description=_("changes"))
    def changes_shown(self, obj):
        lines = [f"{field}: {before!r} → {after!r}" for field, (before, after) in obj.changes.items()]
        return format_html_join("\n", "<div>{}</div>", ((line,) for line in lines)) or "—"


class AuditedUserAdmin(UserAdmin):
    """Django's user admin; a change of someone's roles (groups, staff, superuser, active,
    permissions) is written to the audit in the same transaction."""

    ROLE_FIELDS = ("is_active", "is_staff", "is_superuser")

    def save_model(self, request, obj, form, change):
        request._roles_before = _roles(obj.pk) if change and obj.pk else None
        super().save_model(request, obj, form, change)

    def save_related(self, request, form, formsets, change):
        super().save_related(request, form, formsets, change)
        user = form.instance
        before = getattr(request, "_roles_before", None) or {}
        after = _roles(user.pk)
        edits = {k: [before.get(k), v] for k, v in after.items() if before.get(k) != v}
        if edits:
            services.audit.record(actor_for(request), "user.roles" if change else "user.create", user, changes=edits)


def _roles(user_pk) -> dict:
    user = get_user_model().objects.get(pk=user_pk)
    return {
        **{field: getattr(user, field) for field in AuditedUserAdmin.ROLE_FIELDS},
        "groups": sorted(user.groups.values_list("name", flat=True)),
        "permissions": sorted(user.user_permissions.values_list("codename", flat=True)),
    }


admin.site.unregister(get_user_model())
admin.site.register(get_user_model(), AuditedUserAdmin)
