"""Message state as Telegram keeps it: ids, texts, edits, copies, forwards, reactions."""

from __future__ import annotations

from typing import Any

import aiohttp
import pytest

from telesim import SimUser, TelegramSimulator
from tests.telesim.conftest import call

KEYBOARD = {"inline_keyboard": [[{"text": "OK", "callback_data": "ok"}]]}


@pytest.fixture
async def olena(sim: TelegramSimulator) -> SimUser:
    user = sim.add_user(first_name="Olena", last_name="Kovalenko", username="olena")
    await user.send_text("/start")
    return user


async def api(
    http: aiohttp.ClientSession, sim: TelegramSimulator, method: str, **params: Any
) -> dict[str, Any]:
    _, body = await call(http, sim, method, params)
    return body


async def error(
    http: aiohttp.ClientSession, sim: TelegramSimulator, method: str, **params: Any
) -> str:
    body = await api(http, sim, method, **params)
    assert body["ok"] is False, body
    return str(body["description"])


async def test_message_ids_increase_per_chat(
    sim: TelegramSimulator, http: aiohttp.ClientSession, olena: SimUser
) -> None:
    taras = sim.add_user(first_name="Taras")
    await taras.send_text("/start")
    a = await api(http, sim, "sendMessage", chat_id=olena.id, text="one")
    b = await api(http, sim, "sendMessage", chat_id=olena.id, text="two")
    c = await api(http, sim, "sendMessage", chat_id=taras.id, text="one")
    assert (a["result"]["message_id"], b["result"]["message_id"]) == (2, 3)
    assert c["result"]["message_id"] == 2
    assert olena.chat_id == olena.id and c["result"]["chat"]["id"] == taras.id


@pytest.mark.parametrize(
    ("params", "description"),
    [
        ({"text": "   "}, "Bad Request: message text is empty"),
        ({"text": "x" * 4097}, "Bad Request: message is too long"),
        (
            {"text": "<b>bold", "parse_mode": "HTML"},
            "Bad Request: can't parse entities: "
            'Can\'t find end tag corresponding to start tag "b"',
        ),
        (
            {"text": "1.5", "parse_mode": "MarkdownV2"},
            "Bad Request: can't parse entities: Character '.' is reserved and must be escaped "
            "with the preceding '\\'",
        ),
        ({"text": "x", "parse_mode": "Textile"}, "Bad Request: unsupported parse_mode"),
        (
            {"text": "x", "reply_parameters": {"message_id": 99}},
            "Bad Request: message to be replied not found",
        ),
        (
            {
                "text": "x",
                "reply_markup": {"inline_keyboard": [[{"text": "a", "callback_data": "x" * 65}]]},
            },
            "Bad Request: BUTTON_DATA_INVALID",
        ),
        (
            {"text": "x", "reply_markup": {"inline_keyboard": [[{"text": "plain"}]]}},
            "Bad Request: can't parse inline keyboard button: Text buttons are unallowed in the "
            "inline keyboard",
        ),
    ],
)
async def test_send_message_refusals(
    sim: TelegramSimulator,
    http: aiohttp.ClientSession,
    olena: SimUser,
    params: dict[str, Any],
    description: str,
) -> None:
    assert await error(http, sim, "sendMessage", chat_id=olena.id, **params) == description
    assert len(olena.visible_messages()) == 1  # nothing was sent


async def test_text_limit_counts_after_parsing(
    sim: TelegramSimulator, http: aiohttp.ClientSession, olena: SimUser
) -> None:
    body = await api(
        http, sim, "sendMessage", chat_id=olena.id, text=f"<b>{'x' * 4096}</b>", parse_mode="HTML"
    )
    assert body["ok"] is True


async def test_replies(sim: TelegramSimulator, http: aiohttp.ClientSession, olena: SimUser) -> None:
    body = await api(
        http, sim, "sendMessage", chat_id=olena.id, text="re", reply_parameters={"message_id": 1}
    )
    assert body["result"]["reply_to_message"]["text"] == "/start"
    assert olena.message(body["result"]["message_id"]).reply_to_message_id == 1
    body = await api(
        http,
        sim,
        "sendMessage",
        chat_id=olena.id,
        text="re",
        reply_parameters={"message_id": 77, "allow_sending_without_reply": True},
    )
    assert "reply_to_message" not in body["result"]


async def test_edits(sim: TelegramSimulator, http: aiohttp.ClientSession, olena: SimUser) -> None:
    sent = (
        await api(http, sim, "sendMessage", chat_id=olena.id, text="v1", reply_markup=KEYBOARD)
    )["result"]
    mid = sent["message_id"]
    edited = await api(
        http,
        sim,
        "editMessageText",
        chat_id=olena.id,
        message_id=mid,
        text="v2",
        reply_markup=KEYBOARD,
    )
    assert edited["result"]["text"] == "v2" and "edit_date" in edited["result"]
    assert (
        await error(
            http,
            sim,
            "editMessageText",
            chat_id=olena.id,
            message_id=mid,
            text="v2",
            reply_markup=KEYBOARD,
        )
    ).startswith("Bad Request: message is not modified")
    await api(http, sim, "editMessageReplyMarkup", chat_id=olena.id, message_id=mid)
    assert olena.message(mid).buttons == ()
    assert (
        await error(http, sim, "editMessageText", chat_id=olena.id, message_id=1, text="hacked")
        == "Bad Request: message can't be edited"
    )
    assert (
        await error(http, sim, "editMessageText", chat_id=olena.id, message_id=404, text="x")
        == "Bad Request: message to edit not found"
    )
    assert (
        await error(http, sim, "editMessageCaption", chat_id=olena.id, message_id=mid, caption="x")
        == "Bad Request: there is no caption in the message to edit"
    )
    assert olena.message(mid).text == "v2" and olena.message(mid).edited


