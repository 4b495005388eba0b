"""The integrators' API: Statuspage v2 and OKX v5 reads, the authenticated v1 writes."""

import io
import json
import re
from datetime import timedelta

import pytest
import yaml
from django.core.management import call_command
from django.test import TestCase, override_settings
from django.utils import timezone
from openapi_spec_validator import validate

from incidents import services
from incidents.models import ApiToken, Component, ComponentStatusChange, Incident, IncidentUpdate, PublicEvent
from incidents.publish import site

from ..factories import ComponentFactory, open_incident, schedule_maintenance

pytestmark = pytest.mark.django_db

# Field lists from shared/reference/statuspage-v2.md.
PAGE_KEYS = {"id", "name", "url", "time_zone", "updated_at"}
COMPONENT_KEYS = {
    "id", "name", "status", "created_at", "updated_at", "position", "description", "showcase",
    "start_date", "group_id", "page_id", "group", "only_show_if_degraded",
}  # fmt: skip
INCIDENT_KEYS = {
    "id", "name", "status", "created_at", "updated_at", "monitoring_at", "resolved_at", "impact",
    "shortlink", "started_at", "page_id", "incident_updates", "components",
}  # fmt: skip
UPDATE_KEYS = {
    "id", "status", "body", "incident_id", "created_at", "updated_at", "display_at",
    "affected_components", "deliver_notifications", "custom_tweet", "tweet_id",
}  # fmt: skip
AFFECTED_KEYS = {"code", "name", "old_status", "new_status"}
COMPONENT_STATUSES = {"operational", "degraded_performance", "partial_outage", "major_outage", "under_maintenance"}
INCIDENT_STATUSES = {"investigating", "identified", "monitoring", "resolved", "postmortem"}
MAINTENANCE_STATUSES = {"scheduled", "in_progress", "verifying", "completed"}
IMPACTS = {"none", "minor", "major", "critical", "maintenance"}
TIMESTAMP = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}\+08:00$")
OKX_KEYS = {
    "title",
    "state",
    "begin",
    "end",
    "preOpenBegin",
    "href",
    "serviceType",
    "system",
    "scheDesc",
    "maintType",
    "env",
}


def get_json(client, path, **headers):
    response = client.get(path, **headers)
    assert response.status_code == 200, response.content
    return response.json()


def assert_timestamp(value, nullable=True):
    if value is None:
        assert nullable
    else:
        assert TIMESTAMP.match(value), value


def assert_component(row):
    assert row.keys() >= COMPONENT_KEYS
    assert row["status"] in COMPONENT_STATUSES
    assert_timestamp(row["created_at"], nullable=False)
    if row["group"]:
        assert row["group_id"] is None
        assert isinstance(row["components"], list)


def assert_incident(incident, statuses):
    assert incident.keys() >= INCIDENT_KEYS
    assert incident["status"] in statuses
    assert incident["impact"] in IMPACTS
    for key in ("created_at", "updated_at", "started_at"):
        assert_timestamp(incident[key], nullable=False)
    for key in ("monitoring_at", "resolved_at"):
        assert_timestamp(incident[key])
    for update in incident["incident_updates"]:
        assert update.keys() >= UPDATE_KEYS
        assert update["status"] in statuses
        assert_timestamp(update["display_at"], nullable=False)
        for affected in update["affected_components"] or []:
            assert affected.keys() == AFFECTED_KEYS
            assert {affected["old_status"], affected["new_status"]} <= COMPONENT_STATUSES
    for component in incident["components"]:
        assert_component(component)


# --- Statuspage v2 -----------------------------------------------------------------------


def test_every_v2_endpoint_has_the_reference_keys_and_values(client, demo):
    summary = get_json(client, "/api/v2/summary.json")
    assert summary.keys() >= {"page", "status", "components", "incidents", "scheduled_maintenances"}
    assert summary["page"].keys() == PAGE_KEYS
    assert summary["page"]["time_zone"] == "Asia/Hong_Kong"
    assert summary["status"] == {"indicator": "none", "description": "All Systems Operational"}
    for row in summary["components"]:
        assert_component(row)
    status = get_json(client, "/api/v2/status.json")
    assert status.keys() == {"page", "status"}
    components = get_json(client, "/api/v2/components.json")
    assert components["components"] == summary["components"]
    incidents = get_json(client, "/api/v2/incidents.json")["incidents"]
    assert incidents
    for incident in incidents:
        assert_incident(incident, INCIDENT_STATUSES)
    assert get_json(client, "/api/v2/incidents/unresolved.json")["incidents"] == []
    for path in ("", "/upcoming", "/active"):
        body = get_json(client, f"/api/v2/scheduled-maintenances{path}.json")
        assert body.keys() == {"page", "scheduled_maintenances"}
        for maintenance in body["scheduled_maintenances"]:
            assert_incident(maintenance, MAINTENANCE_STATUSES)
            assert_timestamp(maintenance["scheduled_for"], nullable=False)
            assert_timestamp(maintenance["scheduled_until"], nullable=False)
    upcoming = get_json(client, "/api/v2/scheduled-maintenances/upcoming.json")["scheduled_maintenances"]
    assert [m["name"] for m in upcoming] == [demo["maintenance"].name]
    assert get_json(client, "/api/v2/scheduled-maintenances/active.json")["scheduled_maintenances"] == []


