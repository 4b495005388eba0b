"""deploy/run on the test services: the whole production stack (supervisord running nginx,
the ASGI processes, the Celery worker and beat) for the tests that need all of it.

`production_stack()` starts it on a scratch database of the test PostgreSQL, this test
process's Redis database and the test broker, waits until nginx serves, loads the demo,
and yields a `Stack`; it stops the stack as the fixture of tests/test_deploy.py always
did (SIGTERM to deploy/run's process group) and then makes sure nothing it ran is left.
"""

from __future__ import annotations

import atexit
import contextlib
import os
import re
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import uuid
import xmlrpc.client
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import psycopg
from supervisor.xmlrpc import SupervisorTransport

from .private_services import forget_queue, forget_redis_keys
from .servers import ROOT, free_port_block

STOP_SECONDS = 20

# The stacks this test process starts share their collected static files: each file is
# compressed once (statuspage/staticfiles.py), not once per stack.
_STATIC_ROOT = Path(tempfile.gettempdir()) / f"statuspage-deploy-static-{os.getpid()}"
atexit.register(shutil.rmtree, _STATIC_ROOT, ignore_errors=True)
atexit.register(lambda: _STATIC_ROOT.with_name(_STATIC_ROOT.name + ".lock").unlink(missing_ok=True))


@dataclass
class Stack:
    base: str
    env: dict
    log: Path
    var: Path
    process: subprocess.Popen
    database: str
    seen_pgids: set[int] = field(default_factory=set)
    stopped_in: float | None = None

    # --- supervisord ---------------------------------------------------------------------

    def ctl(self, *args: str, check: bool = False) -> str:
        result = subprocess.run(
            [str(ROOT / ".venv/bin/supervisorctl"), "-c", str(self.var / "supervisord.conf"), *args],
            capture_output=True,
            text=True,
            timeout=15,
        )
        if check:
            assert result.returncode == 0, result.stdout + result.stderr
        return result.stdout

    def rpc(self):
        """supervisord's XML-RPC interface on its Unix socket (what supervisorctl uses)."""
        transport = SupervisorTransport(serverurl=f"unix://{self.var / 'supervisor.sock'}")
        return xmlrpc.client.ServerProxy("http://127.0.0.1", transport=transport).supervisor

    def status(self) -> dict[str, tuple[str, int]]:
        """Every program's state and pid (0 while it has none), by the names supervisorctl
        uses (`web:web-0`, `worker`, `beat`, `nginx`)."""
        programs = {}
        for info in self.rpc().getAllProcessInfo():
            name = info["name"] if info["group"] == info["name"] else f"{info['group']}:{info['name']}"
            programs[name] = (info["statename"], info["pid"])
        self.seen_pgids.update(pid for _, pid in programs.values() if pid)
        return programs

    def wait_respawned(self, name: str, old_pid: int, timeout: float = 30) -> tuple[int, float]:
        """Wait until supervisord has started `name` again (a pid other than `old_pid`,
        whatever its state); (pid, seconds)."""
        started = time.monotonic()
        while True:
            state, pid = self.status().get(name, ("", 0))
            if pid and pid != old_pid:
                return pid, time.monotonic() - started
            assert time.monotonic() - started < timeout, (name, state, self.ctl("status"))
            time.sleep(0.01)

    def pid(self, name: str) -> int:
        """The pid of `name` once it runs: never 0 (os.kill(0, …) would signal the caller's
        own process group)."""
        return self.wait_running(name)[0]

    def wait_running(self, name: str, other_than: int = 0, timeout: float = 30) -> tuple[int, float]:
        """Wait until `name` is RUNNING with a pid other than `other_than`; (pid, seconds)."""
        started = time.monotonic()
        while True:
            state, pid = self.status().get(name, ("", 0))
            if state == "RUNNING" and pid and pid != other_than:
                return pid, time.monotonic() - started
            assert time.monotonic() - started < timeout, (
                name,
                state,
                self.ctl("status"),
                self.program_log(name.rsplit(":", 1)[-1])[-3000:],
            )
            time.sleep(0.05)

    def program_log(self, name: str) -> str:
        """The output of one program (`web-0`, `worker`, `beat`, `nginx`, `supervisord`)."""
        path = self.var / "log" / f"{name}.log"
        return path.read_text(errors="replace") if path.exists() else ""

    def budget(self) -> int:
        """The connection budget deploy/run printed."""
        match = re.search(r"database connections: at most (\d+)", self.log.read_text())
        assert match, self.log.read_text()[-3000:]
        return int(match.group(1))

    # --- stopping ------------------------------------------------------------------------

    def kill(self) -> None:
        """The whole node dies at once (power cut, kernel panic): SIGKILL to supervisord
        and to every program's process group, nothing given a chance to clean up."""
        groups = {os.getpgid(self.process.pid)} | {pid for _, pid in self.status().values() if pid}
        for group in groups:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(group, signal.SIGKILL)
        self.process.wait(timeout=10)

    def stop(self) -> list[int]:
        """SIGTERM to deploy/run's process group, as the tests always stopped it; returns
        the pids of the stack's processes still alive afterwards (killed then)."""
        if self.process.poll() is None:
            with contextlib.suppress(Exception):
                self.status()
            started = time.monotonic()
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=STOP_SECONDS)
                self.stopped_in = time.monotonic() - started
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(timeout=10)
        # Each program runs in a process group of its own (supervisord's setpgrp), named
        # by the program's first pid: anything still in one of those was left behind.
        left = _left_behind(self.seen_pgids)
        for pid in left:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.kill(pid, signal.SIGKILL)
        return left


