"""The schema is the contract (issue #12): schemathesis, the real client of an OpenAPI
schema, generates requests for every operation of /api/schema/ (valid ones and broken
ones) against a production web process (deploy/web) on this run's database, with a write
token, every check on (schemathesis 4's default; tests/api/schemathesis.toml names the
one exception), a fixed seed and a bounded number of examples. It passes only with
0 server errors and 0 answers the schema does not describe."""

import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import pytest
from django.utils import timezone

from incidents import services
from incidents.models import Component
from incidents.publish import site

from ..servers import web_process

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.live]

ST = str(Path(sys.executable).with_name("st"))
CONFIG = Path(__file__).with_name("schemathesis.toml")
EXAMPLES = 15
SEED = 20210129


def test_schemathesis_finds_no_server_error_and_no_undocumented_answer(demo, operator, tmp_path):
    site.refresh()
    token = services.api_token_create(user=operator, name="schemathesis", scope="write")[1]
    # Real ids for the operations on one object, so that their requests reach the logic
    # behind the lookup: a component, an open incident, a scheduled maintenance, a metric.
    # (Subscribers get theirs from the stateful phase, which creates and deletes them: a
    # fixed id there would stand in for the one just created.)
    system = services.Actor.system()
    first = Component.objects.filter(is_hidden=False).first()
    component = first.public_id
    incident = services.incident_open(
        actor=system,
        name="Schemathesis incident",
        body="Opened for the run.",
        components={first: "degraded_performance"},
    ).public_id
    now = timezone.now()
    maintenance = services.maintenance_schedule(
        actor=system,
        name="Schemathesis maintenance",
        body="Scheduled for the run.",
        scheduled_for=now + timedelta(days=1),
        scheduled_until=now + timedelta(days=1, hours=1),
        components=[first],
    ).public_id
    metric = services.metric_save(actor=system, name="Schemathesis metric", query="up", component=first).public_id
    config = tmp_path / "schemathesis.toml"
    config.write_text(
        CONFIG.read_text()
        + "\n"
        + "\n".join(
            f'[[operations]]\ninclude-path-regex = "{regex}"\nparameters = {{ "public_id" = "{value}" }}\n'
            for regex, value in (
                ("^/api/v1/components/", component),
                ("^/api/v2/components/", component),
                ("^/api/v1/incidents/", incident),
                ("^/api/v2/incidents/", incident),
                ("^/api/v1/maintenances/", maintenance),
                ("^/api/v2/metrics/", metric),
            )
        )
    )
    # Rate limits far above what a run sends: the requests reach the logic behind them.
    with web_process(WEBHOOK_ALLOW_LOOPBACK="0", API_WRITE_RATE="100000/min", API_READ_RATE="100000/min") as base:
        run = subprocess.run(
            [
                ST,
                "--config-file",
                str(config),
                "run",
                f"{base}/api/schema/?format=json",
                "--seed",
                str(SEED),
                "--max-examples",
                str(EXAMPLES),
                "--header",
                f"Authorization: Bearer {token}",
                "--request-timeout",
                "10",
                "--workers",
                "1",
                "--generation-deterministic",  # no example database: the seed alone
                "--no-color",
                "--report",
                "junit",
                "--report-dir",
                str(tmp_path),
            ],
            capture_output=True,
            text=True,
            timeout=240,
            cwd=tmp_path,  # its own cache (.schemathesis/) goes there, not into the checkout
        )
    print(run.stdout[-6000:])
    assert run.returncode == 0, run.stdout[-12000:] + run.stderr[-3000:]