def test_groups_are_component_rows_listing_their_children(client, demo):
    rows = get_json(client, "/api/v2/components.json")["components"]
    by_id = {row["id"]: row for row in rows}
    groups = [row for row in rows if row["group"]]
    assert {g["name"] for g in groups} == {"Platform", "Market data", "Trading", "API", "Account"}
    for group in groups:
        children = [by_id[i] for i in group["components"]]
        assert children and all(c["group_id"] == group["id"] and not c["group"] for c in children)
    api = next(g for g in groups if g["name"] == "API")
    assert [by_id[i]["name"] for i in api["components"]] == ["REST API", "WebSocket API"]


def test_the_demo_incident_has_five_updates_newest_first_with_component_changes(client, demo):
    incident = get_json(client, "/api/v2/incidents.json")["incidents"][0]
    assert incident["id"] == demo["incident"].public_id
    assert incident["status"] == "postmortem"
    assert incident["impact"] == "critical"
    assert incident["started_at"] == "2021-01-29T17:37:00.000+08:00"
    assert incident["resolved_at"] == "2021-01-29T18:18:00.000+08:00"
    updates = incident["incident_updates"]
    assert [u["display_at"][11:16] for u in updates] == ["18:18", "18:05", "17:58", "17:40", "17:37"]
    assert [u["status"] for u in updates] == ["resolved", "identified", "monitoring", "identified", "investigating"]
    first = {a["name"]: (a["old_status"], a["new_status"]) for a in updates[-1]["affected_components"]}
    assert first["Market data"] == ("operational", "major_outage")
    last = {a["name"]: (a["old_status"], a["new_status"]) for a in updates[0]["affected_components"]}
    assert last == {
        "REST API": ("partial_outage", "operational"),
        "Perpetual contracts": ("partial_outage", "operational"),
    }
    assert incident["durations"] == {"time_to_identify": 180, "time_to_mitigate": 1260, "time_to_resolve": 2460}


def test_an_open_incident_raises_the_indicator_in_every_read(client, demo):
    market = Component.objects.get(name="Market data")
    incident = open_incident(components={market: "major_outage"})
    site.refresh()
    assert get_json(client, "/api/v2/status.json")["status"] == {
        "indicator": "critical",
        "description": "Major System Outage",
    }
    unresolved = get_json(client, "/api/v2/incidents/unresolved.json")["incidents"]
    assert [i["id"] for i in unresolved] == [incident.public_id]
    summary = get_json(client, "/api/v2/summary.json")
    assert [i["id"] for i in summary["incidents"]] == [incident.public_id]
    row = next(c for c in summary["components"] if c["name"] == "Market data")
    assert row["status"] == "major_outage"
    group = next(c for c in summary["components"] if c["name"] == "Market data" and c["group"])
    assert group["status"] == "major_outage"


@pytest.mark.parametrize(
    "path",
    [
        "/api/v2/summary.json",
        "/api/v2/status.json",
        "/api/v2/components.json",
        "/api/v2/incidents/unresolved.json",
        "/api/v2/scheduled-maintenances/upcoming.json",
        "/api/v5/system/status",
    ],
)
def test_hot_reads_make_no_database_query(client, demo, path, django_assert_num_queries):
    client.get(path)  # the first read of a fresh process may fetch the stored snapshot
    with django_assert_num_queries(0):
        response = client.get(path)
    assert response.status_code == 200