def _left_behind(pgids: set[int]) -> list[int]:
    """Live processes in these process groups that run in this checkout (as every
    program of the stack does), so an unrelated process never matches."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            cwd = os.readlink(entry / "cwd")
        except OSError:
            continue
        # pid (comm) state ppid pgrp …: comm may hold spaces and parentheses.
        fields = stat.rsplit(")", 1)[1].split()
        if int(fields[2]) in pgids and fields[0] != "Z" and Path(cwd) == ROOT:
            found.append(int(entry.name))
    return found


@contextlib.contextmanager
def production_stack(postgres_url: str, redis_url: str, broker_url: str, join: Stack | None = None, **overrides: str):
    """With `join`, a second node of the same deployment: its own processes, nginx and
    published files, on the database, Redis and broker of the stack it joins (which
    made them, loaded the demo, and cleans up)."""
    name = join.database if join else f"statuspage_deploy_{uuid.uuid4().hex[:8]}"
    if not join:
        with psycopg.connect(f"{postgres_url}/postgres", autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
    var = Path(tempfile.mkdtemp(prefix="deploy-"))
    web = int(overrides.get("WEB_CONCURRENCY", "2"))
    listen = free_port_block(1 + web)
    env = {
        **os.environ,
        "DATABASE_URL": f"{postgres_url}/{name}",
        "REDIS_URL": redis_url,
        # Its keys and live-push channel under a prefix of its own (a node that joins shares
        # them): nothing else on that Redis is read, heard or deleted.
        "CACHE_KEY_PREFIX": join.env["CACHE_KEY_PREFIX"] if join else name,
        "CELERY_BROKER_URL": broker_url,
        # Its tasks in a queue of its own (a node that joins shares it): a broker we were
        # given may carry other deployments' tasks, and they never take each other's.
        "CELERY_QUEUE": join.env["CELERY_QUEUE"] if join else name,
        # DEBUG off over plain HTTP on loopback: a production-strength key, TLS off.
        "SECRET_KEY": "deploy-test-0123456789-abcdefghijklmnopqrstuvwxyz-ABCDEFG",
        "TLS": "off",
        "ALLOWED_HOSTS": "127.0.0.1,localhost",
        "VAR_DIR": str(var),
        "STATIC_ROOT": str(_STATIC_ROOT),
        "LISTEN": str(listen),
        "APP_PORT": str(listen + 1),  # web-0, web-1, … on the next ports
        "WEB_CONCURRENCY": str(web),
        "CELERY_CONCURRENCY": "1",
        **overrides,
    }
    log = var / "stack.log"
    process = subprocess.Popen(
        [str(ROOT / "deploy" / "run")],
        cwd=ROOT,
        env=env,
        stdout=log.open("w"),
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    stack = Stack(f"http://127.0.0.1:{listen}", env, log, var, process, name)
    try:
        # Before it serves, deploy/run migrates and collects the static files, compressing
        # each (gzip, and brotli where installed: about 80 s of one core here).
        deadline = time.monotonic() + 240
        while True:
            assert process.poll() is None, log.read_text()[-3000:]
            # nginx answers the public reads from files by itself: wait for every web
            # process too, each listening on its own port (uvicorn listens once its app
            # started). Only connected to, never asked: a request would start the
            # process's hub, which it must do by itself (behind nginx a node's reads
            # never reach it).
            try:
                if httpx.get(stack.base + "/api/v2/status.json", timeout=1).status_code == 200 and all(
                    _listening(listen + 1 + i) for i in range(web)
                ):
                    break
            except httpx.HTTPError:
                pass
            assert time.monotonic() < deadline, log.read_text()[-3000:]
            time.sleep(0.3)
        stack.status()
        if not join:
            manage(env, "load_demo")
        yield stack
    finally:
        stack.stop()
        shutil.rmtree(var, ignore_errors=True)
        if not join:
            with psycopg.connect(f"{postgres_url}/postgres", autocommit=True) as conn:
                conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            forget_redis_keys(redis_url, name)
            forget_queue(broker_url, name)


def _listening(port: int) -> bool:
    try:
        socket.create_connection(("127.0.0.1", port), timeout=1).close()
        return True
    except OSError:
        return False


def manage(env: dict, *args: str) -> str:
    """`manage.py …` against the stack's database, as an operator would run it."""
    result = subprocess.run(
        [str(ROOT / ".venv/bin/python"), "manage.py", *args],
        cwd=ROOT,
        env={**env, "DEBUG": "0"},
        check=True,
        capture_output=True,
        text=True,
    )
    return result.stdout
