"""The v1 write API for ops automation. Every write calls the same service as the admin.

Authentication: `Authorization: Bearer <token>` (see auth.py). Errors: 400 with a
message per field, 401 without a valid token, 403 for a read token on a write, 404 for an
unknown id, 429 with Retry-After past the rate limit.
"""

from django.core.exceptions import ValidationError as DjangoValidationError
from django.shortcuts import get_object_or_404
from django.utils import translation
from drf_spectacular.utils import OpenApiExample, extend_schema
from rest_framework import status as http
from rest_framework.exceptions import APIException, NotFound, ValidationError
from rest_framework.response import Response
from rest_framework.views import APIView, exception_handler

from .. import languages, rules, selectors, services
from ..models import Asset, Component, Incident, Network, Subscriber, Template
from ..wire import statuspage as v2
from . import examples as ex
from . import schema
from . import serializers as s
from .auth import BearerTokenAuthentication, IntegrationScope, TokenScope, actor_of, integration_actor
from .throttling import ReadRateThrottle, WriteRateThrottle


class StateConflict(APIException):
    status_code = 409
    default_code = "conflict"


def api_exception_handler(exc, context):
    """DRF's handler, plus the services' Django ValidationError as a 400 per field, and
    their Conflict (the object's state refuses a valid change) as a 409, same shape."""
    if isinstance(exc, services.Conflict):
        exc = StateConflict(exc.message_dict if hasattr(exc, "error_dict") else {"non_field_errors": exc.messages})
    elif isinstance(exc, DjangoValidationError):
        detail = exc.message_dict if hasattr(exc, "error_dict") else {"non_field_errors": exc.messages}
        exc = ValidationError(detail)
    return exception_handler(exc, context)


ERRORS = schema.ERRORS
STATE_ERRORS = schema.STATE_ERRORS


# What each method does to a view's model, as Django names the permission for it.
METHOD_ACTIONS = {"GET": "view", "HEAD": "view", "OPTIONS": "view", "POST": "add", "PUT": "change", "PATCH": "change"}


class OpsView(APIView):
    authentication_classes = [BearerTokenAuthentication]
    permission_classes = [TokenScope]
    throttle_classes = [WriteRateThrottle, ReadRateThrottle]
    # The model the view acts on, and actions other than METHOD_ACTIONS' (e.g. a POST
    # that changes): together, the user permission a token's request needs (TokenScope).
    model = ""
    actions: dict[str, str] = {}

    def permission_for(self, method: str) -> str | None:
        action = self.actions.get(method) or METHOD_ACTIONS.get(method, "change")
        return f"{action}_{self.model}" if self.model else None

    def valid(self, serializer_class, partial=False):
        serializer = serializer_class(data=self.request.data, partial=partial)
        serializer.is_valid(raise_exception=True)
        return serializer.validated_data

    def create(self, serializer_class, service) -> Incident:
        """An incident or maintenance: from its `template` (what was sent fills in over
        the template's fields), else from the request alone."""
        serializer = serializer_class(data=self.request.data)
        serializer.is_valid(raise_exception=True)
        data = dict(serializer.validated_data)
        template = data.pop("template", None)
        if template is not None:
            return services.open_from_template(actor=self.actor, template=template, **serializer.given())
        return service(actor=self.actor, **data)

    @property
    def actor(self):
        return actor_of(self.request)


def _incident(public_id: str, kind: str) -> Incident:
    return get_object_or_404(Incident, public_id=public_id, kind=kind)


def _incident_out(incident: Incident, code=http.HTTP_200_OK) -> Response:
    return Response(v2.incident_json(selectors.incident_detail(incident.public_id)), status=code)


# --- incidents ---------------------------------------------------------------------------


class IncidentList(OpsView):
    model = "incident"

    @extend_schema(
        summary="Open an incident",
        request=s.IncidentCreate,
        responses={201: schema.INCIDENT_CREATED, **STATE_ERRORS},
        examples=[
            OpenApiExample(
                "API errors",
                value={
                    "name": "API requests failing with 30012",
                    "status": "investigating",
                    "body": 'API calls fail with `30012` "Invalid Authority". We are investigating.',
                    "components": {"<component id>": "major_outage"},
                    "deliver_notifications": True,
                },
                request_only=True,
            )
        ],
    )
    def post(self, request):
        return _incident_out(self.create(s.IncidentCreate, services.incident_open), http.HTTP_201_CREATED)


