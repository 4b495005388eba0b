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
        scope = parser.add_mutually_exclusive_group()
        scope.add_argument("--write", action="store_true", help="Allow writes (default: read only).")
        scope.add_argument(
            "--integrations",
            action="store_true",
            help="For monitoring's webhooks (Alertmanager): the integration endpoints only.",
        )
        parser.add_argument("--name", default="", help="What the token is for.")
        parser.add_argument("--days", type=int, default=None, help="Expire after this many days.")

    def handle(self, *args, username, write, integrations, name, days, **options):
        user = get_user_model().objects.filter(username=username).first()
        if user is None:
            raise CommandError(f"No user named {username!r}.")
        expires_at = timezone.now() + timedelta(days=days) if days else None
        scope = "integrations" if integrations else "write" if write else "read"
        try:
            token, text = services.api_token_create(
                user=user,
                name=name or f"{username} {scope} token",
                scope=scope,
                expires_at=expires_at,
                actor=services.Actor.system("command"),
            )
        except ValidationError as exc:
            raise CommandError("; ".join(exc.messages))
        self.stderr.write(f"Token {token.name!r} ({token.get_scope_display()}); shown once, keep it safe:")
        self.stdout.write(text)
