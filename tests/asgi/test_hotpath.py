"""The ASGI hot path: prepared bytes from memory, no query, one render per change."""

import asyncio
import gzip

import httpx
import pytest
from asgiref.sync import sync_to_async
from django.conf import settings
from django.test.signals import template_rendered

from incidents import services
from incidents.models import Component
from incidents.publish import documents, site
from statuspage.asgi import application

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.asyncio]

HOT = [
    "/",
    "/api/v2/summary.json",
    "/api/v2/status.json",
    "/api/v2/components.json",
    "/api/v2/incidents.json",
    "/api/v2/incidents/unresolved.json",
    "/api/v2/scheduled-maintenances.json",
    "/api/v2/scheduled-maintenances/upcoming.json",
    "/api/v2/scheduled-maintenances/active.json",
    "/api/v5/system/status",
    "/api/v5/system/status?state=completed",
    "/history",
    "/api/v2/history.json",
]


@pytest.fixture
def hot_demo(demo):
    site.refresh()
    return demo


def client():
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=application), base_url="http://127.0.0.1")


@pytest.mark.parametrize("settings_poll", [60.0])
async def test_hot_paths_answer_from_memory_with_no_query(hot_demo, queries_in_all_threads, settings, settings_poll):
    settings.LIVE_POLL_SECONDS = settings_poll  # the hub stays quiet while we count
    async with client() as http:
        await http.get("/api/v2/status.json")  # the first request starts the process's hub
        await asyncio.sleep(0.2)
        with queries_in_all_threads() as queries:
            responses = [await http.get(path) for path in HOT for _ in range(5)]
    assert queries == []
    assert [r.status_code for r in responses] == [200] * len(HOT) * 5
    assert "All Systems Operational" in responses[0].text
    assert responses[5].json()["status"]["indicator"] == "none"


async def test_hot_path_bytes_equal_the_django_views(hot_demo):
    from django.test import AsyncClient

    django_client = AsyncClient()
    async with client() as http:
        for path in HOT:
            hot = await http.get(path, headers={"Accept-Encoding": "identity"})
            plain = await django_client.get(path)
            assert hot.content == plain.content, path
            assert hot.headers["etag"] == plain["ETag"]


async def test_hot_path_304_gzip_and_head(hot_demo):
    async with client() as http:
        first = await http.get("/api/v2/summary.json", headers={"Accept-Encoding": "gzip"})
        assert first.headers["content-encoding"] == "gzip"
        assert first.headers["cache-control"].startswith("public, max-age=5")
        raw = await http.get("/api/v2/summary.json", headers={"Accept-Encoding": "identity"})
        assert gzip.decompress(documents.local()["summary"].gzipped) == raw.content
        # Each encoding has its ETag (as nginx gives a `.gz` file its own).
        again = await http.get(
            "/api/v2/summary.json", headers={"If-None-Match": first.headers["etag"], "Accept-Encoding": "gzip"}
        )
        assert again.status_code == 304 and again.content == b""
        since = await http.get("/", headers={"If-Modified-Since": first.headers["last-modified"]})
        assert since.status_code == 304
        head = await http.head("/api/v2/status.json")
        assert head.status_code == 200 and head.content == b"" and int(head.headers["content-length"]) > 0
        bad = await http.get("/api/v5/system/status?state=nope")
        assert bad.status_code == 400 and bad.json()["code"] == "51000"


async def test_a_burst_after_a_change_causes_one_render(hot_demo):
    market = await sync_to_async(Component.objects.get)(name="Market data")
    async with client() as http:
        await http.get("/")
        renders = []

        def count(sender, template, **kwargs):
            if template.name == "status/index.html":
                renders.append(1)

        template_rendered.connect(count)
        try:
            await sync_to_async(services.component_set_status, thread_sensitive=False)(
                component=market, status="major_outage", actor=services.Actor.system()
            )
            responses = await asyncio.gather(*[http.get("/") for _ in range(200)])
        finally:
            template_rendered.disconnect(count)
    assert {r.status_code for r in responses} == {200}
    assert all("Major System Outage" in r.text for r in responses)
    assert len({r.headers["etag"] for r in responses}) == 1
    # One render per language (every language's page is published with the change), none per reader.
    assert len(renders) == len(settings.LANGUAGES)


async def test_other_paths_and_methods_go_to_django(hot_demo):
    async with client() as http:
        assert (await http.get("/history?before=bad")).status_code == 400
        assert (await http.get("/api/v2/history.json?kind=incident")).status_code == 200
        assert (await http.post("/api/v2/summary.json")).status_code == 405
        assert (await http.get("/nope")).status_code == 404
