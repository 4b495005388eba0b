"""The forms operators fill in the admin. They check, they never write.

Each form's `clean()` runs the checks the service will make (`services.validate_*` and the
status rules), so a refusal shows on the field it is about. `incidents.admin` then hands
the cleaned data to `incidents.services`; if a service still refuses (someone else changed
the incident meanwhile), the admin rolls back and shows that refusal on this same form,
through `service_error`.
"""

from __future__ import annotations

import copy
from collections.abc import Iterable
from datetime import datetime

from django import forms
from django.conf import settings
from django.contrib.admin import widgets
from django.core.exceptions import ValidationError
from django.template.loader import render_to_string
from django.urls import reverse_lazy
from django.utils.functional import lazy
from django.utils.safestring import mark_safe
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from .. import languages, rules, services
from ..models import Component, ComponentGroup, Incident, Template, TradingMode
from ..wire.time import zone_label

UNCHANGED = ""
COMPONENT_FIELD_PREFIX = "component_"
GRID_FIELD = "component_grid"
GRID_CHOICES = [(UNCHANGED, _("Unchanged")), *Component.Status.choices]
# Column heads: short, so the six choices fit beside the names on a laptop.
GRID_SHORT = {
    UNCHANGED: _("Unchanged"),
    "operational": _("Operational"),
    "degraded_performance": _("Degraded"),
    "partial_outage": _("Partial outage"),
    "major_outage": _("Major outage"),
    "under_maintenance": _("Maintenance"),
}
GRID_HELP = _(
    "One row per component: click its new status, or leave it unchanged. "
    "By keyboard: Tab moves from row to row, the arrow keys pick within a row."
)
IMPACT_CHOICES = [("", _("— derived from the components —"))] + [
    (value, label) for value, label in Incident.Impact.choices if value in rules.IMPACTS
]


def _page_time_help(text: str = "") -> str:
    zone = f"{zone_label()} ({settings.STATUS_PAGE['TIME_ZONE']})"
    page_time = gettext("Page time, %(zone)s.") % {"zone": zone}
    return f"{text} {page_time}".strip()


# Lazy: fields declared on a class get it at import, and read it in the admin's language.
page_time_help = lazy(_page_time_help, str)


class MarkdownTextarea(forms.Textarea):
    """A textarea with a Preview button (static/admin-extra/markdown-preview.js)."""

    def __init__(self, attrs=None):
        attrs = {"rows": 6, "cols": 80, "data-markdown-preview": reverse_lazy("admin:incidents_markdown_preview")} | (
            attrs or {}
        )
        super().__init__(attrs)

    class Media:
        js = ["admin-extra/markdown-preview.js"]
        css = {"all": ["admin-extra/admin.css"]}


def markdown_field(
    *, required: bool = True, label: str = _("Body"), help_text: str = _("Markdown.")
) -> forms.CharField:
    return forms.CharField(label=label, required=required, widget=MarkdownTextarea, help_text=help_text)


def datetime_field(*, required: bool, label: str, help_text: str = "") -> forms.SplitDateTimeField:
    return forms.SplitDateTimeField(
        label=label, required=required, widget=widgets.AdminSplitDateTime, help_text=page_time_help(help_text)
    )


def normalize_newlines(text: str | None) -> str:
    """Browsers send textareas with CRLF; store what was typed, not how it travelled."""
    return (text or "").replace("\r\n", "\n")


def component_field_name(component: Component) -> str:
    """The name of one row's radio buttons in the grid (what the browser posts)."""
    return f"{COMPONENT_FIELD_PREFIX}{component.pk}"


