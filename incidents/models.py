"""The status page's domain, in the vocabulary integrators know from Statuspage v2.

Every write goes through `incidents.services`; models hold data, constraints and the
small facts that follow from a single row. Nothing here has side effects on save.
"""

import contextlib
import secrets
import string

from django.conf import settings
from django.db import connections, models
from django.urls import reverse
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

_ID_ALPHABET = string.ascii_lowercase + string.digits


def new_public_id() -> str:
    """A 12-character lowercase id, shaped like Statuspage's (`8l4ygp009s5s`)."""
    return "".join(secrets.choice(_ID_ALPHABET) for _ in range(12))


class ComponentStatus(models.TextChoices):
    OPERATIONAL = "operational", _("Operational")
    DEGRADED_PERFORMANCE = "degraded_performance", _("Degraded performance")
    PARTIAL_OUTAGE = "partial_outage", _("Partial outage")
    MAJOR_OUTAGE = "major_outage", _("Major outage")
    UNDER_MAINTENANCE = "under_maintenance", _("Under maintenance")


class TradingMode(models.TextChoices):
    """What a trading product accepts (incidents.rules.TRADING_MODE_MEANING says it to traders)."""

    NORMAL = "normal", _("Normal trading")
    PRE_OPEN = "pre_open", _("Pre-open")
    CANCEL_ONLY = "cancel_only", _("Cancel only")
    POST_ONLY = "post_only", _("Post only")
    LIMIT_ONLY = "limit_only", _("Limit orders only")
    REDUCE_ONLY = "reduce_only", _("Reduce only")
    HALTED = "halted", _("Trading halted")


class OkxServiceType(models.TextChoices):
    """OKX v5 `serviceType`: what part of the exchange a component belongs to."""

    WEBSOCKET = "0", "0 · WebSocket"
    SPOT_MARGIN = "1", "1 · Spot / Margin (legacy)"
    FUTURES = "2", "2 · Futures (legacy)"
    PERPETUAL = "3", "3 · Perpetual (legacy)"
    OPTIONS = "4", "4 · Options (legacy)"
    TRADING = "5", "5 · Trading service"
    BLOCK_TRADING = "6", "6 · Block trading"
    TRADING_BOT = "7", "7 · Trading bot"
    TRADING_BATCH_ACCOUNTS = "8", "8 · Trading service (batches of accounts)"
    TRADING_BATCH_PRODUCTS = "9", "9 · Trading service (batches of products)"
    SPREAD_TRADING = "10", "10 · Spread trading"
    COPY_TRADING = "11", "11 · Copy trading"
    OTHERS = "99", "99 · Others"


class ComponentGroup(models.Model):
    """A heading that holds components (two levels only: a group holds no groups)."""

    public_id = models.CharField(max_length=12, unique=True, default=new_public_id, editable=False)
    name = models.CharField(max_length=120)
    description = models.TextField(blank=True)
    position = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["position", "id"]

    def __str__(self) -> str:
        return self.name


class Component(models.Model):
    """A part of the exchange whose status the public can see."""

    Status = ComponentStatus

    public_id = models.CharField(max_length=12, unique=True, default=new_public_id, editable=False)
    name = models.CharField(max_length=120)
    description = models.TextField(blank=True)
    group = models.ForeignKey(
        ComponentGroup, null=True, blank=True, on_delete=models.PROTECT, related_name="components"
    )
    position = models.PositiveIntegerField(default=0)
    status = models.CharField(max_length=32, choices=ComponentStatus.choices, default=ComponentStatus.OPERATIONAL)
    showcase = models.BooleanField("show uptime", default=True)
    only_show_if_degraded = models.BooleanField(default=False)
    is_hidden = models.BooleanField("hidden", default=False, help_text="Hidden components never show nor count.")
    start_date = models.DateField(null=True, blank=True, help_text="Uptime is counted from this day.")
    okx_service_type = models.CharField(
        "OKX serviceType", max_length=2, choices=OkxServiceType.choices, default=OkxServiceType.OTHERS
    )
    trading = models.BooleanField(
        "trading product", default=False, help_text="A market traders place orders on: it has a trading mode."
    )
    trading_mode = models.CharField(max_length=16, choices=TradingMode.choices, default=TradingMode.NORMAL)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["group__position", "position", "id"]

    def __str__(self) -> str:
        return f"{self.group.name} › {self.name}" if self.group_id else self.name


class FundingStatus(models.TextChoices):
    ENABLED = "enabled", _("Enabled")
    DELAYED = "delayed", _("Delayed")
    SUSPENDED = "suspended", _("Suspended")


class Asset(models.Model):
    """A coin or token the exchange takes in and pays out (BTC, ETH, USDT…)."""

    public_id = models.CharField(max_length=12, unique=True, default=new_public_id, editable=False)
    symbol = models.CharField(max_length=20, unique=True, help_text="As traders know it: BTC, USDT.")
    name = models.CharField(max_length=80, help_text="Bitcoin, Tether USD.")
    position = models.PositiveIntegerField(default=0)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["position", "symbol"]

    def __str__(self) -> str:
        return self.symbol


