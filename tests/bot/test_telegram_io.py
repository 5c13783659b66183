"""Every Bot API call the relay makes rides out Telegram's transient failures, with a bound."""

from __future__ import annotations

import pytest
from telegram import Bot
from telegram.error import BadRequest

from bot.pace import Pace
from bot.supervise import Backoff
from bot.telegram_io import CallStats, TelegramIO
from bot.transport import AiohttpRequest
from telesim import TelegramSimulator

QUICK = Backoff(first=0.01, cap=0.02, give_up_after=5)


@pytest.fixture
async def sim():
    async with TelegramSimulator(seed=7) as sim:
        yield sim


# The relay's own transport, and PTB's default one (which TelegramIO must read alike).
@pytest.fixture(params=["aiohttp", "httpx"])
async def io(sim, request):
    transport = {"request": AiohttpRequest()} if request.param == "aiohttp" else {}
    bot = Bot(sim.token, base_url=sim.base_url, base_file_url=sim.base_file_url, **transport)
    await bot.initialize()
    try:
        yield TelegramIO(bot, pace=Pace(per_chat_interval=0.0), backoff=QUICK, stats=CallStats())
    finally:
        await bot.shutdown()


async def chat_of(sim: TelegramSimulator):
    user = sim.add_user(first_name="Source")
    await user.send_text("/start")
    return user


@pytest.mark.parametrize(
    ("fault", "maybe_applied"),
    [
        ({"error": 429, "retry_after": 1}, 0),
        ({"error": 500}, 0),
        ({"error": 502}, 0),
        # A lost connection looks the same whether or not the server acted on the call.
        ({"drop": True}, 2),
    ],
    ids=["429", "500", "502", "dropped"],
)
async def test_a_transient_failure_is_retried_and_the_message_arrives_once(
    sim, io, fault, maybe_applied
):
    user = await chat_of(sim)
    sim.faults.add(method="sendMessage", times=2, **fault)
    assert await io.say(user.id, "your case ID is shown here") is not None
    assert [m.text for m in user.bot_messages()] == ["your case ID is shown here"]
    assert io.stats.retries == 2
    assert io.stats.possible_duplicates == maybe_applied


async def test_a_send_lost_after_it_was_applied_is_counted_as_a_possible_duplicate(sim, io):
    user = await chat_of(sim)
    sim.faults.add(method="sendMessage", drop=True, after_effect=True, times=1)
    assert await io.say(user.id, "the recovery phrase") is not None
    texts = [m.text for m in user.bot_messages()]
    assert texts == ["the recovery phrase", "the recovery phrase"]  # the bot cannot tell
    assert io.stats.possible_duplicates == 1


async def test_retries_are_bounded(sim, io):
    user = await chat_of(sim)
    sim.faults.add(method="sendMessage", error=500)  # forever
    assert await io.say(user.id, "never arrives") is None
    assert len(sim.calls_to("sendMessage")) == QUICK.give_up_after
    assert io.stats.gave_up == 1


async def test_a_permanent_refusal_is_not_retried(sim, io):
    user = await chat_of(sim)
    sim.faults.add(method="sendMessage", error=400, times=1)
    with pytest.raises(BadRequest):
        await io.send(user.id, "refused")
    assert len(sim.calls_to("sendMessage")) == 1
    assert io.stats.retries == 0


async def test_a_deletion_rides_out_a_429(sim, io):
    user = await chat_of(sim)
    sent = await user.send_text("to be deleted")
    sim.faults.add(method="deleteMessage", error=429, retry_after=1, times=1)
    assert await io.delete(user.id, sent.message_id)
    assert sent.message_id not in {m.message_id for m in user.visible_messages()}


async def test_a_chat_s_due_deletions_go_in_one_call(sim, io):
    user = await chat_of(sim)
    sent = [await user.send_text(f"message {i}") for i in range(5)]
    ids = [m.message_id for m in sent]
    assert await io.delete_many(user.id, ids) == set(ids)
    assert not {m.message_id for m in user.visible_messages()} & set(ids)
    assert len(sim.calls_to("deleteMessages")) == 1
    assert sim.calls_to("deleteMessage") == []


async def test_one_message_that_cannot_go_does_not_keep_the_others(sim, io):
    user = await chat_of(sim)
    old = await user.send_text("older than Telegram's 48 hours")
    sim.clock.advance(hours=49)
    fresh = [await user.send_text(f"message {i}") for i in range(3)]
    ids = [old.message_id, *(m.message_id for m in fresh)]
    # Telegram refuses the whole call; each is then tried alone, the old one given up.
    assert await io.delete_many(user.id, ids) == set(ids)
    visible = {m.message_id for m in user.visible_messages()}
    assert old.message_id in visible and not visible & {m.message_id for m in fresh}
    assert len(sim.calls_to("deleteMessages")) == 1
    assert len(sim.calls_to("deleteMessage")) == 4


async def test_a_batch_deletion_rides_out_a_dropped_connection(sim, io):
    user = await chat_of(sim)
    sent = [await user.send_text(f"message {i}") for i in range(3)]
    sim.faults.add(method="deleteMessages", drop=True, times=1)
    ids = [m.message_id for m in sent]
    assert await io.delete_many(user.id, ids) == set(ids)
    assert not {m.message_id for m in user.visible_messages()} & set(ids)
    assert io.stats.retries == 1
