import copy

import pytest
from django.core.cache import cache
from django.test import override_settings
from django.utils import translation

from incidents.demo import load_demo
from incidents.publish import site, snapshot
from incidents.services import Actor, api_token_create

from .factories import UserFactory
from .live_delivery import celery_worker, receiver  # noqa: F401 - fixtures for the notification tests
from .private_services import given, private_postgres, private_rabbitmq, private_redis


@pytest.fixture(scope="session")
def django_db_setup(django_db_setup, django_db_blocker):
    """pytest-django's test database, and at the end none of our sessions left on it:
    threads of this process (the in-process Celery worker's, the hubs') keep connections
    that would stop the database from being dropped, leaving it on a server we were given."""
    yield
    from django.db import connection

    if connection.vendor != "postgresql":
        return
    with django_db_blocker.unblock(), connection.cursor() as cursor:
        cursor.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
            " WHERE datname = current_database() AND pid <> pg_backend_pid()"
        )


@pytest.fixture(autouse=True, scope="session")
def _redis_keys_per_worker(worker_id):
    """Each test process keeps its Redis keys under a prefix of its own, and its live-push
    channel is named after it (incidents/publish/pubsub.py): clearing the cache deletes
    this process's keys only (statuspage/cache.py), never another's, nor anything else on
    a Redis we were given. Those keys are deleted at the end."""
    import os

    from django.conf import settings

    caches = copy.deepcopy(settings.CACHES)
    if "redis" not in caches["default"]["BACKEND"].lower():
        yield
        return
    caches["default"]["KEY_PREFIX"] = f"statuspage-test-{worker_id}-{os.getpid()}"
    with override_settings(CACHES=caches, LIVE_REDIS_URL=caches["default"]["LOCATION"]):
        yield
        cache.clear()


@pytest.fixture(autouse=True)
def _fresh_snapshot_and_cache(tmp_path, settings):
    """Each test starts with no remembered snapshot, an empty cache and an empty
    published directory of its own."""
    settings.PUBLISH_DIR = tmp_path / "public"
    snapshot.forget_local()
    cache.clear()
    # A request in another language leaves it active in this thread (as LocaleMiddleware
    # does): each test starts in the default language.
    translation.activate(settings.LANGUAGE_CODE)
    yield
    snapshot.forget_local()
    translation.activate(settings.LANGUAGE_CODE)


@pytest.fixture
def roles(db):
    """The page's sequence row and the operator roles (a transactional test flushed them)."""
    from django.apps import apps
    from django.contrib.auth.management import create_permissions
    from django.contrib.auth.models import Group, Permission

    from incidents.models import PageState
    from incidents.roles import grant_roles

    create_permissions(apps.get_app_config("incidents"), verbosity=0)
    grant_roles(Group, Permission)
    PageState.objects.get_or_create(pk=1)


@pytest.fixture
def demo(roles):
    """The demo page: exchange components, the 2021-01-29 incident, an upcoming maintenance."""
    incident, maintenance = load_demo()
    return {"incident": incident, "maintenance": maintenance}


@pytest.fixture
def system():
    return Actor.system()


@pytest.fixture
def operator(roles):
    from django.contrib.auth.models import Group

    user = UserFactory(username="responder")
    user.groups.add(Group.objects.get(name="responders"))
    return user


@pytest.fixture
def token(demo, operator):
    """A write token on the demo page, its documents published (for tests of live servers)."""
    site.refresh()
    return api_token_create(user=operator, name="live tests", scope="write")[1]


@pytest.fixture
def viewer(roles):
    from django.contrib.auth.models import Group

    user = UserFactory(username="viewer")
    user.groups.add(Group.objects.get(name="viewers"))
    return user


@pytest.fixture
def queries_in_all_threads():
    """SQL run by any thread while the block runs (the hub and Django use worker threads)."""
    import contextlib
    import threading

    from django.db.backends import utils

    @contextlib.contextmanager
    def capture():
        seen: list[str] = []
        lock = threading.Lock()
        original = utils.CursorWrapper._execute

        def counting(self, sql, params, *ignored):
            with lock:
                seen.append(sql)
            return original(self, sql, params, *ignored)

        utils.CursorWrapper._execute = counting
        try:
            yield seen
        finally:
            utils.CursorWrapper._execute = original

    return capture


@pytest.fixture(autouse=True, scope="session")
def _celery_queue_per_test_process(worker_id, tmp_path_factory):
    """Each test process sends Celery messages to a queue of its own, removed at the end,
    so test runs side by side (xdist workers, `make run`) never take each other's tasks.
    The file-system broker also gets a folder of its own, polled often."""
    import contextlib
    import os

    from statuspage.celery import app

    queue = f"statuspage-test-{worker_id}-{os.getpid()}"
    app.conf.task_default_queue = queue
    app.conf.worker_hijack_root_logger = False
    if app.conf.broker_url.startswith("filesystem://"):
        folder = tmp_path_factory.mktemp("celery-broker")
        for sub in ("queue", "processed", "control"):
            (folder / sub).mkdir()
        app.conf.broker_transport_options = {
            "data_folder_in": str(folder / "queue"),
            "data_folder_out": str(folder / "queue"),
            "processed_folder": str(folder / "processed"),
            "control_folder": str(folder / "control"),
            "store_processed": False,
            "polling_interval": 0.05,
        }
    yield queue
    with contextlib.suppress(Exception), app.connection_for_write() as connection:
        connection.ensure_connection(max_retries=1)
        connection.default_channel.queue_delete(queue)


@pytest.fixture
def browser(monkeypatch):
    """A headless Chromium (tests/browser.py); new pages with `browser.new_page(...)`.

    Playwright's sync API keeps an event loop running in this thread, so Django would take
    every ORM call of the test for one made from async code; they are plain synchronous
    calls (Playwright's documented setting for Django tests).
    """
    from .browser import chromium

    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    with chromium() as instance:
        yield instance


# --- servers the tests start (or were given) -------------------------------------------------
# Session-scoped, per xdist worker, started only when a test asks. See tests/private_services.py.


@pytest.fixture(scope="session")
def redis_url(_redis_keys_per_worker):
    """A Redis database for this test process: the given one's database for this worker
    (REDIS_URL), or database 0 of a redis-server started for this session."""
    from django.conf import settings

    if given("REDIS_URL", "redis", "rediss"):
        yield settings.CACHES["default"]["LOCATION"]
        return
    with private_redis() as (_, url):
        yield url


@pytest.fixture(scope="session")
def postgres_url():
    """A PostgreSQL server URL without a database (tests create and drop their own
    databases on it): the server of DATABASE_URL when it names PostgreSQL, or ours."""
    url = given("DATABASE_URL", "postgres", "postgresql", "pgsql")
    if url:
        yield url.rsplit("/", 1)[0]
        return
    with private_postgres() as (_, url):
        yield url


@pytest.fixture(scope="session")
def broker_url():
    """A real Celery broker for a production-like stack: CELERY_BROKER_URL when it names
    RabbitMQ or Redis, or a RabbitMQ node of our own."""
    url = given("CELERY_BROKER_URL", "amqp", "redis")
    if url:
        yield url
        return
    with private_rabbitmq() as (_, url):
        yield url
