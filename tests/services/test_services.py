"""The service layer: the one write path, its rules, its events and its after-commit work."""

import threading
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.apps import apps
from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.db.models import signals
from django.utils import timezone

from incidents import services
from incidents.demo import load_demo
from incidents.models import (
    Component,
    ComponentStatusChange,
    Incident,
    IncidentUpdate,
    PageState,
    PublicEvent,
)
from incidents.publish import site, snapshot

from ..factories import ComponentFactory, open_incident, schedule_maintenance

pytestmark = pytest.mark.django_db
HKT = ZoneInfo("Asia/Hong_Kong")


def counts():
    return (
        Incident.objects.count(),
        IncidentUpdate.objects.count(),
        ComponentStatusChange.objects.count(),
        PublicEvent.objects.count(),
        PageState.objects.get(pk=1).seq,
    )


@pytest.fixture
def api():
    return ComponentFactory(name="REST API")


@pytest.fixture
def ws():
    return ComponentFactory(name="WebSocket API")


def test_opening_an_incident_sets_components_logs_and_numbers_the_changes(api, ws, operator):
    seq_before = PageState.objects.get(pk=1).seq
    actor = services.Actor.of(operator)
    incident = services.incident_open(
        actor=actor,
        name="API errors",
        body="Requests fail with 30012.",
        components={api: "major_outage", ws: "degraded_performance"},
    )
    api.refresh_from_db()
    assert api.status == "major_outage"
    assert incident.impact == "critical"
    assert incident.updates.count() == 1
    assert set(incident.components.all()) == {api, ws}
    log = ComponentStatusChange.objects.get(component=api)
    assert (log.old_status, log.new_status, log.actor, log.actor_label) == (
        "operational",
        "major_outage",
        operator,
        "responder",
    )
    assert log.update == incident.updates.get()
    events = list(PublicEvent.objects.filter(seq__gt=seq_before))
    assert [e.seq for e in events] == list(range(seq_before + 1, seq_before + 4))
    assert sorted((e.kind, e.action) for e in events) == [
        ("component", "status_changed"),
        ("component", "status_changed"),
        ("incident", "created"),
    ]
    assert PageState.objects.get(pk=1).seq == seq_before + 3


def test_updates_stamp_first_identified_and_monitoring_times(api, system):
    incident = open_incident(components={api: "partial_outage"}, minutes_ago=60)
    start = incident.started_at
    for minutes, status in ((3, "identified"), (21, "monitoring"), (28, "identified"), (41, "resolved")):
        services.incident_post_update(
            incident=incident,
            actor=system,
            status=status,
            body=status,
            display_at=start + timedelta(minutes=minutes),
            components={api: "operational"} if status == "resolved" else {},
        )
    incident.refresh_from_db()
    assert incident.identified_at == start + timedelta(minutes=3)
    assert incident.monitoring_at == start + timedelta(minutes=21)  # the first time, not the relapse
    assert incident.resolved_at == start + timedelta(minutes=41)
    assert incident.status == "resolved"


def test_resolve_returns_affected_components_to_operational(api, ws, system):
    incident = open_incident(components={api: "major_outage", ws: "degraded_performance"})
    services.incident_resolve(incident=incident, actor=system, body="Fixed.")
    assert set(Component.objects.values_list("status", flat=True)) == {"operational"}
    incident.refresh_from_db()
    assert incident.impact == "critical"  # the worst moment stays


