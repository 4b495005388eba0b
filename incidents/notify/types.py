"""What notification code passes around: a notice to write to the outbox, and the outcome
of one delivery attempt."""

from __future__ import annotations

from dataclasses import dataclass, field

from ..models import Asset, Component, Incident, IncidentUpdate, Notification, PublicEvent, Subscriber

Kind = Notification.Kind

# Kinds sent to one subscriber by email, whatever the subscriber's kind.
DIRECT_EMAIL_KINDS = {Kind.SUBSCRIPTION_CONFIRM, Kind.SUBSCRIPTION_EXISTING, Kind.WEBHOOK_QUARANTINED}
WEBHOOK_ONLY_KINDS = {Kind.COMPONENT_UPDATED, Kind.FUNDING_UPDATED}
# What a delivery attempt keeps of an error (the log's column width).
ERROR_CHARS = 500


@dataclass
class Notice:
    """Something to tell, noted by a service before it is written to the outbox."""

    kind: str
    event: PublicEvent | None = None
    incident: Incident | None = None
    update: IncidentUpdate | None = None
    component: Component | None = None
    recipient: Subscriber | None = None
    asset: Asset | None = None
    payload: dict = field(default_factory=dict)


@dataclass(frozen=True)
class Outcome:
    """What one attempt came to."""

    delivered: bool
    status_code: int | None = None
    error: str = ""
    retry_after: float | None = None
    gone: bool = False
    address: str = ""
    excerpt: str = ""
