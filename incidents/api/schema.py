"""What the API answers, for the OpenAPI schema (`/api/schema/`, `/api/docs/`).

The answers themselves are made by `incidents.wire` (and served as prepared documents);
these serializers only describe them, so they are never used to render anything.
`tests/api/test_schema.py` holds them to the truth: every real answer of a documented
read, and every example, must validate against the shape described here.
"""

from django.conf import settings
from drf_spectacular.utils import OpenApiExample, OpenApiResponse, PolymorphicProxySerializer
from rest_framework import serializers

from .. import models, rules
from ..wire import okx
from ..wire import statuspage as v2
from . import examples as ex

# Value sets named once for the schema's enums (`ENUM_NAME_OVERRIDES` in settings points here).
# What `status` carries: Statuspage's own statuses (the pre-open phase is "in_progress"
# there; `phase` has the true one).
WIRE_MAINTENANCE_STATUSES = tuple(s for s in rules.MAINTENANCE_STATUSES if s not in v2.STATUSPAGE_STATUS)
UPDATE_STATUSES = rules.INCIDENT_STATUSES + WIRE_MAINTENANCE_STATUSES
PHASES = rules.INCIDENT_STATUSES + rules.MAINTENANCE_STATUSES
IMPACTS = (*rules.IMPACTS, "maintenance")

TIME = "ISO 8601 with milliseconds, in the page's time zone (e.g. `2021-01-29T17:37:00.000+08:00`)."


def _time(help_text: str = "", **kwargs):
    return serializers.DateTimeField(help_text=f"{help_text} {TIME}".strip(), **kwargs)


# --- Statuspage v2 objects (shared/reference/statuspage-v2.md) ---------------------------------


class Page(serializers.Serializer):
    id = serializers.CharField()
    name = serializers.CharField()
    url = serializers.URLField()
    time_zone = serializers.CharField(help_text="IANA name, e.g. `Asia/Hong_Kong`.")
    updated_at = _time(allow_null=True)


class PageStatus(serializers.Serializer):
    indicator = serializers.ChoiceField(
        choices=list(rules.INDICATOR_DESCRIPTION), help_text="The same values as an impact."
    )
    description = serializers.CharField(
        help_text="e.g. " + ", ".join(f"`{d}`" for d in rules.INDICATOR_DESCRIPTION.values())
    )


class Component(serializers.Serializer):
    """A component, or a group (`group: true`, its children's ids in `components`)."""

    id = serializers.CharField()
    name = serializers.CharField()
    status = serializers.ChoiceField(choices=rules.COMPONENT_STATUSES)
    created_at = _time()
    updated_at = _time()
    position = serializers.IntegerField()
    description = serializers.CharField(allow_null=True)
    showcase = serializers.BooleanField(help_text="Whether the page shows its uptime bars.")
    start_date = serializers.DateField(allow_null=True)
    group_id = serializers.CharField(allow_null=True)
    page_id = serializers.CharField()
    group = serializers.BooleanField()
    only_show_if_degraded = serializers.BooleanField()
    okx_service_type = serializers.ChoiceField(
        choices=models.OkxServiceType.choices, required=False, help_text="OKX v5 `serviceType` (components only)."
    )
    trading_mode = serializers.ChoiceField(
        choices=rules.TRADING_MODES,
        allow_null=True,
        required=False,
        help_text="Our extension: a trading product's mode; null for components that do not trade (components only).",
    )
    components = serializers.ListField(
        child=serializers.CharField(), required=False, help_text="A group's components, by id (groups only)."
    )


class AffectedComponent(serializers.Serializer):
    code = serializers.CharField(help_text="The component's id.")
    name = serializers.CharField()
    old_status = serializers.ChoiceField(choices=rules.COMPONENT_STATUSES)
    new_status = serializers.ChoiceField(choices=rules.COMPONENT_STATUSES)


class AffectedTradingMode(serializers.Serializer):
    code = serializers.CharField(help_text="The component's id.")
    name = serializers.CharField()
    old_mode = serializers.ChoiceField(choices=rules.TRADING_MODES)
    new_mode = serializers.ChoiceField(choices=rules.TRADING_MODES)