def test_conditional_requests_get_304_until_something_changes(client, demo):
    first = client.get("/api/v2/summary.json")
    assert first["Cache-Control"] == "public, max-age=5, stale-while-revalidate=30, stale-if-error=86400"
    etag, modified = first["ETag"], first["Last-Modified"]
    again = client.get("/api/v2/summary.json", HTTP_IF_NONE_MATCH=etag)
    assert again.status_code == 304
    assert again.content == b""
    assert again["ETag"] == etag
    assert client.get("/api/v2/summary.json", HTTP_IF_MODIFIED_SINCE=modified).status_code == 304
    assert client.get("/api/v2/summary.json", HTTP_IF_NONE_MATCH='"other"').status_code == 200
    services.component_set_status(
        component=Component.objects.get(name="Order book"), status="degraded_performance", actor=services.Actor.system()
    )
    site.refresh()
    changed = client.get("/api/v2/summary.json", HTTP_IF_NONE_MATCH=etag)
    assert changed.status_code == 200
    assert changed["ETag"] != etag


# --- OKX v5 ------------------------------------------------------------------------------


def okx(client, query=""):
    response = client.get(f"/api/v5/system/status{query}")
    return response.status_code, response.json()


def test_okx_answer_is_an_envelope_of_strings(client, demo):
    code, body = okx(client)
    assert code == 200
    assert body["code"] == "0" and body["msg"] == ""
    (row,) = body["data"]
    assert row.keys() >= OKX_KEYS
    assert all(isinstance(value, str) for value in row.values())
    maintenance = demo["maintenance"]
    assert row["title"] == maintenance.name
    assert (row["state"], row["maintType"], row["env"], row["system"]) == ("scheduled", "1", "1", "unified")
    assert row["begin"] == str(int(maintenance.scheduled_for.timestamp() * 1000))
    assert row["end"] == str(int(maintenance.scheduled_until.timestamp() * 1000))
    assert row["preOpenBegin"] == "" and row["scheDesc"] == ""


def test_okx_state_filter_and_incidents_as_maint_type_3(client, demo):
    _, completed = okx(client, "?state=completed")
    demo_row = next(r for r in completed["data"] if r["title"] == demo["incident"].name)
    assert demo_row["maintType"] == "3"
    assert demo_row["begin"] == "1611913020000"  # 2021-01-29 17:37 HKT
    assert demo_row["end"] == "1611915480000"  # 18:18 HKT
    assert okx(client, "?state=")[1]["data"] == okx(client)[1]["data"]  # python-okx sends state=
    assert okx(client, "?state=ongoing")[1]["data"] == []
    assert okx(client, "?state=canceled")[1]["data"] == []


@pytest.mark.parametrize("state", ["bogus", "SCHEDULED", "cancelled"])
def test_okx_bad_state_gets_okx_error_envelope(client, demo, state):
    code, body = okx(client, f"?state={state}")
    assert code == 400
    assert body == {"code": "51000", "msg": "Parameter state error", "data": []}


def test_okx_rescheduled_maintenance_carries_sche_desc(client, demo):
    maintenance = demo["maintenance"]
    start = maintenance.scheduled_for + timedelta(days=1)
    services.maintenance_reschedule(
        maintenance=maintenance,
        actor=services.Actor.system(),
        scheduled_for=start,
        scheduled_until=start + timedelta(hours=2),
    )
    site.refresh()
    (row,) = okx(client, "?state=scheduled")[1]["data"]
    assert row["scheDesc"].startswith("Rescheduled from ")
    assert row["begin"] == str(int(start.timestamp() * 1000))


def test_okx_pre_open_phase(client, demo):
    maintenance = demo["maintenance"]
    services.maintenance_start(maintenance=maintenance, actor=services.Actor.system())
    # A planned pre-open start is announced (preOpenBegin) but the state is what happened.
    planned = timezone.now() + timedelta(minutes=1)
    Incident.objects.filter(pk=maintenance.pk).update(pre_open_at=planned)
    site.refresh()
    (row,) = okx(client)[1]["data"]
    assert (row["state"], row["preOpenBegin"]) == ("ongoing", str(int(planned.timestamp() * 1000)))
    assert okx(client, "?state=pre_open")[1]["data"] == []

    services.maintenance_pre_open(maintenance=maintenance, actor=services.Actor.system())
    maintenance.refresh_from_db()
    site.refresh()
    (row,) = okx(client, "?state=pre_open")[1]["data"]
    assert row["preOpenBegin"] == str(int(maintenance.pre_open_at.timestamp() * 1000))
    assert okx(client)[1]["data"] == [row]


