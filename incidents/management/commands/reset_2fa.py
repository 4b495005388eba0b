from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError
from django_otp import devices_for_user


class Command(BaseCommand):
    help = (
        "Remove an operator's two-factor devices (a lost or replaced phone). They set up a new "
        "authenticator at their next admin login; their sessions verified with the old one end."
    )

    def add_arguments(self, parser):
        parser.add_argument("username")

    def handle(self, *args, username, **options):
        from django.contrib.sessions.models import Session

        user = get_user_model().objects.filter(username=username).first()
        if user is None:
            raise CommandError(f"No user {username!r}.")
        devices = list(devices_for_user(user, confirmed=None))
        for device in devices:
            device.delete()
        # Sessions of that user end too: a session verified with the lost phone stays no longer.
        ended = 0
        for session in Session.objects.iterator():
            if str(session.get_decoded().get("_auth_user_id")) == str(user.pk):
                session.delete()
                ended += 1
        self.stdout.write(f"{username}: {len(devices)} device(s) removed, {ended} session(s) ended.")
