"""Throwaway PostgreSQL, Redis and RabbitMQ servers for the tests that need one.

A test never relies on, and never writes to, a server it did not start or was not given:
on the embedded defaults each of these starts its own instance from Debian's binaries
(`make test` installs them where missing) on free loopback ports, in a temporary
directory, and stops it afterwards. When the environment names one (`DATABASE_URL`,
`REDIS_URL`, `CELERY_BROKER_URL`: CI's second run), the tests use that one instead.

Each context manager yields a URL; the session fixtures in conftest.py hand them out.
"""

from __future__ import annotations

import contextlib
import glob
import os
import pwd
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from pathlib import Path


def _ephemeral_ports_start() -> int:
    """Where the kernel's ephemeral ports begin (the local ports of outgoing connections)."""
    try:
        return int(Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return 32768


def free_port_block(count: int) -> int:
    """The first of `count` consecutive free loopback ports (deploy/run numbers its web
    processes), below the kernel's ephemeral range: a server killed and started again on
    its port (the fault tests) must not find it taken meanwhile as the local port of some
    outgoing connection, which a port in that range can be (seen: a restarted web process
    refused "address already in use" for a minute while readers hammered nginx)."""
    import random

    top = min(_ephemeral_ports_start(), 65536) - count
    for _ in range(200):
        base = random.randint(10000, top)  # noqa: S311 - not security
        sockets = []
        try:
            for port in range(base, base + count):
                s = socket.socket()
                sockets.append(s)
                s.bind(("127.0.0.1", port))
            return base
        except OSError:
            continue
        finally:
            for s in sockets:
                s.close()
    raise RuntimeError("no block of free ports")


def free_port() -> int:
    """A free loopback port, below the ephemeral range (`free_port_block`)."""
    return free_port_block(1)


def wait_for_port(port: int, process: subprocess.Popen, what: str, log: Path | None = None, timeout: float = 60):
    deadline = time.monotonic() + timeout
    while True:
        if process.poll() is not None:
            tail = log.read_text(errors="replace")[-3000:] if log and log.exists() else ""
            raise RuntimeError(f"{what} exited with {process.returncode}: {tail}")
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=0.2):
            return
        if time.monotonic() > deadline:
            raise RuntimeError(f"{what} did not listen on {port} within {timeout:g} s")
        time.sleep(0.05)


