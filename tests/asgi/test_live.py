"""Live push over WebSockets, driven with Channels' communicator on the real ASGI app."""

import asyncio
import json
import threading

import pytest
from asgiref.sync import sync_to_async
from channels.testing import WebsocketCommunicator
from django.conf import settings
from django.test import override_settings
from django.test.signals import template_rendered

from incidents import services
from incidents.models import Component, Network, PublicEvent, append_only_lifted
from incidents.publish import hub, site, snapshot
from incidents.publish.connection import QUEUE_LIMIT, Connection
from statuspage.asgi import application

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.asyncio]

SYSTEM = services.Actor.system()


@pytest.fixture
def live_demo(demo):
    site.refresh()
    return demo


async def connect(path, origin=b"http://127.0.0.1:8000"):
    communicator = WebsocketCommunicator(application, path, headers=[(b"origin", origin)])
    connected, code = await communicator.connect(timeout=5)
    return communicator, connected, code


async def receive(communicator, timeout=3):
    text = await communicator.receive_from(timeout=timeout)
    return text if text in ("pong",) else json.loads(text)


async def change(fn, **kwargs):
    """Run a service as an operator would (in a thread, committing)."""
    return await sync_to_async(fn, thread_sensitive=False)(**kwargs)


# --- OKX /ws/v5/public -------------------------------------------------------------------


async def test_okx_subscribe_acknowledges_then_sends_state_then_pushes_changes(live_demo):
    ws, connected, _ = await connect("/ws/v5/public")
    assert connected
    await ws.send_to(text_data=json.dumps({"id": "1512", "op": "subscribe", "args": [{"channel": "status"}]}))
    ack = await receive(ws)
    assert ack["id"] == "1512" and ack["event"] == "subscribe" and ack["arg"] == {"channel": "status"}
    assert len(ack["connId"]) == 8
    state = await receive(ws)
    assert state["arg"] == {"channel": "status"}
    (row,) = state["data"]
    assert (row["title"], row["state"], row["maintType"]) == (live_demo["maintenance"].name, "scheduled", "1")
    assert all(isinstance(v, str) for v in row.values()) and row["ts"].isdigit()

    await change(services.maintenance_start, maintenance=live_demo["maintenance"], actor=SYSTEM)
    push = await receive(ws)
    (row,) = push["data"]
    assert (row["title"], row["state"]) == (live_demo["maintenance"].name, "ongoing")
    await ws.disconnect()


async def test_okx_unsubscribe_stops_pushes(live_demo):
    ws, _, _ = await connect("/ws/v5/public")
    await ws.send_to(text_data=json.dumps({"op": "subscribe", "args": [{"channel": "status"}]}))
    await receive(ws)
    await receive(ws)
    await ws.send_to(text_data=json.dumps({"op": "unsubscribe", "args": [{"channel": "status"}]}))
    assert (await receive(ws))["event"] == "unsubscribe"
    await change(services.maintenance_start, maintenance=live_demo["maintenance"], actor=SYSTEM)
    assert await ws.receive_nothing(timeout=1)
    await ws.disconnect()


@pytest.mark.parametrize(
    ("frame", "code", "msg"),
    [
        ("{not json", "60012", "Invalid request: {not json"),
        ('{"op": "login", "args": []}', "60012", "Invalid request"),
        ('{"op": "subscribe"}', "60012", "Invalid request"),
        ('{"op": "subscribe", "args": [{"channel": "tickers"}]}', "60018", "Wrong URL or channel:tickers"),
    ],
)
async def test_okx_errors_use_okx_codes(live_demo, frame, code, msg):
    ws, _, _ = await connect("/ws/v5/public")
    await ws.send_to(text_data=frame)
    error = await receive(ws)
    assert error["event"] == "error" and error["code"] == code and error["msg"].startswith(msg)
    assert error["connId"]
    await ws.disconnect()


async def test_okx_ping_pong(live_demo):
    ws, _, _ = await connect("/ws/v5/public")
    await ws.send_to(text_data="ping")
    assert await ws.receive_from() == "pong"
    await ws.disconnect()


