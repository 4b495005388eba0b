"""The pure status rules, as tables. No database."""

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from incidents import rules

HKT = ZoneInfo("Asia/Hong_Kong")
OP, DEG, PART, MAJ, MAINT = rules.OPERATIONAL, rules.DEGRADED, rules.PARTIAL, rules.MAJOR, rules.MAINTENANCE


@pytest.mark.parametrize(
    ("components", "incidents", "maintenance", "indicator", "description"),
    [
        ([], [], False, "none", "All Systems Operational"),
        ([OP, OP, OP], [], False, "none", "All Systems Operational"),
        ([OP, DEG], [], False, "minor", "Partially Degraded Service"),
        ([OP, PART], [], False, "major", "Partial System Outage"),
        ([OP, MAJ], [], False, "critical", "Major System Outage"),
        # One red component among many healthy ones is not blended away.
        ([OP] * 20 + [MAJ], [], False, "critical", "Major System Outage"),
        ([DEG, PART, MAJ], [], False, "critical", "Major System Outage"),
        ([MAINT], [], False, "maintenance", "Service Under Maintenance"),
        ([OP], [], True, "maintenance", "Service Under Maintenance"),
        # Maintenance never outranks an outage.
        ([MAINT, DEG], [], False, "minor", "Partially Degraded Service"),
        ([MAINT, MAJ], [], True, "critical", "Major System Outage"),
        # An open incident raises the page even with every component green ...
        ([OP, OP], ["major"], False, "major", "Partial System Outage"),
        ([], ["minor"], False, "minor", "Partially Degraded Service"),
        # ... and so does one of no impact: never "All Systems Operational" above an open incident.
        ([OP], ["none"], False, "minor", "Partially Degraded Service"),
        ([], ["none"], False, "minor", "Partially Degraded Service"),
        ([OP], ["none"], True, "minor", "Partially Degraded Service"),
        ([PART], ["none"], False, "major", "Partial System Outage"),
        # The worse of components and incidents wins.
        ([MAJ], ["minor"], False, "critical", "Major System Outage"),
        ([DEG], ["critical"], False, "critical", "Major System Outage"),
    ],
)
def test_page_status(components, incidents, maintenance, indicator, description):
    result = rules.page_status(components, incidents, maintenance_in_progress=maintenance)
    assert (result.indicator, result.description) == (indicator, description)


def test_every_indicator_keeps_statuspage_vocabulary():
    """Whatever the inputs, the indicator and its description are Statuspage's own."""
    fixed = {
        "none": "All Systems Operational",
        "minor": "Partially Degraded Service",
        "major": "Partial System Outage",
        "critical": "Major System Outage",
        "maintenance": "Service Under Maintenance",
    }
    for statuses in ([], [OP], [DEG], [PART], [MAJ], [MAINT]):
        for incidents in ([], ["none"], ["minor"], ["major"], ["critical"]):
            for maintenance in (False, True):
                result = rules.page_status(statuses, incidents, maintenance_in_progress=maintenance)
                assert fixed[result.indicator] == result.description


@pytest.mark.parametrize(
    ("components", "explained", "names"),
    [
        ([], [], []),
        ([("a", "REST API", OP)], [], []),
        # Maintenance is announced work, not an outage to explain.
        ([("a", "REST API", MAINT)], [], []),
        ([("a", "REST API", DEG)], [], ["REST API"]),
        ([("a", "REST API", PART), ("b", "Order book", MAJ)], [], ["Order book", "REST API"]),
        # Page order within one status.
        ([("a", "REST API", MAJ), ("b", "Order book", MAJ)], [], ["REST API", "Order book"]),
        # An open incident (or maintenance) touching the component explains it.
        ([("a", "REST API", MAJ), ("b", "Order book", DEG)], ["a"], ["Order book"]),
        ([("a", "REST API", MAJ)], ["a", "z"], []),
    ],
)
def test_unexplained_outages(components, explained, names):
    assert rules.unexplained_outages(components, explained) == names


@pytest.mark.parametrize(
    ("names", "text"),
    [
        ([], ""),
        (["REST API"], "REST API"),
        (["REST API", "Order book"], "REST API, Order book"),
        (["A", "B", "C", "D"], "A, B, C, D"),
        (["A", "B", "C", "D", "E", "F"], "A, B, C, D and 2 more"),
    ],
)
def test_name_list(names, text):
    assert rules.name_list(names) == text


