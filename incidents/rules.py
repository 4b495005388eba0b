"""Status rules, pure: no database, no Django models, no clock of their own.

Everything the page derives from raw facts lives here, so it can be read in one place and
tested with tables (tests/test_rules.py):

* severity order of component statuses, and a group's status;
* the page indicator and its description, and the components the banner names;
* when resolving an incident is refused (components it would leave down);
* an incident's impact;
* which status transitions are allowed;
* per-day uptime from the status-change log, and the percentage over a range;
* incident durations (time to identify, to mitigate, to resolve);
* trading modes of a product, what each lets a trader do, and how it counts on the banner.

Values are the plain strings of Statuspage's v2 vocabulary.

Texts for readers are in the active language (Django's translation, which is no import of
the project): each function returns a plain `str`, translated when it is called, so a
caller that stores the result (the snapshot, under `translation.override`) stores text,
never a lazy object. The tables of English texts (`INDICATOR_DESCRIPTION`,
`DEFAULT_BODIES`, `STATUS_LABEL`) stay English: they are marked for the catalogs only
(`gettext_noop`); `INDICATOR_DESCRIPTION` is also the wire's vocabulary (webhooks, API).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta, tzinfo

from django.utils.translation import gettext, gettext_noop, pgettext

OPERATIONAL = "operational"
DEGRADED = "degraded_performance"
PARTIAL = "partial_outage"
MAJOR = "major_outage"
MAINTENANCE = "under_maintenance"

COMPONENT_STATUSES = (OPERATIONAL, DEGRADED, PARTIAL, MAJOR, MAINTENANCE)

# How bad a component status is. Maintenance sits above operational and below every
# outage: planned work never hides an outage.
SEVERITY = {OPERATIONAL: 0, MAINTENANCE: 1, DEGRADED: 2, PARTIAL: 3, MAJOR: 4}

# The two kinds of timeline, and their statuses (Statuspage's words).
INCIDENT, MAINTENANCE_KIND = "incident", "maintenance"
INVESTIGATING, IDENTIFIED, MONITORING, RESOLVED, POSTMORTEM = (
    "investigating",
    "identified",
    "monitoring",
    "resolved",
    "postmortem",
)
SCHEDULED, IN_PROGRESS, VERIFYING, PRE_OPEN, COMPLETED, CANCELLED = (
    "scheduled",
    "in_progress",
    "verifying",
    "pre_open",
    "completed",
    "cancelled",
)

INCIDENT_OPEN = (INVESTIGATING, IDENTIFIED, MONITORING)
INCIDENT_CLOSED = (RESOLVED, POSTMORTEM)
INCIDENT_STATUSES = INCIDENT_OPEN + INCIDENT_CLOSED
# What an operator may post as a timeline update.
INCIDENT_UPDATE_STATUSES = INCIDENT_OPEN + (RESOLVED,)

# Pre-open: the work is done and the market reopens in stages, as exchanges do after an
# outage: orders can be cancelled and post-only orders placed, nothing matches yet; at
# completion matching resumes (OKX's `pre_open` state, Coinbase's `auction_mode`).
MAINTENANCE_ACTIVE = (IN_PROGRESS, VERIFYING, PRE_OPEN)
MAINTENANCE_CLOSED = (COMPLETED, CANCELLED)
MAINTENANCE_STATUSES = (SCHEDULED,) + MAINTENANCE_ACTIVE + MAINTENANCE_CLOSED

# Maintenance moves forward only; "verifying" may go back to "in progress" when a check
# fails, and so may "pre-open" when the reopening has to stop.
MAINTENANCE_TRANSITIONS = {
    SCHEDULED: {SCHEDULED, IN_PROGRESS, CANCELLED},
    IN_PROGRESS: {IN_PROGRESS, VERIFYING, PRE_OPEN, COMPLETED},
    VERIFYING: {IN_PROGRESS, VERIFYING, PRE_OPEN, COMPLETED},
    PRE_OPEN: {IN_PROGRESS, PRE_OPEN, COMPLETED},
    COMPLETED: set(),
    CANCELLED: set(),
}
# The standard text of an update posted without one (Statuspage's own defaults for incidents).
# English here; `gettext(DEFAULT_BODIES[status])` gives it in the active language.
DEFAULT_BODIES = {
    INVESTIGATING: gettext_noop("We are currently investigating this issue."),
    IDENTIFIED: gettext_noop("The issue has been identified and a fix is being implemented."),
    MONITORING: gettext_noop("A fix has been implemented and we are monitoring the results."),
    RESOLVED: gettext_noop("This incident has been resolved."),
    IN_PROGRESS: gettext_noop("Scheduled maintenance is in progress. We will provide updates as necessary."),
    VERIFYING: gettext_noop("Maintenance work is done; we are verifying that everything works as expected."),
    PRE_OPEN: gettext_noop(
        "Maintenance work is done and the pre-open phase has begun: you can cancel orders and place post-only "
        "orders; nothing is matched until the phase ends."
    ),
    COMPLETED: gettext_noop("The scheduled maintenance has been completed."),
    CANCELLED: gettext_noop("This scheduled maintenance has been cancelled."),
}

# What operators call each move (admin, API, automation), and the status it leads to.
MAINTENANCE_ACTIONS = {
    "start": IN_PROGRESS,
    "verify": VERIFYING,
    "pre_open": PRE_OPEN,
    "complete": COMPLETED,
    "cancel": CANCELLED,
}

IMPACTS = ("none", "minor", "major", "critical")
IMPACT_RANK = {impact: rank for rank, impact in enumerate(IMPACTS)}

# A component status's impact, and the indicator it raises the page to.
STATUS_IMPACT = {OPERATIONAL: "none", MAINTENANCE: "none", DEGRADED: "minor", PARTIAL: "major", MAJOR: "critical"}

# Statuses that mean something is wrong for users. Maintenance is announced work, not an outage.
OUTAGE_STATUSES = (DEGRADED, PARTIAL, MAJOR)

# An open incident says something is wrong even when it names no component: it raises the
# page at least this far, so "All Systems Operational" never sits above an active incident.
OPEN_INCIDENT_FLOOR = "minor"

# Statuspage's fixed texts, in English: what the wire carries (webhooks' `page`, the API's
# schema). Readers get them in their language from `page_status`.
INDICATOR_DESCRIPTION = {
    "none": gettext_noop("All Systems Operational"),
    "minor": gettext_noop("Partially Degraded Service"),
    "major": gettext_noop("Partial System Outage"),
    "critical": gettext_noop("Major System Outage"),
    "maintenance": gettext_noop("Service Under Maintenance"),
}

STATUS_LABEL = {
    OPERATIONAL: gettext_noop("operational"),
    DEGRADED: gettext_noop("degraded performance"),
    PARTIAL: gettext_noop("partial outage"),
    MAJOR: gettext_noop("major outage"),
    MAINTENANCE: gettext_noop("under maintenance"),
}

# Uptime: the share of a period counted as downtime, by status. A major outage is down for
# its whole length; a partial outage for 30 % of it (some users or some calls fail);
# degraded performance and planned maintenance are slow or announced, not down.
DOWNTIME_WEIGHT = {OPERATIONAL: 0.0, MAINTENANCE: 0.0, DEGRADED: 0.0, PARTIAL: 0.3, MAJOR: 1.0}


# --- trading modes -----------------------------------------------------------------------
# What a trading product (spot, perpetual swaps, options…) accepts, in the exchanges' own
# words (Kraken's cancel_only/post_only/limit_only/reduce_only, Coinbase's
# trading_disabled, OKX's pre-open). Apart from the component's status: a market can be
# "operational" and cancel-only after an outage, or degraded and still fully open.
NORMAL, CANCEL_ONLY, POST_ONLY, LIMIT_ONLY, REDUCE_ONLY, HALTED = (
    "normal",
    "cancel_only",
    "post_only",
    "limit_only",
    "reduce_only",
    "halted",
)
TRADING_MODES = (NORMAL, PRE_OPEN, CANCEL_ONLY, POST_ONLY, LIMIT_ONLY, REDUCE_ONLY, HALTED)

TRADING_MODE_LABEL = {
    NORMAL: gettext_noop("Normal trading"),
    PRE_OPEN: gettext_noop("Pre-open"),
    CANCEL_ONLY: gettext_noop("Cancel only"),
    POST_ONLY: gettext_noop("Post only"),
    LIMIT_ONLY: gettext_noop("Limit orders only"),
    REDUCE_ONLY: gettext_noop("Reduce only"),
    HALTED: gettext_noop("Trading halted"),
}
# What a trader can do in each mode, said to the trader.
TRADING_MODE_MEANING = {
    NORMAL: gettext_noop("All order types are accepted and matched."),
    PRE_OPEN: gettext_noop(
        "You can cancel orders and place post-only orders; nothing is matched until the pre-open phase ends."
    ),
    CANCEL_ONLY: gettext_noop("You can cancel orders; new orders are refused."),
    POST_ONLY: gettext_noop(
        "You can place orders that rest on the book and cancel them; orders that would match at once are refused."
    ),
    LIMIT_ONLY: gettext_noop("You can place limit orders and cancel orders; market orders are refused."),
    REDUCE_ONLY: gettext_noop("You can only close or reduce positions; orders that would open or add are refused."),
    HALTED: gettext_noop("Trading is stopped: no orders are accepted, matched or cancelled."),
}
# How a mode counts on the banner, the page indicator and its group: the component
# status a product in it counts as at least. Halted is an outage for a trader; cancel-only
# is a partial one (open orders can be pulled, nothing new goes in); the narrowing modes
# are degraded service; pre-open is the end of announced work.
TRADING_MODE_STATUS = {
    NORMAL: OPERATIONAL,
    PRE_OPEN: MAINTENANCE,
    CANCEL_ONLY: PARTIAL,
    POST_ONLY: DEGRADED,
    LIMIT_ONLY: DEGRADED,
    REDUCE_ONLY: DEGRADED,
    HALTED: MAJOR,
}


def counted_status(status: str, trading_mode: str | None) -> str:
    """The status a component counts as on the banner and in its group: the worse of its
    own and its trading mode's (a component that does not trade has no mode: None)."""
    return worst_status((status, TRADING_MODE_STATUS[trading_mode or NORMAL]))


