"""The admin's foundations: forms that save through the services, and read-only logs.

Every save goes through `incidents.services`.

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

from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.utils.translation import gettext

from .. import services
from ..models import Component
from ..services import client_address
from ..wire.time import in_page_time
from . import forms as admin_forms


class ServiceRefused(Exception):
    """A service raised ValidationError inside the admin's transaction; carries it out."""

    def __init__(self, error: ValidationError):
        super().__init__(error)
        self.error = error


def actor_for(request) -> services.Actor:
    return services.Actor.of(request.user, address=client_address(request))


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


class ActionsMixin:
    """List actions that run a service on each selected row and report each refusal by name."""

    def run_action(self, request, queryset, service, done: str) -> None:
        """Apply `service(row, actor)` to each selected row."""
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
            self.message_user(
                request, gettext("%(done)s: %(count)d.") % {"done": done, "count": succeeded}, messages.SUCCESS
            )


class ServiceAdmin(ActionsMixin, admin.ModelAdmin):
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
        form = admin_forms.with_translation_fields(form)
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


class LogAdmin(admin.ModelAdmin):
    """Written by services and workers only: never added or edited here."""

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


class LogInline(admin.TabularInline):
    extra = 0
    can_delete = False
    show_change_link = True

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False
