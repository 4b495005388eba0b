"""Monitoring in the admin: the rules that turn alerts into drafts, and the drafts, each
published in one click (or dismissed), its recovery taken in one click when every alert
has resolved. Every change goes through `incidents.services.alerts`."""

from __future__ import annotations

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.http import HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.urls import path, reverse
from django.utils.html import format_html
from django.utils.text import format_lazy
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_POST

from .. import services
from ..models import AlertGroup, AlertRule, Component, ComponentStatus
from .base import ActionsMixin, ServiceAdmin, actor_for, adopt, error_text
from .forms import ServiceForm

# The severities Alertmanager setups use most, each with its own choice on the rule's form;
# any other is what "other severities" says.
SEVERITIES = ("critical", "page", "warning", "info")


def _severity_field(severity: str) -> forms.ChoiceField:
    default = services.DEFAULT_STATUSES.get(severity) or services.DEFAULT_STATUSES["*"]
    label = format_lazy(_("{} alerts"), severity) if severity != "*" else _("Other severities")
    default_label = format_lazy(_("Default: {}"), ComponentStatus(default).label)
    return forms.ChoiceField(label=label, required=False, choices=[("", default_label), *ComponentStatus.choices])


class AlertRuleForm(ServiceForm):
    """The rule's severity → status mapping as one choice per common severity (the
    `severity_statuses` the service takes is made from them)."""

    severity_critical = _severity_field("critical")
    severity_page = _severity_field("page")
    severity_warning = _severity_field("warning")
    severity_info = _severity_field("info")
    severity_other = _severity_field("*")

    class Meta:
        model = AlertRule
        fields = ["name", "matchers", "component", "template", "auto_publish", "position"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        current = self.instance.severity_statuses or {}
        for severity in (*SEVERITIES, "*"):
            self.initial.setdefault(severity_field_name(severity), current.get(severity, ""))

    def severity_statuses(self) -> dict[str, str]:
        chosen = {s: self.cleaned_data.get(severity_field_name(s)) for s in (*SEVERITIES, "*")}
        return {severity: status for severity, status in chosen.items() if status}


def severity_field_name(severity: str) -> str:
    return "severity_other" if severity == "*" else f"severity_{severity}"


@admin.register(AlertRule)
class AlertRuleAdmin(ServiceAdmin):
    add_form = change_form = AlertRuleForm
    list_display = ("name", "matchers", "component", "auto_publish", "position")
    fieldsets = (
        (None, {"fields": ("name", "matchers", "component", "template", "auto_publish", "position")}),
        (_("Component status for each severity"), {"fields": [severity_field_name(s) for s in (*SEVERITIES, "*")]}),
    )

    def save_with_services(self, request, obj, form, change, actor):
        fields = {name: form.cleaned_data[name] for name in AlertRuleForm.Meta.fields}
        fields["severity_statuses"] = form.severity_statuses()
        adopt(obj, services.alert_rule_save(actor=actor, rule=obj if change else None, **fields))


@admin.register(AlertGroup)
class AlertGroupAdmin(ActionsMixin, admin.ModelAdmin):
    list_display = ("name", "state", "proposal", "incident_link", "recovery", "first_received_at", "last_received_at")
    list_filter = ("state",)
    search_fields = ("name", "group_key")
    readonly_fields = (
        "name",
        "state",
        "proposal",
        "incident_link",
        "recovery",
        "body",
        "rule",
        "group_key",
        "receiver",
        "alerts",
        "first_received_at",
        "last_received_at",
    )
    fields = readonly_fields
    actions = ["publish", "dismiss"]
    change_form_template = "admin/incidents/alertgroup/change_form.html"

    def has_add_permission(self, request):
        return False  # made by Alertmanager's webhooks

    def has_delete_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return request.user.has_perm("incidents.change_alertgroup")

    @admin.display(description=_("proposes"))
    def proposal(self, obj: AlertGroup) -> str:
        names = dict(Component.objects.filter(public_id__in=obj.proposed).values_list("public_id", "name"))
        return ", ".join(f"{names.get(pk, pk)}: {status}" for pk, status in obj.proposed.items()) or "—"

    @admin.display(description=_("incident"))
    def incident_link(self, obj: AlertGroup):
        if obj.incident is None:
            return "—"
        url = reverse("admin:incidents_incident_change", args=[obj.incident.pk])
        return format_html('<a href="{}">{}</a>', url, obj.incident.name)

    @admin.display(description=_("recovery proposed"))
    def recovery(self, obj: AlertGroup) -> str:
        return gettext("yes, every alert has resolved") if obj.recovery_proposed_at else "—"

    def get_urls(self):
        name = "incidents_alertgroup"
        return [
            path("<int:pk>/publish/", self.admin_site.admin_view(self.one_click("publish")), name=f"{name}_publish"),
            path("<int:pk>/resolve/", self.admin_site.admin_view(self.one_click("resolve")), name=f"{name}_resolve"),
            *super().get_urls(),
        ]

    def one_click(self, what: str):
        @require_POST
        def view(request, pk: int):
            if not self.has_change_permission(request):
                return HttpResponseRedirect(reverse("admin:index"))
            group = get_object_or_404(AlertGroup, pk=pk)
            service = services.alert_publish if what == "publish" else services.alert_resolve
            try:
                incident = service(group=group, actor=actor_for(request))
            except ValidationError as error:
                self.message_user(request, error_text(error), messages.ERROR)
                return HttpResponseRedirect(reverse("admin:incidents_alertgroup_change", args=[pk]))
            done = gettext("Published") if what == "publish" else gettext("Resolved")
            self.message_user(request, f"{done}: {incident.name}", messages.SUCCESS)
            return HttpResponseRedirect(reverse("admin:incidents_incident_change", args=[incident.pk]))

        return view

    @admin.action(description=_("Publish the selected drafts"), permissions=["change"])
    def publish(self, request, queryset):
        self.run_action(
            request, queryset, lambda g, actor: services.alert_publish(group=g, actor=actor), gettext("Published")
        )

    @admin.action(description=_("Dismiss the selected drafts"), permissions=["change"])
    def dismiss(self, request, queryset):
        self.run_action(
            request, queryset, lambda g, actor: services.alert_dismiss(group=g, actor=actor), gettext("Dismissed")
        )
