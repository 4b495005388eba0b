"""The broadcast fast path (statuspage/wsprotocol.py, incidents/publish/connection.py): a
message for a whole stream is framed once and written straight to each socket.

Against uvicorn with the production protocol class, in this process (so the hub's
connections can be looked at), and real `websockets` clients, which reject any frame
that is not well formed."""

import asyncio
import json

import pytest
import pytest_asyncio
import uvicorn
import websockets
from asgiref.sync import sync_to_async
from websockets.frames import Frame, Opcode
from websockets.streams import StreamReader

from incidents import services
from incidents.models import Component
from incidents.publish import hub, site
from incidents.publish.connection import Connection, text_frame
from statuspage.asgi import application
from statuspage.wsprotocol import FramedWebSocketProtocol

from ..servers import free_port

SYSTEM = services.Actor.system()


@pytest.mark.parametrize("size", [0, 1, 125, 126, 65535, 65536, 200_000])
def test_a_frame_built_once_is_what_a_websocket_client_parses(size):
    text = ("é" * size)[: max(size - 1, 0)] + ("x" if size else "")
    reader = StreamReader()
    reader.feed_data(text_frame(text))
    reader.feed_eof()
    parser = Frame.parse(reader.read_exact, mask=False)
    try:
        next(parser)
    except StopIteration as done:
        frame = done.value
    assert frame.opcode is Opcode.TEXT and frame.fin and not (frame.rsv1 or frame.rsv2 or frame.rsv3)
    assert frame.data.decode() == text


@pytest_asyncio.fixture
async def framed_server(demo):
    await sync_to_async(site.refresh)()
    port = free_port()
    config = uvicorn.Config(
        application,
        host="127.0.0.1",
        port=port,
        ws=FramedWebSocketProtocol,
        ws_per_message_deflate=False,
        lifespan="off",
        log_level="warning",
    )
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve())
    while not server.started:
        await asyncio.sleep(0.01)
    yield f"ws://127.0.0.1:{port}"
    server.should_exit = True
    await asyncio.wait_for(task, 10)


@pytest.mark.django_db(transaction=True)
@pytest.mark.asyncio
async def test_every_subscriber_gets_every_change_in_order_through_the_frames_written_once(framed_server):
    events = [await websockets.connect(f"{framed_server}/ws/v2/events") for _ in range(40)]
    okx = [await websockets.connect(f"{framed_server}/ws/v5/public") for _ in range(10)]
    hellos = [json.loads(await s.recv()) for s in events]
    start = hellos[0]["seq"]
    for s in okx:
        await s.send(json.dumps({"op": "subscribe", "args": [{"channel": "status"}]}))
        await s.recv()  # the acknowledgement
        await s.recv()  # the state

    # Count what each socket's server-side writer writes, on the real transport.
    written = []
    connections = [*hub.hub().connections["events"], *hub.hub().connections["okx"]]
    assert len(connections) == 50 and all(c._write_frame is not None for c in connections)
    for connection in connections:
        write = connection._write_frame

        def counted(frame, write=write):
            done = write(frame)
            written.append(done)
            return done

        connection._write_frame = counted

    api = await sync_to_async(Component.objects.get)(name="REST API")
    statuses = ["major_outage", "partial_outage", "degraded_performance", "operational"] * 5
    for status in statuses:
        await sync_to_async(services.component_set_status, thread_sensitive=False)(
            component=api, status=status, actor=SYSTEM
        )

    for s in events:
        got = [json.loads(await asyncio.wait_for(s.recv(), 5)) for _ in statuses]
        assert [e["seq"] for e in got] == list(range(start + 1, start + 1 + len(statuses)))
        assert [e["data"]["component_update"]["new_status"] for e in got] == statuses
    # An incident: OKX subscribers get its row pushed, framed once for all of them.
    await sync_to_async(services.incident_open, thread_sensitive=False)(
        actor=SYSTEM, name="Quotes frozen", body="Looking into it."
    )
    for s in okx:
        push = json.loads(await asyncio.wait_for(s.recv(), 5))
        assert push["arg"] == {"channel": "status"} and push["data"][0]["title"] == "Quotes frozen"
    # The events went out as frames written once per message, not one ASGI send each.
    assert written.count(True) >= 40 * len(statuses) + 10, (written.count(True), written.count(False))
    for s in events + okx:
        await s.close()


@pytest.mark.asyncio
async def test_a_message_being_sent_is_never_overtaken_by_a_frame():
    """A socket whose writer is in the middle of an ASGI send (or has a queue) takes the
    next message in turn, not through the frame writer."""
    order = []
    release = asyncio.Event()

    async def slow_send(text_data):
        await release.wait()
        order.append(text_data)

    async def close(code):
        pass

    def write_frame(frame):
        order.append(frame[2:].decode())
        return True

    connection = Connection(slow_send, close, stream="events", coalesce=False, write_frame=write_frame)
    connection.pause()
    connection.offer("replayed 1", 1, text_frame("replayed 1"))  # held while paused
    connection.resume()
    await asyncio.sleep(0.01)  # the writer now waits in slow_send with "replayed 1"
    connection.offer("live 2", 2, text_frame("live 2"))
    connection.offer("live 3", 3, text_frame("live 3"))
    release.set()
    await asyncio.sleep(0.05)
    connection.offer("live 4", 4, text_frame("live 4"))  # nothing pending: straight out
    assert order == ["replayed 1", "live 2", "live 3", "live 4"]
    connection.stop()