class IncidentDetail(OpsView):
    model = "incident"

    @extend_schema(summary="Read an incident", responses={200: schema.INCIDENT, **ERRORS})
    def get(self, request, public_id):
        return _incident_out(_incident(public_id, Incident.Kind.INCIDENT))

    @extend_schema(
        summary="Rename an incident or override its impact",
        request=s.IncidentEdit,
        responses={200: schema.INCIDENT, **ERRORS},
    )
    def patch(self, request, public_id):
        incident = _incident(public_id, Incident.Kind.INCIDENT)
        data = self.valid(s.IncidentEdit, partial=True)
        services.incident_edit(incident=incident, actor=self.actor, **data)
        return _incident_out(incident)


class IncidentUpdates(OpsView):
    model = "incidentupdate"

    @extend_schema(
        summary="Post a timeline update",
        request=s.UpdateCreate,
        responses={201: schema.INCIDENT_CREATED, **STATE_ERRORS},
        examples=[
            OpenApiExample(
                "Cause identified",
                value={
                    "status": "identified",
                    "body": "Traffic exceeded the cache network's bandwidth; internal calls time out.",
                    "components": {"<component id>": "partial_outage"},
                },
                request_only=True,
            )
        ],
    )
    def post(self, request, public_id):
        incident = _incident(public_id, Incident.Kind.INCIDENT)
        data = self.valid(s.UpdateCreate)
        services.incident_post_update(incident=incident, actor=self.actor, **data)
        return _incident_out(incident, http.HTTP_201_CREATED)


class IncidentResolve(OpsView):
    model = "incident"
    actions = {"POST": "change"}

    @extend_schema(
        summary="Resolve an incident",
        request=s.Resolve,
        responses={200: schema.INCIDENT, **STATE_ERRORS},
        examples=[OpenApiExample("Resolved", value={"body": "All services are restored."}, request_only=True)],
    )
    def post(self, request, public_id):
        incident = _incident(public_id, Incident.Kind.INCIDENT)
        data = self.valid(s.Resolve)
        services.incident_resolve(incident=incident, actor=self.actor, **data)
        return _incident_out(incident)


class IncidentPostmortem(OpsView):
    model = "incident"

    @extend_schema(
        summary="Save or publish the postmortem",
        request=s.Postmortem,
        responses={200: schema.INCIDENT, **STATE_ERRORS},
        examples=[OpenApiExample("Publish", value={"body": "## Root cause\n…", "publish": True}, request_only=True)],
    )
    def put(self, request, public_id):
        incident = _incident(public_id, Incident.Kind.INCIDENT)
        data = self.valid(s.Postmortem)
        services.postmortem_save(incident=incident, actor=self.actor, **data)
        return _incident_out(incident)


# --- templates ---------------------------------------------------------------------------


def _template_json(template: Template) -> dict:
    # Its texts in the other languages, as opening from it reads them ("name" is its title).
    _, found = services.templates.template_texts(template)
    translations = {
        code: {("title" if key == "name" else key): text for key, text in texts.items()}
        for code, texts in found.items()
    }
    return {
        "slug": template.slug,
        "kind": template.kind,
        "title": template.title,
        "body": template.body,
        "status": template.status,
        "impact_override": template.impact_override,
        "duration_minutes": template.duration_minutes,
        "unscheduled": template.unscheduled,
        "components": [
            {
                "id": row.component.public_id,
                "name": row.component.name,
                "status": row.status or None,
                "trading_mode": row.trading_mode or None,
            }
            for row in template.rows.all()
        ],
        "translations": translations,
    }


class TemplateList(OpsView):
    model = "template"

    @extend_schema(
        operation_id="v1_templates_list",
        summary="List the incident and maintenance templates (`template` of a create)",
        responses={200: schema.TEMPLATES, **ERRORS},
    )
    def get(self, request):
        with translation.override(languages.default()):
            templates = Template.objects.prefetch_related("rows__component")
            return Response([_template_json(t) for t in templates])


# --- components --------------------------------------------------------------------------


