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
from ..models import PageState, PublicEvent
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
        if not snapshot.cache_is_shared():
            data = snapshot.load_newer_stored(data) or data
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
    # Per language; empty: the home page is unchanged, or nobody watches it.
    home: dict[str, str] = field(default_factory=dict)
    # (incident id, language) -> its article
    incidents: dict[tuple[str, str], str] = field(default_factory=dict)
    history_changed: bool = False
    funding_changed: bool = False


def render(
    *,
    changes: Changes,
    events: list,
    previous_key: tuple | None,
    watched: set[tuple[str, str]],
    home_languages: set[str],
):
    """The pages' messages and the hot path's bytes, once each per language. `watched`:
    the (incident, language) pairs page sockets follow; `home_languages`: the languages
    of the sockets on the home page."""
    data = changes.data
    # The default language's documents in memory (the hot path's bytes before the files
    # exist); the others are rendered where they are needed: by the one process that
    # publishes them, and for the languages page sockets watch.
    documents.for_snapshot(data)
    site.publish(data)  # this node's files, unless another of its processes just did
    home = {}
    if changes.key != previous_key:
        home = {code: regions.page_message(data, code) for code in home_languages}
    touched = {e.incident.public_id for e in events if e.incident_id}
    return PageMessages(
        home=home,
        incidents={(pid, code): site.incident_message(pid, data, code) for pid, code in watched if pid in touched},
        history_changed=bool(touched),
        funding_changed=any(e.kind == PublicEvent.Kind.FUNDING for e in events),
    )
