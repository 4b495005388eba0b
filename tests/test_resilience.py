"""When Redis freezes mid-incident, the page keeps answering and operators keep posting."""

import os
import signal
import time

import httpx
import pytest

from incidents import services
from incidents.models import Component
from incidents.publish import site

from .factories import UserFactory
from .private_services import private_redis
from .servers import daphne

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.live]


def timed(fn, *args, **kwargs):
    started = time.monotonic()
    result = fn(*args, **kwargs)
    return result, time.monotonic() - started


def test_frozen_redis_public_reads_and_operator_writes_still_succeed(demo, operator):
    site.refresh()
    token = services.api_token_create(user=operator, name="ops", scope="write")[1]
    UserFactory(username="oncall", is_superuser=True, password="correct horse battery staple")
    market = Component.objects.get(name="Market data")
    auth = {"Authorization": f"Bearer {token}"}

    with private_redis() as (redis_process, redis_url), daphne(REDIS_URL=redis_url, LIVE_POLL_SECONDS="1") as base:
        http = httpx.Client(base_url=base, timeout=10)
        assert http.get("/api/v2/summary.json").status_code == 200
        assert http.get("/").status_code == 200

        os.kill(redis_process.pid, signal.SIGSTOP)  # Redis now accepts connections and never answers

        for path in ("/", "/api/v2/summary.json", "/api/v5/system/status", "/history"):
            response, took = timed(http.get, path)
            assert response.status_code == 200, path
            assert took < 2.0, f"{path} took {took:.2f} s with Redis frozen"

        response, took = timed(
            http.patch, f"/api/v1/components/{market.public_id}", json={"status": "major_outage"}, headers=auth
        )
        assert response.status_code == 200, response.text
        assert took < 5.0, f"the write took {took:.2f} s with Redis frozen"
        assert http.get("/api/v2/status.json").json()["status"]["indicator"] == "critical"
        assert "Major System Outage" in http.get("/").text

        # An operator can still log in to the admin (sessions live in the database).
        login_page = http.get("/admin/login/")
        csrf = http.cookies["csrftoken"]
        logged_in = http.post(
            "/admin/login/?next=/admin/",
            data={"username": "oncall", "password": "correct horse battery staple", "csrfmiddlewaretoken": csrf},
            headers={"Referer": base + "/admin/login/"},
        )
        assert login_page.status_code == 200
        assert logged_in.status_code == 302 and logged_in.headers["location"] == "/admin/"
        assert http.get("/admin/").status_code == 200

        os.kill(redis_process.pid, signal.SIGCONT)
        response = http.patch(f"/api/v1/components/{market.public_id}", json={"status": "operational"}, headers=auth)
        assert response.status_code == 200
