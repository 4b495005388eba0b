"""Template filters for the public pages: times, durations, labels, icons, Markdown.

Snapshot timestamps are ISO strings in the page's time zone; model fields are aware
datetimes. Both are accepted wherever a moment is expected.
"""

from __future__ import annotations

import functools
import html
import json
from datetime import UTC, date, datetime, timedelta
from urllib.parse import urlencode

from django import template
from django.urls import reverse
from django.utils import dateformat, timezone, translation
from django.utils.html import conditional_escape, format_html
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext, pgettext, pgettext_lazy

from incidents import languages, rules
from incidents.markdown import render_markdown
from incidents.models import ComponentStatus, Incident, TradingMode
from incidents.wire import charts
from incidents.wire import metrics as wire_metrics
from incidents.wire.time import label_of, shown_tz

register = template.Library()

# How each kind of <time> reads, in Django's date syntax and per language (zh: "Y年n月j日
# H:i"); the JavaScript toggle uses the same names (data-fmt) and patterns (`page_texts`).
TIME_FORMATS = {
    "datetime": (pgettext_lazy("date format: date and time (Django date syntax)", "M j, Y H:i"), True),
    "short": (pgettext_lazy("date format: date without the year and time (Django date syntax)", "M j, H:i"), True),
    "time": ("H:i", True),
    "hm": ("H:i", False),
    "date": (pgettext_lazy("date format: a date (Django date syntax)", "M j, Y"), False),
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
    tz = shown_tz()
    local = instant.astimezone(tz)
    text = dateformat.format(local, str(pattern))
    if with_zone:
        text = f"{text} {label_of(tz, local)}"
    utc = instant.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    return format_html('<time datetime="{}" data-fmt="{}">{}</time>', utc, fmt, text)


@register.filter
def same_page_day(start, end) -> bool:
    """Whether two moments fall on the same day in the zone the page is shown in."""
    a, b = _moment(start), _moment(end)
    if a is None or b is None:
        return False
    tz = shown_tz()
    return a.astimezone(tz).date() == b.astimezone(tz).date()


@register.filter
def day_label(value: str | date) -> str:
    """An uptime day (`2021-01-29`) as `Jan 29, 2021` (`2021年1月29日` in Chinese)."""
    day = date.fromisoformat(value) if isinstance(value, str) else value
    return dateformat.format(day, str(TIME_FORMATS["date"][0]))


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
        return str(choices(value).label)
    except ValueError:
        return str(value).replace("_", " ").capitalize()


@register.filter
def funding_label(value: str) -> str:
    return gettext(rules.FUNDING_LABEL[value]) if value in rules.FUNDING_LABEL else value


@register.filter
def funding_status(value: str) -> str:
    """The component status a deposit or withdrawal status shows as (its colour and icon)."""
    return rules.FUNDING_STATUS.get(value, rules.OPERATIONAL)


@register.filter
def trading_mode_label(value: str) -> str:
    return _label(TradingMode, value)


@register.filter
def trading_mode_status(value: str) -> str:
    """The status a trading mode counts as (its icon on a timeline entry)."""
    return rules.TRADING_MODE_STATUS.get(value, rules.OPERATIONAL)


@register.filter
def component_status_label(value: str) -> str:
    if value == "none":
        return gettext("No data")
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


@register.filter
def names(items) -> str:
    """Components (snapshot dicts, rows or plain names) as one list: "REST API, Spot"
    ("REST API、Spot" in Chinese)."""
    return pgettext("list separator", ", ").join(
        str(item["name"] if isinstance(item, dict) else getattr(item, "name", item)) for item in items or ()
    )


@register.filter(is_safe=True)
def markdown(text: str | None, top_heading: int = 1) -> SafeString:
    return render_markdown(text, top_heading=int(top_heading))


@functools.lru_cache(maxsize=1024)
def _bar_label(iso_day: str, pattern: str) -> str:
    """As day_label ("Jan 29, 2021"), remembered per language's pattern: 90 a row."""
    return dateformat.format(date.fromisoformat(iso_day), pattern)


@register.simple_tag
def uptime_bars(days: list[dict]) -> SafeString:
    """The day bars of one uptime row: 90 per component on every render of the page, so
    built here with plain escaping rather than by a template loop (about 10x faster).

    Each bar is a button: status.js opens a popover with the day's durations (the parts
    of `title`, "day · durations[ · uptime]") and its incidents (`data-incidents`), for
    phones, where there is no hover, and for the keyboard."""
    last = len(days) - 1
    parts = []
    pattern = str(TIME_FORMATS["date"][0])
    uptime_text = gettext("%(percent)s%% uptime")
    separator = pgettext("separator between the statuses of a day", "; ")
    comma = pgettext("list separator", ", ")
    colon = pgettext("between a label and its text", ": ")
    for index, day in enumerate(days):
        label = _bar_label(day["date"], pattern)
        uptime = day["uptime"]
        partial = uptime is not None and uptime < 100
        shown = uptime_text % {"percent": uptime} if partial else ""
        title = html.escape(f"{label} · {day['title']}" + (f" · {shown}" if partial else ""))
        incidents = day.get("incidents") or []
        names = "".join(f"{separator}{i['name']}" for i in incidents)
        aria = html.escape(f"{label}{colon}{day['title']}" + (f"{comma}{shown}" if partial else "") + names)
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


@register.simple_tag(takes_context=True)
def page_languages(context) -> list[dict]:
    """The page in each language: for the switch and the `hreflang` alternates.

    `page_path` is the page's path without a language prefix (published pages are given
    it; pages answered per request take it from the request)."""
    path = context.get("page_path")
    if path is None:
        request = context.get("request")
        path = languages.split_path(request.path)[1] if request is not None else "/"
    current = translation.get_language()
    return [
        {
            "code": code,
            "name": name,
            "url": languages.prefix(code) + path if path != "/" or code == languages.default() else f"/{code}/",
            "switch": f"{reverse('choose-language')}?{urlencode({'to': code, 'next': path})}",
            "current": code == current,
        }
        for code, name in languages.names().items()
    ]


@register.simple_tag(takes_context=True)
def reader_zone(context) -> dict:
    """The zone the page's times are shown in, as the page names it, and the page to come
    back to once another zone is chosen."""
    tz = shown_tz()
    path = context.get("page_path")
    request = context.get("request")
    if path is None:
        path = languages.split_path(request.path)[1] if request is not None else "/"
    here = (
        languages.prefix(translation.get_language()) + path
        if path != "/"
        else languages.prefix(translation.get_language()) + "/"
    )
    return {"name": tz.key, "label": label_of(tz), "next": here}


@register.simple_tag
def page_texts() -> dict:
    """The scripts' words in the page's language (status.js, live.js), for a JSON island
    (`json_script`): the scripts have their English as a fallback. `{zone}` is filled in
    by the script; `formats` are TIME_FORMATS' patterns, for the times it converts."""
    return {
        "show_local": gettext("Show my local time"),
        "show_page": gettext("Show page time"),
        "local_zone": gettext("Times are shown in your time zone (%(zone)s).") % {"zone": "{zone}"},
        "your_zone": gettext("your time zone"),
        "incident": gettext("Incident"),
        "incidents": gettext("Incidents"),
        "close": gettext("Close"),
        "countdown": gettext("(%(time)s left)") % {"time": "{time}"},
        "due": gettext("(due now)"),
        "live": gettext("Live"),
        "polling": gettext("Updating every few seconds"),
        "offline": gettext("Offline — retrying"),
        "reconnecting": gettext("Reconnecting…"),
        "formats": {name: str(pattern) for name, (pattern, _) in TIME_FORMATS.items()},
    }


# --- content shown in the default language for want of a translation ----------------------
#
# The page's context lists it in `untranslated` ("<public id>:<field>"). Each such text is
# marked where it is printed (`lang="en" data-untranslated`, so a screen reader reads it as
# English), and a region that shows any says so once (`marks_untranslated`).

# The context key (never a template variable) of the region being rendered: whether it
# marked anything and the note it says so with.
_REGION = "untranslated region"
# Where the note goes, until the region is rendered (an HTML comment, were it ever left).
_NOTE_HERE = "<!--untranslated-note-->"


def _untranslated(context, public_id, field: str) -> bool:
    """Whether the text is shown untranslated; the region it is in remembers it."""
    if f"{public_id}:{field}" not in (context.get("untranslated") or ()):
        return False
    region = context.get(_REGION)
    if region is not None:
        region["marked"] = True
    return True


def _marked_text(context, public_id, field: str, text) -> SafeString:
    if _untranslated(context, public_id, field):
        return format_html('<span lang="{}" data-untranslated>{}</span>', languages.default(), text)
    return conditional_escape(text)


@register.simple_tag(takes_context=True)
def content_lang(context, public_id: str, field: str) -> SafeString:
    """` lang="en" data-untranslated` on an element whose text is shown in the default
    language for want of a translation (`untranslated` in the context: `<id>:<field>`),
    so screen readers read it as such and the page marks it."""
    if not _untranslated(context, public_id, field):
        return mark_safe("")  # noqa: S308 - empty
    return format_html(' lang="{}" data-untranslated', languages.default())


@register.simple_tag(takes_context=True)
def content_text(context, public_id: str, field: str, text) -> SafeString:
    """A text inside a sentence of the page's language (a name in "Affects: …"), in a
    `<span lang="en" data-untranslated>` when it is shown untranslated; else just the text."""
    return _marked_text(context, public_id, field, text)


@register.simple_tag(takes_context=True)
def content_names(context, items) -> SafeString:
    """Components (snapshot dicts) as one list, like `names`, each name marked where it
    is shown untranslated."""
    separator = conditional_escape(pgettext("list separator", ", "))
    return mark_safe(  # noqa: S308 - each part is escaped
        separator.join(
            _marked_text(context, item.get("id") or item.get("code"), "name", item["name"]) for item in items or ()
        )
    )


@register.simple_tag(takes_context=True)
def outage_names(context, snap: dict) -> SafeString:
    """The banner's components that are down with nothing open to explain it (its
    `banner_detail`), each name marked where it is shown untranslated."""
    names = snap.get("unexplained_outages")
    if names is None:  # a snapshot from before the names were kept
        return conditional_escape(snap.get("banner_detail", ""))
    ids = {c["name"]: c["id"] for c in snap.get("components", ()) if not c.get("group")}
    marked = [_marked_text(context, ids.get(name), "name", name) for name in names]
    return mark_safe(rules.name_list(marked))  # noqa: S308 - the names are escaped, the rest is the catalog's


class MarksUntranslatedNode(template.Node):
    def __init__(self, nodelist):
        self.nodelist = nodelist

    def render(self, context) -> SafeString:
        region = {"marked": False, "note": ""}
        with context.push({_REGION: region}):
            html = self.nodelist.render(context)
        return mark_safe(html.replace(_NOTE_HERE, region["note"] if region["marked"] else ""))  # noqa: S308 - ours


@register.tag
def marks_untranslated(parser, token):
    """A region that, when it shows anything untranslated, says so once, where its
    `{% untranslated_note _("…") %}` stands (which may come before what it marks):

        {% marks_untranslated %}<h2>…</h2>{% untranslated_note _("…") %}…{% endmarks_untranslated %}
    """
    nodelist = parser.parse(("endmarks_untranslated",))
    parser.delete_first_token()
    return MarksUntranslatedNode(nodelist)


@register.simple_tag(takes_context=True)
def untranslated_note(context, text: str) -> SafeString:
    """The note of a `marks_untranslated` region, shown only where it marks something."""
    region = context.get(_REGION)
    if region is None:
        raise template.TemplateSyntaxError("untranslated_note belongs in a marks_untranslated region")
    region["note"] = format_html('<p class="note" role="note">{}</p>', text)
    return mark_safe(_NOTE_HERE)  # noqa: S308 - ours


_charts: dict[tuple, dict[str, SafeString]] = {}


@register.simple_tag(takes_context=True)
def metric_view(context, metric_id: str) -> dict | None:
    """A public metric as `status/_metric.html` shows it: what names it, its latest value
    and its charts (inline SVG, drawn once per snapshot and language)."""
    snap = context["snap"]
    head = next((m for m in snap.get("metrics", ()) if m["id"] == metric_id), None)
    prepared = snap.get("metric_periods", {}).get(metric_id)
    if head is None or prepared is None:
        return None
    # Drawn once per snapshot, language and zone in a process: the page, its live regions
    # and a reader's zoned page all show the same charts.
    key = (snap.get("built_at"), metric_id, translation.get_language(), timezone.get_current_timezone_name())
    svgs = _charts.get(key)
    if svgs is None:
        if len(_charts) > 500:
            _charts.clear()
        svgs = _charts[key] = {
            period.key: mark_safe(  # noqa: S308 - built by wire.charts, every text escaped
                charts.svg(
                    wire_metrics.series_of(prepared, period.key),
                    chart_id=f"chart-{metric_id}-{period.key}",
                    name=head["name"],
                    unit=head["unit"],
                    decimals=head["decimals"],
                    latest=head["last_value"],
                )
            )
            for period in wire_metrics.PERIODS
        }
    return {
        "metric": head,
        "latest": charts.with_unit(head["last_value"], head["unit"], head["decimals"]),
        "svgs": svgs,
    }
