"""bench/http.py's data helper: bench history, bulk-inserted, and the snapshot rebuilt.

    .venv/bin/python bench/_http_setup.py history 100000
    .venv/bin/python bench/_http_setup.py cursor 90000   # the history cursor just before that one

Brings the number of bench incidents (public ids `bh…`) to the total asked for with
`bulk_create` of Incident and IncidentUpdate rows, three updates each (investigating,
identified, resolved), all resolved and older than the demo's 2021 outage, one every
30 minutes going back from 2020-12-31. This is NOT the services' write path (which would
take minutes for 100,000 incidents): it only fills history. Then it rebuilds the public
snapshot, as a service does after commit, so every process picks up the new state.

Runs with the project's settings (DJANGO_SETTINGS_MODULE, DATABASE_URL, … from the
environment bench/http.py gives it).
"""

from __future__ import annotations

import os
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

# The project first; this folder off the path (its http.py would hide the standard library's).
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).resolve().parent]
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "statuspage.settings")

PREFIX = "bh"
NEWEST = datetime(2020, 12, 31, tzinfo=UTC)
SPACING = timedelta(minutes=30)
BATCH = 2000
IMPACTS = ("minor", "major", "critical", "minor")
TIMELINE = (
    ("investigating", 0, "We are investigating elevated latency on order placement."),
    ("identified", 4, "A saturated cache node was identified and is being replaced."),
    ("resolved", 25, "Order latency is back to normal. We will publish a postmortem."),
)


def ensure_history(total: int) -> int:
    from django.db import transaction

    from incidents.models import Incident, IncidentUpdate

    have = Incident.objects.filter(public_id__startswith=PREFIX).count()
    made = 0
    for start in range(have, total, BATCH):
        stop = min(start + BATCH, total)
        incidents = []
        for n in range(start, stop):
            started = NEWEST - n * SPACING
            incidents.append(
                Incident(
                    public_id=f"{PREFIX}{n:010d}",
                    kind=Incident.Kind.INCIDENT,
                    name=f"Bench incident {n}: elevated order latency",
                    status=Incident.Status.RESOLVED,
                    impact=IMPACTS[n % len(IMPACTS)],
                    started_at=started,
                    identified_at=started + timedelta(minutes=4),
                    monitoring_at=started + timedelta(minutes=12),
                    resolved_at=started + timedelta(minutes=25),
                )
            )
        with transaction.atomic():
            Incident.objects.bulk_create(incidents)
            if any(i.pk is None for i in incidents):  # a backend that returns no ids
                ids = dict(
                    Incident.objects.filter(public_id__in=[i.public_id for i in incidents]).values_list(
                        "public_id", "pk"
                    )
                )
                for incident in incidents:
                    incident.pk = ids[incident.public_id]
            updates = []
            for incident in incidents:
                n = int(incident.public_id[len(PREFIX) :])
                for k, (status, minutes, body) in enumerate(TIMELINE):
                    updates.append(
                        IncidentUpdate(
                            public_id=f"{PREFIX}u{n:08d}{k}",  # 12 characters
                            incident=incident,
                            status=status,
                            body=body,
                            display_at=incident.started_at + timedelta(minutes=minutes),
                            deliver_notifications=False,
                        )
                    )
            IncidentUpdate.objects.bulk_create(updates)
        made += stop - start
    return made


def main() -> None:
    import django

    if len(sys.argv) != 3 or sys.argv[1] not in ("history", "cursor"):
        sys.exit(__doc__)
    if sys.argv[1] == "cursor":
        django.setup()
        from incidents import selectors
        from incidents.models import Incident

        incident = Incident.objects.get(public_id=f"{PREFIX}{int(sys.argv[2]):010d}")
        print(selectors.encode_cursor(incident))
        return
    total = int(sys.argv[2])
    if not 0 <= total < 10**8:
        sys.exit("between 0 and 10**8 incidents")
    django.setup()
    from incidents.models import Incident, IncidentUpdate
    from incidents.publish import snapshot

    began = time.monotonic()
    made = ensure_history(total)
    inserted = time.monotonic() - began
    snapshot.rebuild()
    print(
        f"bench history: {made} incidents bulk-inserted in {inserted:.1f} s "
        f"(now {Incident.objects.count()} incidents, {IncidentUpdate.objects.count()} updates); "
        f"snapshot rebuilt in {time.monotonic() - began - inserted:.2f} s",
        flush=True,
    )


if __name__ == "__main__":
    main()
