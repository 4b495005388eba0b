"""Issue #15, public metrics, with the real thing: Debian's Prometheus scraping a small
exporter every second, on loopback on free ports. The page never asks Prometheus: the
sampler (beat's task, called here as beat would) stores each number, and the chart, the
JSON and the page are published from the snapshot.

1. A latency metric under its component: sampled, shown on `/` with its latest value and
   its last hour, and in `/api/v2/metrics/<id>.json`; in Chromium, a new sample reaches an
   open page live.
2. Prometheus stops: nothing is stored, the admin's row says why, and the charts keep their
   last data with the gap marked (drawn, named, and listed in the JSON).
"""

from __future__ import annotations

import contextlib
import shutil
import tempfile
import time
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from django.utils import timezone

from incidents import services
from incidents.models import AuditEntry, Metric, MetricPoint
from incidents.publish import site, snapshot
from incidents.services import Actor

from .browser import console_errors
from .monitoring import Exporter, prometheus_server
from .private_services import free_port
from .servers import daphne

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.live, pytest.mark.usefixtures("roles")]


@contextlib.contextmanager
def prometheus(exporter_port: int):
    workdir = Path(tempfile.mkdtemp(prefix="test-metrics-"))
    (workdir / "prometheus.yml").write_text(
        f"""\
global: {{scrape_interval: 1s, evaluation_interval: 1s}}
scrape_configs:
  - job_name: exchange
    static_configs: [{{targets: ["127.0.0.1:{exporter_port}"]}}]
"""
    )
    server = prometheus_server(workdir, free_port())
    server.up()
    try:
        yield server
    finally:
        server.down()
        shutil.rmtree(workdir, ignore_errors=True)


def wait_until(condition, timeout: float = 30, every: float = 0.2):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(every)
    return False


