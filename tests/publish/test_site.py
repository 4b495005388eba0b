"""The published site: each kind of document is what Django renders from the database at
that moment, a change republishes what it touched, and an old incident is published on
its first read and kept."""

import json

from django.conf import settings
from django.template.loader import render_to_string
from django.utils import timezone

from incidents import selectors, services
from incidents.models import Component, Incident, PageState
from incidents.publish import documents, feeds, site, snapshot, store
from incidents.wire import statuspage as v2


def published(relpath: str) -> bytes:
    return (store.root() / relpath).read_bytes()


def test_every_kind_of_document_is_what_django_renders_from_the_database(demo, client):
    data = site.refresh()
    incident = demo["incident"]
    detail = selectors.incident_detail(incident.public_id)
    # Incident page and its JSON read: rendered from the incident as it is now.
    page = render_to_string(
        "status/incident.html",
        {
            "incident": v2.incident_json(detail),
            "live_seq": data["seq"],
            "status_page": settings.STATUS_PAGE,
            "page_path": f"/incidents/{incident.public_id}",
            "untranslated": set(),
        },
    )
    assert published(site.incident_page_path(incident.public_id)) == page.encode()
    assert json.loads(published(site.incident_json_path(incident.public_id))) == {
        "page": v2.page_json(None),
        "incident": v2.incident_json(detail),
    }
    # Feeds: Django's syndication view for a request to the page's own address.
    for fmt in feeds.FEEDS:
        assert published(f"history.{fmt}") == feeds.render(fmt, None)
        component = Component.objects.get(name="Market data")
        assert published(feeds.feed_path(fmt, component)) == feeds.render(fmt, component)
    # Uptime: the same as the API's computed answer for the same default range.
    market = Component.objects.get(name="Market data")
    doc = json.loads(published(site.uptime_path(market.public_id)))
    computed = client.get(
        f"/api/v2/components/{market.public_id}/uptime.json",
        {"start": doc["range_start"], "end": doc["range_end"]},
    ).json()
    # (Today is still being observed: its seconds grow between the two.)
    assert computed["days"][:-1] == doc["days"][:-1]
    assert {k: v for k, v in computed.items() if k not in ("days", "uptime_percentage")} == {
        k: v for k, v in doc.items() if k not in ("days", "uptime_percentage")
    }
    # The snapshot's documents: the bytes this process made of the snapshot.
    for name, relpath in documents.SNAPSHOT_FILES.items():
        assert published(relpath) == documents.for_snapshot(snapshot.current())[name].body, name


def test_a_change_republishes_what_it_touched_and_the_first_read_is_the_new_state(
    demo, system, client, django_capture_on_commit_callbacks
):
    site.refresh()
    incident = demo["incident"]
    before = published(site.incident_json_path(incident.public_id))
    with django_capture_on_commit_callbacks(execute=True):
        services.incident_edit(incident=incident, actor=system, name="Trading halted: matching engine")
    after = published(site.incident_json_path(incident.public_id))
    assert after != before and json.loads(after)["incident"]["name"] == "Trading halted: matching engine"
    read = client.get(f"/api/v2/incidents/{incident.public_id}.json")
    assert read.content == after
    assert read["ETag"] == store.read(site.incident_json_path(incident.public_id)).variants[""].etag
    assert b"Trading halted: matching engine" in client.get(f"/incidents/{incident.public_id}").content
    assert "Trading halted: matching engine" in client.get("/history.atom").content.decode()


def test_an_old_incident_is_published_on_its_first_read_and_kept(demo, system, client):
    site.refresh()
    old = Incident.objects.create(
        name="An old outage",
        kind=Incident.Kind.INCIDENT,
        status="resolved",
        impact="minor",
        started_at=timezone.now() - timezone.timedelta(days=400),
        resolved_at=timezone.now() - timezone.timedelta(days=399),
    )
    relpath = site.incident_page_path(old.public_id)
    assert not (store.root() / relpath).exists()
    first = client.get(f"/incidents/{old.public_id}")
    assert first.status_code == 200 and b"An old outage" in first.content
    assert published(relpath) == first.content
    assert client.get("/incidents/nosuchthing").status_code == 404
    assert client.get("/api/v2/incidents/nosuchthing.json").status_code == 404


def test_a_snapshot_older_than_the_published_one_changes_nothing(demo, system, client):
    """A hub that heard of a change before the writer rebuilt comes with the snapshot
    before it, after the writer has published: the files stay as they are (it used to
    start them afresh, older, and hold the node's publish lock meanwhile)."""
    incident = demo["incident"]
    older = snapshot.rebuild()
    market = Component.objects.filter(is_hidden=False).first()
    services.component_set_status(component=market, status="major_outage", actor=system)
    site.refresh()
    summary = published(documents.SNAPSHOT_FILES["summary"])
    page = store.root() / site.incident_page_path(incident.public_id)
    assert page.exists()
    before = page.stat().st_mtime_ns

    assert site.publish(older) is False
    assert published(documents.SNAPSHOT_FILES["summary"]) == summary
    assert {c["id"]: c["status"] for c in json.loads(summary)["components"]}[market.public_id] == "major_outage"
    assert page.stat().st_mtime_ns == before  # not removed and written again

    # A database that went back (restored, reset) does start the files afresh.
    PageState.objects.filter(pk=1).update(seq=older["seq"] - 1)
    assert site.publish(older) is True
    assert {c["id"]: c["status"] for c in json.loads(published(documents.SNAPSHOT_FILES["summary"]))["components"]}[
        market.public_id
    ] != "major_outage"