def trading_mode_text(trading_mode: str) -> str:
    """'Cancel only: you can cancel orders; new orders are refused.' in the active language."""
    meaning = gettext(TRADING_MODE_MEANING[trading_mode])
    return pgettext("trading mode: what it means", "%(mode)s: %(meaning)s") % {
        "mode": gettext(TRADING_MODE_LABEL[trading_mode]),
        "meaning": meaning[:1].lower() + meaning[1:] if meaning[:1].isascii() else meaning,
    }


# --- deposits and withdrawals ---------------------------------------------------------------
# Each network of an asset (USDT on ERC20, TRC20, …) has a deposit and a withdrawal status.
ENABLED, DELAYED, SUSPENDED = "enabled", "delayed", "suspended"
FUNDING_STATUSES = (ENABLED, DELAYED, SUSPENDED)
FUNDING_LABEL = {
    ENABLED: gettext_noop("Enabled"),
    DELAYED: gettext_noop("Delayed"),
    SUSPENDED: gettext_noop("Suspended"),
}
# How a funding status counts, as a component status would (the section's icons and order).
FUNDING_STATUS = {ENABLED: OPERATIONAL, DELAYED: DEGRADED, SUSPENDED: MAJOR}


def funding_is_normal(deposit: str, withdrawal: str) -> bool:
    """Whether a network is left out of the short lists (the page's section, the bots'
    JSON): both ways enabled."""
    return deposit == ENABLED and withdrawal == ENABLED


