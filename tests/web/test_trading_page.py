"""Issue #14 in a real headless Chromium: a trader on `/` while an outage plays out through
the API (products halted, then cancel-only, then a reopening through a pre-open phase)
sees each product's mode change live, in words, and the pre-open countdown tick."""

import re
import subprocess
import sys
import tempfile
from datetime import timedelta
from pathlib import Path

import pytest
from django.utils import timezone

from incidents import demo as story
from incidents.models import Component, Incident

from .. import servers
from ..servers import ROOT, daphne
from ..test_live_servers import api

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.live]


def test_a_trader_sees_modes_change_live_and_the_pre_open_countdown(demo, token, browser):
    from playwright.sync_api import expect

    spot = Component.objects.get(name="Spot trading")
    perps = Component.objects.get(name="Perpetual contracts")
    with daphne() as base:
        page = browser.new_page(viewport={"width": 390, "height": 844})
        page.goto(base + "/")
        expect(page.locator("[data-live-indicator]")).to_have_attribute("data-state", "live", timeout=5000)
        components = page.locator('[data-live-region="components"]')
        banner = page.locator('[data-live-region="banner"]')
        assert components.locator("[data-trading-mode]").count() == 0  # normal trading says nothing

        api(base, token, "PATCH", f"/api/v1/components/{spot.public_id}", {"trading_mode": "halted"})
        spot_mode = components.locator("li.component", has_text="Spot trading").locator("[data-trading-mode]")
        expect(spot_mode).to_have_text(
            "Trading halted: trading is stopped: no orders are accepted, matched or cancelled.", timeout=3000
        )
        expect(banner).to_contain_text("Major System Outage")
        expect(banner).to_contain_text("Spot trading")

        api(base, token, "PATCH", f"/api/v1/components/{spot.public_id}", {"trading_mode": "cancel_only"})
        api(base, token, "PATCH", f"/api/v1/components/{perps.public_id}", {"trading_mode": "cancel_only"})
        expect(spot_mode).to_have_text("Cancel only: you can cancel orders; new orders are refused.", timeout=3000)
        expect(banner).to_contain_text("Partial System Outage")

        # The reopening: a maintenance over both products, its pre-open phase ending in 3 minutes.
        now = timezone.now()
        maintenance = api(
            base,
            token,
            "POST",
            "/api/v1/maintenances",
            {
                "name": "Reopening of spot and perpetual trading",
                "body": "Trading reopens through a pre-open phase.",
                "scheduled_for": (now - timedelta(minutes=1)).isoformat(),
                "scheduled_until": (now + timedelta(minutes=3)).isoformat(),
                "components": [spot.public_id, perps.public_id],
                "unscheduled": True,
            },
        )
        api(base, token, "POST", f"/api/v1/maintenances/{maintenance['id']}/start")
        api(base, token, "POST", f"/api/v1/maintenances/{maintenance['id']}/pre_open")
        pre_open = page.locator('[data-live-region="maintenance"] [data-pre-open]')
        expect(pre_open).to_contain_text("Pre-open phase", timeout=3000)
        expect(pre_open).to_contain_text("you can cancel orders and place post-only orders")
        countdown = pre_open.locator("[data-countdown]")
        expect(countdown).to_have_text(re.compile(r"^\((2|3):\d\d left\)$"))
        first = countdown.inner_text()
        expect(countdown).not_to_have_text(first, timeout=3000)  # it ticks
        expect(spot_mode).to_have_text(re.compile(r"^Pre-open: you can cancel orders and place post-only orders"))
        expect(page.locator('[data-live-region="maintenance"]')).to_contain_text("Pre-open")

        api(base, token, "POST", f"/api/v1/maintenances/{maintenance['id']}/complete")
        expect(pre_open).to_have_count(0, timeout=3000)
        expect(components.locator("[data-trading-mode]")).to_have_count(0)
        expect(banner).to_contain_text("All Systems Operational")
        page.close()


