"""Telegram's auto-delete timer for a chat, as telesim serves it: the user's setting, the
service message the bot receives, ``ChatFullInfo.message_auto_delete_time`` from getChat
(checked against api.json), and messages that go by themselves when it runs out."""

from __future__ import annotations

from datetime import timedelta

import aiohttp
import pytest
from telegram import Bot

from telesim import SimUser, TelegramSimulator, UserActionError
from telesim._spec import load_spec
from tests.telesim.conftest import call

DAY = 86_400


async def test_get_chat_has_no_timer_until_the_user_sets_one(
    sim: TelegramSimulator, bot: Bot
) -> None:
    olena = sim.add_user(first_name="Olena")
    await olena.send_text("/start")
    assert (await bot.get_chat(olena.id)).message_auto_delete_time is None
    await olena.set_auto_delete(DAY)
    assert (await bot.get_chat(olena.id)).message_auto_delete_time == timedelta(days=1)
    await olena.set_auto_delete(0)
    assert (await bot.get_chat(olena.id)).message_auto_delete_time is None


async def test_the_setting_and_its_service_message_match_api_json(
    sim: TelegramSimulator, http: aiohttp.ClientSession
) -> None:
    spec = load_spec()
    olena = sim.add_user(first_name="Olena")
    await olena.send_text("/start")
    await olena.set_auto_delete(7 * DAY)
    _, body = await call(http, sim, "getChat", {"chat_id": olena.id})
    assert body["result"]["message_auto_delete_time"] == 7 * DAY
    assert spec.check(body["result"], ["ChatFullInfo"]) == []
    updates = sim.pending_updates
    changed = [
        u["message"] for u in updates if "message_auto_delete_timer_changed" in u.get("message", {})
    ]
    assert [m["message_auto_delete_timer_changed"] for m in changed] == [
        {"message_auto_delete_time": 7 * DAY}
    ]
    assert spec.check(changed[0], ["Message"]) == []


async def test_messages_go_by_themselves_when_the_timer_runs_out(
    sim: TelegramSimulator, bot: Bot
) -> None:
    olena: SimUser = sim.add_user(first_name="Olena")
    await olena.send_text("/start")
    before = await bot.send_message(olena.id, "sent before the timer")
    await olena.set_auto_delete(DAY)
    after = await bot.send_message(olena.id, "sent after the timer")
    sim.clock.advance(seconds=DAY - 1)
    ids = [m.message_id for m in olena.visible_messages()]
    assert before.message_id in ids and after.message_id in ids
    sim.clock.advance(seconds=2)
    ids = [m.message_id for m in olena.visible_messages()]
    assert before.message_id in ids  # the timer applies to what is sent after it is set
    assert after.message_id not in ids


@pytest.mark.parametrize("seconds", [-1, 60, DAY - 1, 366 * DAY])
async def test_the_apps_offer_no_such_timer(sim: TelegramSimulator, seconds: int) -> None:
    olena = sim.add_user(first_name="Olena")
    with pytest.raises(UserActionError):
        await olena.set_auto_delete(seconds)