@override_settings(OKX_WS_IDLE_SECONDS=0.6)
async def test_okx_closes_a_silent_connection(live_demo):
    hub._hubs.clear()  # a hub that reads the shortened idle limit
    ws, _, _ = await connect("/ws/v5/public")
    output = await ws.receive_output(timeout=3)
    assert output["type"] == "websocket.close"


async def test_okx_restart_notice_64008_then_close(live_demo):
    ws, _, _ = await connect("/ws/v5/public")
    await ws.send_to(text_data=json.dumps({"op": "subscribe", "args": [{"channel": "status"}]}))
    await receive(ws)
    await receive(ws)
    await hub.hub().notice_restart(grace=0.05)
    notice = await receive(ws)
    assert notice["event"] == "notice" and notice["code"] == "64008" and notice["connId"]
    assert (await ws.receive_output(timeout=2))["type"] == "websocket.close"


async def test_oversized_frames_close_the_socket(live_demo):
    ws, _, _ = await connect("/ws/v5/public")
    await ws.send_to(text_data="x" * 5000)
    output = await ws.receive_output(timeout=2)
    assert output == {"type": "websocket.close", "code": 1009}


# --- /ws/v2/events -----------------------------------------------------------------------


async def test_events_replay_from_since_then_stream_live(live_demo):
    last = await sync_to_async(lambda: PublicEvent.objects.order_by("-seq").first().seq)()
    ws, _, _ = await connect(f"/ws/v2/events?since={last - 3}")
    replayed = [await receive(ws) for _ in range(3)]
    assert [e["seq"] for e in replayed] == [last - 2, last - 1, last]
    assert all({"seq", "type", "created_at", "data"} <= e.keys() for e in replayed)
    market = await sync_to_async(Component.objects.get)(name="Market data")
    await change(services.component_set_status, component=market, status="major_outage", actor=SYSTEM)
    event = await receive(ws)
    assert event["seq"] == last + 1 and event["type"] == "component.status_changed"
    assert event["data"]["component_update"]["new_status"] == "major_outage"
    assert await ws.receive_nothing(timeout=0.5)
    await ws.disconnect()


async def test_events_a_reconnecting_client_misses_nothing(live_demo):
    ws, _, _ = await connect("/ws/v2/events")
    hello = await receive(ws)
    assert hello["type"] == "hello"
    seen = hello["seq"]
    await ws.disconnect()
    api = await sync_to_async(Component.objects.get)(name="REST API")
    for status in ("major_outage", "partial_outage", "operational"):
        await change(services.component_set_status, component=api, status=status, actor=SYSTEM)
    ws, _, _ = await connect(f"/ws/v2/events?since={seen}")
    replayed = [await receive(ws) for _ in range(3)]
    assert [e["data"]["component_update"]["new_status"] for e in replayed] == [
        "major_outage",
        "partial_outage",
        "operational",
    ]
    assert [e["seq"] for e in replayed] == [seen + 1, seen + 2, seen + 3]
    await ws.disconnect()


async def test_events_and_okx_status_stream_trading_modes_and_the_pre_open_phase(live_demo):
    """Issue #14: a product's mode change is a numbered event; the maintenance's pre-open
    phase is OKX's `pre_open` state, pushed on the `status` channel with `preOpenBegin`."""
    last = await sync_to_async(lambda: PublicEvent.objects.order_by("-seq").first().seq)()
    events, _, _ = await connect(f"/ws/v2/events?since={last}")
    okx, _, _ = await connect("/ws/v5/public")
    await okx.send_to(text_data=json.dumps({"op": "subscribe", "args": [{"channel": "status"}]}))
    await receive(okx), await receive(okx)  # the acknowledgement, then the state

    spot = await sync_to_async(Component.objects.get)(name="Spot trading")
    assert spot.trading
    await change(services.component_set_trading_mode, component=spot, trading_mode="post_only", actor=SYSTEM)
    event = await receive(events)
    assert (event["seq"], event["type"]) == (last + 1, "component.trading_mode_changed")
    assert event["data"]["component"]["trading_mode"] == "post_only"
    assert event["data"]["trading_mode_update"]["new_mode"] == "post_only"
    await change(services.component_set_trading_mode, component=spot, trading_mode="normal", actor=SYSTEM)
    await receive(events)

    maintenance = live_demo["maintenance"]
    await change(services.maintenance_start, maintenance=maintenance, actor=SYSTEM)
    (row,) = (await receive(okx))["data"]
    assert row["state"] == "ongoing" and row["preOpenBegin"] == ""
    await change(services.maintenance_pre_open, maintenance=maintenance, actor=SYSTEM)
    (row,) = (await receive(okx))["data"]
    await sync_to_async(maintenance.refresh_from_db)()
    assert (row["state"], row["preOpenBegin"]) == ("pre_open", str(int(maintenance.pre_open_at.timestamp() * 1000)))
    seen = []
    while not any(e["type"] == "maintenance.pre_open" for e in seen):
        seen.append(await receive(events))
    modes = [
        e["data"]["trading_mode_update"]["new_mode"] for e in seen if e["type"] == "component.trading_mode_changed"
    ]
    assert modes == ["pre_open", "pre_open"]  # spot and perpetual, the maintenance's products
    assert seen[-1]["data"]["incident"]["phase"] == "pre_open"
    await events.disconnect()
    await okx.disconnect()


