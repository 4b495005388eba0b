"""Rebuild the snapshot and publish this node's documents (PUBLISH_DIR) now.

deploy/run calls it before nginx starts, so the first reader is answered from disk even
before any app process has served a request; the processes keep the files current after."""

from django.core.management.base import BaseCommand

from incidents.publish import site, store


class Command(BaseCommand):
    help = "Rebuild the public snapshot and publish every document to PUBLISH_DIR."

    def handle(self, *args, **options):
        data = site.refresh()
        self.stdout.write(f"Published seq {data['seq']} to {store.root()}")