@pytest.mark.parametrize(
    ("left", "confirmed", "refused"),
    [
        ({}, False, None),
        ({"REST API": OP}, False, None),
        ({"REST API": MAINT}, False, None),
        ({"REST API": MAJ}, False, "Resolving would leave REST API (major outage) down"),
        ({"REST API": DEG, "Spot": OP}, False, "Resolving would leave REST API (degraded performance) down"),
        (
            {"REST API": PART, "Spot": MAJ},
            False,
            "Resolving would leave REST API (partial outage), Spot (major outage) down",
        ),
        # The operator says they stay down: allowed (the banner then names them).
        ({"REST API": MAJ}, True, None),
    ],
)
def test_check_resolve(left, confirmed, refused):
    problem = rules.check_resolve(left, confirmed=confirmed)
    if refused is None:
        assert problem is None
    else:
        assert problem.startswith(refused)
        assert "confirm" in problem


@pytest.mark.parametrize(
    ("kind", "statuses", "override", "impact"),
    [
        ("incident", [], "", "none"),
        ("incident", [OP], "", "none"),
        ("incident", [DEG], "", "minor"),
        ("incident", [DEG, PART], "", "major"),
        ("incident", [DEG, MAJ, OP], "", "critical"),
        # Impact is the worst moment: recovery later does not lower it.
        ("incident", [MAJ, OP, OP], "", "critical"),
        ("incident", [MAINT], "", "none"),
        ("incident", [MAJ], "minor", "minor"),
        ("incident", [], "critical", "critical"),
        ("maintenance", [MAINT], "", "maintenance"),
        ("maintenance", [MAJ], "critical", "maintenance"),
    ],
)
def test_incident_impact(kind, statuses, override, impact):
    assert rules.incident_impact(kind=kind, statuses=statuses, override=override) == impact


@pytest.mark.parametrize(
    ("statuses", "worst"),
    [([], OP), ([OP], OP), ([OP, MAINT], MAINT), ([MAINT, DEG], DEG), ([PART, DEG], PART), ([MAJ, MAINT, OP], MAJ)],
)
def test_group_shows_its_worst_child(statuses, worst):
    assert rules.group_status(statuses) == worst


@pytest.mark.parametrize(
    ("current", "new", "allowed"),
    [
        ("investigating", "identified", True),
        ("identified", "monitoring", True),
        ("monitoring", "identified", True),  # a relapse goes back
        ("monitoring", "resolved", True),
        ("investigating", "investigating", True),
        ("resolved", "monitoring", False),
        ("resolved", "resolved", False),
        ("postmortem", "investigating", False),
        ("investigating", "postmortem", False),  # postmortem comes by publishing one
        ("investigating", "bogus", False),
        ("investigating", "in_progress", False),
    ],
)
def test_incident_update_transitions(current, new, allowed):
    assert (rules.check_incident_update(current, new) is None) is allowed


@pytest.mark.parametrize(
    ("current", "new", "allowed"),
    [
        ("scheduled", "in_progress", True),
        ("scheduled", "cancelled", True),
        ("scheduled", "scheduled", True),
        ("scheduled", "completed", False),
        ("in_progress", "verifying", True),
        ("verifying", "in_progress", True),
        ("in_progress", "completed", True),
        ("in_progress", "cancelled", False),
        ("completed", "in_progress", False),
        ("cancelled", "scheduled", False),
        ("scheduled", "resolved", False),
        # The pre-open phase: after the work, before matching resumes.
        ("in_progress", "pre_open", True),
        ("verifying", "pre_open", True),
        ("scheduled", "pre_open", False),
        ("pre_open", "completed", True),
        ("pre_open", "in_progress", True),
        ("pre_open", "verifying", False),
        ("pre_open", "cancelled", False),
        ("completed", "pre_open", False),
    ],
)
def test_maintenance_transitions(current, new, allowed):
    assert (rules.check_maintenance_transition(current, new) is None) is allowed


@pytest.mark.parametrize(
    ("status", "mode", "counted"),
    [
        # A component that does not trade has no mode: its status alone.
        (OP, None, OP),
        (MAJ, None, MAJ),
        (OP, "normal", OP),
        # Halted is an outage for a trader; cancel-only a partial one.
        (OP, "halted", MAJ),
        (OP, "cancel_only", PART),
        # The narrowing modes are degraded service; pre-open the end of announced work.
        (OP, "post_only", DEG),
        (OP, "limit_only", DEG),
        (OP, "reduce_only", DEG),
        (OP, "pre_open", MAINT),
        # The worse of the two wins, either way round.
        (MAJ, "post_only", MAJ),
        (MAINT, "cancel_only", PART),
        (DEG, "pre_open", DEG),
    ],
)
def test_a_trading_mode_counts_as_at_least_its_status(status, mode, counted):
    assert rules.counted_status(status, mode) == counted


