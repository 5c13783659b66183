"""Webhook mode: telesim posts updates to the relay, which answers 200 only once they are
sealed in its inbox; a request without the secret token is refused unread."""

from __future__ import annotations

import asyncio
import socket

import aiohttp
import pytest

from telesim import TelegramSimulator

from .relay_process import TOKEN, onboard, prepare


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
async def sim():
    async with TelegramSimulator(token=TOKEN) as sim:
        yield sim


async def test_webhook_intake_survives_a_kill(tmp_path, sim):
    port = free_port()
    url = f"http://127.0.0.1:{port}/telegram"
    relay = await prepare(
        tmp_path,
        sim,
        telegram_toml=f"mode = 'webhook'\nwebhook = {{ port = {port}, url = '{url}' }}\n",
    )
    user = sim.add_user(first_name="Hook")
    await relay.start()
    try:
        case_id = await onboard(user, timeout=30)
        assert sim.webhook_url == url

        async with aiohttp.ClientSession() as http:
            forged = {"update_id": 999999, "message": {"text": "forged"}}
            async with http.post(url, json=forged) as answer:
                assert answer.status == 401
            bad = {"X-Telegram-Bot-Api-Secret-Token": "guess"}
            async with http.post(url, json=forged, headers=bad) as answer:
                assert answer.status == 401

        await user.send_text("before the kill")
        await user.wait_for_bot_message(where=lambda m: "Received" in (m.text or ""), timeout=30)
        await relay.kill()
        await user.send_text("while the relay is down")  # telesim keeps retrying delivery
        await relay.start()
        for _ in range(300):
            texts = [m.text for m in await relay.source_messages(case_id)]
            if "while the relay is down" in texts:
                break
            await asyncio.sleep(0.1)
        assert texts.count("before the kill") == 1
        assert texts.count("while the relay is down") == 1
        assert "forged" not in texts
        assert await relay.stop() == 0
    finally:
        await relay.kill()
