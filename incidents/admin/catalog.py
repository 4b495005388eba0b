"""Components and their groups in the admin: edited and set through the services."""

from __future__ import annotations

from django.contrib import admin
from django.utils.functional import lazy
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from .. import services
from ..models import Component, ComponentGroup, TradingMode
from . import forms as admin_forms
from .base import ServiceAdmin, adopt


@admin.register(ComponentGroup)
class ComponentGroupAdmin(ServiceAdmin):
    add_form = change_form = admin_forms.ComponentGroupForm
    list_display = ("name", "position", "description")
    search_fields = ("name",)
    readonly_fields = ("public_id",)
    fields = admin_forms.translated_fields("name", "description", "position", "public_id")

    def save_with_services(self, request, obj, form, change, actor):
        fields = {name: form.cleaned_data[name] for name in ("name", "description", "position")}
        group = services.group_save(
            actor=actor,
            group=obj if change else None,
            translations=form.translations("name", "description"),
            **fields,
        )
        adopt(obj, group)


def _set_status_description(label) -> str:
    return gettext("Set status: %(status)s") % {"status": label}


def set_status_action(status: str, label: str):
    def action(modeladmin, request, queryset):
        modeladmin.run_action(
            request,
            queryset,
            lambda component, actor: services.component_set_status(component=component, status=status, actor=actor),
            gettext("Set to %(status)s") % {"status": str(label).lower()},
        )

    action.__name__ = f"set_status_{status}"
    # Lazy: read in the admin's language on each page, not once at import.
    description = lazy(_set_status_description, str)(label)
    return admin.action(description=description, permissions=["change"])(action)


def _set_mode_description(label) -> str:
    return gettext("Set trading mode: %(mode)s") % {"mode": label}


def set_trading_mode_action(mode: str, label: str):
    def action(modeladmin, request, queryset):
        modeladmin.run_action(
            request,
            queryset,
            lambda component, actor: services.component_set_trading_mode(
                component=component, trading_mode=mode, actor=actor
            ),
            gettext("Set trading mode to %(mode)s") % {"mode": str(label).lower()},
        )

    action.__name__ = f"set_trading_mode_{mode}"
    description = lazy(_set_mode_description, str)(label)
    return admin.action(description=description, permissions=["change"])(action)


@admin.register(Component)
class ComponentAdmin(ServiceAdmin):
    add_form = change_form = admin_forms.ComponentForm
    list_display = ("name", "group", "status", "trading_mode", "position", "is_hidden", "okx_service_type")
    list_filter = ("status", "trading_mode", "trading", "group", "is_hidden", "okx_service_type")
    list_select_related = ("group",)
    search_fields = ("name", "public_id")
    readonly_fields = ("public_id",)
    fieldsets = (
        (
            None,
            {
                "fields": admin_forms.translated_fields(
                    "name", "description", "group", "position", "status", "public_id"
                )
            },
        ),
        (_("Trading"), {"fields": ("trading", "trading_mode")}),
        (
            _("Display"),
            {"fields": ("showcase", "only_show_if_degraded", "is_hidden", "start_date", "okx_service_type")},
        ),
    )
    actions = [
        *(set_status_action(value, label) for value, label in Component.Status.choices),
        *(set_trading_mode_action(value, label) for value, label in TradingMode.choices),
    ]

    def save_with_services(self, request, obj, form, change, actor):
        data = form.cleaned_data
        if not change:
            fields = {name: data[name] for name in services.COMPONENT_FIELDS if name != "name"}
            translations = form.translations("name", "description")
            adopt(
                obj,
                services.component_create(
                    actor=actor,
                    name=data["name"],
                    status=data["status"],
                    trading_mode=data["trading_mode"],
                    translations=translations,
                    **fields,
                ),
            )
            return
        edited = {name: data[name] for name in services.COMPONENT_FIELDS if name in form.changed_data}
        translations = form.translations("name", "description")
        if edited or translations:
            services.component_edit(component=obj, actor=actor, translations=translations, **edited)
        state = {name: data[name] for name in ("status", "trading_mode") if name in form.changed_data}
        if state:
            services.component_set_state(component=obj, actor=actor, **state)
        obj.refresh_from_db()
