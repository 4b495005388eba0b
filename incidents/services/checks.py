"""Checks every service makes of its input before anything is written: a refusal is a
`ValidationError` naming the field, never a half-written change."""

from __future__ import annotations

import unicodedata
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta

from django.core.exceptions import ValidationError
from django.utils import timezone

from .. import rules
from ..models import Component


class Conflict(ValidationError):
    """A well-formed change that the object's current state refuses: an update to a
    resolved incident, a transition a maintenance cannot make from where it is, a
    resolve that would leave components down unconfirmed. A ValidationError (forms show
    it on its field), and the API's 409 rather than its 400: the request was not wrong,
    the moment was."""


# How far into the future an update may be dated (clock skew between operators' machines).
FUTURE_TOLERANCE = timedelta(minutes=5)


def aware(value: datetime | None, field: str, *, now: datetime, default: datetime | None = None) -> datetime:
    if value is None:
        if default is None:
            raise ValidationError({field: "This field is required."})
        return default
    if not isinstance(value, datetime):
        raise ValidationError({field: "Enter a date and time."})
    if timezone.is_naive(value):
        raise ValidationError(
            {field: "Give a time zone (for example 2021-01-29T17:37:00+08:00); naive times are refused."}
        )
    if not EARLIEST <= value < LATEST:
        raise ValidationError({field: "Give a time between the years 2000 and 2099."})
    if value > now + FUTURE_TOLERANCE:
        raise ValidationError({field: "This time is in the future."})
    return value


# The dates the page accepts: anything outside is a typo or an attack (year 1 or 9999
# overflowed into a 500 once the time zone was applied, issue #12).
EARLIEST = datetime(2000, 1, 1, tzinfo=UTC)
LATEST = datetime(2100, 1, 1, tzinfo=UTC)
# A reminder at most a year ahead (the column is a 32-bit integer).
MAX_MINUTES = 366 * 24 * 60


def minutes(value: int | None, field: str) -> int | None:
    if value is not None and not 0 <= value <= MAX_MINUTES:
        raise ValidationError({field: f"Between 0 and {MAX_MINUTES} minutes (a year)."})
    return value


def text(value: str | None, field: str, *, required: bool = True, max_length: int | None = None) -> str:
    """Free text (an update's body): anything but NUL, which no database stores as text."""
    value = (value or "").strip()
    if "\x00" in value:
        raise ValidationError({field: "The NUL character (\\u0000) is not allowed."})
    if required and not value:
        raise ValidationError({field: "This field may not be blank."})
    if max_length and len(value) > max_length:
        raise ValidationError({field: f"At most {max_length} characters (it has {len(value)})."})
    return value


# Control and format characters, line and paragraph separators.
NAME_REFUSED_CATEGORIES = ("Cc", "Cf", "Zl", "Zp")


def name(value: str | None, field: str, *, required: bool = True, max_length: int | None = None) -> str:
    """One line of text that ends up in mail subjects, feed titles and URLs (a name): no
    control character at all. CR and LF would split a mail header (issue #12: an incident
    named "a\\r\\nBcc: …" made every email about it fail, on every retry)."""
    value = text(value, field, required=required, max_length=max_length)
    bad = sorted({c for c in value if unicodedata.category(c) in NAME_REFUSED_CATEGORIES})
    if bad:
        shown = ", ".join(f"U+{ord(c):04X}" for c in bad)
        raise ValidationError({field: f"One line of text, without control characters ({shown} found)."})
    return value


def _refused_class(categories: tuple[str, ...]) -> str:
    """A regular-expression character class body of every code point in `categories`."""
    # The Basic Multilingual Plane only: a schema's pattern is an ECMAScript regular
    # expression, which has no escape for the code points above it without its u flag.
    # (The few format characters there, tags and the like, are still refused by `name`.)
    points = [c for c in range(0x10000) if unicodedata.category(chr(c)) in categories]
    ranges: list[tuple[int, int]] = []
    for c in points:
        if ranges and c == ranges[-1][1] + 1:
            ranges[-1] = (ranges[-1][0], c)
        else:
            ranges.append((c, c))

    def escaped(c: int) -> str:
        return f"\\u{c:04x}"

    return "".join(escaped(a) if a == b else f"{escaped(a)}-{escaped(b)}" for a, b in ranges)


# What `name` and `text` take, as patterns for the API schema (leading and trailing
# whitespace is stripped before the check).
_NAME_REFUSED = _refused_class(NAME_REFUSED_CATEGORIES)
NAME_PATTERN = rf"^\s*[^{_NAME_REFUSED}\s](?:[^{_NAME_REFUSED}]*[^{_NAME_REFUSED}\s])?\s*$"
TEXT_PATTERN = r"^\s*[^\s\x00][^\x00]*$"
BLANKABLE_TEXT_PATTERN = r"^[^\x00]*$"


def component_statuses(components: Mapping[Component, str] | None) -> dict[Component, str]:
    components = dict(components or {})
    errors = {}
    for component, new_status in components.items():
        if new_status not in rules.COMPONENT_STATUSES:
            errors[component.public_id] = (
                f"'{new_status}' is not a component status; use one of {', '.join(rules.COMPONENT_STATUSES)}."
            )
    if errors:
        raise ValidationError({"components": [f"{k}: {v}" for k, v in errors.items()]})
    return components


def trading_modes(modes: Mapping[Component, str] | None, *, field: str = "trading_modes") -> dict[Component, str]:
    """`{component: mode}`: each a mode (else 400), each component a trading product
    (else 409: a valid request that the component, as it is set up, refuses)."""
    modes = dict(modes or {})
    invalid, refused = [], []
    for component, mode in modes.items():
        # A map of several says which one.
        which = f"{component.public_id}: " if field == "trading_modes" else ""
        if mode not in rules.TRADING_MODES:
            invalid.append(f"{which}'{mode}' is not a trading mode; use one of {', '.join(rules.TRADING_MODES)}.")
        elif not component.trading:
            refused.append(f"{which}{component.name} is not a trading product: it has no trading mode.")
    if invalid or refused:
        raise (ValidationError if invalid else Conflict)({field: invalid + refused})
    return modes


def impact(value: str) -> str:
    if value and value not in rules.IMPACTS:
        raise ValidationError(
            {"impact_override": f"'{value}' is not an impact; use one of {', '.join(rules.IMPACTS)}."}
        )
    return value