async def test_forward_origins(
    sim: TelegramSimulator, http: aiohttp.ClientSession, olena: SimUser
) -> None:
    private = sim.add_user(first_name="Taras", last_name="Shevchenko", hide_forwards=True)
    await private.send_text("my words")
    bot_msg = (await api(http, sim, "sendMessage", chat_id=olena.id, text="from the bot"))["result"]
    to_olena = await api(
        http, sim, "forwardMessage", chat_id=olena.id, from_chat_id=private.id, message_id=1
    )
    assert to_olena["result"]["forward_origin"] == {
        "type": "hidden_user",
        "date": to_olena["result"]["forward_origin"]["date"],
        "sender_user_name": "Taras Shevchenko",
    }
    again = await api(
        http, sim, "forwardMessage", chat_id=private.id, from_chat_id=olena.id, message_id=1
    )
    assert again["result"]["forward_origin"]["sender_user"]["first_name"] == "Olena"
    own = await api(
        http,
        sim,
        "forwardMessage",
        chat_id=olena.id,
        from_chat_id=olena.id,
        message_id=bot_msg["message_id"],
    )
    assert own["result"]["forward_origin"]["sender_user"]["is_bot"] is True


async def test_copies_and_protected_content(
    sim: TelegramSimulator, http: aiohttp.ClientSession, olena: SimUser
) -> None:
    await olena.send_document(b"data", file_name="a.txt", caption="old caption")
    copied = await api(
        http,
        sim,
        "copyMessage",
        chat_id=olena.id,
        from_chat_id=olena.id,
        message_id=2,
        caption="new",
    )
    copy = olena.message(copied["result"]["message_id"])
    assert copy.from_bot and copy.caption == "new" and copy.forward_origin is None
    assert copy.file_id == olena.message(2).file_id
    secret = await api(
        http, sim, "sendMessage", chat_id=olena.id, text="secret", protect_content=True
    )
    mid = secret["result"]["message_id"]
    assert olena.message(mid).protect_content
    for method in ("copyMessage", "forwardMessage"):
        assert (
            await error(http, sim, method, chat_id=olena.id, from_chat_id=olena.id, message_id=mid)
            == "Bad Request: message has protected content and can't be forwarded"
        )
    assert (
        await error(
            http, sim, "copyMessage", chat_id=olena.id, from_chat_id=olena.id, message_id=99
        )
        == "Bad Request: message to copy not found"
    )


async def test_delete_messages_in_bulk(
    sim: TelegramSimulator, http: aiohttp.ClientSession, olena: SimUser
) -> None:
    for text in ("a", "b", "c"):
        await api(http, sim, "sendMessage", chat_id=olena.id, text=text)
    assert (await api(http, sim, "deleteMessages", chat_id=olena.id, message_ids=[2, 3, 50]))["ok"]
    assert [m.text for m in olena.visible_messages()] == ["/start", "c"]
    assert (
        await error(http, sim, "deleteMessages", chat_id=olena.id, message_ids=[2, 3])
        == "Bad Request: message to delete not found"
    )
    assert (
        await error(http, sim, "deleteMessages", chat_id=olena.id, message_ids=list(range(1, 102)))
        == "Bad Request: too many messages to delete"
    )
    sim.clock.advance(days=2, seconds=1)
    assert (
        await error(http, sim, "deleteMessages", chat_id=olena.id, message_ids=[1, 4])
        == "Bad Request: message can't be deleted"
    )
    assert len(olena.visible_messages()) == 2


async def test_user_deletions_are_gone_for_the_bot(
    sim: TelegramSimulator, http: aiohttp.ClientSession, olena: SimUser
) -> None:
    sent = await api(http, sim, "sendMessage", chat_id=olena.id, text="bye")
    await olena.delete_messages(1, sent["result"]["message_id"])
    assert olena.visible_messages() == []
    assert (
        await error(http, sim, "deleteMessage", chat_id=olena.id, message_id=1)
        == "Bad Request: message to delete not found"
    )