@pytest.mark.django_db(transaction=True)
def test_python_okx_sdk_reads_scheduled_ongoing_and_completed_maintenance(live_server, roles):
    from okx.Status import StatusAPI

    system = services.Actor.system()
    api = ComponentFactory(name="REST API", okx_service_type="5")
    scheduled = schedule_maintenance(name="Scheduled upgrade", components=[api])
    ongoing = schedule_maintenance(name="Ongoing upgrade", components=[api])
    services.maintenance_start(maintenance=ongoing, actor=system)
    done = schedule_maintenance(name="Finished upgrade", components=[api])
    services.maintenance_start(maintenance=done, actor=system)
    services.maintenance_complete(maintenance=done, actor=system)

    client = StatusAPI(domain=live_server.url, flag="0")
    answer = client.status()
    assert answer["code"] == "0"
    assert {(r["title"], r["state"]) for r in answer["data"]} == {
        ("Scheduled upgrade", "scheduled"),
        ("Ongoing upgrade", "ongoing"),
    }
    completed = client.status(state="completed")["data"]
    assert [(r["title"], r["state"], r["serviceType"], r["maintType"]) for r in completed] == [
        ("Finished upgrade", "completed", "5", "1")
    ]
    assert client.status(state="ongoing")["data"][0]["begin"] == str(
        int(Incident.objects.get(pk=ongoing.pk).started_at.timestamp() * 1000)
    )
    assert client.status(state="scheduled")["data"][0]["title"] == scheduled.name


# --- v1 writes ---------------------------------------------------------------------------


@pytest.fixture
def read_token(operator):
    return services.api_token_create(user=operator, name="dashboard", scope="read")[1]


def call(client, method, path, token=None, body=None):
    """An API request whose after-commit work runs, as it does outside a test transaction."""
    headers = {"HTTP_AUTHORIZATION": f"Bearer {token}"} if token else {}
    with TestCase.captureOnCommitCallbacks(execute=True):
        if method in ("get", "delete"):
            return getattr(client, method)(path, **headers)
        return getattr(client, method)(path, data=json.dumps(body or {}), content_type="application/json", **headers)


def counts():
    return (
        Incident.objects.count(),
        IncidentUpdate.objects.count(),
        ComponentStatusChange.objects.count(),
        PublicEvent.objects.count(),
    )


def test_full_incident_lifecycle_through_the_api_shows_everywhere(client, admin_client, demo, write_token):
    market = Component.objects.get(name="Market data")
    book = Component.objects.get(name="Order book")
    created = call(
        client,
        "post",
        "/api/v1/incidents",
        write_token,
        {
            "name": "Market data frozen",
            "body": "Prices stopped updating.",
            "components": {market.public_id: "major_outage", book.public_id: "partial_outage"},
        },
    )
    assert created.status_code == 201, created.content
    incident = created.json()
    assert incident["impact"] == "critical" and incident["status"] == "investigating"
    public_id = incident["id"]
    assert (
        call(
            client,
            "post",
            f"/api/v1/incidents/{public_id}/updates",
            write_token,
            {"status": "identified", "body": "Cache saturated.", "components": {book.public_id: "major_outage"}},
        ).status_code
        == 201
    )
    page = client.get("/").content.decode()
    assert "Market data frozen" in page and "Major System Outage" in page
    okx_row = next(r for r in okx(client)[1]["data"] if r["title"] == "Market data frozen")
    assert (okx_row["state"], okx_row["maintType"], okx_row["serviceType"]) == ("ongoing", "3", "0")

    resolved = call(client, "post", f"/api/v1/incidents/{public_id}/resolve", write_token, {"body": "Restored."})
    assert resolved.status_code == 200, resolved.content
    assert resolved.json()["status"] == "resolved"
    assert set(Component.objects.values_list("status", flat=True)) == {"operational"}
    published = call(
        client,
        "put",
        f"/api/v1/incidents/{public_id}/postmortem",
        write_token,
        {"body": "## Cause\nCache.", "publish": True},
    )
    assert published.json()["status"] == "postmortem"

    v2 = next(i for i in get_json(client, "/api/v2/incidents.json")["incidents"] if i["id"] == public_id)
    assert v2 == published.json()
    assert [u["status"] for u in v2["incident_updates"]] == ["resolved", "identified", "investigating"]
    # OKX rows run from the least to the most severe, each by begin: the newest last.
    assert okx(client, "?state=completed")[1]["data"][-1]["title"] == "Market data frozen"
    admin_page = admin_client.get(f"/admin/incidents/incident/{Incident.objects.get(public_id=public_id).pk}/change/")
    assert admin_page.status_code == 200 and "Market data frozen" in admin_page.content.decode()
    detail = client.get(f"/incidents/{public_id}").content.decode()
    assert "Cache saturated." in detail and "Cause" in detail
    log = ComponentStatusChange.objects.filter(incident__public_id=public_id).first()
    assert log.actor_label == "responder (token automation)"