def test_resolving_while_setting_a_component_down_is_refused_unless_confirmed(api, ws, system):
    """The slip behind a red banner with no incident: resolved, and a component set down in
    the same update. Refused on `confirm_down_after_resolve`, writing nothing; confirmed, it
    goes through and the component stays down."""
    incident = open_incident(components={api: "major_outage"})
    before = counts()
    with pytest.raises(ValidationError) as excinfo:
        services.incident_resolve(incident=incident, actor=system, body="Fixed.", components={api: "major_outage"})
    (message,) = excinfo.value.message_dict["confirm_down_after_resolve"]
    assert message.startswith(f"Resolving would leave {api.name} (major outage) down")
    assert counts() == before

    with pytest.raises(ValidationError) as excinfo:
        services.incident_post_update(
            incident=incident, actor=system, status="resolved", body="Fixed.", components={ws: "partial_outage"}
        )
    # The affected component left as it is counts too, and so does one this update sets.
    assert f"{api.name} (major outage)" in excinfo.value.message_dict["confirm_down_after_resolve"][0]
    assert f"{ws.name} (partial outage)" in excinfo.value.message_dict["confirm_down_after_resolve"][0]
    assert counts() == before

    services.incident_resolve(
        incident=incident,
        actor=system,
        body="Fixed for most; the API stays down.",
        components={api: "major_outage"},
        confirm_down_after_resolve=True,
    )
    incident.refresh_from_db()
    api.refresh_from_db()
    assert (incident.status, api.status) == ("resolved", "major_outage")


def test_resolving_is_allowed_when_another_open_incident_covers_the_component(api, system):
    first = open_incident(name="Orders failing", components={api: "major_outage"})
    open_incident(name="API errors", components={api: "major_outage"})

    services.incident_resolve(incident=first, actor=system, body="Orders fine.", components={api: "major_outage"})

    first.refresh_from_db()
    assert first.status == "resolved"


def test_resolving_with_components_back_to_operational_needs_no_confirmation(api, ws, system):
    incident = open_incident(components={api: "major_outage", ws: "degraded_performance"})

    services.incident_resolve(
        incident=incident, actor=system, body="Fixed.", components={api: "operational", ws: "operational"}
    )

    assert set(Component.objects.values_list("status", flat=True)) == {"operational"}


def test_an_update_on_a_resolved_incident_is_refused_and_writes_nothing(api, system):
    incident = open_incident(components={api: "major_outage"})
    services.incident_resolve(incident=incident, actor=system, body="Fixed.")
    before = counts()
    with pytest.raises(ValidationError) as excinfo:
        services.incident_post_update(
            incident=incident, actor=system, status="monitoring", body="again", components={api: "major_outage"}
        )
    assert "status" in excinfo.value.message_dict
    assert isinstance(excinfo.value, services.Conflict)  # its state refuses it: the API's 409
    assert counts() == before
    api.refresh_from_db()
    assert api.status == "operational"


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"status": "bogus"}, "status"),
        ({"status": "postmortem"}, "status"),
        ({"body": "   "}, "body"),
        ({"display_at": datetime(2030, 1, 1, 12, 0)}, "display_at"),  # naive
        ({"display_at": timezone.now() + timedelta(hours=2)}, "display_at"),  # future
        ({"display_at": timezone.now() - timedelta(days=3)}, "display_at"),  # before the start
        ({"components": "bad"}, "components"),
    ],
)
def test_bad_update_input_is_refused_per_field_and_writes_nothing(api, system, kwargs, field):
    incident = open_incident(components={api: "partial_outage"})
    arguments = {"status": "identified", "body": "Found it.", "components": {api: "major_outage"}}
    if kwargs.get("components") == "bad":
        kwargs = {"components": {api: "exploded"}}
    arguments.update(kwargs)
    before = counts()
    with pytest.raises(ValidationError) as excinfo:
        services.incident_post_update(incident=incident, actor=system, **arguments)
    assert field in excinfo.value.message_dict
    assert not isinstance(excinfo.value, services.Conflict)  # the request's fault: the API's 400
    assert counts() == before


def test_opening_with_a_naive_start_is_refused(system):
    with pytest.raises(ValidationError) as excinfo:
        services.incident_open(actor=system, name="x", body="y", started_at=datetime(2021, 1, 29, 17, 37))
    assert "started_at" in excinfo.value.message_dict
    assert not Incident.objects.exists()


def test_opening_with_an_unknown_component_status_is_refused(api, system):
    with pytest.raises(ValidationError) as excinfo:
        services.incident_open(actor=system, name="x", body="y", components={api: "on_fire"})
    assert "components" in excinfo.value.message_dict
    assert not Incident.objects.exists()


