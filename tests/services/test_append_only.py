"""The public event log, the component status log and the audit are append-only in the database
itself (issue #12): every way of rewriting a row is refused, raw SQL included."""

import pytest
from django.core.management import call_command
from django.db import DatabaseError, connection, transaction
from django.db.models import ProtectedError, QuerySet

from incidents import services
from incidents.models import AuditEntry, ComponentStatusChange, PublicEvent, TradingModeChange

from ..factories import ComponentFactory

pytestmark = pytest.mark.django_db(transaction=True)

SYSTEM = services.Actor.system()
# A column of each to forge, and the statements an attacker with raw SQL would run.
FORGE = {
    PublicEvent: "action",
    ComponentStatusChange: "actor_label",
    AuditEntry: "username",
    TradingModeChange: "new_mode",
}
RAW = {
    PublicEvent: (
        "UPDATE incidents_publicevent SET action = 'forged'",
        "DELETE FROM incidents_publicevent WHERE seq = (SELECT max(seq) FROM incidents_publicevent)",
        "DELETE FROM incidents_publicevent",
    ),
    ComponentStatusChange: (
        "UPDATE incidents_componentstatuschange SET new_status = 'operational'",
        "DELETE FROM incidents_componentstatuschange WHERE id = (SELECT max(id) FROM incidents_componentstatuschange)",
        "DELETE FROM incidents_componentstatuschange",
    ),
    AuditEntry: (
        "UPDATE incidents_auditentry SET username = 'someone else'",
        "DELETE FROM incidents_auditentry WHERE id = (SELECT max(id) FROM incidents_auditentry)",
        "DELETE FROM incidents_auditentry",
    ),
    TradingModeChange: (
        "UPDATE incidents_tradingmodechange SET new_mode = 'normal'",
        "DELETE FROM incidents_tradingmodechange",
    ),
}


@pytest.fixture
def logged(roles):
    component = ComponentFactory(name="Spot trading", trading=True)
    services.component_set_trading_mode(component=component, trading_mode="halted", actor=SYSTEM)
    services.component_set_status(component=component, status="major_outage", actor=SYSTEM)
    return PublicEvent.objects.order_by("-seq").first(), ComponentStatusChange.objects.get()


def refused(attempt) -> str:
    with pytest.raises(DatabaseError) as caught, transaction.atomic():
        attempt()
    return str(caught.value)


def raw(sql: str) -> None:
    with connection.cursor() as cursor:
        cursor.execute(sql)


@pytest.mark.parametrize("model", [PublicEvent, ComponentStatusChange, AuditEntry, TradingModeChange])
def test_every_way_of_rewriting_a_row_is_refused_by_the_database(logged, model):
    row = model.objects.order_by("pk").last()
    before = list(model._base_manager.values())
    forged = {FORGE[model]: "forged"}

    assert "append-only" in refused(lambda: model._base_manager.filter(pk=row.pk).update(**forged))
    assert "append-only" in refused(lambda: QuerySet(model).filter(pk=row.pk).update(**forged))
    assert "append-only" in refused(lambda: QuerySet(model).filter(pk=row.pk)._raw_delete(connection.alias))
    for sql in RAW[model]:
        assert "append-only" in refused(lambda sql=sql: raw(sql)), sql
    assert list(model._base_manager.values()) == before


def test_deleting_what_an_event_points_to_is_refused_not_rewritten(logged):
    event, _ = logged
    with pytest.raises(ProtectedError):
        event.component.delete()
    assert PublicEvent.objects.get(seq=event.seq).component_id == event.component_id


def test_a_wipe_of_the_whole_database_still_works(logged):
    call_command("flush", interactive=False, verbosity=0)
    assert not PublicEvent.objects.exists() and not ComponentStatusChange.objects.exists()
    assert not AuditEntry.objects.exists() and not TradingModeChange.objects.exists()