async def test_events_since_older_than_kept_says_reset(live_demo):
    def purge_the_oldest():  # what only a wipe may do: the log is append-only in the database
        with append_only_lifted():
            PublicEvent.objects.filter(seq__lte=10)._raw_delete(PublicEvent.objects.db)

    await sync_to_async(purge_the_oldest)()
    ws, _, _ = await connect("/ws/v2/events?since=2")
    message = await receive(ws)
    assert message["type"] == "reset" and message["seq"] > 10
    await ws.disconnect()


async def test_events_socket_is_read_only(live_demo):
    ws, _, _ = await connect("/ws/v2/events")
    await receive(ws)
    await ws.send_to(text_data='{"op": "write"}')
    assert (await ws.receive_output(timeout=2)) == {"type": "websocket.close", "code": 1008}


async def test_events_bad_since_is_refused(live_demo):
    ws, connected, code = await connect("/ws/v2/events?since=abc")
    assert not connected and code == 4400


async def test_a_handshake_and_a_ping_do_not_wait_for_the_sync_thread(live_demo):
    """The process's one thread for sync code (replays, the hub, Django's views) held
    busy: a socket still opens, says hello and answers pings (Channels would otherwise
    queue each message there behind the database)."""
    warm, _, _ = await connect("/ws/v2/events")
    await receive(warm)
    busy, release = threading.Event(), threading.Event()

    def hold_the_thread():
        busy.set()
        release.wait(30)

    held = asyncio.ensure_future(sync_to_async(hold_the_thread, thread_sensitive=True)())
    try:
        assert await asyncio.to_thread(busy.wait, 5)
        events, connected, _ = await connect("/ws/v2/events")
        assert connected and (await receive(events))["type"] == "hello"
        okx, connected, _ = await connect("/ws/v5/public")
        assert connected
        await okx.send_to(text_data="ping")
        assert await okx.receive_from(timeout=3) == "pong"
        assert not held.done()
    finally:
        release.set()
        await held
    for ws in (warm, events, okx):
        await ws.disconnect()


# --- /ws/status (the browser page) -------------------------------------------------------


async def test_page_socket_sends_the_regions_then_updates_them(live_demo):
    ws, connected, _ = await connect("/ws/status?view=home")
    assert connected
    state = await receive(ws)
    assert state["type"] == "update" and "All Systems Operational" in state["regions"]["banner"]
    market = await sync_to_async(Component.objects.get)(name="Market data")
    await change(
        services.incident_open,
        actor=SYSTEM,
        name="Prices frozen",
        body="Investigating.",
        components={market: "major_outage"},
    )
    update = await receive(ws)
    assert "Major System Outage" in update["regions"]["banner"]
    assert "Prices frozen" in update["regions"]["incidents"]
    assert update["seq"] > state["seq"]
    await ws.disconnect()


async def test_incident_page_socket_gets_its_timeline(live_demo):
    market = await sync_to_async(Component.objects.get)(name="Market data")
    incident = await change(
        services.incident_open, actor=SYSTEM, name="Prices frozen", body="Looking.", components={market: "major_outage"}
    )
    ws, _, _ = await connect(f"/ws/status?view=incident:{incident.public_id}")
    assert "Looking." in (await receive(ws))["regions"]["incident"]
    await change(
        services.incident_post_update, incident=incident, actor=SYSTEM, status="identified", body="Cache saturated."
    )
    update = await receive(ws)
    assert "Cache saturated." in update["regions"]["incident"]
    await ws.disconnect()


