"""`manage.py flush`, with the append-only logs' triggers stood down for the wipe.

Django's flush empties every table (pytest-django runs it after each transactional test);
on SQLite that is a DELETE, which the append-only triggers (migration 0008) refuse. A
wipe of the whole database is the one thing allowed to remove those rows."""

from django.core.management.commands import flush

from incidents.models import append_only_lifted


class Command(flush.Command):
    def handle(self, **options):
        with append_only_lifted(options["database"]):
            return super().handle(**options)
