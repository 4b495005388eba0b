"""Template filters for the public pages: times, durations, labels, icons, Markdown.

Snapshot timestamps are ISO strings in the page's time zone; model fields are aware
datetimes. Both are accepted wherever a moment is expected.
"""

from __future__ import annotations

import functools
import html
import json
from datetime import UTC, date, datetime, timedelta

from django import template
from django.urls import reverse
from django.utils import dateformat
from django.utils.html import format_html
from django.utils.safestring import SafeString, mark_safe

from incidents import rules
from incidents.markdown import render_markdown
from incidents.models import ComponentStatus, Incident
from incidents.wire.time import page_tz, zone_label

register = template.Library()

# How each kind of <time> reads; the JavaScript toggle uses the same names (data-fmt).
TIME_FORMATS = {
    "datetime": ("M j, Y H:i", True),
    "short": ("M j, H:i", True),
    "time": ("H:i", True),
    "hm": ("H:i", False),
    "date": ("M j, Y", False),
}

# The banner indicator and an incident's impact, as the component status they look like.
INDICATOR_TONE = {
    "none": rules.OPERATIONAL,
    "minor": rules.DEGRADED,
    "major": rules.PARTIAL,
    "critical": rules.MAJOR,
    "maintenance": rules.MAINTENANCE,
}


def _moment(value) -> datetime | None:
    if not value:
        return None
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    if isinstance(value, datetime) and value.tzinfo is None:
        return None
    return value


@register.filter
def moment(value) -> datetime | None:
    """An ISO string (or an aware datetime) as an aware datetime; None for nothing."""
    return _moment(value)


@register.filter(is_safe=True)
def when(value, fmt: str = "datetime") -> SafeString | str:
    """`<time datetime="2021-01-29T09:37:00Z">Jan 29, 2021 17:37 HKT</time>`, in the page's zone."""
    instant = _moment(value)
    if instant is None:
        return "—"
    pattern, with_zone = TIME_FORMATS.get(fmt, TIME_FORMATS["datetime"])
    local = instant.astimezone(page_tz())
    text = dateformat.format(local, pattern)
    if with_zone:
        text = f"{text} {zone_label()}"
    utc = instant.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    return format_html('<time datetime="{}" data-fmt="{}">{}</time>', utc, fmt, text)


@register.filter
def same_page_day(start, end) -> bool:
    """Whether two moments fall on the same day in the page's time zone."""
    a, b = _moment(start), _moment(end)
    if a is None or b is None:
        return False
    tz = page_tz()
    return a.astimezone(tz).date() == b.astimezone(tz).date()


@register.filter
def day_label(value: str | date) -> str:
    """An uptime day (`2021-01-29`) as `Jan 29, 2021`."""
    day = date.fromisoformat(value) if isinstance(value, str) else value
    return dateformat.format(day, "M j, Y")


@register.filter
def duration(seconds) -> str:
    """Seconds as `41 min` / `2 h 05 min`; an em dash for nothing."""
    if seconds is None or seconds == "":
        return rules.format_duration(None)
    return rules.format_duration(timedelta(seconds=int(seconds)))


@register.filter
def duration_between(start, end) -> str:
    a, b = _moment(start), _moment(end)
    if a is None or b is None:
        return rules.format_duration(None)
    return rules.format_duration(max(b - a, timedelta(0)))


def _label(choices, value: str) -> str:
    try:
        return choices(value).label
    except ValueError:
        return str(value).replace("_", " ").capitalize()


@register.filter
def component_status_label(value: str) -> str:
    if value == "none":
        return "No data"
    return _label(ComponentStatus, value)


@register.filter
def incident_status_label(value: str) -> str:
    return _label(Incident.Status, value)


@register.filter
def impact_label(value: str) -> str:
    return _label(Incident.Impact, value)


@register.filter
def tone(value: str) -> str:
    """The component status an indicator or impact looks like (for colour and icon)."""
    return INDICATOR_TONE.get(value, value)


@register.filter
def impact_tone(value: str) -> str:
    """Like `tone`, except that an incident with no impact looks neutral, not operational."""
    return "none" if value == "none" else INDICATOR_TONE.get(value, value)


@register.simple_tag
def status_icon(status: str, extra_class: str = "") -> SafeString:
    """A status's icon: a distinct shape per status, so colour is never the only cue.

    `none` is the neutral icon (an incident of no impact, a day with no data); a banner
    indicator goes through `tone` first, where `none` is operational.
    """
    if status != "none":
        status = INDICATOR_TONE.get(status, status)
    if status not in rules.COMPONENT_STATUSES:
        status = "none"
    return format_html(
        '<svg class="icon icon--{} {}" aria-hidden="true" focusable="false"><use href="#i-{}"></use></svg>',
        status,
        extra_class,
        status,
    )


@register.filter(is_safe=True)
def markdown(text: str | None, top_heading: int = 1) -> SafeString:
    return render_markdown(text, top_heading=int(top_heading))


@functools.lru_cache(maxsize=512)
def _bar_label(iso_day: str) -> str:
    day = date.fromisoformat(iso_day)
    return f"{day:%b} {day.day}, {day.year}"  # as day_label: "Jan 29, 2021"


@register.simple_tag
def uptime_bars(days: list[dict]) -> SafeString:
    """The day bars of one uptime row: 90 per component on every render of the page, so
    built here with plain escaping rather than by a template loop (about 10x faster).

    Each bar is a button: status.js opens a popover with the day's durations (the parts
    of `title`, "day · durations[ · uptime]") and its incidents (`data-incidents`), for
    phones, where there is no hover, and for the keyboard."""
    last = len(days) - 1
    parts = []
    for index, day in enumerate(days):
        label = _bar_label(day["date"])
        uptime = day["uptime"]
        partial = uptime is not None and uptime < 100
        title = html.escape(f"{label} · {day['title']}" + (f" · {uptime}% uptime" if partial else ""))
        incidents = day.get("incidents") or []
        names = "".join(f"; {i['name']}" for i in incidents)
        aria = html.escape(f"{label}: {day['title']}" + (f", {uptime}% uptime" if partial else "") + names)
        status = html.escape(day["status"])
        tabindex = "0" if index == last else "-1"
        extra = ""
        if incidents:
            links = [{"name": i["name"], "url": reverse("incident-detail", args=[i["id"]])} for i in incidents]
            extra = f' data-incidents="{html.escape(json.dumps(links, ensure_ascii=False))}"'
        parts.append(
            f'<li><button type="button" class="bar bar--{status}" tabindex="{tabindex}" title="{title}"'
            f' aria-label="{aria}"{extra}></button></li>'
        )
    return mark_safe("".join(parts))  # noqa: S308 - every value above is escaped
