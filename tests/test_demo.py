"""The demo shows the product alive: uptime bars with something on them, and the 2021-01-29
outage replayed now, through the real services, while another process serves the page."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from datetime import timedelta

import httpx
import pytest
from django.core.management import call_command
from django.utils import timezone

from incidents import demo as story
from incidents.models import Component, ComponentStatusChange, Incident, PublicEvent, TradingModeChange
from incidents.publish import site

from . import servers
from .servers import ROOT, daphne


def counts() -> tuple[int, int, int]:
    return Incident.objects.count(), ComponentStatusChange.objects.count(), PublicEvent.objects.count()


def bad_days(data: dict) -> dict[str, set[str]]:
    """Per component name, the days of the 90-day bars that were not all operational."""
    days: dict[str, set[str]] = {}
    for row in data["layout"]:
        for component in row["components"]:
            for day in component["uptime"]["days"]:
                if day["status"] not in ("operational", "none"):
                    days.setdefault(component["name"], set()).add(day["date"])
    return days


def test_load_demo_puts_small_demo_incidents_on_the_uptime_bars_once(roles):
    call_command("load_demo", stdout=open(os.devnull, "w"))  # noqa: SIM115
    data = site.refresh()

    marked = bad_days(data)
    every_day = set().union(*marked.values()) if marked else set()
    assert len(every_day) >= 3, marked
    assert {"Deposits and withdrawals", "Order book", "WebSocket API", "Spot trading"} <= set(marked)
    # The 40-second blip is on its bar too, and the maintenance shows as maintenance.
    websocket = next(c for r in data["layout"] for c in r["components"] if c["name"] == "WebSocket API")
    assert {d["status"] for d in websocket["uptime"]["days"]} >= {"major_outage"}
    spot = next(c for r in data["layout"] for c in r["components"] if c["name"] == "Spot trading")
    assert "under_maintenance" in {d["status"] for d in spot["uptime"]["days"]}

    recent = Incident.objects.filter(name__startswith="[Demo]")
    assert recent.count() == len(story.RECENT) + 1
    ninety_days_ago = timezone.now() - timedelta(days=89)
    for incident in recent:
        assert ninety_days_ago < incident.started_at < incident.resolved_at < timezone.now()
        assert incident.status in ("resolved", "completed")
        # Every update is dated within the incident, none "now".
        for update in incident.updates.all():
            assert update.display_at <= incident.resolved_at
    assert set(Component.objects.values_list("status", flat=True)) == {"operational"}

    before = counts()
    call_command("load_demo", stdout=open(os.devnull, "w"))  # noqa: SIM115
    assert counts() == before


def test_an_interrupted_replay_leaves_everything_operational(demo):
    def stop_after_the_second_update(index, status, elapsed):
        if index == 1:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        story.replay(60, report=stop_after_the_second_update)
    replayed = Incident.objects.get(name=story.REPLAY_NAME)
    assert replayed.status == "resolved"
    assert [u.status for u in replayed.updates.order_by("display_at", "id")] == [
        "investigating",
        "identified",
        "resolved",
    ]
    assert set(Component.objects.values_list("status", flat=True)) == {"operational"}


def products() -> list[Component]:
    return [Component.objects.get(name=name) for name in story.TRADING]


def assert_all_clear() -> None:
    """Every component operational and trading normally, no maintenance under way."""
    assert set(Component.objects.values_list("status", flat=True)) == {"operational"}
    assert set(Component.objects.values_list("trading_mode", flat=True)) == {"normal"}
    assert not Incident.objects.filter(
        kind=Incident.Kind.MAINTENANCE, status__in=("in_progress", "verifying", "pre_open")
    ).exists()


def test_a_replay_reopens_trading_through_a_pre_open_phase(demo):
    seen: list[tuple[int, list[tuple[str, str]], str | None]] = []

    def look(index, status, elapsed):
        reopening = Incident.objects.filter(name=story.REOPENING_NAME).first()
        seen.append((index, [(c.status, c.trading_mode) for c in products()], reopening and reopening.status))

    seconds = 1.5
    replayed = story.replay(seconds, report=look)
    assert replayed.status == "resolved"
    assert [u.status for u in replayed.updates.order_by("display_at", "id")] == [s for _, s, _, _ in story.TIMELINE]

    # Halted from 17:37; at 17:58 core functions are back but the products wait in the
    # pre-open phase (under maintenance) until 18:05, when matching resumes; perpetual
    # contracts stay in partial outage until 18:18, as in 2021.
    assert seen == [
        (0, [("partial_outage", "halted"), ("partial_outage", "halted")], None),
        (1, [("partial_outage", "halted"), ("partial_outage", "halted")], None),
        (2, [("under_maintenance", "pre_open"), ("under_maintenance", "pre_open")], "pre_open"),
        (3, [("operational", "normal"), ("partial_outage", "normal")], "completed"),
        (4, [("operational", "normal"), ("operational", "normal")], "completed"),
    ]

    reopening = Incident.objects.get(name=story.REOPENING_NAME)
    assert reopening.is_maintenance and reopening.unscheduled
    assert reopening.name_zh_hans == "交易经预开盘阶段恢复"
    assert reopening.name_zh_hant == "交易經預開盤階段恢復"
    assert set(reopening.components.all()) == set(products())
    updates = list(reopening.updates.order_by("display_at", "id"))
    assert [u.status for u in updates] == ["scheduled", "in_progress", "pre_open", "completed"]
    assert "post-only orders" in updates[0].body and "nothing is matched" in updates[0].body
    assert "只做 Maker 单" in updates[0].body_zh_hans and "只做 Maker 單" in updates[0].body_zh_hant
    assert all(not u.deliver_notifications for u in updates)
    # Its countdown runs to the moment matching resumes: the replay's 18:05 update.
    resumed = replayed.updates.order_by("display_at", "id")[3]
    assert abs((reopening.scheduled_until - resumed.display_at).total_seconds()) < 0.5
    assert reopening.pre_open_at <= reopening.scheduled_until <= reopening.resolved_at + timedelta(seconds=0.5)

    # The mode log: halted by the replay, pre-open and normal again by its reopening.
    for product in products():
        log = TradingModeChange.objects.filter(component=product, incident__in=[replayed, reopening])
        assert [(c.old_mode, c.new_mode, c.incident) for c in log] == [
            ("normal", "halted", replayed),
            ("halted", "pre_open", reopening),
            ("pre_open", "normal", reopening),
        ]
    # The demo's history of 2021 still comes back to normal trading at 17:58.
    history = TradingModeChange.objects.filter(incident=demo["incident"], component__name="Spot trading")
    assert [c.new_mode for c in history] == ["halted", "normal"]
    assert_all_clear()


def test_a_replay_interrupted_in_the_pre_open_phase_leaves_everything_operational(demo):
    def stop_in_the_pre_open_phase(index, status, elapsed):
        if index == 2:
            assert {c.trading_mode for c in products()} == {"pre_open"}
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        story.replay(2, report=stop_in_the_pre_open_phase)
    replayed = Incident.objects.get(name=story.REPLAY_NAME)
    assert replayed.status == "resolved"
    assert [u.status for u in replayed.updates.order_by("display_at", "id")] == [
        "investigating",
        "identified",
        "monitoring",
        "resolved",
    ]
    reopening = Incident.objects.get(name=story.REOPENING_NAME)
    assert reopening.status == "completed"
    assert [u.status for u in reopening.updates.order_by("display_at", "id")][-2:] == ["pre_open", "completed"]
    assert_all_clear()


def test_a_replay_closes_the_reopening_a_killed_replay_left_in_pre_open(demo, monkeypatch):
    # A replay killed in its pre-open phase (no chance to clean up) leaves it open…
    def killed_in_the_pre_open_phase(index, status, elapsed):
        if index == 2:
            raise SystemExit(1)

    with monkeypatch.context() as m:
        m.setattr(story, "_close_unfinished_replays", lambda body: None)
        with pytest.raises(SystemExit):
            story.replay(2, report=killed_in_the_pre_open_phase)
    left = Incident.objects.get(name=story.REOPENING_NAME)
    assert left.status == "pre_open"
    assert {c.trading_mode for c in products()} == {"pre_open"}

    # …and the next replay ends it before it starts.
    def stop_at_once(index, status, elapsed):
        left.refresh_from_db()
        assert left.status == "completed"
        assert {c.trading_mode for c in products()} == {"halted"}  # the new replay's outage
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        story.replay(60, report=stop_at_once)
    assert "An earlier replay was stopped" in left.updates.order_by("display_at", "id").last().body
    assert Incident.objects.filter(name=story.REPLAY_NAME, status="resolved").count() == 2
    assert_all_clear()


@pytest.mark.django_db(transaction=True)
@pytest.mark.live
def test_replay_runs_beside_the_server_and_readers_see_the_outage_come_and_go(demo):
    site.refresh()
    # Long enough that the gaps between updates are more than the rebuilds after each
    # change (the reopening's four changes come between 17:58 and 18:05).
    seconds = 6.0
    seen: list[tuple[float, str, list[str]]] = []
    stop = threading.Event()

    # The server is another process that hears of the replay's changes only by polling the
    # database, as under `make run` (no Redis).
    with daphne(LIVE_POLL_SECONDS="0.2", REDIS_URL="", LIVE_REDIS_URL="") as base:

        def read():
            with httpx.Client(base_url=base, timeout=5) as client:
                while not stop.is_set():
                    summary = client.get("/api/v2/summary.json").json()
                    seen.append(
                        (time.monotonic(), summary["status"]["indicator"], [i["name"] for i in summary["incidents"]])
                    )
                    time.sleep(0.05)

        reader = threading.Thread(target=read)
        reader.start()
        try:
            env = servers.command_env(base)
            started = time.monotonic()
            run = subprocess.run(
                [sys.executable, "manage.py", "load_demo", "--replay", "--minutes", str(seconds / 60)],
                cwd=ROOT,
                env=env,
                capture_output=True,
                text=True,
                timeout=60,
            )
            took = time.monotonic() - started
            assert run.returncode == 0, run.stderr
            time.sleep(1.0)  # two polls of the hub after the last update
        finally:
            stop.set()
            reader.join()

    replayed = Incident.objects.get(name=story.REPLAY_NAME)
    assert replayed.name.startswith("Replay of 2021-01-29: ")
    assert replayed.status == "resolved"
    updates = list(replayed.updates.order_by("display_at", "id"))
    assert [u.status for u in updates] == [status for _, status, _, _ in story.TIMELINE]
    assert "replayed on today's date" in updates[0].body
    moments = [u.display_at for u in updates]
    assert moments == sorted(moments) and len(set(moments)) == len(moments)
    # Each update at its scaled offset (17:40 is 3 of 41 minutes in, 17:58 is 21, …).
    for update, offset in zip(updates, story.replay_offsets(seconds), strict=True):
        late = (update.display_at - updates[0].display_at).total_seconds() - offset
        # Never early; late by what a loaded machine costs a process (3 s seen at load 8,
        # 5.7 s with a 3 s replay whose rebuilds outran its gaps).
        assert -0.05 < late < 6.0, (update.status, offset, late)
    assert 5.5 < took < 40
    assert set(Component.objects.values_list("status", flat=True)) == {"operational"}
    # Trading reopened through its pre-open phase, and nothing is left in it.
    assert Incident.objects.get(name=story.REOPENING_NAME).status == "completed"
    assert_all_clear()

    indicators = [indicator for _, indicator, _ in seen]
    assert "critical" in indicators, indicators
    first_critical = indicators.index("critical")
    assert story.REPLAY_NAME in seen[first_critical][2]
    assert "none" in indicators[first_critical:], indicators
    assert indicators[-1] == "none" and seen[-1][2] == []