class ComponentList(OpsView):
    model = "component"

    @extend_schema(
        operation_id="v1_components_list",
        summary="List components (groups included)",
        responses={200: schema.COMPONENTS, **ERRORS},
    )
    def get(self, request):
        return Response(v2.components_json(list(Component.objects.select_related("group"))))


class ComponentDetail(OpsView):
    model = "component"

    @extend_schema(summary="Read a component", responses={200: schema.COMPONENT, **ERRORS})
    def get(self, request, public_id):
        component = get_object_or_404(Component.objects.select_related("group"), public_id=public_id)
        return Response(v2.component_json(component))

    @extend_schema(
        summary="Set a component's status, a trading product's mode, or both",
        request=s.ComponentStatus,
        responses={200: schema.COMPONENT, **STATE_ERRORS},
        examples=[
            OpenApiExample("Degraded", value={"status": "degraded_performance"}, request_only=True),
            OpenApiExample("Cancel only", value={"trading_mode": "cancel_only"}, request_only=True),
        ],
    )
    def patch(self, request, public_id):
        component = get_object_or_404(Component.objects.select_related("group"), public_id=public_id)
        # A PATCH changes what it names: with neither, nothing (the component as it is).
        data = self.valid(s.ComponentStatus, partial=True)
        if data:
            component = services.component_set_state(component=component, actor=self.actor, **data)
        return Response(v2.component_json(component))


# --- deposits and withdrawals -------------------------------------------------------------


def _funding_out(networks, code=http.HTTP_200_OK) -> Response:
    return Response({"networks": [v2.network_json(n) for n in networks]}, status=code)


class AssetList(OpsView):
    model = "asset"

    @extend_schema(
        summary="Add an asset (its networks: POST /api/v1/assets/{symbol}/networks)",
        request=s.AssetCreate,
        responses={201: schema.FUNDING_ASSET, **STATE_ERRORS},
    )
    def post(self, request):
        data = self.valid(s.AssetCreate)
        asset = services.asset_save(actor=self.actor, **data)
        return Response(v2.asset_json(asset, []), status=http.HTTP_201_CREATED)


class AssetNetworks(OpsView):
    model = "network"

    @extend_schema(
        summary="Add a network to an asset (deposits and withdrawals enabled)",
        request=s.NetworkCreate,
        responses={201: schema.FUNDING_NETWORK, **STATE_ERRORS},
    )
    def post(self, request, symbol):
        asset = get_object_or_404(Asset, symbol=symbol.upper())
        data = self.valid(s.NetworkCreate)
        network = services.network_save(actor=self.actor, asset=asset, **data)
        return Response(v2.network_json(network), status=http.HTTP_201_CREATED)


class Funding(OpsView):
    model = "network"

    @extend_schema(
        summary="List every network's deposit and withdrawal status", responses={200: schema.FUNDING_NETWORKS, **ERRORS}
    )
    def get(self, request):
        return _funding_out(Network.objects.select_related("asset"))

    @extend_schema(
        summary="Set deposits and/or withdrawals of many networks at once (one change)",
        request=s.FundingSet,
        responses={200: schema.FUNDING_NETWORKS, **ERRORS},
        examples=[
            OpenApiExample(
                "Suspend every ERC20 withdrawal",
                value={
                    "networks": ["ERC20"],
                    "withdrawal": "suspended",
                    "expected_at": "2021-01-29T20:00:00+08:00",
                    "note": "Ethereum network congestion: withdrawals are paused until fees settle.",
                },
                request_only=True,
            )
        ],
    )
    def patch(self, request):
        data = dict(self.valid(s.FundingSet))
        chosen = Network.objects.all()
        if "assets" in data:
            chosen = chosen.filter(asset__symbol__in=[a.upper() for a in data.pop("assets")])
        if "networks" in data:
            chosen = chosen.filter(code__in=data.pop("networks"))
        if "ids" in data:
            chosen = chosen.filter(public_id__in=data.pop("ids"))
        networks = list(chosen)
        if not networks:
            raise NotFound("No network matches this choice.")
        services.funding_set(actor=self.actor, networks=networks, **data)
        return _funding_out(Network.objects.select_related("asset").filter(pk__in=[n.pk for n in networks]))


# --- scheduled maintenance ---------------------------------------------------------------