def test_maintenance_lifecycle_through_the_api(client, demo, write_token):
    api = Component.objects.get(name="REST API")
    start = timezone.now() + timedelta(days=2)
    made = call(
        client,
        "post",
        "/api/v1/maintenances",
        write_token,
        {
            "name": "Database failover drill",
            "body": "Short interruptions expected.",
            "scheduled_for": start.isoformat(),
            "scheduled_until": (start + timedelta(hours=1)).isoformat(),
            "components": [api.public_id],
            "auto_start": True,
        },
    )
    assert made.status_code == 201, made.content
    public_id = made.json()["id"]
    assert made.json()["scheduled_auto_in_progress"] is True
    later = start + timedelta(days=1)
    moved = call(
        client,
        "post",
        f"/api/v1/maintenances/{public_id}/reschedule",
        write_token,
        {"scheduled_for": later.isoformat(), "scheduled_until": (later + timedelta(hours=1)).isoformat()},
    )
    assert moved.status_code == 200 and moved.json()["reschedule_note"].startswith("Rescheduled from")
    edited = call(client, "patch", f"/api/v1/maintenances/{public_id}", write_token, {"auto_complete": True})
    assert edited.json()["scheduled_auto_completed"] is True
    assert (
        call(client, "post", f"/api/v1/maintenances/{public_id}/start", write_token).json()["status"] == "in_progress"
    )
    api.refresh_from_db()
    assert api.status == "under_maintenance"
    active = get_json(client, "/api/v2/scheduled-maintenances/active.json")["scheduled_maintenances"]
    assert [m["id"] for m in active] == [public_id]
    assert call(client, "post", f"/api/v1/maintenances/{public_id}/verify", write_token).json()["status"] == "verifying"
    done = call(client, "post", f"/api/v1/maintenances/{public_id}/complete", write_token, {"body": "All done."})
    assert done.json()["status"] == "completed"
    api.refresh_from_db()
    assert api.status == "operational"
    # A completed maintenance refuses every further move: 409 (its state, not the request), per field.
    again = call(client, "post", f"/api/v1/maintenances/{public_id}/cancel", write_token)
    assert again.status_code == 409 and again.json()["status"] == [
        "A maintenance that is completed cannot become cancelled."
    ]
    assert (
        call(client, "post", f"/api/v1/maintenances/{public_id}/updates", write_token, {"body": "x"}).status_code == 409
    )
    later_still = {"scheduled_for": later.isoformat(), "scheduled_until": (later + timedelta(hours=2)).isoformat()}
    moved_again = call(client, "post", f"/api/v1/maintenances/{public_id}/reschedule", write_token, later_still)
    assert moved_again.status_code == 409 and "scheduled_for" in moved_again.json()
    assert call(client, "patch", f"/api/v1/maintenances/{public_id}", write_token, {"name": "x"}).status_code == 409
    # A malformed request on it is still the 400 it always was.
    assert call(client, "patch", f"/api/v1/maintenances/{public_id}", write_token, {"name": ""}).status_code == 400


def test_component_status_through_the_api(client, demo, write_token):
    api = Component.objects.get(name="REST API")
    response = call(client, "patch", f"/api/v1/components/{api.public_id}", write_token, {"status": "partial_outage"})
    assert response.status_code == 200
    assert response.json()["status"] == "partial_outage"
    assert get_json(client, "/api/v2/status.json")["status"]["indicator"] == "major"


def test_subscribers_list_create_and_delete(client, demo, write_token):
    api = Component.objects.get(name="REST API")
    email = call(client, "post", "/api/v1/subscribers", write_token, {"email": "Ops@Example.com"})
    assert email.status_code == 201
    assert email.json()["state"] == "pending" and "secret" not in email.json()
    hook = call(
        client,
        "post",
        "/api/v1/subscribers",
        write_token,
        {"endpoint": "https://1.1.1.1/hooks/status", "components": [api.public_id]},
    )
    assert hook.status_code == 201
    assert hook.json()["secret"].startswith("whsec_")
    assert hook.json()["components"] == [api.public_id]
    listed = call(client, "get", "/api/v1/subscribers", write_token).json()
    assert {s["email"] or s["endpoint"] for s in listed} == {"ops@example.com", "https://1.1.1.1/hooks/status"}
    assert all("secret" not in s for s in listed)
    assert call(client, "delete", f"/api/v1/subscribers/{hook.json()['id']}", write_token).status_code == 204
    assert call(client, "get", f"/api/v1/subscribers/{hook.json()['id']}", write_token).status_code == 404


