from django.core.management.base import BaseCommand

from incidents.demo import load_demo


class Command(BaseCommand):
    help = "Load the demo components, the 2021-01-29 incident and an upcoming maintenance (idempotent)."

    def handle(self, *args, **options):
        incident, maintenance = load_demo()
        self.stdout.write(
            f"Demo incident: {incident.get_absolute_url()}  maintenance: {maintenance.get_absolute_url()}"
        )