def funding_severity(deposit: str, withdrawal: str) -> int:
    """The worse of a network's two statuses, for ordering what is not normal first."""
    return max(SEVERITY[FUNDING_STATUS[deposit]], SEVERITY[FUNDING_STATUS[withdrawal]])


def worst_status(statuses: Iterable[str]) -> str:
    """The most severe status of several; operational when there are none."""
    return max(statuses, key=SEVERITY.__getitem__, default=OPERATIONAL)


def group_status(child_statuses: Iterable[str]) -> str:
    """A group shows its worst visible child."""
    return worst_status(child_statuses)


def max_impact(impacts: Iterable[str]) -> str:
    return max(impacts, key=lambda impact: IMPACT_RANK.get(impact, 0), default="none")


@dataclass(frozen=True)
class PageStatus:
    indicator: str
    description: str


def page_status(
    component_statuses: Iterable[str],
    open_incident_impacts: Iterable[str] = (),
    maintenance_in_progress: bool = False,
) -> PageStatus:
    """The page banner: worst of the visible components and of the open incidents.

    The rule, in words: the indicator is the highest of (a) the impact of the worst
    visible component (degraded → minor, partial outage → major, major outage →
    critical) and (b) the impact of every unresolved incident, an incident of no impact
    counting as `minor` (OPEN_INCIDENT_FLOOR): an operator who opened an incident says
    something is wrong, and the page must not answer "All Systems Operational" above it.
    The worst component is never blended away by healthy ones. Only when that comes out as
    `none` does planned work show: a component under maintenance or a maintenance in
    progress makes it `maintenance`. Hidden components are not passed in, so they never
    count. The description is Statuspage's fixed text for the indicator, in the active
    language (`INDICATOR_DESCRIPTION[indicator]` is the English, for the wire).
    """
    statuses = list(component_statuses)
    incidents = [max_impact((impact, OPEN_INCIDENT_FLOOR)) for impact in open_incident_impacts]
    indicator = max_impact([STATUS_IMPACT[s] for s in statuses] + incidents)
    if indicator == "none" and (maintenance_in_progress or MAINTENANCE in statuses):
        indicator = "maintenance"
    return PageStatus(indicator, gettext(INDICATOR_DESCRIPTION[indicator]))


