import secrets

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.management.base import BaseCommand


class Command(BaseCommand):
    help = "Create the development admin account if missing and print how to reach it (make run's last words)."

    def add_arguments(self, parser):
        parser.add_argument("--username", default="admin")

    def handle(self, *args, username, **options):
        password_file = settings.VAR_DIR / "admin-password"
        User = get_user_model()
        user = User.objects.filter(username=username).first()
        if user is None or not password_file.exists() or not user.check_password(password_file.read_text().strip()):
            password = secrets.token_urlsafe(12)
            if user is None:
                user = User.objects.create_superuser(username, f"{username}@example.com", password)
            else:
                user.set_password(password)
                user.save(update_fields=["password"])
            password_file.write_text(password)
            password_file.chmod(0o600)
        user.groups.add(Group.objects.get(name="responders"))
        password = password_file.read_text().strip()
        url = settings.STATUS_PAGE["URL"].rstrip("/")
        lines = [
            f"Status page:  {url}/",
            f"Admin:        {url}/admin/",
            f"Login:        {username} / {password}",
            f"API token:    make token   (or .venv/bin/python manage.py create_api_token {username} --write)",
            "Live demo:    make demo    (in another terminal: the 2021-01-29 outage replayed in 2 minutes)",
        ]
        if settings.EMAIL_BACKEND.endswith("filebased.EmailBackend"):
            lines.append(f"Mail:         written to {settings.EMAIL_FILE_PATH}/, not sent")
        lines.append("Stop:         Ctrl-C")
        # The last thing `make run` prints: the login must not scroll away.
        self.stdout.write(self.style.SUCCESS("\n" + "\n".join(f"  {line}" for line in lines) + "\n"))