async def test_reactions(
    sim: TelegramSimulator, http: aiohttp.ClientSession, olena: SimUser
) -> None:
    def react(*emoji: str) -> dict[str, Any]:
        return {
            "chat_id": olena.id,
            "message_id": 1,
            "reaction": [{"type": "emoji", "emoji": e} for e in emoji],
        }

    assert (await api(http, sim, "setMessageReaction", **react("👍")))["ok"]
    assert olena.message(1).bot_reactions == ("👍",)
    assert (
        await error(http, sim, "setMessageReaction", **react("🦆"))
        == "Bad Request: REACTION_INVALID"
    )
    assert (
        await error(http, sim, "setMessageReaction", **react("👍", "🔥"))
        == "Bad Request: REACTIONS_TOO_MANY"
    )
    assert (await api(http, sim, "setMessageReaction", chat_id=olena.id, message_id=1))["ok"]
    assert olena.message(1).bot_reactions == ()
    await olena.react(1, "❤")
    assert olena.message(1).user_reactions == ("❤",)
    with pytest.raises(ValueError, match="not a reaction"):
        await olena.react(1, "🦆")


async def test_chat_actions(
    sim: TelegramSimulator, http: aiohttp.ClientSession, olena: SimUser
) -> None:
    assert (await api(http, sim, "sendChatAction", chat_id=olena.id, action="typing"))["ok"]
    assert olena.chat_action == "typing"
    sim.clock.advance(seconds=6)
    assert olena.chat_action is None
    await api(http, sim, "sendChatAction", chat_id=olena.id, action="upload_document")
    await api(http, sim, "sendMessage", chat_id=olena.id, text="done")
    assert olena.chat_action is None
    assert (
        await error(http, sim, "sendChatAction", chat_id=olena.id, action="dancing")
        == "Bad Request: wrong parameter action in request"
    )


async def test_bot_settings(
    sim: TelegramSimulator, http: aiohttp.ClientSession, olena: SimUser
) -> None:
    commands = [
        {"command": "start", "description": "Begin"},
        {"command": "help", "description": "?"},
    ]
    await api(http, sim, "setMyCommands", commands=commands)
    await api(http, sim, "setMyCommands", commands=commands[:1], language_code="uk")
    scope = {"type": "chat", "chat_id": olena.id}
    await api(http, sim, "setMyCommands", commands=commands[1:], scope=scope)
    assert (await api(http, sim, "getMyCommands"))["result"] == commands
    assert (await api(http, sim, "getMyCommands", language_code="uk"))["result"] == commands[:1]
    assert sim.bot_commands(scope=scope) == commands[1:]
    assert (
        await error(
            http, sim, "setMyCommands", commands=[{"command": "Bad-Name", "description": "x"}]
        )
        == "Bad Request: BOT_COMMAND_INVALID"
    )
    await api(http, sim, "deleteMyCommands")
    assert (await api(http, sim, "getMyCommands"))["result"] == []

    await api(http, sim, "setMyDescription", description="Anonymous tips", language_code="en")
    assert sim.bot_description("en") == "Anonymous tips"
    assert await error(http, sim, "setMyDescription", description="x" * 513) == (
        "Bad Request: description is too long"
    )

    await api(http, sim, "setChatMenuButton", chat_id=olena.id, menu_button={"type": "default"})
    await api(
        http,
        sim,
        "setChatMenuButton",
        menu_button={"type": "web_app", "text": "Open", "web_app": {"url": "https://ex.org"}},
    )
    assert sim.menu_button()["type"] == "web_app"
    assert (await api(http, sim, "getChatMenuButton", chat_id=olena.id))["result"][
        "type"
    ] == "web_app"
    assert (
        await error(http, sim, "setChatMenuButton", menu_button={"type": "rainbow"})
        == "Bad Request: can't parse menu button: "
        'Field "menu_button" has an unsupported MenuButton type'
    )


async def test_get_chat(
    sim: TelegramSimulator, http: aiohttp.ClientSession, olena: SimUser
) -> None:
    chat = (await api(http, sim, "getChat", chat_id=olena.id))["result"]
    assert chat["id"] == olena.id and chat["type"] == "private"
    assert chat["username"] == "olena" and chat["last_name"] == "Kovalenko"
    assert await error(http, sim, "getChat", chat_id="@olena") == "Bad Request: chat not found"
    never = sim.add_user(first_name="Silent")
    assert await error(http, sim, "getChat", chat_id=never.id) == "Bad Request: chat not found"


async def test_callback_queries_are_answered_once(
    sim: TelegramSimulator, http: aiohttp.ClientSession, olena: SimUser
) -> None:
    sent = await api(http, sim, "sendMessage", chat_id=olena.id, text="?", reply_markup=KEYBOARD)
    query_id = await olena.press_button(sent["result"]["message_id"], text="OK")
    update = sim.pending_updates[-1]["callback_query"]
    assert (
        update["data"] == "ok" and update["message"]["message_id"] == sent["result"]["message_id"]
    )
    assert olena.callback_answer(query_id) is None
    body = await api(
        http, sim, "answerCallbackQuery", callback_query_id=query_id, text="Thanks", show_alert=True
    )
    assert body["ok"]
    answer = olena.callback_answer(query_id)
    assert answer is not None and answer.text == "Thanks" and answer.show_alert
    assert await error(http, sim, "answerCallbackQuery", callback_query_id=query_id) == (
        "Bad Request: query is too old and response timeout expired or query ID is invalid"
    )
