"""The audit log, the public event log and API tokens: read-only logs, and tokens made
once and revoked, never edited."""

from __future__ import annotations

from django.contrib import admin, messages
from django.template.response import TemplateResponse

from .. import services
from ..models import ApiToken, ComponentStatusChange, PublicEvent
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
        # Shown once, on the answer to this request (response_add), never in a message:
        # messages travel in a cookie that is signed, not encrypted.
        request._new_token_text = text

    def response_add(self, request, obj, post_url_continue=None):
        text = getattr(request, "_new_token_text", None)
        if text is None:
            return super().response_add(request, obj, post_url_continue)
        context = {
            **self.admin_site.each_context(request),
            "title": f"Token “{obj.name}” created",
            "opts": self.model._meta,
            "token": obj,
            "text": text,
        }
        response = TemplateResponse(request, "admin/incidents/apitoken/created.html", context)
        response["Cache-Control"] = "no-store"
        return response

    @admin.action(description="Revoke the selected tokens")
    def revoke(self, request, queryset):
        for token in queryset:
            services.api_token_revoke(token=token, actor=actor_for(request))
        messages.success(request, f"Revoked {queryset.count()} token(s).")
