"""Components and their groups in the admin: edited and set through the services."""

from __future__ import annotations

from django.contrib import admin

from .. import services
from ..models import Component, ComponentGroup
from . import forms as admin_forms
from .base import ServiceAdmin, adopt


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
