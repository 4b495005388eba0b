"""Public metrics as integrators read them: `/api/v2/metrics.json` and
`/api/v2/metrics/<id>.json` (our extension, in the shape of Statuspage's metric data:
`{"timestamp": <unix seconds>, "value": <number>}`), a value of null marking a gap.

Each chart period is a fixed number of buckets ending now; a bucket holds the mean of the
samples in it, or null when there were none (Prometheus down, a query with no answer)."""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from .time import iso


@dataclass(frozen=True)
class Period:
    key: str
    span: timedelta
    bucket: timedelta


PERIODS = (
    Period("hour", timedelta(hours=1), timedelta(minutes=1)),
    Period("day", timedelta(days=1), timedelta(minutes=5)),
    Period("week", timedelta(days=7), timedelta(hours=1)),
    Period("month", timedelta(days=30), timedelta(hours=6)),
)
LONGEST = max(p.span for p in PERIODS)
# How far back the samples themselves are read: the last hour's chart and its first bucket.
SAMPLES_SPAN = PERIODS[0].span + PERIODS[0].bucket


@dataclass(frozen=True)
class Series:
    period: Period
    start: datetime  # the first bucket's start
    values: list[float | None]  # one per bucket, oldest first
    first_sample: datetime | None  # the metric's oldest stored sample

    def buckets(self) -> Iterable[tuple[datetime, float | None]]:
        for i, value in enumerate(self.values):
            yield self.start + i * self.period.bucket, value

    @property
    def known(self) -> list[float]:
        return [v for v in self.values if v is not None]

    def gaps(self) -> list[tuple[datetime, datetime]]:
        """Runs of empty buckets after the metric's first sample: when it was not measured."""
        runs, begun = [], None
        for at, value in self.buckets():
            missing = value is None and self.first_sample is not None and at + self.period.bucket > self.first_sample
            if missing and begun is None:
                begun = at
            elif not missing and begun is not None:
                runs.append((begun, at))
                begun = None
        if begun is not None:
            runs.append((begun, self.start + len(self.values) * self.period.bucket))
        return runs


# The widths of the stored buckets (MetricBucket): every period but the hour, which is
# drawn from the samples themselves.
BUCKET_WIDTHS = tuple(int(p.bucket.total_seconds()) for p in PERIODS if p.key != "hour")
Cells = dict[datetime, tuple[float, int]]  # a bucket's start -> (sum, count) of its samples


def bucket_start(at: datetime, width: int) -> datetime:
    """The start of the `width`-second bucket `at` is in (UTC, aligned to the epoch)."""
    return datetime.fromtimestamp(math.floor(at.timestamp() / width) * width, tz=UTC)


def cells_of(points: Iterable[tuple[datetime, float]], width: int) -> Cells:
    """Samples summed into `width`-second buckets."""
    cells: Cells = {}
    for at, value in points:
        start = bucket_start(at, width)
        total, count = cells.get(start, (0.0, 0))
        cells[start] = (total + value, count + 1)
    return cells


def cells_by_period(samples: list[tuple[datetime, float]], buckets: dict[int, Cells]) -> dict[str, Cells]:
    """What each period's chart is drawn from: the last hour from the samples, the others
    from the stored buckets of their width."""
    return {
        p.key: cells_of(samples, 60) if p.key == "hour" else buckets.get(int(p.bucket.total_seconds()), {})
        for p in PERIODS
    }


def series(cells: Cells, period: Period, now: datetime, first_sample: datetime | None) -> Series:
    """The `period`'s buckets up to `now`, each the mean of its samples or None."""
    count = int(period.span / period.bucket)
    width = int(period.bucket.total_seconds())
    start = bucket_start(now, width) - (count - 1) * period.bucket
    values: list[float | None] = []
    for i in range(count):
        total, n = cells.get(start + i * period.bucket, (0.0, 0))
        values.append(total / n if n else None)
    return Series(period, start, values, first_sample)


def rounded(value: float | None, decimals: int) -> float | None:
    return None if value is None else round(value, decimals)


def summary(s: Series, decimals: int) -> dict:
    known = s.known
    return {
        "last": rounded(known[-1], decimals) if known else None,
        "mean": rounded(sum(known) / len(known), decimals) if known else None,
        "min": rounded(min(known), decimals) if known else None,
        "max": rounded(max(known), decimals) if known else None,
        "count": len(known),
    }


def metric_head(metric) -> dict:
    """What names a metric, and its latest sample."""
    return {
        "id": metric.public_id,
        "name": metric.name,
        "unit": metric.unit,
        "decimals": metric.decimals,
        "component_id": metric.component.public_id if metric.component_id else None,
        "last_value": rounded(metric.last_value, metric.decimals),
        "last_sampled_at": iso(metric.last_sampled_at),
    }


def periods_json(cells: dict[str, Cells], now: datetime, decimals: int, first_sample: datetime | None) -> dict:
    """Each period's buckets up to `now`, as the snapshot keeps them (compact: the first
    bucket's start and the values; `metric_json` spells them out for the API)."""
    periods = {}
    for period in PERIODS:
        s = series(cells.get(period.key, {}), period, now, first_sample)
        periods[period.key] = {"start": iso(s.start), "values": [rounded(v, decimals) for v in s.values]}
    return {"first_sample_at": iso(first_sample), "periods": periods}


def series_of(prepared: dict, key: str) -> Series:
    """A period of `periods_json` back as a `Series` (to draw it, or spell it out)."""
    period = next(p for p in PERIODS if p.key == key)
    entry = prepared["periods"][key]
    first = prepared["first_sample_at"]
    return Series(
        period,
        datetime.fromisoformat(entry["start"]),
        list(entry["values"]),
        datetime.fromisoformat(first) if first else None,
    )


def periods_spelled(prepared: dict, decimals: int) -> dict:
    """Each period of `periods_json` as the API gives it: its buckets with their times,
    a summary, and the gaps."""
    periods = {}
    for period in PERIODS:
        s = series_of(prepared, period.key)
        periods[period.key] = {
            "interval_seconds": int(period.bucket.total_seconds()),
            "start": iso(s.start),
            "end": iso(s.start + len(s.values) * period.bucket),
            "summary": summary(s, decimals),
            "gaps": [{"start": iso(a), "end": iso(b)} for a, b in s.gaps()],
            "data": [{"timestamp": int(at.timestamp()), "value": value} for at, value in s.buckets()],
        }
    return periods


def metric_json(head: dict, prepared: dict, spelled: dict | None = None) -> dict:
    """`/api/v2/metrics/<id>.json`: the metric and each period's buckets. No `page` block:
    the document changes when its buckets do, not with every change of the page."""
    periods = spelled if spelled is not None else periods_spelled(prepared, head["decimals"])
    return {"metric": head, "first_sample_at": prepared["first_sample_at"], "periods": periods}
