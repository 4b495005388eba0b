"""Input shapes of the v1 write API. Output is the Statuspage-shaped object (v2.py)."""

from django.utils import timezone
from rest_framework import serializers

from .. import rules
from ..models import Component
from ..publish import documents
from ..services import checks

STATUS_HELP = "One of: " + ", ".join(rules.COMPONENT_STATUSES)
CONFIRM_HELP = (
    "Resolving while a component the incident touched stays degraded or down (and no other open incident "
    "covers it) is refused with a 400 on this field; send true when those components really stay down."
)


class AwareDateTimeField(serializers.DateTimeField):
    """An ISO 8601 time that must carry its offset: a naive time is refused, not guessed."""

    default_error_messages = {
        "naive": "Give a time zone offset (for example 2021-01-29T17:37:00+08:00); naive times are refused.",
        "range": "Give a time between the years 2000 and 2099.",
    }

    def enforce_timezone(self, value):
        if timezone.is_naive(value):
            self.fail("naive")
        # Year 1 at +08:00 or year 9999 at -08:00 overflow when converted to UTC.
        if not (checks.EARLIEST.replace(tzinfo=None) < value.replace(tzinfo=None) < checks.LATEST.replace(tzinfo=None)):
            self.fail("range")
        return value


class ComponentStatusMap(serializers.DictField):
    """`{component_id: status}`; ids are the public component ids."""

    child = serializers.ChoiceField(choices=rules.COMPONENT_STATUSES)

    def to_internal_value(self, data):
        statuses = super().to_internal_value(data)
        malformed = [key for key in statuses if not documents.is_id(key)]
        if malformed:
            raise serializers.ValidationError({key[:40]: "Not a component id." for key in malformed})
        found = Component.objects.in_bulk(list(statuses), field_name="public_id")
        unknown = [key for key in statuses if key not in found]
        if unknown:
            raise serializers.ValidationError(dict.fromkeys(unknown, "No component with this id."))
        return {found[key]: value for key, value in statuses.items()}


class ComponentIdList(serializers.ListField):
    child = serializers.CharField(max_length=12)

    def to_internal_value(self, data):
        ids = super().to_internal_value(data)
        malformed = [key for key in ids if not documents.is_id(key)]
        if malformed:
            raise serializers.ValidationError([f"Not a component id: {key[:40]!r}." for key in malformed])
        found = Component.objects.in_bulk(ids, field_name="public_id")
        unknown = [key for key in ids if key not in found]
        if unknown:
            raise serializers.ValidationError([f"No component with id {key}." for key in unknown])
        return [found[key] for key in ids]


class IncidentCreate(serializers.Serializer):
    name = serializers.CharField(max_length=200)
    status = serializers.ChoiceField(choices=rules.INCIDENT_OPEN, default="investigating")
    body = serializers.CharField()
    impact_override = serializers.ChoiceField(choices=rules.IMPACTS, required=False, allow_blank=True, default="")
    components = ComponentStatusMap(required=False, default=dict, help_text=STATUS_HELP)
    started_at = AwareDateTimeField(required=False, allow_null=True, default=None)
    deliver_notifications = serializers.BooleanField(default=True)


class IncidentEdit(serializers.Serializer):
    name = serializers.CharField(max_length=200, required=False)
    impact_override = serializers.ChoiceField(choices=rules.IMPACTS, required=False, allow_blank=True)


class UpdateCreate(serializers.Serializer):
    status = serializers.ChoiceField(choices=rules.INCIDENT_UPDATE_STATUSES)
    body = serializers.CharField()
    components = ComponentStatusMap(required=False, default=dict, help_text=STATUS_HELP)
    display_at = AwareDateTimeField(required=False, allow_null=True, default=None)
    deliver_notifications = serializers.BooleanField(default=True)
    confirm_down_after_resolve = serializers.BooleanField(default=False, help_text=CONFIRM_HELP)