class ComponentStatusGrid(forms.Widget):
    """Every component in one table: a row per component (under its group) with its status
    now, and a radio button per choice ("unchanged" and the five statuses).

    Each row is one radio group (named `component_<pk>`), so the browser's own keyboard
    handling applies: Tab moves from row to row, the arrow keys move within a row.
    """

    template_name = "admin/incidents/component_status_grid.html"

    def __init__(self, components: Iterable[Component] = (), attrs=None):
        super().__init__(attrs)
        self.components = tuple(components)

    def __deepcopy__(self, memo):
        # The components are shared, read-only rows; copying them per form is waste.
        copied = copy.copy(self)
        copied.attrs = self.attrs.copy()
        memo[id(self)] = copied
        return copied

    def value_from_datadict(self, data, files, name):
        return {c.pk: data.get(component_field_name(c), UNCHANGED) for c in self.components}

    def value_omitted_from_data(self, data, files, name):
        return not any(component_field_name(c) in data for c in self.components)

    def id_for_label(self, id_):
        # The grid is labelled by its caption; no single input stands for it.
        return ""

    def get_context(self, name, value, attrs):
        context = super().get_context(name, value, attrs)
        chosen = value if isinstance(value, dict) else {}
        groups: dict[int | None, dict] = {}
        for component in self.components:
            group = groups.setdefault(
                component.group_id, {"name": component.group.name if component.group else "", "rows": []}
            )
            current = chosen.get(component.pk, UNCHANGED) or UNCHANGED
            group["rows"].append(
                {
                    "name": component.name,
                    "hidden": component.is_hidden,
                    "input_name": component_field_name(component),
                    "status": component.status,
                    "status_label": component.get_status_display(),
                    "changed": current != UNCHANGED,
                    "options": [
                        {
                            "value": value,
                            "key": value or "unchanged",
                            "label": label,
                            "checked": value == current,
                        }
                        for value, label in GRID_CHOICES
                    ],
                }
            )
        context["groups"] = list(groups.values())
        context["columns"] = [
            {"value": value, "key": value or "unchanged", "label": label, "short": GRID_SHORT[value]}
            for value, label in GRID_CHOICES
        ]
        return context

    def render(self, name, value, attrs=None, renderer=None):
        # The project's template engine (the forms renderer does not search templates/).
        return mark_safe(render_to_string(self.template_name, self.get_context(name, value, attrs)))  # noqa: S308


class ComponentGridField(forms.Field):
    """A grid's answer: `{component: choice}` for the rows not left unchanged (the status
    grid, the trading modes)."""

    grid: type[forms.Widget]
    taken: tuple[str, ...] = ()

    def __init__(self, components: Iterable[Component], **kwargs):
        self.components = self.rows(tuple(components))
        super().__init__(required=False, widget=self.grid(self.components), **kwargs)

    @staticmethod
    def rows(components: tuple[Component, ...]) -> tuple[Component, ...]:
        return components

    def refusal(self, component: Component, value: str) -> str:
        raise NotImplementedError

    def clean(self, value) -> dict[Component, str]:
        chosen = value if isinstance(value, dict) else {}
        by_pk = {c.pk: c for c in self.components}
        errors, answer = [], {}
        for pk, choice in chosen.items():
            if choice in (UNCHANGED, None):
                continue
            if choice not in self.taken:
                errors.append(self.refusal(by_pk[pk], choice))
            else:
                answer[by_pk[pk]] = choice
        if errors:
            raise ValidationError(errors)
        return answer

    def has_changed(self, initial, data) -> bool:
        return any(choice not in (UNCHANGED, None) for choice in (data or {}).values())


class ComponentStatusGridField(ComponentGridField):
    """The grid's answer: `{component: new status}` for the rows not left unchanged."""

    grid = ComponentStatusGrid
    taken = rules.COMPONENT_STATUSES

    def refusal(self, component: Component, value: str) -> str:
        return gettext("%(component)s: '%(status)s' is not a component status.") % {
            "component": component.name,
            "status": value,
        }


MODES_FIELD = "trading_grid"
MODE_FIELD_PREFIX = "mode_"
MODES_HELP = _("A trading product's mode: what traders can do on it now. Leave it unchanged unless it changes.")


