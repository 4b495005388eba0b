"""Two nodes of one deployment (each deploy/run: its own nginx, web processes, worker,
beat and published files) on one PostgreSQL, Redis and RabbitMQ, behind a third nginx as
the load balancer.

A change posted on node A reaches the live subscribers of node B and node B's own
published files (B's processes hear of it on Redis and publish for themselves: nothing is
copied between machines). Then node A dies whole (SIGKILL to every process of it) while
readers read through the load balancer and from B directly: none of them sees an error,
and a write on B still reaches B's subscribers.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import shutil
import subprocess
import tempfile
import threading
import time
from pathlib import Path

import httpx
import pytest
import websockets

from ..private_services import free_port, stop, wait_for_port
from ..stack import production_stack
from .conftest import components, write_token
from .outage import ReadLoad, public_reads

pytestmark = pytest.mark.live

BALANCER = """
worker_processes 1;
error_log {dir}/error.log warn;
pid {dir}/nginx.pid;
events {{ worker_connections 1024; }}
http {{
    access_log off;
    client_body_temp_path {dir}/tmp;
    proxy_temp_path {dir}/tmp;
    upstream nodes {{
        server 127.0.0.1:{a} max_fails=1 fail_timeout=10s;
        server 127.0.0.1:{b} max_fails=1 fail_timeout=10s;
    }}
    map $http_upgrade $connection_upgrade {{ default upgrade; '' close; }}
    server {{
        listen 127.0.0.1:{port};
        location / {{
            proxy_pass http://nodes;
            proxy_http_version 1.1;
            proxy_set_header Host $http_host;
            proxy_set_header Upgrade $http_upgrade;
            proxy_set_header Connection $connection_upgrade;
            proxy_connect_timeout 1s;
            # A node that is gone: the read is asked of the other (never a write).
            proxy_next_upstream error timeout http_502 http_503 http_504;
        }}
    }}
}}
"""


@contextlib.contextmanager
def load_balancer(a: str, b: str):
    folder = Path(tempfile.mkdtemp(prefix="balancer-"))
    (folder / "tmp").mkdir()
    folder.chmod(0o755)
    port = free_port()
    config = folder / "nginx.conf"
    config.write_text(BALANCER.format(dir=folder, a=a.rsplit(":", 1)[1], b=b.rsplit(":", 1)[1], port=port))
    process = subprocess.Popen(
        ["/usr/sbin/nginx", "-p", str(folder), "-c", str(config), "-g", "daemon off; user root;"],
        stdout=(folder / "out.log").open("wb"),
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        wait_for_port(port, process, "nginx (balancer)", folder / "error.log")
        yield f"http://127.0.0.1:{port}"
    finally:
        stop(process)
        shutil.rmtree(folder, ignore_errors=True)


def status_of(base: str, component: str) -> str:
    listed = httpx.get(base + "/api/v2/summary.json", timeout=5).json()["components"]
    return next(c["status"] for c in listed if c["id"] == component)


class Subscriber:
    """A live client of one node's `/ws/v2/events`, in a thread, keeping what it hears."""

    def __init__(self, base: str):
        self.url = base.replace("http://", "ws://") + "/ws/v2/events"
        self.events: list[tuple[float, dict]] = []
        self.thread = threading.Thread(target=asyncio.run, args=(self.run(),), daemon=True)
        self.thread.start()

    async def run(self):
        async with websockets.connect(self.url, open_timeout=10) as socket:
            self.hello = json.loads(await socket.recv())
            self.ready_at = time.monotonic()
            with contextlib.suppress(websockets.ConnectionClosed):
                while True:
                    message = json.loads(await socket.recv())
                    self.events.append((time.monotonic(), message))

    def wait_ready(self) -> None:
        deadline = time.monotonic() + 10
        while not hasattr(self, "ready_at"):
            assert time.monotonic() < deadline, "the socket never said hello"
            time.sleep(0.02)

    def heard(self, component: str, status: str) -> float | None:
        """When the event setting `component` to `status` arrived, if it did."""
        for at, event in self.events:
            update = event.get("data", {}).get("component_update") or {}
            if event.get("data", {}).get("component", {}).get("id") == component and update.get("new_status") == status:
                return at
        return None


