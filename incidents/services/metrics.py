"""Public system metrics: the Prometheus queries operators publish, and their sampling.

`metric_save` / `metric_delete` change what is published (a public change: the page's
layout shows the charts). `metrics_sample` (Celery beat, every METRICS_SAMPLE_SECONDS)
asks Prometheus each published query once, at the start of the current interval, and
stores the number; after commit the snapshot is rebuilt and the hubs told. The charts are
part of the snapshot, so a reader's request costs what any other published read does. The
page never queries Prometheus: if it does not answer, nothing is stored, the chart keeps
its last data and shows the gap, and the admin shows what went wrong.
"""

from __future__ import annotations

import contextlib
import json
import logging
import math
import urllib.error
import urllib.parse
import urllib.request
from datetime import datetime, timedelta

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from ..models import Component, Metric, MetricBucket, MetricPoint, PublicEvent
from ..publish import hub, site
from ..wire.metrics import BUCKET_WIDTHS, PERIODS, bucket_start
from . import audit, checks
from . import translations as localized
from .change import Actor, public_change
from .translations import Translations

logger = logging.getLogger(__name__)

METRIC_FIELDS = ("name", "component", "query", "unit", "scale", "decimals", "position", "is_published")
# Samples are kept for the last hour's chart (and a day of slack); buckets for the chart
# they are drawn in (and a day of slack).
KEEP_POINTS = timedelta(days=2)


def bucket_keep(width: int) -> timedelta:
    return next(p.span for p in PERIODS if int(p.bucket.total_seconds()) == width) + timedelta(days=1)


UNSET_ERROR = "PROMETHEUS_URL is not set: nothing is sampled."


class PrometheusError(Exception):
    """Prometheus did not answer one number: unreachable, slow, an error, or a query that
    answers no series or several."""


def metric_save(
    *, actor: Actor, metric: Metric | None = None, translations: Translations | None = None, **fields
) -> Metric:
    """Create or change a public metric. After commit: snapshot rebuilt (the charts appear
    under their component), change pushed."""
    unknown = set(fields) - set(METRIC_FIELDS)
    if unknown:
        raise TypeError(f"unknown metric fields: {sorted(unknown)}")
    if "name" in fields:
        fields["name"] = checks.name(fields["name"], "name", max_length=120)
    if "unit" in fields:
        fields["unit"] = checks.name(fields["unit"], "unit", required=False, max_length=16)
    if "query" in fields:
        fields["query"] = checks.text(fields["query"], "query", max_length=2000)
    if "scale" in fields and not (isinstance(fields["scale"], int | float) and math.isfinite(fields["scale"])):
        raise ValidationError({"scale": "Give a finite number."})
    if "decimals" in fields and not (isinstance(fields["decimals"], int) and 0 <= fields["decimals"] <= 6):
        raise ValidationError({"decimals": "Give a whole number from 0 to 6."})
    if fields.get("component") is not None and not isinstance(fields["component"], Component):
        raise ValidationError({"component": "Choose a component."})
    translated = localized.check(translations, {"name": 120})
    with public_change() as change:
        metric = metric or Metric()
        creating = metric.pk is None
        watched = [*(f for f in METRIC_FIELDS if f in fields), *localized.columns("name")]
        before = dict.fromkeys(watched) if creating else audit.fields_of(metric, watched)
        for name, value in fields.items():
            setattr(metric, name, value)
        localized.apply(metric, translated)
        metric.full_clean()
        metric.save()
        audit.record(
            actor, "metric.create" if creating else "metric.edit", metric, changes=audit.changed(before, metric)
        )
        change.emit(
            PublicEvent.Kind.PAGE,
            "metric_saved",
            {"metric": {"id": metric.public_id, "name": metric.name, "published": metric.is_published}},
        )
    return metric