class IncidentUpdate(serializers.Serializer):
    id = serializers.CharField()
    status = serializers.ChoiceField(choices=UPDATE_STATUSES)
    body = serializers.CharField(help_text="Markdown.")
    incident_id = serializers.CharField()
    created_at = _time()
    updated_at = _time()
    display_at = _time(help_text="What readers see as the update's time; may be backdated.")
    affected_components = AffectedComponent(many=True, allow_null=True)
    deliver_notifications = serializers.BooleanField()
    custom_tweet = serializers.CharField(allow_null=True)
    tweet_id = serializers.CharField(allow_null=True)
    phase = serializers.ChoiceField(
        choices=PHASES, help_text="Our extension: the true status, where `status` is Statuspage's (pre-open)."
    )
    affected_trading_modes = AffectedTradingMode(
        many=True, allow_null=True, help_text="Our extension: the trading modes the update set."
    )


class Durations(serializers.Serializer):
    time_to_identify = serializers.IntegerField(allow_null=True, help_text="Seconds from start to identified.")
    time_to_mitigate = serializers.IntegerField(allow_null=True, help_text="Seconds from start to monitoring.")
    time_to_resolve = serializers.IntegerField(allow_null=True, help_text="Seconds from start to resolved.")


class Incident(serializers.Serializer):
    """An incident: updates newest first, `components` the affected ones."""

    id = serializers.CharField()
    name = serializers.CharField()
    status = serializers.ChoiceField(choices=rules.INCIDENT_STATUSES)
    created_at = _time()
    updated_at = _time()
    monitoring_at = _time(allow_null=True)
    resolved_at = _time(allow_null=True)
    impact = serializers.ChoiceField(choices=IMPACTS)
    shortlink = serializers.URLField()
    started_at = _time()
    page_id = serializers.CharField()
    incident_updates = IncidentUpdate(many=True)
    components = Component(many=True)
    kind = serializers.ChoiceField(choices=["incident"])
    identified_at = _time(allow_null=True)
    durations = Durations()
    postmortem_body = serializers.CharField(allow_null=True, help_text="Markdown, once published.")
    postmortem_published_at = _time(allow_null=True)


class ScheduledMaintenance(Incident):
    """A scheduled maintenance: the incident object plus its window and automation."""

    status = serializers.ChoiceField(choices=WIRE_MAINTENANCE_STATUSES)
    kind = serializers.ChoiceField(choices=["maintenance"])
    scheduled_for = _time()
    scheduled_until = _time()
    scheduled_remind_prior = serializers.BooleanField()
    scheduled_auto_in_progress = serializers.BooleanField()
    scheduled_auto_completed = serializers.BooleanField()
    reschedule_note = serializers.CharField(allow_null=True, help_text="The last reschedule (OKX `scheDesc`).")
    phase = serializers.ChoiceField(
        choices=rules.MAINTENANCE_STATUSES,
        help_text="Our extension: the true status; `pre_open` shows in `status` as `in_progress`.",
    )
    pre_open_at = _time(allow_null=True, help_text="Start of the pre-open phase: planned, then as it happened.")
    auto_pre_open = serializers.BooleanField(help_text="Enters the pre-open phase by itself at `pre_open_at`.")


def incident_or_maintenance():
    return PolymorphicProxySerializer(
        component_name="IncidentOrMaintenance",
        serializers={"incident": Incident, "maintenance": ScheduledMaintenance},
        resource_type_field_name="kind",
    )


# --- the Statuspage v2 documents ----------------------------------------------------------------


class Summary(serializers.Serializer):
    page = Page()
    components = Component(many=True)
    incidents = Incident(many=True, help_text="Unresolved incidents.")
    scheduled_maintenances = ScheduledMaintenance(many=True, help_text="Upcoming and in progress.")
    status = PageStatus()


class StatusDocument(serializers.Serializer):
    page = Page()
    status = PageStatus()


class ComponentsDocument(serializers.Serializer):
    page = Page()
    components = Component(many=True)


