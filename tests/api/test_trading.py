"""Trading modes and the pre-open phase through the v1 API, the Statuspage reads, and the
clients integrators already run against OKX (ccxt and python-okx) (issue #14)."""

from datetime import timedelta

import pytest
from django.utils import timezone

from incidents import services
from incidents.models import AuditEntry, Component, PublicEvent

from ..factories import ComponentFactory, schedule_maintenance
from .test_api import call, get_json

SYSTEM = services.Actor.system()


@pytest.fixture
def products(roles):
    return (
        ComponentFactory(name="Spot trading", trading=True, okx_service_type="5"),
        ComponentFactory(name="Perpetual contracts", trading=True, okx_service_type="3"),
        ComponentFactory(name="Website"),
    )


@pytest.mark.django_db
def test_patch_sets_a_products_mode_and_every_read_carries_it(client, products, write_token):
    spot, perps, website = products
    response = call(
        client, "patch", f"/api/v1/components/{spot.public_id}", write_token, {"trading_mode": "cancel_only"}
    )
    assert response.status_code == 200, response.content
    assert (response.json()["status"], response.json()["trading_mode"]) == ("operational", "cancel_only")

    summary = get_json(client, "/api/v2/summary.json")
    modes = {c["name"]: c["trading_mode"] for c in summary["components"]}
    assert modes == {"Spot trading": "cancel_only", "Perpetual contracts": "normal", "Website": None}
    assert summary["status"]["indicator"] == "major"
    assert get_json(client, "/api/v2/components.json")["components"] == summary["components"]
    event = PublicEvent.objects.order_by("-seq").first()
    assert event.action == "trading_mode_changed"
    assert AuditEntry.objects.filter(action="component.trading_mode", via="api").exists()

    # Status and mode in one request: one change each, both or neither.
    both = call(
        client,
        "patch",
        f"/api/v1/components/{perps.public_id}",
        write_token,
        {"status": "major_outage", "trading_mode": "halted"},
    )
    assert (both.json()["status"], both.json()["trading_mode"]) == ("major_outage", "halted")


@pytest.mark.django_db
def test_a_mode_for_what_does_not_trade_is_409_a_bad_mode_400_and_nothing_changes(client, products, write_token):
    spot, _, website = products
    seq = PublicEvent.objects.order_by("-seq").values_list("seq", flat=True).first()
    refused = call(
        client,
        "patch",
        f"/api/v1/components/{website.public_id}",
        write_token,
        {"status": "major_outage", "trading_mode": "halted"},
    )
    assert refused.status_code == 409
    assert refused.json() == {"trading_mode": ["Website is not a trading product: it has no trading mode."]}
    assert Component.objects.get(pk=website.pk).status == "operational"
    bad = call(client, "patch", f"/api/v1/components/{spot.public_id}", write_token, {"trading_mode": "paused"})
    assert bad.status_code == 400 and set(bad.json()) == {"trading_mode"}
    opened = call(
        client,
        "post",
        "/api/v1/incidents",
        write_token,
        {"name": "Orders failing", "body": "x", "trading_modes": {website.public_id: "halted"}},
    )
    assert opened.status_code == 409 and set(opened.json()) == {"trading_modes"}
    assert PublicEvent.objects.order_by("-seq").values_list("seq", flat=True).first() == seq