class Network(models.Model):
    """One chain an asset moves on (USDT on ERC20), with its deposit and withdrawal status."""

    public_id = models.CharField(max_length=12, unique=True, default=new_public_id, editable=False)
    asset = models.ForeignKey(Asset, on_delete=models.PROTECT, related_name="networks")
    code = models.CharField(max_length=20, help_text="ERC20, TRC20, BTC, Solana…")
    name = models.CharField(max_length=80, blank=True, help_text="Ethereum (ERC20).")
    position = models.PositiveIntegerField(default=0)
    deposit = models.CharField(max_length=12, choices=FundingStatus.choices, default=FundingStatus.ENABLED)
    withdrawal = models.CharField(max_length=12, choices=FundingStatus.choices, default=FundingStatus.ENABLED)
    expected_at = models.DateTimeField(null=True, blank=True, help_text="When it is expected back to normal.")
    note = models.CharField(max_length=300, blank=True, help_text="What a reader should know, in a line.")
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["asset__position", "asset__symbol", "position", "code"]
        constraints = [models.UniqueConstraint(fields=["asset", "code"], name="one_network_code_per_asset")]

    def __str__(self) -> str:
        return f"{self.asset.symbol} · {self.code}"


class Incident(models.Model):
    """An incident or a scheduled maintenance: a titled timeline of updates.

    Statuspage serves a maintenance as "an incident object whose status is a maintenance
    status"; one table keeps history, feeds and the event log in one order.
    """

    class Kind(models.TextChoices):
        INCIDENT = "incident", _("Incident")
        MAINTENANCE = "maintenance", _("Scheduled maintenance")

    class Status(models.TextChoices):
        INVESTIGATING = "investigating", _("Investigating")
        IDENTIFIED = "identified", _("Identified")
        MONITORING = "monitoring", _("Monitoring")
        RESOLVED = "resolved", _("Resolved")
        POSTMORTEM = "postmortem", _("Postmortem")
        SCHEDULED = "scheduled", _("Scheduled")
        IN_PROGRESS = "in_progress", _("In progress")
        VERIFYING = "verifying", _("Verifying")
        PRE_OPEN = "pre_open", _("Pre-open")
        COMPLETED = "completed", _("Completed")
        CANCELLED = "cancelled", _("Cancelled")

    class Impact(models.TextChoices):
        NONE = "none", pgettext_lazy("incident impact", "None")
        MINOR = "minor", pgettext_lazy("incident impact", "Minor")
        MAJOR = "major", pgettext_lazy("incident impact", "Major")
        CRITICAL = "critical", pgettext_lazy("incident impact", "Critical")
        MAINTENANCE = "maintenance", pgettext_lazy("incident impact", "Maintenance")

    public_id = models.CharField(max_length=12, unique=True, default=new_public_id, editable=False)
    kind = models.CharField(max_length=12, choices=Kind.choices, default=Kind.INCIDENT)
    name = models.CharField(max_length=200)
    status = models.CharField(max_length=16, choices=Status.choices)
    impact = models.CharField(max_length=12, choices=Impact.choices, default=Impact.NONE)
    impact_override = models.CharField(max_length=12, choices=Impact.choices, blank=True, default="")
    components = models.ManyToManyField(Component, blank=True, related_name="incidents")

    # When the event began (a maintenance: its scheduled start until it really starts).
    started_at = models.DateTimeField()
    identified_at = models.DateTimeField(null=True, blank=True)
    monitoring_at = models.DateTimeField(null=True, blank=True)
    resolved_at = models.DateTimeField(null=True, blank=True)

    # Scheduled maintenance.
    scheduled_for = models.DateTimeField(null=True, blank=True)
    scheduled_until = models.DateTimeField(null=True, blank=True)
    auto_start = models.BooleanField(default=False, help_text="Start by itself at the scheduled time.")
    auto_complete = models.BooleanField(default=False, help_text="Complete by itself at the scheduled end.")
    components_to_maintenance = models.BooleanField(
        default=True, help_text="Set the components under maintenance at start and back at completion."
    )
    notify_at_transitions = models.BooleanField(default=True)
    remind_before_minutes = models.PositiveIntegerField(
        null=True, blank=True, default=60, help_text="Remind subscribers this long before start; empty for never."
    )
    reminded_at = models.DateTimeField(null=True, blank=True)
    unscheduled = models.BooleanField(default=False, help_text="Opened without notice (OKX maintType 2).")
    pre_open_at = models.DateTimeField(
        null=True, blank=True, help_text="Start of the pre-open phase, if any (planned, then as it happened)."
    )
    auto_pre_open = models.BooleanField(
        default=False, help_text="Enter the pre-open phase by itself at its planned start."
    )
    reschedule_note = models.CharField(max_length=300, blank=True, help_text="OKX scheDesc.")

    postmortem_body = models.TextField(blank=True)
    postmortem_published_at = models.DateTimeField(null=True, blank=True)
    # The template it was opened from, if any (what operators reach for, and how often).
    template = models.ForeignKey("Template", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")

    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-started_at", "-id"]
        indexes = [
            models.Index(fields=["-started_at", "-id"], name="incident_history"),
            models.Index(fields=["kind", "status"], name="incident_kind_status"),
            # The snapshot's "latest of a kind" reads (recent, latest closed) walk this in
            # order and stop early, instead of sorting every incident of the kind.
            models.Index(fields=["kind", "-started_at", "-id"], name="incident_kind_history"),
            # "Resolved in the last N days" is a short range on this.
            models.Index(fields=["kind", "resolved_at"], name="incident_kind_resolved"),
            # The open incidents, newest first: a range per open status, a handful of rows
            # however long the history. (Only incidents have these statuses, and
            # selectors.unresolved_incidents filters on them alone: with `kind` too, SQLite's
            # planner would rather walk every incident in date order.)
            models.Index(fields=["status", "-started_at", "-id"], name="incident_status_history"),
        ]

    def __str__(self) -> str:
        return self.name

    def get_absolute_url(self) -> str:
        return reverse("incident-detail", args=[self.public_id])

    @property
    def is_maintenance(self) -> bool:
        return self.kind == self.Kind.MAINTENANCE


class IncidentUpdate(models.Model):
    """One entry of an incident's timeline, as readers see it."""

    public_id = models.CharField(max_length=12, unique=True, default=new_public_id, editable=False)
    incident = models.ForeignKey(Incident, on_delete=models.CASCADE, related_name="updates")
    status = models.CharField(max_length=16, choices=Incident.Status.choices)
    body = models.TextField()
    # What readers see; may be backdated (the demo is from 2021).
    display_at = models.DateTimeField()
    deliver_notifications = models.BooleanField(default=True)
    author = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-display_at", "-id"]
        indexes = [models.Index(fields=["incident", "-display_at"], name="update_timeline")]

    def __str__(self) -> str:
        return f"{self.get_status_display()} · {self.display_at:%Y-%m-%d %H:%M}"


class Template(models.Model):
    """What an incident or maintenance opens with, written ahead of time: the first post
    takes a click, not the minutes of typing it takes during an outage.

    Its title and body have a version per language (translation.py); the components it
    hits, with their statuses and the trading products' modes, are its `rows`. The admin's
    add forms and the v1 API (`template`) open from it through the same services as
    everything else; nothing is published by saving a template."""

    slug = models.SlugField(
        max_length=60, unique=True, help_text='Its name in the API: POST /api/v1/incidents {"template": slug}.'
    )
    kind = models.CharField(max_length=12, choices=Incident.Kind.choices, default=Incident.Kind.INCIDENT)
    title = models.CharField(max_length=200, help_text="The incident's or maintenance's name.")
    body = models.TextField(help_text="Its first update (Markdown).")
    status = models.CharField(
        max_length=16,
        choices=[
            (s, label) for s, label in Incident.Status.choices if s in ("investigating", "identified", "monitoring")
        ],
        default=Incident.Status.INVESTIGATING,
        help_text="An incident's first status.",
    )
    impact_override = models.CharField(max_length=12, choices=Incident.Impact.choices, blank=True, default="")
    duration_minutes = models.PositiveIntegerField(
        default=60, help_text="A maintenance: the window's length from its start."
    )
    unscheduled = models.BooleanField(
        default=False, help_text="A maintenance: an emergency, under way as soon as it is opened (OKX maintType 2)."
    )
    position = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["kind", "position", "id"]

    def __str__(self) -> str:
        return self.title


class TemplateRow(models.Model):
    """One component a template hits: the status it sets (blank: left as it is; a
    maintenance: under maintenance) and, for a trading product, the mode."""

    template = models.ForeignKey(Template, on_delete=models.CASCADE, related_name="rows")
    component = models.ForeignKey(Component, on_delete=models.CASCADE, related_name="+")
    status = models.CharField(max_length=32, choices=ComponentStatus.choices, blank=True, default="")
    trading_mode = models.CharField(max_length=16, choices=TradingMode.choices, blank=True, default="")

    class Meta:
        constraints = [models.UniqueConstraint(fields=["template", "component"], name="template_row_once")]

    def __str__(self) -> str:
        return f"{self.component} · {self.status or '—'} · {self.trading_mode or '—'}"


# Tables the database itself keeps append-only: triggers (migration 0008) refuse UPDATE and
# DELETE on them, whatever the code path (a queryset, `_base_manager`, `_raw_delete()`,
# raw SQL). Only a wholesale wipe lifts them (`append_only_lifted()`: `manage.py flush`).
APPEND_ONLY_TABLES = (
    "incidents_publicevent",
    "incidents_componentstatuschange",
    "incidents_auditentry",
    "incidents_tradingmodechange",
)
LIFT_TABLE = "incidents_append_only_lifted"  # SQLite: the triggers stand down while it exists
LIFT_SETTING = "statuspage.append_only_lifted"  # PostgreSQL: the same, for one session


@contextlib.contextmanager
def append_only_lifted(using: str = "default"):
    """Let rows of the append-only tables be deleted, for a wipe of the whole database."""
    connection = connections[using]
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("SELECT set_config(%s, 'on', false)", [LIFT_SETTING])
        elif connection.vendor == "sqlite":
            cursor.execute(f"CREATE TABLE IF NOT EXISTS {LIFT_TABLE} (id integer)")
    try:
        yield
    finally:
        with connection.cursor() as cursor:
            if connection.vendor == "postgresql":
                cursor.execute("SELECT set_config(%s, 'off', false)", [LIFT_SETTING])
            elif connection.vendor == "sqlite":
                cursor.execute(f"DROP TABLE IF EXISTS {LIFT_TABLE}")


class AppendOnlyQuerySet(models.QuerySet):
    def update(self, **kwargs):
        raise TypeError(f"{self.model.__name__} is append-only: rows are never updated.")

    def delete(self):
        raise TypeError(f"{self.model.__name__} is append-only: rows are never deleted.")


class AppendOnlyLog(models.Model):
    """A row of an append-only log: written once, never changed or deleted (the database
    refuses it too: APPEND_ONLY_TABLES)."""

    objects = AppendOnlyQuerySet.as_manager()

    class Meta:
        abstract = True

    def save(self, *args, **kwargs):
        if self.pk is not None:
            raise TypeError(f"{type(self).__name__} is append-only: rows are never updated.")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise TypeError(f"{type(self).__name__} is append-only: rows are never deleted.")


class ComponentStatusChange(AppendOnlyLog):
    """The append-only audit log of every component status change; uptime comes from it."""

    component = models.ForeignKey(Component, on_delete=models.PROTECT, related_name="status_changes")
    old_status = models.CharField(max_length=32, choices=ComponentStatus.choices)
    new_status = models.CharField(max_length=32, choices=ComponentStatus.choices)
    # When the change took effect for readers (an update's display_at; may be backdated).
    changed_at = models.DateTimeField()
    recorded_at = models.DateTimeField(auto_now_add=True)
    incident = models.ForeignKey(
        Incident, null=True, blank=True, on_delete=models.PROTECT, related_name="component_changes"
    )
    update = models.ForeignKey(
        IncidentUpdate, null=True, blank=True, on_delete=models.PROTECT, related_name="component_changes"
    )
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT)
    # Who did it, kept as text too: "system", a username, or "token:<name>".
    actor_label = models.CharField(max_length=150)

    class Meta:
        ordering = ["changed_at", "id"]
        indexes = [models.Index(fields=["component", "changed_at"], name="status_change_timeline")]

    def __str__(self) -> str:
        return f"{self.component}: {self.old_status} → {self.new_status}"


