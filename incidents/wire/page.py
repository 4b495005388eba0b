"""The page itself: its public address, and absolute links into it."""

from __future__ import annotations

from django.conf import settings
from django.utils import translation

from .. import languages
from ..models import Asset, Component, ComponentGroup, Incident, Metric, Network


def absolute(path: str) -> str:
    """A path on this page as the absolute URL readers and clients follow."""
    return settings.STATUS_PAGE["URL"].rstrip("/") + path


# What is translated of each kind of thing the page shows, by what `untranslated` names it.
TRANSLATED = (
    (Component, ("name", "description")),
    (ComponentGroup, ("name", "description")),
    (Incident, ("name", "reschedule_note", "postmortem_body")),
    (Asset, ("name",)),
    (Network, ("name", "note")),
    (Metric, ("name",)),
)


def untranslated(items) -> list[str]:
    """What of `items` (components, groups, incidents with their updates) is shown in the
    default language in the active one for want of a translation: `<public id>:<field>`
    ("ab12:name", "cd34:body" for an update). Empty in the default language."""
    code = translation.get_language()
    if code == languages.default():
        return []
    missing = []
    for item in items:
        fields = next((names for kind, names in TRANSLATED if isinstance(item, kind)), ())
        for name in fields:
            english = getattr(item, languages.field(name, languages.default()), None)
            if english and not getattr(item, languages.field(name, code), None):
                missing.append(f"{item.public_id}:{name}")
        if isinstance(item, Incident):
            missing += [
                f"{u.public_id}:body"
                for u in item.updates.all()
                if u.body and not getattr(u, languages.field("body", code), None)
            ]
    return missing