@pytest.mark.django_db
def test_an_incident_opened_and_resolved_through_the_api_moves_the_modes(client, products, write_token):
    spot, perps, _ = products
    opened = call(
        client,
        "post",
        "/api/v1/incidents",
        write_token,
        {
            "name": "Order processing stalled",
            "body": "Orders cannot be placed or cancelled.",
            "components": {spot.public_id: "major_outage"},
            "trading_modes": {spot.public_id: "halted", perps.public_id: "cancel_only"},
        },
    )
    assert opened.status_code == 201, opened.content
    incident_id = opened.json()["id"]
    assert {c["name"]: c["trading_mode"] for c in opened.json()["components"]} == {
        "Spot trading": "halted",
        "Perpetual contracts": "cancel_only",
    }
    (first,) = opened.json()["incident_updates"]
    assert [(m["name"], m["old_mode"], m["new_mode"]) for m in first["affected_trading_modes"]] == [
        ("Spot trading", "normal", "halted"),
        ("Perpetual contracts", "normal", "cancel_only"),
    ]
    page = client.get(f"/incidents/{opened.json()['id']}")
    assert page.status_code == 200
    assert "Spot trading: Normal trading → Trading halted" in page.content.decode()
    resolved = call(
        client,
        "post",
        f"/api/v1/incidents/{incident_id}/resolve",
        write_token,
        {"body": "Trading is back.", "components": {spot.public_id: "operational"}},
    )
    assert resolved.status_code == 200, resolved.content
    assert set(Component.objects.filter(trading=True).values_list("trading_mode", flat=True)) == {"normal"}


@pytest.mark.django_db
def test_the_pre_open_move_and_a_planned_pre_open_through_the_api(client, products, write_token):
    spot = products[0]
    start = timezone.now() + timedelta(hours=2)
    created = call(
        client,
        "post",
        "/api/v1/maintenances",
        write_token,
        {
            "name": "Matching engine upgrade",
            "body": "Orders cannot be placed during the window.",
            "scheduled_for": start.isoformat(),
            "scheduled_until": (start + timedelta(hours=1)).isoformat(),
            "components": [spot.public_id],
            "pre_open_at": (start + timedelta(minutes=50)).isoformat(),
            "auto_pre_open": True,
        },
    )
    assert created.status_code == 201, created.content
    body = created.json()
    assert (body["phase"], body["auto_pre_open"]) == ("scheduled", True)
    assert body["pre_open_at"].startswith((start + timedelta(minutes=50)).astimezone().strftime("%Y-%m-%dT"))
    outside = call(
        client,
        "patch",
        f"/api/v1/maintenances/{body['id']}",
        write_token,
        {"pre_open_at": (start - timedelta(minutes=5)).isoformat()},
    )
    assert outside.status_code == 400 and set(outside.json()) == {"pre_open_at"}

    early = call(client, "post", f"/api/v1/maintenances/{body['id']}/pre_open", write_token, {})
    assert early.status_code == 409  # a scheduled maintenance cannot skip its work
    assert call(client, "post", f"/api/v1/maintenances/{body['id']}/start", write_token, {}).status_code == 200
    moved = call(client, "post", f"/api/v1/maintenances/{body['id']}/pre_open", write_token, {})
    assert moved.status_code == 200, moved.content
    assert (moved.json()["status"], moved.json()["phase"]) == ("in_progress", "pre_open")
    assert moved.json()["incident_updates"][0]["phase"] == "pre_open"
    assert Component.objects.get(pk=spot.pk).trading_mode == "pre_open"
    (row,) = get_json(client, "/api/v5/system/status?state=pre_open")["data"]
    assert row["title"] == "Matching engine upgrade" and row["preOpenBegin"].isdigit()


@pytest.fixture
def in_pre_open(products):
    spot = products[0]
    reopening = schedule_maintenance(name="Matching engine upgrade", components=[spot], hours_ahead=-0.5)
    services.maintenance_start(maintenance=reopening, actor=SYSTEM)
    later = schedule_maintenance(name="Wallet maintenance", components=[spot])
    services.maintenance_pre_open(maintenance=reopening, actor=SYSTEM)
    reopening.refresh_from_db()
    return reopening, later


@pytest.mark.django_db(transaction=True)
def test_python_okx_reads_the_pre_open_phase(live_server, in_pre_open):
    from okx.Status import StatusAPI

    reopening, _ = in_pre_open
    api = StatusAPI(domain=live_server.url, flag="0")
    rows = api.status()["data"]
    assert [(r["title"], r["state"]) for r in rows] == [
        ("Wallet maintenance", "scheduled"),
        ("Matching engine upgrade", "pre_open"),
    ]
    (row,) = api.status(state="pre_open")["data"]
    assert row["preOpenBegin"] == str(int(reopening.pre_open_at.timestamp() * 1000))
    assert row["end"] == str(int(reopening.scheduled_until.timestamp() * 1000))