class TradingModeChange(AppendOnlyLog):
    """The append-only log of every trading mode change, beside the status log."""

    component = models.ForeignKey(Component, on_delete=models.PROTECT, related_name="trading_mode_changes")
    old_mode = models.CharField(max_length=16, choices=TradingMode.choices)
    new_mode = models.CharField(max_length=16, choices=TradingMode.choices)
    changed_at = models.DateTimeField()
    recorded_at = models.DateTimeField(auto_now_add=True)
    incident = models.ForeignKey(
        Incident, null=True, blank=True, on_delete=models.PROTECT, related_name="trading_mode_changes"
    )
    update = models.ForeignKey(
        IncidentUpdate, null=True, blank=True, on_delete=models.PROTECT, related_name="trading_mode_changes"
    )
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT)
    actor_label = models.CharField(max_length=150)

    class Meta:
        ordering = ["changed_at", "id"]
        indexes = [models.Index(fields=["component", "changed_at"], name="trading_mode_timeline")]

    def __str__(self) -> str:
        return f"{self.component}: {self.old_mode} → {self.new_mode}"


class PageState(models.Model):
    """One row: the sequence number of the last public change.

    Services lock this row for the length of their transaction, so sequence numbers are
    handed out and committed in the same order and a reader resuming after `seq` never
    skips a change committed late.
    """

    id = models.PositiveSmallIntegerField(primary_key=True, default=1, editable=False)
    seq = models.PositiveBigIntegerField(default=0)
    updated_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"page state at seq {self.seq}"