async def test_each_page_socket_is_sent_its_own_languages_regions(live_demo):
    english, _, _ = await connect("/ws/status?view=home")
    hans, _, _ = await connect("/ws/status?view=home&lang=zh-hans")
    market = await sync_to_async(Component.objects.get)(name="Market data")
    incident = await change(
        services.incident_open,
        actor=SYSTEM,
        name="Prices frozen",
        body="Investigating.",
        components={market: "major_outage"},
        translations={"zh-hans": {"name": "行情冻结", "body": "正在调查。"}, "zh-hant": {"name": "行情凍結"}},
    )
    hant, _, _ = await connect(f"/ws/status?view=incident:{incident.public_id}&lang=zh-hant")
    for ws in (english, hans):
        await receive(ws)  # the state on connect
    update_en, update_hans = await receive(english), await receive(hans)
    assert "Prices frozen" in update_en["regions"]["incidents"] and "行情冻结" not in update_en["regions"]["incidents"]
    assert (
        "行情冻结" in update_hans["regions"]["incidents"] and "Prices frozen" not in update_hans["regions"]["incidents"]
    )
    assert "Major System Outage" in update_en["regions"]["banner"]
    assert "Major System Outage" not in update_hans["regions"]["banner"]
    # An incident page in Traditional: its name translated, its untranslated update in
    # English and marked as such.
    article = (await receive(hant))["regions"]["incident"]
    assert "行情凍結" in article
    assert 'lang="en" data-untranslated' in article and "Investigating." in article
    for ws in (english, hans, hant):
        await ws.disconnect()


async def test_history_page_socket_is_told_to_refresh(live_demo):
    ws, _, _ = await connect("/ws/status?view=history")
    assert (await receive(ws))["type"] == "changed"
    await change(services.incident_open, actor=SYSTEM, name="Deposits delayed", body="Looking.")
    assert (await receive(ws))["type"] == "changed"
    await ws.disconnect()


async def test_funding_page_socket_is_told_of_funding_changes_only(live_demo):
    ws, _, _ = await connect("/ws/status?view=funding")
    assert (await receive(ws))["view"] == "funding"
    await change(services.incident_open, actor=SYSTEM, name="Deposits delayed", body="Looking.")
    assert await ws.receive_nothing(timeout=2.5)  # an incident is not a funding change
    trc20 = await sync_to_async(lambda: list(Network.objects.filter(asset__symbol="USDT", code="TRC20")))()
    await change(services.funding_set, actor=SYSTEM, networks=trc20, withdrawal="suspended")
    message = await receive(ws)
    assert (message["type"], message["view"]) == ("changed", "funding")
    await ws.disconnect()


async def test_page_socket_checks_origin(live_demo):
    _, connected, _ = await connect("/ws/status?view=home", origin=b"https://evil.example")
    assert not connected


async def test_unknown_incident_view_is_closed(live_demo):
    ws, _, _ = await connect("/ws/status?view=incident:nothing")
    assert (await ws.receive_output(timeout=2))["code"] == 4404


async def test_one_render_per_change_however_many_watch(live_demo):
    sockets = []
    for _ in range(30):
        ws, _, _ = await connect("/ws/status?view=home")
        await receive(ws)
        sockets.append(ws)
    rendered = []

    def count(sender, template, **kwargs):
        if template.name == "status/_home_banner.html":
            rendered.append(template.name)

    template_rendered.connect(count)
    try:
        market = await sync_to_async(Component.objects.get)(name="Market data")
        await change(services.component_set_status, component=market, status="partial_outage", actor=SYSTEM)
        messages = [await receive(ws) for ws in sockets]
    finally:
        template_rendered.disconnect(count)
    assert all("Partial System Outage" in m["regions"]["banner"] for m in messages)
    assert len({json.dumps(m) for m in messages}) == 1
    # Once per language (each language's page and sockets), not once per socket.
    assert rendered == ["status/_home_banner.html"] * len(settings.LANGUAGES)
    for ws in sockets:
        await ws.disconnect()


