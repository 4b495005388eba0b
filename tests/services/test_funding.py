"""Deposits and withdrawals per asset and network (issue #14): one change for many
networks, audited and numbered, published (the page's section, /api/v2/funding.json and
the short list), and told to the webhooks that follow the asset."""

from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from incidents import services
from incidents.models import AuditEntry, Network, Notification, PublicEvent
from incidents.notify import delivery as notify_delivery
from incidents.publish import documents, site, snapshot

from ..notify.test_webhooks import fan_out_all, subscribe

pytestmark = pytest.mark.django_db

SYSTEM = services.Actor.system()


@pytest.fixture
def assets(roles):
    usdt = services.asset_save(actor=SYSTEM, symbol="usdt", name="Tether USD")
    eth = services.asset_save(actor=SYSTEM, symbol="ETH", name="Ethereum")
    networks = {
        "USDT:ERC20": services.network_save(actor=SYSTEM, asset=usdt, code="ERC20", name="Ethereum (ERC20)"),
        "USDT:TRC20": services.network_save(actor=SYSTEM, asset=usdt, code="TRC20", name="TRON (TRC20)"),
        "ETH:ERC20": services.network_save(actor=SYSTEM, asset=eth, code="ERC20", name="Ethereum (ERC20)"),
    }
    return usdt, eth, networks


def test_suspending_every_erc20_withdrawal_is_one_change(assets):
    usdt, _, networks = assets
    assert usdt.symbol == "USDT"
    erc20 = [networks["USDT:ERC20"], networks["ETH:ERC20"]]
    before = PublicEvent.objects.order_by("-seq").first().seq
    back = timezone.now() + timedelta(hours=2)
    changed = services.funding_set(
        actor=SYSTEM,
        networks=erc20,
        withdrawal="suspended",
        expected_at=back,
        note="Ethereum network congestion.",
        translations={"zh-hans": {"note": "以太坊网络拥堵。"}},
    )
    assert {n.pk for n in changed} == {n.pk for n in erc20}
    events = list(PublicEvent.objects.filter(seq__gt=before).order_by("seq"))
    assert [(e.kind, e.action) for e in events] == [("funding", "network_updated")] * 2
    assert events[0].payload["funding_update"]["new"] == {"deposit": "enabled", "withdrawal": "suspended"}
    assert AuditEntry.objects.filter(action="funding.set").count() == 2
    assert Notification.objects.filter(kind="funding.updated").count() == 2

    data = snapshot.rebuild()
    issues = data["funding_issues"]
    # Equally bad: in page order (assets by position, then symbol).
    assert [(n["asset"], n["network"], n["withdrawal"]) for n in issues] == [
        ("ETH", "ERC20", "suspended"),
        ("USDT", "ERC20", "suspended"),
    ]
    assert issues[1]["note"] == "Ethereum network congestion."
    assert data["languages"]["zh-hans"]["funding_issues"][1]["note"] == "以太坊网络拥堵。"
    # Funding is its own section: the banner is about trading and the platform.
    assert data["status"]["indicator"] == "none"

    # Back to normal both ways: nothing expected, no note, off the short list.
    services.funding_set(actor=SYSTEM, networks=erc20, withdrawal="enabled")
    network = Network.objects.get(pk=networks["USDT:ERC20"].pk)
    assert (network.expected_at, network.note, network.note_zh_hans or "") == (None, "", "")
    assert snapshot.rebuild()["funding_issues"] == []


def test_bad_funding_input_is_refused_by_field_and_nothing_is_written(assets):
    _, _, networks = assets
    seq = PublicEvent.objects.order_by("-seq").first().seq
    for kwargs, field in (
        ({"withdrawal": "closed"}, "withdrawal"),
        ({"deposit": "off"}, "deposit"),
        ({"expected_at": timezone.now().replace(tzinfo=None)}, "expected_at"),
        ({"note": "two\nlines"}, "note"),
    ):
        with pytest.raises(ValidationError) as refused:
            services.funding_set(actor=SYSTEM, networks=[networks["USDT:TRC20"]], **kwargs)
        assert set(refused.value.message_dict) == {field}
    with pytest.raises(ValidationError) as refused:
        services.funding_set(actor=SYSTEM, networks=[], withdrawal="suspended")
    assert set(refused.value.message_dict) == {"networks"}
    with pytest.raises(services.Conflict) as twice:
        services.network_save(actor=SYSTEM, asset=networks["USDT:TRC20"].asset, code="TRC20")  # one per asset
    assert set(twice.value.message_dict) == {"code"}
    assert PublicEvent.objects.order_by("-seq").first().seq == seq


def test_the_published_reads_and_the_page_show_what_is_not_normal(client, assets):
    _, _, networks = assets
    site.refresh()
    home = client.get("/").content.decode()
    assert "Deposits and withdrawals work normally on every network." in home
    services.funding_set(actor=SYSTEM, networks=[networks["USDT:TRC20"]], deposit="delayed", withdrawal="suspended")
    site.refresh()
    issues = client.get("/api/v2/funding/issues.json").json()
    (row,) = issues["networks"]
    assert (row["asset"], row["network"], row["deposit"], row["withdrawal"]) == (
        "USDT",
        "TRC20",
        "delayed",
        "suspended",
    )
    full = client.get("/api/v2/funding.json").json()
    assert [a["symbol"] for a in full["assets"]] == ["ETH", "USDT"]
    assert sum(len(a["networks"]) for a in full["assets"]) == 3
    home = client.get("/").content.decode()
    assert 'data-network="USDT:TRC20"' in home and "Withdrawals: Suspended" in home
    assert 'data-network="USDT:ERC20"' not in home  # the normal ones stay off the home page
    page = client.get("/funding").content.decode()
    assert all(f'data-network="{key}"' in page for key in networks)
    hans = client.get("/zh-hans/funding").content.decode()
    assert "提币：暂停" in hans and "充币：延迟" in hans
    # The same files nginx serves, in the published directory.
    assert documents.published_path("/api/v2/funding/issues.json", {}) == "api/v2/funding/issues.json"
    assert documents.published_path("/zh-hans/funding", {}) == "zh-hans/funding.html"


def test_a_webhook_following_one_asset_hears_of_it_and_no_other(assets, receiver):
    usdt, eth, networks = assets
    follows_usdt = subscribe(receiver, "/usdt", assets=[usdt])
    whole_page = subscribe(receiver, "/all")
    follows_eth = subscribe(receiver, "/eth", assets=[eth])
    services.funding_set(actor=SYSTEM, networks=[networks["USDT:ERC20"]], withdrawal="suspended")
    services.incident_open(actor=SYSTEM, name="Login failing", body="Investigating.")
    fan_out_all()
    assert follows_eth.deliveries.count() == 0  # neither USDT nor incidents: it follows ETH only
    assert whole_page.deliveries.count() == 2
    (delivery,) = follows_usdt.deliveries.all()
    assert notify_delivery.attempt(delivery.pk) == "delivered"
    (request,) = receiver.at("/usdt")
    assert request.verification_error == ""
    assert request.payload["funding"]["network"] == "ERC20" and request.payload["funding"]["withdrawal"] == "suspended"
    assert request.payload["funding_update"]["old"]["withdrawal"] == "enabled"
    assert request.payload["meta"]["event"] == "funding.updated"