@pytest.mark.parametrize(
    ("body", "fields"),
    [
        ({}, {"name", "body"}),
        ({"name": "x", "body": "y", "status": "resolved"}, {"status"}),
        ({"name": "x", "body": "y", "components": {"nope12345678": "major_outage"}}, {"components"}),
        ({"name": "x", "body": "y", "components": {"COMPONENT": "on_fire"}}, {"components"}),
        ({"name": "x", "body": "y", "started_at": "2021-01-29T17:37:00"}, {"started_at"}),
        ({"name": "x", "body": "y", "started_at": "yesterday"}, {"started_at"}),
        ({"name": "x" * 201, "body": "y", "impact_override": "huge"}, {"name", "impact_override"}),
        ({"name": "x", "body": "y", "started_at": "2999-01-01T00:00:00+00:00"}, {"started_at"}),
    ],
)
def test_bad_input_gets_400_per_field_and_writes_nothing(client, demo, write_token, body, fields):
    api = Component.objects.get(name="REST API")
    body = json.loads(json.dumps(body).replace("COMPONENT", api.public_id))
    before = counts()
    response = call(client, "post", "/api/v1/incidents", write_token, body)
    assert response.status_code == 400, response.content
    assert set(response.json()) == fields
    assert counts() == before


def test_resolving_while_a_component_stays_down_is_400_unless_confirmed(client, demo, write_token):
    """The API refuses the same slip as the admin, naming the field that lets it through."""
    market = Component.objects.get(name="Market data")
    incident = open_incident(components={market: "major_outage"})
    path = f"/api/v1/incidents/{incident.public_id}/resolve"
    body = {"body": "Fixed.", "components": {market.public_id: "partial_outage"}}
    before = counts()

    refused = call(client, "post", path, write_token, body)

    assert refused.status_code == 409  # a valid request the components' state refuses unconfirmed
    (message,) = refused.json()["confirm_down_after_resolve"]
    assert message.startswith("Resolving would leave Market data (partial outage) down")
    assert counts() == before

    resolved = call(client, "post", path, write_token, {**body, "confirm_down_after_resolve": True})

    assert resolved.status_code == 200, resolved.content
    assert resolved.json()["status"] == "resolved"
    market.refresh_from_db()
    assert market.status == "partial_outage"
    status = get_json(client, "/api/v2/status.json")["status"]
    assert status == {"indicator": "major", "description": "Partial System Outage"}
    # Resolved: resolving again is refused by its state, 409 (updates: test_update_on_a_resolved_incident_is_409).
    assert call(client, "post", path, write_token, {"body": "Again."}).status_code == 409


def test_an_update_resolving_with_a_component_down_is_409_too(client, demo, write_token):
    market = Component.objects.get(name="Market data")
    incident = open_incident(components={market: "major_outage"})

    response = call(
        client,
        "post",
        f"/api/v1/incidents/{incident.public_id}/updates",
        write_token,
        {"status": "resolved", "body": "Done.", "components": {market.public_id: "major_outage"}},
    )

    assert response.status_code == 409
    assert "confirm_down_after_resolve" in response.json()


def test_an_open_incident_of_no_impact_is_never_all_systems_operational(client, demo, write_token):
    """An incident with no components still says something is wrong, in Statuspage's words."""
    opened = call(client, "post", "/api/v1/incidents", write_token, {"name": "Slow emails", "body": "Looking into it."})
    assert opened.status_code == 201
    assert opened.json()["impact"] == "none"

    status = get_json(client, "/api/v2/status.json")["status"]

    assert status == {"indicator": "minor", "description": "Partially Degraded Service"}


def test_update_on_a_resolved_incident_is_409(client, demo, write_token):
    response = call(
        client,
        "post",
        f"/api/v1/incidents/{demo['incident'].public_id}/updates",
        write_token,
        {"status": "monitoring", "body": "x"},
    )
    assert response.status_code == 409
    assert "resolved" in response.json()["status"][0]


@pytest.mark.parametrize("payload", [b"{not json", b"[1, 2]", b'"text"'])
def test_malformed_json_is_400_not_500(client, demo, write_token, payload):
    response = client.post(
        "/api/v1/incidents", data=payload, content_type="application/json", HTTP_AUTHORIZATION=f"Bearer {write_token}"
    )
    assert response.status_code == 400