@pytest.mark.parametrize(
    ("modes", "indicator"),
    [
        (["normal", "normal"], "none"),
        (["halted", "normal"], "critical"),
        (["cancel_only"], "major"),
        (["post_only", "normal"], "minor"),
        (["pre_open", "normal"], "maintenance"),
        (["pre_open", "post_only"], "minor"),
    ],
)
def test_the_banner_counts_trading_modes(modes, indicator):
    statuses = [rules.counted_status(OP, mode) for mode in modes]
    assert rules.page_status(statuses).indicator == indicator


def test_every_trading_mode_is_said_to_traders():
    assert set(rules.TRADING_MODES) == set(rules.TRADING_MODE_LABEL) == set(rules.TRADING_MODE_MEANING)
    assert set(rules.TRADING_MODES) == set(rules.TRADING_MODE_STATUS)
    assert rules.trading_mode_text("cancel_only") == "Cancel only: you can cancel orders; new orders are refused."


def hkt(day, hour, minute=0, second=0):
    return datetime(2021, 1, day, hour, minute, second, tzinfo=HKT)


@pytest.mark.parametrize(
    ("started", "identified", "monitoring", "resolved", "expected"),
    [
        # The demo: 17:37 start, 17:40 identified, 17:58 mitigated, 18:18 resolved.
        (hkt(29, 17, 37), hkt(29, 17, 40), hkt(29, 17, 58), hkt(29, 18, 18), (3, 21, 41)),
        # Still open: only what happened so far.
        (hkt(29, 17, 37), hkt(29, 17, 40), None, None, (3, None, None)),
        (hkt(29, 17, 37), None, None, None, (None, None, None)),
        # Straight to monitoring: identified by then.
        (hkt(29, 17, 0), None, hkt(29, 17, 30), hkt(29, 18, 0), (30, 30, 60)),
        # Resolved without monitoring: mitigated when resolved.
        (hkt(29, 17, 0), hkt(29, 17, 10), None, hkt(29, 17, 45), (10, 45, 45)),
    ],
)
def test_incident_durations(started, identified, monitoring, resolved, expected):
    durations = rules.incident_durations(started, identified, monitoring, resolved)
    minutes = tuple(
        None if d is None else d.total_seconds() / 60
        for d in (durations.to_identify, durations.to_mitigate, durations.to_resolve)
    )
    assert minutes == expected


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (None, "—"),
        (timedelta(minutes=3), "3 min"),
        (timedelta(minutes=41), "41 min"),
        (timedelta(minutes=125), "2 h 05 min"),
        (timedelta(days=3, hours=4, minutes=10), "3 d 4 h"),
        # Time that happened is never shown as none.
        (timedelta(0), "0 min"),
        (timedelta(seconds=1), "< 1 min"),
        (timedelta(seconds=29), "< 1 min"),
        (timedelta(seconds=59), "< 1 min"),
        (timedelta(seconds=60), "1 min"),
        (timedelta(seconds=89), "1 min"),
    ],
)
def test_format_duration(value, text):
    assert rules.format_duration(value) == text


DAY = 86400.0


def uptime(changes, status_before=OP, days=(29, 29), now=None, counted_from=None):
    return rules.daily_uptime(
        changes,
        status_before=status_before,
        first_day=date(2021, 1, days[0]),
        last_day=date(2021, 1, days[1]),
        tz=HKT,
        now=now or datetime(2021, 2, 1, tzinfo=UTC),
        counted_from=counted_from,
    )


