"""Issue 11: `kill -9` of one uvicorn or of the Celery worker made honcho stop every
process, nginx included (3 x 502, then connection refused until restarted by hand).

Under supervisord each process that dies is started again alone. Here, with readers
reading the public paths through nginx the whole time, one web process, the worker's
main process, beat and nginx's master are killed in turn: readers see no 5xx (nginx
retries another web process), each killed process comes back with a new pid, every
other keeps its pid, a write after the worker's death is still delivered to a webhook,
and SIGTERM then stops the whole stack within 20 s with nothing left behind.
"""

from __future__ import annotations

import logging
import os
import signal
import threading
import time
from collections import Counter

import httpx
import pytest

from incidents import rules

from ..live_delivery import Receiver
from .conftest import components, write_token

pytestmark = pytest.mark.live

# What a reader fetches. Every other request carries a query string of its own, so it
# passes nginx's micro-cache and is answered by a web process: the retry is what is tested.
PUBLIC_READS = ("/api/v2/summary.json", "/", "/api/v5/system/status")


class Readers:
    """`threads` readers in a loop through nginx, tallying what they get."""

    def __init__(self, base: str, threads: int = 2):
        self.base = base
        self.codes: Counter = Counter()
        self.transport_errors: list[tuple[float, str]] = []
        self.lock = threading.Lock()
        self.running = True
        self.threads = [threading.Thread(target=self.read, args=(i,), daemon=True) for i in range(threads)]
        for thread in self.threads:
            thread.start()

    def read(self, index: int) -> None:
        http = httpx.Client(base_url=self.base, timeout=10)
        n = 0
        while self.running:
            path = PUBLIC_READS[n % len(PUBLIC_READS)]
            params = {"r": f"{index}-{n}"} if n % 2 else None
            n += 1
            try:
                status = http.get(path, params=params).status_code
            except httpx.TransportError as exc:
                with self.lock:
                    self.transport_errors.append((time.monotonic(), type(exc).__name__))
                http = httpx.Client(base_url=self.base, timeout=10)
                time.sleep(0.01)
                continue
            with self.lock:
                self.codes[status] += 1

    def take(self) -> tuple[Counter, list]:
        """What was seen since the last call (and forget it)."""
        with self.lock:
            codes, errors = self.codes, self.transport_errors
            self.codes, self.transport_errors = Counter(), []
            return codes, errors

    def stop(self) -> None:
        self.running = False
        for thread in self.threads:
            thread.join(timeout=15)


def ready_marks(stack, name: str) -> int:
    """How often the program has said it is ready (Celery's worker and beat)."""
    mark = {"worker": " ready.", "beat": "beat: Starting"}.get(name)
    return stack.program_log(name).count(mark) if mark else 0


def wait_serving(stack, name: str, new_pid: int, ready_before: int, killed_at: float) -> float:
    """Seconds from the kill until the restarted program does its job again: a web process
    answers on its port, nginx's new master (once it has written its pid file: the old
    master's workers may answer until then) a new connection, the worker and beat say
    they are ready once more."""
    port = {"nginx": int(stack.env["LISTEN"])}.get(name)
    pid_file = stack.var / "nginx" / "nginx.pid"
    if name.startswith("web:"):
        port = int(stack.env["APP_PORT"]) + int(name.rsplit("-", 1)[1])
    while True:
        if name == "nginx" and pid_file.exists() and pid_file.read_text().strip() != str(new_pid):
            pass
        elif port is not None:
            try:
                if httpx.get(f"http://127.0.0.1:{port}/api/v2/status.json", timeout=2).status_code == 200:
                    return time.monotonic() - killed_at
            except httpx.TransportError:
                pass
        elif ready_marks(stack, name) > ready_before:
            return time.monotonic() - killed_at
        assert time.monotonic() - killed_at < 60, (name, stack.program_log(name.rsplit(":", 1)[-1])[-3000:])
        time.sleep(0.01)


def server_errors(codes: Counter) -> int:
    return sum(n for code, n in codes.items() if code >= 500)


def test_each_killed_process_is_restarted_alone_and_readers_see_no_5xx(start_stack, caplog):
    caplog.set_level(logging.WARNING, logger="httpx")  # not a line per request
    stack = start_stack(WEBHOOK_ALLOW_LOOPBACK="1")
    token = write_token(stack)
    api = httpx.Client(base_url=stack.base, timeout=15, headers={"Authorization": f"Bearer {token}"})
    component = components(stack)[0]
    receiver = Receiver()
    hook = api.post("/api/v1/subscribers", json={"endpoint": receiver.url("/hook"), "skip_confirmation": True})
    assert hook.status_code == 201, hook.text
    receiver.secrets["/hook"] = hook.json()["secret"]

    readers = Readers(stack.base)
    outcomes = {}
    try:
        time.sleep(2)
        before = readers.take()
        assert before[0][200] > 0 and not server_errors(before[0]) and not before[1], before

        for name in ("web:web-0", "worker", "beat", "nginx"):
            stack.wait_running(name)
            pids = {n: pid for n, (_, pid) in stack.status().items()}
            # os.kill(0, …) would signal this test's own process group.
            assert pids[name] > 0, stack.ctl("status")
            ready_before = ready_marks(stack, name)
            killed_at = time.monotonic()
            os.kill(pids[name], signal.SIGKILL)
            if name == "worker":
                # A write while the worker is down: its notification waits in the broker.
                status = rules.COMPONENT_STATUSES[1]
                assert api.patch(f"/api/v1/components/{component}", json={"status": status}).status_code == 200
            new_pid, respawned_after = stack.wait_respawned(name, pids[name])
            serving_after = wait_serving(stack, name, new_pid, ready_before, killed_at)
            stack.wait_running(name, other_than=pids[name])
            time.sleep(2)  # readers go on against the restarted process
            codes, errors = readers.take()
            outcomes[name] = {
                "reads": dict(codes),
                "transport errors": len(errors),
                "started again after s": round(respawned_after, 3),
                "serving again after s": round(serving_after, 3),
            }
            print(name, outcomes[name])

            assert codes[200] > 0, (name, outcomes[name])
            assert not server_errors(codes), (name, outcomes[name])
            if name == "nginx":
                # Readers may find nothing listening for a moment: nginx is back within 2 s.
                assert serving_after < 2, outcomes[name]
            else:
                assert not errors, (name, errors[:5])
            after = {n: pid for n, (_, pid) in stack.status().items()}
            assert after[name] == new_pid != pids[name]
            assert {n: p for n, p in after.items() if n != name} == {n: p for n, p in pids.items() if n != name}

            if name == "worker":
                # The write made while the worker was dead reached the webhook all the same.
                deadline = time.monotonic() + 60
                while not receiver.events("/hook")["component.updated"]:
                    assert time.monotonic() < deadline, (receiver.received, stack.program_log("worker")[-3000:])
                    time.sleep(0.2)
    finally:
        readers.stop()
        receiver.close()
    print("outcomes", outcomes)

    # Then SIGTERM stops everything within 20 s, and no process of the stack is left.
    left = stack.stop()
    assert stack.stopped_in is not None and stack.stopped_in < 20, stack.stopped_in
    assert left == [], left
    print("stopped in", round(stack.stopped_in, 2), "s")