class TradingModeGrid(forms.Widget):
    """The trading products, each with its mode now and a choice of its new one
    (`mode_<pk>`: "unchanged" or a mode)."""

    template_name = "admin/incidents/trading_mode_grid.html"

    def __init__(self, components: Iterable[Component] = (), attrs=None):
        super().__init__(attrs)
        self.components = tuple(c for c in components if c.trading)

    __deepcopy__ = ComponentStatusGrid.__deepcopy__

    def value_from_datadict(self, data, files, name):
        return {c.pk: data.get(f"{MODE_FIELD_PREFIX}{c.pk}", UNCHANGED) for c in self.components}

    def value_omitted_from_data(self, data, files, name):
        return not any(f"{MODE_FIELD_PREFIX}{c.pk}" in data for c in self.components)

    def id_for_label(self, id_):
        return ""

    def get_context(self, name, value, attrs):
        context = super().get_context(name, value, attrs)
        chosen = value if isinstance(value, dict) else {}
        context["rows"] = [
            {
                "name": c.name,
                "input_name": f"{MODE_FIELD_PREFIX}{c.pk}",
                "mode": c.trading_mode,
                "mode_label": c.get_trading_mode_display(),
                "changed": (chosen.get(c.pk) or UNCHANGED) != UNCHANGED,
                "options": [
                    {"value": value, "label": label, "selected": value == (chosen.get(c.pk) or UNCHANGED)}
                    for value, label in [(UNCHANGED, _("Unchanged")), *TradingMode.choices]
                ],
            }
            for c in self.components
        ]
        return context

    def render(self, name, value, attrs=None, renderer=None):
        return mark_safe(render_to_string(self.template_name, self.get_context(name, value, attrs)))  # noqa: S308


class TradingModeGridField(ComponentGridField):
    """The modes chosen: `{component: mode}` for the products not left unchanged."""

    grid = TradingModeGrid
    taken = rules.TRADING_MODES

    @staticmethod
    def rows(components: tuple[Component, ...]) -> tuple[Component, ...]:
        return tuple(c for c in components if c.trading)

    def refusal(self, component: Component, value: str) -> str:
        return gettext("%(component)s: '%(mode)s' is not a trading mode.") % {
            "component": component.name,
            "mode": value,
        }


def with_component_fields(form_class: type[forms.ModelForm], components: Iterable[Component]) -> type:
    """`form_class` with the component status grid and the trading products' modes,
    declared so the admin's fieldsets find them."""
    components = tuple(components)
    attrs: dict = {
        "status_components": components,
        GRID_FIELD: ComponentStatusGridField(components, label=_("Components"), help_text=GRID_HELP),
        MODES_FIELD: TradingModeGridField(components, label=_("Trading modes"), help_text=MODES_HELP),
    }
    return type(form_class.__name__, (form_class,), attrs)