def wait(condition, timeout: float, what: str) -> float:
    started = time.monotonic()
    while not condition():
        assert time.monotonic() - started < timeout, what
        time.sleep(0.02)
    return time.monotonic() - started


def test_a_change_on_node_a_reaches_node_b_and_node_a_dying_costs_b_nothing(postgres_url, redis_url, broker_url):
    with contextlib.ExitStack() as stacks:
        node_a = stacks.enter_context(production_stack(postgres_url, redis_url, broker_url))
        node_b = stacks.enter_context(production_stack(postgres_url, redis_url, broker_url, join=node_a))
        balancer = stacks.enter_context(load_balancer(node_a.base, node_b.base))
        token = write_token(node_a)
        auth = {"Authorization": f"Bearer {token}"}
        component = components(node_a)[0]
        # B published the demo A loaded, by itself.
        wait(lambda: status_of(node_b.base, component) == "operational", 20, "node B never published the demo")
        # Each node's worker runs under a name of its own on the shared broker: RabbitMQ gives
        # a worker's control queue to one connection, so a second worker of the same name
        # would die at start, again and again.
        for node in (node_a, node_b):
            wait(lambda node=node: " ready." in node.program_log("worker"), 30, f"{node.base}'s worker never started")
            assert "Unrecoverable error" not in node.program_log("worker"), node.program_log("worker")[-3000:]
        published_b = node_b.var / "public" / "api" / "v2" / "summary.json"
        assert published_b.exists() and not (node_a.var / "public").samefile(node_b.var / "public")

        # 0. Nothing has reached B's web processes yet (nginx answers every read from B's
        # files, and the harness only connected to their ports): they started their hubs
        # by themselves, heard A's change on Redis and published it.
        sent = time.monotonic()
        response = httpx.patch(
            f"{node_a.base}/api/v1/components/{component}",
            json={"status": "degraded_performance"},
            headers=auth,
            timeout=15,
        )
        assert response.status_code == 200, response.text
        unasked = wait(
            lambda: status_of(node_b.base, component) == "degraded_performance",
            5,
            "B's web processes, never asked anything, did not publish A's change",
        )
        print(f"A -> B's files, nothing asked of B: within {unasked * 1000:.0f} ms of the write returning")
        assert time.monotonic() - sent < 15

        # 1. A change posted on A reaches B's subscribers and B's files.
        subscriber = Subscriber(node_b.base)
        subscriber.wait_ready()
        sent = time.monotonic()
        response = httpx.patch(
            f"{node_a.base}/api/v1/components/{component}", json={"status": "major_outage"}, headers=auth, timeout=15
        )
        assert response.status_code == 200, response.text
        pushed = wait(lambda: subscriber.heard(component, "major_outage"), 10, "B's subscriber never heard")
        on_disk = wait(lambda: b'"major_outage"' in published_b.read_bytes(), 10, "B never published it")
        assert status_of(node_b.base, component) == "major_outage"
        assert status_of(balancer, component) == "major_outage"
        print(
            f"A -> B: socket {(subscriber.heard(component, 'major_outage') - sent) * 1000:.0f} ms, "
            f"file within {max(pushed, on_disk) * 1000:.0f} ms of the write returning"
        )

        # 2. Node A dies whole while readers read through the balancer and from B.
        paths = public_reads(node_b.base)
        through_balancer = ReadLoad(balancer, paths, threads=3)
        at_b = ReadLoad(node_b.base, paths, threads=3)
        time.sleep(2)
        node_a.kill()
        with pytest.raises(httpx.TransportError):
            httpx.get(node_a.base + "/api/v2/status.json", timeout=2)
        time.sleep(5)
        balanced, direct = through_balancer.stop(), at_b.stop()
        print(f"node A killed: through the balancer {balanced.summary()}; at B {direct.summary()}")
        assert balanced.total > 100 and balanced.failed == 0, balanced.summary()
        assert direct.total > 100 and direct.failed == 0, direct.summary()

        # 3. B goes on alone: a write on B reaches B's subscribers and files.
        response = httpx.patch(
            f"{node_b.base}/api/v1/components/{component}", json={"status": "operational"}, headers=auth, timeout=15
        )
        assert response.status_code == 200, response.text
        wait(lambda: subscriber.heard(component, "operational"), 10, "B's subscriber never heard B's own write")
        wait(lambda: status_of(balancer, component) == "operational", 10, "the balancer shows the old state")
