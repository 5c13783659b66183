"""The Python API: simulated users, what they see, waiting, the clock, self-checks."""

from __future__ import annotations

import pytest

from telesim import (
    Clock,
    SimulatorProblem,
    SimUser,
    TelegramSimulator,
    UserActionError,
)
from tests.telesim.conftest import TOKEN, jpeg


async def test_users_get_ids_and_private_chats(sim: TelegramSimulator) -> None:
    olena = sim.add_user(first_name="Olena", username="olena", language_code="uk")
    chosen = sim.add_user(first_name="Taras", id=424242)
    assert olena.chat_id == olena.id and chosen.id == 424242
    assert sim.user(424242) is chosen and sim.users == [olena, chosen]
    assert olena.to_json() == {
        "id": olena.id,
        "is_bot": False,
        "first_name": "Olena",
        "username": "olena",
        "language_code": "uk",
    }
    with pytest.raises(ValueError, match="taken"):
        sim.add_user(first_name="Again", id=424242)
    with pytest.raises(LookupError):
        sim.user(1)


async def test_what_a_user_sends_is_what_the_bot_gets(sim: TelegramSimulator) -> None:
    olena = sim.add_user(first_name="Olena")
    first = await olena.send_text("/help@telesim_bot now")
    reply = await olena.send_text("answer", reply_to=first.message_id)
    update = sim.pending_updates[-1]["message"]
    assert update["text"] == "answer"
    assert update["reply_to_message"]["message_id"] == first.message_id
    assert update["from"]["id"] == olena.id and update["chat"]["type"] == "private"
    assert first.entities == ({"type": "bot_command", "offset": 0, "length": 17},)
    assert reply.reply_to_message_id == first.message_id
    with pytest.raises(ValueError):
        await olena.send_text("   ")
    with pytest.raises(ValueError):
        await olena.send_text("x" * 4097)


async def test_forwards_and_origins(sim: TelegramSimulator) -> None:
    olena = sim.add_user(first_name="Olena")
    taras = sim.add_user(first_name="Taras")
    hidden = sim.add_user(first_name="Hidden", last_name="One", hide_forwards=True)
    a = await olena.send_forwarded("hi", from_user=taras, date=1_700_000_000)
    b = await olena.send_forwarded("hi", from_user=hidden)
    c = await olena.send_forwarded("news", channel_title="Channel", channel_message_id=5)
    assert a.forward_origin == {
        "type": "user",
        "date": 1_700_000_000,
        "sender_user": taras.to_json(),
    }
    assert b.forward_origin is not None and b.forward_origin["sender_user_name"] == "Hidden One"
    assert c.forward_origin is not None and c.forward_origin["chat"]["title"] == "Channel"
    with pytest.raises(ValueError):
        await olena.send_forwarded("?", from_user=taras, sender_name="x")
    again = await olena.forward(a.message_id)
    assert again.forward_origin == a.forward_origin


async def test_edits_reach_the_bot(sim: TelegramSimulator) -> None:
    olena = sim.add_user(first_name="Olena")
    text = await olena.send_text("typo")
    photo = await olena.send_photo(jpeg(), caption="old")
    await olena.edit_message(text.message_id, "fixed")
    edited = await olena.edit_message(photo.message_id, "new caption")
    assert edited.caption == "new caption" and edited.kind == "photo" and edited.edited
    updates = [u["edited_message"] for u in sim.pending_updates if "edited_message" in u]
    assert [u.get("text", u.get("caption")) for u in updates] == ["fixed", "new caption"]
    assert all("edit_date" in u for u in updates)


async def test_users_cannot_do_what_telegram_would_not_allow(sim: TelegramSimulator) -> None:
    olena = sim.add_user(first_name="Olena")
    await olena.send_text("/start")
    with pytest.raises(UserActionError):
        await olena.press_button(1, "x")
    with pytest.raises(UserActionError):
        await olena.edit_message(99, "x")
    with pytest.raises(UserActionError):
        await olena.delete_messages(99)
    await olena.block()
    with pytest.raises(UserActionError, match="unblock"):
        await olena.send_text("hello?")
    await olena.unblock()
    assert (await olena.send_text("back")).text == "back"
    statuses = [
        u["my_chat_member"]["new_chat_member"]["status"]
        for u in sim.pending_updates
        if "my_chat_member" in u
    ]
    assert statuses == ["kicked", "member"]


async def test_waiting_helpers(sim: TelegramSimulator) -> None:
    olena = sim.add_user(first_name="Olena")
    with pytest.raises(TimeoutError):
        await olena.wait_for_bot_message(timeout=0.1)
    with pytest.raises(TimeoutError):
        await sim.wait_for(lambda: False, timeout=0.1)
    with pytest.raises(TimeoutError):
        await sim.wait_for_call("sendMessage", timeout=0.1)
    assert await sim.wait_for(lambda: 42) == 42


async def test_frozen_clock_gives_reproducible_dates() -> None:
    clock = Clock(start=1_750_000_000)
    async with TelegramSimulator(token=TOKEN, clock=clock) as sim:
        olena = sim.add_user(first_name="Olena")
        assert (await olena.send_text("a")).date == 1_750_000_000
        clock.advance(minutes=2)
        assert (await olena.send_text("b")).date == 1_750_000_120
    with pytest.raises(ValueError):
        clock.advance(seconds=-1)


async def test_problems_are_raised_when_the_simulator_exits() -> None:
    with pytest.raises(SimulatorProblem, match="off-spec"):
        async with TelegramSimulator(token=TOKEN) as sim:
            olena = sim.add_user(first_name="Olena")
            # Corrupt a stored message behind the API's back: strict mode notices.
            message = await olena.send_text("hi")
            sim.world.chats[olena.id].messages[message.message_id].content["colour"] = "red"
            await olena.forward(message.message_id)


def test_tokens_are_checked() -> None:
    with pytest.raises(ValueError):
        TelegramSimulator(token="not a token")
    sim = TelegramSimulator(token="987:abc")
    assert sim.bot_id == 987
    with pytest.raises(RuntimeError):
        _ = sim.base_url


async def test_a_simulator_runs_once() -> None:
    sim = TelegramSimulator(token=TOKEN)
    async with sim:
        with pytest.raises(RuntimeError):
            await sim.start()
    with pytest.raises(RuntimeError):
        await sim.start()


async def test_visible_messages_show_both_sides(sim: TelegramSimulator) -> None:
    olena: SimUser = sim.add_user(first_name="Olena")
    await olena.send_text("/start")
    assert [m.from_bot for m in olena.visible_messages()] == [False]
    assert olena.last_bot_message() is None
    with pytest.raises(LookupError):
        olena.message(5)
