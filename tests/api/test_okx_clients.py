"""The clients integrators already run against OKX read this page right: ccxt's
`okx.fetch_status()` (the last row wins) and OKX's own python-okx."""

import pytest

from incidents import services

from ..factories import ComponentFactory, schedule_maintenance

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def maintenance_now_and_later(roles):
    """One maintenance in progress and, announced after it, another one scheduled."""
    system = services.Actor.system()
    spot = ComponentFactory(name="Spot trading", okx_service_type="5")
    ongoing = schedule_maintenance(name="Matching engine upgrade", components=[spot])
    services.maintenance_start(maintenance=ongoing, actor=system)
    later = schedule_maintenance(name="Wallet maintenance", components=[spot])
    return ongoing, later


def ccxt_okx(base_url: str):
    import ccxt

    exchange = ccxt.okx({"timeout": 10_000})
    exchange.urls["api"]["rest"] = base_url  # fetch_status is GET {rest}/api/v5/system/status
    return exchange


def test_ccxt_reads_maintenance_while_one_is_in_progress_and_another_scheduled(live_server, maintenance_now_and_later):
    ongoing, _ = maintenance_now_and_later
    status = ccxt_okx(live_server.url).fetch_status()
    assert status["status"] == "maintenance"
    assert status["url"].endswith(ongoing.get_absolute_url())


def test_ccxt_reads_ok_when_maintenance_is_only_scheduled(live_server, roles):
    schedule_maintenance(name="Wallet maintenance", components=[ComponentFactory(okx_service_type="5")])
    assert ccxt_okx(live_server.url).fetch_status()["status"] == "ok"


def test_python_okx_gets_the_ongoing_maintenance_last(live_server, maintenance_now_and_later):
    from okx.Status import StatusAPI

    rows = StatusAPI(domain=live_server.url, flag="0").status()["data"]
    assert [(r["title"], r["state"]) for r in rows] == [
        ("Wallet maintenance", "scheduled"),
        ("Matching engine upgrade", "ongoing"),
    ]
