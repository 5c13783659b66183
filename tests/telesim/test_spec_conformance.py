"""Every method the simulator serves, walked through api.json.

* the declared method table matches api.json (names, return types, parameters);
* each method, called with a valid example over HTTP, answers a result that is an
  exact instance of the return type api.json states;
* leaving out any required parameter, or sending a non-number where api.json wants
  an Integer or Boolean, is a 400 in Telegram's error shape;
* every update and message the simulator emits has only fields api.json knows,
  with the right JSON types.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from typing import Any

import aiohttp
import pytest

from telesim import AlbumItem, TelegramSimulator, load_spec
from telesim._methods import METHODS
from tests.telesim.conftest import TOKEN, call, jpeg

SPEC = load_spec()
INLINE = {"inline_keyboard": [[{"text": "Yes", "callback_data": "yes"}]]}


@dataclass
class Scene:
    """A chat with some history: what example calls refer to."""

    sim: TelegramSimulator
    http: aiohttp.ClientSession
    user_id: int
    user_message: int
    bot_message: int
    bot_photo: int
    photo_file_id: str
    document_file_id: str
    query_id: str


@pytest.fixture
async def scene() -> AsyncIterator[Scene]:
    async with (
        TelegramSimulator(token=TOKEN, strict=False) as sim,
        aiohttp.ClientSession() as http,
    ):
        user = sim.add_user(first_name="Olena", username="olena", language_code="uk")
        first = await user.send_text("/start")
        document = await user.send_document(b"%PDF-1.4 report", file_name="report.pdf")
        _, sent = await call(
            http, sim, "sendMessage", {"chat_id": user.id, "text": "Hi", "reply_markup": INLINE}
        )
        _, photo = await call(
            http, sim, "sendPhoto", {"chat_id": user.id}, files={"photo": ("p.jpg", jpeg())}
        )
        query_id = await user.press_button(sent["result"]["message_id"], "yes")
        assert document.file_id is not None
        yield Scene(
            sim=sim,
            http=http,
            user_id=user.id,
            user_message=first.message_id,
            bot_message=sent["result"]["message_id"],
            bot_photo=photo["result"]["message_id"],
            photo_file_id=photo["result"]["photo"][-1]["file_id"],
            document_file_id=document.file_id,
            query_id=query_id,
        )
        assert sim.problems == []


Example = Callable[[Scene], tuple[dict[str, Any], dict[str, tuple[str, bytes]]]]


def plain(build: Callable[[Scene], dict[str, Any]]) -> Example:
    return lambda s: (build(s), {})


def upload(field: str, name: str, data: bytes) -> Example:
    return lambda s: ({"chat_id": s.user_id, "caption": "c"}, {field: (name, data)})


EXAMPLES: dict[str, Example] = {
    "getMe": plain(lambda s: {}),
    "logOut": plain(lambda s: {}),
    "close": plain(lambda s: {}),
    "getUpdates": plain(lambda s: {"timeout": 0, "limit": 5}),
    "setWebhook": plain(lambda s: {"url": "http://127.0.0.1:9/hook", "secret_token": "s3cret"}),
    "deleteWebhook": plain(lambda s: {"drop_pending_updates": True}),
    "getWebhookInfo": plain(lambda s: {}),
    "sendMessage": plain(
        lambda s: {"chat_id": s.user_id, "text": "<b>Hi</b>", "parse_mode": "HTML"}
    ),
    "forwardMessage": plain(
        lambda s: {"chat_id": s.user_id, "from_chat_id": s.user_id, "message_id": s.user_message}
    ),
    "copyMessage": plain(
        lambda s: {"chat_id": s.user_id, "from_chat_id": s.user_id, "message_id": s.bot_photo}
    ),
    "deleteMessage": plain(lambda s: {"chat_id": s.user_id, "message_id": s.bot_message}),
    "deleteMessages": plain(lambda s: {"chat_id": s.user_id, "message_ids": [s.bot_message]}),
    "sendChatAction": plain(lambda s: {"chat_id": s.user_id, "action": "typing"}),
    "setMessageReaction": plain(
        lambda s: {
            "chat_id": s.user_id,
            "message_id": s.user_message,
            "reaction": [{"type": "emoji", "emoji": "👍"}],
        }
    ),
    "editMessageText": plain(
        lambda s: {"chat_id": s.user_id, "message_id": s.bot_message, "text": "Changed"}
    ),
    "editMessageCaption": plain(
        lambda s: {"chat_id": s.user_id, "message_id": s.bot_photo, "caption": "New caption"}
    ),
    "editMessageReplyMarkup": plain(
        lambda s: {
            "chat_id": s.user_id,
            "message_id": s.bot_message,
            "reply_markup": {"inline_keyboard": [[{"text": "No", "callback_data": "no"}]]},
        }
    ),
    "sendPhoto": upload("photo", "p.jpg", jpeg(320, 200)),
    "sendDocument": upload("document", "notes.txt", b"notes"),
    "sendVoice": upload("voice", "v.ogg", b"OggS voice"),
    "sendVideo": upload("video", "v.mp4", b"\x00\x00\x00\x18ftypmp42"),
    "sendAudio": upload("audio", "a.mp3", b"ID3 audio"),
    "sendMediaGroup": lambda s: (
        {
            "chat_id": s.user_id,
            "media": [
                {"type": "photo", "media": "attach://one", "caption": "1"},
                {"type": "photo", "media": s.photo_file_id},
            ],
        },
        {"one": ("one.jpg", jpeg(100, 100))},
    ),
    "getFile": plain(lambda s: {"file_id": s.document_file_id}),
    "getChat": plain(lambda s: {"chat_id": s.user_id}),
    "answerCallbackQuery": plain(lambda s: {"callback_query_id": s.query_id, "text": "Done"}),
    "setMyCommands": plain(lambda s: {"commands": [{"command": "start", "description": "Go"}]}),
    "getMyCommands": plain(lambda s: {}),
    "deleteMyCommands": plain(lambda s: {}),
    "setMyDescription": plain(lambda s: {"description": "A relay"}),
    "getMyDescription": plain(lambda s: {}),
    "setMyShortDescription": plain(lambda s: {"short_description": "Relay"}),
    "getMyShortDescription": plain(lambda s: {}),
    "setChatMenuButton": plain(lambda s: {"menu_button": {"type": "commands"}}),
    "getChatMenuButton": plain(lambda s: {"chat_id": s.user_id}),
}

SERVED = [d.name for d in METHODS]
REQUIRED = [(m, f) for m in SERVED for f in SPEC.methods[m].required]
NUMERIC = [
    (m, f.name)
    for m in SERVED
    for f in SPEC.methods[m].fields.values()
    if [str(t) for t in f.types] in (["Integer"], ["Boolean"])
]


def test_the_issue_s_methods_are_all_served() -> None:
    wanted = (
        "getMe logOut close deleteWebhook setWebhook getWebhookInfo getUpdates sendMessage "
        "editMessageText editMessageReplyMarkup deleteMessage deleteMessages copyMessage "
        "forwardMessage sendPhoto sendDocument sendVoice sendChatAction setMessageReaction "
        "answerCallbackQuery setMyCommands getMyCommands setMyDescription setChatMenuButton "
        "getFile getChat"
    )
    assert set(wanted.split()) <= set(SERVED)


def test_every_served_method_has_an_example() -> None:
    assert sorted(EXAMPLES) == sorted(SERVED)


@pytest.mark.parametrize("name", SERVED)
def test_declaration_matches_api_json(name: str) -> None:
    definition = METHODS.get(name)
    assert definition is not None
    spec = SPEC.methods.get(name)
    assert spec is not None, f"{name} is not a Bot API method"
    assert sorted(definition.returns) == sorted(str(t) for t in spec.returns)
    assert definition.honours <= set(spec.fields), definition.honours - set(spec.fields)


@pytest.mark.parametrize("name", SERVED)
async def test_example_answers_an_instance_of_the_spec_return_type(scene: Scene, name: str) -> None:
    params, files = EXAMPLES[name](scene)
    status, body = await call(scene.http, scene.sim, name, params, files=files)
    assert status == 200, body
    assert body["ok"] is True
    assert set(body) == {"ok", "result"}
    assert SPEC.check(body["result"], SPEC.methods[name].returns) == []


@pytest.mark.parametrize(("name", "field"), REQUIRED)
async def test_missing_required_parameter_is_a_bad_request(
    scene: Scene, name: str, field: str
) -> None:
    params, files = EXAMPLES[name](scene)
    params.pop(field, None)
    files = {k: v for k, v in files.items() if k != field}
    status, body = await call(scene.http, scene.sim, name, params, files=files)
    assert status == 400, body
    assert body["ok"] is False
    assert body["error_code"] == 400
    assert body["description"].startswith("Bad Request: ")


@pytest.mark.parametrize(("name", "field"), NUMERIC)
async def test_non_number_for_integer_or_boolean_is_a_bad_request(
    scene: Scene, name: str, field: str
) -> None:
    params, files = EXAMPLES[name](scene)
    params[field] = "twelve"
    status, body = await call(scene.http, scene.sim, name, params, files=files, how="form")
    assert status == 400, body
    assert body == {
        "ok": False,
        "error_code": 400,
        "description": body["description"],
    }
    assert body["description"].startswith("Bad Request: ")


async def test_every_emitted_update_and_message_matches_api_json() -> None:
    async with TelegramSimulator(token=TOKEN, strict=False) as sim, aiohttp.ClientSession() as http:
        olena = sim.add_user(
            first_name="Olena", last_name="K", username="olena", language_code="uk"
        )
        taras = sim.add_user(first_name="Taras", hide_forwards=True)
        await call(
            http,
            sim,
            "getUpdates",
            {
                "allowed_updates": [
                    "message",
                    "edited_message",
                    "callback_query",
                    "message_reaction",
                    "my_chat_member",
                ]
            },
        )
        first = await olena.send_text("/start @somebody #tag https://example.org x@y.org")
        await olena.send_photo(jpeg(1500, 900), caption="photo")
        await olena.send_document(b"doc", file_name="a.pdf", caption="doc")
        await olena.send_voice(b"OggS", duration=3)
        await olena.send_video(b"mp4", duration=2)
        await olena.send_album([AlbumItem("photo", jpeg()), AlbumItem("video", b"mp4")])
        await olena.send_forwarded("from Taras", from_user=taras)
        await olena.send_forwarded("from a channel", channel_title="News")
        await olena.send_forwarded("from Mykola", sender_name="Mykola")
        await olena.edit_message(first.message_id, "/start again")
        await olena.react(first.message_id, "👍")
        _, sent = await call(
            http, sim, "sendMessage", {"chat_id": olena.id, "text": "Pick", "reply_markup": INLINE}
        )
        await olena.press_button(sent["result"]["message_id"], "yes")
        await olena.forward(sent["result"]["message_id"])
        await olena.block()
        await olena.unblock()
        updates = sim.pending_updates
        kinds = {next(k for k in u if k != "update_id") for u in updates}
        assert kinds == {
            "message",
            "edited_message",
            "callback_query",
            "message_reaction",
            "my_chat_member",
        }
        for update in updates:
            assert SPEC.check(update, ["Update"]) == [], update
        for message in olena.visible_messages():
            assert SPEC.check(dict(message.raw), ["Message"]) == [], message.raw
        ids = [u["update_id"] for u in updates]
        assert ids == sorted(ids) and len(set(ids)) == len(ids)
