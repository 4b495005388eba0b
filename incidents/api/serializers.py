"""Input shapes of the v1 write API. Output is the Statuspage-shaped object (v2.py)."""

from django.conf import settings
from django.core.validators import RegexValidator
from django.utils import timezone
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from .. import languages, rules
from ..models import Asset, Component, Incident, Template
from ..publish import documents
from ..services import checks, templates

STATUS_HELP = "One of: " + ", ".join(rules.COMPONENT_STATUSES)
MODES_HELP = "Trading products' modes, one of: " + ", ".join(rules.TRADING_MODES)
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


class TradingModeMap(ComponentStatusMap):
    """`{component_id: trading_mode}`, for trading products."""

    child = serializers.ChoiceField(choices=rules.TRADING_MODES)


class AssetSymbolList(serializers.ListField):
    """Asset symbols (BTC, USDT): a webhook told of their deposits and withdrawals."""

    child = StrictCharField(max_length=20, min_length=1)

    def to_internal_value(self, data):
        symbols = [symbol.upper() for symbol in super().to_internal_value(data)]
        found = Asset.objects.in_bulk(symbols, field_name="symbol")
        unknown = [symbol for symbol in symbols if symbol not in found]
        if unknown:
            raise serializers.ValidationError([f"No asset {symbol[:20]}." for symbol in unknown])
        return [found[symbol] for symbol in symbols]


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


class TranslationsField(serializers.Field):
    """`{"zh-hans": {"name": "…", "body": "…"}, "zh-hant": {…}}`: the same texts in the
    page's other languages. Only those languages and this write's texts are taken (an
    unknown one is a 400 naming it: `{"translations": {"ja": […]}}`, `{"zh-hans.title": […]}`);
    the services check again, with the same paths."""

    limits: dict[str, int | None] = {}

    def to_internal_value(self, data):
        if not isinstance(data, dict):
            raise serializers.ValidationError('An object of languages, e.g. {"zh-hans": {…}}.')
        errors: dict[str, list[str]] = {}
        known = languages.others()
        for code, texts in data.items():
            if code not in known:
                errors[str(code)[:40]] = [f"Not one of this page's other languages ({', '.join(known)})."]
            elif not isinstance(texts, dict):
                errors[code] = ["An object of texts."]
            else:
                for field, text in texts.items():
                    where = f"{code}.{str(field)[:40]}"
                    limit = self.limits.get(field, 0)
                    if limit == 0:
                        errors[where] = [f"Not translated here; one of {', '.join(self.limits)}."]
                    elif not isinstance(text, str):
                        errors[where] = ["Give a string."]
                    elif "\x00" in text:
                        errors[where] = ["The NUL character (\\u0000) is not allowed."]
                    elif limit is not None and len(text) > limit:
                        errors[where] = [f"At most {limit} characters."]
        if errors:
            raise serializers.ValidationError(errors)
        return data

    def to_representation(self, value):
        return value


def translations(**limits: int | None) -> TranslationsField:
    """The `translations` of a write whose texts are `limits` (text -> max length, None
    for none), with its exact schema: the page's other languages, those texts, strings."""
    texts = {
        "type": "object",
        "additionalProperties": False,
        "properties": {
            name: {"type": "string", "pattern": "^[^\\u0000]*$", **({"maxLength": limit} if limit else {})}
            for name, limit in limits.items()
        },
    }
    shape = {
        "type": "object",
        "additionalProperties": False,
        "properties": dict.fromkeys(languages.others(), texts),
        "description": (
            "The same texts in the page's other languages. A language left out keeps what it had; an empty "
            "text removes that language's version (readers then see the default language's, marked as such)."
        ),
        "example": {code: dict.fromkeys(limits, "…") for code in languages.others()[:1]},
    }
    field_class = extend_schema_field(shape)(
        type("Translations" + "".join(n.title() for n in limits), (TranslationsField,), {"limits": limits})
    )
    return field_class(required=False, default=dict)


class TemplateField(serializers.SlugRelatedField):
    """A template's slug (GET /api/v1/templates lists them), of this kind of write."""

    default_error_messages = {
        "does_not_exist": "No {kind} template {value}; GET /api/v1/templates lists them.",
        "invalid": "Give a template's slug.",
    }

    def __init__(self, kind: str, **kwargs):
        self.kind = kind
        kwargs.setdefault("help_text", f"Open from this {kind} template: its fields fill what the request leaves out.")
        super().__init__(slug_field="slug", queryset=Template.objects.filter(kind=kind), required=False, **kwargs)

    def to_internal_value(self, data):
        if not isinstance(data, str):
            self.fail("invalid")
        # Not a slug (a NUL, which PostgreSQL refuses in a query, among others): no such template.
        found = self.get_queryset().filter(slug=data).first() if templates.SLUG.match(data) else None
        if found is None:
            self.fail("does_not_exist", kind=self.kind, value=data[:60].replace("\x00", ""))
        return found


