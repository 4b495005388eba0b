"""The fault suite: the production stack (deploy/run, tests/stack.py) on the test services,
broken for real on loopback (processes killed, load past the budget), each fault bounded
in time and requests."""

import contextlib

import httpx
import pytest

from ..stack import manage, production_stack


@pytest.fixture
def start_stack(postgres_url, redis_url, broker_url):
    """`start_stack(**env)` starts deploy/run with these settings on top of the defaults;
    stopped at the end of the test."""
    with contextlib.ExitStack() as stacks:

        def start(**env):
            return stacks.enter_context(production_stack(postgres_url, redis_url, broker_url, **env))

        yield start


def write_token(stack) -> str:
    """A write token for the v1 API, made as an operator makes one."""
    manage(stack.env, "ensure_admin")
    return manage(stack.env, "create_api_token", "admin", "--write").strip()


def components(stack) -> list[str]:
    """The ids of the page's components (not their groups)."""
    listed = httpx.get(stack.base + "/api/v2/components.json", timeout=10).json()["components"]
    return [c["id"] for c in listed if not c.get("group")]