def unexplained_outages(components: Iterable[tuple[str, str, str]], explained: Iterable[str]) -> list[str]:
    """The names of the components that are degraded or down with nothing open to explain it.

    `components` are (id, name, status) in page order; `explained` the ids of the
    components of every open incident and active maintenance. When an operator set a
    component's status by hand, or resolved an incident leaving it down, the banner's
    colour has no incident under it: the banner names these instead, worst first (page
    order within a status), so the page says what is down.
    """
    covered = set(explained)
    down = [(name, status) for key, name, status in components if status in OUTAGE_STATUSES and key not in covered]
    return [name for name, _ in sorted(down, key=lambda item: -SEVERITY[item[1]])]


# How many names the banner lists before it says how many more.
BANNER_NAMES = 4


def name_list(names: Sequence[str], limit: int = BANNER_NAMES) -> str:
    """'REST API, Order book'; past `limit`, 'A, B, C, D and 3 more' (in Chinese the
    names are joined with '、')."""
    separator = pgettext("list separator", ", ")
    if len(names) <= limit:
        return separator.join(names)
    return gettext("%(names)s and %(count)d more") % {
        "names": separator.join(names[:limit]),
        "count": len(names) - limit,
    }


def check_resolve(left: Mapping[str, str], *, confirmed: bool) -> str | None:
    """Why resolving an incident is refused, or None when it may be resolved.

    `left` maps the components the incident touched (or the resolving update sets) that
    no other open incident or active maintenance covers, by name, to their status once the
    update applies. Resolving while any of them stays degraded or down would leave the
    banner coloured with no incident to explain it, which is almost always a slip (a
    status picked in the wrong row, a resolve posted too early). It is refused unless the
    operator confirms that they stay down: a real case (the incident is over for most
    users, one market stays halted), and then the banner names them
    (`unexplained_outages`). Refusing outright would force a second incident for that
    case; warning without refusing is what let the slip through.
    """
    down = [
        gettext("%(name)s (%(status)s)") % {"name": name, "status": gettext(STATUS_LABEL[status])}
        for name, status in left.items()
        if status in OUTAGE_STATUSES
    ]
    if not down or confirmed:
        return None
    names = name_list(down, limit=len(down))
    if len(down) > 1:
        return gettext(
            "Resolving would leave %(names)s down with no open incident to explain it. "
            "Set them to operational, or confirm that they stay down."
        ) % {"names": names}
    return gettext(
        "Resolving would leave %(names)s down with no open incident to explain it. "
        "Set it to operational, or confirm that it stays down."
    ) % {"names": names}