class ServiceForm(forms.ModelForm):
    """A model form whose data goes to a service; shows the services' errors on its fields.

    Its texts in the page's other languages are fields of their own beside each text
    (`translated`): `name_zh_hans` after `name`, … (`translated_fields` lays them out)."""

    # Service argument name → this form's field name (None: a message for the whole form).
    service_fields: dict[str, str | None] = {}
    # A text field of this form → (what the service calls it in `translations`, the model
    # column its other languages are read from, or None for a new text such as an update).
    translated: dict[str, tuple[str, str | None]] = {}
    # Set by the admin when a service refused at save time; shown on the redisplayed form.
    service_error: ValidationError | None = None
    status_components: tuple[Component, ...] = ()

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        default = languages.default()
        for name, (_key, column) in self.translated.items():
            if column is None or self.instance.pk is None or name not in self.fields:
                continue
            if name in self._meta.fields:
                # The default language's own text, whatever language the admin is shown in.
                self.initial[name] = getattr(self.instance, languages.field(column, default)) or ""
            for code in languages.others():
                self.initial[translated_name(name, code)] = getattr(self.instance, languages.field(column, code)) or ""

    def translations(self, *names: str) -> dict[str, dict[str, str]]:
        """What was written in the other languages for the form fields `names`, as the
        services take it ({"zh-hans": {"name": …}}): new texts, and changed ones (an
        emptied one removes that language's version)."""
        found: dict[str, dict[str, str]] = {}
        for name in names:
            key = self.translated[name][0]
            for code in languages.others():
                field = translated_name(name, code)
                value = (self.cleaned_data.get(field) or "").strip()
                if value or field in self.changed_data:
                    found.setdefault(code, {})[key] = normalize_newlines(value)
        return found

    def clean(self):
        cleaned = super().clean()
        if self.service_error is not None:
            self.add_service_error(self.service_error)
        return cleaned

    def add_service_error(self, error: ValidationError) -> None:
        if not hasattr(error, "error_dict"):
            self.add_error(None, error)
            return
        for name, messages in error.message_dict.items():
            target = self.service_fields.get(name, name)
            if target is not None and target not in self.fields:
                target = None
            for message in messages:
                self.add_error(target, message)

    def component_statuses(self) -> dict[Component, str]:
        """The components given a status in the grid, with their new status."""
        return dict(self.cleaned_data.get(GRID_FIELD) or {})

    def trading_modes(self) -> dict[Component, str]:
        """The trading products given a new mode."""
        return dict(self.cleaned_data.get(MODES_FIELD) or {})


# --- components --------------------------------------------------------------------------


def with_translation_fields(form_class: type[ServiceForm]) -> type[ServiceForm]:
    """`form_class` with a field per other language beside each of its texts, declared so
    the admin's fieldsets find them (`translated_fields`)."""
    attrs = {}
    for name in form_class.translated:
        source = form_class.base_fields.get(name)
        if source is None:
            continue
        for code, label in languages.names().items():
            if code == languages.default():
                continue
            field = copy.deepcopy(source)
            field.required = False
            field.label = f"{source.label} · {label}"
            field.help_text = gettext("Left empty: readers of this language see the text above.")
            field.widget.attrs = {**field.widget.attrs, "lang": code}
            attrs[translated_name(name, code)] = field
    return type(form_class.__name__, (form_class,), attrs) if attrs else form_class


def translated_name(name: str, code: str) -> str:
    """The form field of `name` in another language: name_zh_hans."""
    return languages.field(name, code)


def translated_fields(*names: str) -> tuple[str, ...]:
    """A fieldset's fields with each text's other languages right after it."""
    laid_out: list[str] = []
    for name in names:
        laid_out.append(name)
        if name in TRANSLATABLE:
            laid_out += [translated_name(name, code) for code in languages.others()]
    return tuple(laid_out)


# The form fields that have versions in other languages (ServiceForm.translated of each form).
TRANSLATABLE = {"name", "title", "description", "body", "update_body", "postmortem_body", "reschedule_body"}


class ComponentGroupForm(ServiceForm):
    translated = {"name": ("name", "name"), "description": ("description", "description")}

    class Meta:
        model = ComponentGroup
        fields = ["name", "description", "position"]


class ComponentForm(ServiceForm):
    translated = {"name": ("name", "name"), "description": ("description", "description")}

    class Meta:
        model = Component
        fields = [
            "name",
            "description",
            "group",
            "position",
            "status",
            "showcase",
            "only_show_if_degraded",
            "is_hidden",
            "start_date",
            "okx_service_type",
            "trading",
            "trading_mode",
        ]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if "trading_mode" in self.fields:
            self.fields["trading_mode"].required = False

    def clean_trading_mode(self):
        return self.cleaned_data.get("trading_mode") or rules.NORMAL

    def clean(self):
        data = super().clean()
        if data.get("trading_mode", rules.NORMAL) != rules.NORMAL and not data.get("trading"):
            self.add_error("trading_mode", gettext("Only a trading product has a trading mode."))
        return data


# --- incidents ---------------------------------------------------------------------------


