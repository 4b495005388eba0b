"""The services write each language: given translations, and the page's own words."""

from datetime import timedelta

import pytest
from django.utils import timezone, translation

from incidents import services
from incidents.models import Incident

from ..factories import ComponentFactory

pytestmark = pytest.mark.django_db

SYSTEM = services.Actor.system()


def test_a_maintenance_moved_without_words_gets_the_statuss_own_words_in_every_language(roles):
    start = timezone.now() + timedelta(hours=1)
    maintenance = services.maintenance_schedule(
        actor=SYSTEM,
        name="Wallet upgrade",
        body="Deposits pause for an hour.",
        scheduled_for=start,
        scheduled_until=start + timedelta(hours=1),
        components=[ComponentFactory()],
        translations={"zh-hans": {"name": "钱包升级"}},
    )
    services.maintenance_start(maintenance=maintenance, actor=SYSTEM)
    update = Incident.objects.get(pk=maintenance.pk).updates.order_by("display_at", "pk").last()
    assert update.body_en == "Scheduled maintenance is in progress. We will provide updates as necessary."
    assert update.body_zh_hans and update.body_zh_hans != update.body_en
    assert update.body_zh_hant and update.body_zh_hant not in (update.body_en, update.body_zh_hans)


def test_a_write_made_while_another_language_is_active_writes_the_default_languages_text(roles):
    with translation.override("zh-hant"):
        incident = services.incident_open(actor=SYSTEM, name="Login errors", body="Some logins fail.")
    incident = Incident.objects.get(pk=incident.pk)
    assert (incident.name_en, incident.name_zh_hant) == ("Login errors", None)
    assert incident.updates.get().body_en == "Some logins fail."


def test_a_reschedule_note_is_written_in_every_language(roles):
    start = timezone.now() + timedelta(days=1)
    maintenance = services.maintenance_schedule(
        actor=SYSTEM, name="Engine", body="Upgrade.", scheduled_for=start, scheduled_until=start + timedelta(hours=1)
    )
    services.maintenance_reschedule(
        maintenance=maintenance,
        actor=SYSTEM,
        scheduled_for=start + timedelta(days=1),
        scheduled_until=start + timedelta(days=1, hours=2),
    )
    maintenance = Incident.objects.get(pk=maintenance.pk)
    assert maintenance.reschedule_note_en.startswith("Rescheduled from")
    assert maintenance.reschedule_note_zh_hans and not maintenance.reschedule_note_zh_hans.startswith("Rescheduled")
    latest = maintenance.updates.order_by("display_at", "pk").last()
    assert latest.body_zh_hant == f"{maintenance.reschedule_note_zh_hant}."
