"""A relay with two handlers (tests/bot/relay_env.py), sources onboarded through telesim."""

from __future__ import annotations

import pytest

from telesim import TelegramSimulator
from tests.bot.relay_env import make_env


@pytest.fixture
async def sim():
    async with TelegramSimulator() as sim:
        yield sim


@pytest.fixture
async def env(tmp_path, sim):
    env = await make_env(tmp_path, sim)
    yield env
    await env.bot.shutdown()
    await env.store.close()
