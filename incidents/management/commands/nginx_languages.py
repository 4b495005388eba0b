"""Print the language parts of deploy/nginx.conf.template, as JSON (deploy/run fills them in)."""

import json

from django.core.management.base import BaseCommand

from incidents import languages


class Command(BaseCommand):
    help = "The nginx rules drawn from LANGUAGES (prefixed pages, first visits, OKX's Accept-Language), as JSON."

    def handle(self, *args, **options):
        self.stdout.write(json.dumps(languages.nginx_placeholders()))
