"""The envelope of every public change: who makes it, its transaction, and what happens after commit.

Each service runs in `public_change()`: one transaction that first locks the page's
sequence row, so the numbered `PublicEvent`s of every change are handed out and committed
in order, and a reader resuming after `seq` never skips one committed late. The
notifications the change asks for are written to the outbox in the same transaction.

Only after commit, `after_public_change()`: the hubs are told, the snapshot is rebuilt
and this node's files published, the hubs are told again (every node's processes publish
their own files when they hear), and the notification dispatcher is kicked. This is the one
after-commit contract of every write.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime

from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction
from django.utils import timezone, translation

from .. import languages
from ..models import PageState, PublicEvent
from ..notify import outbox
from ..notify.types import Notice
from ..publish import hub, site

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Actor:
    """Who makes a change, for the audit log: a user, a token's user, or the system."""

    user: AbstractBaseUser | None
    label: str
    # Where the change came from, for the audit (AuditEntry.Via): admin, api, task, …
    via: str = "system"
    token_id: int | None = None  # the API token, when through the API
    address: str | None = None  # the client's IP address, when from a request

    @classmethod
    def system(cls, via: str = "system") -> Actor:
        """No person: a scheduled task (`via="task"`), a command, the system itself, or a
        reader's own public action (`via="public"`)."""
        return cls(None, "system", via)

    @classmethod
    def integration(cls, token, *, address: str | None = None) -> Actor:
        """A monitoring integration (Alertmanager) through its token: never a person."""
        return cls(None, f"integration ({token.name})", "integration", token.pk, address)

    @classmethod
    def of(cls, user: AbstractBaseUser, *, via: str = "admin", token=None, address: str | None = None) -> Actor:
        """A person, through the admin or (with the API `token` they used) the API."""
        label = user.get_username() + (f" (token {token.name})" if token is not None else "")
        return cls(user, label, via, token.pk if token is not None else None, address)


class PublicChange:
    """The numbered events of one service call, written in its transaction."""

    def __init__(self, state: PageState, now: datetime):
        self.state = state
        self.now = now
        self.events: list[PublicEvent] = []
        self.notices: list[Notice] = []

    def notify(self, kind: str, event: PublicEvent, **about) -> None:
        """Tell subscribers of this event; written to the outbox when the change is done."""
        self.notices.append(Notice(kind, event=event, payload=dict(event.payload), **about))

    def emit(self, kind: str, action: str, payload: dict, *, incident=None, component=None) -> PublicEvent:
        self.state.seq += 1
        event = PublicEvent.objects.create(
            seq=self.state.seq,
            kind=kind,
            action=action,
            incident=incident,
            component=component,
            payload=payload,
            created_at=self.now,
        )
        self.events.append(event)
        return event


@contextlib.contextmanager
def public_change() -> Iterator[PublicChange]:
    """Open a transaction that holds the sequence lock; schedule the after-commit work.

    What the change asked to tell subscribers is written to the outbox in the same
    transaction; the dispatcher is kicked after commit.
    """
    # Whatever language the request came in (an operator's admin in Chinese), the fields
    # written here are the default language's; translations are written by name
    # (services.translations).
    with translation.override(languages.default()), transaction.atomic():
        state = PageState.objects.select_for_update().filter(pk=1).first()
        if state is None:
            state, _ = PageState.objects.get_or_create(pk=1)
            state = PageState.objects.select_for_update().get(pk=1)
        change = PublicChange(state, timezone.now())
        yield change
        if change.events:
            state.updated_at = change.now
            state.save(update_fields=["seq", "updated_at"])
            _after_commit_once()
        outbox.record(change.notices, now=change.now, kick_after_commit=False)


def _after_commit_once() -> None:
    """Schedule `after_public_change` for this transaction's commit, so that several public
    changes in one transaction (an emergency maintenance scheduled and started, the demo's
    reopening) make one rebuild and one push, not one each.

    Each change still registers its hook (a savepoint rolled back takes its own along);
    the hooks of one transaction share a count, and a hook that finds every change
    registered so far covered by an earlier one of them does nothing."""
    connection = transaction.get_connection()
    batch = getattr(connection, "_public_changes", None)
    if batch is None or batch["hooks"] is not connection.run_on_commit:
        # Django starts a new hook list for each transaction (and after each commit).
        batch = {"hooks": connection.run_on_commit, "registered": 0, "covered": 0}
        connection._public_changes = batch
    batch["registered"] += 1

    def run() -> None:
        if batch["covered"] >= batch["registered"]:
            return
        batch["covered"] = batch["registered"]
        after_public_change()

    transaction.on_commit(run)


# How long the writer waits for its own process's event streams before it rebuilds.
FAN_OUT_SETTLE = 1.0


def after_public_change() -> None:
    """Runs after a commit that made public changes: push the news, rebuild the snapshot.

    The hubs are told twice: first at once, so event streams carry the change without
    waiting for the snapshot, then after the rebuild, for what is drawn from it (pages,
    OKX rows). A failure here never undoes the committed change; it is logged, and the
    hubs and the periodic refresh rebuild from the database.
    """
    hub.publish(settle=FAN_OUT_SETTLE)
    try:
        # This node's files too, before the hubs are told: a reader sent to reload gets them.
        site.refresh()
    except Exception:
        logger.exception("snapshot rebuild after commit failed; the hubs and the periodic refresh will retry")
    hub.publish()
    outbox.kick_if_recorded()
