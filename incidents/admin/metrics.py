"""Public metrics in the admin: which Prometheus queries the page shows, under which
component, and what the sampler last said of each (its last sample, its last error)."""

from __future__ import annotations

from django.contrib import admin
from django.utils.translation import gettext_lazy as _

from .. import services
from ..models import Metric
from . import forms as admin_forms
from .base import ServiceAdmin, actor_for, adopt


class MetricForm(admin_forms.ServiceForm):
    translated = {"name": ("name", "name")}

    class Meta:
        model = Metric
        fields = list(services.METRIC_FIELDS)


@admin.register(Metric)
class MetricAdmin(ServiceAdmin):
    add_form = change_form = MetricForm
    list_display = ("name", "component", "unit", "is_published", "last_sampled_at", "last_error")
    list_filter = ("is_published",)
    list_select_related = ("component",)
    search_fields = ("name", "query")
    readonly_fields = ("last_sampled_at", "last_error")
    fieldsets = (
        (None, {"fields": admin_forms.translated_fields("name", "component", "position", "is_published")}),
        (_("Prometheus"), {"fields": ("query", "scale", "unit", "decimals")}),
        (_("Sampling"), {"fields": ("last_sampled_at", "last_error")}),
    )

    def has_delete_permission(self, request, obj=None):
        return admin.ModelAdmin.has_delete_permission(self, request, obj)

    def save_with_services(self, request, obj, form, change, actor):
        fields = {name: form.cleaned_data[name] for name in services.METRIC_FIELDS}
        saved = services.metric_save(
            actor=actor, metric=obj if change else None, translations=form.translations("name"), **fields
        )
        adopt(obj, saved)

    def delete_model(self, request, obj):
        services.metric_delete(actor=actor_for(request), metric=obj)

    def delete_queryset(self, request, queryset):
        for metric in queryset:
            self.delete_model(request, metric)
