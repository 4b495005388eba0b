"""Helpers of the admin tests: the forms as a browser would post them."""

import re
from datetime import datetime
from zoneinfo import ZoneInfo

from django import forms
from django.urls import reverse

from incidents.models import Component, Maintenance

from ..factories import schedule_maintenance

HKT = ZoneInfo("Asia/Hong_Kong")


def scheduled(**kwargs) -> Maintenance:
    """A maintenance scheduled through the service, as the maintenance admin sees it."""
    return Maintenance.objects.get(pk=schedule_maintenance(**kwargs).pk)


def select(component: Component) -> str:
    return f"component_{component.pk}"


def split(name: str, moment: datetime) -> dict:
    """The two inputs of the admin's date/time widget, in the page's time zone."""
    local = moment.astimezone(HKT)
    return {f"{name}_0": local.strftime("%Y-%m-%d"), f"{name}_1": local.strftime("%H:%M:%S")}


def form_data(response, **values) -> dict:
    """What a browser would post back from an admin form page, with `values` changed."""
    data = {}
    for bound in response.context["adminform"].form:
        if bound.field.disabled:
            continue
        value = bound.value()
        if isinstance(value, datetime):
            data.update(split(bound.html_name, value))
        elif isinstance(bound.field, forms.BooleanField):
            if value:
                data[bound.html_name] = "on"
        elif isinstance(value, dict):
            # The component grid and the trading modes: a radio group `component_<pk>` and a
            # select `mode_<pk>` per row, posted as filled in (unchanged when absent).
            prefix = "mode_" if bound.name == "trading_grid" else "component_"
            data.update({f"{prefix}{pk}": v for pk, v in value.items() if v})
        elif isinstance(value, list | tuple):
            data[bound.html_name] = [str(v) for v in value]
        else:
            data[bound.html_name] = "" if value is None else str(value)
    for inline in response.context["inline_admin_formsets"]:
        management = inline.formset.management_form
        for name in management.fields:
            data[management.add_prefix(name)] = management[name].value()
    data.update(values)
    return data


def change_url(obj) -> str:
    return reverse(f"admin:incidents_{obj._meta.model_name}_change", args=[obj.pk])


def post_change(client, obj, **values):
    """Open the change page of `obj` and post it back with `values`."""
    url = change_url(obj)
    page = client.get(url)
    assert page.status_code == 200
    return client.post(url, form_data(page, **values))


def form_errors(response) -> dict:
    form = response.context["adminform"].form
    return {name: list(errors) for name, errors in form.errors.items()}


def grid_rows(html: str) -> dict[str, str]:
    """Each row of the component grid: the component's name → the row's HTML."""
    grid = html[html.index('<div class="status-grid">') :]
    grid = grid[: grid.index("</table>")]
    rows = re.findall(r'<tr class="status-grid__row[^"]*" data-component="([^"]+)">(.*?)</tr>', grid, re.S)
    return dict(rows)