class PublicEvent(models.Model):
    """A change of public state, numbered; clients resume from the last `seq` they saw."""

    class Kind(models.TextChoices):
        INCIDENT = "incident", _("Incident")
        COMPONENT = "component", _("Component")
        MAINTENANCE = "maintenance", _("Maintenance")
        PAGE = "page", _("Page")
        FUNDING = "funding", _("Deposits and withdrawals")

    seq = models.PositiveBigIntegerField(primary_key=True)
    kind = models.CharField(max_length=16, choices=Kind.choices)
    action = models.CharField(max_length=40)
    # PROTECT: the log is append-only (clearing a foreign key would be an UPDATE).
    incident = models.ForeignKey(Incident, null=True, blank=True, on_delete=models.PROTECT)
    component = models.ForeignKey(Component, null=True, blank=True, on_delete=models.PROTECT)
    payload = models.JSONField(default=dict)
    created_at = models.DateTimeField()

    objects = AppendOnlyQuerySet.as_manager()

    class Meta:
        ordering = ["seq"]

    def __str__(self) -> str:
        return f"#{self.seq} {self.kind}.{self.action}"


class AuditEntry(models.Model):
    """Who changed what, when and from where: one row per write of any service (public or
    not: renames, edits of past updates, postmortems, tokens, subscribers, roles).

    Append-only in the database itself (migration 0009's triggers, as for PublicEvent).
    The user is kept by id and name, not as a foreign key: deleting an account must not
    rewrite (or be blocked by) its history.
    """

    class Via(models.TextChoices):
        ADMIN = "admin", _("Admin")
        API = "api", _("API token")
        TASK = "task", _("Scheduled task")
        COMMAND = "command", _("Command")
        PUBLIC = "public", _("Public form")
        INTEGRATION = "integration", _("Integration")
        SYSTEM = "system", _("System")

    at = models.DateTimeField(db_index=True)
    action = models.CharField(max_length=48, db_index=True)  # e.g. "incident.edit"
    target_type = models.CharField(max_length=32)
    target_id = models.CharField(max_length=64, blank=True)
    target_label = models.CharField(max_length=200, blank=True)
    user_id = models.IntegerField(null=True, blank=True)
    username = models.CharField(max_length=150, blank=True)
    via = models.CharField(max_length=16, choices=Via.choices)
    token_id = models.IntegerField(null=True, blank=True)
    address = models.GenericIPAddressField(null=True, blank=True)
    changes = models.JSONField(default=dict, blank=True)  # field -> [before, after]

    objects = AppendOnlyQuerySet.as_manager()

    class Meta:
        ordering = ["-at", "-id"]
        verbose_name_plural = "audit entries"

    def __str__(self) -> str:
        return f"{self.action} {self.target_label or self.target_id} by {self.username or self.via}"

    def save(self, *args, **kwargs):
        if self.pk is not None and not kwargs.get("force_insert"):
            raise TypeError("AuditEntry is append-only: rows are never updated.")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise TypeError("AuditEntry is append-only: rows are never deleted.")


