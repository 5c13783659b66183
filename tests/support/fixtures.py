"""The relay fixtures the bot and admin tests share (their conftests import them).

``sim``: a running telesim. ``env``: a relay on a fresh world against it (tests/support/
relay_env.py), closed afterwards; options for one test's relay come from
``@pytest.mark.relay_config(...)`` ([relay] configuration keys and ``make_env``'s own
options, ``backoff=``, ``pace=``). ``source``: a source who finished onboarding in English.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from telesim import TelegramSimulator

from .relay_env import Onboarded, RelayEnv, onboard, running_env

__all__ = ["env", "register_relay_config", "sim", "source"]


def register_relay_config(config: pytest.Config) -> None:
    """Declare the ``relay_config`` marker (call from a conftest's ``pytest_configure``)."""
    config.addinivalue_line(
        "markers", "relay_config(**options): [relay] keys and make_env options for `env`"
    )


@pytest.fixture
async def sim() -> AsyncIterator[TelegramSimulator]:
    async with TelegramSimulator() as sim:
        yield sim


@pytest.fixture
async def env(tmp_path, sim, request: pytest.FixtureRequest) -> AsyncIterator[RelayEnv]:
    marker = request.node.get_closest_marker("relay_config")
    options = dict(marker.kwargs) if marker else {}
    async with running_env(tmp_path, sim, **options) as env:
        yield env


@pytest.fixture
async def source(env: RelayEnv, sim: TelegramSimulator) -> Onboarded:
    """A source who finished onboarding in English and may now write."""
    return await onboard(env, sim)
