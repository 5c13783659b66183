"""The relay's logs never carry the bot token, a Telegram identity or message content,
even at DEBUG and with network errors on the way."""

from __future__ import annotations

import base64

import pytest

from telesim import TelegramSimulator

from .relay_process import TOKEN, onboard, prepare


@pytest.fixture
async def sim():
    async with TelegramSimulator(token=TOKEN) as sim:
        yield sim


async def test_token_and_identity_never_logged_at_debug(tmp_path, sim):
    relay = await prepare(tmp_path, sim)
    user = sim.add_user(
        first_name="Logcanary", last_name="Zeta", username="logcanary_user", id=918273645
    )
    await relay.start(log_level="debug")
    try:
        await onboard(user, timeout=30)
        # A dropped connection and a 502 make PTB raise NetworkError, whose text can quote
        # the request URL; the relay logs them on the way.
        sim.faults.add(method="getUpdates", drop=True, times=1)
        sim.faults.add(method="getUpdates", error=502, times=1)
        await user.send_text("secret text for the log test")
        await user.wait_for_bot_message(where=lambda m: "Received" in (m.text or ""), timeout=30)
        assert await relay.stop() == 0
    finally:
        await relay.kill()
    log = relay.log_text()
    # The errors were on the way and logged; the relay's transport (bot/transport.py) logs
    # no request line, so not even a redacted URL is there.
    assert "getUpdates failed: NetworkError" in log, "the dropped connection was logged"
    assert "/bot" not in log, "a Bot API URL in the relay's log"
    secret_part = TOKEN.split(":", 1)[1]
    for needle in (
        secret_part,
        base64.b64encode(TOKEN.encode()).decode(),
        "918273645",
        "Logcanary",
        "logcanary_user",
        "secret text for the log test",
    ):
        assert needle not in log, f"{needle!r} appeared in the relay's log"
