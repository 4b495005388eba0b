"""`manage.py compilemessages` where GNU msgfmt is missing: Babel compiles the catalogs."""

import gettext
import shutil

import pytest
from django.core.management import CommandError, call_command

from incidents.management.commands import compilemessages

PO = """\
msgid ""
msgstr ""
"Language: zh_Hans\\n"
"Content-Type: text/plain; charset=UTF-8\\n"
"Plural-Forms: nplurals=1; plural=0;\\n"

#, python-format
msgid "Impact: %(impact)s"
msgstr "影响：%(impact)s"

msgctxt "list separator"
msgid ", "
msgstr "、"

#, python-format
msgid "%(days)s day ago"
msgid_plural "%(days)s days ago"
msgstr[0] "%(days)s 天前"

#, fuzzy
msgid "Today"
msgstr "今天"
"""


@pytest.fixture
def catalog(tmp_path, settings, monkeypatch):
    """One .po under LOCALE_PATHS, and no msgfmt on this machine."""
    folder = tmp_path / "zh_Hans" / "LC_MESSAGES"
    folder.mkdir(parents=True)
    (folder / "django.po").write_text(PO, encoding="utf-8")
    settings.LOCALE_PATHS = [tmp_path]
    monkeypatch.setattr(compilemessages.shutil, "which", lambda name: None)
    return folder


def test_babel_compiles_when_msgfmt_is_missing(catalog):
    call_command("compilemessages", verbosity=0)

    with (catalog / "django.mo").open("rb") as mo:
        compiled = gettext.GNUTranslations(mo)
    assert compiled.gettext("Impact: %(impact)s") == "影响：%(impact)s"
    assert compiled.pgettext("list separator", ", ") == "、"
    assert compiled.ngettext("%(days)s day ago", "%(days)s days ago", 90) == "%(days)s 天前"
    # Fuzzy entries are left out, as msgfmt leaves them out.
    assert compiled.gettext("Today") == "Today"


def test_a_placeholder_that_does_not_match_is_refused(catalog):
    po = catalog / "django.po"
    po.write_text(PO.replace('msgstr "影响：%(impact)s"', 'msgstr "影响：%(effect)s"'), encoding="utf-8")

    with pytest.raises(CommandError):
        call_command("compilemessages", verbosity=0)
    assert not (catalog / "django.mo").exists()


@pytest.mark.skipif(shutil.which("msgfmt") is None, reason="GNU gettext is not installed")
def test_msgfmt_is_used_where_it_is_installed(tmp_path, settings):
    folder = tmp_path / "zh_Hans" / "LC_MESSAGES"
    folder.mkdir(parents=True)
    (folder / "django.po").write_text(PO, encoding="utf-8")
    settings.LOCALE_PATHS = [tmp_path]

    call_command("compilemessages", verbosity=0)

    with (folder / "django.mo").open("rb") as mo:
        assert gettext.GNUTranslations(mo).gettext("Impact: %(impact)s") == "影响：%(impact)s"