@override_settings(CHANNEL_LAYERS={"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}})
async def test_sockets_share_the_hub_and_open_no_channel_of_their_own(live_demo, monkeypatch):
    """With 10,000 sockets a channel each made connecting quadratic; the hub's one is enough,
    even where a deployment configures a Channels layer for something else."""
    from channels.layers import get_channel_layer

    layer = get_channel_layer()
    assert layer is not None
    opened = []
    original = type(layer).new_channel

    async def counting(self, *args, **kwargs):
        name = await original(self, *args, **kwargs)
        opened.append(name)
        return name

    monkeypatch.setattr(type(layer), "new_channel", counting)
    sockets = []
    for path in ["/ws/status?view=home", "/ws/v5/public", "/ws/v2/events"] * 3:
        ws, connected, _ = await connect(path)
        assert connected
        sockets.append(ws)
    market = await sync_to_async(Component.objects.get)(name="Market data")
    await change(services.component_set_status, component=market, status="degraded_performance", actor=SYSTEM)
    event = None
    while event is None or event.get("type") == "hello":
        event = await receive(sockets[2])
    assert event["data"]["component_update"]["new_status"] == "degraded_performance"
    assert opened == []
    for ws in sockets:
        await ws.disconnect()


async def test_the_hub_runs_the_full_garbage_collections_itself(live_demo, settings):
    """Automatic full collections paused the loop 1–2 s mid-broadcast at 10,000 sockets."""
    import gc

    settings.LIVE_GC_FULL_SECONDS = 0.2
    ws, connected, _ = await connect("/ws/v2/events")
    assert connected
    assert gc.get_threshold()[2] >= 1_000_000  # the collector no longer starts them
    before = gc.get_stats()[2]["collections"]
    for _ in range(100):
        if gc.get_stats()[2]["collections"] > before:
            break
        await asyncio.sleep(0.05)
    assert gc.get_stats()[2]["collections"] > before  # the hub does, when nothing is being sent
    await ws.disconnect()


async def test_the_writer_rebuilds_only_once_its_process_streams_carry_the_change(live_demo, monkeypatch):
    """The rebuild is CPU-bound; run during the fan-out it would hold up every subscriber."""
    ws, connected, _ = await connect("/ws/v2/events")
    assert connected
    assert (await receive(ws))["type"] == "hello"
    already_sent = []
    original = snapshot.rebuild

    def rebuild(*args, **kwargs):
        already_sent.append(ws.output_queue.qsize())
        return original(*args, **kwargs)

    monkeypatch.setattr(snapshot, "rebuild", rebuild)
    market = await sync_to_async(Component.objects.get)(name="Market data")
    await change(services.component_set_status, component=market, status="major_outage", actor=SYSTEM)
    assert already_sent == [1]  # the event was on the socket before the rebuild began
    event = await receive(ws)
    assert event["data"]["component_update"]["new_status"] == "major_outage"
    await ws.disconnect()


# --- back-pressure -----------------------------------------------------------------------


async def test_a_stalled_client_is_bounded_and_does_not_hold_up_others():
    stalled = asyncio.Event()
    closed = []
    received = []

    async def never_returns(text_data):
        await stalled.wait()

    async def close(code):
        closed.append(code)

    async def fine(text_data):
        received.append(text_data)

    slow_page = Connection(never_returns, close, stream="page", coalesce=True)
    slow_stream = Connection(never_returns, close, stream="events", coalesce=False)
    healthy = Connection(fine, close, stream="events", coalesce=False)
    for i in range(QUEUE_LIMIT + 10):
        for connection in (slow_page, slow_stream, healthy):
            connection.offer(f"message {i}", i + 1)
        await asyncio.sleep(0)
    await asyncio.sleep(0.05)
    assert len(slow_page.queue) <= 1  # coalesced to the latest state
    assert slow_stream.closed and closed == [4008]  # fell too far behind: closed, resumes by seq
    assert len(received) == QUEUE_LIMIT + 10  # the healthy one got everything
    for connection in (slow_page, slow_stream, healthy):
        connection.stop()
