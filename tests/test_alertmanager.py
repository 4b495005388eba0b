"""Issue #15 with the real thing: Debian's Prometheus and Alertmanager, started here on
loopback on free ports, a small exporter whose metrics this test sets, and the status page
(daphne on this run's database) as Alertmanager's webhook receiver, authenticated by a
token of the integrations scope. Alertmanager's shortest sane intervals: scrape and
evaluation every second, group_wait and group_interval of a second.

1. API latency crosses its threshold: a draft incident on the REST API (no rule publishes
   it), in the seconds written to bench/results/alerts.md.
2. Order errors cross theirs: a rule publishes the incident at once, and the public
   summary lists it.
3. Both back under: each group proposes recovery; nothing is resolved by itself.
"""

from __future__ import annotations

import contextlib
import tempfile
import time
from pathlib import Path

import httpx
import pytest

from incidents import services
from incidents.models import AlertGroup, AlertRule, AuditEntry, Component, Incident

from .monitoring import Exporter, prometheus_server
from .private_services import Server, free_port
from .servers import daphne

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.live]

RESULTS = Path(__file__).resolve().parents[1] / "bench" / "results" / "alerts.md"


RULES = """\
groups:
  - name: exchange
    rules:
      - alert: ApiLatencyHigh
        expr: api_latency_p99_seconds > 1
        labels: {severity: critical, component: rest-api}
        annotations:
          summary: REST API slow
          description: "The REST API's p99 latency is {{ $value }} s (over 1 s)."
      - alert: OrderErrorsHigh
        expr: order_error_ratio > 0.05
        labels: {severity: warning}
        annotations:
          summary: Orders failing
          description: "{{ $value }} of orders fail."
"""


@contextlib.contextmanager
def monitoring(receiver_url: str, token: str, exporter_port: int):
    """Alertmanager, then Prometheus, of this test's own; stopped afterwards."""
    workdir = Path(tempfile.mkdtemp(prefix="test-monitoring-"))
    am_port, prom_port = free_port(), free_port()
    (workdir / "alertmanager.yml").write_text(
        f"""\
route:
  receiver: status-page
  group_by: [alertname]
  group_wait: 1s
  group_interval: 1s
  repeat_interval: 1h
receivers:
  - name: status-page
    webhook_configs:
      - url: {receiver_url}
        send_resolved: true
        http_config:
          authorization:
            credentials: {token}
"""
    )
    (workdir / "rules.yml").write_text(RULES)
    (workdir / "prometheus.yml").write_text(
        f"""\
global: {{scrape_interval: 1s, evaluation_interval: 1s}}
rule_files: [{workdir / "rules.yml"}]
alerting:
  alertmanagers: [{{static_configs: [{{targets: ["127.0.0.1:{am_port}"]}}]}}]
scrape_configs:
  - job_name: exchange
    static_configs: [{{targets: ["127.0.0.1:{exporter_port}"]}}]
"""
    )
    alertmanager = Server(
        [
            "/usr/bin/prometheus-alertmanager",
            f"--config.file={workdir / 'alertmanager.yml'}",
            f"--storage.path={workdir / 'am-data'}",
            f"--web.listen-address=127.0.0.1:{am_port}",
            "--cluster.listen-address=",
        ],
        log=workdir / "alertmanager.log",
        port=am_port,
        url=f"http://127.0.0.1:{am_port}",
        what="alertmanager",
    )
    prometheus = prometheus_server(workdir, prom_port)
    alertmanager.up()
    try:
        prometheus.up()
        try:
            yield workdir
        finally:
            prometheus.down()
    finally:
        alertmanager.down()


def wait_until(condition, timeout: float = 60, every: float = 0.1):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = condition()
        if found:
            return found
        time.sleep(every)
    return None


def test_prometheus_alerts_open_a_draft_and_a_rule_publishes_another(demo, operator):
    api_component = Component.objects.get(name="REST API")
    spot = Component.objects.get(name="Spot trading")
    AlertRule.objects.create(
        name="Order errors", matchers='alertname="OrderErrorsHigh"', component=spot, auto_publish=True, position=1
    )
    AlertRule.objects.create(name="API latency", matchers='alertname=~"Api.*"', position=2)
    token = services.api_token_create(user=operator, name="alertmanager", scope="integrations")[1]
    exporter = Exporter(api_latency_p99_seconds=0.2, order_error_ratio=0.001)
    figures = []
    try:
        with (
            daphne() as base,
            monitoring(base + "/api/v1/integrations/alertmanager", token, exporter.port) as workdir,
        ):
            time.sleep(3)  # a few scrapes and evaluations under the thresholds
            assert not AlertGroup.objects.exists()
            incidents = Incident.objects.count()  # the demo's

            crossed = time.monotonic()
            exporter.values["api_latency_p99_seconds"] = 2.5
            draft = wait_until(lambda: AlertGroup.objects.filter(name="REST API slow").first())
            assert draft is not None, (workdir / "alertmanager.log").read_text()[-2000:]
            figures.append(("API latency over 1 s → draft incident on the REST API", time.monotonic() - crossed))
            assert draft.state == "draft" and draft.proposed == {api_component.public_id: "major_outage"}
            assert Incident.objects.count() == incidents  # a draft is not public

            crossed = time.monotonic()
            exporter.values["order_error_ratio"] = 0.2

            def on_the_page():
                summary = httpx.get(base + "/api/v2/summary.json").json()
                return [i for i in summary["incidents"] if i["name"] == "Orders failing"]

            assert wait_until(on_the_page), list(AlertGroup.objects.values("name", "state"))
            figures.append(
                ("order errors over 5 % → incident on /api/v2/summary.json (auto-publish)", time.monotonic() - crossed)
            )
            published = AlertGroup.objects.get(name="Orders failing")
            assert published.state == "published" and published.incident.status == "investigating"
            assert Component.objects.get(pk=spot.pk).status == "degraded_performance"

            back = time.monotonic()
            exporter.values.update(api_latency_p99_seconds=0.2, order_error_ratio=0.001)
            assert wait_until(
                lambda: AlertGroup.objects.filter(recovery_proposed_at__isnull=False).count() == 2, timeout=90
            ), (workdir / "alertmanager.log").read_text()[-2000:]
            figures.append(("both back under → recovery proposed for both", time.monotonic() - back))
    finally:
        exporter.close()

    # Proposed, not done: the published incident is still open until a responder resolves it.
    assert Incident.objects.get(name="Orders failing").status == "investigating"
    assert AlertGroup.objects.get(name="REST API slow").state == "cleared"
    # Every automatic change is the integration's, never a person's.
    automatic = AuditEntry.objects.filter(via="integration")
    assert automatic.exists() and not automatic.exclude(user_id=None).exists()
    assert AuditEntry.objects.filter(action="incident.open", via="integration").count() == 1

    RESULTS.write_text(
        "| Prometheus → Alertmanager → status page (1 s scrape, evaluation, group wait and interval) | seconds |\n"
        "|---|---|\n" + "".join(f"| {what} | {seconds:.1f} |\n" for what, seconds in figures)
    )
    print("\n".join(f"{what}: {seconds:.1f} s" for what, seconds in figures))
