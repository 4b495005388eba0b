"""`manage.py compilemessages`, also on a machine without GNU gettext.

Django's own command runs `msgfmt`, which `make run` cannot count on (a fresh laptop or
VM has Python and nothing else). Where `msgfmt` is found this is Django's command,
unchanged but for its reach: by default only the project's catalogs (`LOCALE_PATHS`), not
every `locale/` folder under the working directory (the virtualenv's packages ship theirs
compiled). Where it is missing, Babel (a pinned requirement) compiles the same `.po`
files: `read_po` then `write_mo`, fuzzy entries left out unless `--use-fuzzy`, a `.mo`
newer than its `.po` left alone, and a catalog whose placeholders do not match its
English refused, as `msgfmt --check-format` refuses it.

The `.po` files are committed; the `.mo` files are made on each machine (`make install`).
"""

from __future__ import annotations

import shutil
from pathlib import Path

from django.conf import settings
from django.core.management.base import CommandError
from django.core.management.commands.compilemessages import Command as DjangoCompileMessages


class Command(DjangoCompileMessages):
    help = (
        "Compiles the project's .po catalogs (LOCALE_PATHS) to .mo files: with GNU msgfmt where it is "
        "installed, else with Babel."
    )

    def handle(self, **options):
        if not options["ignore_patterns"]:
            # Only the basedirs Django always adds (./locale and LOCALE_PATHS): the walk of
            # the working tree, into .venv and var/, is left out.
            options["ignore_patterns"] = ["*"]
        if shutil.which(self.program):
            return super().handle(**options)
        return self.compile_with_babel(**options)

    def compile_with_babel(self, **options) -> None:
        from babel.messages.mofile import write_mo
        from babel.messages.pofile import read_po

        verbosity = options["verbosity"]
        chosen, excluded = set(options["locale"]), set(options["exclude"])
        failures = []
        for base in map(Path, settings.LOCALE_PATHS):
            for po_path in sorted(base.glob("*/LC_MESSAGES/*.po")):
                locale = po_path.parent.parent.name
                if (chosen and locale not in chosen) or locale in excluded:
                    continue
                mo_path = po_path.with_suffix(".mo")
                if mo_path.exists() and mo_path.stat().st_mtime >= po_path.stat().st_mtime:
                    if verbosity > 0:
                        self.stdout.write(f"File “{po_path}” is already compiled and up to date.")
                    continue
                if verbosity > 0:
                    self.stdout.write(f"processing file {po_path.name} in {po_path.parent} (Babel: no msgfmt here)")
                with po_path.open("rb") as po_file:
                    catalog = read_po(po_file, locale=locale)
                problems = [
                    f"{po_path}:{message.lineno}: {error}"
                    for message, errors in catalog.check()
                    for error in errors
                    if not message.fuzzy or options["fuzzy"]
                ]
                if problems:
                    failures.extend(problems)
                    continue
                with mo_path.open("wb") as mo_file:
                    write_mo(mo_file, catalog, use_fuzzy=options["fuzzy"])
        if failures:
            for problem in failures:
                self.stderr.write(problem)
            raise CommandError("compilemessages generated one or more errors.")