class FromTemplate(serializers.Serializer):
    """A create that may name a `template`: without one, `name` and `body` are required.
    `given` is what the client sent (the template fills the rest)."""

    required_without_template = ("name", "body")

    def validate(self, attrs):
        if attrs.get("template") is None:
            missing = [name for name in self.required_without_template if name not in attrs]
            if missing:
                raise serializers.ValidationError(
                    dict.fromkeys(missing, "This field is required (or give a `template`).")
                )
        return attrs

    def given(self) -> dict:
        sent = self.initial_data if isinstance(self.initial_data, dict) else {}
        return {name: value for name, value in self.validated_data.items() if name in sent and name != "template"}


class IncidentCreate(FromTemplate):
    template = TemplateField(Incident.Kind.INCIDENT)
    name = StrictCharField(max_length=200, min_length=1, validators=[NAME], required=False)
    status = serializers.ChoiceField(choices=rules.INCIDENT_OPEN, default="investigating")
    body = StrictCharField(min_length=1, validators=[TEXT], required=False)
    impact_override = serializers.ChoiceField(choices=rules.IMPACTS, required=False, allow_blank=True, default="")
    components = ComponentStatusMap(required=False, default=dict, help_text=STATUS_HELP)
    started_at = AwareDateTimeField(required=False, allow_null=True, default=None)
    deliver_notifications = StrictBooleanField(default=True)
    translations = translations(name=200, body=None)
    trading_modes = TradingModeMap(required=False, default=None, allow_null=True, help_text=MODES_HELP)


class IncidentEdit(serializers.Serializer):
    name = StrictCharField(max_length=200, required=False, min_length=1, validators=[NAME])
    impact_override = serializers.ChoiceField(choices=rules.IMPACTS, required=False, allow_blank=True)
    translations = translations(name=200)


class UpdateCreate(serializers.Serializer):
    status = serializers.ChoiceField(choices=rules.INCIDENT_UPDATE_STATUSES)
    body = StrictCharField(min_length=1, validators=[TEXT])
    components = ComponentStatusMap(required=False, default=dict, help_text=STATUS_HELP)
    display_at = AwareDateTimeField(required=False, allow_null=True, default=None)
    deliver_notifications = StrictBooleanField(default=True)
    confirm_down_after_resolve = StrictBooleanField(default=False, help_text=CONFIRM_HELP)
    translations = translations(body=None)
    trading_modes = TradingModeMap(required=False, default=None, allow_null=True, help_text=MODES_HELP)


class Resolve(serializers.Serializer):
    body = StrictCharField(min_length=1, validators=[TEXT])
    components = ComponentStatusMap(
        required=False, default=None, help_text="Omit to return every affected component to operational."
    )
    display_at = AwareDateTimeField(required=False, allow_null=True, default=None)
    deliver_notifications = StrictBooleanField(default=True)
    confirm_down_after_resolve = StrictBooleanField(default=False, help_text=CONFIRM_HELP)
    translations = translations(body=None)
    trading_modes = TradingModeMap(required=False, default=None, allow_null=True, help_text=MODES_HELP)


class Postmortem(serializers.Serializer):
    body = StrictCharField(allow_blank=True, validators=[BLANKABLE_TEXT])
    publish = StrictBooleanField(default=False)
    translations = translations(body=None)


class ComponentStatus(serializers.Serializer):
    status = serializers.ChoiceField(choices=rules.COMPONENT_STATUSES)
    trading_mode = serializers.ChoiceField(
        choices=rules.TRADING_MODES,
        help_text="A trading product's mode (only components marked as trading products have one).",
    )


class MaintenanceCreate(FromTemplate):
    required_without_template = ("name", "body", "scheduled_for", "scheduled_until")

    template = TemplateField(Incident.Kind.MAINTENANCE)
    name = StrictCharField(max_length=200, min_length=1, validators=[NAME], required=False)
    body = StrictCharField(min_length=1, validators=[TEXT], required=False)
    scheduled_for = AwareDateTimeField(
        required=False, help_text="Required, except from a template of an emergency (it starts now)."
    )
    scheduled_until = AwareDateTimeField(required=False, help_text="From a template: its start + its duration.")
    components = ComponentIdList(required=False, default=list)
    auto_start = StrictBooleanField(default=False)
    auto_complete = StrictBooleanField(default=False)
    components_to_maintenance = StrictBooleanField(default=True)
    notify_at_transitions = StrictBooleanField(default=True)
    remind_before_minutes = StrictIntegerField(min_value=0, max_value=checks.MAX_MINUTES, allow_null=True, default=60)
    unscheduled = StrictBooleanField(default=False)
    deliver_notifications = StrictBooleanField(default=True)
    translations = translations(name=200, body=None)
    pre_open_at = AwareDateTimeField(
        required=False, allow_null=True, default=None, help_text="Planned start of a pre-open phase, inside the window."
    )
    auto_pre_open = StrictBooleanField(default=False, help_text="Enter the pre-open phase by itself at pre_open_at.")


