"""Admin for subscribers and the notification log: every delivery and every attempt.

Rows are written by the services and the workers; here operators read them, redeliver
(same `webhook-id`), and reactivate a quarantined webhook. Registered with `admin.site`
when this module is imported (from incidents/admin/__init__.py).
"""

from __future__ import annotations

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.db.models import Count, Q
from django.utils.html import format_html
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from .. import services
from ..models import Delivery, DeliveryAttempt, Notification, Subscriber
from .base import ActionsMixin, LogAdmin, LogInline, actor_for, adopt

# --- subscribers -------------------------------------------------------------------------


class ChannelForm(forms.ModelForm):
    """An official community channel (Telegram, Discord, Slack, …): the one kind of
    subscriber made here; readers subscribe on the page, integrators through the API."""

    chat_url = forms.CharField(
        label=_("Apprise URL"),
        max_length=2000,
        widget=forms.TextInput(attrs={"size": 80, "autocomplete": "off", "spellcheck": "false"}),
        help_text=_(
            "The channel's address with its credentials, as Apprise writes it: tgram://bot-token/chat-id, "
            "discord://webhook-id/webhook-token, slack://token-a/token-b/token-c, mmost://host/token, "
            "ntfy://host/topic. Never shown again once saved."
        ),
    )

    class Meta:
        model = Subscriber
        fields = ["chat_name", "language", "components", "owner_email"]

    def clean_chat_url(self):
        try:
            return services.check_chat_url(self.cleaned_data["chat_url"])
        except ValidationError as error:
            raise ValidationError(error.message_dict["chat_url"]) from error


@admin.register(Subscriber)
class SubscriberAdmin(ActionsMixin, admin.ModelAdmin):
    list_display = ("address", "kind", "state", "scope", "consecutive_failures", "created_at", "confirmed_at")
    list_filter = ("kind", "state")
    search_fields = ("email", "endpoint", "owner_email", "public_id")
    readonly_fields = (
        "public_id",
        "kind",
        "email",
        "endpoint",
        "chat_name",
        "owner_email",
        "state",
        "scope",
        "consecutive_failures",
        "quarantined_at",
        "disabled_reason",
        "created_at",
        "confirmed_at",
        "unsubscribed_at",
    )
    fields = readonly_fields
    actions = ["reactivate", "unsubscribe"]
    add_fields = ("chat_name", "chat_url", "language", "components", "owner_email")

    def get_form(self, request, obj=None, change=False, **kwargs):
        if obj is None:
            kwargs["form"] = ChannelForm
            # The model's fields; `chat_url` is the form's own (the column is not editable).
            kwargs["fields"] = ChannelForm.Meta.fields
        return super().get_form(request, obj, change=change, **kwargs)

    def get_fields(self, request, obj=None):
        return self.add_fields if obj is None else self.fields

    def get_readonly_fields(self, request, obj=None):
        return () if obj is None else self.readonly_fields

    def save_model(self, request, obj, form, change):
        data = form.cleaned_data
        subscriber = services.subscriber_create(
            actor=actor_for(request),
            chat_url=data["chat_url"],
            chat_name=data["chat_name"],
            language=data["language"],
            components=data["components"],
            owner_email=data["owner_email"],
        )
        adopt(obj, subscriber)

    def save_related(self, request, form, formsets, change):
        """The service set the components."""

    def get_queryset(self, request):
        return super().get_queryset(request).prefetch_related("components")

    def has_add_permission(self, request):
        # Here only official channels are added; readers subscribe on the public form
        # (double opt-in), integrators through the API (webhook secret).
        return request.user.has_perm("incidents.add_subscriber")

    def has_change_permission(self, request, obj=None):
        # Nothing is edited in a form; the actions below change state through the services.
        return False

    def has_manage_permission(self, request) -> bool:
        return request.user.has_perm("incidents.change_subscriber")

    def delete_model(self, request, obj):
        services.subscriber_delete(subscriber=obj, actor=actor_for(request))

    def delete_queryset(self, request, queryset):
        for subscriber in queryset:
            services.subscriber_delete(subscriber=subscriber, actor=actor_for(request))

    @admin.display(description=_("address"))
    def address(self, obj: Subscriber) -> str:
        return obj.email or obj.endpoint or obj.chat_label

    @admin.display(description=_("hears of"))
    def scope(self, obj: Subscriber) -> str:
        names = [c.name for c in obj.components.all()]
        return ", ".join(names) if names else gettext("the whole page")

    @admin.action(description=_("Reactivate the selected quarantined or disabled webhooks"), permissions=["manage"])
    def reactivate(self, request, queryset):
        self.run_action(
            request,
            queryset,
            lambda s, actor: services.subscriber_reactivate(subscriber=s, actor=actor),
            gettext("Reactivated"),
        )

    @admin.action(description=_("Unsubscribe the selected subscribers"), permissions=["manage"])
    def unsubscribe(self, request, queryset):
        self.run_action(
            request, queryset, lambda s, actor: services.subscriber_unsubscribe(subscriber=s), gettext("Unsubscribed")
        )


