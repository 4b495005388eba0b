"""A notification's texts in the page's other languages: the `translations` of a webhook
body, and what each subscriber's mail is written from.

A notification's body (`Notification.payload`) is the default language's, as Statuspage's
webhooks are. Beside it, `translations` holds, for each other language, the texts of that
very body in that language, in the body's own shape and nothing else:

    "translations": {
      "zh-hans": {
        "incident": {
          "name": "…",
          "incident_updates": [
            {"id": "…", "body": "…", "affected_components": [{"code": "…", "name": "…"}]}
          ],
          "components": [{"id": "…", "name": "…", "description": "…"}],
          "postmortem_body": "…",
          "reschedule_note": "…"
        },
        "page": {"status_description": "…"}
      },
      "zh-hant": {…}
    }

and for a component's status change `{"component": {"name", "description"}, "page": {…}}`.

* Only texts: names, descriptions, update bodies, the postmortem, a maintenance's
  reschedule note, the page's status description. A text that is null in the body is
  left out (an unpublished postmortem, a component without a description).
* In a list, each object keeps its `id` (`code` for an affected component) to be matched
  with the body's; the order is the body's.
* A text with no translation in a language carries the default language's, as the page
  shows it in that language.

`translations` is made with the body, in the transaction of the change (`outbox.record`),
so every attempt of a message carries the same texts as its body; the mail of a delivery
is written from `localized(payload, language)`.
"""

from __future__ import annotations

from django.utils import translation
from django.utils.translation import gettext

from .. import languages, rules, selectors
from ..models import Component, Network

INCIDENT_TEXTS = ("name", "postmortem_body", "reschedule_note")
UPDATE_TEXTS = ("body",)
COMPONENT_TEXTS = ("name", "description")
AFFECTED_TEXTS = ("name",)
FUNDING_TEXTS = ("name", "note")


def _texts(english: dict, obj, fields: tuple[str, ...]) -> dict:
    """The `fields` of `obj` in the active language, for those `english` carries as text."""
    found = {}
    for name in fields:
        if isinstance(english.get(name), str):
            value = getattr(obj, name, None) if obj is not None else None
            found[name] = value if isinstance(value, str) and value else english[name]
    return found


def _component_ids(payload: dict) -> set[str]:
    incident = payload.get("incident") or {}
    ids = {c.get("id") for c in incident.get("components") or []}
    for update in incident.get("incident_updates") or []:
        ids |= {c.get("code") for c in update.get("affected_components") or []}
    if isinstance(payload.get("component"), dict):
        ids.add(payload["component"].get("id"))
    return {i for i in ids if i}


def _incident_texts(english: dict, incident, components: dict[str, Component]) -> dict:
    updates = {u.public_id: u for u in incident.updates.all()} if incident is not None else {}
    texts = _texts(english, incident, INCIDENT_TEXTS)
    if isinstance(english.get("incident_updates"), list):
        texts["incident_updates"] = []
        for item in english["incident_updates"]:
            update = {"id": item.get("id"), **_texts(item, updates.get(item.get("id")), UPDATE_TEXTS)}
            if isinstance(item.get("affected_components"), list):
                update["affected_components"] = [
                    {"code": c.get("code"), **_texts(c, components.get(c.get("code")), AFFECTED_TEXTS)}
                    for c in item["affected_components"]
                ]
            texts["incident_updates"].append(update)
    if isinstance(english.get("components"), list):
        texts["components"] = [
            {"id": c.get("id"), **_texts(c, components.get(c.get("id")), COMPONENT_TEXTS)}
            for c in english["components"]
        ]
    return texts


def translations(payload: dict) -> dict[str, dict]:
    """`translations` of a notification's body (`payload`, in the default language): the
    texts it carries, in each other language, read from the rows it tells of. Empty when
    the page has no other language or the body carries no text."""
    others = languages.others()
    english_incident = payload.get("incident") if isinstance(payload.get("incident"), dict) else None
    english_component = payload.get("component") if isinstance(payload.get("component"), dict) else None
    english_page = payload.get("page") if isinstance(payload.get("page"), dict) else None
    english_funding = payload.get("funding") if isinstance(payload.get("funding"), dict) else None
    if not others or not (english_incident or english_component or english_page):
        return {}
    network = Network.objects.filter(public_id=english_funding.get("id")).first() if english_funding else None
    incident = selectors.incident_detail(english_incident["id"]) if english_incident else None
    ids = _component_ids(payload)
    components = {c.public_id: c for c in Component.objects.filter(public_id__in=ids)} if ids else {}
    found: dict[str, dict] = {}
    for code in others:
        with translation.override(code):
            texts: dict = {}
            if english_incident:
                texts["incident"] = _incident_texts(english_incident, incident, components)
            if english_component:
                texts["component"] = _texts(
                    english_component, components.get(english_component.get("id")), COMPONENT_TEXTS
                )
            if english_funding:
                texts["funding"] = _texts(english_funding, network, FUNDING_TEXTS)
            indicator = (english_page or {}).get("status_indicator")
            if indicator in rules.INDICATOR_DESCRIPTION:
                texts["page"] = {"status_description": gettext(rules.INDICATOR_DESCRIPTION[indicator])}
            found[code] = texts
    return found


def _key(item: dict):
    return item.get("id", item.get("code"))


def _overlay(english, texts):
    """`english` with the strings of `texts` put in their places (lists matched by id)."""
    if isinstance(english, dict) and isinstance(texts, dict):
        merged = dict(english)
        for key, value in texts.items():
            if key in english:
                merged[key] = _overlay(english[key], value)
        return merged
    if isinstance(english, list) and isinstance(texts, list):
        by_key = {_key(t): t for t in texts if isinstance(t, dict)}
        return [
            _overlay(item, by_key[_key(item)]) if isinstance(item, dict) and _key(item) in by_key else item
            for item in english
        ]
    if isinstance(texts, str) and (english is None or isinstance(english, str)):
        return texts
    return english


def localized(payload: dict, code: str) -> dict:
    """A notification's body as a reader of `code` is told it: the default language's body
    with that language's `translations` in place (itself for the default language, or a
    notification written before translations were)."""
    body = {key: value for key, value in payload.items() if key != "translations"}
    texts = (payload.get("translations") or {}).get(code)
    return _overlay(body, texts) if texts else body