class MaintenanceList(OpsView):
    model = "maintenance"

    @extend_schema(
        summary="Schedule a maintenance",
        request=s.MaintenanceCreate,
        responses={201: schema.MAINTENANCE_CREATED, **ERRORS},
        examples=[
            OpenApiExample(
                "Matching engine upgrade",
                value={
                    "name": "Spot trading system upgrade",
                    "body": "Orders cannot be placed or cancelled during the window.",
                    "scheduled_for": "2026-12-02T06:00:00+08:00",
                    "scheduled_until": "2026-12-02T07:00:00+08:00",
                    "components": ["<component id>"],
                    "auto_start": True,
                    "auto_complete": True,
                },
                request_only=True,
            )
        ],
    )
    def post(self, request):
        return _incident_out(self.create(s.MaintenanceCreate, services.maintenance_schedule), http.HTTP_201_CREATED)


class MaintenanceDetail(OpsView):
    model = "maintenance"

    @extend_schema(summary="Read a maintenance", responses={200: schema.MAINTENANCE, **ERRORS})
    def get(self, request, public_id):
        return _incident_out(_incident(public_id, Incident.Kind.MAINTENANCE))

    @extend_schema(
        summary="Change a maintenance's name, components or automation",
        request=s.MaintenanceEdit,
        responses={200: schema.MAINTENANCE, **STATE_ERRORS},
    )
    def patch(self, request, public_id):
        maintenance = _incident(public_id, Incident.Kind.MAINTENANCE)
        data = self.valid(s.MaintenanceEdit, partial=True)
        services.maintenance_edit(maintenance=maintenance, actor=self.actor, **data)
        return _incident_out(maintenance)


class MaintenanceUpdates(OpsView):
    model = "incidentupdate"

    @extend_schema(
        summary="Post a progress note (status unchanged)",
        request=s.MaintenanceNote,
        responses={201: schema.MAINTENANCE_CREATED, **STATE_ERRORS},
    )
    def post(self, request, public_id):
        maintenance = _incident(public_id, Incident.Kind.MAINTENANCE)
        data = self.valid(s.MaintenanceNote)
        services.maintenance_post_update(maintenance=maintenance, actor=self.actor, **data)
        return _incident_out(maintenance, http.HTTP_201_CREATED)


class MaintenanceTransition(OpsView):
    model = "maintenance"
    actions = {"POST": "change"}

    action = ""

    def post(self, request, public_id):
        maintenance = _incident(public_id, Incident.Kind.MAINTENANCE)
        data = self.valid(s.MaintenanceTransition)
        services.MAINTENANCE_SERVICES[self.action](maintenance=maintenance, actor=self.actor, **data)
        return _incident_out(maintenance)


TRANSITIONS = {
    "start": (
        "Start a maintenance (in progress; components under maintenance when asked)",
        "The upgrade has started. Orders cannot be placed or cancelled until it completes.",
    ),
    "verify": ("Mark a maintenance as verifying", "The upgrade is done; we are verifying trading before reopening."),
    "pre_open": (
        "Enter the pre-open phase (its trading products take cancel and post-only orders, no matching)",
        "The upgrade is done. Pre-open has begun: cancel orders and place post-only orders; matching resumes at 18:30.",
    ),
    "complete": (
        "Complete a maintenance (components back to operational)",
        "The upgrade is complete and trading has resumed.",
    ),
    "cancel": ("Cancel a maintenance that has not started", "This upgrade is called off; trading is not interrupted."),
}


def transition_view(action: str):
    summary, body = TRANSITIONS[action]
    status = rules.MAINTENANCE_ACTIONS[action]

    # A function of its own per action: extend_schema marks the function it decorates, so
    # decorating the one shared `post` gave every transition the last one's summary (and a
    # function without the shared request and responses documented neither).
    def post(self, request, public_id):
        return MaintenanceTransition.post(self, request, public_id)

    documented = extend_schema(
        summary=summary,
        request=s.MaintenanceTransition,
        responses={
            200: schema.ok(
                schema.ScheduledMaintenance,
                {**ex.MAINTENANCE, "status": v2.statuspage_status(status), "phase": status},
                f"The maintenance, now {status.replace('_', ' ')}.",
            ),
            **STATE_ERRORS,
        },
        examples=[OpenApiExample(action.title(), value={"body": body}, request_only=True)],
    )(post)
    view_class = type(f"Maintenance{action.title()}", (MaintenanceTransition,), {"action": action, "post": documented})
    return view_class.as_view()