class MaintenanceEdit(serializers.Serializer):
    name = StrictCharField(max_length=200, required=False, min_length=1, validators=[NAME])
    components = ComponentIdList(required=False)
    pre_open_at = AwareDateTimeField(required=False, allow_null=True)
    auto_pre_open = StrictBooleanField(required=False)
    auto_start = StrictBooleanField(required=False)
    auto_complete = StrictBooleanField(required=False)
    components_to_maintenance = StrictBooleanField(required=False)
    notify_at_transitions = StrictBooleanField(required=False)
    remind_before_minutes = StrictIntegerField(
        min_value=0, max_value=checks.MAX_MINUTES, allow_null=True, required=False
    )
    unscheduled = StrictBooleanField(required=False)
    translations = translations(name=200)


class MaintenanceTransition(serializers.Serializer):
    body = StrictCharField(required=False, allow_blank=True, default="", validators=[BLANKABLE_TEXT])
    deliver_notifications = StrictBooleanField(required=False, allow_null=True, default=None)
    translations = translations(body=None)


class MaintenanceNote(serializers.Serializer):
    body = StrictCharField(min_length=1, validators=[TEXT])
    deliver_notifications = StrictBooleanField(required=False, allow_null=True, default=None)
    translations = translations(body=None)


class Reschedule(serializers.Serializer):
    scheduled_for = AwareDateTimeField()
    scheduled_until = AwareDateTimeField()
    body = StrictCharField(required=False, allow_blank=True, default="", validators=[BLANKABLE_TEXT])
    deliver_notifications = StrictBooleanField(required=False, allow_null=True, default=None)
    translations = translations(body=None)


class SubscriberCreate(serializers.Serializer):
    email = StrictEmailField(required=False)
    endpoint = StrictURLField(required=False, max_length=2000)
    components = ComponentIdList(required=False, default=list)
    assets = AssetSymbolList(required=False, default=list)
    skip_confirmation = StrictBooleanField(default=False)
    owner_email = StrictEmailField(required=False, help_text="A webhook's owner, told if its deliveries are paused.")
    language = serializers.ChoiceField(
        choices=[code for code, _ in settings.LANGUAGES],
        default=settings.LANGUAGE_CODE,
        help_text="The language of an email subscriber's mail (a webhook's body is in the default language, "
        "with `translations` beside it).",
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
        "language": subscriber.language,
        "components": [c.public_id for c in subscriber.components.all()],
        "assets": [a.symbol for a in subscriber.assets.all()],
        "created_at": subscriber.created_at.isoformat(timespec="milliseconds"),
    }
    if with_secret and subscriber.webhook_secret:
        data["secret"] = subscriber.webhook_secret
    return data


# --- deposits and withdrawals ---------------------------------------------------------------


class AssetCreate(serializers.Serializer):
    symbol = StrictCharField(max_length=20, min_length=1, validators=[NAME])
    name = StrictCharField(max_length=80, min_length=1, validators=[NAME])
    position = StrictIntegerField(min_value=0, max_value=10_000, default=0)
    translations = translations(name=80)


class NetworkCreate(serializers.Serializer):
    code = StrictCharField(max_length=20, min_length=1, validators=[NAME])
    name = StrictCharField(max_length=80, required=False, validators=[NAME])
    position = StrictIntegerField(min_value=0, max_value=10_000, default=0)
    translations = translations(name=80)


class FundingSet(serializers.Serializer):
    """Which networks (every filter given must match: `assets` USDT and `networks` ERC20 is
    USDT on ERC20; `networks` ERC20 alone is every asset's ERC20), and what to set."""

    assets = serializers.ListField(
        child=StrictCharField(max_length=20, min_length=1), required=False, help_text="Asset symbols."
    )
    networks = serializers.ListField(
        child=StrictCharField(max_length=20, min_length=1), required=False, help_text="Network codes."
    )
    ids = serializers.ListField(
        child=StrictCharField(max_length=12, min_length=1), required=False, help_text="Network ids."
    )
    deposit = serializers.ChoiceField(choices=rules.FUNDING_STATUSES, required=False)
    withdrawal = serializers.ChoiceField(choices=rules.FUNDING_STATUSES, required=False)
    expected_at = AwareDateTimeField(required=False, allow_null=True, help_text="When it is expected back.")
    note = StrictCharField(max_length=300, required=False, allow_blank=True, validators=[BLANKABLE_TEXT])
    translations = translations(note=300)

    def validate(self, data):
        if not ({"assets", "networks", "ids"} & data.keys()):
            raise serializers.ValidationError({"networks": "Choose networks: give assets, networks or ids."})
        if not ({"deposit", "withdrawal", "expected_at", "note"} & data.keys()):
            raise serializers.ValidationError(
                {"withdrawal": "Give something to set: deposit, withdrawal, expected_at or note."}
            )
        return data
