"""The operators' admin, by what it manages. Importing this package registers every
model admin (Django's admin autodiscovery imports `incidents.admin`).

* `base`: ServiceAdmin (forms save through the services, refusals shown on the form) and
  LogAdmin (read-only);
* `catalog`: components and groups; `timeline`: incidents and maintenance;
* `funding`: assets and their networks' deposits and withdrawals;
* `templates`: incident and maintenance templates, and opening from one;
* `alerts`: monitoring's rules and the drafts its alerts propose;
* `metrics`: the public metrics sampled from Prometheus;
* `logs`: the audit and event logs, API tokens; `notifications`: subscribers, deliveries;
* `forms`: the forms operators fill in (they check, they never write).
"""

from . import alerts, catalog, funding, logs, metrics, notifications, templates, timeline

__all__ = ["alerts", "catalog", "funding", "logs", "metrics", "notifications", "templates", "timeline"]