class FundingNetwork(serializers.Serializer):
    id = serializers.CharField()
    asset = serializers.CharField(help_text="The asset's symbol (BTC, USDT).")
    network = serializers.CharField(help_text="The network's code (ERC20, TRC20).")
    name = serializers.CharField()
    deposit = serializers.ChoiceField(choices=rules.FUNDING_STATUSES)
    withdrawal = serializers.ChoiceField(choices=rules.FUNDING_STATUSES)
    expected_at = _time(allow_null=True, help_text="When it is expected back to normal.")
    note = serializers.CharField(allow_null=True)
    updated_at = _time()


class FundingIssue(FundingNetwork):
    asset_name = serializers.CharField()


class FundingAsset(serializers.Serializer):
    id = serializers.CharField()
    symbol = serializers.CharField()
    name = serializers.CharField()
    networks = FundingNetwork(many=True)


class FundingDocument(serializers.Serializer):
    page = Page()
    assets = FundingAsset(many=True)


class FundingIssuesDocument(serializers.Serializer):
    page = Page()
    networks = FundingIssue(many=True, help_text="Networks not enabled both ways, the worst first.")


class MetricHead(serializers.Serializer):
    id = serializers.CharField()
    name = serializers.CharField()
    unit = serializers.CharField(help_text="Shown after each value (ms, %, …); may be empty.")
    decimals = serializers.IntegerField()
    component_id = serializers.CharField(allow_null=True, help_text="Shown under this component; null: the page's.")
    last_value = serializers.FloatField(allow_null=True)
    last_sampled_at = serializers.DateTimeField(allow_null=True)


class MetricsDocument(serializers.Serializer):
    page = Page()
    metrics = MetricHead(many=True)


class MetricSummary(serializers.Serializer):
    last = serializers.FloatField(allow_null=True)
    mean = serializers.FloatField(allow_null=True)
    min = serializers.FloatField(allow_null=True)
    max = serializers.FloatField(allow_null=True)
    count = serializers.IntegerField(help_text="Buckets with data.")


class MetricGap(serializers.Serializer):
    start = serializers.DateTimeField()
    end = serializers.DateTimeField()


class MetricValue(serializers.Serializer):
    timestamp = serializers.IntegerField(help_text="The bucket's start, Unix seconds.")
    value = serializers.FloatField(allow_null=True, help_text="Null: no sample in this bucket (a gap).")


class MetricPeriod(serializers.Serializer):
    interval_seconds = serializers.IntegerField()
    start = serializers.DateTimeField()
    end = serializers.DateTimeField()
    summary = MetricSummary()
    gaps = MetricGap(many=True)
    data = MetricValue(many=True)


MetricPeriods = type(
    "MetricPeriods",
    (serializers.Serializer,),
    {key: MetricPeriod() for key in ("hour", "day", "week", "month")},
)


class MetricDocument(serializers.Serializer):
    metric = MetricHead()
    first_sample_at = serializers.DateTimeField(allow_null=True)
    periods = MetricPeriods()


class IncidentsDocument(serializers.Serializer):
    page = Page()
    incidents = Incident(many=True)


class MaintenancesDocument(serializers.Serializer):
    page = Page()
    scheduled_maintenances = ScheduledMaintenance(many=True)


class IncidentDocument(serializers.Serializer):
    page = Page()
    incident = incident_or_maintenance()


class HistoryPage(serializers.Serializer):
    page = Page()
    incidents = serializers.ListField(child=incident_or_maintenance())
    next_cursor = serializers.CharField(
        allow_null=True, help_text="Pass as `cursor` for the next page; null at the end."
    )


UptimeDay = type(
    "UptimeDay",
    (serializers.Serializer,),
    {
        "date": serializers.DateField(),
        "uptime_percentage": serializers.FloatField(allow_null=True, help_text="Null for a day not observed."),
        "observed_seconds": serializers.IntegerField(),
        **{f"{status}_seconds": serializers.IntegerField() for status in rules.COMPONENT_STATUSES[1:]},
    },
)