@pytest.mark.parametrize(
    ("changes", "status_before", "seconds", "fraction"),
    [
        ([], OP, {}, 1.0),
        # A full day of major outage is a full day down.
        ([], MAJ, {MAJ: DAY}, 0.0),
        # The demo's REST API: partial 17:37-17:40, major to 17:58, degraded to 18:05, partial to 18:18.
        (
            [
                (hkt(29, 17, 37), PART),
                (hkt(29, 17, 40), MAJ),
                (hkt(29, 17, 58), DEG),
                (hkt(29, 18, 5), PART),
                (hkt(29, 18, 18), OP),
            ],
            OP,
            {PART: 16 * 60, MAJ: 18 * 60, DEG: 7 * 60},
            1 - (18 * 60 + 0.3 * 16 * 60) / DAY,
        ),
        # Degraded performance and maintenance are not downtime.
        ([(hkt(29, 1), DEG), (hkt(29, 2), MAINT), (hkt(29, 3), OP)], OP, {DEG: 3600, MAINT: 3600}, 1.0),
        # Partial outage counts 30 %.
        ([(hkt(29, 0), PART), (hkt(29, 10), OP)], OP, {PART: 36000}, 1 - 0.3 * 36000 / DAY),
        # Changes arrive in any order.
        ([(hkt(29, 10), OP), (hkt(29, 9), MAJ)], OP, {MAJ: 3600}, 1 - 3600 / DAY),
    ],
)
def test_daily_uptime_one_day(changes, status_before, seconds, fraction):
    (day,) = uptime(changes, status_before)
    assert day.seconds == pytest.approx(seconds)
    assert day.observed == DAY
    assert day.uptime == pytest.approx(fraction)


def test_outage_spanning_midnight_is_split_between_days():
    days = uptime([(hkt(28, 23), MAJ), (hkt(29, 1), OP)], days=(28, 29))
    assert [d.seconds.get(MAJ) for d in days] == [3600, 3600]


def test_today_counts_only_time_so_far():
    (day,) = uptime([(hkt(29, 6), MAJ)], now=hkt(29, 12))
    assert day.observed == 12 * 3600
    assert day.seconds == {MAJ: 6 * 3600}
    assert day.uptime == pytest.approx(0.5)


def test_days_before_the_component_existed_are_not_observed():
    days = uptime([], days=(27, 29), counted_from=hkt(29, 0))
    assert [d.uptime for d in days] == [None, None, 1.0]
    assert rules.uptime_percentage(days) == 100.0


def test_status_carried_in_from_before_the_window():
    days = uptime([(hkt(28, 12), OP)], status_before=MAJ, days=(28, 29))
    assert days[0].seconds == {MAJ: 12 * 3600}
    assert days[1].seconds == {}


@pytest.mark.parametrize(
    ("changes", "percent"),
    [
        ([], 100.0),
        ([(hkt(28, 0), MAJ), (hkt(28, 12), OP)], 75.0),  # half of one of two days
        ([(hkt(28, 0), PART), (hkt(29, 0), OP)], 85.0),  # 30 % of one of two days
    ],
)
def test_uptime_percentage(changes, percent):
    assert rules.uptime_percentage(uptime(changes, days=(28, 29))) == percent


def test_uptime_percentage_never_rounds_downtime_away():
    # 59 s of major outage in 30 days is 99.998 %: shown as 99.99, not 100.00.
    assert rules.uptime_percentage(uptime([(hkt(29, 9), MAJ), (hkt(29, 9, 0, 59), OP)], days=(1, 30))) == 99.99


def test_uptime_percentage_of_nothing_observed_is_none():
    assert rules.uptime_percentage(uptime([], days=(29, 29), now=hkt(28, 0))) is None


@pytest.mark.parametrize(
    ("changes", "text"),
    [
        ([], "No downtime recorded"),
        ([(hkt(29, 17, 37), MAJ), (hkt(29, 18, 18), OP)], "Major outage 41 min"),
        ([(hkt(29, 1), PART), (hkt(29, 3), DEG), (hkt(29, 4), OP)], "Partial outage 2 h 00 min; Degraded 1 h 00 min"),
        # A red bar never says "No downtime recorded": seconds count.
        ([(hkt(29, 17, 37), MAJ), (hkt(29, 17, 37, 59), OP)], "Major outage < 1 min"),
        ([(hkt(29, 9), DEG), (hkt(29, 9, 0, 1), OP)], "Degraded < 1 min"),
    ],
)
def test_day_tooltip(changes, text):
    (day,) = uptime(changes)
    assert rules.describe_day(day) == text


@pytest.mark.parametrize(
    ("kind", "status", "listed"),
    [
        ("incident", "investigating", True),
        ("incident", "resolved", True),
        ("maintenance", "scheduled", False),  # upcoming: announced, not history
        ("maintenance", "in_progress", True),
        ("maintenance", "completed", True),
        ("maintenance", "cancelled", True),
    ],
)
def test_what_the_history_lists(kind, status, listed):
    assert rules.in_history(kind, status) is listed
