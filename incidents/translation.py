"""Incident content in each of the page's languages (django-modeltranslation).

Each field named here gets a column per language (`name_en`, `name_zh_hans`, …); reading
`incident.name` gives the active language's text, or English where it has none. The
services write them (one write path: `services.translations`); the published documents
are made once per language (`publish.snapshot`).
"""

from modeltranslation.translator import TranslationOptions, register

from .models import (
    Asset,
    Component,
    ComponentGroup,
    Incident,
    IncidentUpdate,
    Maintenance,
    Metric,
    Network,
    Template,
)


@register(ComponentGroup)
class ComponentGroupTranslation(TranslationOptions):
    fields = ("name", "description")


@register(Component)
class ComponentTranslation(TranslationOptions):
    fields = ("name", "description")


@register(Incident)
class IncidentTranslation(TranslationOptions):
    fields = ("name", "reschedule_note", "postmortem_body")


# The admin's proxy of maintenance windows: registered too, so that its instances are
# translated like the incidents they are (modeltranslation hooks each model's post_init).
@register(Maintenance)
class MaintenanceTranslation(TranslationOptions):
    fields = ("name", "reschedule_note", "postmortem_body")


@register(IncidentUpdate)
class IncidentUpdateTranslation(TranslationOptions):
    fields = ("body",)


@register(Asset)
class AssetTranslation(TranslationOptions):
    fields = ("name",)


@register(Network)
class NetworkTranslation(TranslationOptions):
    fields = ("name", "note")


@register(Template)
class TemplateTranslation(TranslationOptions):
    fields = ("title", "body")


@register(Metric)
class MetricTranslation(TranslationOptions):
    fields = ("name",)
