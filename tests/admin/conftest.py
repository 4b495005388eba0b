"""Fixtures of the admin tests."""

import pytest

from ..factories import ComponentFactory, ComponentGroupFactory


@pytest.fixture
def trading(db):
    group = ComponentGroupFactory(name="Trading")
    return {
        "spot": ComponentFactory(name="Spot trading", group=group),
        "perps": ComponentFactory(name="Perpetual contracts", group=group),
        "api": ComponentFactory(name="REST API", group=ComponentGroupFactory(name="API")),
    }


@pytest.fixture
def responder_client(client, operator):
    client.force_login(operator)
    return client