class Snapshot(models.Model):
    """The last built public snapshot, kept in the database so it survives a cache outage."""

    id = models.PositiveSmallIntegerField(primary_key=True, default=1, editable=False)
    seq = models.PositiveBigIntegerField()
    data = models.JSONField()
    built_at = models.DateTimeField()

    def __str__(self) -> str:
        return f"snapshot at seq {self.seq}"


class MaintenanceManager(models.Manager):
    def get_queryset(self):
        return super().get_queryset().filter(kind=Incident.Kind.MAINTENANCE)


class Maintenance(Incident):
    """Scheduled maintenance: the same table as incidents, its own admin and permissions."""

    objects = MaintenanceManager()

    class Meta:
        proxy = True
        verbose_name = "scheduled maintenance"
        verbose_name_plural = "scheduled maintenance"


class AlertRule(models.Model):
    """How monitoring's alerts become a draft incident: which alerts (label matchers, as
    Alertmanager writes them: `alertname="ApiLatencyHigh", severity=~"critical|page"`),
    which component (or the alert's own `component` label: the component's id or its
    name written as a slug, `spot-trading`), the status each severity means, the template
    the draft is written from, and whether it is published without a person."""

    name = models.CharField(max_length=120)
    matchers = models.CharField(
        max_length=500,
        blank=True,
        help_text='Alertmanager matchers, comma-separated: label="value", label!="value", label=~"regex", '
        'label!~"regex". Empty: every alert.',
    )
    component = models.ForeignKey(
        Component,
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="+",
        help_text="Empty: the component the alert's `component` label names.",
    )
    severity_statuses = models.JSONField(
        default=dict,
        blank=True,
        help_text='The component status per `severity` label, e.g. {"critical": "major_outage", '
        '"warning": "degraded_performance"}; "*" for any other.',
    )
    template = models.ForeignKey(
        "Template",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        help_text="The draft's title and first update (else the alert's summary and description).",
    )
    auto_publish = models.BooleanField(
        default=False, help_text="Publish the incident at once, without a responder's click."
    )
    position = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["position", "id"]

    def __str__(self) -> str:
        return self.name


