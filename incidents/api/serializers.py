"""Input shapes of the v1 write API. Output is the Statuspage-shaped object (v2.py)."""

from django.core.validators import RegexValidator
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


# JSON types as the schema gives them: DRF would take 0 for a name ("0") and 0 or "yes"
# for a boolean; the schema says string and boolean, and so does the API.
class StrictCharField(serializers.CharField):
    """A JSON string, its length counted as sent (the services strip it): what the schema's
    maxLength and pattern describe."""

    default_error_messages = {"type": "Give a string."}

    def __init__(self, **kwargs):
        kwargs.setdefault("trim_whitespace", False)
        super().__init__(**kwargs)

    def to_internal_value(self, data):
        if not isinstance(data, str):
            self.fail("type")
        return super().to_internal_value(data)


class StrictEmailField(serializers.EmailField, StrictCharField):
    pass


class StrictURLField(serializers.URLField, StrictCharField):
    pass


class StrictBooleanField(serializers.BooleanField):
    default_error_messages = {"type": "Give true or false."}

    def to_internal_value(self, data):
        if not isinstance(data, bool):
            self.fail("type")
        return data


class StrictIntegerField(serializers.IntegerField):
    default_error_messages = {"type": "Give a whole number."}

    def to_internal_value(self, data):
        if isinstance(data, bool) or not isinstance(data, int):
            self.fail("type")
        return super().to_internal_value(data)


# The services' own checks (services.checks), stated as patterns so that the schema says
# what is taken; the services still check, with their precise messages.
NAME = RegexValidator(checks.NAME_PATTERN, "One line of text, without control characters.")
TEXT = RegexValidator(checks.TEXT_PATTERN, "Give some text; the NUL character (\\u0000) is not allowed.")
BLANKABLE_TEXT = RegexValidator(checks.BLANKABLE_TEXT_PATTERN, "The NUL character (\\u0000) is not allowed.")


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
    child = StrictCharField(max_length=12, min_length=1)

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
    name = StrictCharField(max_length=200, min_length=1, validators=[NAME])
    status = serializers.ChoiceField(choices=rules.INCIDENT_OPEN, default="investigating")
    body = StrictCharField(min_length=1, validators=[TEXT])
    impact_override = serializers.ChoiceField(choices=rules.IMPACTS, required=False, allow_blank=True, default="")
    components = ComponentStatusMap(required=False, default=dict, help_text=STATUS_HELP)
    started_at = AwareDateTimeField(required=False, allow_null=True, default=None)
    deliver_notifications = StrictBooleanField(default=True)


class IncidentEdit(serializers.Serializer):
    name = StrictCharField(max_length=200, required=False, min_length=1, validators=[NAME])
    impact_override = serializers.ChoiceField(choices=rules.IMPACTS, required=False, allow_blank=True)


class UpdateCreate(serializers.Serializer):
    status = serializers.ChoiceField(choices=rules.INCIDENT_UPDATE_STATUSES)
    body = StrictCharField(min_length=1, validators=[TEXT])
    components = ComponentStatusMap(required=False, default=dict, help_text=STATUS_HELP)
    display_at = AwareDateTimeField(required=False, allow_null=True, default=None)
    deliver_notifications = StrictBooleanField(default=True)
    confirm_down_after_resolve = StrictBooleanField(default=False, help_text=CONFIRM_HELP)


class Resolve(serializers.Serializer):
    body = StrictCharField(min_length=1, validators=[TEXT])
    components = ComponentStatusMap(
        required=False, default=None, help_text="Omit to return every affected component to operational."
    )
    display_at = AwareDateTimeField(required=False, allow_null=True, default=None)
    deliver_notifications = StrictBooleanField(default=True)
    confirm_down_after_resolve = StrictBooleanField(default=False, help_text=CONFIRM_HELP)


class Postmortem(serializers.Serializer):
    body = StrictCharField(allow_blank=True, validators=[BLANKABLE_TEXT])
    publish = StrictBooleanField(default=False)


class ComponentStatus(serializers.Serializer):
    status = serializers.ChoiceField(choices=rules.COMPONENT_STATUSES)


class MaintenanceCreate(serializers.Serializer):
    name = StrictCharField(max_length=200, min_length=1, validators=[NAME])
    body = StrictCharField(min_length=1, validators=[TEXT])
    scheduled_for = AwareDateTimeField()
    scheduled_until = AwareDateTimeField()
    components = ComponentIdList(required=False, default=list)
    auto_start = StrictBooleanField(default=False)
    auto_complete = StrictBooleanField(default=False)
    components_to_maintenance = StrictBooleanField(default=True)
    notify_at_transitions = StrictBooleanField(default=True)
    remind_before_minutes = StrictIntegerField(min_value=0, max_value=checks.MAX_MINUTES, allow_null=True, default=60)
    unscheduled = StrictBooleanField(default=False)
    deliver_notifications = StrictBooleanField(default=True)


class MaintenanceEdit(serializers.Serializer):
    name = StrictCharField(max_length=200, required=False, min_length=1, validators=[NAME])
    components = ComponentIdList(required=False)
    auto_start = StrictBooleanField(required=False)
    auto_complete = StrictBooleanField(required=False)
    components_to_maintenance = StrictBooleanField(required=False)
    notify_at_transitions = StrictBooleanField(required=False)
    remind_before_minutes = StrictIntegerField(
        min_value=0, max_value=checks.MAX_MINUTES, allow_null=True, required=False
    )
    unscheduled = StrictBooleanField(required=False)


class MaintenanceTransition(serializers.Serializer):
    body = StrictCharField(required=False, allow_blank=True, default="", validators=[BLANKABLE_TEXT])
    deliver_notifications = StrictBooleanField(required=False, allow_null=True, default=None)


class MaintenanceNote(serializers.Serializer):
    body = StrictCharField(min_length=1, validators=[TEXT])
    deliver_notifications = StrictBooleanField(required=False, allow_null=True, default=None)


class Reschedule(serializers.Serializer):
    scheduled_for = AwareDateTimeField()
    scheduled_until = AwareDateTimeField()
    body = StrictCharField(required=False, allow_blank=True, default="", validators=[BLANKABLE_TEXT])
    deliver_notifications = StrictBooleanField(required=False, allow_null=True, default=None)


class SubscriberCreate(serializers.Serializer):
    email = StrictEmailField(required=False)
    endpoint = StrictURLField(required=False, max_length=2000)
    components = ComponentIdList(required=False, default=list)
    skip_confirmation = StrictBooleanField(default=False)
    owner_email = StrictEmailField(required=False, help_text="A webhook's owner, told if its deliveries are paused.")

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
