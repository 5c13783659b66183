"""A new bot token (after BotFather's /revoke) reaches a running relay without a restart,
and neither token ever shows in its log."""

from __future__ import annotations

import asyncio

import pytest

from admin.enrolment import write_token
from store.keyfiles import write_key_file
from telesim import TelegramSimulator

from .relay_process import TOKEN, onboard, prepare

NEW_TOKEN = "7012345678:AAG-new-token-after-revoke-0123456789"


@pytest.fixture
async def sim():
    async with TelegramSimulator(token=TOKEN) as sim:
        yield sim


async def test_token_swapped_while_running(tmp_path, sim):
    relay = await prepare(tmp_path, sim, telegram_toml="token_file = 'bot-token'\n")
    write_key_file(tmp_path / "bot-token", TOKEN.encode() + b"\n")
    user = sim.add_user(first_name="Tok")
    await relay.start(log_level="debug")
    try:
        case_id = await onboard(user, timeout=30)
        sim.world.bot.token = NEW_TOKEN  # /revoke: the old token stops working
        await user.send_text("sent around the revocation")
        write_token(tmp_path / "bot-token", NEW_TOKEN)
        for _ in range(300):
            if "switched to a new bot token" in relay.log_text():
                break
            await asyncio.sleep(0.1)
        await user.send_text("sent with the new token")
        texts: list[str | None] = []
        for _ in range(300):  # stored, not just acknowledged: one ack covers a burst
            texts = [m.text for m in await relay.source_messages(case_id)]
            if "sent with the new token" in texts:
                break
            await asyncio.sleep(0.1)
        assert "sent around the revocation" in texts  # stored even if its ack was lost
        assert "sent with the new token" in texts
        assert await relay.stop() == 0
    finally:
        await relay.kill()
    log = relay.log_text()
    assert "switched to a new bot token" in log
    for token in (TOKEN, NEW_TOKEN):
        assert token.split(":", 1)[1] not in log
