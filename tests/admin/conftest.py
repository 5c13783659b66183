"""A relay with two handlers (tests/bot/relay_env.py), sources onboarded through telesim."""

from __future__ import annotations

import pytest

from telesim import TelegramSimulator
from tests.bot.relay_env import make_env


@pytest.fixture(autouse=True)
def _no_per_chat_pause(monkeypatch: pytest.MonkeyPatch) -> None:
    """Telegram's one message a second per chat is tested elsewhere; here it only waits."""
    monkeypatch.setattr("bot.delivery.PER_CHAT_INTERVAL", 0.0)


@pytest.fixture
async def sim():
    async with TelegramSimulator() as sim:
        yield sim


@pytest.fixture
async def env(tmp_path, sim):
    env = await make_env(tmp_path, sim)
    pace = env.relay.delivery.pace
    if hasattr(pace, "per_chat_interval"):
        pace.per_chat_interval = 0.0
    yield env
    await env.bot.shutdown()
    await env.store.close()