@pytest.mark.django_db(transaction=True)
def test_ccxt_reads_the_pre_open_phase_as_maintenance_until_it_ends(live_server, products):
    from .test_okx_clients import ccxt_okx

    reopening = schedule_maintenance(name="Matching engine upgrade", components=[products[0]], hours_ahead=-0.5)
    services.maintenance_start(maintenance=reopening, actor=SYSTEM)
    services.maintenance_pre_open(maintenance=reopening, actor=SYSTEM)
    reopening.refresh_from_db()
    status = ccxt_okx(live_server.url).fetch_status()
    # ccxt has no word for pre-open: a row it does not know leaves its "maintenance" (any
    # row at all) standing, with the row's end as the eta. (Behind a scheduled row it would
    # say "ok": ccxt's own reading of OKX's rows, which this page serves exactly.)
    assert status["status"] == "maintenance"
    assert status["info"]["data"][-1]["state"] == "pre_open"
    assert status["url"].endswith(reopening.get_absolute_url())
    assert status["eta"] == int(reopening.scheduled_until.timestamp() * 1000)
    services.maintenance_complete(maintenance=reopening, actor=SYSTEM)
    assert ccxt_okx(live_server.url).fetch_status()["status"] == "ok"


# --- deposits and withdrawals --------------------------------------------------------------


@pytest.mark.django_db
def test_funding_through_the_v1_api_one_bulk_change_and_the_bots_json(client, roles, write_token):
    created = call(client, "post", "/api/v1/assets", write_token, {"symbol": "usdt", "name": "Tether USD"})
    assert created.status_code == 201, created.content
    assert created.json()["symbol"] == "USDT"
    for code in ("ERC20", "TRC20"):
        added = call(client, "post", "/api/v1/assets/USDT/networks", write_token, {"code": code, "name": code})
        assert added.status_code == 201 and added.json()["withdrawal"] == "enabled"
    twice = call(client, "post", "/api/v1/assets/USDT/networks", write_token, {"code": "ERC20"})
    assert twice.status_code == 409 and set(twice.json()) == {"code"}
    again = call(client, "post", "/api/v1/assets", write_token, {"symbol": "USDT", "name": "Tether"})
    assert again.status_code == 409 and set(again.json()) == {"symbol"}
    assert call(client, "post", "/api/v1/assets/NOPE/networks", write_token, {"code": "X"}).status_code == 404

    nothing = call(client, "patch", "/api/v1/funding", write_token, {"withdrawal": "suspended"})
    assert nothing.status_code == 400 and set(nothing.json()) == {"networks"}
    unknown = call(client, "patch", "/api/v1/funding", write_token, {"networks": ["BEP20"], "withdrawal": "suspended"})
    assert unknown.status_code == 404
    bad = call(client, "patch", "/api/v1/funding", write_token, {"networks": ["ERC20"], "withdrawal": "paused"})
    assert bad.status_code == 400 and set(bad.json()) == {"withdrawal"}

    seq = PublicEvent.objects.order_by("-seq").first().seq
    suspended = call(
        client,
        "patch",
        "/api/v1/funding",
        write_token,
        {"networks": ["ERC20"], "withdrawal": "suspended", "note": "Ethereum congestion."},
    )
    assert suspended.status_code == 200, suspended.content
    assert [(n["network"], n["withdrawal"]) for n in suspended.json()["networks"]] == [("ERC20", "suspended")]
    assert PublicEvent.objects.filter(seq__gt=seq).count() == 1
    (row,) = get_json(client, "/api/v2/funding/issues.json")["networks"]
    assert (row["asset"], row["network"], row["withdrawal"], row["note"]) == (
        "USDT",
        "ERC20",
        "suspended",
        "Ethereum congestion.",
    )
    listed = call(client, "get", "/api/v1/funding", write_token)
    assert {n["network"]: n["withdrawal"] for n in listed.json()["networks"]} == {
        "ERC20": "suspended",
        "TRC20": "enabled",
    }
