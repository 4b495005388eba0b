"""Public metric charts: an accessible SVG drawn on the server, once per snapshot.

No script and no chart library: a line over a fixed grid, its title and a text summary
(`<title>`, `<desc>`, role="img") for screen readers, and every gap (when the metric was
not measured: Prometheus down, no answer) drawn as a hatched band with its own title, so
a reader never mistakes a gap for a flat line. Colours come from the page's CSS (classes),
light and dark alike. Times in the labels are in the zone being rendered (the page's, or
the reader's choice), and the summary names it.
"""

from __future__ import annotations

import math
from xml.sax.saxutils import escape, quoteattr

from django.utils import formats, timezone
from django.utils.translation import gettext as _

from .metrics import Series

WIDTH, HEIGHT = 600, 150
LEFT, RIGHT, TOP, BOTTOM = 52, 592, 10, 120  # the plot area


def nice_ceiling(value: float) -> float:
    """The smallest of 1, 2, 2.5, 5 × 10^n at or above `value` (the axis' top)."""
    if value <= 0:
        return 1.0
    power = 10 ** math.floor(math.log10(value))
    for step in (1, 2, 2.5, 5, 10):
        if value <= step * power + 1e-12:
            return step * power
    return 10 * power


def number(value: float, decimals: int) -> str:
    return formats.number_format(round(value, decimals), decimals, use_l10n=True)


def with_unit(value: float | None, unit: str, decimals: int) -> str:
    if value is None:
        return "–"
    return f"{number(value, decimals)} {unit}".strip()


def _clock(at, long: bool) -> str:
    local = timezone.localtime(at)
    return formats.date_format(local, "M j, H:i" if long else "H:i")


PERIOD_WORDS = {
    "hour": lambda: _("last hour"),
    "day": lambda: _("last 24 hours"),
    "week": lambda: _("last 7 days"),
    "month": lambda: _("last 30 days"),
}
AXIS_WORDS = {
    "hour": lambda: (_("60 min ago"), _("30 min ago")),
    "day": lambda: (_("24 h ago"), _("12 h ago")),
    "week": lambda: (_("7 days ago"), _("3.5 days ago")),
    "month": lambda: (_("30 days ago"), _("15 days ago")),
}


def describe(series: Series, *, unit: str, decimals: int, latest: float | None = None) -> str:
    """The chart in words: the latest sample, the period's range and its gaps, in the
    rendered zone."""
    known = series.known
    if not known:
        return _("No data yet.")
    parts = [
        _("Latest: %(value)s.") % {"value": with_unit(known[-1] if latest is None else latest, unit, decimals)},
        _("Mean %(mean)s, lowest %(low)s, highest %(high)s.")
        % {
            "mean": with_unit(sum(known) / len(known), unit, decimals),
            "low": with_unit(min(known), unit, decimals),
            "high": with_unit(max(known), unit, decimals),
        },
    ]
    long = series.period.key in ("week", "month")
    for start, end in series.gaps():
        parts.append(_("No data from %(start)s to %(end)s.") % {"start": _clock(start, long), "end": _clock(end, long)})
    parts.append(_("Times in %(zone)s.") % {"zone": timezone.get_current_timezone_name()})
    return " ".join(parts)


def svg(series: Series, *, chart_id: str, name: str, unit: str, decimals: int, latest: float | None = None) -> str:
    """One chart as inline SVG (ids prefixed with `chart_id`, unique on the page)."""
    count = len(series.values)
    known = series.known
    top = nice_ceiling(max(known)) if known else 1.0
    step = (RIGHT - LEFT) / count

    def x(index: float) -> float:
        return LEFT + index * step

    def y(value: float) -> float:
        return BOTTOM - (value / top) * (BOTTOM - TOP) if top else BOTTOM

    title = f"{name}, {PERIOD_WORDS[series.period.key]()}"
    parts = [
        f'<svg class="chart" xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {HEIGHT}" role="img" '
        f'aria-labelledby="{chart_id}-t {chart_id}-d" data-period="{series.period.key}">',
        f'<title id="{chart_id}-t">{escape(title)}</title>',
        f'<desc id="{chart_id}-d">{escape(describe(series, unit=unit, decimals=decimals, latest=latest))}</desc>',
        f'<defs><pattern id="{chart_id}-hatch" width="6" height="6" patternUnits="userSpaceOnUse" '
        'patternTransform="rotate(45)"><rect class="chart__hatch" width="2" height="6"/></pattern></defs>',
    ]
    # The grid and the value axis: 0, half and the top.
    for fraction in (0, 0.5, 1):
        gy = y(top * fraction)
        parts.append(f'<line class="chart__grid" x1="{LEFT}" x2="{RIGHT}" y1="{gy:.1f}" y2="{gy:.1f}"/>')
        parts.append(
            f'<text class="chart__label" x="{LEFT - 6}" y="{gy + 4:.1f}" text-anchor="end">'
            f"{escape(with_unit(top * fraction, unit, decimals if top < 10 else 0))}</text>"
        )
    # Gaps under the line, each named.
    bucket = series.period.bucket
    long = series.period.key in ("week", "month")
    for start, end in series.gaps():
        x0 = x((start - series.start) / bucket)
        x1 = x((end - series.start) / bucket)
        label = _("No data from %(start)s to %(end)s") % {"start": _clock(start, long), "end": _clock(end, long)}
        parts.append(
            f'<rect class="chart__gap" x="{x0:.1f}" y="{TOP}" width="{max(x1 - x0, 1):.1f}" height="{BOTTOM - TOP}" '
            f'fill="url(#{chart_id}-hatch)"><title>{escape(label)}</title></rect>'
        )
    # The line, broken where there is no data; a lone bucket is a dot.
    path, drawing = [], False
    for index, value in enumerate(series.values):
        if value is None:
            drawing = False
            continue
        px, py = x(index + 0.5), y(value)
        path.append(f"{'L' if drawing else 'M'}{px:.0f} {py:.0f}")
        drawing = True
    if path:
        parts.append(f'<path class="chart__line" d="{" ".join(path)}"/>')
        # The latest value, marked.
        last_index = max(i for i, v in enumerate(series.values) if v is not None)
        parts.append(
            f'<circle class="chart__last" cx="{x(last_index + 0.5):.1f}" cy="{y(series.values[last_index]):.1f}" r="3"/>'
        )
    else:
        parts.append(
            f'<text class="chart__empty" x="{(LEFT + RIGHT) / 2}" y="{(TOP + BOTTOM) / 2}" text-anchor="middle">'
            f"{escape(_('No data yet'))}</text>"
        )
    # The time axis: relative, so it reads the same in every zone.
    first, middle = AXIS_WORDS[series.period.key]()
    for tx, anchor, text in ((LEFT, "start", first), ((LEFT + RIGHT) / 2, "middle", middle), (RIGHT, "end", _("now"))):
        parts.append(
            f'<text class="chart__label" x="{tx}" y="{HEIGHT - 8}" text-anchor={quoteattr(anchor)}>{escape(text)}</text>'
        )
    parts.append("</svg>")
    return "".join(parts)
