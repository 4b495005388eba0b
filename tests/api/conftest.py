import pytest

from incidents import services


@pytest.fixture
def write_token(operator):
    """A write token of an operator, as an integration holds one."""
    return services.api_token_create(user=operator, name="automation", scope="write")[1]
