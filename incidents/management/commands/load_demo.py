import socket
from urllib.parse import urlsplit

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from incidents import demo


class Command(BaseCommand):
    help = (
        "Load the demo components, the 2021-01-29 incident, a few small incidents of the last 90 days "
        "and an upcoming maintenance (idempotent). With --replay, then replay the 2021-01-29 outage "
        "on today's date, compressed in time, for whoever watches the page."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--replay",
            action="store_true",
            help="Replay the 2021-01-29 outage now through the real services (watch the page of `make run`).",
        )
        parser.add_argument(
            "--metrics",
            action="store_true",
            help="Also the public metrics, with a month of made-up history (make run; the demo has no Prometheus).",
        )
        length = parser.add_mutually_exclusive_group()
        length.add_argument(
            "--minutes",
            type=float,
            default=None,
            help="Length of the replay in minutes (default 2; the outage took 41).",
        )
        length.add_argument(
            "--speed", type=float, default=None, help="How many times faster than the real outage (1 = real time)."
        )

    def handle(self, *args, replay: bool, metrics: bool, minutes: float | None, speed: float | None, **options):
        incident, maintenance = demo.load_demo(recent=True, metrics=metrics)
        if not replay:
            self.stdout.write(
                f"Demo incident: {incident.get_absolute_url()}  maintenance: {maintenance.get_absolute_url()}"
            )
            return
        if (minutes is not None and minutes <= 0) or (speed is not None and speed <= 0):
            raise CommandError("--minutes and --speed must be more than 0.")
        span = demo.REPLAY_SPAN.total_seconds()
        seconds = span / speed if speed else (minutes if minutes is not None else 2.0) * 60
        self._replay(seconds)

    def _replay(self, seconds: float) -> None:
        page = settings.STATUS_PAGE["URL"].rstrip("/") + "/"
        self.stdout.write(f"Replaying the 2021-01-29 outage in {seconds:g} s instead of 41 min. Watch {page}")
        if not _listening(page):
            self.stdout.write(self.style.WARNING(f"  (nothing answers at {page} yet: start `make run` to watch)"))
        offsets = demo.replay_offsets(seconds)

        def report(index: int, status: str, elapsed: float) -> None:
            at, _, body, _ = demo.TIMELINE[index]
            said = body.split(". ")[0].rstrip(".")
            self.stdout.write(f"  {at:%H:%M} HKT (+{offsets[index]:.0f} s)  {status:<13}  {said}.")

        try:
            incident = demo.replay(seconds, report=report)
        except KeyboardInterrupt:
            raise CommandError("Replay stopped; it has been resolved and every component is operational.")
        self.stdout.write(self.style.SUCCESS(f"Resolved: {page.rstrip('/')}{incident.get_absolute_url()}"))


def _listening(url: str) -> bool:
    parts = urlsplit(url)
    try:
        with socket.create_connection((parts.hostname, parts.port or 80), timeout=0.5):
            return True
    except OSError:
        return False