class IncidentOpenForm(ServiceForm):
    """Open an incident: its first update and the components it hits, in one form."""

    service_fields = {"components": GRID_FIELD}
    translated = {"name": ("name", None), "body": ("body", None)}

    status = forms.ChoiceField(
        label=_("Status"),
        choices=[(s, label) for s, label in Incident.Status.choices if s in rules.INCIDENT_OPEN],
        initial="investigating",
    )
    body = markdown_field(label=_("First update"), help_text=_("Markdown. What readers see first."))
    impact_override = forms.ChoiceField(
        label=_("Impact"), choices=IMPACT_CHOICES, required=False, help_text=_("Blank: derived from the components.")
    )
    started_at = datetime_field(
        required=False, label=_("Started at"), help_text=_("Blank for now; may be backdated to when it really began.")
    )
    deliver_notifications = forms.BooleanField(label=_("Deliver notifications"), required=False, initial=True)
    template = forms.CharField(required=False, widget=forms.HiddenInput)
    template_kind = Incident.Kind.INCIDENT

    class Meta:
        model = Incident
        fields = ["name"]

    def clean_template(self):
        return opened_from(self.cleaned_data.get("template"), self.template_kind)

    def clean_body(self):
        return normalize_newlines(self.cleaned_data["body"])

    def clean(self):
        cleaned = super().clean()
        if any(self.has_error(name) for name in ("status", "body", "started_at")):
            return cleaned
        # The first update is checked like any later one: its text, its time (the start,
        # which may be backdated but not in the future) and its component statuses.
        started_at = cleaned.get("started_at")
        first_update = Incident(kind=Incident.Kind.INCIDENT, status="investigating", started_at=started_at)
        try:
            services.validate_incident_update(
                first_update,
                status=cleaned.get("status") or "",
                body=cleaned.get("body") or "",
                display_at=started_at,
                components=self.component_statuses(),
            )
        except ValidationError as error:
            self.add_service_error(ValidationError(_for_open(error)))
        return cleaned


def opened_from(slug: str | None, kind: str) -> Template | None:
    """The template an add form was filled in from (its hidden `template`), if any."""
    if not slug:
        return None
    template = Template.objects.filter(slug=slug, kind=kind).first() if services.templates.SLUG.match(slug) else None
    if template is None:
        raise ValidationError(gettext("This template no longer exists; choose another or fill in the form."))
    return template


def _for_open(error: ValidationError) -> dict:
    """An update check's errors, named as the open form's fields."""
    renamed = {"display_at": "started_at"}
    return {renamed.get(field, field): messages for field, messages in error.message_dict.items()}