def impact_from_statuses(statuses: Iterable[str]) -> str:
    """An incident's impact from the component statuses its updates set (the worst wins)."""
    return max_impact(STATUS_IMPACT[s] for s in statuses)


def incident_impact(*, kind: str, statuses: Iterable[str], override: str = "") -> str:
    """The impact shown for an incident: the operator's override, else derived.

    `statuses` are all the statuses the incident's updates ever set, so a resolved
    incident keeps the impact of its worst moment.
    """
    if kind == MAINTENANCE_KIND:
        return "maintenance"
    if override:
        return override
    return impact_from_statuses(statuses)


def in_history(kind: str, status: str) -> bool:
    """Whether an incident or maintenance belongs in the history (pages and feeds): what has
    happened or was called off. A maintenance still scheduled has not happened yet; it is
    announced as upcoming, not listed as past."""
    return not (kind == MAINTENANCE_KIND and status == SCHEDULED)


def check_incident_update(current: str, new: str) -> str | None:
    """Why an update from `current` to `new` is refused, or None when it is allowed."""
    if new not in INCIDENT_UPDATE_STATUSES:
        return gettext("'%(status)s' is not an incident update status; use one of %(choices)s.") % {
            "status": new,
            "choices": ", ".join(INCIDENT_UPDATE_STATUSES),
        }
    if current in INCIDENT_CLOSED:
        return gettext("The incident is resolved; open a new incident instead of updating this one.")
    return None


def check_maintenance_transition(current: str, new: str) -> str | None:
    """Why a maintenance may not move from `current` to `new`, or None when it may."""
    if new not in MAINTENANCE_STATUSES:
        return gettext("'%(status)s' is not a maintenance status; use one of %(choices)s.") % {
            "status": new,
            "choices": ", ".join(MAINTENANCE_STATUSES),
        }
    if new not in MAINTENANCE_TRANSITIONS[current]:
        return gettext("A maintenance that is %(current)s cannot become %(new)s.") % {
            "current": current.replace("_", " "),
            "new": new.replace("_", " "),
        }
    return None


# --- durations ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Durations:
    to_identify: timedelta | None
    to_mitigate: timedelta | None
    to_resolve: timedelta | None


def incident_durations(
    started_at: datetime,
    identified_at: datetime | None,
    monitoring_at: datetime | None,
    resolved_at: datetime | None,
) -> Durations:
    """Time from the start to cause identified, to mitigated (first monitoring), to resolved.

    A step skipped by the operators takes the time of the next step reached: an incident
    that went straight to monitoring was identified by then, one resolved without
    monitoring was mitigated when it was resolved.
    """
    identified = identified_at or monitoring_at or resolved_at
    mitigated = monitoring_at or resolved_at

    def since_start(moment: datetime | None) -> timedelta | None:
        return max(moment - started_at, timedelta(0)) if moment else None

    return Durations(since_start(identified), since_start(mitigated), since_start(resolved_at))


def format_duration(value: timedelta | None) -> str:
    """'41 min', '2 h 05 min', '3 d 4 h'; '< 1 min' for a few seconds; an em dash for nothing.

    Time that happened is never shown as none: 59 s of outage reads '< 1 min', not '0 min'.
    """
    if value is None:
        return "—"
    seconds = value.total_seconds()
    if 0 < seconds < 60:
        return gettext("< 1 min")
    minutes = round(seconds / 60)
    if minutes < 60:
        return gettext("%(minutes)d min") % {"minutes": minutes}
    hours, minutes = divmod(minutes, 60)
    if hours < 24:
        return gettext("%(hours)d h %(minutes)02d min") % {"hours": hours, "minutes": minutes}
    days, hours = divmod(hours, 24)
    return gettext("%(days)d d %(hours)d h") % {"days": days, "hours": hours}


