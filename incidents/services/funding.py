"""Deposits and withdrawals: assets, their networks, and each network's status.

`funding_set` is one change for any number of networks (an operator suspending every
ERC20 withdrawal does it once): each network that changes is audited, numbered, pushed
and told to the webhooks of its asset (and of the whole page), in the change's
transaction like every other public change.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from django.core.exceptions import ValidationError
from django.utils import timezone

from .. import languages, rules
from ..models import Asset, Network, Notification, PublicEvent
from ..wire import statuspage as v2
from ..wire.time import iso
from . import audit, checks
from . import translations as localized
from .change import Actor, public_change
from .translations import Translations

# What an operator sets on a network (besides its names).
FUNDING_FIELDS = ("deposit", "withdrawal", "expected_at", "note")
UNSET = object()


def asset_save(
    *,
    actor: Actor,
    asset: Asset | None = None,
    translations: Translations | None = None,
    **fields,
) -> Asset:
    """Create or change an asset (`symbol`, `name`, `position`; `translations` of `name`).
    After commit: snapshot rebuilt, change pushed."""
    unknown = set(fields) - {"symbol", "name", "position"}
    if unknown:
        raise TypeError(f"unknown asset fields: {sorted(unknown)}")
    if "symbol" in fields:
        fields["symbol"] = checks.name(fields["symbol"], "symbol", max_length=20).upper()
    if "name" in fields:
        fields["name"] = checks.name(fields["name"], "name", max_length=80)
    translated = localized.check(translations, {"name": 80})
    with public_change() as change:
        asset = asset or Asset()
        creating = asset.pk is None
        if "symbol" in fields and Asset.objects.filter(symbol=fields["symbol"]).exclude(pk=asset.pk).exists():
            raise checks.Conflict({"symbol": f"There is an asset {fields['symbol']} already."})
        before = audit.fields_of(asset, [*fields, *localized.columns("name")])
        for name, value in fields.items():
            setattr(asset, name, value)
        localized.apply(asset, translated)
        asset.full_clean()
        asset.save()
        audit.record(actor, "asset.create" if creating else "asset.edit", asset, changes=audit.changed(before, asset))
        change.emit(PublicEvent.Kind.FUNDING, "asset_saved", {"asset": {"symbol": asset.symbol, "name": asset.name}})
    return asset


def network_save(
    *,
    actor: Actor,
    network: Network | None = None,
    translations: Translations | None = None,
    **fields,
) -> Network:
    """Create or change a network of an asset (`asset`, `code`, `name`, `position`). Its
    status moves only through `funding_set`. After commit: snapshot rebuilt, change pushed."""
    unknown = set(fields) - {"asset", "code", "name", "position"}
    if unknown:
        raise TypeError(f"unknown network fields: {sorted(unknown)}")
    if "code" in fields:
        fields["code"] = checks.name(fields["code"], "code", max_length=20)
    if "name" in fields:
        fields["name"] = checks.name(fields["name"], "name", required=False, max_length=80)
    translated = localized.check(translations, {"name": 80})
    with public_change() as change:
        network = network or Network()
        creating = network.pk is None
        asset, code = fields.get("asset", getattr(network, "asset", None)), fields.get("code", network.code)
        if asset is not None and Network.objects.filter(asset=asset, code=code).exclude(pk=network.pk).exists():
            raise checks.Conflict({"code": f"{asset.symbol} has a network {code} already."})
        watched = [*fields, *localized.columns("name")]
        before = dict.fromkeys(watched) if creating else audit.fields_of(network, watched)
        for name, value in fields.items():
            setattr(network, name, value)
        localized.apply(network, translated)
        network.full_clean()
        network.save()
        audit.record(
            actor, "network.create" if creating else "network.edit", network, changes=audit.changed(before, network)
        )
        change.emit(PublicEvent.Kind.FUNDING, "network_saved", {"funding": v2.network_json(network)})
    return network


def _expected(value) -> datetime | None:
    if value is None:
        return None
    if not isinstance(value, datetime):
        raise ValidationError({"expected_at": "Enter a date and time."})
    if timezone.is_naive(value):
        raise ValidationError({"expected_at": "Give a time zone (for example 2021-01-29T20:00:00+08:00)."})
    if not checks.EARLIEST <= value < checks.LATEST:
        raise ValidationError({"expected_at": "Give a time between the years 2000 and 2099."})
    return value


def funding_set(
    *,
    actor: Actor,
    networks: Iterable[Network],
    deposit: str | None = None,
    withdrawal: str | None = None,
    expected_at=UNSET,
    note: str | None = None,
    translations: Translations | None = None,
) -> list[Network]:
    """Set the deposit and/or withdrawal status of every network given, in one change.

    `expected_at` (when it is expected back) and `note` (a line for readers; `translations`
    of it) are set as given; a network back to normal both ways keeps neither. Returns the
    networks that changed. After commit: snapshot rebuilt, change pushed, webhooks told."""
    errors = {}
    for field, value in (("deposit", deposit), ("withdrawal", withdrawal)):
        if value is not None and value not in rules.FUNDING_STATUSES:
            errors[field] = f"'{value}' is not a funding status; use one of {', '.join(rules.FUNDING_STATUSES)}."
    if errors:
        raise ValidationError(errors)
    if expected_at is not UNSET:
        expected_at = _expected(expected_at)
    if note is not None:
        note = checks.name(note, "note", required=False, max_length=300)
    translated = localized.check(translations, {"note": 300})
    wanted = [n.pk for n in networks]
    if not wanted:
        raise ValidationError({"networks": "Choose at least one network."})
    changed = []
    with public_change() as change:
        for network in Network.objects.select_for_update().select_related("asset").filter(pk__in=wanted):
            before = audit.fields_of(network, [*FUNDING_FIELDS, *localized.columns("note")])
            old = {"deposit": network.deposit, "withdrawal": network.withdrawal}
            if deposit is not None:
                network.deposit = deposit
            if withdrawal is not None:
                network.withdrawal = withdrawal
            if expected_at is not UNSET:
                network.expected_at = expected_at
            if note is not None:
                network.note = note
                localized.apply(network, translated)
            if rules.funding_is_normal(network.deposit, network.withdrawal):
                network.expected_at = None
                network.note = ""
                localized.apply(network, {code: {"note": ""} for code in languages.others()})
            edits = audit.changed(before, network)
            if not edits:
                continue
            network.save()
            audit.record(actor, "funding.set", network, changes=edits)
            payload = {
                "funding": v2.network_json(network),
                "funding_update": {
                    "old": old,
                    "new": {"deposit": network.deposit, "withdrawal": network.withdrawal},
                    "created_at": iso(change.now),
                },
            }
            event = change.emit(PublicEvent.Kind.FUNDING, "network_updated", payload)
            change.notify(Notification.Kind.FUNDING_UPDATED, event, asset=network.asset)
            changed.append(network)
    return changed
