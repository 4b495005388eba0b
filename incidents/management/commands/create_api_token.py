from datetime import timedelta

from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from incidents import services


class Command(BaseCommand):
    help = "Create an API token for a user and print it once (only its hash is stored)."

    def add_arguments(self, parser):
        parser.add_argument("username")
        parser.add_argument("--write", action="store_true", help="Allow writes (default: read only).")
        parser.add_argument("--name", default="", help="What the token is for.")
        parser.add_argument("--days", type=int, default=None, help="Expire after this many days.")

    def handle(self, *args, username, write, name, days, **options):
        user = get_user_model().objects.filter(username=username).first()
        if user is None:
            raise CommandError(f"No user named {username!r}.")
        expires_at = timezone.now() + timedelta(days=days) if days else None
        try:
            token, text = services.api_token_create(
                user=user,
                name=name or f"{username} {'write' if write else 'read'} token",
                scope="write" if write else "read",
                expires_at=expires_at,
                actor=services.Actor.system("command"),
            )
        except ValidationError as exc:
            raise CommandError("; ".join(exc.messages))
        self.stderr.write(f"Token {token.name!r} ({token.get_scope_display()}); shown once, keep it safe:")
        self.stdout.write(text)