# --- uptime ------------------------------------------------------------------------------


@dataclass
class DayUptime:
    """One day of one component, in the page's time zone."""

    day: date
    # Seconds of the day spent in each non-operational status.
    seconds: dict[str, float] = field(default_factory=dict)
    # Seconds of the day observed (the day so far for today, zero before the start date).
    observed: float = 0.0

    @property
    def downtime(self) -> float:
        return sum(DOWNTIME_WEIGHT[s] * secs for s, secs in self.seconds.items())

    @property
    def uptime(self) -> float | None:
        if self.observed <= 0:
            return None
        return max(0.0, 1.0 - self.downtime / self.observed)

    @property
    def worst(self) -> str:
        return worst_status(s for s, secs in self.seconds.items() if secs > 0)


def _day_bounds(day: date, tz: tzinfo) -> tuple[datetime, datetime]:
    start = datetime.combine(day, time(0), tzinfo=tz)
    end = datetime.combine(day + timedelta(days=1), time(0), tzinfo=tz)
    return start, end


def daily_uptime(
    changes: Sequence[tuple[datetime, str]],
    *,
    status_before: str,
    first_day: date,
    last_day: date,
    tz: tzinfo,
    now: datetime,
    counted_from: datetime | None = None,
) -> list[DayUptime]:
    """Per-day time in each status from the status-change log.

    `changes` are (when, new status) pairs, in any order; `status_before` is the status
    in force at the start of `first_day`. Time after `now` and before `counted_from` (the
    component's start) is not observed.
    """
    points = sorted(changes)
    days: list[DayUptime] = []
    status = status_before
    index = 0
    day = first_day
    while day <= last_day:
        start, end = _day_bounds(day, tz)
        lower = max(start, counted_from) if counted_from else start
        upper = min(end, now)
        result = DayUptime(day)
        cursor = start
        # Consume changes before the day starts (when first_day is later than the log).
        while index < len(points) and points[index][0] <= start:
            status = points[index][1]
            index += 1
        while True:
            nxt = points[index][0] if index < len(points) and points[index][0] < end else end
            seg_start, seg_end = max(cursor, lower), min(nxt, upper)
            if seg_end > seg_start:
                secs = (seg_end - seg_start).total_seconds()
                result.observed += secs
                if status != OPERATIONAL:
                    result.seconds[status] = result.seconds.get(status, 0.0) + secs
            if nxt >= end:
                break
            status = points[index][1]
            cursor = nxt
            index += 1
        days.append(result)
        day += timedelta(days=1)
    return days


def uptime_percentage(days: Iterable[DayUptime]) -> float | None:
    """Uptime over several days, weighted by the time observed; None when nothing was."""
    observed = downtime = 0.0
    for day in days:
        observed += day.observed
        downtime += day.downtime
    if observed <= 0:
        return None
    percent = round(100.0 * max(0.0, 1.0 - downtime / observed), 2)
    # A few seconds down in 90 days would round to 100.00 %: never claim none.
    return min(percent, 99.99) if downtime > 0 else percent


def describe_day(day: DayUptime) -> str:
    """The tooltip text of one uptime bar."""
    if day.observed <= 0:
        return gettext("No data")
    parts = [
        f"{gettext(label)} {format_duration(timedelta(seconds=day.seconds[s]))}"
        for s, label in _DAY_LABELS
        if day.seconds.get(s, 0) > 0
    ]
    # status.js splits the parts again for its popover: "; " (or "；" in Chinese).
    return (
        pgettext("separator between the statuses of a day", "; ").join(parts)
        if parts
        else gettext("No downtime recorded")
    )


_DAY_LABELS = (
    (MAJOR, gettext_noop("Major outage")),
    (PARTIAL, gettext_noop("Partial outage")),
    (DEGRADED, gettext_noop("Degraded")),
    (MAINTENANCE, gettext_noop("Maintenance")),
)
