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
from django.conf import settings
from django.core.management import call_command
from django.utils import timezone

from incidents import demo as story
from incidents.models import Component, ComponentStatusChange, Incident, PublicEvent
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


@pytest.mark.django_db(transaction=True)
@pytest.mark.live
def test_replay_runs_beside_the_server_and_readers_see_the_outage_come_and_go(demo):
    site.refresh()
    seconds = 3.0
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
            env = {
                **os.environ,
                "DATABASE_URL": servers.test_database_url(),
                "SECRET_KEY": servers.SECRET_KEY,
                "VAR_DIR": str(settings.VAR_DIR),
                "PAGE_URL": base,
            }
            for name in ("REDIS_URL", "LIVE_REDIS_URL", "DEBUG"):
                env.pop(name, None)
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
        # Never early; late by what a loaded machine costs a process (3 s seen at load 8).
        assert -0.05 < late < 5.0, (update.status, offset, late)
    assert 2.5 < took < 30
    assert set(Component.objects.values_list("status", flat=True)) == {"operational"}

    indicators = [indicator for _, indicator, _ in seen]
    assert "critical" in indicators, indicators
    first_critical = indicators.index("critical")
    assert story.REPLAY_NAME in seen[first_critical][2]
    assert "none" in indicators[first_critical:], indicators
    assert indicators[-1] == "none" and seen[-1][2] == []