def test_impact_override_wins_and_bad_impact_is_refused(api, system):
    incident = open_incident(components={api: "major_outage"}, impact_override="minor")
    assert incident.impact == "minor"
    with pytest.raises(ValidationError):
        services.incident_edit(incident=incident, actor=system, impact_override="apocalyptic")
    services.incident_edit(incident=incident, actor=system, impact_override="")
    incident.refresh_from_db()
    assert incident.impact == "critical"


def test_postmortem_is_published_only_after_resolution(api, system):
    incident = open_incident(components={api: "major_outage"})
    with pytest.raises(ValidationError) as excinfo:
        services.postmortem_save(incident=incident, actor=system, body="Cause: cache.", publish=True)
    assert "postmortem_body" in excinfo.value.message_dict
    services.incident_resolve(incident=incident, actor=system, body="Fixed.")
    seq = PageState.objects.get(pk=1).seq
    services.postmortem_save(incident=incident, actor=system, body="Draft")
    incident.refresh_from_db()
    assert incident.postmortem_published_at is None
    assert PageState.objects.get(pk=1).seq == seq  # a draft is not a public change
    services.postmortem_save(incident=incident, actor=system, body=incident.postmortem_body, publish=True)
    incident.refresh_from_db()
    assert incident.status == "postmortem"
    assert incident.postmortem_published_at is not None
    assert PublicEvent.objects.filter(incident=incident, action="postmortem_published").exists()


def test_maintenance_start_and_complete_move_its_components(api, ws, system):
    maintenance = schedule_maintenance(components=[api, ws])
    services.maintenance_start(maintenance=maintenance, actor=system)
    assert set(Component.objects.values_list("status", flat=True)) == {"under_maintenance"}
    # An operator marks the API down meanwhile; completion must not hide that.
    services.component_set_status(component=api, status="partial_outage", actor=system)
    services.maintenance_complete(maintenance=maintenance, actor=system)
    api.refresh_from_db()
    ws.refresh_from_db()
    assert (api.status, ws.status) == ("partial_outage", "operational")
    maintenance.refresh_from_db()
    assert maintenance.status == "completed"
    assert maintenance.resolved_at is not None
    assert list(maintenance.updates.values_list("status", flat=True)) == ["completed", "in_progress", "scheduled"]


def test_maintenance_without_component_automation_leaves_components_alone(api, system):
    maintenance = schedule_maintenance(components=[api], components_to_maintenance=False)
    services.maintenance_start(maintenance=maintenance, actor=system)
    api.refresh_from_db()
    assert api.status == "operational"


def test_maintenance_cancel_only_before_start(api, system):
    maintenance = schedule_maintenance(components=[api])
    services.maintenance_start(maintenance=maintenance, actor=system)
    before = counts()
    with pytest.raises(ValidationError) as excinfo:
        services.maintenance_cancel(maintenance=maintenance, actor=system)
    assert "status" in excinfo.value.message_dict
    assert counts() == before
    other = schedule_maintenance(name="Wallet upgrade")
    services.maintenance_cancel(maintenance=other, actor=system)
    other.refresh_from_db()
    assert other.status == "cancelled"


def test_reschedule_notes_the_change_and_is_refused_once_started(system):
    maintenance = schedule_maintenance(hours_ahead=24)
    new_start = datetime(2031, 3, 1, 6, 0, tzinfo=HKT)
    services.maintenance_reschedule(
        maintenance=maintenance, actor=system, scheduled_for=new_start, scheduled_until=new_start + timedelta(hours=2)
    )
    maintenance.refresh_from_db()
    assert maintenance.scheduled_for == new_start
    assert maintenance.reschedule_note.startswith("Rescheduled from ")
    assert maintenance.reschedule_note.endswith("to 2031-03-01 06:00–2031-03-01 08:00 HKT")
    services.maintenance_start(maintenance=maintenance, actor=system)
    with pytest.raises(ValidationError):
        services.maintenance_reschedule(
            maintenance=maintenance,
            actor=system,
            scheduled_for=new_start,
            scheduled_until=new_start + timedelta(hours=3),
        )