class IncidentChangeForm(ServiceForm):
    """Rename, override the impact, post an update, write the postmortem: each when filled in."""

    service_fields = {
        "status": "update_status",
        "body": "update_body",
        "display_at": "update_display_at",
        "at": "update_display_at",
        "components": GRID_FIELD,
        "incident": None,
    }
    translated = {
        "name": ("name", "name"),
        "update_body": ("body", None),
        "postmortem_body": ("body", "postmortem_body"),
    }

    impact_override = forms.ChoiceField(
        label=_("Impact override"),
        choices=IMPACT_CHOICES,
        required=False,
        help_text=_("Blank: derived from the components."),
    )
    update_status = forms.ChoiceField(
        label=_("Status"),
        choices=[("", _("— no update —"))]
        + [(s, label) for s, label in Incident.Status.choices if s in rules.INCIDENT_UPDATE_STATUSES],
        required=False,
        help_text=_(
            "Resolving with every component left unchanged sets the affected components that are "
            "still degraded or down back to operational."
        ),
    )
    update_body = markdown_field(
        required=False,
        label=_("Update"),
        help_text=_(
            "Markdown. Left blank, an update that changes the status or a component posts the status's "
            "standard text (for Resolved: “This incident has been resolved.”); with nothing changed, nothing is "
            "posted."
        ),
    )
    confirm_down_after_resolve = forms.BooleanField(
        label=_("I know these stay down"),
        required=False,
        help_text=_(
            "Resolve even though a component set above stays degraded or down with no other open incident; "
            "the page's banner then names it."
        ),
    )
    update_display_at = datetime_field(
        required=False, label=_("Shown at"), help_text=_("Blank for now; may be backdated.")
    )
    update_deliver_notifications = forms.BooleanField(label=_("Deliver notifications"), required=False, initial=True)
    postmortem_body = markdown_field(required=False, label=_("Postmortem"), help_text=_("Markdown."))
    publish_postmortem = forms.BooleanField(
        label=_("Publish"), required=False, help_text=_("Show it on the page and set the status to Postmortem.")
    )

    class Meta:
        model = Incident
        fields = ["name", "impact_override", "postmortem_body"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        incident = self.instance
        if incident.status in rules.INCIDENT_UPDATE_STATUSES:
            self.fields["update_status"].initial = incident.status
        if incident.postmortem_published_at:
            publish = self.fields["publish_postmortem"]
            publish.initial, publish.disabled = True, True
            publish.help_text = gettext("Published; saving an edit changes it in place.")

    def clean_update_body(self):
        return normalize_newlines(self.cleaned_data["update_body"])

    def clean_postmortem_body(self):
        return normalize_newlines(self.cleaned_data["postmortem_body"])

    def wants_update(self) -> bool:
        """An update is posted when it has text, sets a component or moves the status."""
        data = self.cleaned_data
        return bool(
            (data.get("update_body") or "").strip()
            or self.component_statuses()
            or self.trading_modes()
            or "update_status" in self.changed_data
        )

    def wants_postmortem(self) -> bool:
        publish = "publish_postmortem" in self.changed_data
        edited = self.cleaned_data.get("postmortem_body", "") != normalize_newlines(self.initial.get("postmortem_body"))
        return publish or edited

    def update_fields(self) -> dict:
        """The update to post. A blank body takes the chosen status's standard text: the
        operator moved the status or a component, and readers are told so in words."""
        data = self.cleaned_data
        status = data.get("update_status") or ""
        return {
            "status": status,
            "body": (data.get("update_body") or "").strip() or rules.DEFAULT_BODIES.get(status, ""),
            "display_at": data.get("update_display_at"),
            "components": self.component_statuses(),
            "deliver_notifications": bool(data.get("update_deliver_notifications")),
            "confirm_down_after_resolve": bool(data.get("confirm_down_after_resolve")),
            "trading_modes": self.trading_modes(),
        }

    def clean(self):
        cleaned = super().clean()
        if self.wants_update() and not any(
            self.has_error(name) for name in ("update_status", "update_body", "update_display_at", GRID_FIELD)
        ):
            fields = self.update_fields()
            fields.pop("deliver_notifications")
            fields.pop("trading_modes")
            if not fields["status"]:
                self.add_error("update_status", gettext("Choose the status this update gives the incident."))
                return cleaned
            if fields["status"] == "resolved" and not fields["components"]:
                # What the admin's save does then (`incident_resolve`), checked the same way.
                fields["components"] = services.components_to_restore(self.instance)
            try:
                services.validate_incident_update(self.instance, **fields)
            except ValidationError as error:
                self.add_service_error(error)
        return cleaned


# --- scheduled maintenance ---------------------------------------------------------------


class MaintenanceScheduleForm(ServiceForm):
    """Announce a maintenance window (from a template: an emergency starts at once)."""

    translated = {"name": ("name", None), "body": ("body", None)}

    body = markdown_field(label=_("Announcement"), help_text=_("Markdown. The first update readers see."))
    deliver_notifications = forms.BooleanField(label=_("Deliver notifications"), required=False, initial=True)
    template = forms.CharField(required=False, widget=forms.HiddenInput)

    def clean_template(self):
        return opened_from(self.cleaned_data.get("template"), Incident.Kind.MAINTENANCE)

    class Meta:
        model = Incident
        fields = ["name", "scheduled_for", "scheduled_until", "components", *services.MAINTENANCE_BEHAVIOUR]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for name in ("scheduled_for", "scheduled_until"):
            self.fields[name].required = True
            self.fields[name].help_text = page_time_help()

    def clean(self):
        cleaned = super().clean()
        start, end = cleaned.get("scheduled_for"), cleaned.get("scheduled_until")
        if isinstance(start, datetime) and isinstance(end, datetime) and end <= start:
            self.add_error("scheduled_until", gettext("The end must be after the start."))
        pre_open = cleaned.get("pre_open_at")
        if isinstance(start, datetime) and isinstance(end, datetime) and pre_open and not start < pre_open < end:
            self.add_error("pre_open_at", gettext("The pre-open phase starts inside the window."))
        if cleaned.get("auto_pre_open") and not pre_open:
            self.add_error("auto_pre_open", gettext("Give the pre-open phase a start first."))
        return cleaned


class MaintenanceChangeForm(ServiceForm):
    """Reschedule (while scheduled), move the maintenance along, or post a progress note."""

    service_fields = {"status": "transition", "at": "transition", "body": "update_body", "incident": None}
    translated = {"name": ("name", "name"), "update_body": ("body", None), "reschedule_body": ("body", None)}

    reschedule_body = forms.CharField(
        label=_("Reschedule note"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 2, "cols": 80}),
        help_text=_("Optional; blank notes the old and new windows."),
    )
    transition = forms.ChoiceField(
        label=_("Transition"),
        required=False,
        choices=[
            ("", _("— none —")),
            ("start", _("Start (in progress)")),
            ("verify", _("Verifying")),
            ("pre_open", _("Pre-open (cancel and post-only orders, no matching)")),
            ("complete", _("Complete")),
            ("cancel", _("Cancel")),
            ("note", _("Progress note (status unchanged)")),
        ],
    )
    update_body = markdown_field(
        required=False, label=_("Update"), help_text=_("Markdown. Optional for a transition (a standard text is used).")
    )

    class Meta:
        model = Incident
        fields = ["name", "scheduled_for", "scheduled_until"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for name in ("scheduled_for", "scheduled_until"):
            if name in self.fields:
                self.fields[name].required = True
                self.fields[name].help_text = page_time_help(gettext("Change to reschedule."))

    def new_status(self) -> str | None:
        transition = self.cleaned_data.get("transition")
        if not transition:
            return None
        return self.instance.status if transition == "note" else rules.MAINTENANCE_ACTIONS[transition]

    def clean_update_body(self):
        return normalize_newlines(self.cleaned_data["update_body"])

    def moved(self) -> bool:
        """Whether the window changed; to the second, as the widgets show it."""
        for name in ("scheduled_for", "scheduled_until"):
            if name not in self.fields:
                continue
            new, old = self.cleaned_data.get(name), self.initial.get(name)
            if new and old and new.replace(microsecond=0) != old.replace(microsecond=0):
                return True
        return False

    def clean(self):
        cleaned = super().clean()
        # Runs before the form copies its data onto the instance: this is the stored row.
        maintenance = self.instance
        if self.moved() and maintenance.status != "scheduled":
            self.add_error("scheduled_for", gettext("Only a maintenance that has not started can be rescheduled."))
        start, end = cleaned.get("scheduled_for"), cleaned.get("scheduled_until")
        if self.moved() and start and end and end <= start:
            self.add_error("scheduled_until", gettext("The end must be after the start."))
        new_status = self.new_status()
        if new_status is not None:
            body = cleaned.get("update_body") or rules.DEFAULT_BODIES.get(new_status, "")
            try:
                services.validate_incident_update(maintenance, status=new_status, body=body, display_at=None)
            except ValidationError as error:
                self.add_service_error(error)
        return cleaned