def metric_delete(*, actor: Actor, metric: Metric) -> None:
    """Stop publishing a metric and remove its samples."""
    with public_change() as change:
        audit.record(actor, "metric.delete", metric, label=metric.name)
        change.emit(PublicEvent.Kind.PAGE, "metric_deleted", {"metric": {"id": metric.public_id}})
        metric.delete()


def _add_to_buckets(metric: Metric, changes: dict[tuple[int, datetime], tuple[float, int]]) -> None:
    """Add (sum, count) to each (width, start) bucket of `metric`, creating the missing
    (one read, one bulk update, one bulk insert, however many buckets)."""
    if not changes:
        return
    earliest = min(at for _, at in changes)
    existing = {
        (b.width, b.at): b
        # Locked: two samplers at once (a late beat tick) must not both add to a stale sum.
        for b in MetricBucket.objects.select_for_update().filter(metric=metric, at__gte=earliest)
        if (b.width, b.at) in changes
    }
    for key, bucket in existing.items():
        total, count = changes[key]
        bucket.total += total
        bucket.count += count
    MetricBucket.objects.bulk_update(list(existing.values()), ["total", "count"], batch_size=1000)
    MetricBucket.objects.bulk_create(
        [
            MetricBucket(metric=metric, width=width, at=at, total=total, count=count)
            for (width, at), (total, count) in changes.items()
            if (width, at) not in existing
        ],
        batch_size=2000,
    )


def _record(metric: Metric, at: datetime, value: float) -> None:
    """Store one sample and add it to its buckets (a second sample of the same interval
    replaces the first, in the buckets too)."""
    old = MetricPoint.objects.filter(metric=metric, at=at).first()
    if old is None:
        MetricPoint.objects.create(metric=metric, at=at, value=value)
        delta = (value, 1)
    else:
        MetricPoint.objects.filter(pk=old.pk).update(value=value)
        delta = (value - old.value, 0)
    _add_to_buckets(metric, {(width, bucket_start(at, width)): delta for width in BUCKET_WIDTHS})


def metric_history_add(*, metric: Metric, points: list[tuple[datetime, float]]) -> int:
    """Store samples a metric had before it was published here (the demo's month; history
    kept elsewhere), in its buckets. An interval already sampled keeps its sample. Shown
    from the next rebuild (the caller's public change, the next sample, the refresh)."""
    for at, value in points:
        if timezone.is_naive(at) or not math.isfinite(value):
            raise ValidationError({"points": "Give aware times and finite numbers."})
    with transaction.atomic():
        taken = set(MetricPoint.objects.filter(metric=metric).values_list("at", flat=True))
        new = sorted({at: value for at, value in points if at not in taken}.items())
        changes: dict[tuple[int, datetime], tuple[float, int]] = {}
        now = timezone.now()
        for at, value in new:
            for width in BUCKET_WIDTHS:
                if at < now - bucket_keep(width):
                    continue
                key = (width, bucket_start(at, width))
                total, count = changes.get(key, (0.0, 0))
                changes[key] = (total + value, count + 1)
        _add_to_buckets(metric, changes)
        recent = [MetricPoint(metric=metric, at=at, value=value) for at, value in new if at >= now - KEEP_POINTS]
        MetricPoint.objects.bulk_create(recent, batch_size=2000)
        if new and (metric.first_sampled_at is None or new[0][0] < metric.first_sampled_at):
            metric.first_sampled_at = new[0][0]
            Metric.objects.filter(pk=metric.pk).update(first_sampled_at=new[0][0])
        if new and (metric.last_sampled_at is None or new[-1][0] > metric.last_sampled_at):
            metric.last_sampled_at, metric.last_value = new[-1]
            Metric.objects.filter(pk=metric.pk).update(last_sampled_at=new[-1][0], last_value=new[-1][1])
    return len(new)


