"""The history feeds, read by a real feed parser (feedparser) as a reader's app would."""

import feedparser
import pytest
from django.conf import settings

from incidents import services

from ..factories import ComponentFactory, open_incident, schedule_maintenance

pytestmark = pytest.mark.django_db

SYSTEM = services.Actor.system()


def parse(client, path: str):
    response = client.get(path)
    assert response.status_code == 200
    feed = feedparser.parse(response.content)
    assert not feed.bozo, feed.bozo_exception
    return response, feed


@pytest.mark.parametrize(
    ("path", "version", "content_type"),
    [("/history.atom", "atom10", "application/atom+xml"), ("/history.rss", "rss20", "application/rss+xml")],
)
def test_the_history_feed_lists_incidents_and_maintenance_with_their_latest_update(
    client, demo, path, version, content_type
):
    response, feed = parse(client, path)
    assert response["Content-Type"].startswith(content_type)
    assert feed.version == version
    assert feed.feed.title == "OKX Status history"
    titles = [entry.title for entry in feed.entries]
    assert demo["incident"].name in titles
    # Upcoming maintenance is announced on the page, not listed as history.
    assert f"Scheduled maintenance: {demo['maintenance'].name}" not in titles
    entry = feed.entries[titles.index(demo["incident"].name)]
    latest = demo["incident"].updates.order_by("-display_at").first()
    # Published ahead of any reader: links are made from the page's own address.
    assert entry.link == f"{settings.STATUS_PAGE['URL']}/incidents/{demo['incident'].public_id}"
    assert latest.get_status_display() in entry.summary
    assert "<strong>" in entry.summary  # the update's Markdown, as sanitized HTML
    assert entry.get("published_parsed") or entry.get("updated_parsed")


def test_the_newest_update_is_the_one_shown(client):
    incident = open_incident(name="Deposits delayed", body="Looking into it.")
    services.incident_resolve(incident=incident, actor=SYSTEM, body="All deposits credited.")
    _, feed = parse(client, "/history.atom")
    [entry] = feed.entries
    assert "All deposits credited." in entry.summary and "Looking into it." not in entry.summary


@pytest.mark.parametrize("style", ["query", "path"])
@pytest.mark.parametrize("kind", ["atom", "rss"])
def test_a_component_feed_has_only_what_touches_the_component(client, style, kind):
    spot, wallet = ComponentFactory(name="Spot trading"), ComponentFactory(name="Wallet")
    open_incident(name="Spot orders failing", components={spot: "major_outage"})
    open_incident(name="Withdrawals delayed", components={wallet: "degraded_performance"})
    upgrade = schedule_maintenance(name="Spot engine upgrade", components=[spot])
    services.maintenance_start(maintenance=upgrade, actor=SYSTEM)
    path = (
        f"/history.{kind}?component={spot.public_id}"
        if style == "query"
        else f"/components/{spot.public_id}/history.{kind}"
    )
    _, feed = parse(client, path)
    assert "Spot trading" in feed.feed.title
    assert sorted(e.title for e in feed.entries) == [
        "Scheduled maintenance: Spot engine upgrade",
        "Spot orders failing",
    ]


def test_an_unknown_or_hidden_component_is_404(client):
    hidden = ComponentFactory(name="Secret", is_hidden=True)
    assert client.get("/history.atom?component=nothing").status_code == 404
    assert client.get(f"/components/{hidden.public_id}/history.rss").status_code == 404