def test_unknown_ids_are_404(client, demo, write_token):
    assert (
        call(
            client, "post", "/api/v1/incidents/doesnotexist/updates", write_token, {"status": "identified", "body": "x"}
        ).status_code
        == 404
    )
    assert call(client, "patch", "/api/v1/components/nope", write_token, {"status": "major_outage"}).status_code == 404
    # An incident id is not a maintenance id.
    maintenance_path = f"/api/v1/maintenances/{demo['incident'].public_id}/start"
    assert call(client, "post", maintenance_path, write_token).status_code == 404


def test_tokens_missing_bad_expired_and_read_only(client, demo, operator, read_token):
    path = "/api/v1/incidents"
    body = {"name": "x", "body": "y"}
    missing = call(client, "post", path, None, body)
    assert missing.status_code == 401 and missing["WWW-Authenticate"] == "Bearer"
    assert call(client, "post", path, "sp_wrong", body).status_code == 401
    assert call(client, "post", path, read_token, body).status_code == 403
    assert call(client, "get", "/api/v1/components", read_token).status_code == 200
    token, text = services.api_token_create(user=operator, name="old", scope="write")
    ApiToken.objects.filter(pk=token.pk).update(expires_at=timezone.now() - timedelta(seconds=1))
    assert call(client, "post", path, text, body).status_code == 401
    assert not Incident.objects.filter(name="x").exists()


def test_token_records_last_use_and_stores_only_a_hash(client, demo, operator):
    token, text = services.api_token_create(user=operator, name="bot", scope="read")
    assert text not in {token.key_hash, token.prefix} and len(token.key_hash) == 64
    call(client, "get", "/api/v1/components", text)
    token.refresh_from_db()
    assert token.last_used_at is not None


def test_create_api_token_command_prints_the_token_once(operator, client, demo):
    out, err = io.StringIO(), io.StringIO()
    call_command("create_api_token", "responder", "--write", stdout=out, stderr=err)
    text = out.getvalue().strip()
    assert text.startswith("sp_")
    assert ApiToken.objects.get().scope == "write"
    assert call(client, "get", "/api/v1/components", text).status_code == 200


def test_create_api_token_command_makes_an_integrations_token(operator, client, demo):
    out = io.StringIO()
    call_command("create_api_token", "responder", "--integrations", stdout=out, stderr=io.StringIO())
    text = out.getvalue().strip()
    assert ApiToken.objects.get().scope == "integrations"
    assert call(client, "get", "/api/v1/components", text).status_code == 403  # the integration endpoints only


@override_settings(
    REST_FRAMEWORK={
        **__import__("django.conf").conf.settings.REST_FRAMEWORK,
        "DEFAULT_THROTTLE_RATES": {"api-write": "3/min", "api-read": "600/min"},
    }
)
def test_writes_are_rate_limited_per_token(client, demo, write_token):
    api = Component.objects.get(name="REST API")
    path = f"/api/v1/components/{api.public_id}"
    statuses = [
        call(client, "patch", path, write_token, {"status": s}).status_code
        for s in ("major_outage", "operational", "major_outage")
    ]
    assert statuses == [200, 200, 200]
    limited = call(client, "patch", path, write_token, {"status": "operational"})
    assert limited.status_code == 429
    assert int(limited["Retry-After"]) > 0


DEAD_CACHE = {
    "default": {
        "BACKEND": "django.core.cache.backends.redis.RedisCache",
        "LOCATION": "redis://127.0.0.1:1/0",
        "OPTIONS": {"socket_connect_timeout": 0.2, "socket_timeout": 0.2},
    }
}


def test_with_the_cache_down_reads_and_writes_still_answer(client, demo, write_token):
    site.refresh()
    with override_settings(CACHES=DEAD_CACHE):
        assert client.get("/api/v2/summary.json").status_code == 200
        assert client.get("/").status_code == 200
        api = Component.objects.get(name="REST API")
        response = call(client, "patch", f"/api/v1/components/{api.public_id}", write_token, {"status": "major_outage"})
        assert response.status_code == 200
        assert get_json(client, "/api/v2/status.json")["status"]["indicator"] == "critical"


# --- richer reads ------------------------------------------------------------------------


