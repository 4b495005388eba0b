"""Deposits and withdrawals in the admin: assets, their networks, and each network's status
(one change for every network selected: suspending every ERC20 withdrawal is one action)."""

from __future__ import annotations

from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from .. import rules, services
from ..models import Asset, Network
from . import forms as admin_forms
from .base import ServiceAdmin, actor_for, adopt, error_text


class AssetForm(admin_forms.ServiceForm):
    translated = {"name": ("name", "name")}

    class Meta:
        model = Asset
        fields = ["symbol", "name", "position"]


class NetworkForm(admin_forms.ServiceForm):
    translated = {"name": ("name", "name"), "note": ("note", "note")}

    class Meta:
        model = Network
        fields = ["asset", "code", "name", "position", "deposit", "withdrawal", "expected_at", "note"]


@admin.register(Asset)
class AssetAdmin(ServiceAdmin):
    add_form = change_form = AssetForm
    list_display = ("symbol", "name", "position")
    search_fields = ("symbol", "name")
    fields = admin_forms.translated_fields("symbol", "name", "position")

    def save_with_services(self, request, obj, form, change, actor):
        fields = {name: form.cleaned_data[name] for name in ("symbol", "name", "position")}
        saved = services.asset_save(
            actor=actor, asset=obj if change else None, translations=form.translations("name"), **fields
        )
        adopt(obj, saved)


def set_funding_action(name: str, description, **values):
    """One change for every selected network (services.funding_set)."""

    def action(modeladmin, request, queryset):
        try:
            changed = services.funding_set(actor=actor_for(request), networks=list(queryset), **values)
        except ValidationError as error:
            modeladmin.message_user(request, error_text(error), messages.ERROR)
            return
        modeladmin.message_user(
            request, gettext("%(done)s: %(count)d.") % {"done": description, "count": len(changed)}, messages.SUCCESS
        )

    action.__name__ = name
    return admin.action(description=description, permissions=["change"])(action)


@admin.register(Network)
class NetworkAdmin(ServiceAdmin):
    add_form = change_form = NetworkForm
    list_display = ("__str__", "deposit", "withdrawal", "expected_at", "note", "updated_at")
    list_filter = ("deposit", "withdrawal", "code", "asset")
    list_select_related = ("asset",)
    search_fields = ("asset__symbol", "code", "name")
    fieldsets = (
        (None, {"fields": admin_forms.translated_fields("asset", "code", "name", "position")}),
        (
            _("Deposits and withdrawals"),
            {"fields": admin_forms.translated_fields("deposit", "withdrawal", "expected_at", "note")},
        ),
    )
    actions = [
        set_funding_action("suspend_withdrawals", _("Suspend withdrawals"), withdrawal=rules.SUSPENDED),
        set_funding_action("delay_withdrawals", _("Mark withdrawals delayed"), withdrawal=rules.DELAYED),
        set_funding_action("suspend_deposits", _("Suspend deposits"), deposit=rules.SUSPENDED),
        set_funding_action("delay_deposits", _("Mark deposits delayed"), deposit=rules.DELAYED),
        set_funding_action(
            "enable_both", _("Enable deposits and withdrawals"), deposit=rules.ENABLED, withdrawal=rules.ENABLED
        ),
    ]

    def save_with_services(self, request, obj, form, change, actor):
        data = form.cleaned_data
        described = {
            name: data[name]
            for name in ("asset", "code", "name", "position")
            if not change or name in form.changed_data
        }
        names = form.translations("name")
        network = obj
        if not change or described or names:
            network = services.network_save(
                actor=actor, network=obj if change else None, translations=names, **described
            )
        funding = {name: data[name] for name in services.FUNDING_FIELDS if name in form.changed_data}
        notes = form.translations("note")
        if funding or notes:
            if "note" not in funding and notes:
                funding["note"] = data["note"]
            services.funding_set(actor=actor, networks=[network], translations=notes, **funding)
        adopt(obj, Network.objects.get(pk=network.pk))