@pytest.mark.parametrize(
    ("start", "end", "field"),
    [
        (datetime(2031, 1, 1, 6, 0), datetime(2031, 1, 1, 7, 0), "scheduled_for"),
        (datetime(2031, 1, 1, 7, 0, tzinfo=HKT), datetime(2031, 1, 1, 6, 0, tzinfo=HKT), "scheduled_until"),
    ],
)
def test_maintenance_window_is_checked(system, start, end, field):
    with pytest.raises(ValidationError) as excinfo:
        services.maintenance_schedule(actor=system, name="x", body="y", scheduled_for=start, scheduled_until=end)
    assert field in excinfo.value.message_dict
    assert not Incident.objects.exists()


def test_status_log_is_append_only(api, system):
    services.component_set_status(component=api, status="major_outage", actor=system)
    row = ComponentStatusChange.objects.get()
    with pytest.raises(TypeError):
        row.save()
    with pytest.raises(TypeError):
        row.delete()
    with pytest.raises(TypeError):
        ComponentStatusChange.objects.update(new_status="operational")
    with pytest.raises(TypeError):
        ComponentStatusChange.objects.all().delete()


def test_setting_the_same_status_again_changes_nothing(api, system):
    before = counts()
    services.component_set_status(component=api, status="operational", actor=system)
    assert counts()[2:4] == before[2:4]


def test_domain_models_have_no_save_or_delete_signal_receivers():
    """Domain behaviour lives in the services; no receiver of ours hides behind a save."""
    for model in apps.get_app_config("incidents").get_models():
        for signal in (
            signals.pre_save,
            signals.post_save,
            signals.pre_delete,
            signals.post_delete,
            signals.m2m_changed,
        ):
            sync_receivers, async_receivers = signal._live_receivers(model)
            ours = [r for r in sync_receivers + async_receivers if r.__module__.startswith("incidents")]
            assert ours == [], f"{model.__name__} has {signal} receivers {ours}"


def test_snapshot_is_rebuilt_only_after_commit(api, system, django_capture_on_commit_callbacks):
    site.refresh()
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        services.component_set_status(component=api, status="major_outage", actor=system)
    assert snapshot.current()["status"]["indicator"] == "none"  # not yet committed
    assert len(callbacks) == 1
    callbacks[0]()
    data = snapshot.current()
    assert data["status"]["indicator"] == "critical"
    assert data["seq"] == PageState.objects.get(pk=1).seq


def test_a_rolled_back_change_publishes_nothing(api, system, django_capture_on_commit_callbacks):
    before = counts()
    with django_capture_on_commit_callbacks() as callbacks, pytest.raises(RuntimeError), transaction.atomic():
        services.component_set_status(component=api, status="major_outage", actor=system)
        raise RuntimeError("the caller fails after the service")
    assert callbacks == []
    assert counts() == before


@pytest.mark.django_db(transaction=True)
def test_concurrent_writers_get_gapless_unique_sequence_numbers(roles):
    components = [ComponentFactory(name=f"C{i}") for i in range(2)]
    errors = []

    def writer(component):
        try:
            for i in range(10):
                status = "major_outage" if i % 2 == 0 else "operational"
                services.component_set_status(component=component, status=status, actor=services.Actor.system())
        except Exception as exc:  # surfaced below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=writer, args=(c,)) for c in components]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    seqs = list(PublicEvent.objects.values_list("seq", flat=True))
    assert seqs == list(range(1, 21))
    assert PageState.objects.get(pk=1).seq == 20


