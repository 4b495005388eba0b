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


def _floor(at: datetime, step: timedelta) -> datetime:
    seconds = step.total_seconds()
    return datetime.fromtimestamp(math.floor(at.timestamp() / seconds) * seconds, tz=UTC)


def series(points: list[tuple[datetime, float]], period: Period, now: datetime) -> Series:
    """`points` (time, value), oldest first, bucketed for `period` up to `now`."""
    count = int(period.span / period.bucket)
    last = _floor(now, period.bucket)
    start = last - (count - 1) * period.bucket
    sums, counts = [0.0] * count, [0] * count
    step = period.bucket.total_seconds()
    for at, value in points:
        index = int((at - start).total_seconds() // step)
        if 0 <= index < count:
            sums[index] += value
            counts[index] += 1
    values = [s / n if n else None for s, n in zip(sums, counts, strict=True)]
    return Series(period, start, values, points[0][0] if points else None)


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


def metric_head(metric, last: tuple[datetime, float] | None) -> dict:
    """What names a metric, and its latest sample."""
    return {
        "id": metric.public_id,
        "name": metric.name,
        "unit": metric.unit,
        "decimals": metric.decimals,
        "component_id": metric.component.public_id if metric.component_id else None,
        "last_value": rounded(last[1], metric.decimals) if last else None,
        "last_sampled_at": iso(last[0]) if last else None,
    }


def periods_json(points: list[tuple[datetime, float]], now: datetime, decimals: int) -> dict:
    """Each period's buckets up to `now` (the same in every language)."""
    periods = {}
    for period in PERIODS:
        s = series(points, period, now)
        periods[period.key] = {
            "interval_seconds": int(period.bucket.total_seconds()),
            "start": iso(s.start),
            "end": iso(s.start + len(s.values) * period.bucket),
            "summary": summary(s, decimals),
            "gaps": [{"start": iso(a), "end": iso(b)} for a, b in s.gaps()],
            "data": [
                {"timestamp": int(at.timestamp()), "value": rounded(value, decimals)} for at, value in s.buckets()
            ],
        }
    return {"first_sample_at": iso(points[0][0]) if points else None, "periods": periods}


def series_of(prepared: dict, key: str) -> Series:
    """A period of `periods_json` back as a `Series` (to draw it)."""
    period = next(p for p in PERIODS if p.key == key)
    entry = prepared["periods"][key]
    first = prepared["first_sample_at"]
    return Series(
        period,
        datetime.fromisoformat(entry["start"]),
        [d["value"] for d in entry["data"]],
        datetime.fromisoformat(first) if first else None,
    )


def metric_json(head: dict, prepared: dict, page: dict) -> dict:
    """`/api/v2/metrics/<id>.json`: the metric and each period's buckets."""
    return {"page": page, "metric": head, **prepared}