def stop(process: subprocess.Popen, sig: int = signal.SIGTERM, timeout: float = 15) -> None:
    """Stop a server started in its own session, with everything it started."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGCONT)  # a test may have frozen it
        os.killpg(process.pid, sig)
    try:
        process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=10)


def _spawn(argv, *, log: Path, env=None, cwd=None) -> subprocess.Popen:
    return subprocess.Popen(
        argv,
        stdout=log.open("ab"),
        stderr=subprocess.STDOUT,
        env=env,
        cwd=cwd,
        start_new_session=True,  # its own process group: stopped whole, never left behind
    )


class Server:
    """A server of our own that a fault test may stop and start again on the same port and
    data (`down()`, `up()`), or freeze (`freeze()`, `thaw()`)."""

    def __init__(
        self, argv, *, log: Path, port: int, url: str, env=None, cwd=None, what: str, stop_signal=signal.SIGTERM
    ):
        self.argv, self.log, self.port, self.url = argv, log, port, url
        self.env, self.cwd, self.what, self.stop_signal = env, cwd, what, stop_signal
        self.process: subprocess.Popen | None = None

    def up(self, timeout: float = 90) -> None:
        self.process = _spawn(self.argv, log=self.log, env=self.env, cwd=self.cwd)
        wait_for_port(self.port, self.process, self.what, self.log, timeout=timeout)

    def down(self) -> None:
        if self.process is not None and self.process.poll() is None:
            stop(self.process, self.stop_signal, timeout=30)

    def freeze(self) -> None:
        os.killpg(self.process.pid, signal.SIGSTOP)

    def thaw(self) -> None:
        os.killpg(self.process.pid, signal.SIGCONT)


# --- Redis -------------------------------------------------------------------------------


@contextlib.contextmanager
def redis_server():
    """A redis-server of our own on a free port; yields its `Server` (url: database 0)."""
    binary = shutil.which("redis-server") or "/usr/bin/redis-server"
    port = free_port()
    workdir = Path(tempfile.mkdtemp(prefix="test-redis-"))
    argv = [
        binary,
        "--port",
        str(port),
        "--bind",
        "127.0.0.1",
        "--save",
        "",
        "--appendonly",
        "no",
        "--dir",
        str(workdir),
    ]
    server = Server(argv, log=workdir / "redis.log", port=port, url=f"redis://127.0.0.1:{port}/0", what="redis-server")
    try:
        server.up()
        yield server
    finally:
        server.down()
        shutil.rmtree(workdir, ignore_errors=True)


@contextlib.contextmanager
def private_redis():
    """A redis-server of our own on a free port; yields (process, URL of database 0)."""
    with redis_server() as server:
        yield server.process, server.url


# --- PostgreSQL --------------------------------------------------------------------------


def postgres_bin(name: str) -> str:
    found = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"), key=lambda p: int(p.split("/")[4]))
    if not found:
        raise RuntimeError("PostgreSQL is not installed (make test installs Debian's postgresql)")
    return found[-1]


@contextlib.contextmanager
def postgres_server():
    """A PostgreSQL cluster of our own on a free port (trust auth, user postgres, fsync off);
    yields its `Server` (url: the server without a database name). As root the server runs as the
    `postgres` user, which Debian's package creates: PostgreSQL refuses to run as root."""
    port = free_port()
    workdir = Path(tempfile.mkdtemp(prefix="test-postgres-"))
    data, sockets, log = workdir / "data", workdir / "sockets", workdir / "postgres.log"
    sockets.mkdir()
    as_user: list[str] = []
    if os.geteuid() == 0:
        account = pwd.getpwnam("postgres")
        for path in (workdir, sockets):
            os.chown(path, account.pw_uid, account.pw_gid)
        log.touch()
        os.chown(log, account.pw_uid, account.pw_gid)
        as_user = ["runuser", "-u", "postgres", "--"]
    subprocess.run(
        [
            *as_user,
            postgres_bin("initdb"),
            "-D",
            str(data),
            "-U",
            "postgres",
            "--auth=trust",
            "-E",
            "UTF8",
            "--no-sync",
        ],
        check=True,
        capture_output=True,
        cwd=workdir,
    )
    argv = [
        *as_user,
        postgres_bin("postgres"),
        "-D",
        str(data),
        "-p",
        str(port),
        "-k",
        str(sockets),
        "-c",
        "listen_addresses=127.0.0.1",
        "-c",
        "fsync=off",
        "-c",
        "synchronous_commit=off",
        "-c",
        "full_page_writes=off",
        "-c",
        "max_connections=200",
    ]
    url = f"postgres://postgres@127.0.0.1:{port}"
    # SIGINT: "fast" shutdown, clients cut off, no waiting.
    server = Server(argv, log=log, port=port, url=url, cwd=workdir, what="postgres", stop_signal=signal.SIGINT)
    try:
        server.up()
        _wait_for_queries(url)
        yield server
    finally:
        server.down()
        shutil.rmtree(workdir, ignore_errors=True)


@contextlib.contextmanager
def private_postgres():
    """A PostgreSQL cluster of our own on a free port; yields (process, server URL)."""
    with postgres_server() as server:
        yield server.process, server.url


def _wait_for_queries(url: str, timeout: float = 30) -> None:
    import psycopg

    deadline = time.monotonic() + timeout
    while True:
        try:
            with psycopg.connect(f"{url}/postgres", connect_timeout=2) as conn:
                conn.execute("SELECT 1")
            return
        except psycopg.OperationalError:
            # Listening is not accepting: the cluster may still be starting up.
            if time.monotonic() > deadline:
                raise
            time.sleep(0.1)