class AlertGroup(models.Model):
    """One Alertmanager group (its `groupKey`): the alerts it has sent, the draft incident
    they propose, and, once published, the incident."""

    class State(models.TextChoices):
        DRAFT = "draft", _("Draft")
        PUBLISHED = "published", _("Published")
        DISMISSED = "dismissed", _("Dismissed")
        CLEARED = "cleared", _("Cleared before it was published")

    group_key = models.CharField(max_length=500, unique=True)
    receiver = models.CharField(max_length=200, blank=True)
    state = models.CharField(max_length=12, choices=State.choices, default=State.DRAFT)
    # {fingerprint: {"status", "startsAt", "endsAt", "labels", "annotations"}}: each
    # alert as last told, the newest telling of each winning (resends and late arrivals).
    alerts = models.JSONField(default=dict)
    name = models.CharField(max_length=200)
    body = models.TextField()
    # {component public id: status} the firing alerts propose; {…: mode} for products.
    proposed = models.JSONField(default=dict)
    rule = models.ForeignKey(AlertRule, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    incident = models.ForeignKey(Incident, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    # Every alert of the group has resolved: recovery is proposed (a responder resolves).
    recovery_proposed_at = models.DateTimeField(null=True, blank=True)
    first_received_at = models.DateTimeField()
    last_received_at = models.DateTimeField()

    class Meta:
        ordering = ["-first_received_at"]

    def __str__(self) -> str:
        return self.name


class Metric(models.Model):
    """A public system metric: a Prometheus query an operator chose to publish, sampled on
    a schedule (`services.metrics`) into `MetricPoint`s, so that no read of the page ever
    queries Prometheus. Shown as a chart under its component (or the page's)."""

    public_id = models.CharField(max_length=12, unique=True, default=new_public_id, editable=False)
    name = models.CharField(max_length=120)
    component = models.ForeignKey(
        Component,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="metrics",
        help_text="Shown under this component; none: under the components.",
    )
    query = models.TextField(help_text="A PromQL instant query that answers one number, e.g. a p99 latency.")
    unit = models.CharField(max_length=16, blank=True, help_text="Shown after each value: ms, %, s, …")
    scale = models.FloatField(default=1.0, help_text="Each sample is multiplied by this (1000: seconds to ms).")
    decimals = models.PositiveSmallIntegerField(default=0)
    position = models.PositiveIntegerField(default=0)
    is_published = models.BooleanField("published", default=True)
    # The sampler's last word, for the admin: when it last got a number, and what went wrong since.
    first_sampled_at = models.DateTimeField(null=True, blank=True, editable=False)
    last_sampled_at = models.DateTimeField(null=True, blank=True, editable=False)
    last_value = models.FloatField(null=True, blank=True, editable=False)
    last_error = models.CharField(max_length=300, blank=True, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["position", "id"]

    def __str__(self) -> str:
        return self.name


class MetricPoint(models.Model):
    """One sample of a metric, at the start of its sampling interval (UTC), kept two days
    (the last hour's chart is drawn from them). A missing interval is a gap: Prometheus
    did not answer, or answered no number."""

    metric = models.ForeignKey(Metric, on_delete=models.CASCADE, related_name="points")
    at = models.DateTimeField()
    value = models.FloatField()

    class Meta:
        ordering = ["metric", "at"]
        constraints = [models.UniqueConstraint(fields=["metric", "at"], name="one_point_per_metric_interval")]

    def __str__(self) -> str:
        return f"{self.metric_id} {self.at:%Y-%m-%d %H:%M} {self.value}"


class MetricBucket(models.Model):
    """The samples of a metric in one chart bucket (`width` seconds from `at`), summed as
    they are taken: a chart reads a fixed number of these, however long the metric has
    been sampled (a month at one a minute would be 43,200 points)."""

    metric = models.ForeignKey(Metric, on_delete=models.CASCADE, related_name="buckets")
    width = models.PositiveIntegerField()
    at = models.DateTimeField()
    total = models.FloatField()
    count = models.PositiveIntegerField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["metric", "width", "at"], name="one_bucket_per_metric_width_start")
        ]

    def __str__(self) -> str:
        return f"{self.metric_id} {self.width}s {self.at:%Y-%m-%d %H:%M} {self.count}"


class ApiToken(models.Model):
    """A bearer token for the write API. Only a SHA-256 of the token is stored.

    Tokens are 32 random bytes, so a fast hash is enough: there is nothing to brute-force.
    """

    class Scope(models.TextChoices):
        READ = "read", pgettext_lazy("API token scope", "Read")
        WRITE = "write", pgettext_lazy("API token scope", "Read and write")
        # Monitoring's webhooks (Alertmanager): only the integration endpoints, and what
        # they change is the integration's doing, never a person's.
        INTEGRATIONS = "integrations", pgettext_lazy("API token scope", "Integrations")

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="api_tokens")
    name = models.CharField(max_length=100, help_text="What the token is for, e.g. 'pagerduty bridge'.")
    prefix = models.CharField(max_length=12, editable=False, help_text="The first characters, to recognise it.")
    key_hash = models.CharField(max_length=64, unique=True, editable=False)
    scope = models.CharField(max_length=12, choices=Scope.choices, default=Scope.READ)
    expires_at = models.DateTimeField(null=True, blank=True)
    last_used_at = models.DateTimeField(null=True, blank=True, editable=False)
    revoked_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at"]
        verbose_name = "API token"

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"


