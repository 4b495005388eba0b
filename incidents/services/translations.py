"""Incident content in the page's other languages, as the services take it.

Every service that takes text takes its translations beside it, in one shape:
`translations={"zh-hans": {"name": "…", "body": "…"}, "zh-hant": {…}}`. A language left
out keeps what it had; an empty text removes that language's version (readers then see
the default language's, marked as such). The default language's text is the service's
own argument, never part of `translations`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

from django.core.exceptions import ValidationError
from django.utils import translation
from django.utils.translation import gettext

from .. import languages, rules

Translations = Mapping[str, Mapping[str, str]]


def check(translations: Translations | None, limits: Mapping[str, int | None]) -> dict[str, dict[str, str]]:
    """`translations` validated: only the page's other languages, only the fields in
    `limits` (field -> max length, None for none), texts stripped. Refused with the
    offending path named: `translations.zh-hans.name`."""
    if not translations:
        return {}
    if not isinstance(translations, Mapping):
        raise ValidationError({"translations": 'An object of languages, e.g. {"zh-hans": {"name": "…"}}.'})
    known = languages.others()
    checked: dict[str, dict[str, str]] = {}
    for code, texts in translations.items():
        where = f"translations.{code}"
        if code not in known:
            named = ", ".join(known) or "none"
            raise ValidationError({where: f"Not one of this page's other languages ({named})."})
        if not isinstance(texts, Mapping):
            raise ValidationError({where: 'An object of texts, e.g. {"body": "…"}.'})
        checked[code] = {}
        for field, text in texts.items():
            if field not in limits:
                raise ValidationError({f"{where}.{field}": f"Not translated here; one of {', '.join(limits)}."})
            if not isinstance(text, str):
                raise ValidationError({f"{where}.{field}": "A text."})
            text = text.strip()
            if "\x00" in text:
                raise ValidationError({f"{where}.{field}": "NUL characters are not allowed."})
            limit = limits[field]
            if limit is not None and len(text) > limit:
                raise ValidationError({f"{where}.{field}": f"At most {limit} characters."})
            checked[code][field] = text
    return checked


def only(translations: Mapping[str, Mapping[str, str]], *fields: str) -> dict[str, dict[str, str]]:
    """The part of checked translations that names `fields` (an incident's name and its
    first update's body arrive together)."""
    return {
        code: {f: t for f, t in texts.items() if f in fields}
        for code, texts in translations.items()
        if any(f in texts for f in fields)
    }


def apply(obj, translations: Mapping[str, Mapping[str, str]], columns: Mapping[str, str] | None = None) -> list[str]:
    """Write checked translations on `obj` (not saved); `columns` maps a translated field
    to its model field where they differ ("body" -> "postmortem_body"). Returns the
    columns written, for `save(update_fields=…)`."""
    written = []
    for code, texts in translations.items():
        for field, text in texts.items():
            column = languages.field((columns or {}).get(field, field), code)
            setattr(obj, column, text or None)
            written.append(column)
    return written


def columns(field: str) -> tuple[str, ...]:
    """The other languages' columns of a field (name_zh_hans, …), for the audit."""
    return tuple(languages.field(field, code) for code in languages.others())


def generated(make: Callable[[], str], field: str = "body") -> dict[str, dict[str, str]]:
    """Translations of a text the page writes itself (a default update body, a reschedule
    note): `make()` run in each other language; none where the catalog has no
    translation (the text would be the default language's)."""
    default = make()
    found: dict[str, dict[str, str]] = {}
    for code in languages.others():
        with translation.override(code):
            text = str(make())
        if text != default:
            found[code] = {field: text}
    return found


def merged(given: Mapping[str, Mapping[str, str]], fallback: Mapping[str, Mapping[str, str]]) -> dict:
    """`given` translations, with `fallback`'s where a language gave none of a field."""
    result = {code: dict(texts) for code, texts in fallback.items()}
    for code, texts in given.items():
        result.setdefault(code, {}).update({f: t for f, t in texts.items() if t})
    return result


def default_body(status: str) -> tuple[str, dict[str, dict[str, str]]]:
    """The words of an update that says nothing but its status (rules.DEFAULT_BODIES):
    the default language's, and the others' the catalogs have."""
    english = rules.DEFAULT_BODIES[status]
    return english, generated(lambda: gettext(english))