class Uptime(serializers.Serializer):
    id = serializers.CharField()
    name = serializers.CharField()
    range_start = serializers.DateField()
    range_end = serializers.DateField()
    uptime_percentage = serializers.FloatField(allow_null=True)
    weights = serializers.DictField(
        child=serializers.FloatField(), help_text="The share of each status's time counted as downtime."
    )
    days = UptimeDay(many=True)


class Event(serializers.Serializer):
    seq = serializers.IntegerField()
    type = serializers.CharField(help_text="`incident.created`, `incident.updated`, `component.status_changed`, …")
    created_at = _time()
    data = serializers.DictField(
        help_text="The Statuspage webhook shape: `{incident}` or `{component, component_update}`."
    )


class EventsPage(serializers.Serializer):
    events = Event(many=True)
    last_seq = serializers.IntegerField()
    reset = serializers.BooleanField(help_text="`since` is older than the events kept: reload summary.json.")
    has_more = serializers.BooleanField()


# --- OKX v5 (shared/reference/okx-v5-status.md) -----------------------------------------------


class OkxRow(serializers.Serializer):
    """One event; every value is a string, as OKX sends it."""

    id = serializers.CharField(help_text="Stable id (an addition; OKX clients ignore it).")
    title = serializers.CharField()
    state = serializers.ChoiceField(choices=okx.STATES)
    begin = serializers.CharField(help_text="Unix milliseconds.")
    end = serializers.CharField(help_text="Unix milliseconds: expected end, the actual end once completed.")
    preOpenBegin = serializers.CharField(help_text='Unix milliseconds, `""` without a pre-open phase.')
    href = serializers.CharField()
    serviceType = serializers.ChoiceField(choices=models.OkxServiceType.choices)
    system = serializers.CharField()
    scheDesc = serializers.CharField(help_text='The last reschedule, `""` otherwise.')
    maintType = serializers.ChoiceField(
        choices=[okx.MAINT_SCHEDULED, okx.MAINT_UNSCHEDULED, okx.MAINT_DISRUPTION],
        help_text="1 scheduled maintenance, 2 unscheduled maintenance, 3 system disruption.",
    )
    env = serializers.ChoiceField(choices=["1", "2"], help_text="1 production, 2 demo trading.")


class OkxEnvelope(serializers.Serializer):
    code = serializers.CharField(help_text='`"0"`, or an OKX error code such as `"51000"`.')
    msg = serializers.CharField(allow_blank=True)
    data = OkxRow(many=True)


# --- v1 -------------------------------------------------------------------------------------------


class Subscriber(serializers.Serializer):
    id = serializers.CharField()
    kind = serializers.ChoiceField(choices=models.Subscriber.Kind.values)
    email = serializers.EmailField(allow_null=True)
    endpoint = serializers.URLField(allow_null=True)
    state = serializers.ChoiceField(choices=models.Subscriber.State.values)
    owner_email = serializers.EmailField(allow_null=True)
    language = serializers.ChoiceField(
        choices=[code for code, _ in settings.LANGUAGES], help_text="The language of its mail."
    )
    components = serializers.ListField(child=serializers.CharField(), help_text="Empty, and no assets: the whole page.")
    assets = serializers.ListField(
        child=serializers.CharField(), help_text="Assets whose deposits and withdrawals it is told of."
    )
    created_at = serializers.DateTimeField()
    secret = serializers.CharField(
        required=False, help_text="A webhook's signing secret (whsec_…), only in the answer that creates it."
    )


class Detail(serializers.Serializer):
    detail = serializers.CharField()


# --- the responses, with examples -----------------------------------------------------------------


def ok(shape, example, description="", *, name="Example", code="200"):
    return OpenApiResponse(
        shape, description=description, examples=[OpenApiExample(name, value=example, status_codes=[code])]
    )