class Subscriber(models.Model):
    """Someone to notify: an email address, a webhook endpoint, or a community channel
    (Telegram, Discord, Slack, … through Apprise), for the page or some components."""

    class Kind(models.TextChoices):
        EMAIL = "email", _("Email")
        WEBHOOK = "webhook", _("Webhook")
        CHAT = "chat", _("Community channel")

    class State(models.TextChoices):
        PENDING = "pending", _("Waiting for confirmation")
        ACTIVE = "active", _("Active")
        QUARANTINED = "quarantined", _("Quarantined after failures")
        UNSUBSCRIBED = "unsubscribed", _("Unsubscribed")
        DISABLED = "disabled", _("Disabled: the endpoint is gone")

    public_id = models.CharField(max_length=12, unique=True, default=new_public_id, editable=False)
    kind = models.CharField(max_length=8, choices=Kind.choices)
    email = models.EmailField(blank=True)
    endpoint = models.URLField(max_length=2000, blank=True)
    # A community channel: its Apprise URL (tgram://bot-token/chat-id, discord://id/token,
    # …). It holds the channel's credentials: never shown again once saved (`chat_label`).
    chat_url = models.CharField(max_length=2000, blank=True, editable=False)
    chat_name = models.CharField(
        max_length=120, blank=True, help_text='What operators call the channel ("Official Telegram channel").'
    )
    # No components and no assets means the whole page, including what is added later.
    components = models.ManyToManyField(Component, blank=True, related_name="subscribers")
    # Deposits and withdrawals of these assets (their networks' changes).
    assets = models.ManyToManyField(Asset, blank=True, related_name="subscribers")
    state = models.CharField(max_length=12, choices=State.choices, default=State.PENDING)
    # The Standard Webhooks signing secret (whsec_…), shown once when the subscription is made.
    webhook_secret = models.CharField(max_length=100, blank=True, editable=False)
    # Who is told when the webhook is quarantined (optional).
    owner_email = models.EmailField(blank=True, help_text="Told when deliveries to this webhook are paused.")
    # The language of its mail (subject, texts, incident content, links): chosen at sign-up,
    # the language of the page subscribed from by default. Webhook bodies do not follow it:
    # they are the default language's, every other language beside (`translations`).
    language = models.CharField(
        _("Language"),
        max_length=16,
        choices=settings.LANGUAGES,
        default=settings.LANGUAGE_CODE,
        help_text="The language of the mail sent to this subscriber.",
    )
    # Failed webhook attempts in a row, any message; a success resets it.
    consecutive_failures = models.PositiveIntegerField(default=0, editable=False)
    quarantined_at = models.DateTimeField(null=True, blank=True, editable=False)
    disabled_reason = models.CharField(max_length=300, blank=True, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    confirmed_at = models.DateTimeField(null=True, blank=True)
    unsubscribed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["email"], condition=models.Q(kind="email"), name="one_subscription_per_email"
            ),
            models.CheckConstraint(
                condition=(models.Q(kind="email") & ~models.Q(email=""))
                | (models.Q(kind="webhook") & ~models.Q(endpoint=""))
                | (models.Q(kind="chat") & ~models.Q(chat_url="")),
                name="subscriber_has_an_address",
            ),
        ]

    def __str__(self) -> str:
        return self.email or self.endpoint or self.chat_label

    @property
    def chat_label(self) -> str:
        """A channel named without its credentials: its name and service (`tgram`)."""
        if self.kind != self.Kind.CHAT:
            return ""
        service = self.chat_url.split("://", 1)[0]
        return f"{self.chat_name or 'channel'} ({service})"


