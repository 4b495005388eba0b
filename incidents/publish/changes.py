"""What a hub reads and renders for one look, in a worker thread (both touch the database).

`load` finds what is new since the hub's last push: the public events after its `seq`
and the current snapshot (rebuilt here if the writer died before rebuilding it).
`render` publishes this node's files and turns a new snapshot into what the pages are
sent, once for every socket.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

from .. import selectors
from ..models import PageState
from . import documents, regions, site, snapshot

# When the snapshot lags the event log this long, the hub rebuilds it itself.
SNAPSHOT_LAG_GRACE = 5.0
# Events read in one look; the rest on the next.
EVENTS_PER_LOOK = 1000


def current_seq() -> int:
    return PageState.objects.filter(pk=1).values_list("seq", flat=True).first() or 0


@dataclass
class Lag:
    """Since when the snapshot has been behind the event log (None: it is not)."""

    since: float | None = None


@dataclass(frozen=True)
class Changes:
    key: tuple  # (seq, built_at) of the snapshot now current
    upto: int  # the last seq these events cover
    events: list
    data: dict  # the snapshot


def load(*, seq: int | None, snapshot_key: tuple | None, lag: Lag) -> Changes | None:
    """The events after `seq` and the current snapshot; None when nothing is new."""
    state_seq = current_seq()
    data = snapshot.current()
    if data["seq"] < state_seq:
        # Another process (a Celery worker, with no shared cache in `make run`) may have
        # stored a newer snapshot in the database.
        data = snapshot.load_stored(at_least=state_seq) or data
    if data["seq"] < state_seq:
        # The writer rebuilds right after it publishes; if it did not (it died), do it here.
        now = time.monotonic()
        lag.since = lag.since or now
        if now - lag.since > SNAPSHOT_LAG_GRACE:
            data = snapshot.rebuild()
    else:
        lag.since = None
    key = (data["seq"], data["built_at"])
    if key == snapshot_key and state_seq == seq:
        return None
    events, upto = [], state_seq
    if seq is not None and state_seq > seq:
        page = selectors.events_since(seq, limit=EVENTS_PER_LOOK)
        events = [e for e in page.events if e.seq <= state_seq]
        if page.has_more and events:
            upto = events[-1].seq  # the rest on the next look
    return Changes(key, upto, events, data)


@dataclass(frozen=True)
class PageMessages:
    home: str | None  # None: the home page is unchanged, or nobody watches it
    incidents: dict[str, str] = field(default_factory=dict)  # incident id -> its article
    history_changed: bool = False


def render(*, changes: Changes, events: list, previous_key: tuple | None, watched: set[str], any_page: bool):
    """The pages' messages and the hot path's bytes, once each. `watched`: the incidents
    that page sockets follow."""
    data = changes.data
    documents.for_snapshot(data)
    site.publish(data)  # this node's files, unless another of its processes just did
    home = regions.page_message(data) if changes.key != previous_key and any_page else None
    touched = {e.incident.public_id for e in events if e.incident_id}
    return PageMessages(
        home=home,
        incidents={pid: site.incident_message(pid, data) for pid in touched & watched},
        history_changed=bool(touched),
    )