# --- notifications and deliveries --------------------------------------------------------


class DeliveryInline(LogInline):
    model = Delivery
    fields = ("subscriber", "channel", "state", "attempt_count", "last_status_code", "last_error", "delivered_at")
    readonly_fields = fields


@admin.register(Notification)
class NotificationAdmin(LogAdmin):
    list_display = ("public_id", "kind", "subject", "created_at", "fanned_out_at", "delivered", "pending", "failed")
    list_filter = ("kind",)
    list_select_related = ("incident", "component", "recipient")
    search_fields = ("public_id", "incident__name", "incident__public_id")
    date_hierarchy = "created_at"
    fields = (
        "public_id",
        "kind",
        "incident",
        "update",
        "component",
        "recipient",
        "event",
        "created_at",
        "fanned_out_at",
        "payload",
    )
    readonly_fields = fields
    inlines = [DeliveryInline]

    def get_queryset(self, request):
        state = Delivery.State
        return (
            super()
            .get_queryset(request)
            .annotate(
                delivered_count=Count("deliveries", filter=Q(deliveries__state=state.DELIVERED)),
                pending_count=Count("deliveries", filter=Q(deliveries__state=state.PENDING)),
                failed_count=Count("deliveries", filter=Q(deliveries__state=state.FAILED)),
            )
        )

    @admin.display(description=_("about"))
    def subject(self, obj: Notification) -> str:
        return str(obj.incident or obj.component or obj.recipient or "")

    @admin.display(description=_("delivered"), ordering="delivered_count")
    def delivered(self, obj) -> int:
        return obj.delivered_count

    @admin.display(description=_("pending"), ordering="pending_count")
    def pending(self, obj) -> int:
        return obj.pending_count

    @admin.display(description=_("failed"), ordering="failed_count")
    def failed(self, obj) -> int:
        return obj.failed_count


class DeliveryAttemptInline(LogInline):
    model = DeliveryAttempt
    show_change_link = False
    fields = ("number", "started_at", "duration_ms", "address", "status_code", "error", "response_excerpt")
    readonly_fields = fields


@admin.register(Delivery)
class DeliveryAdmin(LogAdmin):
    list_display = (
        "id",
        "kind",
        "subscriber",
        "channel",
        "state_badge",
        "attempt_count",
        "last_status_code",
        "last_error",
        "next_attempt_at",
        "delivered_at",
    )
    list_filter = ("state", "channel", "notification__kind")
    list_select_related = ("notification", "subscriber")
    search_fields = ("subscriber__email", "subscriber__endpoint", "notification__public_id")
    date_hierarchy = "created_at"
    fields = (
        "notification",
        "subscriber",
        "channel",
        "state",
        "attempt_count",
        "next_attempt_at",
        "enqueued_at",
        "in_flight_until",
        "last_status_code",
        "last_error",
        "delivered_at",
        "created_at",
    )
    readonly_fields = fields
    inlines = [DeliveryAttemptInline]
    actions = ["redeliver"]

    @admin.display(description=_("kind"), ordering="notification__kind")
    def kind(self, obj: Delivery) -> str:
        return obj.notification.get_kind_display()

    @admin.display(description=_("state"), ordering="state")
    def state_badge(self, obj: Delivery) -> str:
        return format_html("<strong>{}</strong>", obj.get_state_display()) if obj.state == "failed" else obj.state

    @admin.action(description=_("Redeliver the selected deliveries (same webhook-id)"), permissions=["redeliver"])
    def redeliver(self, request, queryset):
        count = services.delivery_redeliver(
            delivery_ids=queryset.values_list("pk", flat=True), actor=actor_for(request)
        )
        self.message_user(request, gettext("Queued again: %(count)d.") % {"count": count}, messages.SUCCESS)

    def has_redeliver_permission(self, request) -> bool:
        return request.user.has_perm("incidents.change_delivery")