class Notification(models.Model):
    """The outbox: one message to subscribers, written in the transaction of the change
    that causes it, so a change is never committed without its message.

    Workers later make one `Delivery` per subscriber told (`fanned_out_at` records that).
    `payload` is the public state at the time (Statuspage's webhook shapes without `meta`),
    so a delivery made hours later still tells what was true then.
    """

    class Kind(models.TextChoices):
        INCIDENT_OPENED = "incident.opened", _("Incident opened")
        INCIDENT_UPDATED = "incident.updated", _("Incident updated")
        INCIDENT_RESOLVED = "incident.resolved", _("Incident resolved")
        POSTMORTEM_PUBLISHED = "incident.postmortem", _("Postmortem published")
        MAINTENANCE_SCHEDULED = "maintenance.scheduled", _("Maintenance scheduled")
        MAINTENANCE_REMINDER = "maintenance.reminder", _("Maintenance reminder")
        MAINTENANCE_STARTED = "maintenance.started", _("Maintenance started")
        MAINTENANCE_UPDATED = "maintenance.updated", _("Maintenance updated")
        MAINTENANCE_COMPLETED = "maintenance.completed", _("Maintenance completed")
        MAINTENANCE_CANCELLED = "maintenance.cancelled", _("Maintenance cancelled")
        MAINTENANCE_RESCHEDULED = "maintenance.rescheduled", _("Maintenance rescheduled")
        COMPONENT_UPDATED = "component.updated", _("Component status changed")
        FUNDING_UPDATED = "funding.updated", _("Deposits or withdrawals changed")
        SUBSCRIPTION_CONFIRM = "subscription.confirm", _("Subscription: confirm your address")
        SUBSCRIPTION_EXISTING = "subscription.existing", _("Subscription: already subscribed")
        WEBHOOK_QUARANTINED = "webhook.quarantined", _("Webhook quarantined (to its owner)")

    public_id = models.CharField(max_length=12, unique=True, default=new_public_id, editable=False)
    kind = models.CharField(max_length=32, choices=Kind.choices)
    # The public change it tells of, when there is one (a reminder or a subscription mail is none).
    event = models.ForeignKey(PublicEvent, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    incident = models.ForeignKey(
        Incident, null=True, blank=True, on_delete=models.CASCADE, related_name="notifications"
    )
    update = models.ForeignKey(
        IncidentUpdate, null=True, blank=True, on_delete=models.CASCADE, related_name="notifications"
    )
    component = models.ForeignKey(
        Component, null=True, blank=True, on_delete=models.CASCADE, related_name="notifications"
    )
    # What it touches: component subscribers hear of it when one of theirs is here.
    components = models.ManyToManyField(Component, blank=True, related_name="+")
    # A deposit or withdrawal change: the asset's subscribers hear of it.
    asset = models.ForeignKey(Asset, null=True, blank=True, on_delete=models.CASCADE, related_name="+")
    # Set for a message to one subscriber only (confirmation, notice to a webhook's owner).
    recipient = models.ForeignKey(
        "Subscriber", null=True, blank=True, on_delete=models.CASCADE, related_name="direct_notifications"
    )
    payload = models.JSONField(default=dict)
    created_at = models.DateTimeField()
    fanned_out_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-id"]
        indexes = [
            models.Index(
                fields=["id"], condition=models.Q(fanned_out_at__isnull=True), name="notification_not_fanned_out"
            ),
        ]

    def __str__(self) -> str:
        subject = self.incident or self.component or self.recipient
        return f"{self.get_kind_display()}: {subject}" if subject else self.get_kind_display()


class Delivery(models.Model):
    """One notification to one subscriber, by email or webhook, tried until it succeeds or
    the retry schedule runs out. Unique per (notification, subscriber): making deliveries
    twice makes nothing twice."""

    class Channel(models.TextChoices):
        EMAIL = "email", _("Email")
        WEBHOOK = "webhook", _("Webhook")
        CHAT = "chat", _("Community channel")

    class State(models.TextChoices):
        PENDING = "pending", _("Pending")
        DELIVERED = "delivered", _("Delivered")
        FAILED = "failed", _("Failed: gave up")
        CANCELLED = "cancelled", _("Not sent: subscriber no longer active")

    notification = models.ForeignKey(Notification, on_delete=models.CASCADE, related_name="deliveries")
    subscriber = models.ForeignKey(Subscriber, on_delete=models.CASCADE, related_name="deliveries")
    channel = models.CharField(max_length=8, choices=Channel.choices)
    state = models.CharField(max_length=10, choices=State.choices, default=State.PENDING)
    attempt_count = models.PositiveSmallIntegerField(default=0)
    # When the next try is due; the periodic sweep enqueues what is due (long delays live here,
    # not in broker countdowns).
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    # When a task for it was last handed to the broker; a lost message is re-sent after a while.
    enqueued_at = models.DateTimeField(null=True, blank=True)
    # A worker holds it until then; another worker leaves it alone.
    in_flight_until = models.DateTimeField(null=True, blank=True)
    last_status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    last_error = models.CharField(max_length=500, blank=True)
    delivered_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-id"]
        verbose_name_plural = "deliveries"
        constraints = [
            models.UniqueConstraint(fields=["notification", "subscriber"], name="one_delivery_per_subscriber"),
        ]
        indexes = [models.Index(fields=["state", "next_attempt_at"], name="delivery_due")]

    def __str__(self) -> str:
        return f"{self.notification} → {self.subscriber}"


class ChatThread(models.Model):
    """The thread a channel's messages about one incident go to, where the service threads
    (Slack: the first message's `ts`; each later one is its reply)."""

    subscriber = models.ForeignKey(Subscriber, on_delete=models.CASCADE, related_name="+")
    incident = models.ForeignKey(Incident, on_delete=models.CASCADE, related_name="+")
    thread = models.CharField(max_length=64)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["subscriber", "incident"], name="one_thread_per_channel_incident")
        ]

    def __str__(self) -> str:
        return f"{self.subscriber_id}/{self.incident_id}: {self.thread}"


class DeliveryAttempt(models.Model):
    """The log of every try: when, how long, what came back."""

    delivery = models.ForeignKey(Delivery, on_delete=models.CASCADE, related_name="attempts")
    number = models.PositiveSmallIntegerField()
    started_at = models.DateTimeField()
    duration_ms = models.PositiveIntegerField()
    # The address connected to (webhooks), after the SSRF check.
    address = models.CharField(max_length=64, blank=True)
    status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    error = models.CharField(max_length=500, blank=True)
    response_excerpt = models.TextField(blank=True)

    class Meta:
        ordering = ["delivery", "number"]

    def __str__(self) -> str:
        return f"attempt {self.number} of {self.delivery_id}: {self.status_code or self.error or 'ok'}"