# --- RabbitMQ ----------------------------------------------------------------------------


@contextlib.contextmanager
def rabbitmq_server():
    """A RabbitMQ node of our own (and its own epmd) on free ports; yields its `Server`.

    Its node name, ports, data and logs are all its own, so it never meets the machine's
    RabbitMQ if one runs. guest/guest may log in over loopback, as on a default install.
    """
    port, dist_port, epmd_port = free_port(), free_port(), free_port()
    workdir = Path(tempfile.mkdtemp(prefix="test-rabbitmq-"))
    log = workdir / "rabbitmq.log"
    (workdir / "rabbitmq.conf").write_text(f"listeners.tcp.default = 127.0.0.1:{port}\nloopback_users.guest = true\n")
    (workdir / "enabled_plugins").write_text("[].\n")
    env = {
        **os.environ,
        "HOME": str(workdir),
        "RABBITMQ_NODENAME": f"statuspage-test-{port}@localhost",
        "RABBITMQ_NODE_IP_ADDRESS": "127.0.0.1",
        "RABBITMQ_NODE_PORT": str(port),
        "RABBITMQ_DIST_PORT": str(dist_port),
        "ERL_EPMD_PORT": str(epmd_port),
        "ERL_EPMD_ADDRESS": "127.0.0.1",
        "RABBITMQ_CONFIG_FILE": str(workdir / "rabbitmq"),
        "RABBITMQ_ENABLED_PLUGINS_FILE": str(workdir / "enabled_plugins"),
        "RABBITMQ_MNESIA_BASE": str(workdir / "mnesia"),
        "RABBITMQ_LOG_BASE": str(workdir / "log"),
        "RABBITMQ_PID_FILE": str(workdir / "rabbitmq.pid"),
    }
    epmd_binary = shutil.which("epmd") or sorted(glob.glob("/usr/lib/erlang/erts-*/bin/epmd"))[-1]
    # Our own epmd in the foreground, in our process group: the node would otherwise start
    # a daemon that outlives it.
    epmd = _spawn([epmd_binary, "-port", str(epmd_port), "-address", "127.0.0.1"], log=log, env=env)
    server = Server(
        ["/usr/lib/rabbitmq/bin/rabbitmq-server"],
        log=log,
        port=port,
        url=f"amqp://guest:guest@127.0.0.1:{port}//",
        env=env,
        cwd=workdir,
        what="rabbitmq-server",
    )
    try:
        server.up(timeout=90)
        yield server
    finally:
        server.down()
        stop(epmd)
        shutil.rmtree(workdir, ignore_errors=True)


@contextlib.contextmanager
def private_rabbitmq():
    """A RabbitMQ node of our own; yields (process, URL)."""
    with rabbitmq_server() as server:
        yield server.process, server.url


# --- what the environment gives -----------------------------------------------------------


def forget_redis_keys(url: str, prefix: str) -> None:
    """Delete the keys a test's servers made under their CACHE_KEY_PREFIX, and nothing else
    (a Redis we were given may hold anything): what their cache's own `clear()` does."""
    from statuspage.cache import BreakerRedisCache

    BreakerRedisCache(url, {"KEY_PREFIX": prefix}).clear()


def forget_queue(url: str, queue: str) -> None:
    """Delete the Celery queue a test's servers used on the broker at `url`, and nothing
    else (a broker we were given may carry other queues)."""
    import kombu

    with kombu.Connection(url, connect_timeout=3) as connection:
        connection.ensure_connection(max_retries=1)
        connection.default_channel.queue_delete(queue)


def given(variable: str, *schemes: str) -> str | None:
    """The server URL the environment names for this kind of service, if any."""
    value = os.environ.get(variable, "")
    return value if value and value.split("://", 1)[0] in schemes else None
