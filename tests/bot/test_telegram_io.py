"""Every Bot API call the relay makes rides out Telegram's transient failures, with a bound."""

from __future__ import annotations

import asyncio

import pytest
from telegram import Bot
from telegram.error import BadRequest, NetworkError

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


async def seen_chat(sim: TelegramSimulator, io: TelegramIO):
    """A chat the relay has read from (as Conversation.handle records it) and written to."""
    user = sim.add_user(first_name="Source")
    io.ids.saw(user.id, (await user.send_text("/start")).message_id)
    await io.say(user.id, "welcome")
    return user


async def test_a_send_lost_after_it_was_applied_leaves_no_copy_in_the_chat(sim, io):
    user = await seen_chat(sim, io)
    sim.faults.add(method="sendMessage", drop=True, after_effect=True, times=1)
    mid = await io.say(user.id, "the recovery phrase")
    assert [(m.message_id, m.text) for m in user.bot_messages()] == [
        (mid - 2, "welcome"),
        (mid, "the recovery phrase"),
    ]
    assert len(sim.calls_to("sendMessage")) == 3  # welcome, then the phrase twice for a moment
    assert io.stats.possible_duplicates == 1
    assert io.stats.copies_deleted == 1


async def test_a_chat_not_seen_since_the_start_is_not_searched_for_copies(sim, io):
    """Below an id the relay knows nothing of, any message could be one of its own sent
    before a restart: an edit would make it say this text. The copy stays instead."""
    user = await chat_of(sim)
    sim.faults.add(method="sendMessage", drop=True, after_effect=True, times=1)
    await io.say(user.id, "a notice to a chat the relay has not read from")
    assert len(user.bot_messages()) == 2
    assert sim.calls_to("editMessageText") == []


async def test_a_reply_whose_answer_was_lost_is_never_taken_for_a_copy(sim, io):
    """A reply that timed out after Telegram showed it is retried later, through the
    outbox: its first copy is in the chat at an id nobody knows. A search for another
    message's copy must not make it say that message and delete it."""
    user = await seen_chat(sim, io)

    async def a_reply_loses_its_answer() -> None:  # while the case ID waits to be retried
        sim.faults.add(method="sendMessage", drop=True, after_effect=True, times=1)
        with io.ids.sending(user.id), pytest.raises(NetworkError):  # as Delivery sends it
            await io.bot.send_message(user.id, "an officer's reply")
        io.ids.lost(user.id)  # as Delivery does

    sim.faults.add(method="sendMessage", drop=True, after_effect=True, times=1)
    await io_with_sleep(io, a_reply_loses_its_answer).say(user.id, "your case ID")
    texts = [m.text for m in user.bot_messages()]
    assert texts == ["welcome", "your case ID", "an officer's reply", "your case ID"]
    assert sim.calls_to("editMessageText") == []  # no search while that copy is unknown
    # A send started after the loss bounds where that copy can be: searches resume above.
    await io.say(user.id, "a prompt")
    sim.faults.add(method="sendMessage", drop=True, after_effect=True, times=1)
    await io.say(user.id, "your recovery phrase")
    texts = [m.text for m in user.bot_messages()]
    assert texts.count("your recovery phrase") == 1
    assert "an officer's reply" in texts
    assert io.stats.copies_deleted == 1


def io_with_sleep(io: TelegramIO, during_the_wait) -> TelegramIO:
    """``io``'s bot, with ``during_the_wait`` run in place of the first retry's wait."""
    waits: list[float] = []

    async def sleep(seconds: float) -> None:
        waits.append(seconds)
        if len(waits) == 1:
            await during_the_wait()

    other = TelegramIO(io.bot, pace=Pace(per_chat_interval=0.0), backoff=QUICK, sleep=sleep)
    other.ids = io.ids
    return other


async def test_the_source_s_words_written_before_the_retry_are_never_taken_for_a_copy(sim, io):
    user = await seen_chat(sim, io)
    written: list[int] = []

    async def source_writes() -> None:  # between the lost answer and the retry
        written.append((await user.send_text("my words, not yet read by the relay")).message_id)

    io = io_with_sleep(io, source_writes)
    sim.faults.add(method="sendMessage", drop=True, after_effect=True, times=1)
    mid = await io.say(user.id, "your case ID")
    assert [m.text for m in user.bot_messages()] == ["welcome", "your case ID"]
    assert written[0] < mid
    assert user.message(written[0]).text == "my words, not yet read by the relay"
    assert written[0] in {m.message_id for m in user.visible_messages()}
    assert io.stats.copies_deleted == 1


async def test_a_reply_on_its_way_is_never_taken_for_a_copy(sim, io):
    """A reply whose id is not known yet may sit between the two copies: the search waits
    for it, or it would be made to say the other text and deleted with the copy."""
    user = await seen_chat(sim, io)
    reply_done = asyncio.Event()
    reply_ids: list[int] = []

    async def deliver_reply() -> None:
        with io.ids.sending(user.id) as on_its_way:  # as Delivery sends a reply
            reply_ids.append((await io.bot.send_message(user.id, "an officer's reply")).message_id)
            await reply_done.wait()  # its answer is slow to be read
            io.ids.sent(on_its_way, reply_ids[0])

    async def a_reply_starts() -> None:
        tasks.append(asyncio.create_task(deliver_reply()))
        while not reply_ids:
            await asyncio.sleep(0)

    tasks: list[asyncio.Task[None]] = []
    io = io_with_sleep(io, a_reply_starts)
    sim.faults.add(method="sendMessage", drop=True, after_effect=True, times=1)
    sending = asyncio.create_task(io.say(user.id, "your case ID"))
    while not sim.calls_to("sendMessage") or len(sim.calls_to("sendMessage")) < 3:
        await asyncio.sleep(0.01)  # the copy, the reply, the retry: all in the chat
    assert not sending.done()  # waiting for the reply's id before looking for copies
    reply_done.set()
    mid = await sending
    await asyncio.gather(*tasks)
    assert reply_ids[0] < mid
    texts = [m.text for m in user.bot_messages()]
    assert texts == ["welcome", "an officer's reply", "your case ID"]
    assert sim.calls_to("editMessageText") and io.stats.copies_deleted == 1


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
