"""Real server processes for tests that need them: daphne, or a production ASGI process
(deploy/web), on a free loopback port, reading the test database of the current test run."""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from django.conf import settings
from django.db import connection

from .private_services import free_port, free_port_block  # noqa: F401 - used here and by importers

ROOT = Path(__file__).resolve().parent.parent
# The processes the suite starts run with DEBUG off, so their key must be strong enough
# for production (statuspage/settings.py refuses a short one); they serve plain HTTP on
# loopback (TLS=off), and log in without a one-time code unless a test asks for one.
SECRET_KEY = "test-servers-only-0123456789-abcdefghijklmnopqrstuvwxyz"
SERVER_ENV = {"SECRET_KEY": SECRET_KEY, "DEBUG": "0", "TLS": "off", "ADMIN_REQUIRE_2FA": "0"}


def test_database_url() -> str:
    """The URL of the database this test run is using (the test copy, not the real one)."""
    db = connection.settings_dict
    if db["ENGINE"].endswith("sqlite3"):
        return f"sqlite:///{db['NAME']}"
    user = db.get("USER") or "postgres"
    host = db.get("HOST") or "127.0.0.1"
    port = f":{db['PORT']}" if db.get("PORT") else ""  # none: libpq's default
    return f"postgres://{user}@{host}{port}/{db['NAME']}"


def command_env(page_url: str) -> dict[str, str]:
    """The environment of a `manage.py` command run beside a test server, as under
    `make run`: this run's database and VAR_DIR, no Redis (the server hears of its
    changes by polling the database)."""
    from django.conf import settings

    env = {
        **os.environ,
        "DATABASE_URL": test_database_url(),
        "SECRET_KEY": SECRET_KEY,
        "VAR_DIR": str(settings.VAR_DIR),
        "PAGE_URL": page_url,
        "CELERY_QUEUE": _queue(),
    }
    for name in ("REDIS_URL", "LIVE_REDIS_URL", "DEBUG"):
        env.pop(name, None)
    return env


def _queue() -> str:
    """This test process's Celery queue (conftest), for the tasks its servers and commands
    send: never the default queue of a broker we were given, which nobody here consumes."""
    from statuspage.celery import app

    return app.conf.task_default_queue


@contextlib.contextmanager
def daphne(**env_overrides):
    """Start `daphne statuspage.asgi:application` and yield its base URL."""
    port = free_port()
    argv = [sys.executable, "-m", "daphne", "-b", "127.0.0.1", "-p", str(port), "statuspage.asgi:application"]
    with _server("daphne", argv, port, env_overrides) as base:
        yield base


@contextlib.contextmanager
def web_process(**env_overrides):
    """Start one production ASGI process (`deploy/web`: uvicorn with the production flags,
    --proxy-headers included) and yield its base URL."""
    port = free_port()
    with _server("deploy/web", [str(ROOT / "deploy" / "web")], port, {"PORT": str(port), **env_overrides}) as base:
        yield base


@contextlib.contextmanager
def _server(name: str, argv: list[str], port: int, env_overrides: dict):
    # The server is a node of its own: its own published directory, kept current by its
    # hub from the changes it hears of (as each node of a deployment does).
    published = tempfile.mkdtemp(prefix="published-")
    env = {
        **os.environ,
        "PUBLISH_DIR": published,
        "DATABASE_URL": test_database_url(),
        **SERVER_ENV,
        "ALLOWED_HOSTS": "127.0.0.1,localhost",
        "PAGE_URL": f"http://127.0.0.1:{port}",
        "VAR_DIR": str(settings.VAR_DIR),
        "CELERY_QUEUE": _queue(),
        **env_overrides,
    }
    # The server shares this test process's cache: its keys under the prefix of this
    # process (conftest), never another worker's.
    cache = settings.CACHES["default"]
    if "REDIS_URL" not in env_overrides:
        on_redis = "redis" in cache["BACKEND"].lower()
        env["REDIS_URL"] = cache["LOCATION"] if on_redis else None
        if on_redis and "CACHE_KEY_PREFIX" not in env_overrides:
            env["CACHE_KEY_PREFIX"] = cache["KEY_PREFIX"]
    # The browser fixture lets the test's own thread use the ORM beside Playwright's loop;
    # the server must keep Django's guard against sync calls from async code.
    env["DJANGO_ALLOW_ASYNC_UNSAFE"] = None
    env = {k: v for k, v in env.items() if v is not None}
    log = tempfile.NamedTemporaryFile(prefix=f"{name.replace('/', '-')}-", suffix=".log", delete=False)  # noqa: SIM115
    process = subprocess.Popen(argv, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=log)
    try:
        deadline = time.monotonic() + 30
        while True:
            if process.poll() is not None:
                raise RuntimeError(f"{name} exited: {Path(log.name).read_text()[-2000:]}")
            with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=0.2):
                break
            if time.monotonic() > deadline:
                raise RuntimeError(f"{name} did not start in 30 s")
            time.sleep(0.1)
        yield f"http://127.0.0.1:{port}"
    except BaseException:
        print(f"--- {name} log ({log.name}) ---\n{Path(log.name).read_text()[-4000:]}")
        raise
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
        shutil.rmtree(published, ignore_errors=True)