def prometheus_value(query: str, at: datetime, *, base_url: str | None = None, timeout: float | None = None) -> float:
    """The one number an instant query answers at `at` (Prometheus' HTTP API)."""
    base = (base_url or settings.PROMETHEUS_URL).rstrip("/")
    if not base:
        raise PrometheusError(UNSET_ERROR)
    url = f"{base}/api/v1/query?" + urllib.parse.urlencode({"query": query, "time": f"{at.timestamp():.3f}"})
    try:
        with urllib.request.urlopen(url, timeout=timeout or settings.METRICS_TIMEOUT) as response:  # noqa: S310 - the operator's URL
            answer = json.load(response)
    except urllib.error.HTTPError as exc:
        detail = ""
        with contextlib.suppress(Exception):  # only for the message
            detail = json.load(exc).get("error", "")
        raise PrometheusError(f"Prometheus answered {exc.code}: {detail}".strip(": ")) from exc
    except (OSError, ValueError) as exc:
        raise PrometheusError(f"Prometheus could not be read: {exc}") from exc
    data = answer.get("data") or {}
    kind, result = data.get("resultType"), data.get("result")
    if kind == "scalar":
        raw = result[1]
    elif kind == "vector" and isinstance(result, list) and len(result) == 1:
        raw = result[0]["value"][1]
    elif kind == "vector":
        raise PrometheusError(
            f"The query answered {len(result or [])} series; publish one that answers one number "
            "(wrap it in sum(), max() or histogram_quantile())."
        )
    else:
        raise PrometheusError(f"The query answered a {kind}, not a number.")
    value = float(raw)
    if not math.isfinite(value):
        raise PrometheusError(f"The query answered {raw}.")
    return value


def metrics_sample(*, now: datetime | None = None) -> dict[str, int]:
    """Sample every published metric once for the interval `now` is in; idempotent (a
    second run in the same interval replaces the number). Returns how many were sampled
    and how many failed. After commit, when something was stored: the snapshot rebuilt, the
    hubs told."""
    now = now or timezone.now()
    at = bucket_start(now, settings.METRICS_SAMPLE_SECONDS)  # the interval's start
    sampled = failed = 0
    published = list(Metric.objects.filter(is_published=True))
    if published and not settings.PROMETHEUS_URL:
        # No Prometheus at all (`make run`): the admin says so; nothing is asked.
        Metric.objects.filter(pk__in=[m.pk for m in published]).exclude(last_error=UNSET_ERROR).update(
            last_error=UNSET_ERROR
        )
        return {"sampled": 0, "failed": len(published)}
    for metric in published:
        try:
            value = prometheus_value(metric.query, at) * metric.scale
        except PrometheusError as exc:
            failed += 1
            Metric.objects.filter(pk=metric.pk).update(last_error=str(exc)[:300])
            logger.warning("metric %s not sampled: %s", metric.public_id, exc)
            continue
        sampled += 1
        with transaction.atomic():
            _record(metric, at, value)
            Metric.objects.filter(pk=metric.pk).update(last_sampled_at=at, last_value=value, last_error="")
            Metric.objects.filter(pk=metric.pk, first_sampled_at__isnull=True).update(first_sampled_at=at)
    MetricPoint.objects.filter(at__lt=now - KEEP_POINTS).delete()
    for width in BUCKET_WIDTHS:
        MetricBucket.objects.filter(width=width, at__lt=now - bucket_keep(width)).delete()
    if sampled:
        # New numbers are shown at once. With none (Prometheus away), the periodic refresh
        # (beat, every minute) moves the charts on and draws the gap: no rebuild more.
        transaction.on_commit(_after_sampling)
    return {"sampled": sampled, "failed": failed}


def _after_sampling() -> None:
    """The charts are drawn from the snapshot: rebuild it and publish this node's files,
    then tell the hubs (open pages get the new charts; other nodes publish theirs)."""
    try:
        site.refresh()
    except Exception:
        logger.exception("rebuilding the snapshot after sampling failed; the periodic refresh retries")
    hub.publish()