def test_a_latency_chart_shows_its_last_hour_and_the_gap_while_prometheus_is_down(client, operator, settings, browser):
    from playwright.sync_api import expect

    settings.METRICS_SAMPLE_SECONDS = 1  # beat's interval, shortened: a sample a second
    actor = Actor.of(operator)
    api = services.component_create(actor=actor, name="REST API")
    exporter = Exporter(api_latency_p99_seconds=0.12)
    try:
        with prometheus(exporter.port) as server:
            settings.PROMETHEUS_URL = server.url
            metric = services.metric_save(
                actor=actor,
                name="REST API p99 latency",
                component=api,
                query="max(api_latency_p99_seconds)",
                unit="ms",
                scale=1000,
                translations={"zh-hans": {"name": "REST API p99 延迟"}},
            )
            assert AuditEntry.objects.filter(action="metric.create", username="responder").exists()
            # Until Prometheus has scraped once, the query answers no series: nothing stored.
            assert wait_until(lambda: services.metrics_sample()["sampled"] == 1)
            exporter.values["api_latency_p99_seconds"] = 0.45
            assert wait_until(lambda: services.metrics_sample()["sampled"] == 1 and latest(metric) == 450.0)

            # On the page, under its component: the latest value and the charts, with the
            # hour among them. From the published snapshot, not from Prometheus.
            page = client.get("/").content.decode()
            figure = page[page.index(f'data-metric="{metric.public_id}"') :]
            figure = figure[: figure.index("</figure>")]
            assert "REST API p99 latency" in figure and "450 ms" in figure
            for period in ("hour", "day", "week", "month"):
                assert f'data-period="{period}"' in figure
            assert 'role="img"' in figure and "<desc" in figure and "Latest: 450 ms." in figure
            assert "chart__gap" not in figure  # measured all along
            chinese = client.get("/zh-hans/").content.decode()
            assert "REST API p99 延迟" in chinese

            document = client.get(f"/api/v2/metrics/{metric.public_id}.json").json()
            assert document["metric"]["last_value"] == 450.0 and document["metric"]["unit"] == "ms"
            hour = document["periods"]["hour"]
            assert hour["interval_seconds"] == 60 and len(hour["data"]) == 60
            assert 120 <= hour["summary"]["last"] <= 450 and hour["summary"]["max"] <= 450
            assert hour["gaps"] == []
            listed = client.get("/api/v2/metrics.json").json()["metrics"]
            assert [m["id"] for m in listed] == [metric.public_id]
            # Integrators' read of the whole page is what Statuspage clients expect: no new key.
            assert set(client.get("/api/v2/summary.json").json()) == {
                "page",
                "components",
                "incidents",
                "scheduled_maintenances",
                "status",
            }

            # In Chromium, live: a new sample reaches an open page without a reload.
            with daphne() as base:
                tab = browser.new_page(viewport={"width": 390, "height": 844})
                errors = console_errors(tab)
                tab.goto(base + "/")
                expect(tab.locator("[data-live-indicator]")).to_have_attribute("data-state", "live", timeout=5000)
                shown = tab.locator(f'[data-metric="{metric.public_id}"]')
                expect(shown.locator(".metric__latest")).to_have_text("450 ms")
                chart = shown.locator('svg[data-period="day"]')
                box = chart.bounding_box()
                assert box is not None and box["width"] > 300 and box["height"] > 60
                assert chart.locator(".chart__line").count() == 1
                exporter.values["api_latency_p99_seconds"] = 0.9
                assert wait_until(lambda: services.metrics_sample()["sampled"] == 1 and latest(metric) == 900.0)
                expect(shown.locator(".metric__latest")).to_have_text("900 ms", timeout=10000)
                # Week and month a click away, no script needed.
                shown.locator("summary").click()
                expect(shown.locator('svg[data-period="month"]')).to_be_visible()
                assert errors == []

            # A query Prometheus refuses, and one that answers two series: not numbers.
            exporter.values['ws_lag_seconds{channel="tickers"}'] = 0.04
            exporter.values['ws_lag_seconds{channel="trades"}'] = 0.05
            bad = services.metric_save(actor=actor, name="Broken", query="max(", is_published=True)
            two = services.metric_save(actor=actor, name="Lag", query="ws_lag_seconds", is_published=True)
            assert wait_until(
                lambda: (
                    services.metrics_sample() == {"sampled": 1, "failed": 2}
                    and "answered 2 series" in Metric.objects.get(pk=two.pk).last_error
                )  # once both are scraped
            )
            assert Metric.objects.get(pk=bad.pk).last_error.startswith("Prometheus answered 400: ")
            for other in (bad, two):
                services.metric_delete(actor=actor, metric=other)

            last_sample = MetricPoint.objects.filter(metric=metric).order_by("at").last().at
            server.down()  # Prometheus goes away
            points = MetricPoint.objects.count()
            later = timezone.now() + timedelta(seconds=70)
            assert services.metrics_sample(now=later) == {"sampled": 0, "failed": 1}
            assert MetricPoint.objects.count() == points
            assert "could not be read" in Metric.objects.get(pk=metric.pk).last_error
    finally:
        exporter.close()

    # Two minutes on, still down: the charts show the last data and the gap since.
    now = timezone.now() + timedelta(minutes=2, seconds=10)
    site.publish(snapshot.rebuild(now=now))
    document = client.get(f"/api/v2/metrics/{metric.public_id}.json").json()
    hour = document["periods"]["hour"]
    assert hour["summary"]["count"] >= 1 and hour["summary"]["max"] <= 900  # the last data
    assert len(hour["gaps"]) == 1
    gap = hour["gaps"][0]
    measured_until = last_sample.replace(second=0, microsecond=0) + timedelta(minutes=1)
    assert datetime.fromisoformat(gap["start"]) == measured_until
    assert datetime.fromisoformat(gap["end"]) > now  # up to the bucket of now
    page = client.get("/").content.decode()
    figure = page[page.index(f'data-metric="{metric.public_id}"') :]
    figure = figure[: figure.index("</figure>")]
    assert 'class="chart__gap"' in figure and "No data from" in figure
    assert "Latest: 900 ms." in figure  # the last number, kept


def latest(metric: Metric) -> float | None:
    point = MetricPoint.objects.filter(metric=metric).order_by("-at").first()
    return point.value if point else None