FIELD_ERRORS = {
    "type": "object",
    "description": (
        "Messages per invalid field (per key, for a field that is itself a map); a body that is not JSON "
        'at all is `{"detail": message}`.'
    ),
    "additionalProperties": {
        "anyOf": [
            {"type": "string"},
            {"type": "array", "items": {"type": "string"}},
            {
                "type": "object",
                "additionalProperties": {"anyOf": [{"type": "string"}, {"type": "array", "items": {"type": "string"}}]},
            },
        ]
    },
}
# The public reads name the field with one message.
READ_ERRORS = {"type": "object", "additionalProperties": {"type": "string"}, "description": "A message per field."}


def _error(shape, description, example, code):
    return OpenApiResponse(
        shape, description=description, examples=[OpenApiExample(description, value=example, status_codes=[code])]
    )


ERRORS = {
    400: _error(FIELD_ERRORS, "A message per invalid field", ex.FIELD_ERRORS, "400"),
    401: _error(Detail, "No valid token", ex.NO_TOKEN, "401"),
    403: _error(Detail, "A read token on a write", ex.READ_TOKEN, "403"),
    404: _error(Detail, "Unknown id", ex.NOT_FOUND, "404"),
    429: _error(Detail, "Rate limited; see Retry-After", ex.THROTTLED, "429"),
}
# The writes that the object's state may refuse (a resolved incident, a completed
# maintenance): a valid request at the wrong moment is a 409, with a message per field.
STATE_ERRORS = {
    **ERRORS,
    409: _error(FIELD_ERRORS, "The object's current state refuses this change", ex.STATE_CONFLICT, "409"),
}

INCIDENT = ok(Incident, ex.INCIDENT, "The incident, as in the Statuspage v2 reads.")
INCIDENT_CREATED = ok(Incident, ex.INCIDENT, "The incident, as in the Statuspage v2 reads.", code="201")
MAINTENANCE = ok(ScheduledMaintenance, ex.MAINTENANCE, "The maintenance, as in the Statuspage v2 reads.")
MAINTENANCE_CREATED = ok(
    ScheduledMaintenance, ex.MAINTENANCE, "The maintenance, as in the Statuspage v2 reads.", code="201"
)
COMPONENT = ok(Component, ex.COMPONENT, "The component, as in the Statuspage v2 reads.")
# A list's example is one element: drf-spectacular makes it the list.
COMPONENTS = ok(Component(many=True), ex.COMPONENT, "Components and their groups, in page order.")
FUNDING_ASSET = ok(FundingAsset, {**ex.FUNDING["assets"][0], "networks": []}, code="201")
FUNDING_NETWORK = ok(FundingNetwork, ex.USDT_ERC20, code="201")


class FundingNetworks(serializers.Serializer):
    networks = FundingNetwork(many=True)


FUNDING_NETWORKS = ok(FundingNetworks, {"networks": [ex.USDT_ERC20]})


class TemplateRow(serializers.Serializer):
    id = serializers.CharField(help_text="The component's id.")
    name = serializers.CharField()
    status = serializers.ChoiceField(choices=rules.COMPONENT_STATUSES, allow_null=True)
    trading_mode = serializers.ChoiceField(choices=rules.TRADING_MODES, allow_null=True)


class Template(serializers.Serializer):
    slug = serializers.CharField(help_text="What `template` names in POST /api/v1/incidents or /maintenances.")
    kind = serializers.ChoiceField(choices=["incident", "maintenance"])
    title = serializers.CharField()
    body = serializers.CharField()
    status = serializers.ChoiceField(choices=rules.INCIDENT_OPEN)
    impact_override = serializers.CharField(allow_blank=True)
    duration_minutes = serializers.IntegerField()
    unscheduled = serializers.BooleanField()
    components = TemplateRow(many=True)
    translations = serializers.DictField(child=serializers.DictField(child=serializers.CharField()))


TEMPLATES = ok(Template(many=True), ex.TEMPLATE, "Every template, incidents first.")


class AlertGroup(serializers.Serializer):
    group_key = serializers.CharField(help_text="Alertmanager's groupKey.")
    state = serializers.ChoiceField(choices=["draft", "published", "dismissed", "cleared"])
    name = serializers.CharField()
    proposed = serializers.DictField(
        child=serializers.ChoiceField(choices=rules.COMPONENT_STATUSES), help_text="{component id: status}"
    )
    incident = serializers.CharField(allow_null=True, help_text="The published incident's id.")
    recovery_proposed = serializers.BooleanField()