def test_a_trader_watching_the_demo_replay_sees_trading_reopen_through_a_pre_open_phase(demo, browser):
    """`manage.py load_demo --replay` in a process of its own, as under `make demo`: the
    page hears of it only by polling the database (no Redis)."""
    from playwright.sync_api import expect

    # 60 s for the 41 minutes: halted for about 30 s, then about 10 s in the pre-open phase
    # (17:58 to 18:05), long enough to be seen whatever the replay's own delays (6 s was
    # not, on a loaded 2-core run: the page saw the phase as it ended).
    minutes = 1.0
    with daphne(LIVE_POLL_SECONDS="0.2", REDIS_URL="", LIVE_REDIS_URL="") as base:
        page = browser.new_page(viewport={"width": 390, "height": 844})
        page.goto(base + "/")
        expect(page.locator("[data-live-indicator]")).to_have_attribute("data-state", "live", timeout=5000)
        components = page.locator('[data-live-region="components"]')
        maintenance = page.locator('[data-live-region="maintenance"]')
        spot_mode = components.locator("li.component", has_text="Spot trading").locator("[data-trading-mode]")
        pre_open = maintenance.locator("[data-pre-open]")
        assert components.locator("[data-trading-mode]").count() == 0

        env = servers.command_env(base)
        log = tempfile.NamedTemporaryFile(prefix="replay-", suffix=".log", delete=False)  # noqa: SIM115
        replay = subprocess.Popen(
            [sys.executable, "manage.py", "load_demo", "--replay", "--minutes", str(minutes)],
            cwd=ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        try:
            expect(spot_mode).to_have_text(
                "Trading halted: trading is stopped: no orders are accepted, matched or cancelled.", timeout=20_000
            )
            expect(pre_open).to_have_count(0)

            # 17:58: core functions are back, and the products reopen through a pre-open phase.
            expect(pre_open).to_contain_text("Pre-open phase", timeout=50_000)
            expect(maintenance).to_contain_text(story.REOPENING_NAME)
            expect(spot_mode).to_have_text(re.compile(r"^Pre-open: you can cancel orders and place post-only orders"))
            countdown = pre_open.locator("[data-countdown]")
            expect(countdown).to_have_text(re.compile(r"^\(0:[01]\d left\)$"))
            first = countdown.inner_text()
            expect(countdown).not_to_have_text(first, timeout=3000)  # it ticks

            # 18:05: matching resumes.
            expect(pre_open).to_have_count(0, timeout=25_000)
            expect(components.locator("[data-trading-mode]")).to_have_count(0)
            assert replay.wait(timeout=60) == 0, Path(log.name).read_text()[-4000:]
        finally:
            if replay.poll() is None:
                replay.kill()
                replay.wait()
            page.close()
    assert Incident.objects.get(name=story.REOPENING_NAME).status == "completed"
    assert Incident.objects.get(name=story.REPLAY_NAME).status == "resolved"
    assert set(Component.objects.values_list("trading_mode", flat=True)) == {"normal"}


def test_a_bot_reads_a_withdrawal_suspension_as_soon_as_it_is_set(demo, token):
    """Through a real server: the published JSON is current by the time the write answers
    (the write rebuilds it before answering), so a bot's next poll has it. How long that
    takes is printed, not bounded: a loaded 2-core run took 1.7 s, an idle one 0.4 s."""
    import time

    import httpx

    with daphne() as base:
        bot = httpx.Client(base_url=base, timeout=5)
        assert bot.get("/api/v2/funding/issues.json").json()["networks"] == []
        started = time.monotonic()
        api(
            base,
            token,
            "PATCH",
            "/api/v1/funding",
            {"assets": ["USDT"], "networks": ["TRC20"], "withdrawal": "suspended"},
        )
        seen = bot.get("/api/v2/funding/issues.json")
        took = time.monotonic() - started
        (row,) = seen.json()["networks"]
        assert (row["asset"], row["network"], row["withdrawal"]) == ("USDT", "TRC20", "suspended")
        print(f"suspension set and read back in {took:.2f} s")
        assert seen.headers["content-type"] == "application/json"


def test_the_funding_page_shows_a_suspension_live(demo, token, browser):
    """/funding is told of each funding change and refetches its list; it hears nothing
    of other changes."""
    from playwright.sync_api import expect

    with daphne() as base:
        page = browser.new_page(viewport={"width": 390, "height": 844})
        page.goto(base + "/funding")
        expect(page.locator("[data-live-indicator]")).to_have_attribute("data-state", "live", timeout=5000)
        trc20 = page.locator('[data-network="USDT:TRC20"]')
        expect(trc20).to_contain_text("Withdrawals: Enabled")
        api(
            base,
            token,
            "PATCH",
            "/api/v1/funding",
            {"assets": ["USDT"], "networks": ["TRC20"], "withdrawal": "suspended", "note": "Wallet maintenance"},
        )
        expect(trc20).to_contain_text("Withdrawals: Suspended", timeout=3000)
        expect(trc20).to_contain_text("Wallet maintenance")
        expect(page.locator('[data-network="USDT:ERC20"]')).to_contain_text("Withdrawals: Enabled")
        page.close()
