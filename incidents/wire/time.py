"""Times as readers and clients see them: the page's zone, ISO 8601, Unix milliseconds.

Storage is UTC; the page shows its own zone (`PAGE_TIME_ZONE`, "HKT" by default), and
every text that names a time names the zone with it.
"""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from django.conf import settings
from django.utils import timezone

# How a time reads in mails, feeds, notes and the admin: "2021-01-29 17:37 HKT".
TEXT_FORMAT = "%Y-%m-%d %H:%M"


def page_tz() -> ZoneInfo:
    return ZoneInfo(settings.STATUS_PAGE["TIME_ZONE"])


def zone_label() -> str:
    """The short name of the page's zone ("HKT")."""
    return settings.STATUS_PAGE["TIME_ZONE_LABEL"]


def shown_tz() -> ZoneInfo:
    """The zone times are shown in: the page's, unless a reader chose another (the page
    is then rendered under `timezone.override`)."""
    current = timezone.get_current_timezone()
    return current if isinstance(current, ZoneInfo) else ZoneInfo(str(current))


def label_of(tz: ZoneInfo, moment: datetime | None = None) -> str:
    """The name a time in `tz` is shown with: the page's own label for its zone ("HKT"),
    else the zone's abbreviation at that moment ("CET", "UTC"; "+07" where it has none)."""
    if tz.key == settings.STATUS_PAGE["TIME_ZONE"]:
        return zone_label()
    return (moment or timezone.now()).astimezone(tz).tzname() or tz.key


def iso(moment: datetime | None) -> str | None:
    """ISO 8601 with milliseconds in the page's time zone: 2021-01-29T17:37:00.000+08:00."""
    if moment is None:
        return None
    return moment.astimezone(page_tz()).isoformat(timespec="milliseconds")


def unix_ms(moment: datetime | None) -> str:
    """OKX times: Unix milliseconds as a string, "" for none."""
    return "" if moment is None else str(int(moment.timestamp() * 1000))


def now_ms() -> str:
    """OKX's `ts` of a push: now, in Unix milliseconds."""
    return unix_ms(timezone.now())


def in_page_time(moment: datetime | None, fmt: str = TEXT_FORMAT, *, label: bool = True) -> str:
    """`2021-01-29 17:37 HKT`: a moment in the page's zone, with the zone named; "—" for none."""
    if moment is None:
        return "—"
    text = f"{moment.astimezone(page_tz()):{fmt}}"
    return f"{text} {zone_label()}" if label else text