class MaintenanceReschedule(OpsView):
    model = "maintenance"
    actions = {"POST": "change"}

    @extend_schema(
        summary="Move a maintenance that has not started",
        request=s.Reschedule,
        responses={200: schema.MAINTENANCE, **STATE_ERRORS},
        examples=[
            OpenApiExample(
                "A day later",
                value={"scheduled_for": "2026-12-03T06:00:00+08:00", "scheduled_until": "2026-12-03T07:00:00+08:00"},
                request_only=True,
            )
        ],
    )
    def post(self, request, public_id):
        maintenance = _incident(public_id, Incident.Kind.MAINTENANCE)
        data = self.valid(s.Reschedule)
        services.maintenance_reschedule(maintenance=maintenance, actor=self.actor, **data)
        return _incident_out(maintenance)


# --- subscribers -------------------------------------------------------------------------


class SubscriberList(OpsView):
    model = "subscriber"
    actions = {"POST": "change"}

    @extend_schema(
        operation_id="v1_subscribers_list",
        summary="List subscribers (newest first, at most 100)",
        responses={200: schema.SUBSCRIBERS, **ERRORS},
    )
    def get(self, request):
        subscribers = Subscriber.objects.prefetch_related("components")[:100]
        return Response([s.subscriber_json(sub) for sub in subscribers])

    @extend_schema(
        summary="Subscribe an email address or a webhook endpoint",
        request=s.SubscriberCreate,
        responses={201: schema.SUBSCRIBER_CREATED, **ERRORS},
        examples=[
            OpenApiExample("Email", value={"email": "ops@example.com"}, request_only=True),
            OpenApiExample(
                "Webhook for two components",
                value={
                    "endpoint": "https://hooks.example.com/status",
                    "components": ["<id>", "<id>"],
                    "owner_email": "oncall@example.com",
                },
                request_only=True,
            ),
        ],
    )
    def post(self, request):
        data = self.valid(s.SubscriberCreate)
        subscriber = services.subscriber_create(
            actor=self.actor,
            email=data["email"],
            endpoint=data["endpoint"],
            components=data["components"],
            assets=data["assets"],
            confirmed=data["skip_confirmation"],
            owner_email=data["owner_email"],
            language=data["language"],
        )
        return Response(s.subscriber_json(subscriber, with_secret=True), status=http.HTTP_201_CREATED)


class SubscriberDetail(OpsView):
    model = "subscriber"
    actions = {"DELETE": "change"}

    @extend_schema(summary="Read a subscriber", responses={200: schema.SUBSCRIBER, **ERRORS})
    def get(self, request, public_id):
        return Response(s.subscriber_json(get_object_or_404(Subscriber, public_id=public_id)))

    @extend_schema(summary="Delete a subscriber", responses={204: None, **ERRORS})
    def delete(self, request, public_id):
        subscriber = get_object_or_404(Subscriber, public_id=public_id)
        services.subscriber_delete(subscriber=subscriber, actor=self.actor)
        return Response(status=http.HTTP_204_NO_CONTENT)


# --- integrations ----------------------------------------------------------------------------


class AlertmanagerWebhook(APIView):
    """Prometheus Alertmanager's webhook receiver (`webhook_configs`, with
    `http_config.authorization.credentials` a token of the integrations scope)."""

    authentication_classes = [BearerTokenAuthentication]
    permission_classes = [IntegrationScope]
    throttle_classes = [WriteRateThrottle]

    @extend_schema(
        summary="Alertmanager's webhook: alerts open or update a draft incident",
        request={"application/json": schema.ALERTMANAGER_WEBHOOK},
        responses={200: schema.ALERT_GROUP, **ERRORS},
        examples=[OpenApiExample("Firing", value=ex.ALERTMANAGER_FIRING, request_only=True)],
    )
    def post(self, request):
        group = services.alertmanager_receive(actor=integration_actor(request), payload=request.data)
        return Response(
            {
                "group_key": group.group_key,
                "state": group.state,
                "name": group.name,
                "proposed": group.proposed,
                "incident": group.incident.public_id if group.incident_id else None,
                "recovery_proposed": group.recovery_proposed_at is not None,
            }
        )