ALERT_GROUP = ok(AlertGroup, ex.ALERT_GROUP, "The draft (or incident) the group's alerts propose.")
# Alertmanager's own webhook body, version 4 (prometheus.io/docs/alerting/latest/configuration/#webhook_config).
ALERTMANAGER_WEBHOOK = {
    "type": "object",
    "required": ["version", "groupKey", "alerts"],
    "properties": {
        "version": {"type": "string", "enum": ["4"]},
        "groupKey": {"type": "string"},
        "truncatedAlerts": {"type": "integer"},
        "status": {"type": "string", "enum": ["firing", "resolved"]},
        "receiver": {"type": "string"},
        "groupLabels": {"type": "object", "additionalProperties": {"type": "string"}},
        "commonLabels": {"type": "object", "additionalProperties": {"type": "string"}},
        "commonAnnotations": {"type": "object", "additionalProperties": {"type": "string"}},
        "externalURL": {"type": "string"},
        "alerts": {
            "type": "array",
            "minItems": 1,
            "items": {
                "type": "object",
                "required": ["status", "fingerprint", "startsAt"],
                "properties": {
                    "status": {"type": "string", "enum": ["firing", "resolved"]},
                    "labels": {"type": "object", "additionalProperties": {"type": "string"}},
                    "annotations": {"type": "object", "additionalProperties": {"type": "string"}},
                    "startsAt": {"type": "string", "format": "date-time"},
                    "endsAt": {"type": "string"},
                    "generatorURL": {"type": "string"},
                    "fingerprint": {"type": "string"},
                },
            },
        },
    },
}
SUBSCRIBER = ok(Subscriber, ex.SUBSCRIBER)
SUBSCRIBERS = ok(Subscriber(many=True), ex.WEBHOOK_SUBSCRIBER)
SUBSCRIBER_CREATED = ok(
    Subscriber, ex.WEBHOOK_SUBSCRIBER_CREATED, "A webhook's `secret` is shown only here.", code="201"
)

# The Statuspage v2 documents by name (`incidents.publish.documents.STATUSPAGE_PATHS`): summary, shape, example.
STATUSPAGE_READS = {
    "summary": (
        "Everything at once: status, components, unresolved incidents, upcoming and active maintenance",
        Summary,
        ex.SUMMARY,
    ),
    "status": ("The page's status indicator and description", StatusDocument, ex.STATUS),
    "components": ("Every component and group, in page order", ComponentsDocument, ex.COMPONENTS),
    "incidents": ("The 50 most recent incidents, any status", IncidentsDocument, ex.INCIDENTS),
    "incidents/unresolved": (
        "Unresolved incidents (investigating, identified, monitoring)",
        IncidentsDocument,
        ex.INCIDENTS_UNRESOLVED,
    ),
    "scheduled-maintenances": (
        "The 50 most recent scheduled maintenances, any status",
        MaintenancesDocument,
        ex.MAINTENANCES,
    ),
    "scheduled-maintenances/upcoming": (
        "Scheduled maintenances that have not started",
        MaintenancesDocument,
        ex.MAINTENANCES,
    ),
    "scheduled-maintenances/active": (
        "Maintenances in progress or verifying",
        MaintenancesDocument,
        ex.MAINTENANCES_ACTIVE,
    ),
    "funding": (
        "Our extension: deposits and withdrawals of every asset, by network",
        FundingDocument,
        ex.FUNDING,
    ),
    "metrics": (
        "Our extension: the public metrics and their latest values (each one's charts: /api/v2/metrics/<id>.json)",
        MetricsDocument,
        ex.METRICS,
    ),
    "funding/issues": (
        "Our extension: the networks whose deposits or withdrawals are not enabled, the worst first",
        FundingIssuesDocument,
        ex.FUNDING_ISSUES,
    ),
}