class Resolve(serializers.Serializer):
    body = serializers.CharField()
    components = ComponentStatusMap(
        required=False, default=None, help_text="Omit to return every affected component to operational."
    )
    display_at = AwareDateTimeField(required=False, allow_null=True, default=None)
    deliver_notifications = serializers.BooleanField(default=True)
    confirm_down_after_resolve = serializers.BooleanField(default=False, help_text=CONFIRM_HELP)


class Postmortem(serializers.Serializer):
    body = serializers.CharField(allow_blank=True)
    publish = serializers.BooleanField(default=False)


class ComponentStatus(serializers.Serializer):
    status = serializers.ChoiceField(choices=rules.COMPONENT_STATUSES)


class MaintenanceCreate(serializers.Serializer):
    name = serializers.CharField(max_length=200)
    body = serializers.CharField()
    scheduled_for = AwareDateTimeField()
    scheduled_until = AwareDateTimeField()
    components = ComponentIdList(required=False, default=list)
    auto_start = serializers.BooleanField(default=False)
    auto_complete = serializers.BooleanField(default=False)
    components_to_maintenance = serializers.BooleanField(default=True)
    notify_at_transitions = serializers.BooleanField(default=True)
    remind_before_minutes = serializers.IntegerField(
        min_value=0, max_value=checks.MAX_MINUTES, allow_null=True, default=60
    )
    unscheduled = serializers.BooleanField(default=False)
    deliver_notifications = serializers.BooleanField(default=True)


class MaintenanceEdit(serializers.Serializer):
    name = serializers.CharField(max_length=200, required=False)
    components = ComponentIdList(required=False)
    auto_start = serializers.BooleanField(required=False)
    auto_complete = serializers.BooleanField(required=False)
    components_to_maintenance = serializers.BooleanField(required=False)
    notify_at_transitions = serializers.BooleanField(required=False)
    remind_before_minutes = serializers.IntegerField(
        min_value=0, max_value=checks.MAX_MINUTES, allow_null=True, required=False
    )
    unscheduled = serializers.BooleanField(required=False)


class MaintenanceTransition(serializers.Serializer):
    body = serializers.CharField(required=False, allow_blank=True, default="")
    deliver_notifications = serializers.BooleanField(required=False, allow_null=True, default=None)


class MaintenanceNote(serializers.Serializer):
    body = serializers.CharField()
    deliver_notifications = serializers.BooleanField(required=False, allow_null=True, default=None)


class Reschedule(serializers.Serializer):
    scheduled_for = AwareDateTimeField()
    scheduled_until = AwareDateTimeField()
    body = serializers.CharField(required=False, allow_blank=True, default="")
    deliver_notifications = serializers.BooleanField(required=False, allow_null=True, default=None)


class SubscriberCreate(serializers.Serializer):
    email = serializers.EmailField(required=False)
    endpoint = serializers.URLField(required=False, max_length=2000)
    components = ComponentIdList(required=False, default=list)
    skip_confirmation = serializers.BooleanField(default=False)
    owner_email = serializers.EmailField(
        required=False, help_text="A webhook's owner, told if its deliveries are paused."
    )

    def validate(self, attrs):
        attrs.setdefault("email", "")
        attrs.setdefault("endpoint", "")
        attrs.setdefault("owner_email", "")
        if bool(attrs["email"]) == bool(attrs["endpoint"]):
            raise serializers.ValidationError({"email": "Give either an email address or a webhook endpoint."})
        return attrs


def subscriber_json(subscriber, *, with_secret: bool = False) -> dict:
    data = {
        "id": subscriber.public_id,
        "kind": subscriber.kind,
        "email": subscriber.email or None,
        "endpoint": subscriber.endpoint or None,
        "state": subscriber.state,
        "owner_email": subscriber.owner_email or None,
        "components": [c.public_id for c in subscriber.components.all()],
        "created_at": subscriber.created_at.isoformat(timespec="milliseconds"),
    }
    if with_secret and subscriber.webhook_secret:
        data["secret"] = subscriber.webhook_secret
    return data
