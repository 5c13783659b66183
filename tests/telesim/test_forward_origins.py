"""Forwards of every origin the Bot API knows (user, hidden_user, channel, chat), with a
public channel's username and an author signature: on spec, and read by PTB as such."""

from __future__ import annotations

import aiohttp
import pytest
from telegram import (
    Bot,
    MessageOriginChannel,
    MessageOriginChat,
    MessageOriginHiddenUser,
    MessageOriginUser,
)

from telesim import TelegramSimulator
from tests.telesim.conftest import call


async def test_every_origin_reaches_the_bot_on_spec(sim: TelegramSimulator, bot: Bot) -> None:
    olena = sim.add_user(first_name="Olena")
    taras = sim.add_user(first_name="Taras", username="taras")
    await olena.send_forwarded("a", from_user=taras)
    await olena.send_forwarded("b", sender_name="Mykola")
    await olena.send_forwarded("c", channel_title="Closed", author_signature="Ivan")
    await olena.send_forwarded(
        "d", channel_title="Open News", channel_username="opennews", channel_message_id=42
    )
    await olena.send_forwarded("e", group_title="Plant 4", author_signature="Admin")
    # The simulator is strict: an off-spec update would be a 500, and PTB would raise.
    updates = await bot.get_updates()
    origins = [u.message.forward_origin for u in updates if u.message is not None]
    assert [type(o) for o in origins] == [
        MessageOriginUser,
        MessageOriginHiddenUser,
        MessageOriginChannel,
        MessageOriginChannel,
        MessageOriginChat,
    ]
    user, hidden, closed, public, group = origins
    assert isinstance(user, MessageOriginUser) and user.sender_user.username == "taras"
    assert isinstance(hidden, MessageOriginHiddenUser) and hidden.sender_user_name == "Mykola"
    assert isinstance(closed, MessageOriginChannel)
    assert closed.chat.username is None and closed.author_signature == "Ivan"
    assert isinstance(public, MessageOriginChannel)
    assert (public.chat.title, public.chat.username, public.message_id) == (
        "Open News",
        "opennews",
        42,
    )
    assert isinstance(group, MessageOriginChat)
    assert group.sender_chat.type == "supergroup" and group.sender_chat.title == "Plant 4"
    assert group.author_signature == "Admin"
    assert sim.problems == []


async def test_origins_are_exclusive(sim: TelegramSimulator) -> None:
    olena = sim.add_user(first_name="Olena")
    with pytest.raises(ValueError, match="exactly one"):
        await olena.send_forwarded("?", channel_title="A", group_title="B")
    with pytest.raises(ValueError, match="author_signature"):
        await olena.send_forwarded("?", sender_name="x", author_signature="y")


async def test_control_api_forwards_from_a_group_and_a_public_channel(
    sim: TelegramSimulator, http: aiohttp.ClientSession
) -> None:
    olena = sim.add_user(first_name="Olena")
    base = f"{sim.control_url}/users/{olena.id}/send_forwarded"
    async with http.post(
        base, json={"text": "g", "group_title": "Plant 4", "author_signature": "Admin"}
    ) as response:
        group = (await response.json())["result"]
    async with http.post(
        base, json={"text": "c", "channel_title": "Open News", "channel_username": "opennews"}
    ) as response:
        channel = (await response.json())["result"]
    assert group["forward_origin"]["type"] == "chat"
    assert group["forward_origin"]["sender_chat"]["title"] == "Plant 4"
    assert channel["forward_origin"]["chat"]["username"] == "opennews"
    status, body = await call(http, sim, "getUpdates")
    assert status == 200 and len(body["result"]) == 2