def test_the_demo_tells_the_2021_01_29_story():
    incident, maintenance = load_demo()
    assert incident.impact == "critical"
    assert incident.status == "postmortem"
    updates = list(incident.updates.all())
    assert [u.display_at.astimezone(HKT).strftime("%H:%M") for u in updates] == [
        "18:18",
        "18:05",
        "17:58",
        "17:40",
        "17:37",
    ]
    assert [u.status for u in updates] == ["resolved", "identified", "monitoring", "identified", "investigating"]
    from incidents.wire.statuspage import durations_json

    assert durations_json(incident) == {
        "time_to_identify": 180,
        "time_to_mitigate": 21 * 60,
        "time_to_resolve": 41 * 60,
    }
    perpetual = Component.objects.get(name="Perpetual contracts")
    assert list(perpetual.status_changes.values_list("new_status", flat=True)) == ["partial_outage", "operational"]
    assert set(Component.objects.values_list("status", flat=True)) == {"operational"}
    assert maintenance.status == "scheduled" and maintenance.scheduled_for > timezone.now()


def test_the_demo_loads_once():
    load_demo()
    before = counts()
    load_demo()
    assert counts() == before


def test_history_keyset_pages_cover_every_incident_once_even_when_start_times_tie(roles):
    """Pages meet where several incidents share a start time: none lost, none repeated."""
    from incidents import selectors

    same = timezone.now() - timedelta(hours=3)
    made = []
    for i in range(7):
        incident = open_incident(name=f"Tie {i}", minutes_ago=0 if i < 5 else 600 + i)
        if i < 5:
            Incident.objects.filter(pk=incident.pk).update(started_at=same)
        made.append(incident.pk)
    seen, cursor = [], None
    while True:
        page = selectors.history(cursor=cursor, limit=2)
        seen += [i.pk for i in page.items]
        if page.next_cursor is None:
            break
        cursor = page.next_cursor
    expected = list(Incident.objects.order_by("-started_at", "-id").values_list("pk", flat=True))
    assert seen == expected
    assert sorted(seen) == sorted(made)
    maintenance_only = selectors.history(kind=Incident.Kind.MAINTENANCE)
    assert maintenance_only.items == []


def test_the_prepared_first_history_page_is_the_keyset_query_s_first_page(roles):
    """The snapshot's first page (served from memory) and the query's must agree, across
    both kinds and past a page's worth of incidents."""
    from incidents import selectors
    from incidents.wire import statuspage as v2

    for i in range(selectors.HISTORY_PAGE + 3):
        open_incident(name=f"Incident {i}", minutes_ago=10 * i)
        if i % 5 == 0:
            started = schedule_maintenance(name=f"Maintenance {i}", hours_ahead=-(i + 1) / 10)
            services.maintenance_start(maintenance=started, actor=services.Actor.system())
    # Upcoming maintenance is not history: left out of both.
    upcoming = schedule_maintenance(name="Upcoming", hours_ahead=2)
    data = site.refresh()
    queried = selectors.history()
    assert data["history"]["incidents"] == [v2.incident_json(i) for i in queried.items]
    assert data["history"]["next_cursor"] == queried.next_cursor
    assert len(data["history"]["incidents"]) == selectors.HISTORY_PAGE
    assert {entry["kind"] for entry in data["history"]["incidents"]} == {"incident", "maintenance"}
    assert upcoming.public_id not in {entry["id"] for entry in data["history"]["incidents"]}


def test_the_first_history_page_is_right_when_most_recent_maintenance_is_upcoming(roles):
    """So much scheduled that the snapshot's maintenances are nearly all upcoming: the page
    is still the keyset query's."""
    from incidents import selectors
    from incidents.wire import statuspage as v2

    for i in range(selectors.HISTORY_PAGE + 5):
        open_incident(name=f"Incident {i}", minutes_ago=60 * 24 * 30 + i)
    done = schedule_maintenance(name="Done", hours_ahead=-1)
    services.maintenance_start(maintenance=done, actor=services.Actor.system())
    for i in range(selectors.RECENT_LIMIT):
        schedule_maintenance(name=f"Upcoming {i}", hours_ahead=24 + i)
    data = site.refresh()
    queried = selectors.history()
    assert data["history"]["incidents"] == [v2.incident_json(i) for i in queried.items]
    assert data["history"]["next_cursor"] == queried.next_cursor
    assert data["history"]["incidents"][0]["name"] == "Done"
