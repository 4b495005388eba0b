"""Print the most database connections a stack of this machine can open, and check it
against what PostgreSQL allows (deploy/run calls this before it starts anything).

Each web process: WEB_DB_CONCURRENCY Django requests at once, each on a connection of its
own, plus one shared by its sockets and hub. The Celery worker: one per pool process,
plus its main process. Beat: one. And one kept for an operator's `manage.py`. Every
connection closes with its request or task (CONN_MAX_AGE=0), so this is a ceiling, not
a pool kept open.
"""

from django.conf import settings
from django.core.management.base import BaseCommand
from django.db import connection

from statuspage.budget import SOCKET_SIDE_CONNECTIONS, per_web_process


class Command(BaseCommand):
    help = "Print the database connection budget of one machine's stack and check it against max_connections."

    def add_arguments(self, parser):
        parser.add_argument("--web", type=int, required=True, help="web processes (WEB_CONCURRENCY)")
        parser.add_argument("--worker", type=int, required=True, help="Celery worker concurrency")

    def handle(self, *args, web, worker, **options):
        per_web = per_web_process(settings.WEB_DB_CONCURRENCY)
        parts = {"web": web * per_web, "worker": worker + 1, "beat": 1, "manage.py": 1}
        total = sum(parts.values())
        self.stdout.write(
            f"database connections: at most {total} = {web} web x ({settings.WEB_DB_CONCURRENCY} requests"
            f" + {SOCKET_SIDE_CONNECTIONS} sockets) + worker ({worker} + 1) + beat 1 + manage.py 1"
        )
        allowed = self.allowed()
        if allowed is not None and total > allowed:
            self.stderr.write(
                f"warning: PostgreSQL takes {allowed} connections from this role and this stack may open {total};"
                " lower WEB_DB_CONCURRENCY, WEB_CONCURRENCY or CELERY_CONCURRENCY, or raise max_connections"
            )
        elif allowed is not None:
            self.stdout.write(f"database connections: PostgreSQL takes {allowed} (max_connections less reserved)")

    def allowed(self) -> int | None:
        if connection.vendor != "postgresql":
            return None
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT current_setting('max_connections')::int"
                " - current_setting('superuser_reserved_connections')::int"
                " - coalesce(nullif(current_setting('reserved_connections', true), '')::int, 0)"
            )
            return cursor.fetchone()[0]
