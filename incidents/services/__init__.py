"""Every write to the status page, whoever makes it: admin, API, scheduled task, command.

The one write path. Each service runs in one transaction (`change.public_change`) that
locks the page's sequence row, writes the change, the audit log, one numbered
`PublicEvent` per public change and its notifications (the outbox); only after commit
(`change.after_public_change`) is the snapshot rebuilt and the change pushed. Bad input
raises `django.core.exceptions.ValidationError` with a message per field, before anything
is written.

Callers use `services.<name>`; the rooms below are how the writes are kept:

* `change`: Actor, the public-change envelope, the after-commit contract;
* `checks`: the input checks every service makes;
* `audit`: who changed what, written by every service in its transaction;
* `components`, `incidents`, `maintenance`, `funding`, `subscribers`, `tokens`: the writes;
* `templates`: incidents and maintenance opened from a template, through the writes above;
* `automation`: maintenance that runs itself (beat), through the same services;
* `alerts`: Alertmanager's webhooks opening draft incidents, through the same services;
* `metrics`: the public metrics, sampled from Prometheus on a schedule.
"""

from . import audit
from .alerts import DEFAULT_STATUSES, alert_dismiss, alert_publish, alert_resolve, alert_rule_save, alertmanager_receive
from .audit import client_address
from .automation import maintenance_tick
from .change import Actor, PublicChange, after_public_change, public_change
from .checks import Conflict
from .components import (
    COMPONENT_FIELDS,
    component_create,
    component_edit,
    component_set_state,
    component_set_status,
    component_set_trading_mode,
    group_save,
)
from .funding import FUNDING_FIELDS, asset_save, funding_set, network_save
from .incidents import (
    components_to_restore,
    incident_edit,
    incident_open,
    incident_post_update,
    incident_resolve,
    incident_update_edit,
    postmortem_save,
    validate_incident_update,
)
from .maintenance import (
    MAINTENANCE_BEHAVIOUR,
    MAINTENANCE_SERVICES,
    maintenance_cancel,
    maintenance_complete,
    maintenance_edit,
    maintenance_post_update,
    maintenance_pre_open,
    maintenance_remind,
    maintenance_reschedule,
    maintenance_schedule,
    maintenance_start,
    maintenance_verify,
)
from .metrics import (
    METRIC_FIELDS,
    PrometheusError,
    metric_delete,
    metric_history_add,
    metric_save,
    metrics_sample,
    prometheus_value,
)
from .subscribers import (
    check_chat_url,
    delivery_redeliver,
    subscriber_confirm,
    subscriber_create,
    subscriber_delete,
    subscriber_reactivate,
    subscriber_request,
    subscriber_request_channel,
    subscriber_set_components,
    subscriber_unsubscribe,
    subscriber_update,
)
from .templates import open_from_template, template_delete, template_save
from .tokens import api_token_create, api_token_revoke

__all__ = [
    "DEFAULT_STATUSES",
    "alert_dismiss",
    "alert_publish",
    "alert_resolve",
    "alert_rule_save",
    "alertmanager_receive",
    "audit",
    "client_address",
    "MAINTENANCE_BEHAVIOUR",
    "COMPONENT_FIELDS",
    "MAINTENANCE_SERVICES",
    "FUNDING_FIELDS",
    "asset_save",
    "funding_set",
    "network_save",
    "METRIC_FIELDS",
    "PrometheusError",
    "metric_delete",
    "metric_history_add",
    "metric_save",
    "metrics_sample",
    "prometheus_value",
    "Actor",
    "Conflict",
    "PublicChange",
    "after_public_change",
    "api_token_create",
    "api_token_revoke",
    "component_create",
    "component_edit",
    "component_set_state",
    "component_set_status",
    "component_set_trading_mode",
    "components_to_restore",
    "delivery_redeliver",
    "group_save",
    "incident_edit",
    "incident_open",
    "incident_post_update",
    "incident_resolve",
    "incident_update_edit",
    "maintenance_cancel",
    "maintenance_complete",
    "maintenance_edit",
    "maintenance_post_update",
    "maintenance_pre_open",
    "maintenance_remind",
    "maintenance_reschedule",
    "maintenance_schedule",
    "maintenance_start",
    "maintenance_tick",
    "maintenance_verify",
    "postmortem_save",
    "public_change",
    "subscriber_confirm",
    "subscriber_create",
    "subscriber_delete",
    "subscriber_reactivate",
    "subscriber_request",
    "subscriber_request_channel",
    "subscriber_set_components",
    "subscriber_unsubscribe",
    "subscriber_update",
    "check_chat_url",
    "open_from_template",
    "template_delete",
    "template_save",
    "validate_incident_update",
]