def test_component_uptime_over_a_range(client, demo):
    api = Component.objects.get(name="REST API")
    body = get_json(client, f"/api/v2/components/{api.public_id}/uptime.json?start=2021-01-28&end=2021-01-30")
    assert [d["date"] for d in body["days"]] == ["2021-01-28", "2021-01-29", "2021-01-30"]
    day = body["days"][1]
    # REST API: partial 17:37-17:40 and 18:05-18:18, major 17:40-17:58, degraded 17:58-18:05.
    assert (day["major_outage_seconds"], day["partial_outage_seconds"], day["degraded_performance_seconds"]) == (
        1080,
        960,
        420,
    )
    assert body["uptime_percentage"] == round(100 * (1 - (1080 + 0.3 * 960) / (3 * 86400)), 2)


@pytest.mark.parametrize(
    "query", ["?start=2021-13-01", "?start=2021-02-01&end=2021-01-01", "?start=2019-01-01&end=2021-01-01"]
)
def test_bad_uptime_range_is_400(client, demo, query):
    api = Component.objects.get(name="REST API")
    assert client.get(f"/api/v2/components/{api.public_id}/uptime.json{query}").status_code == 400


def test_history_api_pages_with_a_cursor(client, demo):
    for i in range(30):
        open_incident(name=f"Incident {i}", minutes_ago=1000 + i)
    first = get_json(client, "/api/v2/history.json?kind=incident")
    assert len(first["incidents"]) == 25
    second = get_json(client, f"/api/v2/history.json?kind=incident&cursor={first['next_cursor']}")
    names = [i["name"] for i in first["incidents"] + second["incidents"]]
    assert len(names) == len(set(names)) == 31
    assert second["next_cursor"] is None
    assert client.get("/api/v2/history.json?cursor=garbage!").status_code == 400


def test_incident_read_has_durations(client, demo):
    body = get_json(client, f"/api/v2/incidents/{demo['incident'].public_id}.json")
    assert body["incident"]["durations"]["time_to_resolve"] == 2460
    assert client.get("/api/v2/incidents/nothing.json").status_code == 404


# --- OpenAPI -----------------------------------------------------------------------------


def test_openapi_schema_validates_and_lists_every_write(client):
    response = client.get("/api/schema/")
    assert response.status_code == 200
    schema = yaml.safe_load(response.content)
    validate(schema)
    writes = {
        (path, method)
        for path, ops in schema["paths"].items()
        for method in ops
        if method in ("post", "put", "patch", "delete")
    }
    assert writes >= {
        ("/api/v1/incidents", "post"),
        ("/api/v1/incidents/{public_id}", "patch"),
        ("/api/v1/incidents/{public_id}/updates", "post"),
        ("/api/v1/incidents/{public_id}/resolve", "post"),
        ("/api/v1/incidents/{public_id}/postmortem", "put"),
        ("/api/v1/components/{public_id}", "patch"),
        ("/api/v1/maintenances", "post"),
        ("/api/v1/maintenances/{public_id}", "patch"),
        ("/api/v1/maintenances/{public_id}/start", "post"),
        ("/api/v1/maintenances/{public_id}/complete", "post"),
        ("/api/v1/maintenances/{public_id}/cancel", "post"),
        ("/api/v1/maintenances/{public_id}/reschedule", "post"),
        ("/api/v1/subscribers", "post"),
        ("/api/v1/subscribers/{public_id}", "delete"),
    }
    assert client.get("/api/docs/").status_code == 200


def test_operator_makes_a_token_in_the_admin_and_sees_it_once(admin_client, admin_user, client, demo):
    response = admin_client.post(
        "/admin/incidents/apitoken/add/",
        {"user": admin_user.pk, "name": "pager bridge", "scope": "write", "expires_at_0": "", "expires_at_1": ""},
    )
    # The answer to the POST itself shows it, not a redirect carrying it in a message:
    # Django's messages cookie is signed, not encrypted (issue #12).
    assert response.status_code == 200 and "no-store" in response.headers["cache-control"]
    assert "messages" not in response.cookies
    text = re.search(r'<code id="new-token"[^>]*>(sp_[\w-]+)</code>', response.content.decode()).group(1)
    token = ApiToken.objects.get(name="pager bridge")
    assert token.scope == "write" and token.key_hash != text
    assert call(client, "get", "/api/v1/components", text).status_code == 200
    # Shown once: the token's page does not show it again.
    assert text not in admin_client.get(f"/admin/incidents/apitoken/{token.pk}/change/").content.decode()
    admin_client.post("/admin/incidents/apitoken/", {"action": "revoke", "_selected_action": [token.pk]})
    assert call(client, "get", "/api/v1/components", text).status_code == 401
